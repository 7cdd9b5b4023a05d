//go:build fleet

package fleettest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// contract checks a field of hotdeploy's result object as DESIGN.md defines it. The tag names
// the engine feature, so that a failure says what the binary under test does not do yet.
func contract(t *testing.T, feature string, ok bool, format string, args ...any) {
	t.Helper()
	if !ok {
		t.Errorf("[contract: "+feature+"] "+format, args...)
	}
}

// before is what a host ran before the playbook: its master and the bytes of its binary.
type before struct {
	pid int
	sha string
}

func snapshot(t *testing.T, hs []host) map[string]before {
	t.Helper()
	m := map[string]before{}
	for _, h := range hs {
		pid := h.masterPID(t)
		m[h.name] = before{pid: pid, sha: mustSHA(t, h.binary)}
	}
	return m
}

func intIs(p *int, want int) bool { return p != nil && *p == want }

// checkBuilds compares old_build and new_build with what the host ran and got.
func checkBuilds(t *testing.T, h host, r *report, oldSHA, newSHA, version string) {
	t.Helper()
	contract(t, "old_build", r.OldBuild.SHA256 == oldSHA && r.OldBuild.Version == version && r.OldBuild.Path == h.binary,
		"%s: old_build = %+v, want {path %s, sha256 %.12s, version %s}", h.name, r.OldBuild, h.binary, oldSHA, version)
	contract(t, "new_build", r.NewBuild.SHA256 == newSHA && r.NewBuild.Version == version && r.NewBuild.Path == h.binary,
		"%s: new_build = %+v, want {path %s, sha256 %.12s, version %s}", h.name, r.NewBuild, h.binary, newSHA, version)
}

// checkCommitted: the host upgraded from was to the candidate with sha cand, probe clean.
func checkCommitted(t *testing.T, h host, row summaryRow, was before, cand, version string) {
	t.Helper()
	r := row.Report
	if !row.Reached || r == nil {
		t.Errorf("%s: not reached, want committed", h.name)
		return
	}
	if r.Result != "committed" || !intIs(r.RC, 0) {
		t.Errorf("%s: result %q exit %v (%s), want committed, exit 0", h.name, r.Result, deref(r.RC), r.Error)
	}
	contract(t, "exit_code", intIs(r.ExitCode, 0), "%s: exit_code %v, want 0", h.name, deref(r.ExitCode))
	pid := h.masterPID(t)
	if r.OldPID != was.pid || r.NewPID != pid || pid == was.pid {
		t.Errorf("%s: old_pid %d new_pid %d, master now %d (was %d): want the new master serving", h.name, r.OldPID, r.NewPID, pid, was.pid)
	}
	if got := exeSHA(t, pid); got != cand {
		t.Errorf("%s: master %d runs %.12s, want the candidate %.12s", h.name, pid, got, cand)
	}
	if got := mustSHA(t, h.binary); got != cand {
		t.Errorf("%s: %s holds %.12s, want the candidate %.12s", h.name, h.binary, got, cand)
	}
	if _, err := startTime(was.pid); err == nil && h.owns(was.pid) {
		t.Errorf("%s: the old master %d still runs after the commit", h.name, was.pid)
	}
	if err := h.waitServing(0); err != nil {
		t.Errorf("%s: %v", h.name, err)
	}
	checkBuilds(t, h, r, was.sha, cand, version)
	checkProbe(t, h, r)
}

// checkProbe: the probe's totals, 0 failed, from the result object (the contract); today's
// binary prints them on stderr, and a failure there counts too.
func checkProbe(t *testing.T, h host, r *report) {
	t.Helper()
	contract(t, "probe", r.Probe != nil && r.ProbeOK != nil && *r.ProbeOK > 0 && r.ProbeFailed != nil && *r.ProbeFailed == 0,
		"%s: probe totals %v ok, %v failed in the result, want > 0 ok and 0 failed", h.name, deref64(r.ProbeOK), deref64(r.ProbeFailed))
	if ok, failed, found := stderrProbe(r); found {
		t.Logf("%s: hotdeploy's probe on stderr: %d ok, %d failed", h.name, ok, failed)
		if failed != 0 {
			t.Errorf("%s: the probe saw %d failed requests: %v", h.name, failed, r.Stderr)
		}
	}
}

// checkServingOld: the host runs what it ran before, same master, and serves.
func checkServingOld(t *testing.T, h host, was before) {
	t.Helper()
	pid := h.masterPID(t)
	if pid != was.pid {
		t.Errorf("%s: master %d, want the same master %d as before", h.name, pid, was.pid)
	}
	if got := exeSHA(t, pid); got != was.sha {
		t.Errorf("%s: master %d runs %.12s, want the old build %.12s", h.name, pid, got, was.sha)
	}
	if got := mustSHA(t, h.binary); got != was.sha {
		t.Errorf("%s: %s holds %.12s, want the old build %.12s", h.name, h.binary, got, was.sha)
	}
	if err := h.waitServing(0); err != nil {
		t.Errorf("%s: %v", h.name, err)
	}
}

// checkUntouched: the rollout never reached the host: nothing copied, nothing changed.
func checkUntouched(t *testing.T, h host, row summaryRow, was before) {
	t.Helper()
	if row.Reached {
		t.Errorf("%s: reached (%+v), want not reached after the rollout stopped", h.name, row.Report)
	}
	checkServingOld(t, h, was)
	if ents, err := os.ReadDir(filepath.Join(h.dir, "stage")); err == nil && len(ents) > 0 {
		t.Errorf("%s: the stage directory holds %d files, want nothing copied", h.name, len(ents))
	}
}

// checkListed: every host has a line in the summary the playbook printed.
func checkListed(t *testing.T, r run, hs []host) {
	t.Helper()
	text := strings.Join(r.printed, "\n")
	for _, h := range hs {
		if !strings.Contains(text, h.name+" ") {
			t.Errorf("%s is missing from the printed summary:\n%s", h.name, text)
		}
	}
}

func deref(p *int) any {
	if p == nil {
		return "null"
	}
	return *p
}

func deref64(p *int64) any {
	if p == nil {
		return "null"
	}
	return *p
}
