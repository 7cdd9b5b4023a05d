package upgrade_test

import (
	"context"
	"errors"
	"os"
	"os/user"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/audit"
	"github.com/hotdeploy/hotdeploy/nginxctl/inspect"
	"github.com/hotdeploy/hotdeploy/nginxctl/proc"
	"github.com/hotdeploy/hotdeploy/nginxctl/sandbox/sandboxtest"
	"github.com/hotdeploy/hotdeploy/nginxctl/upgrade"
	"github.com/hotdeploy/hotdeploy/nginxctl/upgrade/upgradetest"
)

// These tests drive the step runner against a real sandbox nginx, step by step, the way the
// dashboard does, and check after each rollback that nothing was lost: the old master alone,
// exactly worker_processes accepting workers, the pid file back, the old binary on disk.

// upgradeTo installs a fresh candidate and starts it: the instance is left both-serving.
func (rg *rig) upgradeTo() (model.Instance, string) {
	rg.t.Helper()
	ctx := context.Background()
	cand := upgradetest.Copy(rg.t)
	in, got, err := rg.runner.Install(ctx, rg.instance(), cand)
	if err != nil {
		rg.t.Fatalf("install: %v", err)
	}
	if got.BackupSHA256 != rg.origSHA || got.NewSHA256 != upgradetest.SHA256(rg.t, cand) {
		rg.t.Errorf("install recorded backup %.12s and new %.12s, want %.12s and %.12s",
			got.BackupSHA256, got.NewSHA256, rg.origSHA, upgradetest.SHA256(rg.t, cand))
	}
	if in, err = rg.runner.Start(ctx, in); err != nil {
		rg.t.Fatalf("start: %v", err)
	}
	if in.Phase != model.PhaseBothServing || in.New() == nil || in.PidFilePID != in.New().PID {
		rg.t.Fatalf("after start: phase %s, pid file names %d", in.Phase, in.PidFilePID)
	}
	if got := in.New().ActiveWorkers(); got != rg.workers {
		rg.t.Errorf("start returned when the new master ran %d workers, want all %d", got, rg.workers)
	}
	return in, upgradetest.SHA256(rg.t, cand)
}

// rollBackTwice rolls back, checks the old master serves alone, then rolls back again and
// checks the second one sent nothing and changed nothing.
func (rg *rig) rollBackTwice(in model.Instance, how string, draining int) {
	rg.t.Helper()
	newPID := in.New().PID
	if _, err := rg.runner.Rollback(context.Background(), in); err != nil {
		rg.t.Fatalf("rollback %s: %v", how, err)
	}
	after := rg.checkOldServes("after rollback "+how, draining)
	rg.checkBinary("after rollback "+how, rg.origSHA)
	if _, ok := after.Find(newPID); ok || runsNginx(newPID) {
		rg.t.Errorf("after rollback %s: the new master %d still runs", how, newPID)
	}
	sent := rg.signals()
	if _, err := rg.runner.Rollback(context.Background(), after); err != nil {
		rg.t.Errorf("second rollback %s: %v", how, err)
	}
	again := rg.checkOldServes("after a second rollback "+how, draining)
	if got := rg.signals(); !reflect.DeepEqual(got, sent) {
		rg.t.Errorf("second rollback %s sent signals: before %v, after %v", how, sent, got)
	}
	if pidsOfWorkers(again.Masters[0]) != pidsOfWorkers(after.Masters[0]) {
		rg.t.Errorf("second rollback %s changed the workers: %s -> %s", how,
			pidsOfWorkers(after.Masters[0]), pidsOfWorkers(again.Masters[0]))
	}
}

// runsNginx tells whether pid is a live nginx process: a zombie waiting for its parent to reap
// it has exited.
func runsNginx(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	return open >= 0 && end+2 < len(s) && s[open+1:end] == "nginx" && s[end+2] != 'Z'
}

// TestRollbackFromBothServing: before WINCH the old workers still accept, so the rollback must
// not send SIGHUP (it would start a second set of workers); it stops the new master only.
func TestRollbackFromBothServing(t *testing.T) {
	rg := newRig(t, 2)
	check := rg.load()
	in, _ := rg.upgradeTo()
	newPID := in.New().PID
	rg.rollBackTwice(in, "from both-serving", 0)
	want := []string{"SIGUSR2 " + strconv.Itoa(rg.master) + " sent", "SIGQUIT " + strconv.Itoa(newPID) + " sent"}
	if got := rg.signals(); !reflect.DeepEqual(got, want) {
		t.Errorf("signals: got %v, want %v", got, want)
	}
	check("upgrade then rollback from both-serving")
}

