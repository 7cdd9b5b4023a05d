package upgrade_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/inspect"
	"github.com/hotdeploy/hotdeploy/nginxctl/sandbox"
	"github.com/hotdeploy/hotdeploy/nginxctl/sandbox/sandboxtest"
	"github.com/hotdeploy/hotdeploy/nginxctl/upgrade"
	"github.com/hotdeploy/hotdeploy/nginxctl/upgrade/upgradetest"
)

// These tests run the headless commands end to end (upgrade.Upgrade and upgrade.Rollback, as
// `hotdeploy upgrade|rollback --json` does) against a real sandbox nginx, with a bounded
// loopback request loop running where requests must not fail.

// upgrade runs a headless upgrade and returns its exit code and final result object.
func (rg *rig) upgrade(ctx context.Context, opts upgrade.HeadlessOptions) (int, upgradetest.Result, string) {
	rg.t.Helper()
	var out bytes.Buffer
	code := upgrade.Upgrade(ctx, opts, &out)
	return code, upgradetest.LastResult(rg.t, out.String()), out.String()
}

// rollback runs a headless rollback.
func (rg *rig) rollback() (int, upgradetest.Result) {
	rg.t.Helper()
	var out bytes.Buffer
	code := upgrade.Rollback(context.Background(), rg.opts(""), &out)
	return code, upgradetest.LastResult(rg.t, out.String())
}

// TestHeadlessUpgradeCommits: preflight, install, USR2, WINCH, QUIT with traffic running; the
// new master serves alone, the candidate is on disk, the old binary kept as <binary>.old.
func TestHeadlessUpgradeCommits(t *testing.T) {
	rg := newRig(t, 2)
	check := rg.load()
	cand := upgradetest.Copy(t)
	code, res, out := rg.upgrade(context.Background(), rg.opts(cand))
	check("headless upgrade to commit")
	if code != upgrade.ExitDone || res.Result != "committed" {
		t.Fatalf("exit %d, result %q (%s), want 0 committed\n%s", code, res.Result, res.Error, out)
	}
	t.Logf("headless upgrade of an idle sandbox committed in elapsed_ms=%d", res.ElapsedMS)
	if res.OldPID != rg.master || res.NewPID == 0 || res.NewPID == rg.master {
		t.Errorf("old_pid %d new_pid %d, want %d and another pid", res.OldPID, res.NewPID, rg.master)
	}
	in := rg.instance()
	if len(in.Masters) != 1 || in.Masters[0].PID != res.NewPID || in.PidFilePID != res.NewPID || in.OldbinPID != 0 {
		t.Errorf("after commit: masters %+v, pid file %d, oldbin %d; want the new master %d alone",
			in.Masters, in.PidFilePID, in.OldbinPID, res.NewPID)
	} else if got := in.Masters[0].ActiveWorkers(); got != rg.workers {
		t.Errorf("the new master runs %d workers, want %d", got, rg.workers)
	}
	if runsNginx(rg.master) {
		t.Errorf("the old master %d still runs", rg.master)
	}
	rg.checkBinary("after commit", upgradetest.SHA256(t, cand))
	if got := upgradetest.SHA256(t, rg.sb.Binary+".old"); got != rg.origSHA {
		t.Errorf("backup %s.old has sha256 %.12s, want the old binary's %.12s", rg.sb.Binary, got, rg.origSHA)
	}
	want := []string{upgradetest.Sent("SIGUSR2", rg.master), upgradetest.Sent("SIGWINCH", rg.master), upgradetest.Sent("SIGQUIT", rg.master)}
	if got := rg.signals(); !reflect.DeepEqual(got, want) {
		t.Errorf("signals %v, want %v", got, want)
	}
	objs := upgradetest.JSONLines(t, out)
	for _, o := range objs[:len(objs)-1] {
		if o["step"] == nil || o["event"] == nil || o["time"] == nil {
			t.Errorf("event line without step/event/time: %v", o)
		}
	}
}

