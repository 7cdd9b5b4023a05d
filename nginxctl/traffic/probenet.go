package traffic

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hotdeploy/hotdeploy/model"
)

// probeTarget is a validated URL, with the loopback addresses its connections are pinned to in
// loopback-only mode.
type probeTarget struct {
	url    *url.URL
	pinned []netip.Addr // loopback-only mode: the host's addresses, all loopback
}

// resolveTarget checks that raw is an http(s) URL and, with loopbackOnly, that its host is a
// loopback address or resolves only to loopback addresses. what names the caller in errors.
func resolveTarget(ctx context.Context, raw string, loopbackOnly bool, what string) (probeTarget, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return probeTarget{}, model.Because("%s URL %q is not a URL (%v): only http:// and https:// URLs can be probed", what, raw, errors.Unwrap(err)).Err()
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return probeTarget{}, model.Because("%s URL %q: only http:// and https:// URLs can be probed", what, raw).Err()
	}
	if u.Hostname() == "" {
		return probeTarget{}, model.Because("%s URL %q has no host", what, raw).Err()
	}
	if p := u.Port(); p != "" {
		if n, err := net.LookupPort("tcp", p); err != nil || n == 0 {
			return probeTarget{}, model.Because("%s URL %q: port %q is not a port", what, raw, p).Err()
		}
	}
	t := probeTarget{url: u}
	if !loopbackOnly {
		return t, nil
	}
	host := u.Hostname()
	addrs := []netip.Addr{}
	if a, err := netip.ParseAddr(host); err == nil {
		addrs = append(addrs, a)
	} else {
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		if addrs, err = net.DefaultResolver.LookupNetIP(rctx, "ip", host); err != nil {
			return probeTarget{}, model.Because("%s URL %q: cannot resolve %s: %v", what, raw, host, err).Err()
		}
	}
	for _, a := range addrs {
		if !a.Unmap().IsLoopback() {
			return probeTarget{}, model.Because("%s URL %q: %s is not a loopback address; the demo probes only 127.0.0.0/8 and ::1 (try http://127.0.0.1:PORT/)", what, raw, a).Err()
		}
	}
	if len(addrs) == 0 {
		return probeTarget{}, model.Because("%s URL %q: %s has no address", what, raw, host).Err()
	}
	for _, a := range addrs {
		t.pinned = append(t.pinned, a.Unmap())
	}
	return t, nil
}

// dialer returns the dial function of the probe's connections: pinned to the resolved
// loopback addresses in loopback-only mode, tried in order ("localhost" may name ::1 first
// while nginx listens on 127.0.0.1 only). opened, if not nil, is called for every connection
// made.
func (t probeTarget) dialer(timeout time.Duration, opened func()) func(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{Timeout: timeout}
	dial := d.DialContext
	if len(t.pinned) > 0 {
		dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			_, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			var first error
			for _, a := range t.pinned {
				c, err := d.DialContext(ctx, network, net.JoinHostPort(a.String(), port))
				if err == nil {
					return c, nil
				}
				if first == nil {
					first = err
				}
			}
			return nil, first
		}
	}
	if opened == nil {
		return dial
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err == nil {
			opened()
		}
		return c, err
	}
}

// client returns an HTTP client that opens a fresh connection for every request (no keep-alive,
// no proxy from the environment, no redirects followed), dialled as dialer says.
func (t probeTarget) client(timeout time.Duration, opened func()) *http.Client {
	tr := &http.Transport{
		DialContext:            t.dialer(timeout, opened),
		DisableKeepAlives:      true,
		DisableCompression:     true,
		TLSHandshakeTimeout:    timeout,
		ResponseHeaderTimeout:  timeout,
		MaxResponseHeaderBytes: 64 << 10,
	}
	return &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// sender is one probe client's way to send the request: a connection per request, or one kept.
type sender interface {
	send(ctx context.Context) attempt
	close()
}

// attempt is what one send got: the answering worker's pid (X-Worker-Pid), the status, or the
// error; reused says the request went on a connection that had already carried one.
type attempt struct {
	pid, status int
	err         error
	reused      bool
}

const (
	maxProbeBody = 1 << 20
	probeHeader  = "X-Worker-Pid"
)

// freshSender sends each request on a new connection; all clients share it.
type freshSender struct {
	url    string
	client *http.Client
}

// send performs the request and reads the body (up to maxProbeBody).
func (f freshSender) send(ctx context.Context) attempt {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.url, nil)
	if err != nil {
		return attempt{err: err}
	}
	req.Header.Set("User-Agent", "hotdeploy-probe")
	resp, err := f.client.Do(req)
	if err != nil {
		return attempt{err: err}
	}
	defer resp.Body.Close()
	pid, _ := strconv.Atoi(resp.Header.Get(probeHeader))
	_, err = io.Copy(io.Discard, io.LimitReader(resp.Body, maxProbeBody))
	return attempt{pid: pid, status: resp.StatusCode, err: err}
}

func (freshSender) close() {}

// classify names the kind of a failed request, or returns "" for a success.
func classify(err error, status int) string {
	var ne net.Error
	switch {
	case err == nil && status >= 200 && status < 300:
		return ""
	case err == nil:
		return FailStatus
	case errors.Is(err, syscall.ECONNREFUSED):
		return FailRefused
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return FailTimeout
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ECONNABORTED),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return FailReset
	}
	return FailOther
}

// describeFailure turns a failure into a sentence with a next step.
func describeFailure(raw, kind string, status int, err error, timeout time.Duration) model.Reason {
	host := raw
	if u, perr := url.Parse(raw); perr == nil {
		host = u.Host
	}
	switch kind {
	case FailRefused:
		return model.Because("connection to %s refused: nothing listens there (is nginx running, is the port right?)", host)
	case FailReset:
		return model.Because("%s closed the connection before a whole response: %v", host, unwrapURLError(err))
	case FailTimeout:
		return model.Because("no whole response from %s within %s", host, timeout)
	case FailStatus:
		return model.Because("GET %s answered %d %s; probe a URL that answers 2xx", raw, status, http.StatusText(status))
	}
	return model.Because("GET %s: %v", raw, unwrapURLError(err))
}

// unwrapURLError drops net/http's `Get "URL": ` prefix, which the sentence already says.
func unwrapURLError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if err == nil {
		return "no error"
	}
	return strings.TrimSpace(err.Error())
}
