package nspawntest_test

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/supervisor"
	"github.com/hotdeploy/hotdeploy/nginxctl/supervisor/nspawntest"
)

// Booted: hotdeploy's master is systemd's MainPID, and the systemd object says so.
func TestStatusUnderSystemd(t *testing.T) {
	c := rig(t)
	in, raw := status(t, c)
	u := c.Show(t, unit)
	t.Logf("status --json: %s", raw)
	if in.Phase != model.PhaseIdle || len(in.Masters) != 1 || in.Masters[0].PID != u.MainPID {
		t.Fatalf("status: phase %s, masters %+v; systemd MainPID %d: want one master, systemd's MainPID", in.Phase, in.Masters, u.MainPID)
	}
	if u.ActiveState != "active" || u.Type != "forking" || u.PIDFile != pidFile {
		t.Errorf("systemd: %+v, want active, Type=forking, PIDFile=%s", u, pidFile)
	}
	var doc struct {
		Instances []struct {
			Systemd *model.SystemdUnit `json:"systemd"`
		} `json:"instances"`
	}
	if err := json.Unmarshal([]byte(raw), &doc); err != nil || len(doc.Instances) != 1 {
		t.Fatalf("status --json: %v", err)
	}
	got := doc.Instances[0].Systemd
	if got == nil || got.Unit != unit || got.MainPID != u.MainPID || !got.MainPIDOK || got.Type != "forking" ||
		got.PIDFile != pidFile || got.ActiveState != "active" {
		t.Errorf("status --json systemd object %+v, want %s, MainPID %d ok, forking, %s, active", got, unit, u.MainPID, pidFile)
	}
	if f := supervisor.Check(in, u); f != nil {
		t.Errorf("a finding on a freshly booted unit: %s", f)
	}
}

// The supervisor package against the real thing, inside the container.
func TestSupervisorInside(t *testing.T) {
	c := rig(t)
	bin := nspawntest.TestBinary(t, "./nginxctl/supervisor")
	c.CopyIn(t, bin, "/usr/local/bin/supervisor.test")
	out, stderr, err := c.Exec(context.Background(), []string{"HOTDEPLOY_INSIDE_SYSTEMD=1"},
		"supervisor.test", "-test.run", "^TestInsideSystemd$", "-test.v", "-test.count=1")
	t.Logf("inside:\n%s%s", out, stderr)
	if err != nil || !strings.Contains(out, "--- PASS: TestInsideSystemd") {
		t.Fatalf("TestInsideSystemd did not pass inside the container: %v", err)
	}
}

// Headless upgrade to commit: systemd re-reads the pid file when the old master exits, so the
// unit stays active with the new master as MainPID; no request fails meanwhile.
func TestUpgradeCommit(t *testing.T) {
	c := rig(t)
	old := c.Show(t, unit).MainPID
	out, stderr, code := hotdeploy(t, c, "upgrade", "--pidfile", pidFile, "--new-binary", candidate, "--yes", "--json",
		"--probe", "http://127.0.0.1:80/")
	r := lastResult(t, out)
	if code != 0 || r.Result != "committed" || r.OldPID != old || r.NewPID == 0 || r.NewPID == old {
		t.Fatalf("upgrade: exit %d, %+v; want committed from MainPID %d to a new master", code, r, old)
	}
	if r.Systemd == nil || r.Systemd.MainPID != r.NewPID || !r.Systemd.MainPIDOK || r.ExitCode != 0 {
		t.Errorf("result's systemd object %+v (exit_code %d), want MainPID the new master %d, ok", r.Systemd, r.ExitCode, r.NewPID)
	}
	if ok, failed := probeCounts(t, stderr); ok == 0 || failed != 0 {
		t.Errorf("probe inside the container: %d ok, %d failed; want some ok and none failed", ok, failed)
	}
	// Before anything changed, the run said not to reload the unit, and why for Debian's unit
	// (its ExecReload is `nginx -s reload`, which HUPs the master in the pid file).
	if !strings.Contains(out, "do not run `systemctl reload nginx.service` until the upgrade is committed or rolled back: its `nginx -s reload` HUPs the new master") {
		t.Errorf("no warning against systemctl reload in the upgrade's events:\n%s", out)
	}
	u := waitUnit(t, c, func(u supervisor.Unit) bool { return u.MainPID != old })
	if u.MainPID != r.NewPID || u.ActiveState != "active" || u.SubState != "running" {
		t.Fatalf("after commit systemd has MainPID %d %s/%s, want the new master %d, active/running", u.MainPID, u.ActiveState, u.SubState, r.NewPID)
	}
	in, _ := status(t, c)
	if f := supervisor.AfterCommit(in, u); f != nil {
		t.Errorf("AfterCommit: %s", f)
	}
}

// Rollback while both generations serve: systemd never moved, MainPID is the old master.
func TestRollbackFromBothServing(t *testing.T) {
	c := rig(t)
	old := c.Show(t, unit).MainPID
	// Install as an operator would (a rename: the running file cannot be overwritten), then USR2.
	c.Run(t, "cp", candidate, "/usr/sbin/nginx.hotdeploy-new")
	c.Run(t, "mv", "/usr/sbin/nginx.hotdeploy-new", "/usr/sbin/nginx")
	c.Run(t, "kill", "-USR2", strconv.Itoa(old))
	in := waitStatus(t, c, model.PhaseBothServing)
	u := c.Show(t, unit)
	if u.MainPID != old || !supervisor.MainPIDOK(in, u.MainPID) {
		t.Fatalf("both serving: systemd MainPID %d, want the old master %d", u.MainPID, old)
	}
	out, _, code := hotdeploy(t, c, "rollback", "--pidfile", pidFile, "--yes", "--json")
	if r := lastResult(t, out); code != 0 || r.Result != "rolled-back" {
		t.Fatalf("rollback: exit %d, %+v", code, r)
	}
	checkRolledBack(t, c, old)
}

