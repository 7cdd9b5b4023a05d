package proc

import (
	"encoding/binary"
	"errors"

	"golang.org/x/sys/unix"
)

// procEventComm is PROC_EVENT_COMM: a process renamed itself (prctl PR_SET_NAME).
const procEventComm = 0x00000200

// execFeedBuffer is the receive buffer asked for the feed: between two reads a few seconds
// apart, a fork-heavy host queues thousands of events (a few hundred bytes each in the kernel's
// accounting); when they overflow it anyway, the reader learns so and starts over.
const execFeedBuffer = 4 << 20

// ErrFeedLost says events were dropped (the socket's buffer overflowed): whatever was learnt
// from the feed must be read again.
var ErrFeedLost = errors.New("process connector: events were lost")

// ExecFeed follows the host's processes through the netlink process connector: which appeared,
// which exec'd or renamed themselves (their comm may have changed) and which exited (their pid
// may be reused), since the last Drain. Only root in the initial network namespace may listen;
// OpenExecFeed fails elsewhere. It never decides anything alone: its user re-reads /proc for
// what it names. Not safe for concurrent use.
type ExecFeed struct {
	conn  *procConn
	batch *batch
}

// OpenExecFeed subscribes to the connector.
func OpenExecFeed() (*ExecFeed, error) {
	c, err := listenProcConn()
	if err != nil {
		return nil, err
	}
	if unix.SetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, execFeedBuffer) != nil {
		_ = unix.SetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_RCVBUF, execFeedBuffer)
	}
	return &ExecFeed{conn: c, batch: newBatch()}, nil
}

// FeedEvent is what happened to a process, as the feed tells it.
type FeedEvent int

const (
	// FeedForked: a new process (thread group) appeared.
	FeedForked FeedEvent = iota
	// FeedChanged: it exec'd a binary or renamed itself, so its comm may differ.
	FeedChanged
	// FeedExited: it is gone, and its pid may be reused.
	FeedExited
)

// Drain reads every queued event and calls fn with each new process, each exec or rename, and
// each exit, by thread-group pid, in the order they happened; threads are left out. It returns
// ErrFeedLost when the kernel dropped events since the last Drain, after reading what is left.
func (f *ExecFeed) Drain(fn func(ev FeedEvent, pid int)) error {
	var lost error
	ne := binary.NativeEndian
	event := func(b []byte) {
		eachEvent(b, func(what uint32, data []byte) {
			switch what {
			case procEventFork:
				// parent pid, parent tgid, child pid, child tgid
				if child, tgid := ne.Uint32(data[8:]), ne.Uint32(data[12:]); child == tgid {
					fn(FeedForked, int(tgid))
				}
			case procEventExec, procEventComm:
				fn(FeedChanged, int(ne.Uint32(data[4:]))) // process pid, process tgid
			case procEventExit:
				if pid, tgid := ne.Uint32(data), ne.Uint32(data[4:]); pid == tgid {
					fn(FeedExited, int(tgid)) // a thread's exit leaves its process as it was
				}
			}
		})
	}
	for {
		n, err := f.batch.recv(f.conn.fd, event)
		switch {
		case err == unix.ENOBUFS:
			lost = ErrFeedLost
		case err == unix.EINTR:
		case err != nil || n == 0:
			return lost
		}
	}
}

// Close unsubscribes.
func (f *ExecFeed) Close() { f.conn.close() }