// TestRollbackFromOldDrained: after WINCH the old master has no children; the rollback sends it
// SIGHUP first so its workers accept again before the new master is stopped.
func TestRollbackFromOldDrained(t *testing.T) {
	rg := newRig(t, 2)
	check := rg.load()
	in, _ := rg.upgradeTo()
	newPID := in.New().PID
	in, err := rg.runner.Drain(context.Background(), in, true)
	if err != nil {
		t.Fatalf("drain: %v", err)
	}
	if in.Phase != model.PhaseOldDrained {
		t.Fatalf("after drain: phase %s, want old-drained", in.Phase)
	}
	rg.rollBackTwice(in, "from old-drained", 0)
	m := strconv.Itoa(rg.master)
	want := []string{"SIGUSR2 " + m + " sent", "SIGWINCH " + m + " sent", "SIGHUP " + m + " sent", "SIGQUIT " + strconv.Itoa(newPID) + " sent"}
	if got := rg.signals(); !reflect.DeepEqual(got, want) {
		t.Errorf("signals: got %v, want %v", got, want)
	}
	check("upgrade, drain, rollback from old-drained")
}

// TestRollbackWhileOldDraining: a held slow download keeps one old worker shutting down. None
// of the old workers accepts, so the rollback sends SIGHUP: the old master then runs exactly
// worker_processes accepting workers beside the draining one, which leaves when its client does.
func TestRollbackWhileOldDraining(t *testing.T) {
	rg := newRig(t, 2)
	held, release := rg.holdSlow()
	check := rg.load()
	in, _ := rg.upgradeTo()
	in, err := rg.runner.Drain(context.Background(), in, false)
	if err != nil {
		t.Fatalf("drain: %v", err)
	}
	in = rg.waitPhase(in, model.PhaseOldDraining)
	if p, ok := in.Find(held); !ok || !p.ShuttingDown {
		t.Fatalf("the worker %d holding the slow download is not draining: %+v", held, in.Masters[0].Children)
	}
	if !hasDrainProgress(rg.events, held) {
		t.Errorf("no drain progress event names the draining worker %d: %+v", held, rg.events)
	}
	rg.rollBackTwice(in, "from old-draining", 1)
	check("upgrade, drain, rollback from old-draining")
	release()
	rg.checkOldServes("after the held download ended", 0)
	rg.waitGone(held, "the draining worker after its client left")
}

// waitGone waits until pid is no child of the instance any more (an exiting process stays
// listed, without a title, for a moment).
func (rg *rig) waitGone(pid int, what string) {
	rg.t.Helper()
	sandboxtest.WaitFor(rg.t, rg.scanner, rg.instance(), 10*time.Second, what+" to exit",
		func(in model.Instance) bool { _, ok := in.Find(pid); return !ok })
}

func hasDrainProgress(es []upgrade.Event, pid int) bool {
	for _, e := range es {
		if e.Step == "drain" && e.Kind == "progress" && strings.Contains(e.Message, "worker "+strconv.Itoa(pid)+" for ") {
			return true
		}
	}
	return false
}

// TestIdentityCheckRefuses: a reference whose start time, comm or role does not match the live
// process is refused with an proc.IdentityError before anything is sent. SIGHUP is used because
// its effect would be plain: nginx would log it and replace every worker.
func TestIdentityCheckRefuses(t *testing.T) {
	rg := newRig(t, 2)
	rec := upgradetest.StartRecorder(t)
	logTail := inspect.NewLogTail(rg.sb.ErrorLog)
	if _, err := logTail.Read(); err != nil {
		t.Fatal(err)
	}
	m := rg.orig.Masters[0]
	wrongStart, wrongComm, wrongRole := m.Ref(), m.Ref(), m.Ref()
	wrongStart.StartTicks++
	wrongComm.Comm = "angie"
	wrongRole.Role = model.RoleWorker
	stranger := m.Ref() // the recorder's pid, as if nginx's pid had been recycled
	stranger.PID = rec.Process.Pid
	for name, ref := range map[string]model.Ref{"start time": wrongStart, "comm": wrongComm,
		"role": wrongRole, "recycled pid": stranger} {
		err := proc.Signal(ref, syscall.SIGHUP)
		var ie *proc.IdentityError
		if !errors.As(err, &ie) {
			t.Errorf("wrong %s: got %v, want an proc.IdentityError", name, err)
		}
	}
	// The same through a step's send: refused, and recorded as refused in the audit log.
	p := m.Process
	p.StartTicks++
	err := rg.runner.SendForTest(context.Background(), rg.orig, model.ActRollback, p, syscall.SIGHUP)
	var ie *proc.IdentityError
	if !errors.As(err, &ie) || !upgrade.IsRefused(err) {
		t.Errorf("send with a wrong start time: got %v, want a refusal wrapping an proc.IdentityError", err)
	}
	es := rg.auditEntries()
	if len(es) != 1 || es[0].Result != "refused" || es[0].Signal != "SIGHUP" || es[0].PID != m.PID {
		t.Errorf("audit log after the refusal: %+v", es)
	}
	rg.checkNothingSignalled(logTail, rec)
}

