package traffic

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hotdeploy/hotdeploy/model"
)

// ConnCounter counts the established client connections each worker holds, so that a worker
// stuck "shutting down" behind a long-lived download shows why.
//
// A count is two jobs: a kernel socket-table dump (socketDump: sock_diag, filtered in the kernel
// to ESTABLISHED sockets on the instance's listening ports), and the matching of those sockets
// to workers (sockOwners: a cache of socket inode -> worker, filled from /proc/PID/fd links and
// read again only for connections it does not know).
//
// The kernel walks its whole established-socket table for a dump, TIME_WAIT sockets of the
// whole host included, so a dump's cost follows the host more than the instance: MaxShare keeps
// it within the dashboard's budget on a busy host. Safe for concurrent use.
type ConnCounter struct {
	// MaxShare bounds the CPU time spent counting, as a share of wall time: when the last count
	// cost d of CPU, the next waits d/MaxShare, and Count returns the last counts meanwhile (for
	// the same workers: a changed worker set is counted at once). NewConnCounter sets 0.001: a
	// count of 1 ms runs about once a second, a tenth of the dashboard's CPU budget, and the
	// counts lag by that much; 0 counts every time. The cost is the counting thread's CPU time
	// (the kernel's work on the dump is done in its syscalls), not the wall time, which on a
	// busy host also holds the time other processes ran and would stretch the lag with it.
	// Set it before the first Count.
	MaxShare float64

	mu       sync.Mutex
	lastDump time.Time     // when the last dump started
	lastCost time.Duration // how long it took
	dump     socketDump
	owners   sockOwners
	netns    map[workerKey]error // per master: nil when it shares our network namespace
	selfNS   string              // our network namespace, as /proc/self/ns/net names it
}

// NewConnCounter returns an empty counter; its caches fill on the first Count.
func NewConnCounter() *ConnCounter {
	self, _ := os.Readlink("/proc/self/ns/net")
	return &ConnCounter{
		MaxShare: 0.001,
		owners:   newSockOwners(),
		netns:    map[workerKey]error{},
		selfNS:   self,
	}
}

// Count returns, for every worker of the instance's masters, how many established client
// connections it holds: TCP connections in state ESTABLISHED whose local port is one the
// instance listens on (upstream connections and listening sockets are left out).
func (c *ConnCounter) Count(in model.Instance) (map[int]int, error) {
	counts, _, err := c.CountFresh(in)
	return counts, err
}

// CountFresh is Count, and tells whether the counts are from a dump made now (fresh) or the last
// ones, kept within MaxShare. A caller that keeps counts while the workers do not run (nothing
// they hold can change then) may keep only fresh ones: kept counts may predate a change.
func (c *ConnCounter) CountFresh(in model.Instance) (counts map[int]int, fresh bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.MaxShare > 0 && c.lastCost > 0 && time.Since(c.lastDump) < time.Duration(float64(c.lastCost)/c.MaxShare) {
		if counts, ok := c.sameWorkers(in); ok {
			return counts, false, nil
		}
	}
	counts, err = c.dumpAndCount(in)
	return counts, err == nil, err
}

// dumpAndCount counts from a dump of the socket table, made now.
func (c *ConnCounter) dumpAndCount(in model.Instance) (map[int]int, error) {
	runtime.LockOSThread() // so that the thread's CPU clock measures this count alone
	defer runtime.UnlockOSThread()
	start := time.Now()
	cpu0, cpuOK := threadCPU()
	defer func() {
		c.lastDump, c.lastCost = start, time.Since(start)
		if cpu1, ok := threadCPU(); ok && cpuOK {
			c.lastCost = cpu1 - cpu0
		}
	}()
	o := &c.owners
	o.begin()
	var list []*workerState
	for _, m := range in.Masters {
		if err := c.checkNetns(m.Process); err != nil {
			return nil, err
		}
		for _, p := range m.Children {
			if p.Role == model.RoleWorker {
				list = append(list, o.worker(workerKey{p.PID, p.StartTicks}, !p.ShuttingDown))
			}
		}
	}
	fresh, err := o.readNew(list)
	if err != nil {
		return nil, err
	}
	if fresh || c.dump.needsFull() {
		err = c.dump.full(o.listening, o.claim)
	} else {
		err = c.dump.onPorts(o.claim)
	}
	if err != nil {
		return nil, err
	}
	if len(o.unknown) > 0 {
		if err := o.resolve(list); err != nil {
			return nil, err
		}
	}
	counts := make(map[int]int, len(list))
	for _, ws := range list {
		counts[ws.key.pid] = ws.count
	}
	o.prune()
	return counts, nil
}

// sameWorkers returns the last counts if the instance has exactly the workers last counted.
func (c *ConnCounter) sameWorkers(in model.Instance) (map[int]int, bool) {
	counts := make(map[int]int, len(c.owners.workers))
	for _, m := range in.Masters {
		for _, p := range m.Children {
			if p.Role != model.RoleWorker {
				continue
			}
			ws := c.owners.workers[workerKey{p.PID, p.StartTicks}]
			if ws == nil {
				return nil, false
			}
			counts[p.PID] = ws.count
		}
	}
	return counts, len(counts) == len(c.owners.workers)
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

// threadCPU is the CPU time, user and system, of the calling thread.
func threadCPU() (time.Duration, bool) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0, false
	}
	return time.Duration(ts.Nano()), true
}