// Rollback after WINCH drained the old workers: MainPID is the old master throughout.
func TestRollbackFromOldDrained(t *testing.T) {
	c := rig(t)
	old := c.Show(t, unit).MainPID
	out, _, code := hotdeploy(t, c, "upgrade", "--pidfile", pidFile, "--new-binary", candidate, "--yes", "--json", "--stop-after", "drain")
	if r := lastResult(t, out); code != 0 || r.Result != "drained" {
		t.Fatalf("upgrade --stop-after drain: exit %d, %+v", code, r)
	}
	in, _ := status(t, c)
	if u := c.Show(t, unit); u.MainPID != old || supervisor.Check(in, u) != nil {
		t.Fatalf("old drained: systemd MainPID %d, want the old master %d; finding %v", u.MainPID, old, supervisor.Check(in, u))
	}
	out, _, code = hotdeploy(t, c, "rollback", "--pidfile", pidFile, "--yes", "--json")
	if r := lastResult(t, out); code != 0 || r.Result != "rolled-back" {
		t.Fatalf("rollback: exit %d, %+v", code, r)
	}
	checkRolledBack(t, c, old)
}

func checkRolledBack(t *testing.T, c *nspawntest.Container, old int) {
	t.Helper()
	in, _ := status(t, c)
	u := c.Show(t, unit)
	if len(in.Masters) != 1 || in.Masters[0].PID != old || u.MainPID != old || u.ActiveState != "active" {
		t.Fatalf("after rollback: masters %+v, systemd MainPID %d %s; want the old master %d alone, MainPID, active",
			in.Masters, u.MainPID, u.ActiveState, old)
	}
	if f := supervisor.AfterRollback(in, u); f != nil {
		t.Errorf("AfterRollback: %s", f)
	}
}

// The reload trap: `systemctl reload` mid-upgrade HUPs the new master (named in the pid file)
// and systemd makes it MainPID while the old lives; after a rollback systemd tracks a dead pid
// until the next `systemctl reload`. The checks see each state and name that fix.
func TestReloadTrap(t *testing.T) {
	c := rig(t)
	old := c.Show(t, unit).MainPID
	out, _, code := hotdeploy(t, c, "upgrade", "--pidfile", pidFile, "--new-binary", candidate, "--yes", "--json", "--stop-after", "drain")
	r := lastResult(t, out)
	if code != 0 || r.Result != "drained" {
		t.Fatalf("upgrade --stop-after drain: exit %d, %+v", code, r)
	}
	c.Run(t, "systemctl", "reload", unit)
	u := waitUnit(t, c, func(u supervisor.Unit) bool { return u.MainPID != old })
	in, _ := status(t, c)
	if u.MainPID != r.NewPID || !alive(t, c, old) || len(in.Masters) != 2 {
		t.Fatalf("after systemctl reload: MainPID %d, old master %d alive %v, %d masters; want MainPID the new master %d while the old lives",
			u.MainPID, old, alive(t, c, old), len(in.Masters), r.NewPID)
	}
	f := supervisor.ReloadTrap(in, u)
	if f == nil || supervisor.NewStatus(u, in).MainPIDOK {
		t.Fatalf("the reload trap went unseen: finding %v, status %+v", f, supervisor.NewStatus(u, in))
	}
	t.Logf("reload trap finding: %s", f)
	if raw := c.Run(t, "hotdeploy", "status", "--pidfile", pidFile); !strings.Contains(raw, "systemctl reload "+unit) {
		t.Errorf("status does not report the reload trap with its fix:\n%s", raw)
	}

	// hotdeploy's rollback works, and says systemd now tracks a dead pid: exit 3.
	out, _, code = hotdeploy(t, c, "rollback", "--pidfile", pidFile, "--yes", "--json")
	if rb := lastResult(t, out); code != 3 || rb.Result != "rolled-back" || rb.ExitCode != 3 ||
		!strings.Contains(strings.Join(rb.Warnings, " "), "systemctl reload "+unit) || rb.Systemd == nil || rb.Systemd.MainPIDOK {
		t.Fatalf("rollback after the trap: exit %d, %+v; want rolled-back, exit 3, a warning naming systemctl reload", code, rb)
	} else {
		t.Logf("rollback after the reload trap: exit 3, warnings %q", rb.Warnings)
	}
	in, _ = status(t, c)
	u = c.Show(t, unit)
	if u.MainPID != r.NewPID || alive(t, c, r.NewPID) || u.ActiveState != "active" {
		t.Errorf("after the rollback systemd has MainPID %d (%s), new master %d alive %v: SYSTEMD.md says systemd keeps the dead new master and stays active",
			u.MainPID, u.ActiveState, r.NewPID, alive(t, c, r.NewPID))
	}
	f = supervisor.AfterRollback(in, u)
	if f == nil || f.Kind != supervisor.KindMainPIDWrong || !f.NeedsHuman || !strings.Contains(f.Fix, "systemctl reload "+unit) {
		t.Fatalf("AfterRollback after the trap = %v, want main-pid-wrong needing a human, fixed by systemctl reload", f)
	}
	t.Logf("after-rollback finding: %s", f)

	// The fix the finding gives.
	c.Run(t, "systemctl", "reload", unit)
	u = waitUnit(t, c, func(u supervisor.Unit) bool { return u.MainPID == old })
	in, _ = status(t, c)
	if f := supervisor.AfterRollback(in, u); f != nil || u.MainPID != old {
		t.Fatalf("after the fix (systemctl reload): MainPID %d, finding %v; want the old master %d", u.MainPID, f, old)
	}
}
