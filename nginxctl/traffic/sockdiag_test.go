package traffic

import (
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// socketInode returns the inode of a connection's socket, as /proc/self/fd names it.
func socketInode(t *testing.T, c syscall.Conn) uint32 {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var link string
	rc.Control(func(fd uintptr) {
		link, err = os.Readlink(fmt.Sprintf("/proc/self/fd/%d", fd))
	})
	if err != nil {
		t.Fatal(err)
	}
	v, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]"), 10, 32)
	if err != nil {
		t.Fatalf("fd link %q: %v", link, err)
	}
	return uint32(v)
}

type diagFixture struct {
	ports     []uint16          // one listener per port, alternating 127.0.0.1 and ::1
	listeners map[uint32]uint16 // listener inode -> port
	accepted  map[uint32]uint16 // server side of an established connection -> port
	clients   map[uint32]bool   // client side of the same connections
}

// newDiagFixture opens n loopback listeners, every other one on IPv6, each with one accepted
// connection.
func newDiagFixture(t *testing.T, n int) *diagFixture {
	t.Helper()
	f := &diagFixture{listeners: map[uint32]uint16{}, accepted: map[uint32]uint16{}, clients: map[uint32]bool{}}
	for i := 0; i < n; i++ {
		network, addr := "tcp4", "127.0.0.1:0"
		if i%2 == 1 {
			network, addr = "tcp6", "[::1]:0"
		}
		ln, err := net.Listen(network, addr)
		if err != nil {
			t.Fatalf("listen %s: %v", addr, err)
		}
		t.Cleanup(func() { ln.Close() })
		port := uint16(ln.Addr().(*net.TCPAddr).Port)
		f.ports = append(f.ports, port)
		f.listeners[socketInode(t, ln.(*net.TCPListener))] = port
		c, err := net.Dial(network, ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		s, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		f.accepted[socketInode(t, s.(*net.TCPConn))] = port
		f.clients[socketInode(t, c.(*net.TCPConn))] = true
	}
	return f
}

func dumpAll(t *testing.T, d *sockDiag, states uint32, ports []uint16) map[uint32]diagSock {
	t.Helper()
	got := map[uint32]diagSock{}
	if err := d.dump(states, ports, func(s diagSock) { got[s.inode] = s }); err != nil {
		t.Fatal(err)
	}
	return got
}

// The dump sees IPv4 and IPv6 sockets with their state and local port, and the port filter
// keeps exactly the asked ports: first, middle and last of the program, and none else.
func TestSockDiagDumpFiltersByPortAndState(t *testing.T) {
	f := newDiagFixture(t, 6)
	for _, compat := range []bool{true, false} {
		t.Run(fmt.Sprintf("compat=%v", compat), func(t *testing.T) {
			d := &sockDiag{noCompat: !compat}
			want := []uint16{f.ports[0], f.ports[3], f.ports[5]}
			got := dumpAll(t, d, 1<<tcpEstablished|1<<tcpListen, want)
			for ino, port := range f.listeners {
				s, ok := got[ino]
				if ok != slices.Contains(want, port) {
					t.Errorf("listener on port %d: in dump %v, asked ports %v", port, ok, want)
				}
				if ok && (s.state != tcpListen || s.sport != port) {
					t.Errorf("listener %d: %+v", port, s)
				}
			}
			for ino, port := range f.accepted {
				s, ok := got[ino]
				if ok != slices.Contains(want, port) {
					t.Errorf("accepted connection on port %d: in dump %v, asked ports %v", port, ok, want)
				}
				if ok && (s.state != tcpEstablished || s.sport != port) {
					t.Errorf("accepted connection on %d: %+v", port, s)
				}
			}
			for ino := range f.clients {
				if _, ok := got[ino]; ok {
					t.Errorf("client socket %d (ephemeral local port) passed the port filter", ino)
				}
			}
			if compat && d.noCompat {
				t.Error("the kernel refused TCPDIAG_GETSOCK: the test ran the fallback twice")
			}
			// Only listeners when asked for LISTEN alone.
			for ino, s := range dumpAll(t, d, 1<<tcpListen, want) {
				if s.state != tcpListen {
					t.Errorf("LISTEN-only dump returned socket %d in state %d", ino, s.state)
				}
			}
		})
	}
}

// Beyond maxFilterPorts the kernel filter is left out (the caller filters): nothing is lost.
func TestSockDiagDumpWithManyPorts(t *testing.T) {
	f := newDiagFixture(t, maxFilterPorts+1)
	for _, ports := range [][]uint16{f.ports[:maxFilterPorts], f.ports} {
		got := dumpAll(t, &sockDiag{}, 1<<tcpEstablished|1<<tcpListen, ports)
		for ino, port := range f.accepted {
			if _, ok := got[ino]; !ok && slices.Contains(ports, port) {
				t.Errorf("%d ports asked: the connection on port %d is missing", len(ports), port)
			}
		}
	}
}

// runFilter is the kernel's inet_diag_bc_run for the ops portFilter emits.
func runFilter(bc []byte, sport uint16) bool {
	for i := 0; i < len(bc); {
		code, yes, no := bc[i], int(bc[i+1]), int(nativeEndian.Uint16(bc[i+2:]))
		ok := false
		switch code {
		case inetDiagBcSGE:
			ok = sport >= nativeEndian.Uint16(bc[i+6:])
		case inetDiagBcJMP:
		default:
			panic(fmt.Sprintf("op %d at %d", code, i))
		}
		if ok {
			i += yes
		} else {
			i += no
		}
		if i > len(bc) {
			return false
		}
	}
	return true
}

// The program accepts exactly the asked ports (the kernel's audit of its jumps is exercised by
// the dump tests above).
func TestPortFilterAcceptsExactlyThePorts(t *testing.T) {
	for _, ports := range [][]uint16{{80}, {443, 80}, {1, 2, 3}, {8080, 65535}, {65535}, {80, 80, 81}} {
		bc := portFilter(ports)
		for _, sp := range []uint16{0, 1, 2, 3, 4, 79, 80, 81, 82, 442, 443, 444, 8079, 8080, 8081, 65534, 65535} {
			if got, want := runFilter(bc, sp), slices.Contains(ports, sp); got != want {
				t.Errorf("ports %v, local port %d: accepted %v", ports, sp, got)
			}
		}
	}
	if portFilter(nil) != nil || portFilter(make([]uint16, maxFilterPorts+1)) != nil {
		t.Error("no ports, or too many, must give no filter")
	}
}
