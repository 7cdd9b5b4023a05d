package traffic_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/sandbox"
	"github.com/hotdeploy/hotdeploy/nginxctl/sandbox/sandboxtest"
	"github.com/hotdeploy/hotdeploy/nginxctl/traffic"
	"github.com/hotdeploy/hotdeploy/nginxctl/upgrade/upgradetest"
)

// workerPIDs lists the pids of the workers of one master.
func workerPIDs(m model.Master) []int {
	var pids []int
	for _, w := range m.Workers() {
		pids = append(pids, w.PID)
	}
	return pids
}

// mustCount counts and checks that the result has exactly the instance's workers as keys.
func mustCount(t *testing.T, cc *traffic.ConnCounter, in model.Instance) map[int]int {
	t.Helper()
	counts, err := cc.Count(in)
	if err != nil {
		t.Fatalf("Count: %v", err)
	}
	want := 0
	for _, m := range in.Masters {
		for _, pid := range workerPIDs(m) {
			want++
			if _, ok := counts[pid]; !ok {
				t.Fatalf("Count has no entry for worker %d: %v", pid, counts)
			}
		}
	}
	if len(counts) != want {
		t.Fatalf("Count has %d entries, the instance %d workers: %v", len(counts), want, counts)
	}
	return counts
}

func sum(counts map[int]int) int {
	n := 0
	for _, c := range counts {
		n += c
	}
	return n
}

// The scenario: a worker holding a slow download counts one connection; after WINCH it
// is shutting down and still shows the connection; once the client closes, it leaves.
func TestConnCounterFollowsHeldDownloadThroughDrain(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.SandboxOptions{Workers: 2})
	r, sc := connsRunner(t)
	cc := exactCounter()
	ctx := context.Background()
	in := upgradetest.Settled(t, sb, 2)

	if counts := mustCount(t, cc, in); sum(counts) != 0 {
		t.Fatalf("idle sandbox: %v connections, want none", counts)
	}
	held, err := traffic.HoldConnection(ctx, sb.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	pid := held.WorkerPID()
	if p, ok := in.Find(pid); !ok || p.Role != model.RoleWorker {
		t.Fatalf("X-Worker-Pid %d is not a worker of the sandbox %v", pid, workerPIDs(in.Masters[0]))
	}
	counts := mustCount(t, cc, in)
	if counts[pid] != 1 || sum(counts) != 1 {
		t.Fatalf("held download on worker %d: counts %v, want exactly 1 on it", pid, counts)
	}

	if in, _, err = r.Install(ctx, in, upgradetest.Copy(t)); err != nil {
		t.Fatal(err)
	}
	if in, err = r.Start(ctx, in); err != nil {
		t.Fatal(err)
	}
	if in, err = r.Drain(ctx, in, false); err != nil {
		t.Fatal(err)
	}
	// The other old worker had nothing to finish; the held one stays, shutting down.
	in = sandboxtest.WaitFor(t, sc, in, 10*time.Second, "only the held old worker left", func(in model.Instance) bool {
		ws := in.Masters[0].Workers()
		return len(ws) == 1 && ws[0].PID == pid
	})
	w, _ := in.Find(pid)
	if !w.ShuttingDown || w.DrainingSince.IsZero() {
		t.Fatalf("held worker %+v: want shutting down with a drain start", w)
	}
	counts = mustCount(t, cc, in)
	if counts[pid] != 1 || sum(counts) != 1 {
		t.Fatalf("draining worker %d: counts %v, want its 1 connection and none on the new workers", pid, counts)
	}
	// Stays while the download runs: a second refresh and count see the same.
	in = sandboxtest.WaitFor(t, sc, in, time.Second, "a refresh", func(model.Instance) bool { return true })
	if counts = mustCount(t, cc, in); counts[pid] != 1 {
		t.Fatalf("draining worker %d on the second count: %v", pid, counts)
	}

	held.Close()
	// The wait names all it waits for: the held worker gone and, with it, the last old child.
	in = sandboxtest.WaitFor(t, sc, in, 10*time.Second, "the drained worker to exit and the phase old-drained", func(in model.Instance) bool {
		_, ok := in.Find(pid)
		return !ok && in.Phase == model.PhaseOldDrained
	})
	if counts = mustCount(t, cc, in); sum(counts) != 0 {
		t.Fatalf("after the client closed: %v", counts)
	}
	if _, err := r.Commit(ctx, in); err != nil {
		t.Fatal(err)
	}
}

