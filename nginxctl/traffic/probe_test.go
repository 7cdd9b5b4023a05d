package traffic_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/sandbox"
	"github.com/hotdeploy/hotdeploy/nginxctl/sandbox/sandboxtest"
	"github.com/hotdeploy/hotdeploy/nginxctl/traffic"
	"github.com/hotdeploy/hotdeploy/nginxctl/traffic/traffictest"
	"github.com/hotdeploy/hotdeploy/nginxctl/upgrade/upgradetest"
)

// The proof for an upgrade: with the probe running through USR2, WINCH and QUIT,
// requests move from the old workers to the new ones and none fails.
func TestProbeSeesUpgradeMoveTrafficWithZeroFailures(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.SandboxOptions{Workers: 2})
	in := upgradetest.Settled(t, sb, 2)
	r, sc := connsRunner(t)
	ctx := context.Background()
	owners := traffic.WorkerOwners{}
	owners.Observe(in)
	oldMaster := in.Masters[0].PID

	p := traffictest.StartProbe(t, traffic.ProbeOptions{URL: sb.URL, LoopbackOnly: true})
	before := waitProbe(t, p, "requests to the idle sandbox", func(s traffic.ProbeStats) bool { return s.OK >= 20 })
	if o, n, u := traffic.ServedBy(before, in); o != before.OK || n != 0 || u != 0 {
		t.Fatalf("idle: served by old %d, new %d, unknown %d; want all %d by the only master's workers", o, n, u, before.OK)
	}

	var err error
	if in, _, err = r.Install(ctx, in, upgradetest.Copy(t)); err != nil {
		t.Fatal(err)
	}
	if in, err = r.Start(ctx, in); err != nil {
		t.Fatal(err)
	}
	owners.Observe(in)
	newMaster := in.New().PID
	bothIn := in
	// Both generations accept: keep the probe going until the new workers answered some.
	both := waitProbe(t, p, "responses from the new workers", func(s traffic.ProbeStats) bool {
		_, n, _ := traffic.ServedBy(s, in)
		return n >= 5
	})

	winched := time.Now()
	if in, err = r.Drain(ctx, in, true); err != nil {
		t.Fatal(err)
	}
	if err := p.FailuresSince(winched); err != nil {
		t.Fatalf("FailuresSince(WINCH): %v", err)
	}
	drained := moreOK(t, p, p.Stats(), 20, "requests after the drain")
	afterDrain := moreOK(t, p, drained, 20, "more requests after the drain")
	for pid, n := range grown(drained, afterDrain) {
		if owners[pid] != newMaster {
			t.Errorf("after the old workers left, worker %d (master %d) answered %d requests; want only the new master %d's", pid, owners[pid], n, newMaster)
		}
	}

	if in, err = r.Commit(ctx, in); err != nil {
		t.Fatal(err)
	}
	in = sandboxtest.WaitFor(t, sc, in, 10*time.Second, "the new master alone", func(in model.Instance) bool {
		return len(in.Masters) == 1 && in.Masters[0].PID == newMaster
	})
	committed := p.Stats()
	for pid, n := range grown(committed, moreOK(t, p, committed, 20, "requests after the commit")) {
		if owners[pid] != newMaster {
			t.Errorf("after the commit, worker %d (master %d) answered %d requests; want only the new master %d's", pid, owners[pid], n, newMaster)
		}
	}
	p.Stop()
	final := p.Stats()

	traffictest.CheckZeroFailures(t, final)
	by := owners.ServedBy(final)
	if by[oldMaster] < before.OK || by[newMaster] < 60 || by[0] != 0 {
		t.Errorf("served by old master %d: %d, new master %d: %d, unknown workers: %d; want the old master's %d from before the upgrade, 60+ from the new one, none unknown",
			oldMaster, by[oldMaster], newMaster, by[newMaster], by[0], before.OK)
	}
	if o, n, u := traffic.ServedBy(both, bothIn); o == 0 || n < 5 || u != 0 {
		t.Errorf("while both served: ServedBy old %d, new %d, unknown %d", o, n, u)
	}
	if final.Stopped != "stopped" || !p.Done() {
		t.Errorf("after Stop: Stopped %q, Done %v", final.Stopped, p.Done())
	}
	if final.P50 <= 0 || final.P99 < final.P50 {
		t.Errorf("latency p50 %s p99 %s", final.P50, final.P99)
	}
}

