package inspect_test

import (
	"syscall"
	"testing"
	"time"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/inspect"
	"github.com/hotdeploy/hotdeploy/nginxctl/proc"
	"github.com/hotdeploy/hotdeploy/nginxctl/sandbox"
	"github.com/hotdeploy/hotdeploy/nginxctl/sandbox/sandboxtest"
)

// TestMasterTitledChildIsNewMasterOnlyOnceItExeced: right after a master forks a worker, the
// worker still carries the title "master process" until it renames itself. The scanner must not
// take it for the new master of an upgrade, which has exec'd its binary (a worker never does).
// The window lasts microseconds, so the test shows the scanner real processes of a real upgrade
// with the workers' titles as they were at their fork.
func TestMasterTitledChildIsNewMasterOnlyOnceItExeced(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.SandboxOptions{Workers: 1})
	oldPID, err := inspect.ReadPidFile(sb.PidFile)
	if err != nil {
		t.Fatal(err)
	}
	s := inspect.NewScanner()
	in, err := s.InstanceOf(oldPID)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(oldPID, syscall.SIGUSR2); err != nil {
		t.Fatal(err)
	}
	for i := 0; len(in.Masters) < 2 || in.Masters[1].ActiveWorkers() == 0; i++ {
		if i == 2000 {
			t.Fatalf("no new master with a worker after SIGUSR2; error log: %s", inspect.TailFile(sb.ErrorLog, 3))
		}
		time.Sleep(5 * time.Millisecond)
		if in, err = s.Refresh(in); err != nil {
			t.Fatal(err)
		}
	}
	oldWorker, newMaster, newWorker := in.Masters[0].Workers()[0], in.Masters[1].Process, in.Masters[1].Workers()[0]
	for _, c := range []struct {
		p      model.Process
		forked bool
	}{{oldWorker, true}, {newWorker, true}, {newMaster, false}} {
		st, err := proc.NewReader().Stat(c.p.PID)
		if err != nil {
			t.Fatal(err)
		}
		if got := st.Flags&proc.PFForkNoExec != 0; got != c.forked {
			t.Fatalf("%s %d: PF_FORKNOEXEC %v, want %v", c.p.Role, c.p.PID, got, c.forked)
		}
	}

	asJustForked := func(p model.Process) model.Process { p.Role, p.Title = model.RoleMaster, newMaster.Title; return p }
	kids := map[int][]model.Process{
		oldPID:        {asJustForked(oldWorker), newMaster},
		newMaster.PID: {asJustForked(newWorker)},
	}
	got := s.AssembleForTest(in.Masters[0].Process, func(pid int) []model.Process {
		return append([]model.Process(nil), kids[pid]...)
	})
	if len(got.Masters) != 2 || got.Masters[1].PID != newMaster.PID {
		t.Fatalf("masters %+v, want old %d then new %d", got.Masters, oldPID, newMaster.PID)
	}
	for _, m := range got.Masters {
		if len(m.Children) != 1 || m.Children[0].Role != model.RoleUnknown {
			t.Errorf("children of %s master %d: %+v, want one still-starting (unknown) process", m.Generation, m.PID, m.Children)
		}
	}
}
