package ui

import (
	"os"
	"strings"
	"testing"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/upgrade"
)

func TestDialogNamesSignalTargetAndDefaultsToNo(t *testing.T) {
	m, _, act := newModel(t, Options{}, installedInstance())
	m, _ = press(t, m, "u")
	if m.mode != modeConfirm || m.dialog == nil || m.dialog.action != model.ActUpgrade {
		t.Fatalf("u did not open the upgrade dialog (mode %d)", m.mode)
	}
	v := m.View()
	for _, want := range []string{"SIGUSR2 to pid 1000", "nginx: master process /usr/sbin/nginx", "nginx renames /run/nginx.pid", "[ No ]"} {
		if !strings.Contains(v, want) {
			t.Errorf("dialog lacks %q:\n%s", want, v)
		}
	}
	for _, k := range []string{"n", "esc", "x", "enter", "space", "Y", "u"} {
		m2, _ := press(t, m, k)
		if m2.mode != modeNormal || m2.dialog != nil {
			t.Errorf("%s left the dialog open", k)
		}
		if m2.flash == nil || !strings.Contains(m2.flash.text, "cancelled: nothing was sent") {
			t.Errorf("%s: flash = %+v", k, m2.flash)
		}
	}
	if calls := act.called(); len(calls) != 0 {
		t.Errorf("cancelled dialogs ran %v", calls)
	}
}

func TestConfirmRunsOneActionAtATime(t *testing.T) {
	m, _, act := newModel(t, Options{}, bothServingInstance())
	m, cmd := press(t, m, "w", "y")
	if m.busy == nil || m.busy.action != model.ActDrain {
		t.Fatalf("y did not start the drain")
	}
	if m.verdict(model.ActCommit).Allowed {
		t.Errorf("commit allowed while the drain runs")
	}
	m, _ = press(t, m, "c")
	if m.mode != modeNormal || m.flash == nil || !strings.Contains(m.flash.text, "still running") {
		t.Errorf("c while busy: mode %d flash %+v", m.mode, m.flash)
	}
	msg := run(cmd)
	done, ok := msg.(stepDoneMsg)
	if !ok {
		t.Fatalf("the step command returned %T", msg)
	}
	if calls := act.called(); len(calls) != 1 || calls[0].action != model.ActDrain || calls[0].target != 1000 {
		t.Fatalf("actor calls %v, want one drain of instance 1000", calls)
	}
	m, cmd = updateCmd(t, m, done)
	if m.busy != nil {
		t.Errorf("still busy after the step finished")
	}
	if cmd == nil {
		t.Errorf("a finished step does not re-read the instance at once")
	}
}

func TestCommitDialogWarnsWhenBothServe(t *testing.T) {
	m, _, _ := newModel(t, Options{}, bothServingInstance())
	m, _ = press(t, m, "c")
	v := m.View()
	for _, want := range []string{"SIGQUIT to pid 1000", "Cannot be undone", "Warning: the old workers were not drained"} {
		if !strings.Contains(v, want) {
			t.Errorf("commit dialog lacks %q:\n%s", want, v)
		}
	}
	m, _, _ = newModel(t, Options{}, oldDrainedInstance())
	m, _ = press(t, m, "c")
	if v := m.View(); strings.Contains(v, "Warning:") || !strings.Contains(v, "Cannot be undone") {
		t.Errorf("commit from old-drained:\n%s", v)
	}
}

func TestRollbackDialogSaysWhatCannotBeUndone(t *testing.T) {
	m, _, _ := newModel(t, Options{}, oldDrainedInstance())
	m, _ = press(t, m, "r")
	v := m.View()
	for _, want := range []string{"SIGHUP to pid 1000", "starts its workers again", "Cannot be undone"} {
		if !strings.Contains(v, want) {
			t.Errorf("rollback dialog lacks %q:\n%s", want, v)
		}
	}
}

