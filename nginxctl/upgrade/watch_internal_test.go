package upgrade

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/proc"
)

// liveProcess starts a child that lives until the test kills it, and returns it as a refresh
// would see it.
func liveProcess(t *testing.T) (*exec.Cmd, model.Process) {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	st, err := proc.NewReader().Stat(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	return cmd, model.Process{PID: cmd.Process.Pid, StartTicks: st.StartTicks, Comm: st.Comm, Role: model.RoleMaster}
}

// TestStartWatchAsksTheKernelBeforeCallingTheNewMasterGone: a refresh can fail to classify a
// live new master (its title read in the middle of execve is empty or stale). The start watch
// must not say "the new master exited" then; only once the kernel reports the exit.
func TestStartWatchAsksTheKernelBeforeCallingTheNewMasterGone(t *testing.T) {
	cmd, nw := liveProcess(t)
	old := model.Master{Process: model.Process{PID: os.Getpid(), Role: model.RoleMaster}}
	w := &startWatch{ctx: context.Background(), old: old.PID, want: 1, log: &logSince{}}
	seen := model.Instance{Masters: []model.Master{old, {Process: nw}}, OldbinPID: old.PID}
	unclassified := model.Instance{Masters: []model.Master{old}, OldbinPID: old.PID}

	if done, err := w.check(seen, nil); done || err != nil {
		t.Fatalf("new master seen starting: done %v, err %v", done, err)
	}
	if done, err := w.check(unclassified, nil); done || err != nil {
		t.Fatalf("a refresh that misses the live new master %d: done %v, err %v; want to go on waiting", nw.PID, done, err)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	_, err := w.check(unclassified, nil)
	if err == nil || !strings.Contains(err.Error(), "exited") {
		t.Fatalf("after the new master really exited: err %v, want it named as exited", err)
	}
}