// TestHeadlessStopAfterDrainThenRollback: `upgrade --stop-after drain` leaves the old master
// drained (exit 0, result drained), then `rollback` brings its workers back and stops the new
// master, with traffic running throughout.
func TestHeadlessStopAfterDrainThenRollback(t *testing.T) {
	rg := newRig(t, 2)
	check := rg.load()
	opts := rg.opts(upgradetest.Copy(t))
	opts.StopAfterDrain = true
	code, res, out := rg.upgrade(context.Background(), opts)
	if code != upgrade.ExitDone || res.Result != "drained" || res.Phase != "old-drained" {
		t.Fatalf("exit %d, result %q, phase %q; want 0 drained old-drained\n%s", code, res.Result, res.Phase, out)
	}
	if in := rg.instance(); in.Phase != model.PhaseOldDrained || in.New() == nil || in.New().PID != res.NewPID {
		t.Fatalf("after --stop-after drain: phase %s", in.Phase)
	}
	code, rb := rg.rollback()
	check("upgrade --stop-after drain, then rollback")
	if code != upgrade.ExitDone || rb.Result != "rolled-back" || rb.OldPID != rg.master || rb.NewPID != res.NewPID {
		t.Fatalf("rollback: exit %d, %+v; want 0 rolled-back %d/%d", code, rb, rg.master, res.NewPID)
	}
	rg.checkOldServes("after rollback from old-drained", 0)
	rg.checkBinary("after rollback from old-drained", rg.origSHA)
	m := rg.master
	want := []string{upgradetest.Sent("SIGUSR2", m), upgradetest.Sent("SIGWINCH", m), upgradetest.Sent("SIGHUP", m), upgradetest.Sent("SIGQUIT", res.NewPID)}
	if got := rg.signals(); !reflect.DeepEqual(got, want) {
		t.Errorf("signals %v, want %v", got, want)
	}
}

// TestHeadlessRollbackFromBothServing: the dashboard started the new binary; `rollback` stops it
// without SIGHUP. A second `rollback` finds nothing to do: exit 2, nothing sent.
func TestHeadlessRollbackFromBothServing(t *testing.T) {
	rg := newRig(t, 2)
	check := rg.load()
	in, _ := rg.upgradeTo()
	newPID := in.New().PID
	code, res := rg.rollback()
	if code != upgrade.ExitDone || res.Result != "rolled-back" || res.NewPID != newPID {
		t.Fatalf("rollback: exit %d, %+v", code, res)
	}
	rg.checkOldServes("after rollback from both-serving", 0)
	rg.checkBinary("after rollback from both-serving", rg.origSHA)
	if res.OldBuild == nil || res.OldBuild.SHA256 != rg.origSHA || res.NewBuild == nil || res.NewBuild.SHA256 == "" || res.NewBuild.SHA256 == rg.origSHA {
		t.Errorf("rollback result names old build %+v and new build %+v; want the restored build (sha256 %s) and the one rolled back from", res.OldBuild, res.NewBuild, rg.origSHA)
	}
	sent := rg.signals()
	code, res = rg.rollback()
	check("rollback from both-serving, twice")
	if code != upgrade.ExitRefused || res.Result != "refused" {
		t.Errorf("second rollback: exit %d, %+v; want 2 refused", code, res)
	}
	rg.checkOldServes("after a second rollback", 0)
	if got := rg.signals(); !reflect.DeepEqual(got, sent) || len(sent) != 2 {
		t.Errorf("signals %v after the second rollback, want only the first's %v (USR2, QUIT)", got, sent)
	}
}

// cancelOn is an output for a headless run that cancels it (as Ctrl-C does) when an event
// matches.
type cancelOn struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	match  func(upgrade.Event) bool
	cancel context.CancelFunc
}

func (c *cancelOn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var e upgrade.Event
	if json.Unmarshal(bytes.TrimSpace(p), &e) == nil && c.match(e) {
		c.cancel()
	}
	return c.buf.Write(p)
}

