package proc

import (
	"encoding/binary"
	"os"

	"golang.org/x/sys/unix"
)

// The netlink process connector (linux/cn_proc.h): the kernel multicasts a message for every
// fork, exec and exit on the host to listeners of its group. hotdeploy uses it only to wake a
// wait early; the verdict is always read from /proc.
const (
	cnIdxProc         = 1
	cnValProc         = 1
	procCnMcastListen = 1

	procEventFork = 0x00000001
	procEventExec = 0x00000002
	procEventExit = 0x80000000

	nlmsgHdrLen = 16 // struct nlmsghdr
	cnMsgLen    = 20 // struct cn_msg without data
)

// procConn is a connector socket with the pids whose family it cares about.
type procConn struct {
	fd    int
	watch map[int]bool // parents whose forks matter, and children seen forking from them
	buf   []byte
}

// listenProcConn subscribes to the connector; it fails without CAP_NET_ADMIN or outside the
// initial network namespace, and the caller then waits on timeouts alone.
func listenProcConn() (*procConn, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, unix.NETLINK_CONNECTOR)
	if err != nil {
		return nil, err
	}
	c := &procConn{fd: fd, watch: map[int]bool{}, buf: make([]byte, 8192)}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: cnIdxProc, Pid: uint32(os.Getpid())}); err != nil {
		c.close()
		return nil, err
	}
	msg := make([]byte, nlmsgHdrLen+cnMsgLen+4)
	ne := binary.NativeEndian
	ne.PutUint32(msg[0:], uint32(len(msg)))
	ne.PutUint16(msg[4:], unix.NLMSG_DONE)
	ne.PutUint32(msg[12:], uint32(os.Getpid()))
	ne.PutUint32(msg[16:], cnIdxProc)
	ne.PutUint32(msg[20:], cnValProc)
	ne.PutUint16(msg[32:], 4)
	ne.PutUint32(msg[36:], procCnMcastListen)
	if err := unix.Sendto(fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

// relevant reads every pending message and tells whether one concerns a watched pid: a fork
// by it (the child is watched from then on), or an exec or exit of a watched pid.
func (c *procConn) relevant() bool {
	hit := false
	for {
		n, _, err := unix.Recvfrom(c.fd, c.buf, unix.MSG_DONTWAIT)
		if n <= 0 || err != nil {
			return hit
		}
		hit = c.scan(c.buf[:n]) || hit
	}
}

// scan walks the netlink messages of one datagram.
func (c *procConn) scan(b []byte) bool {
	hit := false
	eachEvent(b, func(what uint32, data []byte) { hit = c.event(what, data) || hit })
	return hit
}

// eachEvent walks the netlink messages of one datagram and calls fn with each struct
// proc_event's kind and data (what, cpu and timestamp come first).
func eachEvent(b []byte, fn func(what uint32, data []byte)) {
	ne := binary.NativeEndian
	for len(b) >= nlmsgHdrLen {
		l := int(ne.Uint32(b))
		if l < nlmsgHdrLen || l > len(b) {
			return
		}
		ev := b[nlmsgHdrLen:l]
		if len(ev) >= cnMsgLen+16+16 {
			ev = ev[cnMsgLen:]
			fn(ne.Uint32(ev), ev[16:])
		}
		b = b[(l+3)&^3:]
	}
}

// event tells whether one event concerns a watched pid: a fork by it (the child is watched from
// then on), or an exec or exit of a watched pid.
func (c *procConn) event(what uint32, data []byte) bool {
	ne := binary.NativeEndian
	switch what {
	case procEventFork:
		parent, child := int(ne.Uint32(data[4:])), int(ne.Uint32(data[12:]))
		if c.watch[parent] {
			c.watch[child] = true
			return true
		}
	case procEventExec, procEventExit:
		return c.watch[int(ne.Uint32(data[4:]))]
	}
	return false
}

func (c *procConn) close() {
	if c.fd >= 0 {
		unix.Close(c.fd)
		c.fd = -1
	}
}