func TestDialogRefusesWhenTargetChanged(t *testing.T) {
	changes := map[string]func() model.Instance{
		"restarted": func() model.Instance {
			in := installedInstance()
			in.Masters[0].StartTicks++
			return in
		},
		"phase": bothServingInstance,
		"gone":  func() model.Instance { return model.Instance{} },
	}
	for name, change := range changes {
		m, src, act := newModel(t, Options{}, installedInstance())
		m, _ = press(t, m, "u")
		if name == "gone" {
			src.set()
		} else {
			src.set(change())
		}
		m = update(t, m, run(m.refreshCmd()))
		if m.mode != modeConfirm || m.dialog == nil {
			t.Fatalf("%s: a refresh closed the dialog", name)
		}
		if v := m.View(); !strings.Contains(v, "Target changed") {
			t.Errorf("%s: dialog does not say the target changed:\n%s", name, v)
		}
		m, _ = press(t, m, "y")
		if m.flash == nil || !m.flash.isErr || !strings.Contains(m.flash.text, "refused") {
			t.Errorf("%s: y said %+v", name, m.flash)
		}
		if calls := act.called(); len(calls) != 0 {
			t.Errorf("%s: a stale dialog ran %v", name, calls)
		}
	}
}

func TestRefreshGoesOnBehindDialog(t *testing.T) {
	m, src, _ := newModel(t, Options{}, bothServingInstance())
	m, _ = press(t, m, "w")
	cmd := m.read()
	if cmd == nil {
		t.Fatal("no refresh under the dialog")
	}
	in := bothServingInstance()
	in.Masters[1].Children[0].PID = 2099
	src.set(in)
	m, cmd = updateCmd(t, m, run(cmd))
	if !strings.Contains(m.View(), "2099") {
		t.Errorf("the table under the dialog did not refresh")
	}
	if cmd == nil {
		t.Errorf("the refresh loop was not re-armed")
	}
	if m.dialog == nil || m.dialog.stale != "" {
		t.Errorf("a new worker pid made the dialog stale: %+v", m.dialog)
	}
}

func TestInstallAsksForPathThenConfirms(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	m, _, act := newModel(t, Options{NewBinary: "/does/not/exist"}, idleInstance())
	m, _ = press(t, m, "i")
	if m.mode != modeInput || m.input.Value() != "/does/not/exist" {
		t.Fatalf("i: mode %d value %q, want the input prefilled from --new-binary", m.mode, m.input.Value())
	}
	m, cmd := press(t, m, "enter")
	m = update(t, m, run(cmd))
	if m.mode != modeInput || m.flash == nil || !m.flash.isErr {
		t.Fatalf("a missing path: mode %d flash %+v", m.mode, m.flash)
	}
	m.input.SetValue(self)
	m, cmd = press(t, m, "enter")
	m = update(t, m, run(cmd))
	if m.mode != modeConfirm || m.dialog == nil || m.dialog.action != model.ActInstall {
		t.Fatalf("a valid path did not open the install dialog (mode %d, flash %+v)", m.mode, m.flash)
	}
	if v := m.View(); !strings.Contains(v, "candidate: "+self) || !strings.Contains(v, "/usr/sbin/nginx.old") {
		t.Errorf("install dialog:\n%s", v)
	}
	_, cmd = press(t, m, "y")
	run(cmd)
	if calls := act.called(); len(calls) != 1 || calls[0].action != model.ActInstall || calls[0].candidate != self {
		t.Errorf("actor calls %v", calls)
	}
}

func TestInputEscCancels(t *testing.T) {
	m, _, act := newModel(t, Options{NewBinary: "/x"}, idleInstance())
	m, _ = press(t, m, "i", "n", "esc")
	if m.mode != modeNormal || len(act.called()) != 0 {
		t.Errorf("esc: mode %d calls %v", m.mode, act.called())
	}
}

func TestConfigTestShowsOutputWithoutDialog(t *testing.T) {
	m, _, act := newModel(t, Options{}, idleInstance())
	act.result = StepResult{Lines: []string{"nginx: the configuration file /etc/nginx/nginx.conf syntax is ok",
		"nginx: configuration file /etc/nginx/nginx.conf test is successful"}}
	m, cmd := press(t, m, "t")
	if m.mode != modeNormal {
		t.Fatalf("t opened mode %d", m.mode)
	}
	m = update(t, m, run(cmd))
	v := m.View()
	if !strings.Contains(v, "config test passed") || !strings.Contains(v, "test is successful") {
		t.Errorf("test output not shown:\n%s", v)
	}
	m, _ = press(t, m, "esc")
	if m.output != nil {
		t.Errorf("esc did not close the result panel")
	}
}

