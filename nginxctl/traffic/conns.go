package traffic

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hotdeploy/hotdeploy/model"
)

// ConnCounter counts the established client connections each worker holds, so that a worker
// stuck "shutting down" behind a long-lived download shows why.
//
// A count costs one kernel socket-table dump (sock_diag, filtered in the kernel to ESTABLISHED
// sockets on the instance's listening ports) matched against a cache of socket inode -> worker.
// The cache comes from the workers' /proc/PID/fd links, which are the expensive part (one
// readlink per descriptor): they are read in full once per worker and afterwards only when the
// dump shows a connection the cache does not know, and then only the descriptors that may have
// changed. In a steady state no link is read, whatever the number of connections.
//
// The kernel walks its whole established-socket table for a dump, TIME_WAIT sockets of the
// whole host included, so a dump's cost follows the host more than the instance: MaxShare keeps
// it within the dashboard's budget on a busy host. Safe for concurrent use.
type ConnCounter struct {
	// MaxShare bounds the time spent dumping, as a share of wall time: when the last dump took
	// d, the next waits d/MaxShare, and Count returns the last dump's counts meanwhile (for the
	// same workers: a changed worker set is counted at once). NewConnCounter sets 0.001: a dump
	// of 1 ms runs about once a second, a tenth of the dashboard's CPU budget, and the counts lag
	// by that much; 0 dumps on every Count.
	// Set it before the first Count.
	MaxShare float64

	mu       sync.Mutex
	lastDump time.Time     // when the last dump started
	lastCost time.Duration // how long it took
	diag     sockDiag
	gen      uint32                     // count generation, stamped on what each count saw
	owner    map[uint32]*sockOwner      // socket inode -> worker holding it
	workers  map[workerKey]*workerState // workers of the instance, as last counted
	foreign  map[uint32]uint32          // inode -> generation after which to look for it again
	ports    []uint16                   // local ports the instance listens on, ascending
	netns    map[workerKey]error        // per master: nil when it shares our network namespace
	selfNS   string                     // our network namespace, as /proc/self/ns/net names it
	linkBuf  []byte
	path     []byte
	pruned   uint32
	estab    []diagSock // reused between counts
	unknown  []uint32
}

type workerKey struct {
	pid   int
	start uint64
}

type workerState struct {
	key       workerKey
	fds       fdTable // nil until read
	live      uint32  // generation of the last count that listed the worker
	accepting bool    // not shutting down: new connections land only on these
	count     int
}

type sockOwner struct {
	w      *workerState
	seen   uint32 // generation of the last dump that listed this socket
	listen bool
}

// fdTable maps a descriptor number to the socket inode it held when last read, 0 for anything
// that is not a socket.
type fdTable map[int]uint32

// foreignRetry is how many counts pass before an unmatched connection is looked for again:
// it belongs to no worker (another program on the same port), or was caught between accept's
// socket allocation and its descriptor.
const foreignRetry = 8

// NewConnCounter returns an empty counter; its caches fill on the first Count.
func NewConnCounter() *ConnCounter {
	self, _ := os.Readlink("/proc/self/ns/net")
	return &ConnCounter{
		MaxShare: 0.001,
		owner:    map[uint32]*sockOwner{},
		workers:  map[workerKey]*workerState{},
		foreign:  map[uint32]uint32{},
		netns:    map[workerKey]error{},
		selfNS:   self,
		linkBuf:  make([]byte, 128),
	}
}

