// Package sandboxtest starts real sandbox nginx instances for tests and cleans them up. Only
// tests import it.
package sandboxtest

import (
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/inspect"
	"github.com/hotdeploy/hotdeploy/nginxctl/sandbox"
)

// Start starts a real nginx in a fresh t.TempDir() on a port the kernel picks, and ends every
// process of it when the test ends, failed or not.
func Start(t testing.TB, opt sandbox.SandboxOptions) *sandbox.Sandbox {
	t.Helper()
	sb := Prepare(t, opt)
	if err := sb.Start(); err != nil {
		t.Fatalf("start sandbox nginx: %v", err)
	}
	return sb
}

// Prepare builds a sandbox prefix without starting nginx; Stop still runs at cleanup.
func Prepare(t testing.TB, opt sandbox.SandboxOptions) *sandbox.Sandbox {
	t.Helper()
	if opt.Dir == "" {
		opt.Dir = t.TempDir()
	}
	sb, err := sandbox.PrepareSandbox(opt)
	if err != nil {
		t.Fatalf("prepare sandbox: %v", err)
	}
	t.Cleanup(func() {
		if err := sb.Stop(); err != nil {
			t.Errorf("stop sandbox: %v", err)
		}
	})
	return sb
}

// Instance returns the sandbox's instance as a fresh scanner sees it.
func Instance(t testing.TB, sb *sandbox.Sandbox) model.Instance {
	t.Helper()
	snap, err := inspect.NewScanner().Resolve(inspect.Target{PidFile: sb.PidFile})
	if err != nil {
		t.Fatalf("resolve sandbox: %v", err)
	}
	return snap.Instances[0]
}

// WaitFor refreshes the instance until cond holds, failing the test after timeout.
func WaitFor(t testing.TB, sc *inspect.Scanner, in model.Instance, timeout time.Duration, what string,
	cond func(model.Instance) bool) model.Instance {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		cur, err := sc.Refresh(in)
		if err == nil {
			in = cur
			if cond(in) {
				return in
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s; last phase %s, err %v", timeout, what, in.Phase, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Load is a bounded request loop against a loopback URL: each request on a fresh connection
// (Connection: close), so it lands on whichever master accepts it.
type Load struct {
	OK, Failed atomic.Int64
	mu         sync.Mutex
	Errors     []string
	stop       chan struct{}
	done       sync.WaitGroup
}

// StartLoad runs clients goroutines against url until Stop, at most maxRequests requests in all
// and never longer than maxDuration: it stops by itself.
func StartLoad(url string, clients int, maxRequests int64, maxDuration time.Duration) *Load {
	l := &Load{stop: make(chan struct{})}
	tr := &http.Transport{DisableKeepAlives: true}
	client := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	deadline := time.Now().Add(maxDuration)
	var sent atomic.Int64
	for i := 0; i < clients; i++ {
		l.done.Add(1)
		go func() {
			defer l.done.Done()
			for sent.Add(1) <= maxRequests && time.Now().Before(deadline) {
				select {
				case <-l.stop:
					return
				default:
				}
				l.one(client, url)
				time.Sleep(2 * time.Millisecond)
			}
		}()
	}
	return l
}

func (l *Load) one(c *http.Client, url string) {
	resp, err := c.Get(url)
	if err == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
	}
	if err != nil {
		l.Failed.Add(1)
		l.mu.Lock()
		if len(l.Errors) < 10 {
			l.Errors = append(l.Errors, err.Error())
		}
		l.mu.Unlock()
		return
	}
	l.OK.Add(1)
}

// Stop ends the loop and waits for the clients.
func (l *Load) Stop() {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	l.done.Wait()
}
