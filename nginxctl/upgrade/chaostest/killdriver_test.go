package chaostest

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hotdeploy/hotdeploy/nginxctl/driver"
	"github.com/hotdeploy/hotdeploy/nginxctl/proc"
	"github.com/hotdeploy/hotdeploy/nginxctl/upgrade/upgradetest"
)

// testingT is what the helpers need of a test.
type testingT = testing.TB

// killPoint is when a try SIGKILLs `hotdeploy upgrade`: right after the event that ends a step
// reached this test (the driver may have gone a little further), or at a random moment.
type killPoint struct {
	name  string
	match func(event) bool // nil: at a random moment 0-1500 ms after the start
	hold  bool             // a held download keeps the old workers draining
}

var killPoints = []killPoint{
	{"after install", func(e event) bool { return e.Step == "install" && e.Kind == "done" }, false},
	{"after SIGUSR2", isSignal("SIGUSR2"), false},
	{"new master serving", func(e event) bool { return e.Step == "upgrade" && e.Kind == "done" }, false},
	{"after SIGWINCH, drain held", isSignal("SIGWINCH"), true},
	{"drained", func(e event) bool { return e.Step == "drain" && e.Kind == "done" }, false},
	{"after SIGQUIT", isSignal("SIGQUIT"), false},
	{"random moment", nil, false},
	{"random moment, drain held", nil, true},
}

// TestChaosKillDriver: `hotdeploy upgrade` gets SIGKILL at each step and at random moments.
// Then `status --json` must agree with /proc, and a recovery (drawn: `upgrade --resume` or
// `rollback`) must finish it. Intended for --resume: committed (exit 0: the candidate on disk,
// the new master alone serving), or refused (exit 2) when the kill came before anything changed.
// For rollback: rolled-back (exit 0: the old build on disk, the old master serving), or refused
// (exit 2) when nothing had changed or the commit's SIGQUIT had reached the old master, after
// which a --resume must report the commit (exit 0).
func TestChaosKillDriver(t *testing.T) {
	rng := needChaos(t)
	tries := pick(1, 4)
	const name = "SIGKILL of hotdeploy, status, recovery"
	tally.Expect(name, tries*len(killPoints))
	for _, kp := range killPoints {
		for i := 0; i < tries; i++ {
			then := []string{"resume", "rollback"}[rng.IntN(2)]
			delay := time.Duration(rng.IntN(1501)) * time.Millisecond
			t.Run(fmt.Sprintf("%s/%d-%s", kp.name, i, then), func(t *testing.T) {
				o, detail := killDriverTry(t, kp, then, delay)
				o.Class = then
				tally.Add(t, name, o, fmt.Sprintf("killed %s, recovered by %s: %s", kp.name, then, detail))
			})
		}
	}
}