// Count returns, for every worker of the instance's masters, how many established client
// connections it holds: TCP connections in state ESTABLISHED whose local port is one the
// instance listens on (upstream connections and listening sockets are left out).
func (c *ConnCounter) Count(in model.Instance) (map[int]int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.MaxShare > 0 && c.lastCost > 0 && time.Since(c.lastDump) < time.Duration(float64(c.lastCost)/c.MaxShare) {
		if counts, ok := c.sameWorkers(in); ok {
			return counts, nil
		}
	}
	start := time.Now()
	defer func() { c.lastDump, c.lastCost = start, time.Since(start) }()
	c.gen++
	var list []*workerState
	fresh := false
	for _, m := range in.Masters {
		if err := c.checkNetns(m.Process); err != nil {
			return nil, err
		}
		for _, p := range m.Children {
			if p.Role != model.RoleWorker {
				continue
			}
			k := workerKey{p.PID, p.StartTicks}
			ws := c.workers[k]
			if ws == nil {
				ws = &workerState{key: k}
				c.workers[k] = ws
			}
			ws.live, ws.accepting, ws.count = c.gen, !p.ShuttingDown, 0
			list = append(list, ws)
		}
	}
	for k, ws := range c.workers {
		if ws.live != c.gen {
			delete(c.workers, k)
		}
	}
	// A worker seen for the first time is read in full: that also finds the listening sockets,
	// and so the ports, of a new generation or a reloaded configuration.
	for _, ws := range list {
		if ws.fds == nil {
			fresh = true
			if err := c.readFds(ws, true); err != nil {
				return nil, err
			}
		}
	}
	var err error
	if fresh || len(c.ports) == 0 || len(c.ports) > maxFilterPorts {
		err = c.dumpAll()
	} else {
		err = c.dumpPorts()
	}
	if err != nil {
		return nil, err
	}
	if len(c.unknown) > 0 {
		if err := c.resolve(list); err != nil {
			return nil, err
		}
	}
	counts := make(map[int]int, len(list))
	for _, ws := range list {
		counts[ws.key.pid] = ws.count
	}
	c.prune()
	return counts, nil
}

// sameWorkers returns the last counts if the instance has exactly the workers last counted.
func (c *ConnCounter) sameWorkers(in model.Instance) (map[int]int, bool) {
	counts := make(map[int]int, len(c.workers))
	for _, m := range in.Masters {
		for _, p := range m.Children {
			if p.Role != model.RoleWorker {
				continue
			}
			ws := c.workers[workerKey{p.PID, p.StartTicks}]
			if ws == nil {
				return nil, false
			}
			counts[p.PID] = ws.count
		}
	}
	return counts, len(counts) == len(c.workers)
}

// dumpPorts is the steady state: the kernel lists only established sockets on the known ports.
func (c *ConnCounter) dumpPorts() error {
	c.unknown = c.unknown[:0]
	return c.diag.dump(1<<tcpEstablished, c.ports, func(s diagSock) {
		if s.inode != 0 {
			c.tally(s.inode)
		}
	})
}

// dumpAll lists listening and established sockets of every port, learns the instance's ports
// from the listening sockets its workers hold, then counts.
func (c *ConnCounter) dumpAll() error {
	c.estab, c.unknown = c.estab[:0], c.unknown[:0]
	var ports []uint16
	err := c.diag.dump(1<<tcpEstablished|1<<tcpListen, nil, func(s diagSock) {
		switch {
		case s.inode == 0: // not accepted yet: no worker holds it
		case s.state == tcpListen:
			if o := c.owner[s.inode]; o != nil && o.w.live == c.gen {
				o.seen, o.listen = c.gen, true
				ports = append(ports, s.sport)
			}
		default:
			c.estab = append(c.estab, s)
		}
	})
	if err != nil {
		return err
	}
	slices.Sort(ports)
	c.ports = slices.Compact(ports)
	for _, s := range c.estab {
		if _, ok := slices.BinarySearch(c.ports, s.sport); ok {
			c.tally(s.inode)
		}
	}
	return nil
}

// tally counts an established client connection for its worker, or notes it as unknown.
func (c *ConnCounter) tally(ino uint32) {
	if o := c.owner[ino]; o != nil {
		o.seen = c.gen
		if o.w.live == c.gen {
			o.w.count++
			return
		}
	}
	if g, ok := c.foreign[ino]; ok && c.gen < g {
		return
	}
	c.unknown = append(c.unknown, ino)
}

// resolve finds which workers hold the unknown sockets, reading as few descriptor links as it
// can: first, on the workers that accept, the descriptors that are new or held a socket that has
// since closed; then, if some sockets are still unaccounted for, on every worker, each
// descriptor not known to hold a live socket (the number of a closed file may have been reused
// by a new connection).
func (c *ConnCounter) resolve(list []*workerState) error {
	unknown := c.unknown
	for _, all := range []bool{false, true} {
		for _, ws := range list {
			if all || ws.accepting {
				if err := c.readFds(ws, all); err != nil {
					return err
				}
			}
		}
		left := unknown[:0]
		for _, ino := range unknown {
			if o := c.owner[ino]; o != nil && o.w.live == c.gen {
				o.seen = c.gen
				o.w.count++
				delete(c.foreign, ino)
				continue
			}
			left = append(left, ino)
		}
		if unknown = left; len(unknown) == 0 {
			return nil
		}
	}
	for _, ino := range unknown {
		c.foreign[ino] = c.gen + foreignRetry
	}
	return nil
}

