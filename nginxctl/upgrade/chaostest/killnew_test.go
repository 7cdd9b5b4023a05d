package chaostest

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hotdeploy/hotdeploy/nginxctl/proc"
	"github.com/hotdeploy/hotdeploy/nginxctl/upgrade/upgradetest"
)

// TestChaosKillNewMaster: `hotdeploy upgrade` runs, and at a random moment 0-300 ms after its
// SIGUSR2 the new master gets SIGKILL (before it exec'd, before it titled itself, while it
// starts its workers, while the old ones drain). Intended: rolled-back, exit 1, every process
// of the killed generation ended (its orphaned workers keep accepting otherwise), the old build
// on disk and its master serving with all its workers. With a held download the drain stays open,
// so every kill lands before the commit; without one a kill can come after the commit's SIGQUIT
// reached the old master, when nothing is left to roll back to: those tries are a class of their
// own, intended failed (exit 3) or, when the driver had finished first, committed.
func TestChaosKillNewMaster(t *testing.T) {
	rng := needChaos(t)
	tries := pick(4, 30)
	for _, held := range []bool{true, false} {
		name := "kill new master after USR2, drain held open"
		if !held {
			name = "kill new master after USR2, no held connection"
		}
		tally.Expect(name, tries)
		if !held {
			tally.Expect(name+" (before commit)", 1)
		}
		for i := 0; i < tries; i++ {
			delay := time.Duration(rng.IntN(301)) * time.Millisecond
			t.Run(fmt.Sprintf("held=%v/%d-%s", held, i, delay), func(t *testing.T) {
				o, detail := killNewTry(t, held, delay)
				tally.Add(t, name, o, detail)
			})
		}
	}
}

func killNewTry(t *testing.T, held bool, delay time.Duration) (Outcome, string) {
	tg := newTarget(t)
	var release func()
	if held {
		_, release = upgradetest.HoldSlow(t, tg.sb)
	}
	pre := tg.snapshotBefore()
	old := pre.tr.master
	preKids := map[int]bool{}
	for _, c := range childrenNow(old.pid) {
		preKids[c] = true
	}
	rec := newRecorder(tg.sb.PidFile, old.pid, 5*time.Millisecond)
	defer rec.finish()
	l := startHD(t, hdOpts{}, tg.hdArgs("upgrade", "--new-binary", upgradetest.Copy(t), "--yes", "--json")...)
	if _, ok := l.awaitEvent(30*time.Second, isSignal("SIGUSR2")); !ok {
		r := l.wait()
		return Outcome{}, "no SIGUSR2 event: " + r.String()
	}
	l.drainEvents()
	usr2 := time.Now()
	time.Sleep(delay)
	nw, err := awaitNewChild(old.pid, preKids, 10*time.Second)
	if err != nil {
		r := l.wait()
		return Outcome{}, fmt.Sprintf("%v; %s", err, r.String())
	}
	killErr := killNow(nw, syscall.SIGKILL)
	killAt := time.Now()
	r := l.wait()
	rec.finish()
	detail := fmt.Sprintf("SIGKILL to new master %d %s after USR2 (%v); %s", nw.pid, killAt.Sub(usr2).Round(time.Millisecond), killErr, r.String())
	if killErr != nil {
		return Outcome{}, detail
	}
	if r.res != nil {
		t.Logf("elapsed %d ms, ended %+v, hd wall %s", r.res.ElapsedMS, r.res.Ended, r.ended.Sub(l.started))
	}

	// Did the commit's SIGQUIT reach the old master before the kill? Then there was nothing left
	// to roll back to, whatever the driver does.
	var quitAt, doneAt time.Time
	for _, e := range r.events {
		if e.Kind == "signal" && e.Signal == "SIGQUIT" && e.PID == old.pid {
			quitAt = e.Time
		}
		if e.Step == "commit" && e.Kind == "done" {
			doneAt = e.Time
		}
	}
	late := !quitAt.IsZero() && quitAt.Before(killAt.Add(2*time.Millisecond))
	o := Outcome{}
	if !held {
		o.Class = "before commit"
		if late {
			o.Class = "after the commit's SIGQUIT"
		}
	}
	tr, wrong := tg.judge(r, pre, false)
	var why []string
	if late {
		// Intended: failed (exit 3), or committed when the driver had finished before the kill.
		finished := !doneAt.IsZero() && doneAt.Before(killAt)
		switch {
		case r.code == 3 && r.res != nil && r.res.Result == "failed":
			o.Intended = true
		case finished && r.code == 0 && r.res != nil && r.res.Result == "committed":
			o.Intended = true
			wrong = nil // the kill came after the verdict: the truth now is ours, not its
		default:
			why = append(why, "want failed exit 3 (or committed before the kill), got "+r.verdict())
		}
	} else {
		o.Intended = r.code == 1 && r.res != nil && r.res.Result == "rolled-back" && r.res.OldPID == old.pid
		if !o.Intended {
			why = append(why, "want exit 1 rolled-back from "+fmt.Sprint(old.pid)+", got "+r.verdict())
		}
		if tr.binarySHA != pre.tr.binarySHA {
			o.Intended = false
			why = append(why, fmt.Sprintf("the binary on disk is %.12s, not the old build %.12s", tr.binarySHA, pre.tr.binarySHA))
		}
		// Every process the result says it ended must be one of the killed generation, and gone.
		for _, e := range r.resEnded() {
			if !recordedUnder(rec, e, nw.pid) {
				wrong = append(wrong, fmt.Sprintf("ended lists pid %d, never seen as a child of the new master %d", e, nw.pid))
			}
		}
		if leaks := rec.leaks(old.pid); len(leaks) > 0 {
			o.Leaked = len(leaks)
			why = append(why, "left running: "+joinLines(leaks))
		}
	}
	if release != nil {
		release()
	}
	o.Wrong = len(wrong)
	if l := lost(pre.builds, tg.builds(tr.master)); len(l) > 0 {
		o.Lost = len(l)
		why = append(why, "lost: "+joinLines(l))
	}
	if len(wrong) > 0 {
		why = append(why, "wrong: "+joinLines(wrong))
	}
	return o, strings.Join(append(why, detail), "; ")
}

// awaitNewChild waits until master has a child that was not among known (its new master, forked
// on SIGUSR2) and returns its identity.
func awaitNewChild(master int, known map[int]bool, timeout time.Duration) (procKey, error) {
	r := proc.NewReader()
	for deadline := time.Now().Add(timeout); ; time.Sleep(time.Millisecond) {
		kids, err := r.Children(master)
		if err != nil {
			return procKey{}, fmt.Errorf("master %d is gone before its new master was seen: %v", master, err)
		}
		for _, c := range kids {
			if !known[c] {
				if k, err := statKey(c); err == nil {
					return k, nil
				}
			}
		}
		if time.Now().After(deadline) {
			return procKey{}, fmt.Errorf("master %d started no new master within %s", master, timeout)
		}
	}
}

// resEnded lists the pids of the result's ended array.
func (r run) resEnded() []int {
	if r.res == nil {
		return nil
	}
	var out []int
	for _, e := range r.res.Ended {
		out = append(out, e.PID)
	}
	return out
}

// recordedUnder tells whether pid was recorded as a child of master.
func recordedUnder(rec *recorder, pid, master int) bool {
	for _, s := range rec.childrenOf(master) {
		if s.pid == pid {
			return true
		}
	}
	return false
}