// TestHeadlessInterruptRollsBack: Ctrl-C while the old workers drain (one held by a slow
// download) rolls back: the old master gets SIGHUP, the new one SIGQUIT; exit 1.
func TestHeadlessInterruptRollsBack(t *testing.T) {
	rg := newRig(t, 2)
	held, release := rg.holdSlow()
	check := rg.load()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &cancelOn{cancel: cancel, match: func(e upgrade.Event) bool {
		return e.Step == "drain" && e.Kind == "progress" && strings.Contains(e.Message, " 0 still accepting")
	}}
	code := upgrade.Upgrade(ctx, rg.opts(upgradetest.Copy(t)), out)
	res := upgradetest.LastResult(t, out.buf.String())
	if code != upgrade.ExitRolledBack || res.Result != "rolled-back" || !strings.Contains(res.Error, "interrupted") {
		t.Fatalf("exit %d, result %q (%s); want 1 rolled-back after an interruption\n%s", code, res.Result, res.Error, out.buf.String())
	}
	rg.checkOldServes("after Ctrl-C while draining", 1)
	check("Ctrl-C while draining")
	rg.checkBinary("after Ctrl-C while draining", rg.origSHA)
	m := rg.master
	want := []string{upgradetest.Sent("SIGUSR2", m), upgradetest.Sent("SIGWINCH", m), upgradetest.Sent("SIGHUP", m), upgradetest.Sent("SIGQUIT", res.NewPID)}
	if got := rg.signals(); !reflect.DeepEqual(got, want) {
		t.Errorf("signals %v, want %v", got, want)
	}
	release()
	rg.checkOldServes("after the held download ended", 0)
	rg.waitGone(held, "the draining worker after its client left")
}

// TestHeadlessInterruptRightAfterUSR2: Ctrl-C the moment SIGUSR2 is out, while the new master
// is still starting: the rollback stops it (SIGQUIT, no SIGHUP, no SIGWINCH), exit 1.
func TestHeadlessInterruptRightAfterUSR2(t *testing.T) {
	rg := newRig(t, 2)
	check := rg.load()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &cancelOn{cancel: cancel, match: func(e upgrade.Event) bool { return e.Kind == "signal" && e.Signal == "SIGUSR2" }}
	code := upgrade.Upgrade(ctx, rg.opts(upgradetest.Copy(t)), out)
	res := upgradetest.LastResult(t, out.buf.String())
	check("Ctrl-C right after SIGUSR2")
	if code != upgrade.ExitRolledBack || res.Result != "rolled-back" {
		t.Fatalf("exit %d, result %q (%s); want 1 rolled-back\n%s", code, res.Result, res.Error, out.buf.String())
	}
	rg.checkOldServes("after Ctrl-C right after SIGUSR2", 0)
	rg.checkBinary("after Ctrl-C right after SIGUSR2", rg.origSHA)
	got := rg.signals()
	if len(got) != 2 || got[0] != upgradetest.Sent("SIGUSR2", rg.master) || !strings.HasPrefix(got[1], "SIGQUIT ") ||
		!strings.HasSuffix(got[1], " sent") {
		t.Errorf("signals %v, want SIGUSR2 to %d then SIGQUIT to the new master", got, rg.master)
	}
}

