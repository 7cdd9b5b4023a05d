package upgrade_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/inspect"
	"github.com/hotdeploy/hotdeploy/nginxctl/proc"
	"github.com/hotdeploy/hotdeploy/nginxctl/sandbox/sandboxtest"
	"github.com/hotdeploy/hotdeploy/nginxctl/upgrade"
	"github.com/hotdeploy/hotdeploy/nginxctl/upgrade/upgradetest"
)

// generation lists a master and its children as the test saw them.
func generation(m model.Master) []model.Process {
	return append([]model.Process{m.Process}, m.Children...)
}

// checkAllExited fails for each process of ps the kernel does not report gone.
func checkAllExited(t *testing.T, how string, ps []model.Process) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for _, p := range ps {
		for !proc.Exited(p.PID, p.StartTicks) && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if !proc.Exited(p.PID, p.StartTicks) {
			t.Errorf("%s: %s %d still runs", how, p.Role, p.PID)
		}
	}
}

// killNewMaster SIGKILLs the new master of in (a process of the test's own sandbox) and waits
// until the kernel says it is gone.
func killNewMaster(t *testing.T, in model.Instance) {
	t.Helper()
	nw := in.New()
	if err := syscall.Kill(nw.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	checkAllExited(t, "SIGKILL of the new master", []model.Process{nw.Process})
}

// TestRollbackEndsWhatAKilledNewMasterLeft: a new master killed by SIGKILL (OOM, a crash)
// leaves its workers, cache manager and loader running, re-parented and still accepting on the
// inherited sockets. status names them, and the rollback ends every one of them (QUIT first)
// and lists them in `ended`, so that afterwards only the old build answers.
func TestRollbackEndsWhatAKilledNewMasterLeft(t *testing.T) {
	for _, drained := range []bool{false, true} {
		name := map[bool]string{false: "from both-serving", true: "from old-drained"}[drained]
		t.Run(name, func(t *testing.T) {
			rg := newRig(t, 2)
			in, _ := rg.upgradeTo()
			if drained {
				var err error
				if in, err = rg.runner.Drain(context.Background(), in, true); err != nil {
					t.Fatal(err)
				}
			}
			newGen := in.New().Children
			killNewMaster(t, in)

			snap, err := inspect.NewScanner().Resolve(inspect.Target{PidFile: rg.sb.PidFile})
			if err != nil {
				t.Fatal(err)
			}
			st := snap.Instances[0]
			if len(st.Orphans) != len(newGen) {
				t.Errorf("status names %d orphans %v, want the %d children of the killed master", len(st.Orphans), st.Orphans, len(newGen))
			}
			var js bytes.Buffer
			if err := inspect.WriteStatusJSON(&js, snap); err != nil {
				t.Fatal(err)
			}
			var doc struct {
				Instances []struct {
					Orphans []json.RawMessage `json:"orphans"`
				} `json:"instances"`
			}
			if err := json.Unmarshal(js.Bytes(), &doc); err != nil || len(doc.Instances[0].Orphans) != len(newGen) {
				t.Errorf("status --json orphans: %v %s", err, js.String())
			}

			code, res := rg.rollback()
			if code != upgrade.ExitDone || res.Result != "rolled-back" {
				t.Fatalf("rollback: exit %d, result %+v", code, res)
			}
			if len(res.Ended) != len(newGen) {
				t.Errorf("ended %+v, want the %d processes of the killed master", res.Ended, len(newGen))
			}
			checkAllExited(t, "after the rollback", newGen)
			rg.checkOldServes("after the rollback", 0)
			rg.checkBinary("after the rollback", rg.origSHA)
			for i := 0; i < 20; i++ {
				if pid := upgradetest.ServedBy(t, rg.sb); pid != 0 && !isChildOf(rg.instance().Masters[0], pid) {
					t.Fatalf("request %d answered by pid %d, not a worker of the old master", i, pid)
				}
			}
			if code, res := rg.rollback(); code != upgrade.ExitRefused {
				t.Errorf("a second rollback: exit %d, result %+v; want 2: nothing left to roll back", code, res)
			}
		})
	}
}

func isChildOf(m model.Master, pid int) bool {
	for _, c := range m.Children {
		if c.PID == pid {
			return true
		}
	}
	return false
}

// TestUntitledNewMasterIsStoppedAndRolledBack: a candidate that passes -v and -t but, started
// as the new master, hangs (or stops itself) before it titles itself. The ready timeout fires,
// and the rollback names that child of the old master, ends it (SIGKILL where nothing else
// works), restores the binary and leaves no .oldbin and no process of the candidate behind.
func TestUntitledNewMasterIsStoppedAndRolledBack(t *testing.T) {
	for _, mode := range []string{upgradetest.HangsAsNew, upgradetest.StopsAsNew} {
		t.Run(mode, func(t *testing.T) {
			rg := newRig(t, 1)
			opts := rg.opts(upgradetest.Wrapper(t, mode))
			opts.ReadyTimeout = 2 * time.Second
			code, res, out := rg.upgrade(context.Background(), opts)
			if code != upgrade.ExitRolledBack || res.Result != "rolled-back" {
				t.Fatalf("exit %d, result %+v\n%s", code, res, out)
			}
			rg.checkOldServes("after the rollback", 0)
			rg.checkBinary("after the rollback", rg.origSHA)
			if _, err := os.Stat(rg.sb.PidFile + ".oldbin"); err == nil {
				t.Errorf("%s.oldbin is left", rg.sb.PidFile)
			}
			if res.NewPID != 0 && !proc.Exited(res.NewPID, startTicksOf(t, res.NewPID)) {
				t.Errorf("the untitled new master %d still runs", res.NewPID)
			}
			for _, c := range rg.instance().Masters[0].Children {
				if c.Role == model.RoleUnknown {
					t.Errorf("a child of unknown role is left: %+v", c)
				}
			}
		})
	}
}

// startTicksOf reads the start time of a live pid, or 0 when it is gone.
func startTicksOf(t *testing.T, pid int) uint64 {
	st, err := proc.NewReader().Stat(pid)
	if err != nil {
		return 0
	}
	return st.StartTicks
}

// TestKilledNewMasterDuringUpgradeRollsBackAndEndsOrphans: the new master is SIGKILLed while
// the headless upgrade drains; the upgrade fails, rolls back, and ends the orphans.
func TestKilledNewMasterDuringUpgradeRollsBackAndEndsOrphans(t *testing.T) {
	rg := newRig(t, 2)
	_, release := rg.holdSlow() // keeps the drain open long enough to kill the new master in it
	defer release()
	opts := rg.opts(upgradetest.Copy(t))
	opts.DrainTimeout = 20 * time.Second
	done := make(chan struct{})
	var code int
	var res upgradetest.Result
	go func() {
		defer close(done)
		code, res, _ = rg.upgrade(context.Background(), opts)
	}()
	sc := inspect.NewScanner()
	in := sandboxtest.WaitFor(t, sc, rg.orig, 20*time.Second, "old-draining", func(in model.Instance) bool {
		return in.Phase == model.PhaseOldDraining
	})
	newGen := generation(*in.New())
	killNewMaster(t, in)
	<-done
	if code != upgrade.ExitRolledBack || res.Result != "rolled-back" {
		t.Fatalf("exit %d, result %+v", code, res)
	}
	if len(res.Ended) != len(newGen)-1 {
		t.Errorf("ended %+v, want the %d children of the killed master", res.Ended, len(newGen)-1)
	}
	checkAllExited(t, "after the rollback", newGen)
	release()
	rg.checkOldServes("after the rollback", 0)
}