// readFds reads the descriptor links of a worker. With a previous table, a descriptor is read
// again only when it is new, or when it held a socket that the last dump no longer listed, or,
// with all, when it held anything but a live socket.
func (c *ConnCounter) readFds(ws *workerState, all bool) error {
	c.path = append(c.path[:0], "/proc/"...)
	c.path = strconv.AppendInt(c.path, int64(ws.key.pid), 10)
	c.path = append(c.path, "/fd"...)
	dir := string(c.path)
	f, err := os.Open(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			ws.fds = fdTable{}
			return nil // the worker exited since the refresh
		}
		return fmt.Errorf("count connections of worker %d: %w; run as root or as the user nginx runs as", ws.key.pid, err)
	}
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		return fmt.Errorf("count connections of worker %d: %w", ws.key.pid, err)
	}
	prev := ws.fds
	next := make(fdTable, len(names))
	for _, name := range names {
		fd, err := strconv.Atoi(name)
		if err != nil {
			continue
		}
		if ino, ok := prev[fd]; ok && !c.stale(ino, ws, all) {
			next[fd] = ino
			continue
		}
		ino := c.readSocketLink(len(dir), name)
		next[fd] = ino
		if ino != 0 {
			o := c.owner[ino]
			if o == nil || o.w != ws {
				o = &sockOwner{w: ws}
				c.owner[ino] = o
			}
		}
	}
	ws.fds = next
	return nil
}

// stale tells whether a cached descriptor must be read again.
func (c *ConnCounter) stale(ino uint32, ws *workerState, all bool) bool {
	if ino == 0 {
		return all
	}
	o := c.owner[ino]
	if o == nil || o.w != ws {
		return true
	}
	return !o.listen && o.seen != c.gen
}

// readSocketLink reads /proc/PID/fd/N and returns the inode of "socket:[inode]", 0 otherwise.
func (c *ConnCounter) readSocketLink(dirLen int, name string) uint32 {
	c.path = append(append(c.path[:dirLen], '/'), name...)
	n, err := unix.Readlink(string(c.path), c.linkBuf)
	if err != nil || n >= len(c.linkBuf) {
		return 0
	}
	link := c.linkBuf[:n]
	const prefix = "socket:["
	if !bytes.HasPrefix(link, []byte(prefix)) || link[n-1] != ']' {
		return 0
	}
	v, err := strconv.ParseUint(string(link[len(prefix):n-1]), 10, 32)
	if err != nil {
		return 0
	}
	return uint32(v)
}

// checkNetns refuses to count for a master in another network namespace: the dump would show
// this namespace's sockets, not its.
func (c *ConnCounter) checkNetns(m model.Process) error {
	k := workerKey{m.PID, m.StartTicks}
	if err, ok := c.netns[k]; ok {
		return err
	}
	var err error
	ns, rerr := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", m.PID))
	switch {
	case rerr != nil && errors.Is(rerr, os.ErrNotExist):
		return nil // exited since the refresh; ask again next time
	case rerr != nil:
		err = fmt.Errorf("count connections: %w; run as root or as the user nginx runs as", rerr)
	case c.selfNS != "" && ns != c.selfNS:
		err = fmt.Errorf("count connections: master %d runs in another network namespace (%s); run hotdeploy inside it", m.PID, ns)
	}
	if len(c.netns) > 64 {
		clear(c.netns)
	}
	c.netns[k] = err
	return err
}

// prune forgets closed sockets and exited workers' sockets, every 64 counts or sooner when the
// cache has grown well past the workers' descriptors, so that its size follows the live set.
func (c *ConnCounter) prune() {
	if c.gen-c.pruned < 64 && len(c.owner) <= 2*c.fdCount()+256 {
		return
	}
	c.pruned = c.gen
	for ino, o := range c.owner {
		if o.w.live != c.gen || (!o.listen && o.seen != c.gen) {
			delete(c.owner, ino)
		}
	}
	for ino, g := range c.foreign {
		if g+foreignRetry < c.gen {
			delete(c.foreign, ino)
		}
	}
}

func (c *ConnCounter) fdCount() int {
	n := 0
	for _, ws := range c.workers {
		n += len(ws.fds)
	}
	return n
}
