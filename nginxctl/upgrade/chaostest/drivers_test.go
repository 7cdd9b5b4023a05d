package chaostest

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hotdeploy/hotdeploy/nginxctl/upgrade/upgradetest"
)

// TestChaosTwoDrivers: a second driver starts while a first one drives the same instance, at a
// random moment 0-600 ms after the first started (before it may even hold the lock): upgrade +
// upgrade, upgrade + rollback. A held download keeps the first one in its drain. Intended:
// exactly one drives; the other exits 2 with one line naming the holder (its pid); the one that
// drove ends as it would alone (committed once the download is let go), and nothing of the
// refused one happened: its candidate never on disk, no signal of it in the audit log.
func TestChaosTwoDrivers(t *testing.T) {
	rng := needChaos(t)
	tries := pick(2, 8)
	for _, second := range []string{"upgrade", "rollback"} {
		name := "two drivers: upgrade + " + second
		tally.Expect(name, tries)
		for i := 0; i < tries; i++ {
			delay := time.Duration(rng.IntN(601)) * time.Millisecond
			t.Run(fmt.Sprintf("%s/%d-%s", second, i, delay), func(t *testing.T) {
				o, detail := twoDriversTry(t, second, delay)
				tally.Add(t, name, o, detail)
			})
		}
	}
}

func twoDriversTry(t *testing.T, second string, delay time.Duration) (Outcome, string) {
	tg := newTarget(t)
	_, release := upgradetest.HoldSlow(t, tg.sb)
	pre := tg.snapshotBefore()
	old := pre.tr.master
	candA, candB := upgradetest.Copy(t), upgradetest.Copy(t)
	shaA, shaB := fileSum(t, candA), fileSum(t, candB)
	rec := newRecorder(tg.sb.PidFile, old.pid, 10*time.Millisecond)
	defer rec.finish()
	a := startHD(t, hdOpts{}, tg.hdArgs("upgrade", "--new-binary", candA, "--yes", "--json")...)
	a.drainEvents()
	time.Sleep(delay)
	argsB := tg.hdArgs("upgrade", "--new-binary", candB, "--yes", "--json")
	if second == "rollback" {
		argsB = tg.hdArgs("rollback", "--yes", "--json")
	}
	b := startHD(t, hdOpts{}, argsB...)
	// The refused one ends at once; the one that drives, A or B, waits in its drain for the
	// held download. Let it go once one ended, then wait for both.
	sawB := false
	select {
	case <-b.done:
		sawB = tg.read().binarySHA == shaB
	case <-a.done:
	}
	time.Sleep(200 * time.Millisecond)
	release()
	ra, rb := a.wait(), b.wait()
	rec.finish()
	var why, wrong []string
	o := Outcome{}
	aPID, bPID := a.cmd.Process.Pid, b.cmd.Process.Pid
	names := func(r run, pid int) bool {
		return strings.Contains(r.stderr, "hotdeploy pid "+strconv.Itoa(pid)) && strings.Count(strings.TrimSpace(r.stderr), "\n") == 0
	}
	tr := tg.read()
	switch {
	case rb.code == 2 && names(rb, aPID):
		// A drove: committed, its candidate on disk; B changed nothing.
		var w []string
		tr, w = tg.judge(ra, pre, false)
		wrong = append(wrong, w...)
		o.Intended = ra.code == 0 && ra.res != nil && ra.res.Result == "committed" && tr.binarySHA == shaA && !sawB
		o.Class = "first drove, second refused naming it"
	case second == "rollback" && rb.code == 2 && rb.res != nil && strings.Contains(rb.res.Error, "nothing to roll back"):
		// B came before A held the lock, found nothing to roll back: refused. A drove, or came
		// while B held the lock for that look and was refused naming it: then nothing changed.
		var w []string
		tr, w = tg.judge(ra, pre, false)
		wrong = append(wrong, w...)
		bothRefused := ra.code == 2 && names(ra, bPID) && tr.binarySHA == pre.tr.binarySHA && tr.master.pid == old.pid
		o.Intended = ra.code == 0 && ra.res != nil && ra.res.Result == "committed" && tr.binarySHA == shaA || bothRefused
		o.Class = "rollback first: nothing to roll back"
		if bothRefused {
			o.Class = "rollback first: nothing to roll back, upgrade refused naming it"
		}
	case second == "upgrade" && ra.code == 2 && names(ra, bPID):
		// B took the lock first: it drove, A was refused.
		var w []string
		tr, w = tg.judge(rb, pre, false)
		wrong = append(wrong, w...)
		o.Intended = rb.code == 0 && rb.res != nil && rb.res.Result == "committed" && tr.binarySHA == shaB
		o.Class = "second drove, first refused naming it"
	}
	for _, r := range []run{ra, rb} {
		if r.code == 2 && signalsSent(r) > 0 {
			wrong = append(wrong, "a refused driver sent signals: "+r.String())
		}
	}
	if !o.Intended {
		why = append(why, fmt.Sprintf("want one driver refused (exit 2, naming the other) and the other committed; got A (pid %d) %s, B (pid %d) %s; disk %.12s (A %.12s, B %.12s)",
			aPID, ra.verdict(), bPID, rb.verdict(), tr.binarySHA, shaA, shaB), "A: "+ra.String(), "B: "+rb.String())
	}
	if leaks := rec.leaks(tr.master.pid); len(leaks) > 0 {
		o.Leaked = len(leaks)
		why = append(why, "left running: "+joinLines(leaks))
	}
	if l := lost(pre.builds, tg.builds(tr.master)); len(l) > 0 {
		o.Lost = len(l)
		why = append(why, "lost: "+joinLines(l))
	}
	o.Wrong = len(wrong)
	if len(wrong) > 0 {
		why = append(why, "wrong: "+joinLines(wrong))
	}
	return o, strings.Join(why, "; ")
}

// signalsSent counts the signal events of a run.
func signalsSent(r run) int {
	n := 0
	for _, e := range r.events {
		if e.Kind == "signal" {
			n++
		}
	}
	return n
}