func TestFailureShowsLogAndOffersRollback(t *testing.T) {
	m, _, act := newModel(t, Options{}, bothServingInstance())
	act.result = StepResult{Err: &upgrade.StepError{Step: "drain", Reason: "the new master 2000 exited while the old workers drained",
		Log: []string{"2026/01/02 03:04:05 [emerg] 2000#2000: bind() to 127.0.0.1:80 failed (98: Address in use)"}}}
	m, cmd := press(t, m, "w", "y")
	m = update(t, m, run(cmd))
	v := m.View()
	for _, want := range []string{"drain old workers failed: the new master 2000 exited", "!! 03:04:05 [emerg] 2000: bind()", "press r to roll back"} {
		if !strings.Contains(v, want) {
			t.Errorf("failure view lacks %q:\n%s", want, v)
		}
	}
	if !m.verdict(model.ActRollback).Allowed {
		t.Errorf("rollback not offered after a failure")
	}
	if steps := m.steps(); steps[3].state != stateFailed {
		t.Errorf("drain step state %d, want failed", steps[3].state)
	}
}

// TestNoRollbackAfterQuitReachedOldMaster: a commit that sent SIGQUIT but did not see the old
// master leave (it still drains) fails; rollback must not be offered then, since a HUP cannot
// bring back a master that is quitting.
func TestNoRollbackAfterQuitReachedOldMaster(t *testing.T) {
	m, _, act := newModel(t, Options{}, oldDrainingInstance())
	act.result = StepResult{Err: &upgrade.StepError{Step: "commit", Reason: "the old master 1000 is still there after 1m10s"}, QuitSent: 1000}
	m, cmd := press(t, m, "c", "y")
	m = update(t, m, run(cmd))
	v := m.verdict(model.ActRollback)
	if v.Allowed || !strings.Contains(v.Reason, "got SIGQUIT") {
		t.Fatalf("rollback verdict after SIGQUIT: %+v", v)
	}
	view := m.View()
	if strings.Contains(view, "press r to roll back") {
		t.Errorf("the failure panel still offers rollback:\n%s", view)
	}
	if steps := m.steps(); steps[len(steps)-1].detail != "not after QUIT" {
		t.Errorf("rollback step says %q", steps[len(steps)-1].detail)
	}
}

// A commit that failed without sending SIGQUIT (the kill itself failed, or the commit stopped
// before it) leaves the old master as it was: rollback stays offered. And when the journal's
// last word is "sending" (a driver stopped mid-send), the refusal says the signal may have gone
// out, not that it did.
func TestRollbackAfterACommitThatSentNothingOrMayHave(t *testing.T) {
	m, _, act := newModel(t, Options{}, oldDrainingInstance())
	act.result = StepResult{Err: &upgrade.StepError{Step: "commit", Reason: "send SIGQUIT to master 1000: operation not permitted"}}
	m, cmd := press(t, m, "c", "y")
	m = update(t, m, run(cmd))
	if v := m.verdict(model.ActRollback); !v.Allowed {
		t.Fatalf("rollback refused after a commit that sent nothing: %+v", v)
	}

	m, _, act = newModel(t, Options{}, oldDrainingInstance())
	act.result = StepResult{Err: &upgrade.StepError{Step: "commit", Reason: "interrupted"}, QuitSent: 1000, QuitUnsure: true}
	m, cmd = press(t, m, "c", "y")
	m = update(t, m, run(cmd))
	if v := m.verdict(model.ActRollback); v.Allowed || !strings.Contains(v.Reason, "may have got SIGQUIT") {
		t.Fatalf("rollback verdict after a SIGQUIT that may have gone out: %+v", v)
	}
}