// The same proof for a rollback after the drain: requests move back to the old master's
// (restarted) workers, and none fails.
func TestProbeSeesRollbackMoveTrafficBackWithZeroFailures(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.SandboxOptions{Workers: 2})
	in := upgradetest.Settled(t, sb, 2)
	r, sc := connsRunner(t)
	ctx := context.Background()
	owners := traffic.WorkerOwners{}
	owners.Observe(in)
	oldMaster := in.Masters[0].PID

	p := traffictest.StartProbe(t, traffic.ProbeOptions{URL: sb.URL, LoopbackOnly: true})
	waitProbe(t, p, "requests to the idle sandbox", func(s traffic.ProbeStats) bool { return s.OK >= 20 })
	var err error
	if in, _, err = r.Install(ctx, in, upgradetest.Copy(t)); err != nil {
		t.Fatal(err)
	}
	if in, err = r.Start(ctx, in); err != nil {
		t.Fatal(err)
	}
	owners.Observe(in)
	newMaster := in.New().PID
	if in, err = r.Drain(ctx, in, true); err != nil {
		t.Fatal(err)
	}
	waitProbe(t, p, "20 requests answered by the new workers", func(s traffic.ProbeStats) bool {
		return owners.ServedBy(s)[newMaster] >= 20
	})

	rolledBack := time.Now()
	if in, err = r.Rollback(ctx, in); err != nil {
		t.Fatal(err)
	}
	in = sandboxtest.WaitFor(t, sc, in, 10*time.Second, "the old master's workers", func(in model.Instance) bool {
		return len(in.Masters) == 1 && in.Masters[0].PID == oldMaster && in.Masters[0].ActiveWorkers() == 2
	})
	owners.Observe(in)
	if err := p.FailuresSince(rolledBack); err != nil {
		t.Fatalf("FailuresSince(rollback): %v", err)
	}
	back := moreOK(t, p, p.Stats(), 20, "requests after the rollback")
	after := moreOK(t, p, back, 20, "more requests after the rollback")
	for pid, n := range grown(back, after) {
		if owners[pid] != oldMaster {
			t.Errorf("after the rollback, worker %d (master %d) answered %d requests; want only the old master %d's", pid, owners[pid], n, oldMaster)
		}
	}
	p.Stop()
	final := p.Stats()
	traffictest.CheckZeroFailures(t, final)
	if o, n, u := traffic.ServedBy(final, in); o == 0 || n != 0 || u == 0 {
		t.Errorf("ServedBy after the rollback: old %d, new %d, unknown (exited workers) %d", o, n, u)
	}
}

// Bad input: an unreachable URL is not a start error: it shows as refused failures with a
// clear message, in stats a dashboard can show, and the probe stops by itself at its bounds.
func TestProbeUnreachableURLFailsAsRefusedAndStopsByItself(t *testing.T) {
	url := "http://" + freeLoopbackPort(t) + "/"
	p := traffictest.StartProbe(t, traffic.ProbeOptions{URL: url, LoopbackOnly: true, MaxRequests: 20, Clients: 2})
	start := p.Stats().Started
	select {
	case <-p.Ended():
	case <-time.After(30 * time.Second):
		t.Fatalf("the probe did not stop by itself after 20 requests: %s", traffic.ProbeSummary(p.Stats()))
	}
	s := p.Stats()
	if !p.Done() || !strings.Contains(s.Stopped, "maximum of 20 requests") {
		t.Errorf("Done %v, Stopped %q", p.Done(), s.Stopped)
	}
	if s.OK != 0 || s.Failed != 20 || s.Failures[traffic.FailRefused] != 20 || len(s.Failures) != 1 {
		t.Errorf("want 20 refused: %s, %v", traffic.ProbeSummary(s), s.Failures)
	}
	for _, msg := range []string{s.FirstError, s.LastError} {
		if !strings.Contains(msg, "refused") || !strings.Contains(msg, strings.TrimPrefix(strings.TrimSuffix(url, "/"), "http://")) {
			t.Errorf("error message %q should say refused and name the address", msg)
		}
	}
	failed := 0
	for i, sec := range s.PerSecond {
		failed += sec.Failed
		if sec.OK != 0 {
			t.Errorf("second %d: %d ok", i, sec.OK)
		}
		if i > 0 && sec.At.Sub(s.PerSecond[i-1].At) != time.Second {
			t.Errorf("PerSecond not consecutive seconds: %v then %v", s.PerSecond[i-1].At, sec.At)
		}
	}
	if failed != 20 || len(s.PerSecond) == 0 || len(s.PerSecond) > 60 {
		t.Errorf("PerSecond: %d failures over %d seconds", failed, len(s.PerSecond))
	}
	err := p.FailuresSince(start)
	if err == nil || !strings.Contains(err.Error(), "20 requests failed (20 refused)") {
		t.Errorf("FailuresSince: %v", err)
	}
	if err := p.FailuresSince(time.Now()); err == nil || !strings.Contains(err.Error(), "no proof") {
		t.Errorf("FailuresSince after the probe ended, with nothing since: %v", err)
	}
	p.Stop() // idempotent after it ended by itself
	if got := p.Stats().Stopped; got != s.Stopped {
		t.Errorf("Stop after the end changed the reason to %q", got)
	}
}

