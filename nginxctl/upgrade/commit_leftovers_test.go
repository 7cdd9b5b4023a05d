package upgrade_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/proc"
	"github.com/hotdeploy/hotdeploy/nginxctl/upgrade"
	"github.com/hotdeploy/hotdeploy/nginxctl/upgrade/upgradetest"
	"golang.org/x/sys/unix"
)

// TestCommitEndsLeftoversWhenBothMastersDie: the commit's SIGQUIT reached the old master (a
// held download keeps it draining), then the new master died (SIGKILL). Once the old master is
// gone no master is left: the commit fails, and the workers the dead new master left, which
// would go on accepting with no master and hold the port, are ended and named (DESIGN.md safety
// rule 9). The chaos suite found them left running (kill new master after USR2, no held
// connection, a kill between the commit's SIGQUIT and the old master's exit).
func TestCommitEndsLeftoversWhenBothMastersDie(t *testing.T) {
	rg := newRig(t, 2)
	_, release := rg.holdSlow()
	in, _ := rg.upgradeTo()
	nw := *in.New()
	kids := append([]model.Process(nil), nw.Children...)
	if len(kids) == 0 {
		t.Fatalf("the new master %d has no children", nw.PID)
	}
	t.Cleanup(func() { // whatever the runner left: end it by pid and start time
		for _, k := range kids {
			if h, err := proc.Open(k.PID, k.StartTicks); err == nil {
				_ = unix.PidfdSendSignal(h.FD(), syscall.SIGKILL, nil, 0)
				h.Close()
			}
		}
	})
	rg.runner.Events = nil // the commit runs in another goroutine
	done := make(chan error, 1)
	go func() {
		_, err := rg.runner.Commit(context.Background(), in)
		done <- err
	}()
	quit := upgradetest.Sent("SIGQUIT", rg.master)
	for deadline := time.Now().Add(10 * time.Second); !slices.Contains(upgradetest.Signals(t, rg.audit), quit); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in the audit log: %v", quit, upgradetest.Signals(t, rg.audit))
		}
	}
	h, err := proc.Open(nw.PID, nw.StartTicks)
	if err != nil {
		t.Fatalf("the new master %d: %v", nw.PID, err)
	}
	err = unix.PidfdSendSignal(h.FD(), syscall.SIGKILL, nil, 0)
	for deadline := time.Now().Add(5 * time.Second); err == nil && !h.Exited() && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	h.Close()
	if err != nil || !proc.Exited(nw.PID, nw.StartTicks) {
		t.Fatalf("SIGKILL to the new master %d: %v (exited: %v)", nw.PID, err, proc.Exited(nw.PID, nw.StartTicks))
	}
	release() // the old master's last worker ends: the old master leaves
	var cerr error
	select {
	case cerr = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the commit did not return within 30 s of the old master's last worker ending")
	}
	if cerr == nil {
		t.Fatal("the commit succeeded with both masters gone")
	}
	ended := rg.runner.Ended()
	for _, k := range kids {
		if !proc.Exited(k.PID, k.StartTicks) {
			t.Errorf("%s %d of the dead new master still runs after the commit failed: %v", k.Role, k.PID, cerr)
		}
		if !slices.ContainsFunc(ended, func(e upgrade.Ended) bool { return e.PID == k.PID }) {
			t.Errorf("%s %d is not named among the ended %+v", k.Role, k.PID, ended)
		}
	}
	// The audit log says the commit ended them, not a rollback that never ran.
	for _, e := range upgradetest.AuditEntries(t, rg.audit) {
		if slices.ContainsFunc(kids, func(k model.Process) bool { return k.PID == e.PID }) && e.Signal != "" && e.Action != "commit" {
			t.Errorf("%s to %d, ended after the failed commit, is logged under action %q", e.Signal, e.PID, e.Action)
		}
	}
	t.Logf("commit: %v; ended %+v", cerr, ended)
}

// TestCommitRefusedWhenNewMasterDiesBeforeQuit: the new master dies after the commit's check
// allowed it but before its SIGQUIT goes out (the journal's fsyncs sit in between; the chaos
// suite hit it: kill new master after USR2, no held connection, 2 ms after SIGWINCH). The old
// master must not get SIGQUIT then: with the new master gone it is the only one serving.
func TestCommitRefusedWhenNewMasterDiesBeforeQuit(t *testing.T) {
	rg := newRig(t, 2)
	in, _ := rg.upgradeTo()
	in, err := rg.runner.Drain(context.Background(), in, false)
	if err != nil {
		t.Fatalf("drain: %v", err)
	}
	nw := *in.New()
	kids := append([]model.Process(nil), nw.Children...)
	t.Cleanup(func() {
		for _, k := range kids {
			if h, err := proc.Open(k.PID, k.StartTicks); err == nil {
				_ = unix.PidfdSendSignal(h.FD(), syscall.SIGKILL, nil, 0)
				h.Close()
			}
		}
	})
	rg.runner.SetAfterCommitCheckForTest(func(model.Instance) {
		h, err := proc.Open(nw.PID, nw.StartTicks)
		if err != nil {
			t.Errorf("the new master %d: %v", nw.PID, err)
			return
		}
		defer h.Close()
		_ = unix.PidfdSendSignal(h.FD(), syscall.SIGKILL, nil, 0)
		for deadline := time.Now().Add(5 * time.Second); !h.Exited() && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
	})
	_, cerr := rg.runner.Commit(context.Background(), in)
	if cerr == nil || !upgrade.IsRefused(cerr) {
		t.Errorf("commit with the new master dead: %v, want a refusal", cerr)
	}
	// The refusal says so in English, and carries it as a code for the dashboard's language.
	var se *upgrade.StepError
	want := fmt.Sprintf("the new master %d is gone: the old master %d serves and was not sent SIGQUIT", nw.PID, rg.master)
	if !errors.As(cerr, &se) || se.Reason != want || cerr.Error() != "commit refused: "+want {
		t.Errorf("commit refusal %v, want reason %q", cerr, want)
	} else if se.Why.Code != "the new master %d is gone: the old master %d serves and was not sent SIGQUIT" || se.Why.String() != se.Reason {
		t.Errorf("commit refusal's Why = %q / %q, want its code saying %q", se.Why.Code, se.Why.String(), se.Reason)
	}
	if slices.Contains(upgradetest.Signals(t, rg.audit), upgradetest.Sent("SIGQUIT", rg.master)) {
		t.Errorf("the old master %d got SIGQUIT after the new master died: %v", rg.master, upgradetest.Signals(t, rg.audit))
	}
	if !runsNginx(rg.master) {
		t.Errorf("the old master %d is gone", rg.master)
	}
}
