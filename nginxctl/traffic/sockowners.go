package traffic

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// sockOwners matches socket inodes to the workers holding them, from the workers'
// /proc/PID/fd links. The links are the expensive part (one readlink per descriptor): a
// worker's are read in full once, and afterwards only when a dump shows a connection the cache
// does not know, and then only the descriptors that may have changed. In a steady state no link
// is read, whatever the number of connections. Not safe for concurrent use.
//
// Each count is a generation: begin starts one, worker lists the workers the instance has now,
// the dump's sockets go through listening and claim, resolve reads links for those left
// unknown, and prune keeps the cache the size of the live set.
type sockOwners struct {
	gen     uint32                     // count generation, stamped on what each count saw
	owner   map[uint32]*sockOwner      // socket inode -> worker holding it
	workers map[workerKey]*workerState // workers of the instance, as last counted
	foreign map[uint32]uint32          // inode -> generation after which to look for it again
	unknown []uint32                   // sockets of this generation that no known worker holds
	linkBuf []byte
	path    []byte
	pruned  uint32
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

func newSockOwners() sockOwners {
	return sockOwners{
		owner:   map[uint32]*sockOwner{},
		workers: map[workerKey]*workerState{},
		foreign: map[uint32]uint32{},
		linkBuf: make([]byte, 128),
	}
}

// begin starts a count.
func (o *sockOwners) begin() {
	o.gen++
	o.unknown = o.unknown[:0]
}

// worker returns the state of a worker listed by this count, its count reset.
func (o *sockOwners) worker(k workerKey, accepting bool) *workerState {
	ws := o.workers[k]
	if ws == nil {
		ws = &workerState{key: k}
		o.workers[k] = ws
	}
	ws.live, ws.accepting, ws.count = o.gen, accepting, 0
	return ws
}

// readNew forgets the workers this count did not list and reads in full those seen for the
// first time, which also finds the listening sockets, and so the ports, of a new generation or
// a reloaded configuration. It tells whether there were any.
func (o *sockOwners) readNew(list []*workerState) (bool, error) {
	for k, ws := range o.workers {
		if ws.live != o.gen {
			delete(o.workers, k)
		}
	}
	fresh := false
	for _, ws := range list {
		if ws.fds == nil {
			fresh = true
			if err := o.readFds(ws, true); err != nil {
				return false, err
			}
		}
	}
	return fresh, nil
}

// listening tells whether a listening socket belongs to a live worker, and marks it seen.
func (o *sockOwners) listening(ino uint32) bool {
	s := o.owner[ino]
	if s == nil || s.w.live != o.gen {
		return false
	}
	s.seen, s.listen = o.gen, true
	return true
}

// claim counts an established client connection for its worker, or notes it as unknown.
func (o *sockOwners) claim(ino uint32) {
	if s := o.owner[ino]; s != nil {
		s.seen = o.gen
		if s.w.live == o.gen {
			s.w.count++
			return
		}
	}
	if g, ok := o.foreign[ino]; ok && o.gen < g {
		return
	}
	o.unknown = append(o.unknown, ino)
}

// resolve finds which workers hold the unknown sockets, reading as few descriptor links as it
// can: first, on the workers that accept, the descriptors that are new or held a socket that has
// since closed; then, if some sockets are still unaccounted for, on every worker, each
// descriptor not known to hold a live socket (the number of a closed file may have been reused
// by a new connection).
func (o *sockOwners) resolve(list []*workerState) error {
	unknown := o.unknown
	for _, all := range []bool{false, true} {
		if len(unknown) == 0 {
			return nil
		}
		for _, ws := range list {
			if all || ws.accepting {
				if err := o.readFds(ws, all); err != nil {
					return err
				}
			}
		}
		left := unknown[:0]
		for _, ino := range unknown {
			if s := o.owner[ino]; s != nil && s.w.live == o.gen {
				s.seen = o.gen
				s.w.count++
				delete(o.foreign, ino)
				continue
			}
			left = append(left, ino)
		}
		unknown = left
	}
	for _, ino := range unknown {
		o.foreign[ino] = o.gen + foreignRetry
	}
	return nil
}

// readFds reads the descriptor links of a worker. With a previous table, a descriptor is read
// again only when it is new, or when it held a socket that the last dump no longer listed, or,
// with all, when it held anything but a live socket.
func (o *sockOwners) readFds(ws *workerState, all bool) error {
	o.path = append(o.path[:0], "/proc/"...)
	o.path = strconv.AppendInt(o.path, int64(ws.key.pid), 10)
	o.path = append(o.path, "/fd"...)
	dir := string(o.path)
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
		if ino, ok := prev[fd]; ok && !o.stale(ino, ws, all) {
			next[fd] = ino
			continue
		}
		ino := o.readSocketLink(len(dir), name)
		next[fd] = ino
		if ino != 0 {
			if s := o.owner[ino]; s == nil || s.w != ws {
				o.owner[ino] = &sockOwner{w: ws}
			}
		}
	}
	ws.fds = next
	return nil
}

// stale tells whether a cached descriptor must be read again.
func (o *sockOwners) stale(ino uint32, ws *workerState, all bool) bool {
	if ino == 0 {
		return all
	}
	s := o.owner[ino]
	if s == nil || s.w != ws {
		return true
	}
	return !s.listen && s.seen != o.gen
}

// readSocketLink reads /proc/PID/fd/N and returns the inode of "socket:[inode]", 0 otherwise.
func (o *sockOwners) readSocketLink(dirLen int, name string) uint32 {
	o.path = append(append(o.path[:dirLen], '/'), name...)
	n, err := unix.Readlink(string(o.path), o.linkBuf)
	if err != nil || n >= len(o.linkBuf) {
		return 0
	}
	link := o.linkBuf[:n]
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

// prune forgets closed sockets and exited workers' sockets, every 64 counts or sooner when the
// cache has grown well past the workers' descriptors, so that its size follows the live set.
func (o *sockOwners) prune() {
	if o.gen-o.pruned < 64 && len(o.owner) <= 2*o.fdCount()+256 {
		return
	}
	o.pruned = o.gen
	for ino, s := range o.owner {
		if s.w.live != o.gen || (!s.listen && s.seen != o.gen) {
			delete(o.owner, ino)
		}
	}
	for ino, g := range o.foreign {
		if g+foreignRetry < o.gen {
			delete(o.foreign, ino)
		}
	}
}

func (o *sockOwners) fdCount() int {
	n := 0
	for _, ws := range o.workers {
		n += len(ws.fds)
	}
	return n
}