// The duration bound ends a probe as surely as the request bound.
func TestProbeStopsByItselfAfterMaxDuration(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.SandboxOptions{Workers: 1})
	p := traffictest.StartProbe(t, traffic.ProbeOptions{URL: sb.URL, LoopbackOnly: true, MaxDuration: 300 * time.Millisecond, Rate: 50})
	select {
	case <-p.Ended():
	case <-time.After(30 * time.Second):
		t.Fatalf("the probe did not stop by itself after 300ms: %s", traffic.ProbeSummary(p.Stats()))
	}
	s := p.Stats()
	if !strings.Contains(s.Stopped, "maximum of 300ms") || s.OK == 0 || s.Failed != 0 {
		t.Errorf("Stopped %q: %s", s.Stopped, traffic.ProbeSummary(s))
	}
}

// Each kind of failure is told apart, against a real nginx: 404 is non-2xx, nginx's 444
// (close without a response) is a reset, a response slower than the timeout is a timeout.
func TestProbeClassifiesFailures(t *testing.T) {
	sb := sandboxtest.Prepare(t, sandbox.SandboxOptions{Workers: 1})
	sandboxAddLocation(t, sb, "location = /drop { return 444; }")
	if err := sb.Start(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path, kind, says string
		timeout          time.Duration
	}{
		{"missing", traffic.FailStatus, "404", 0},
		{"drop", traffic.FailReset, "closed the connection", 0},
		{"slow.bin", traffic.FailTimeout, "within 300ms", 300 * time.Millisecond},
	} {
		p := traffictest.StartProbe(t, traffic.ProbeOptions{URL: sb.URL + c.path, LoopbackOnly: true, MaxRequests: 3, Clients: 1, Timeout: c.timeout})
		<-p.Ended()
		s := p.Stats()
		if s.Failures[c.kind] != 3 || s.Failed != 3 || !strings.Contains(s.LastError, c.says) {
			t.Errorf("/%s: want 3 %s failures saying %q: %s", c.path, c.kind, c.says, traffic.ProbeSummary(s))
		}
	}
}

// Stop ends the clients at once, however long the bounds, and may be called again.
func TestProbeStopIsPromptAndIdempotent(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.SandboxOptions{Workers: 1})
	p := traffictest.StartProbe(t, traffic.ProbeOptions{URL: sb.URL + "slow.bin", LoopbackOnly: true, Timeout: time.Minute, Rate: 10})
	waitProbe(t, p, "a request in flight", func(s traffic.ProbeStats) bool { return s.InFlight > 0 })
	p.Stop()
	p.Stop()
	s := p.Stats()
	if !p.Done() || s.Stopped != "stopped" || s.Failed != 0 {
		t.Errorf("after Stop: Done %v, %s, stopped %q", p.Done(), traffic.ProbeSummary(s), s.Stopped)
	}
}

// A cancelled context ends the probe too, and says so.
func TestProbeEndsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	p, err := traffic.StartProbe(ctx, traffic.ProbeOptions{URL: "http://" + freeLoopbackPort(t) + "/", LoopbackOnly: true, Rate: 10})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case <-p.Ended():
	case <-time.After(30 * time.Second):
		t.Fatal("the probe outlived its context")
	}
	if s := p.Stats(); !strings.Contains(s.Stopped, "context ended") {
		t.Errorf("reason %q", s.Stopped)
	}
}

// A loopback name works as well as an address: the probe dials what it resolves to, in order
// (localhost may list ::1 before 127.0.0.1, where the sandbox listens).
func TestProbeByLoopbackName(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.SandboxOptions{Workers: 1})
	url := strings.Replace(sb.URL, "127.0.0.1", "localhost", 1)
	p := traffictest.StartProbe(t, traffic.ProbeOptions{URL: url, LoopbackOnly: true, MaxRequests: 5})
	<-p.Ended()
	if s := p.Stats(); s.OK != 5 {
		t.Errorf("%s", traffic.ProbeSummary(s))
	}
}
