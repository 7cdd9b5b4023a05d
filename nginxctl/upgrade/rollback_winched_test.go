package upgrade_test

import (
	"bytes"
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/proc"
	"github.com/hotdeploy/hotdeploy/nginxctl/sandbox/sandboxtest"
	"github.com/hotdeploy/hotdeploy/nginxctl/upgrade"
	"github.com/hotdeploy/hotdeploy/nginxctl/upgrade/upgradetest"
	"golang.org/x/sys/unix"
)

// TestRollbackRestartsTheWorkersOfAWinchedOldMaster: the new master dies just before SIGWINCH
// reaches the old master (the chaos suite hit it with a SIGKILL 157 ms after USR2). nginx
// restarts the old workers by itself only when the new binary exits after WINCH; here it exits
// first, then the old master honours WINCH with no new master left: nobody accepts. A rollback
// must send SIGHUP so the old master starts workers again, not report rolled-back with none.
func TestRollbackRestartsTheWorkersOfAWinchedOldMaster(t *testing.T) {
	rg := newRig(t, 2)
	ctx := context.Background()
	in, _ := rg.upgradeTo()
	old, nw := in.Masters[0], *in.New()
	h, err := proc.Open(nw.PID, nw.StartTicks)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.PidfdSendSignal(h.FD(), syscall.SIGKILL, nil, 0); err != nil {
		t.Fatal(err)
	}
	h.Close()
	in = sandboxtest.WaitFor(t, rg.scanner, in, 10*time.Second, "the pid file back on the old master", func(in model.Instance) bool {
		return in.New() == nil && in.PidFilePID == old.PID && in.OldbinPID == 0 && in.Masters[0].ActiveWorkers() == rg.workers
	})
	if err := rg.runner.SendForTest(ctx, in, model.ActDrain, old.Process, syscall.SIGWINCH); err != nil {
		t.Fatal(err)
	}
	sandboxtest.WaitFor(t, rg.scanner, in, 10*time.Second, "no old worker left", func(in model.Instance) bool {
		return len(in.Masters[0].Workers()) == 0
	})
	var out bytes.Buffer
	code := upgrade.Rollback(ctx, rg.opts(""), &out)
	res := upgradetest.LastResult(t, out.String())
	if code != 0 || res.Result != "rolled-back" {
		t.Fatalf("rollback: exit %d, %+v\n%s", code, res, out.String())
	}
	rg.checkOldServes("after the rollback of a WINCHed old master whose new master died", 0)
	rg.checkBinary("after the rollback", rg.origSHA)
}
