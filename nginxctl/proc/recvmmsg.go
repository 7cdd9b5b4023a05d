package proc

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// batchSlots is how many datagrams one recvmmsg(2) takes, and batchSlot the room for each: a
// connector event is 76 bytes (a netlink header, a cn_msg and a proc_event).
const (
	batchSlots = 64
	batchSlot  = 256
)

// mmsghdr is struct mmsghdr: a msghdr and the length received into it.
type mmsghdr struct {
	hdr unix.Msghdr
	n   uint32
}

// batch receives queued datagrams many at a time. On a fork-heavy host the feed queues
// thousands of events between two scans, one datagram each; a receive per event was a third of
// the dashboard's CPU there.
type batch struct {
	hdrs [batchSlots]mmsghdr
	iovs [batchSlots]unix.Iovec
	buf  [batchSlots * batchSlot]byte
}

func newBatch() *batch {
	b := &batch{}
	for i := range b.hdrs {
		b.iovs[i].Base = &b.buf[i*batchSlot]
		b.iovs[i].SetLen(batchSlot)
		b.hdrs[i].hdr.Iov = &b.iovs[i]
		b.hdrs[i].hdr.SetIovlen(1)
	}
	return b
}

// recv takes up to batchSlots queued datagrams without waiting and calls fn with each. It
// returns how many it took (0 when none was queued) and the socket's error, such as ENOBUFS
// when the kernel dropped datagrams. The call never blocks (MSG_DONTWAIT), so it is made
// without entering the Go scheduler's system-call state (see rawPread).
func (b *batch) recv(fd int, fn func([]byte)) (int, error) {
	for i := range b.hdrs {
		b.hdrs[i].n = 0
	}
	r, _, e := unix.RawSyscall6(unix.SYS_RECVMMSG, uintptr(fd), uintptr(unsafe.Pointer(&b.hdrs[0])),
		batchSlots, unix.MSG_DONTWAIT, 0, 0)
	if e != 0 {
		return 0, e
	}
	n := int(r)
	for i := 0; i < n; i++ {
		fn(b.buf[i*batchSlot : i*batchSlot+int(min(b.hdrs[i].n, batchSlot))])
	}
	return n, nil
}
