package chaostest

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hotdeploy/hotdeploy/nginxctl/upgrade/upgradetest"
)

// TestChaosCandidateHangsOrStops: a candidate that, started as the new master, hangs or stops
// itself (SIGSTOP) before it titles itself. Intended: rolled-back, exit 1, no process of it
// left, the old build back on disk, no nginx.pid.oldbin, the old master serving.
func TestChaosCandidateHangsOrStops(t *testing.T) {
	needChaos(t)
	tries := pick(2, 6)
	for _, m := range []string{upgradetest.HangsAsNew, upgradetest.StopsAsNew} {
		name := "candidate " + m + " after USR2"
		tally.Expect(name, tries)
		cand := upgradetest.Wrapper(t, m)
		for i := 0; i < tries; i++ {
			t.Run(fmt.Sprintf("%s/%d", m, i), func(t *testing.T) {
				o, detail := hangTry(t, cand)
				tally.Add(t, name, o, detail)
			})
		}
	}
}

func hangTry(t *testing.T, cand string) (Outcome, string) {
	tg := newTarget(t)
	pre := tg.snapshotBefore()
	rec := newRecorder(tg.sb.PidFile, pre.tr.master.pid, 5*time.Millisecond)
	r := hd(t, hdOpts{}, tg.hdArgs("upgrade", "--new-binary", cand, "--yes", "--json", "--ready-timeout", "2s")...)
	rec.finish()
	tr, wrong := tg.judge(r, pre, false)
	o := Outcome{Wrong: len(wrong)}
	var why []string
	_, oldbinErr := os.Stat(tg.sb.PidFile + ".oldbin")
	o.Intended = r.code == 1 && r.res != nil && r.res.Result == "rolled-back" && tr.master == pre.tr.master &&
		tr.binarySHA == pre.tr.binarySHA && os.IsNotExist(oldbinErr)
	if !o.Intended {
		why = append(why, fmt.Sprintf("want exit 1 rolled-back to master %d with its build on disk and no .oldbin; got %s, master %v, binary %.12s (was %.12s), .oldbin: %v",
			pre.tr.master.pid, r.verdict(), tr.master, tr.binarySHA, pre.tr.binarySHA, oldbinErr))
	}
	if len(rec.childrenOf(pre.tr.master.pid)) <= len(pre.tr.workers)+len(pre.tr.others) {
		why = append(why, "no new master was ever seen")
		o.Intended = false
	}
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