// checkNothingSignalled: no signal line in the error log, the same workers, and the recorder
// got nothing.
func (rg *rig) checkNothingSignalled(logTail *inspect.LogTail, rec *upgradetest.Recorder) {
	rg.t.Helper()
	lines, err := logTail.Read()
	if err != nil {
		rg.t.Fatal(err)
	}
	for _, l := range lines {
		if strings.Contains(l, "received from") {
			rg.t.Errorf("nginx got a signal: %s", l)
		}
	}
	in := rg.instance()
	if pidsOfWorkers(in.Masters[0]) != pidsOfWorkers(rg.orig.Masters[0]) || len(in.Masters) != 1 {
		rg.t.Errorf("the instance changed: %+v", in.Masters)
	}
	if got := rec.Signals(); len(got) > 0 {
		rg.t.Errorf("the stranger process was signalled: %v", got)
	}
}

// TestAuditLogRecordsEverySignal: one JSON line per signal with time, user, instance, signal,
// pid, start time and result, in a file only its owner can read, even if it existed with a
// wider mode.
func TestAuditLogRecordsEverySignal(t *testing.T) {
	rg := newRig(t, 1)
	if err := os.WriteFile(rg.audit, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(rg.audit, 0o644); err != nil {
		t.Fatal(err)
	}
	log, err := audit.Open(rg.audit)
	if err != nil {
		t.Fatal(err)
	}
	rg.runner.Audit = log
	started := time.Now()
	in, _ := rg.upgradeTo()
	nw := in.New().Process
	if _, err := rg.runner.Rollback(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(rg.audit)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("audit log mode %o, want 600", st.Mode().Perm())
	}
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	m := rg.orig.Masters[0]
	want := []audit.Entry{
		{Action: "install", PID: m.PID, StartTicks: m.StartTicks, Result: "installed"},
		{Action: "upgrade", Signal: "SIGUSR2", PID: m.PID, StartTicks: m.StartTicks, Result: "sent"},
		{Action: "rollback", Signal: "SIGQUIT", PID: nw.PID, StartTicks: nw.StartTicks, Result: "sent"},
		{Action: "restore", PID: m.PID, StartTicks: m.StartTicks, Result: "restored"},
	}
	got := rg.auditEntries()
	if len(got) != len(want) {
		t.Fatalf("audit log has %d entries, want %d: %+v", len(got), len(want), got)
	}
	for i, g := range got {
		w := want[i]
		if g.Action != w.Action || g.Signal != w.Signal || g.PID != w.PID || g.StartTicks != w.StartTicks || g.Result != w.Result {
			t.Errorf("audit entry %d: got %+v, want %+v", i, g, w)
		}
		if g.User != me.Username || g.Instance != rg.sb.PidFile || g.Time.Before(started.Add(-time.Second)) {
			t.Errorf("audit entry %d: user %q instance %q time %s; want %q, %q, after %s", i, g.User, g.Instance, g.Time,
				me.Username, rg.sb.PidFile, started)
		}
	}
	if inst := got[0].Install; inst == nil || inst.BackupSHA256 != rg.origSHA || inst.Backup != rg.sb.Binary+".old" {
		t.Errorf("install entry does not record the backup: %+v", inst)
	}
}

// TestConfigTestAndInstallRefusal: the config test runs the candidate with the master's own
// -p/-c: a good candidate passes, also named by a bare relative path (resolved against the
// working directory, never looked up in $PATH); a candidate whose config fails is refused,
// quoting nginx. Installing a shell script is refused and leaves the binary untouched.
func TestConfigTestAndInstallRefusal(t *testing.T) {
	rg := newRig(t, 1)
	ctx := context.Background()
	good := upgradetest.Copy(t)
	t.Chdir(filepath.Dir(good))
	lines, err := rg.runner.Test(ctx, rg.instance(), filepath.Base(good))
	if err != nil || !strings.Contains(strings.Join(lines, "\n"), "test is successful") {
		t.Errorf("config test of a good candidate by a relative path: %v: %q", err, lines)
	}
	lines, err = rg.runner.Test(ctx, rg.instance(), upgradetest.Wrapper(t, upgradetest.BadConfig))
	if !upgrade.IsRefused(err) || !strings.Contains(strings.Join(lines, "\n"), upgradetest.BrokenDirective) {
		t.Errorf("config test of a broken candidate: %v: %q; want a refusal quoting nginx", err, lines)
	}
	script := filepath.Join(t.TempDir(), "nginx")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nexec /usr/sbin/nginx \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, _, err := rg.runner.Install(ctx, rg.instance(), script); !upgrade.IsRefused(err) || !strings.Contains(err.Error(), "not an ELF") {
		t.Errorf("install of a shell script: %v; want refused as not ELF", err)
	}
	rg.checkNothingChanged("after refused install")
	if es := rg.auditEntries(); len(es) != 0 {
		t.Errorf("a refused install was recorded as done: %+v", es)
	}
}