func killDriverTry(t *testing.T, kp killPoint, then string, delay time.Duration) (Outcome, string) {
	tg := newTarget(t)
	var release func()
	if kp.hold {
		_, release = upgradetest.HoldSlow(t, tg.sb)
	}
	pre := tg.snapshotBefore()
	old := pre.tr.master
	cand := upgradetest.Copy(t)
	candSHA := fileSum(t, cand)
	rec := newRecorder(tg.sb.PidFile, old.pid, 10*time.Millisecond)
	defer rec.finish()
	l := startHD(t, hdOpts{}, tg.hdArgs("upgrade", "--new-binary", cand, "--yes", "--json")...)
	if kp.match != nil {
		if _, ok := l.awaitEvent(time.Minute, kp.match); !ok {
			r := l.wait()
			return Outcome{}, "the kill point never came: " + r.String()
		}
	} else {
		time.Sleep(delay)
	}
	l.kill()
	killed := l.wait()
	var why, wrong []string
	if d := tg.compareStatus(t, old); d != "" {
		wrong = append(wrong, "after the kill: "+d)
	}
	// The commit's SIGQUIT reached the old master (it exited, or the audit log says sent), or
	// may have: the killed driver's journal says "sending" (written before the signal goes out,
	// the audit entry after it), and a driver killed in between leaves no way to know. Either
	// way no rollback can bring the old workers back.
	quitSent := proc.Exited(old.pid, old.start) || slices.Contains(upgradetest.Signals(t, tg.audit), upgradetest.Sent("SIGQUIT", old.pid)) ||
		quitSending(tg.sb.PidFile, old)
	changed := tg.read().binarySHA != pre.tr.binarySHA || len(childrenNow(old.pid)) != len(pre.tr.workers)+len(pre.tr.others)
	if release != nil && then == "resume" {
		release() // the resume drains: let the held download end
	}
	was := tg.read()
	if len(was.strays) > 0 {
		t.Logf("note: the killed driver left %v beside the binary", was.strays)
	}
	recovery := tg.hdArgs("rollback", "--yes", "--json")
	if then == "resume" {
		recovery = tg.hdArgs("upgrade", "--resume", "--yes", "--json")
	}
	r := hd(t, hdOpts{}, recovery...)
	tr, w := tg.judgeFrom(r, old, was, then == "rollback")
	wrong = append(wrong, w...)
	o := Outcome{}
	finalMaster := tr.master.pid
	switch {
	case then == "resume" && r.code == 0 && r.res != nil && r.res.Result == "committed":
		o.Intended = tr.binarySHA == candSHA && tr.master.pid != old.pid
	case then == "rollback" && r.code == 0 && r.res != nil && r.res.Result == "rolled-back":
		o.Intended = tr.master == old && tr.binarySHA == pre.tr.binarySHA
	case r.code == 2 && !changed:
		o.Intended = unchanged(pre.tr, tr) == ""
	case then == "rollback" && r.code == 2 && quitSent:
		// No going back after SIGQUIT: a --resume must report the commit.
		fin := hd(t, hdOpts{}, tg.hdArgs("upgrade", "--resume", "--yes", "--json")...)
		ftr, fw := tg.judgeFrom(fin, old, tr, false)
		wrong = append(wrong, fw...)
		o.Intended = fin.code == 0 && fin.res != nil && fin.res.Result == "committed" && ftr.binarySHA == candSHA
		finalMaster = ftr.master.pid
		if !o.Intended {
			why = append(why, "the --resume after the refused rollback: "+fin.String())
		}
	}
	if !o.Intended {
		why = append(why, fmt.Sprintf("%s: got %s (changed before: %v, SIGQUIT sent: %v), master %v (old %v), binary %.12s (old %.12s, candidate %.12s)",
			then, r.verdict(), changed, quitSent, tr.master, old, tr.binarySHA, pre.tr.binarySHA, candSHA))
	}
	if release != nil {
		release()
	}
	rec.finish()
	if leaks := rec.leaks(finalMaster); len(leaks) > 0 {
		o.Leaked = len(leaks)
		why = append(why, "left running: "+joinLines(leaks))
	}
	if l := lost(pre.builds, tg.builds(tg.read().master)); len(l) > 0 {
		o.Lost = len(l)
		why = append(why, "lost: "+joinLines(l))
	}
	o.Wrong = len(wrong)
	if len(wrong) > 0 {
		why = append(why, "wrong: "+joinLines(wrong))
	}
	if len(why) > 0 {
		why = append(why, "killed run: "+clip(killed.stdout, 1500), "recovery: "+r.String())
	}
	return o, strings.Join(why, "; ")
}

// quitSending tells whether the journal a killed driver left for the instance of pidFile says
// it was sending SIGQUIT to old when it died (the record written before the signal goes out).
func quitSending(pidFile string, old procKey) bool {
	j, err := driver.LoadJournal(os.Getenv(driver.EnvStateDir), driver.Key(pidFile))
	return err == nil && j.Unsure("SIGQUIT", &driver.Master{PID: old.pid, StartTicks: old.start})
}
