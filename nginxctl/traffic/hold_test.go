package traffic_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hotdeploy/hotdeploy/nginxctl/sandbox"
	"github.com/hotdeploy/hotdeploy/nginxctl/sandbox/sandboxtest"
	"github.com/hotdeploy/hotdeploy/nginxctl/traffic"
	"github.com/hotdeploy/hotdeploy/nginxctl/upgrade/upgradetest"
)

// waitHeldDone waits for a held connection to end, failing after 30 s.
func waitHeldDone(t *testing.T, h *traffic.Held, what string) {
	t.Helper()
	select {
	case <-h.Done():
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: the held connection is still open after 30s", what)
	}
}

// The demo's `l`: a slow download held on the worker that accepted it, read slowly, until
// Close (which may come twice).
func TestHoldConnectionHoldsUntilClosed(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.SandboxOptions{Workers: 2})
	in := upgradetest.Settled(t, sb, 2)
	h, err := traffic.HoldConnection(context.Background(), sb.URL)
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := in.Find(h.WorkerPID()); !ok || p.PPID != in.Masters[0].PID {
		t.Fatalf("WorkerPID %d is not a worker of master %d", h.WorkerPID(), in.Masters[0].PID)
	}
	for deadline := time.Now().Add(30 * time.Second); h.BytesRead() == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("nothing of the download was read")
		}
	}
	select {
	case <-h.Done():
		t.Fatalf("the download ended by itself: %v", h.Err())
	default:
	}
	h.Close()
	h.Close()
	waitHeldDone(t, h, "after Close")
	if h.Err() != nil {
		t.Errorf("Err after Close: %v", h.Err())
	}
}

// Bounded: the hold ends by itself when its context does (HoldMax bounds it the same way).
func TestHoldConnectionEndsByItself(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.SandboxOptions{Workers: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	h, err := traffic.HoldConnection(ctx, sb.URL+"slow.bin")
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	waitHeldDone(t, h, "300ms context")
	if h.Err() != nil {
		t.Errorf("Err: %v", h.Err())
	}
}

// HoldConnectionWhere lands the connection on the worker asked for, or gives up after a bounded
// number of tries.
func TestHoldConnectionWhere(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.SandboxOptions{Workers: 2})
	in := upgradetest.Settled(t, sb, 2)
	for _, w := range in.Masters[0].Workers() {
		h, err := traffic.HoldConnectionWhere(context.Background(), sb.URL, func(pid int) bool { return pid == w.PID })
		if err != nil {
			t.Fatalf("hold on worker %d: %v", w.PID, err)
		}
		if h.WorkerPID() != w.PID {
			t.Errorf("asked for worker %d, held on %d", w.PID, h.WorkerPID())
		}
		h.Close()
	}
	_, err := traffic.HoldConnectionWhere(context.Background(), sb.URL, func(int) bool { return false })
	if err == nil || !strings.Contains(err.Error(), "tries landed only on other workers") {
		t.Errorf("no acceptable worker: %v", err)
	}
}

func TestHoldConnectionRefusesBadInput(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.SandboxOptions{Workers: 1})
	for _, c := range []struct{ url, says string }{
		{"ftp://127.0.0.1/", "only http:// and https://"},
		{"http://192.0.2.1/slow.bin", "not a loopback address"},
		{sb.URL + "missing.bin", "404"},
		{"http://" + freeLoopbackPort(t) + "/", "refused"},
	} {
		h, err := traffic.HoldConnection(context.Background(), c.url)
		if err == nil {
			h.Close()
			t.Errorf("%s: held", c.url)
			continue
		}
		if !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: error %q should say %q", c.url, err, c.says)
		}
	}
}
