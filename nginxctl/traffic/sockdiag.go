package traffic

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"slices"

	"golang.org/x/sys/unix"
)

// The TCP socket table is read through NETLINK_SOCK_DIAG rather than /proc/net/tcp: the kernel
// filters by state (and by local port, with a bytecode program) before anything is copied, and
// each socket arrives as a fixed 72-byte record instead of a formatted text line. golang.org/x/sys
// has the constants but not the structures, so their layouts are spelled out here
// (linux/inet_diag.h).

const (
	tcpEstablished = 1
	tcpListen      = 10

	sizeofNlMsghdr       = 16
	sizeofInetDiagSockID = 48 // struct inet_diag_sockid
	sizeofInetDiagReqV2  = 56 // struct inet_diag_req_v2
	sizeofInetDiagReq    = 60 // struct inet_diag_req, of the TCPDIAG_GETSOCK request
	sizeofInetDiagMsg    = 72 // struct inet_diag_msg
	tcpDiagGetSock       = 18 // TCPDIAG_GETSOCK
	inetDiagReqBytecode  = 1  // INET_DIAG_REQ_BYTECODE
	inetDiagBcJMP        = 1  // INET_DIAG_BC_JMP: always takes "no"
	inetDiagBcSGE        = 2  // INET_DIAG_BC_S_GE: local port >= operand
	diagRecvBuf          = 64 << 10
	// maxFilterPorts bounds the port filter (16 bytes a port); an instance with more listening
	// ports is filtered in user space instead.
	maxFilterPorts = 64
)

// diagSock is what the counter needs of one socket.
type diagSock struct {
	inode uint32
	state uint8
	sport uint16 // local port
}

// sockDiag dumps TCP sockets. It keeps its receive buffer between dumps; not safe for
// concurrent use.
type sockDiag struct {
	buf      []byte
	req      []byte
	seq      uint32
	noCompat bool // the kernel refused TCPDIAG_GETSOCK: ask per family
}

// dump calls fn for every TCP socket of this network namespace, IPv4 and IPv6, whose state is
// in states (a bit mask of 1<<state) and, when ports is not empty, whose local port is one of
// them. The filtering happens in the kernel (ports beyond maxFilterPorts are not filtered: the
// caller checks the port again).
//
// The kernel walks its whole established-socket hash table for a dump, including TIME_WAIT
// sockets of every namespace, so the walk is what a dump costs. The old TCPDIAG_GETSOCK request
// walks it once for both address families; SOCK_DIAG_BY_FAMILY would walk it once per family.
// The latter is the fallback for a kernel that refuses the former.
func (d *sockDiag) dump(states uint32, ports []uint16, fn func(diagSock)) error {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return fmt.Errorf("open sock_diag netlink socket: %w", err)
	}
	defer unix.Close(fd)
	if d.buf == nil {
		d.buf = make([]byte, diagRecvBuf)
	}
	if !d.noCompat {
		d.seq++
		d.req = buildDiagRequest(d.req[:0], tcpDiagGetSock, unix.AF_UNSPEC, states, ports, d.seq)
		err := d.exchange(fd, fn)
		if err == nil || !(errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EOPNOTSUPP)) {
			return err
		}
		d.noCompat = true
	}
	for _, family := range []uint8{unix.AF_INET, unix.AF_INET6} {
		d.seq++
		d.req = buildDiagRequest(d.req[:0], unix.SOCK_DIAG_BY_FAMILY, family, states, ports, d.seq)
		if err := d.exchange(fd, fn); err != nil {
			if family == unix.AF_INET6 && errors.Is(err, unix.ENOENT) {
				continue // no IPv6 in this kernel
			}
			return err
		}
	}
	return nil
}

// exchange sends the request in d.req and reads the answers.
func (d *sockDiag) exchange(fd int, fn func(diagSock)) error {
	if err := unix.Sendto(fd, d.req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("sock_diag request: %w", err)
	}
	return d.receive(fd, d.seq, fn)
}

