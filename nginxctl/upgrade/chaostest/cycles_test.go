package chaostest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hotdeploy/hotdeploy/nginxctl/upgrade/upgradetest"
)

// TestChaosCycles: upgrade→commit and upgrade→rollback cycles, in a seeded order, on one sandbox,
// while two processes burn both CPUs and 2,000 more idle. A commit is `upgrade` (exit 0
// committed: the new master alone serves, the candidate on disk); a rollback is `upgrade
// --stop-after drain` (exit 0 drained) then `rollback` (exit 0 rolled-back: the old master
// serves, its build back on disk, the candidate kept as .rejected). The candidates rotate
// among three builds, so backups of other builds pile up as .old.<sha12> and .rejected.<sha12>,
// and every one of them must survive.
func TestChaosCycles(t *testing.T) {
	rng := needChaos(t)
	commits, rollbacks := pick(8, 100), pick(3, 30)
	const commitCase, rollbackCase = "upgrade→commit under load", "upgrade→drain→rollback under load"
	tally.Expect(commitCase, commits)
	tally.Expect(rollbackCase, rollbacks)
	tg := newTarget(t)
	cands := []string{upgradetest.Copy(t), upgradetest.Copy(t), upgradetest.Copy(t)}
	sums := make([]string, len(cands))
	for i, c := range cands {
		sums[i] = upgradetest.SHA256(t, c)
	}
	startIdle(t, 2000) // first: with both CPUs burning, 2,000 starts take far longer
	startBurners(t, 2)
	plan := make([]bool, 0, commits+rollbacks) // true: roll back
	for i := 0; i < commits+rollbacks; i++ {
		plan = append(plan, i >= commits)
	}
	rng.Shuffle(len(plan), func(i, j int) { plan[i], plan[j] = plan[j], plan[i] })
	start := time.Now()
	for i, back := range plan {
		pre := tg.snapshotBefore()
		c := 0
		for sums[c] == pre.tr.runningSHA || sums[c] == pre.tr.binarySHA {
			c++
		}
		if back {
			o, detail := rollbackCycle(t, tg, pre, cands[c], sums[c])
			tally.Add(t, rollbackCase, o, fmt.Sprintf("cycle %d: %s", i, detail))
		} else {
			o, detail := commitCycle(t, tg, pre, cands[c], sums[c])
			tally.Add(t, commitCase, o, fmt.Sprintf("cycle %d: %s", i, detail))
		}
		if t.Failed() && mode == "short" {
			break // one broken cycle breaks the next ones too; the log has the first
		}
	}
	t.Logf("%d cycles in %s", len(plan), time.Since(start).Round(time.Second))
}

// commitCycle runs one upgrade to commit and judges it.
func commitCycle(t *testing.T, tg *target, pre before, cand, sum string) (Outcome, string) {
	rec := newRecorder(tg.sb.PidFile, pre.tr.master.pid, 10*time.Millisecond)
	r := hd(t, hdOpts{}, tg.hdArgs("upgrade", "--new-binary", cand, "--yes", "--json")...)
	rec.finish()
	tr, wrong := tg.judge(r, pre, false)
	o := Outcome{Wrong: len(wrong)}
	var why []string
	o.Intended = r.code == 0 && r.res != nil && r.res.Result == "committed" && tr.master.pid == r.res.NewPID &&
		tr.master.pid != pre.tr.master.pid && tr.binarySHA == sum && tr.runningSHA == sum
	if !o.Intended {
		why = append(why, fmt.Sprintf("want exit 0 committed with %.12s on disk and running, got %s, master %d, disk %.12s, running %.12s",
			sum, r.verdict(), tr.master.pid, tr.binarySHA, tr.runningSHA))
	}
	return finishCycle(tg, rec, pre, tr, o, wrong, why, r)
}

// rollbackCycle runs an upgrade that stops once drained, then a rollback, and judges both.
func rollbackCycle(t *testing.T, tg *target, pre before, cand, sum string) (Outcome, string) {
	rec := newRecorder(tg.sb.PidFile, pre.tr.master.pid, 10*time.Millisecond)
	up := hd(t, hdOpts{}, tg.hdArgs("upgrade", "--new-binary", cand, "--yes", "--json", "--stop-after", "drain")...)
	_, wrong := tg.judge(up, pre, false)
	var why []string
	drained := up.code == 0 && up.res != nil && up.res.Result == "drained"
	if !drained {
		why = append(why, "upgrade --stop-after drain: want exit 0 drained, got "+up.verdict())
	}
	r := hd(t, hdOpts{}, tg.hdArgs("rollback", "--yes", "--json")...)
	rec.finish()
	tr, wrong2 := tg.judge(r, pre, true)
	o := Outcome{Wrong: len(wrong) + len(wrong2)}
	wrong = append(wrong, wrong2...)
	rejected := ""
	if r.res != nil && r.res.Rejected != "" {
		rejected, _ = fileSHA256(r.res.Rejected)
	}
	o.Intended = drained && r.code == 0 && r.res != nil && r.res.Result == "rolled-back" && tr.master == pre.tr.master &&
		tr.binarySHA == pre.tr.runningSHA && rejected == sum
	if !o.Intended {
		why = append(why, fmt.Sprintf("rollback: want exit 0 rolled-back to master %d with %.12s on disk and the candidate %.12s as .rejected; got %s, master %d, disk %.12s, rejected %q (%.12s)",
			pre.tr.master.pid, pre.tr.runningSHA, sum, r.verdict(), tr.master.pid, tr.binarySHA, resRejected(r), rejected))
		why = append(why, "upgrade: "+up.String())
	}
	return finishCycle(tg, rec, pre, tr, o, wrong, why, r)
}

// finishCycle counts what a cycle leaked and lost, and puts its reasons together.
func finishCycle(tg *target, rec *recorder, pre before, tr truth, o Outcome, wrong, why []string, r run) (Outcome, string) {
	if leaks := rec.leaks(tr.master.pid); len(leaks) > 0 {
		o.Leaked = len(leaks)
		why = append(why, "left running: "+joinLines(leaks))
	}
	if l := lost(pre.builds, tg.builds(tr.master)); len(l) > 0 {
		o.Lost = len(l)
		why = append(why, "lost: "+joinLines(l))
	}
	if len(wrong) > 0 {
		why = append(why, "wrong: "+joinLines(wrong))
	}
	if len(why) > 0 {
		why = append(why, r.String())
	}
	return o, strings.Join(why, "; ")
}

func resRejected(r run) string {
	if r.res == nil {
		return ""
	}
	return r.res.Rejected
}