// TestHeadlessInterruptRightAfterWINCH: Ctrl-C the moment SIGWINCH is out. The runner first
// sees its effect (no old worker accepts), so the rollback sends the SIGHUP the old master
// needs; exit 1 and the old master serves with worker_processes workers.
func TestHeadlessInterruptRightAfterWINCH(t *testing.T) {
	rg := newRig(t, 2)
	check := rg.load()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &cancelOn{cancel: cancel, match: func(e upgrade.Event) bool { return e.Kind == "signal" && e.Signal == "SIGWINCH" }}
	code := upgrade.Upgrade(ctx, rg.opts(upgradetest.Copy(t)), out)
	res := upgradetest.LastResult(t, out.buf.String())
	check("Ctrl-C right after SIGWINCH")
	if code != upgrade.ExitRolledBack || res.Result != "rolled-back" {
		t.Fatalf("exit %d, result %q (%s); want 1 rolled-back\n%s", code, res.Result, res.Error, out.buf.String())
	}
	rg.checkOldServes("after Ctrl-C right after SIGWINCH", 0)
	rg.checkBinary("after Ctrl-C right after SIGWINCH", rg.origSHA)
	m := rg.master
	want := []string{upgradetest.Sent("SIGUSR2", m), upgradetest.Sent("SIGWINCH", m), upgradetest.Sent("SIGHUP", m),
		upgradetest.Sent("SIGQUIT", res.NewPID)}
	if got := rg.signals(); !reflect.DeepEqual(got, want) {
		t.Errorf("signals %v, want %v", got, want)
	}
}

// TestHeadlessInterruptWithoutAutoRollback: with --no-auto-rollback, Ctrl-C after the new
// master started sends nothing more: exit 3, both masters left serving for a human, who then
// rolls back.
func TestHeadlessInterruptWithoutAutoRollback(t *testing.T) {
	rg := newRig(t, 2)
	check := rg.load()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &cancelOn{cancel: cancel, match: func(e upgrade.Event) bool { return e.Step == "upgrade" && e.Kind == "done" }}
	opts := rg.opts(upgradetest.Copy(t))
	opts.NoAutoRollback = true
	code := upgrade.Upgrade(ctx, opts, out)
	res := upgradetest.LastResult(t, out.buf.String())
	if code != upgrade.ExitNeedsHuman || res.Result != "failed" || !strings.Contains(res.Error, "--no-auto-rollback") {
		t.Fatalf("exit %d, result %q (%s); want 3 failed\n%s", code, res.Result, res.Error, out.buf.String())
	}
	if in := rg.instance(); in.Phase != model.PhaseBothServing || res.Phase != "both-serving" {
		t.Errorf("left in phase %s (result says %q), want both-serving", in.Phase, res.Phase)
	}
	if got, want := rg.signals(), []string{upgradetest.Sent("SIGUSR2", rg.master)}; !reflect.DeepEqual(got, want) {
		t.Errorf("signals %v, want %v", got, want)
	}
	if code, rb := rg.rollback(); code != upgrade.ExitDone || rb.Result != "rolled-back" {
		t.Errorf("rollback after: exit %d %+v", code, rb)
	}
	check("Ctrl-C without auto rollback, then rollback")
	rg.checkOldServes("after the human's rollback", 0)
	rg.checkBinary("after the human's rollback", rg.origSHA)
}

// TestHeadlessNewMasterDies: the new binary passes -v and -t but its master does not survive:
// detected, quoted from the error log, rolled back (exit 1) with the old master serving
// throughout and the old binary back on disk.
func TestHeadlessNewMasterDies(t *testing.T) {
	for _, tc := range []struct{ mode, logHas string }{
		{upgradetest.DiesAsNewMaster, "exited with code 1"},
		{upgradetest.BadConfAsNew, `unknown directive "` + upgradetest.BrokenDirective + `"`},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			rg := newRig(t, 2)
			check := rg.load()
			code, res, out := rg.upgrade(context.Background(), rg.opts(upgradetest.Wrapper(t, tc.mode)))
			check("new master dies")
			if code != upgrade.ExitRolledBack || res.Result != "rolled-back" {
				t.Fatalf("exit %d, result %q (%s); want 1 rolled-back\n%s", code, res.Result, res.Error, out)
			}
			if !strings.Contains(strings.Join(res.Log, "\n"), tc.logHas) || !strings.Contains(res.Error, tc.logHas) {
				t.Errorf("the result does not give the error log line with %q as the reason: %q, log %q", tc.logHas, res.Error, res.Log)
			}
			rg.checkOldServes("after the new master died", 0)
			rg.checkBinary("after the new master died", rg.origSHA)
			if got, want := rg.signals(), []string{upgradetest.Sent("SIGUSR2", rg.master)}; !reflect.DeepEqual(got, want) {
				t.Errorf("signals %v, want %v", got, want)
			}
		})
	}
}

