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

// TestChaosKillNewMaster: `hotdeploy upgrade` runs, and the new master gets SIGKILL at a moment
// after SIGUSR2 (before it exec'd, before it titled itself, while it starts its workers, while
// the old ones drain). Intended: rolled-back, exit 1, every process of the killed generation
// ended (its orphaned workers keep accepting otherwise), the old build on disk and its master
// serving with all its workers.
//
// With a held download the drain stays open, so every kill lands before the commit: the kill
// comes at a random moment 0-300 ms after SIGUSR2. Without one a whole upgrade takes about
// 100 ms on a quiet machine, so a fixed delay would mostly land after the commit and test
// nothing of what the case claims. There the kill is placed by what the driver reports, in turn:
// just after SIGUSR2 (0-60 ms: the new master starting), just after the new master was seen
// serving (0-20 ms), just after SIGWINCH (0-20 ms: the old workers draining, the commit near).
// A kill can still come after the commit's SIGQUIT reached the old master, when nothing is left
// to roll back to: those tries are a class of their own, intended failed (exit 3) or, when the
// driver had finished first, committed (its verdict checked as of when it exited; the test then
// ends the orphaned workers of the master it killed, by pid). At least half of the tries must
// land before the commit, or the case fails.
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
			tally.Expect(name+" (before commit)", (tries+1)/2)
		}
		for i := 0; i < tries; i++ {
			km := killMoment{"usr2", nil, time.Duration(rng.IntN(301)) * time.Millisecond}
			if !held {
				km = noHeldMoments[i%len(noHeldMoments)]
				km.delay = time.Duration(rng.IntN(int(km.delay/time.Millisecond)+1)) * time.Millisecond
			}
			t.Run(fmt.Sprintf("held=%v/%d-%s+%s", held, i, km.after, km.delay), func(t *testing.T) {
				o, detail := killNewTry(t, held, km)
				tally.Add(t, name, o, detail)
			})
		}
	}
}

// killMoment is when a try kills the new master: delay after the driver's event that match
// picks (named after), or after its SIGUSR2 event when match is nil.
type killMoment struct {
	after string
	match func(event) bool
	delay time.Duration // for noHeldMoments: the most of the random delay
}

var noHeldMoments = []killMoment{
	{"usr2", nil, 60 * time.Millisecond}, // the SIGUSR2 event every try awaits first
	{"serving", func(e event) bool { return e.Step == "upgrade" && e.Kind == "done" }, 20 * time.Millisecond},
	{"winch", isSignal("SIGWINCH"), 20 * time.Millisecond},
}

