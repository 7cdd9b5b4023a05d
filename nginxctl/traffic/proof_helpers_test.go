package traffic_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotdeploy/hotdeploy/nginxctl/audit"
	"github.com/hotdeploy/hotdeploy/nginxctl/inspect"
	"github.com/hotdeploy/hotdeploy/nginxctl/sandbox"
	"github.com/hotdeploy/hotdeploy/nginxctl/traffic"
	"github.com/hotdeploy/hotdeploy/nginxctl/upgrade"
	"github.com/hotdeploy/hotdeploy/nginxctl/upgrade/upgradetest"
)

// Helpers shared by the probe, hold and connection-count tests.

// connsRunner returns a step runner on its own scanner and a private audit log.
func connsRunner(t testing.TB) (*upgrade.Runner, *inspect.Scanner) {
	t.Helper()
	audit, err := audit.Open(filepath.Join(t.TempDir(), "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	sc := inspect.NewScanner()
	return upgrade.NewRunner(sc, audit), sc
}

// freeLoopbackPort returns a loopback address that refuses connections for the whole test
// (upgradetest.RefusingAddr).
func freeLoopbackPort(t *testing.T) string {
	t.Helper()
	return upgradetest.RefusingAddr(t)
}

// sandboxAddLocation adds a location to the sandbox's server block before nginx starts.
func sandboxAddLocation(t *testing.T, sb *sandbox.Sandbox, location string) {
	t.Helper()
	conf, err := os.ReadFile(sb.Conf)
	if err != nil {
		t.Fatal(err)
	}
	const anchor = "location = /slow.bin {"
	if !strings.Contains(string(conf), anchor) {
		t.Fatalf("%s has no %q to put the location before", sb.Conf, anchor)
	}
	conf = []byte(strings.Replace(string(conf), anchor, location+"\n        "+anchor, 1))
	if err := os.WriteFile(sb.Conf, conf, 0o644); err != nil {
		t.Fatal(err)
	}
}

// waitProbe waits until cond holds on the probe's stats, failing after 30 s (or at once if the
// probe has ended and cond still does not hold).
func waitProbe(t *testing.T, p *traffic.Probe, what string, cond func(traffic.ProbeStats) bool) traffic.ProbeStats {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s := p.Stats()
		if cond(s) {
			return s
		}
		if p.Done() || time.Now().After(deadline) {
			t.Fatalf("waiting for %s: %s", what, traffic.ProbeSummary(s))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// moreOK waits until n more requests than in s succeeded.
func moreOK(t *testing.T, p *traffic.Probe, s traffic.ProbeStats, n int64, what string) traffic.ProbeStats {
	t.Helper()
	return waitProbe(t, p, what, func(c traffic.ProbeStats) bool { return c.OK >= s.OK+n })
}

// grown returns the responses each worker gave between two snapshots.
func grown(before, after traffic.ProbeStats) map[int]int64 {
	d := map[int]int64{}
	for pid, n := range after.ByWorker {
		if n > before.ByWorker[pid] {
			d[pid] = n - before.ByWorker[pid]
		}
	}
	return d
}
