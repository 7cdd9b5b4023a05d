package traffic_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/sandbox"
	"github.com/hotdeploy/hotdeploy/nginxctl/traffic"
)

// Helpers of the connection-count tests: connections opened, held idle and closed by hand.

// waitCount counts until the total is want: a closed connection leaves the worker's table a
// moment after the client's close returns.
func waitCount(t *testing.T, cc *traffic.ConnCounter, in model.Instance, want int, step string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := sum(mustCount(t, cc, in))
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: counted %d connections, %d are open", step, got, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// closeAndWait closes a keep-alive connection and waits until the server closed its end too.
func closeAndWait(t testing.TB, c net.Conn) {
	t.Helper()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.CloseWrite()
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.Copy(io.Discard, c); err != nil {
			t.Fatalf("waiting for the server to close: %v", err)
		}
	}
	c.Close()
}

// openIdleConns opens n keep-alive connections, each after one complete request, so that each
// is accepted and held idle by some worker (keepalive_timeout is 75 s). A bounded set of
// goroutines does the work.
func openIdleConns(t testing.TB, url string, n int) []net.Conn {
	t.Helper()
	addr := strings.TrimSuffix(strings.TrimPrefix(url, "http://"), "/")
	const parallel = 8
	conns := make([]net.Conn, n)
	errs := make(chan error, parallel)
	var wg sync.WaitGroup
	for g := 0; g < parallel; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := g; i < n; i += parallel {
				c, err := keepAliveConn(addr)
				if err != nil {
					errs <- err
					return
				}
				conns[i] = c
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
		t.Fatalf("open idle connections: %v", err)
	}
	return conns
}

func keepAliveConn(addr string) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: sandbox\r\n\r\n"); err != nil {
		c.Close()
		return nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET /: %s", resp.Status)
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	c.SetDeadline(time.Time{})
	return c, nil
}

// rawGet sends a GET on a fresh connection and returns it with a reader positioned at the
// response body (after the headers).
func rawGet(t *testing.T, sb *sandbox.Sandbox, path string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(sb.Port)), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(time.Minute))
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: sandbox\r\nConnection: close\r\n\r\n", path)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		c.Close()
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		c.Close()
		t.Fatalf("GET %s: %s", path, resp.Status)
	}
	return c, bufio.NewReader(resp.Body)
}
