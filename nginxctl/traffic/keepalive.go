package traffic

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// keepConn is a keep-alive client: one HTTP/1.1 connection that carries request after request,
// as a browser's or wrk's does, opened again only when the server closed it.
//
// It speaks HTTP/1.1 itself rather than through net/http's Transport because the Transport
// silently sends an idempotent request again when a reused connection fails: the very reset the
// keep-alive proof has to count. Like a browser, it checks that an idle connection is still open
// before reusing it (a peek that sees the server's FIN), so what it counts is the race nginx
// leaves open: a request sent at the instant a worker shutting down closes the connection.
type keepConn struct {
	dial    func(ctx context.Context, network, addr string) (net.Conn, error)
	addr    string      // host:port to dial
	tls     *tls.Config // nil for http://
	hreq    *http.Request
	req     []byte // the request as written on the wire
	conn    net.Conn
	raw     net.Conn // the TCP connection under conn, for the peek
	br      *bufio.Reader
	carried int // responses read on conn
}

func newKeepConn(t probeTarget, timeout time.Duration, opened func()) *keepConn {
	u := t.url
	k := &keepConn{dial: t.dialer(timeout, opened), addr: u.Host}
	if u.Port() == "" {
		port := "80"
		if u.Scheme == "https" {
			port = "443"
		}
		k.addr = net.JoinHostPort(u.Hostname(), port)
	}
	if u.Scheme == "https" {
		k.tls = &tls.Config{ServerName: u.Hostname(), NextProtos: []string{"http/1.1"}}
	}
	k.hreq = &http.Request{Method: http.MethodGet, URL: u, Host: u.Host, Header: http.Header{}}
	k.req = fmt.Appendf(nil, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: hotdeploy-probe\r\nAccept: */*\r\n\r\n", u.RequestURI(), u.Host)
	return k
}

// send writes the request on the kept connection (opening one if there is none, or if the
// server closed it while idle) and reads the whole response.
func (k *keepConn) send(ctx context.Context) attempt {
	if k.conn != nil && !idleOpen(k.raw) {
		k.drop()
	}
	if k.conn == nil {
		if err := k.open(ctx); err != nil {
			return attempt{err: err}
		}
	}
	a := attempt{reused: k.carried > 0}
	c := k.conn
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Unix(1, 0)) })
	defer func() {
		if !stop() { // the deadline may now be in the past: do not reuse the connection
			k.drop()
		}
	}()
	if _, err := c.Write(k.req); err != nil {
		k.drop()
		a.err = fmt.Errorf("send the request: %w", err)
		return a
	}
	resp, err := http.ReadResponse(k.br, k.hreq)
	if err != nil {
		k.drop()
		a.err = fmt.Errorf("read the response: %w", err)
		return a
	}
	a.status = resp.StatusCode
	a.pid, _ = strconv.Atoi(resp.Header.Get(probeHeader))
	n, err := io.Copy(io.Discard, io.LimitReader(resp.Body, maxProbeBody+1))
	resp.Body.Close()
	switch {
	case err != nil:
		k.drop()
		a.err = fmt.Errorf("read the body: %w", err)
	case n > maxProbeBody || resp.Close:
		k.drop() // the rest of the body is unread, or the server said it closes
	default:
		k.carried++
	}
	return a
}

// open dials a new connection.
func (k *keepConn) open(ctx context.Context) error {
	raw, err := k.dial(ctx, "tcp", k.addr)
	if err != nil {
		return err
	}
	c := raw
	if k.tls != nil {
		tc := tls.Client(raw, k.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			raw.Close()
			return err
		}
		c = tc
	}
	k.conn, k.raw, k.br, k.carried = c, raw, bufio.NewReader(c), 0
	return nil
}

// drop closes the connection; the next send opens a new one.
func (k *keepConn) drop() {
	if k.conn != nil {
		k.conn.Close()
	}
	k.conn, k.raw, k.br, k.carried = nil, nil, nil, 0
}

func (k *keepConn) close() { k.drop() }

// idleOpen tells whether an idle connection can carry another request: nothing to read on it,
// not even an end of stream. A server that closed it has sent a FIN (a read sees EOF) or a
// reset; unread bytes on an idle HTTP/1.1 connection are as bad.
func idleOpen(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return true
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	open := false
	var b [1]byte
	err = rc.Read(func(fd uintptr) bool {
		_, _, rerr := unix.Recvfrom(int(fd), b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
		open = errors.Is(rerr, unix.EAGAIN)
		return true
	})
	return err == nil && open
}