// TestHeadlessNewMasterDiesWithoutAutoRollback: exit 3 and the failed binary left on disk for a
// human; `rollback` then restores the old one (exit 0) without a signal.
func TestHeadlessNewMasterDiesWithoutAutoRollback(t *testing.T) {
	rg := newRig(t, 1)
	bad := upgradetest.Wrapper(t, upgradetest.DiesAsNewMaster)
	opts := rg.opts(bad)
	opts.NoAutoRollback = true
	code, res, out := rg.upgrade(context.Background(), opts)
	if code != upgrade.ExitNeedsHuman || res.Result != "failed" {
		t.Fatalf("exit %d, result %q; want 3 failed\n%s", code, res.Result, out)
	}
	rg.checkOldServes("after the new master died", 0)
	rg.checkBinary("left for a human", upgradetest.SHA256(t, bad))
	code, rb := rg.rollback()
	if code != upgrade.ExitDone || rb.Result != "rolled-back" {
		t.Errorf("rollback: exit %d %+v", code, rb)
	}
	rg.checkBinary("after rollback in idle", rg.origSHA)
	if got := upgradetest.SHA256(t, rg.sb.Binary+".rejected"); got != upgradetest.SHA256(t, bad) {
		t.Errorf("the replaced binary was not kept as .rejected: sha256 %.12s", got)
	}
	if got, want := rg.signals(), []string{upgradetest.Sent("SIGUSR2", rg.master)}; !reflect.DeepEqual(got, want) {
		t.Errorf("signals %v, want %v", got, want)
	}
	// The restored file is a copy: another inode with the running bytes. It is no other build
	// (binary_differs false, so u is not offered), and status says it is a copy.
	if in := rg.instance(); in.BinaryDiffers || !in.BinarySameBytes {
		t.Errorf("after the restore: binary_differs %v, binary_same_bytes %v; want false and true", in.BinaryDiffers, in.BinarySameBytes)
	}
}

// TestInstallKeepsSymlinkedBinaryALink: when the binary nginx runs is a symlink, install and
// restore write the file it points at and leave the link in place.
func TestInstallKeepsSymlinkedBinaryALink(t *testing.T) {
	sb := sandboxtest.Prepare(t, sandbox.SandboxOptions{Workers: 1})
	real := sb.Binary + "-real"
	if err := os.Rename(sb.Binary, real); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(real, sb.Binary); err != nil {
		t.Fatal(err)
	}
	if err := sb.Start(); err != nil {
		t.Fatal(err)
	}
	rg := rigFor(t, sb, 1)
	candidate := upgradetest.Copy(t)
	opts := rg.opts(candidate)
	opts.StopAfterDrain = true
	if code, res, out := rg.upgrade(context.Background(), opts); code != upgrade.ExitDone {
		t.Fatalf("upgrade: exit %d %+v\n%s", code, res, out)
	}
	checkLink := func(how, wantSHA string) {
		t.Helper()
		if target, err := os.Readlink(sb.Binary); err != nil || target != real {
			t.Errorf("%s: %s is no longer a link to %s (%q, %v)", how, sb.Binary, real, target, err)
		}
		if got := upgradetest.SHA256(t, real); got != wantSHA {
			t.Errorf("%s: %s has sha256 %.12s, want %.12s", how, real, got, wantSHA)
		}
	}
	checkLink("after install", upgradetest.SHA256(t, candidate))
	if code, res := rg.rollback(); code != upgrade.ExitDone {
		t.Fatalf("rollback: exit %d %+v", code, res)
	}
	checkLink("after rollback", rg.origSHA)
}