// receive reads one dump's answers until NLMSG_DONE.
func (d *sockDiag) receive(fd int, seq uint32, fn func(diagSock)) error {
	for {
		n, _, err := unix.Recvfrom(fd, d.buf, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("sock_diag answer: %w", err)
		}
		b := d.buf[:n]
		for len(b) >= sizeofNlMsghdr {
			l := int(nativeEndian.Uint32(b[0:4]))
			typ := nativeEndian.Uint16(b[4:6])
			if l < sizeofNlMsghdr || l > len(b) {
				return errors.New("sock_diag answer: malformed netlink message")
			}
			msg := b[sizeofNlMsghdr:l]
			if nativeEndian.Uint32(b[8:12]) == seq {
				switch typ {
				case unix.NLMSG_DONE:
					return nil
				case unix.NLMSG_ERROR:
					if len(msg) >= 4 {
						if errno := int32(nativeEndian.Uint32(msg[0:4])); errno != 0 {
							return os.NewSyscallError("sock_diag", unix.Errno(-errno))
						}
					}
					return nil
				case unix.SOCK_DIAG_BY_FAMILY, tcpDiagGetSock:
					if len(msg) >= sizeofInetDiagMsg {
						fn(diagSock{
							state: msg[1],
							sport: binary.BigEndian.Uint16(msg[4:6]),
							inode: nativeEndian.Uint32(msg[68:72]),
						})
					}
				}
			}
			b = b[(l+3)&^3:]
		}
	}
}

// buildDiagRequest appends a dump request for TCP sockets: with typ SOCK_DIAG_BY_FAMILY, a
// struct inet_diag_req_v2 for one family; with tcpDiagGetSock, the older struct inet_diag_req,
// which the kernel answers for both families (it sets the family to AF_UNSPEC).
func buildDiagRequest(b []byte, typ uint16, family uint8, states uint32, ports []uint16, seq uint32) []byte {
	bc := portFilter(ports)
	attr := 0
	if len(bc) > 0 {
		attr = 4 + len(bc)
	}
	size := sizeofInetDiagReqV2
	if typ == tcpDiagGetSock {
		size = sizeofInetDiagReq
	}
	b = nativeEndian.AppendUint32(b, uint32(sizeofNlMsghdr+size+attr))
	b = nativeEndian.AppendUint16(b, typ)
	b = nativeEndian.AppendUint16(b, unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	b = nativeEndian.AppendUint32(b, seq)
	b = nativeEndian.AppendUint32(b, 0)
	if typ == tcpDiagGetSock {
		// family, src_len, dst_len, ext; a zero socket id; states; dbs.
		b = append(b, family, 0, 0, 0)
		b = append(b, make([]byte, sizeofInetDiagSockID)...)
		b = nativeEndian.AppendUint32(b, states)
		b = nativeEndian.AppendUint32(b, 0)
	} else {
		// family, protocol, ext, pad; states; a zero socket id.
		b = append(b, family, unix.IPPROTO_TCP, 0, 0)
		b = nativeEndian.AppendUint32(b, states)
		b = append(b, make([]byte, sizeofInetDiagSockID)...)
	}
	if len(bc) > 0 {
		b = nativeEndian.AppendUint16(b, uint16(attr))
		b = nativeEndian.AppendUint16(b, inetDiagReqBytecode)
		b = append(b, bc...)
	}
	return b
}

// portFilter compiles "local port is one of ports" into inet_diag bytecode. The kernel's audit
// accepts a jump only to the end (accept), just past it (reject), or to an op on the chain of
// "yes" jumps from the start, so the program is one straight chain over the ports in ascending
// order, each test going on to the next op when it holds and deciding when it does not:
//
//	for each port P:  S_GE P   (else reject: the port lies below P)
//	                  S_GE P+1 (else accept: the port is P)
//	JMP                        (reject: the port lies above every P)
//
// Each port test is followed by an operand op whose "no" field carries the port. Port 65535
// needs no second test: the final JMP accepts instead.
func portFilter(ports []uint16) []byte {
	if len(ports) == 0 || len(ports) > maxFilterPorts {
		return nil
	}
	ps := slices.Clone(ports)
	slices.Sort(ps)
	ps = slices.Compact(ps)
	top := ps[len(ps)-1] == 65535
	total := 16*len(ps) + 4
	if top {
		total -= 8
	}
	b := make([]byte, 0, total)
	op := func(code, yes uint8, no int) {
		b = append(b, code, yes)
		b = nativeEndian.AppendUint16(b, uint16(no))
	}
	for _, p := range ps {
		op(inetDiagBcSGE, 8, total-len(b)+4)
		op(0, 0, int(p))
		if p != 65535 {
			op(inetDiagBcSGE, 8, total-len(b))
			op(0, 0, int(p)+1)
		}
	}
	if top {
		op(inetDiagBcJMP, 4, 4)
	} else {
		op(inetDiagBcJMP, 4, 8)
	}
	return b
}

// nativeEndian is the byte order of netlink headers and of inet_diag's host-order fields.
var nativeEndian = binary.NativeEndian