// Only connections on the listening ports count: the worker's own connection to an upstream
// (local port from the ephemeral range) does not.
func TestConnCounterLeavesOutUpstreamConnections(t *testing.T) {
	// An upstream that answers slowly, so the proxied request keeps both connections open.
	release := make(chan struct{})
	var releaseOnce sync.Once
	up := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusOK)
		fmt.Fprintln(w, "first line")
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		case <-time.After(time.Minute):
		}
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go up.Serve(ln)
	defer up.Close()
	defer releaseOnce.Do(func() { close(release) })

	sb := sandboxtest.Prepare(t, sandbox.SandboxOptions{Workers: 1})
	sandboxAddLocation(t, sb, fmt.Sprintf("location /up/ { proxy_pass http://%s/; proxy_buffering off; }", ln.Addr()))
	if err := sb.Start(); err != nil {
		t.Fatal(err)
	}
	in := upgradetest.Settled(t, sb, 1)
	pid := in.Masters[0].Workers()[0].PID

	conn, body := rawGet(t, sb, "/up/")
	defer conn.Close()
	if line, err := body.ReadString('\n'); err != nil || line != "first line\n" {
		t.Fatalf("proxied response: %q, %v", line, err)
	}
	counts := mustCount(t, exactCounter(), in)
	if counts[pid] != 1 {
		t.Fatalf("worker %d proxies one client to an upstream: counts %v, want 1 (the client only)", pid, counts)
	}
}

// Counts stay exact while connections come and go, descriptor numbers get reused, and some
// connections were never seen before: the cache is refreshed only where needed but never lies.
func TestConnCounterTracksChurn(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.SandboxOptions{Workers: 2})
	in := upgradetest.Settled(t, sb, 2)
	cc := exactCounter()
	oneShot := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	var open []net.Conn
	defer func() {
		for _, c := range open {
			c.Close()
		}
	}()
	check := func(step string) {
		t.Helper()
		if got := sum(mustCount(t, cc, in)); got != len(open) {
			t.Fatalf("%s: counted %d connections, %d are open", step, got, len(open))
		}
	}
	check("none open")
	for round := 0; round < 5; round++ {
		open = append(open, openIdleConns(t, sb.URL, 40)...)
		check(fmt.Sprintf("round %d after opening", round))
		// Close every third, then a few plain requests (file descriptors reused for a
		// moment), then count again.
		kept := open[:0]
		var closing []net.Conn
		for i, c := range open {
			if i%3 == 0 {
				closing = append(closing, c)
			} else {
				kept = append(kept, c)
			}
		}
		open = kept
		for _, c := range closing {
			closeAndWait(t, c)
		}
		for i := 0; i < 5; i++ {
			resp, err := oneShot.Get(sb.URL)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		waitCount(t, cc, in, len(open), fmt.Sprintf("round %d after closing", round))
	}
}

// A new connection may take the descriptor number of a file the worker has closed since the
// counter last read its table (here: the file of a finished download): it must still be found.
func TestConnCounterFindsConnectionOnReusedFileDescriptor(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.SandboxOptions{Workers: 1})
	in := upgradetest.Settled(t, sb, 1)
	pid := in.Masters[0].Workers()[0].PID
	cc := exactCounter()
	// The download holds a socket and, one number above it, the open slow.bin.
	held, err := traffic.HoldConnection(context.Background(), sb.URL)
	if err != nil {
		t.Fatal(err)
	}
	if counts := mustCount(t, cc, in); counts[pid] != 1 {
		t.Fatalf("held download: %v", counts)
	}
	held.Close()
	waitCount(t, cc, in, 0, "after the download closed")
	// Two new connections take the two freed numbers: the second one the file's.
	conns := openIdleConns(t, sb.URL, 2)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	if counts := mustCount(t, cc, in); counts[pid] != 2 {
		t.Fatalf("two idle connections on worker %d: counts %v", pid, counts)
	}
}

// exactCounter dumps on every Count: the tests check each count against what is open.
func exactCounter() *traffic.ConnCounter {
	cc := traffic.NewConnCounter()
	cc.MaxShare = 0
	return cc
}

// Under MaxShare, a count that comes too soon after the last dump returns that dump's counts,
// unless the workers changed: those are counted at once.
func TestConnCounterMaxShareReusesCountsForTheSameWorkers(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.SandboxOptions{Workers: 1})
	in := upgradetest.Settled(t, sb, 1)
	pid := in.Masters[0].Workers()[0].PID
	cc := traffic.NewConnCounter()
	if cc.MaxShare <= 0 {
		t.Fatalf("NewConnCounter: MaxShare %v, want a budget", cc.MaxShare)
	}
	cc.MaxShare = 1e-9 // after one dump, the next waits for hours
	if counts := mustCount(t, cc, in); counts[pid] != 0 {
		t.Fatalf("first count: %v", counts)
	}
	conns := openIdleConns(t, sb.URL, 1)
	defer conns[0].Close()
	if counts := mustCount(t, cc, in); counts[pid] != 0 {
		t.Errorf("too soon after the last dump: %v, want its counts again", counts)
	}
	noWorkers := in
	noWorkers.Masters = []model.Master{in.Masters[0]}
	noWorkers.Masters[0].Children = nil
	if counts := mustCount(t, cc, noWorkers); len(counts) != 0 {
		t.Errorf("a changed worker set must be counted at once: %v", counts)
	}
	cc.MaxShare = 0
	if counts := mustCount(t, cc, in); counts[pid] != 1 {
		t.Errorf("without a budget: %v, want the open connection", counts)
	}
}