// TestHeadlessRefusesBadCandidates: every candidate that cannot be the new nginx is refused
// before any signal, with exit 2, the reason, and the binary on disk untouched.
func TestHeadlessRefusesBadCandidates(t *testing.T) {
	rg := newRig(t, 2)
	dir := t.TempDir()
	write := func(name, text string, perm os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), perm); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, perm); err != nil {
			t.Fatal(err)
		}
		return p
	}
	noExec := filepath.Join(dir, "nginx-noexec")
	if err := sandbox.CopyFile(upgradetest.Copy(t), noExec, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(noExec, 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ name, path, why string }{
		{"missing", filepath.Join(dir, "no-such-nginx"), "no such file"},
		{"directory", dir, "is a directory"},
		{"not executable", noExec, "not executable"},
		{"not ELF", write("data.bin", strings.Repeat("not a binary\n", 100), 0o755), "not an ELF"},
		{"shell script", write("nginx.sh", "#!/bin/sh\nexit 1\n", 0o755), "not an ELF"},
		{"ELF exiting 1 on -v", upgradetest.Wrapper(t, upgradetest.ExitsOnV), "does not answer -v"},
		{"config test fails", upgradetest.Wrapper(t, upgradetest.BadConfig), `unknown directive "` + upgradetest.BrokenDirective + `"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, res, out := rg.upgrade(context.Background(), rg.opts(tc.path))
			if code != upgrade.ExitRefused || res.Result != "refused" || !strings.Contains(res.Error, tc.why) {
				t.Errorf("exit %d, result %q, error %q; want 2 refused naming %q\n%s", code, res.Result, res.Error, tc.why, out)
			}
			rg.checkNothingChanged(tc.name)
		})
	}
}

// TestHeadlessRefusesDaemonOff: nginx ignores SIGUSR2 from a master that runs with daemon off
// under its first parent (here: this test). Refused before any signal, with the reason.
func TestHeadlessRefusesDaemonOff(t *testing.T) {
	sb := sandboxtest.Prepare(t, sandbox.SandboxOptions{Workers: 2})
	cmd := sb.Command("-g", "daemon off;")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if _, err := sb.WaitServing(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	rg := rigFor(t, sb, 2)
	if rg.master != cmd.Process.Pid {
		t.Fatalf("the master %d is not the process this test started (%d)", rg.master, cmd.Process.Pid)
	}
	code, res, out := rg.upgrade(context.Background(), rg.opts(upgradetest.Copy(t)))
	if code != upgrade.ExitRefused || res.Result != "refused" || !strings.Contains(res.Error, "daemon off") {
		t.Errorf("exit %d, result %q, error %q; want 2 refused naming daemon off\n%s", code, res.Result, res.Error, out)
	}
	rg.checkNothingChanged("daemon off")
}

// TestHeadlessRefusesRelativeArgv0: a master started as plain "nginx" from a directory that
// does not hold it cannot exec its new binary. Refused before any signal and before installing
// anything where argv[0] would resolve.
func TestHeadlessRefusesRelativeArgv0(t *testing.T) {
	sb := sandboxtest.Prepare(t, sandbox.SandboxOptions{Workers: 2})
	elsewhere := t.TempDir()
	cmd := sb.Command()
	cmd.Args[0] = "nginx"
	cmd.Dir = elsewhere
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("start nginx as %q: %v: %s", cmd.Args[0], err, out)
	}
	if _, err := sb.WaitServing(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	rg := rigFor(t, sb, 2)
	if argv := rg.orig.Masters[0].Argv; len(argv) == 0 || argv[0] != "nginx" {
		t.Fatalf("master argv %q, want it to start with a bare nginx", argv)
	}
	code, res, out := rg.upgrade(context.Background(), rg.opts(upgradetest.Copy(t)))
	if code != upgrade.ExitRefused || res.Result != "refused" || !strings.Contains(res.Error, `started as "nginx"`) {
		t.Errorf("exit %d, result %q, error %q; want 2 refused naming argv[0]\n%s", code, res.Result, res.Error, out)
	}
	rg.checkNothingChanged("relative argv[0]")
	if entries, _ := os.ReadDir(elsewhere); len(entries) != 0 {
		t.Errorf("files were written into the master's working directory: %v", entries)
	}
}

// TestHeadlessNeverSignalsStaleOldbin: a nginx.pid.oldbin left by a killed upgrade names a
// live process that is not nginx. The upgrade goes through, warns about the file, and that
// process gets no signal; aimed at through the stale file alone, the target is refused.
func TestHeadlessNeverSignalsStaleOldbin(t *testing.T) {
	rg := newRig(t, 2)
	rec := upgradetest.StartRecorder(t)
	stranger := rec.Process
	oldbin := rg.sb.PidFile + ".oldbin"
	if err := os.WriteFile(oldbin, []byte(strconv.Itoa(stranger.Pid)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Run("pid file gone, only the stale oldbin", func(t *testing.T) {
		if err := os.Rename(rg.sb.PidFile, rg.sb.PidFile+".moved"); err != nil {
			t.Fatal(err)
		}
		code, res, out := rg.upgrade(context.Background(), rg.opts(upgradetest.Copy(t)))
		if err := os.Rename(rg.sb.PidFile+".moved", rg.sb.PidFile); err != nil {
			t.Fatal(err)
		}
		if code != upgrade.ExitRefused || !strings.Contains(res.Error, "not an nginx master") {
			t.Errorf("exit %d, error %q; want 2, not an nginx master\n%s", code, res.Error, out)
		}
		rg.checkNothingChanged("aimed at the stale oldbin")
	})
	check := rg.load()
	code, res, out := rg.upgrade(context.Background(), rg.opts(upgradetest.Copy(t)))
	check("upgrade beside a stale oldbin")
	if code != upgrade.ExitDone || res.Result != "committed" {
		t.Fatalf("exit %d, result %q (%s); want 0 committed\n%s", code, res.Result, res.Error, out)
	}
	if !strings.Contains(out, `"event":"warning"`) || !strings.Contains(out, "pid "+strconv.Itoa(stranger.Pid)) {
		t.Errorf("no warning names the stale oldbin's pid %d:\n%s", stranger.Pid, out)
	}
	if got := rec.Signals(); len(got) > 0 {
		t.Errorf("the process named by the stale oldbin was signalled: %v", got)
	}
	if err := syscall.Kill(stranger.Pid, 0); err != nil {
		t.Errorf("the process named by the stale oldbin is gone: %v", err)
	}
	for _, e := range rg.auditEntries() {
		if e.PID == stranger.Pid {
			t.Errorf("audit log names the stranger: %+v", e)
		}
	}
}

// TestHeadlessRefusesSeveralInstances: with no --pid or --pidfile and several nginx instances
// on the host, the headless commands refuse (exit 2) and list them. The discovery is not run
// here with --yes: other tests' nginx run meanwhile, and a test acts only on nginx it names. The
// choice among the instances a discovery found is what is tested, on two real sandboxes.
func TestHeadlessRefusesSeveralInstances(t *testing.T) {
	a, b := newRig(t, 1), newRig(t, 1)
	snap := model.Snapshot{Instances: []model.Instance{a.instance(), b.instance()}}
	_, err := upgrade.PickOneForTest(snap)
	if err == nil || !errors.Is(err, inspect.ErrBadTarget) {
		t.Fatalf("two instances: %v; want a bad-target refusal", err)
	}
	for _, rg := range []*rig{a, b} {
		if !strings.Contains(err.Error(), rg.sb.PidFile) || !strings.Contains(err.Error(), "--pid") {
			t.Errorf("refusal does not list %s or name --pid: %q", rg.sb.PidFile, err)
		}
	}
	if in, err := upgrade.PickOneForTest(model.Snapshot{Instances: snap.Instances[:1]}); err != nil || in.Key() != a.sb.PidFile {
		t.Errorf("one instance: %v, %s", err, in.Key())
	}
	if _, err := upgrade.PickOneForTest(model.Snapshot{}); err == nil || !errors.Is(err, inspect.ErrBadTarget) {
		t.Errorf("no instance: %v", err)
	}
}
