package ui

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/audit"
	"github.com/hotdeploy/hotdeploy/nginxctl/driver"
	"github.com/hotdeploy/hotdeploy/nginxctl/inspect"
	"github.com/hotdeploy/hotdeploy/nginxctl/sandbox"
	"github.com/hotdeploy/hotdeploy/nginxctl/sandbox/sandboxtest"
	"github.com/hotdeploy/hotdeploy/nginxctl/upgrade"
	"github.com/hotdeploy/hotdeploy/nginxctl/upgrade/upgradetest"
)

// withDriverDirs runs the tests with the driver locks and journals in a temporary directory,
// never the host's (the tmux tests' binary inherits it too).
func withDriverDirs(m *testing.M) int {
	dir, err := os.MkdirTemp("", "hotdeploy-ui-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	os.Setenv(driver.EnvRuntimeDir, filepath.Join(dir, "run"))
	os.Setenv(driver.EnvStateDir, filepath.Join(dir, "state"))
	return m.Run()
}

func testDirs(t *testing.T) driver.Dirs {
	return driver.Dirs{Runtime: filepath.Join(t.TempDir(), "run"), State: filepath.Join(t.TempDir(), "state")}
}

// refreshNow runs one refresh of the instance shown (with its extras: the driver view) and
// feeds it to the model.
func refreshNow(t *testing.T, m Model) Model {
	t.Helper()
	return update(t, m, run(m.refreshCmd()))
}

// TestDashboardShowsAnotherDriverAndOffersNothing: while another driver holds the instance, the
// status line names it and every key that would change nginx says who holds it, sending
// nothing; the config test still runs. Once the holder lets go, the keys work again.
func TestDashboardShowsAnotherDriverAndOffersNothing(t *testing.T) {
	dirs := testDirs(t)
	in := bothServingInstance()
	other, err := driver.Begin(dirs, in.PidFile, "upgrade")
	if err != nil {
		t.Fatal(err)
	}
	defer other.End()
	if err := other.SetStep("drain"); err != nil {
		t.Fatal(err)
	}
	src := newFakeSource(in)
	snap, _ := src.Scan()
	m := New(Options{}, Deps{Source: src, Actor: &runnerActor{win: newWindow(dirs)}, Clock: fixedClock{t0}}, &snap)
	m = update(t, m, tea.WindowSizeMsg{Width: 120, Height: 40})
	m = refreshNow(t, m)
	holder := fmt.Sprintf("hotdeploy pid %d (user ", os.Getpid())
	if v := m.View(); !strings.Contains(v, holder) || !strings.Contains(v, "step drain") {
		t.Errorf("the screen does not name the holder:\n%s", v)
	}
	for _, k := range []string{"w", "c", "r"} {
		var cmd tea.Cmd
		m, cmd = press(t, m, k)
		if m.mode != modeNormal || cmd != nil || m.flash == nil || !strings.Contains(m.flash.text, holder) ||
			!strings.Contains(m.flash.text, "wait for it or stop it") {
			t.Errorf("%s while another driver holds the instance: mode %d, flash %+v", k, m.mode, m.flash)
		}
	}
	if v := m.verdict(model.ActTest); !v.Allowed && strings.Contains(v.Reason, holder) {
		t.Errorf("the config test is refused because of the lock: %s", v.Reason)
	}
	other.End()
	m = refreshNow(t, m)
	if m, _ = press(t, m, "w"); m.mode != modeConfirm {
		t.Errorf("after the holder let go, w does not ask (mode %d, flash %+v)", m.mode, m.flash)
	}
}

// TestDashboardKnowsQuitFromTheJournal: a dashboard started after a driver sent SIGQUIT to the
// old master (and died) reads it from the journal: rollback and commit say there is no going
// back, as they do in the dashboard that sent it.
func TestDashboardKnowsQuitFromTheJournal(t *testing.T) {
	dirs := testDirs(t)
	in := oldDrainingInstance()
	old := in.Masters[0]
	ref := driver.Master{PID: old.PID, StartTicks: old.StartTicks}
	j := &driver.Journal{Instance: driver.Key(in.PidFile), PidFile: in.PidFile, Old: &ref, Step: "commit",
		Signals: []driver.Signal{{Signal: "SIGQUIT", PID: old.PID, StartTicks: old.StartTicks, Result: "sent"}}}
	if err := driver.SaveJournal(dirs.State, j); err != nil {
		t.Fatal(err)
	}
	src := newFakeSource(in)
	snap, _ := src.Scan()
	m := New(Options{}, Deps{Source: src, Actor: &runnerActor{win: newWindow(dirs)}, Clock: fixedClock{t0}}, &snap)
	m = refreshNow(t, m)
	want := fmt.Sprintf("the old master %d got SIGQUIT", old.PID)
	for _, a := range []model.Action{model.ActRollback, model.ActCommit} {
		if v := m.verdict(a); v.Allowed || !strings.Contains(v.Reason, want) {
			t.Errorf("%s after a SIGQUIT the journal remembers: %+v", a, v)
		}
	}
}

// dashRig is a dashboard on a real sandbox nginx with the real runner, its own audit log and
// driver directories.
type dashRig struct {
	t     *testing.T
	sb    *sandbox.Sandbox
	dirs  driver.Dirs
	audit string
	m     Model
}

func newDashRig(t *testing.T) *dashRig {
	t.Helper()
	sb := sandboxtest.Start(t, sandbox.SandboxOptions{Workers: 1})
	upgradetest.Settled(t, sb, 1)
	r := &dashRig{t: t, sb: sb, dirs: testDirs(t), audit: filepath.Join(t.TempDir(), "audit.log")}
	log, err := audit.Open(r.audit)
	if err != nil {
		t.Fatal(err)
	}
	target := inspect.Target{PidFile: sb.PidFile}
	src := newLiveSource(inspect.NewScanner(), target)
	snap, err := src.Scan()
	if err != nil {
		t.Fatal(err)
	}
	r.m = New(Options{Target: target, NewBinary: upgradetest.Copy(t)}, Deps{Source: src, Actor: newRunnerActor(log, r.dirs)}, &snap)
	r.m = update(t, r.m, tea.WindowSizeMsg{Width: 120, Height: 40})
	return r
}

// step confirms the action of key (the path input first for i), runs it to its end and then
// one refresh, as the program would.
func (r *dashRig) step(k string) {
	r.t.Helper()
	m, _ := press(r.t, r.m, k) // i: the path input, prefilled; its cursor blink is not needed
	if k == "i" {
		var cmd tea.Cmd
		m, cmd = press(r.t, m, "enter")
		m = update(r.t, m, run(cmd))
	}
	if m.mode != modeConfirm {
		r.t.Fatalf("%s: no confirmation (mode %d, flash %+v)", k, m.mode, m.flash)
	}
	m, cmd := press(r.t, m, "y")
	done, ok := run(cmd).(stepDoneMsg)
	if !ok {
		r.t.Fatalf("%s: no step ran (flash %+v)", k, m.flash)
	}
	if done.res.Err != nil {
		r.t.Fatalf("%s: %v %v", k, done.res.Err, done.res.Lines)
	}
	m, cmd = updateCmd(r.t, m, done)
	r.m = update(r.t, m, run(cmd))
}

// headlessRollback runs `hotdeploy rollback --yes --json` in-process on the sandbox.
func (r *dashRig) headlessRollback() (int, string, string) {
	var out, errOut bytes.Buffer
	code := upgrade.Rollback(context.Background(), upgrade.HeadlessOptions{Target: inspect.Target{PidFile: r.sb.PidFile},
		JSON: true, AuditLog: r.audit, Dirs: r.dirs, Stderr: &errOut}, &out)
	return code, out.String(), errOut.String()
}

func (r *dashRig) checkRefused(how, step string) {
	r.t.Helper()
	code, out, errOut := r.headlessRollback()
	line := strings.TrimSuffix(errOut, "\n")
	want := fmt.Sprintf("hotdeploy: hotdeploy pid %d (user ", os.Getpid())
	if code != upgrade.ExitRefused || strings.Contains(line, "\n") || !strings.HasPrefix(line, want) ||
		!strings.Contains(line, "has driven "+driver.Key(r.sb.PidFile)) || !strings.HasSuffix(line, "step "+step+": wait for it or stop it") {
		r.t.Errorf("%s: headless rollback exit %d, stderr %q; want 2 and one line naming the dashboard at step %s\n%s",
			how, code, errOut, step, out)
	}
}

// TestDashboardHoldsTheWindowAgainstHeadlessRollback: from the dashboard's install until it
// quits, a headless rollback is refused naming the dashboard and its step; the dashboard
// quitting mid-upgrade lets the lock go and leaves the journal, and the rollback then restores
// the old build from the journal's backup.
func TestDashboardHoldsTheWindowAgainstHeadlessRollback(t *testing.T) {
	r := newDashRig(t)
	master := r.m.inst.Masters[0].PID
	origSHA := upgradetest.SHA256(t, r.sb.Binary)
	r.step("i")
	r.checkRefused("after the dashboard's install", "install")
	r.step("u")
	if r.m.inst.Phase != model.PhaseBothServing {
		t.Fatalf("after u: phase %s", r.m.inst.Phase)
	}
	r.checkRefused("while both masters serve", "upgrade")
	if _, cmd := press(t, r.m, "q"); run(cmd) != tea.Quit() {
		t.Fatalf("q did not quit")
	}
	if h := driver.ReadHolder(r.dirs.Runtime, driver.Key(r.sb.PidFile)); h != nil {
		t.Fatalf("the dashboard quit but the lock is held: %+v", h)
	}
	code, out, errOut := r.headlessRollback()
	if code != upgrade.ExitDone || !strings.Contains(out, "restored from the backup "+r.sb.Binary+".old") {
		t.Fatalf("headless rollback after the dashboard quit: exit %d\n%s%s", code, out, errOut)
	}
	upgradetest.CheckOldServes(t, r.sb, master, 1, 0, "rollback after the dashboard quit")
	if got := upgradetest.SHA256(t, r.sb.Binary); got != origSHA {
		t.Errorf("the old build is not back on disk")
	}
}

// TestDashboardLetsGoWhenIdle: the dashboard holds the lock through install, USR2, WINCH and
// commit, and lets it go at the first refresh that shows the instance idle again.
func TestDashboardLetsGoWhenIdle(t *testing.T) {
	r := newDashRig(t)
	key := driver.Key(r.sb.PidFile)
	for _, k := range []string{"i", "u", "w"} {
		r.step(k)
		if h := driver.ReadHolder(r.dirs.Runtime, key); h == nil || h.Command != "dashboard" {
			t.Fatalf("after %s the dashboard does not hold the lock: %+v", k, h)
		}
	}
	// Commit once the old workers are gone (the dashboard's WINCH does not wait for them).
	sandboxtest.WaitFor(t, inspect.NewScanner(), r.m.inst, 10*time.Second, "old-drained",
		func(in model.Instance) bool { return in.Phase == model.PhaseOldDrained })
	r.m = refreshNow(t, r.m)
	r.step("c")
	if h := driver.ReadHolder(r.dirs.Runtime, key); h != nil || r.m.inst.Phase != model.PhaseIdle {
		t.Errorf("after commit (phase %s) the lock is still held: %+v", r.m.inst.Phase, h)
	}
	j, err := driver.LoadJournal(r.dirs.State, key)
	if err != nil || j == nil || j.Outcome != driver.Committed || j.Driver.Command != "dashboard" {
		t.Errorf("journal after the dashboard's commit: %+v, %v", j, err)
	}
}

// TestDashboardRollbackUndoesAnInstall: installed and never started, the running build is put
// back on disk by the dashboard's rollback (DESIGN.md: r at whatever step is reached), with the
// installed file kept as .rejected, and no signal sent: the master serves on as it was.
func TestDashboardRollbackUndoesAnInstall(t *testing.T) {
	r := newDashRig(t)
	master := r.m.inst.Masters[0]
	origSHA := upgradetest.SHA256(t, r.sb.Binary)
	r.step("i")
	r.m = update(t, r.m, r.m.refreshCmd()())
	if upgradetest.SHA256(t, r.sb.Binary) == origSHA {
		t.Fatal("the install left the running build on disk")
	}
	if v := r.m.verdict(model.ActRollback); !v.Allowed {
		t.Fatalf("rollback refused after an install: %+v", v)
	}
	r.step("r")
	if got := upgradetest.SHA256(t, r.sb.Binary); got != origSHA {
		t.Errorf("after the rollback %s holds sha256 %.12s, want the running build %.12s", r.sb.Binary, got, origSHA)
	}
	if _, err := os.Stat(r.sb.Binary + ".rejected"); err != nil {
		t.Errorf("the installed build was not kept: %v", err)
	}
	for _, s := range upgradetest.Signals(t, r.audit) {
		t.Errorf("the rollback of an install sent a signal: %s", s)
	}
	cur := r.m.inst
	if len(cur.Masters) != 1 || cur.Masters[0].PID != master.PID || cur.Masters[0].StartTicks != master.StartTicks {
		t.Errorf("after the rollback the masters are %+v, want %d alone", cur.Masters, master.PID)
	}
}