func killNewTry(t *testing.T, held bool, km killMoment) (Outcome, string) {
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
	cand := upgradetest.Copy(t)
	candSHA := fileSum(t, cand)
	rec := newRecorder(tg.sb.PidFile, old.pid, 5*time.Millisecond)
	defer rec.finish()
	l := startHD(t, hdOpts{}, tg.hdArgs("upgrade", "--new-binary", cand, "--yes", "--json")...)
	if _, ok := l.awaitEvent(30*time.Second, isSignal("SIGUSR2")); !ok {
		r := l.wait()
		return Outcome{}, "no SIGUSR2 event: " + r.String()
	}
	usr2 := time.Now()
	// The new master is known from the kernel at once (the old master forks it on SIGUSR2),
	// so that the kill finds it whenever it comes.
	nw, err := awaitNewChild(old.pid, preKids, 10*time.Second)
	if err != nil {
		r := l.wait()
		return Outcome{}, fmt.Sprintf("%v; %s", err, r.String())
	}
	if km.match != nil {
		if _, ok := l.awaitEvent(30*time.Second, km.match); !ok {
			t.Logf("the driver ended without the %s event: the kill comes after it", km.after)
		}
	}
	l.drainEvents()
	time.Sleep(km.delay)
	killErr := killNow(nw, syscall.SIGKILL)
	killAt := time.Now()
	r := l.wait()
	detail := fmt.Sprintf("SIGKILL to new master %d %s after USR2 (%s+%s; %v); %s", nw.pid, killAt.Sub(usr2).Round(time.Millisecond), km.after, km.delay, killErr, r.String())
	if killErr != nil {
		rec.finish()
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
	// An event is stamped after the journal's fsync that follows the act it reports, a few ms
	// under load: a kill up to eventLag before an event may have come after its act.
	const eventLag = 10 * time.Millisecond
	late := !quitAt.IsZero() && quitAt.Before(killAt.Add(eventLag))
	// Within that lag either order may be the true one: a rollback (the kill came first) is as
	// intended as a failure or a commit (the SIGQUIT came first).
	either := late && killAt.Before(quitAt)
	o := Outcome{}
	if !held {
		o.Class = "before commit"
		if late {
			o.Class = "after the commit's SIGQUIT"
		}
	}
	var why, wrong []string
	keep := old.pid
	if late {
		// Intended: failed (exit 3), or committed when the driver had finished before the kill.
		finished := !doneAt.IsZero() && doneAt.Before(killAt.Add(eventLag))
		switch {
		case either && r.code == 1 && r.res != nil && r.res.Result == "rolled-back" && r.res.OldPID == old.pid:
			// The kill came before the signal after all: judged as a rollback, the old master
			// serves on.
			var tr truth
			tr, wrong = tg.judge(r, pre, false)
			o.Intended = tr.binarySHA == pre.tr.binarySHA
			if !o.Intended {
				why = append(why, fmt.Sprintf("rolled back, but the binary on disk is %.12s, not the old build %.12s", tr.binarySHA, pre.tr.binarySHA))
			}
		case r.code == 3 && r.res != nil && r.res.Result == "failed":
			o.Intended = true
			_, wrong = tg.judge(r, pre, false)
		case finished && r.code == 0 && r.res != nil && r.res.Result == "committed":
			// The kill came after the verdict: judge it as of then. The new master it named is
			// the one killed (alive at killAt, after the commit was done), the old master is
			// gone for good, the candidate is on disk.
			o.Intended = true
			if r.res.NewPID != nw.pid || r.res.OldPID != old.pid {
				wrong = append(wrong, fmt.Sprintf("committed from %d to %d, but the masters were %d and %d", r.res.OldPID, r.res.NewPID, old.pid, nw.pid))
			}
			if !proc.Exited(old.pid, old.start) {
				wrong = append(wrong, fmt.Sprintf("committed, but the old master %d still runs", old.pid))
			}
			if sha := tg.read().binarySHA; sha != candSHA {
				wrong = append(wrong, fmt.Sprintf("committed, but the binary on disk is %.12s, not the candidate %.12s", sha, candSHA))
			}
			// The master the test killed leaves its workers orphaned: the test ends them, by pid.
			rec.finish()
			var ended []int
			for _, s := range rec.childrenOf(nw.pid) {
				if !proc.Exited(s.pid, s.start) {
					endByRef(s.procKey)
					ended = append(ended, s.pid)
				}
			}
			t.Logf("the test ended %v, orphaned by its kill of the sole master %d", ended, nw.pid)
		default:
			why = append(why, "want failed exit 3 (or committed before the kill), got "+r.verdict())
		}
		if r.code != 1 {
			// The old master got SIGQUIT: it leaves once its children are gone.
			for deadline := time.Now().Add(10 * time.Second); !proc.Exited(old.pid, old.start) && time.Now().Before(deadline); {
				time.Sleep(10 * time.Millisecond)
			}
			keep = 0
		}
	} else {
		var tr truth
		tr, wrong = tg.judge(r, pre, false)
		o.Intended = r.code == 1 && r.res != nil && r.res.Result == "rolled-back" && r.res.OldPID == old.pid
		if !o.Intended {
			why = append(why, "want exit 1 rolled-back from "+fmt.Sprint(old.pid)+", got "+r.verdict())
		}
		if tr.binarySHA != pre.tr.binarySHA {
			o.Intended = false
			why = append(why, fmt.Sprintf("the binary on disk is %.12s, not the old build %.12s", tr.binarySHA, pre.tr.binarySHA))
		}
		// Every process the result says it ended must be one of the killed generation, and gone.
		// The recorder looks every 10 ms: a worker forked and orphaned between two of its
		// passes is never seen under the new master. Such a pid is accepted only when the
		// recorder never saw it anywhere (so it was no process of the old generation) and it
		// came after the new master.
		for _, e := range r.resEnded() {
			switch {
			case recordedUnder(rec, e, nw.pid):
			case !rec.sawPID(e) && e > nw.pid:
				t.Logf("ended lists pid %d, born after the new master %d and orphaned before the recorder saw it", e, nw.pid)
			default:
				wrong = append(wrong, fmt.Sprintf("ended lists pid %d, never seen as a child of the new master %d", e, nw.pid))
			}
		}
	}
	rec.finish()
	if leaks := rec.leaks(keep); len(leaks) > 0 {
		o.Leaked = len(leaks)
		why = append(why, "left running: "+joinLines(leaks))
	}
	if release != nil {
		release()
	}
	o.Wrong = len(wrong)
	if l := lost(pre.builds, tg.builds(tg.read().master)); len(l) > 0 {
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

// sawPID tells whether the recorder saw pid at all, under any parent.
func (rec *recorder) sawPID(pid int) bool {
	for _, s := range rec.all() {
		if s.pid == pid {
			return true
		}
	}
	return false
}
