package chaostest

import (
	"fmt"
	"slices"

	"github.com/hotdeploy/hotdeploy/nginxctl/proc"
)

// exitOf is DESIGN.md's map from a result to its exit code.
var exitOf = map[string]int{"committed": 0, "drained": 0, "unchanged": 0, "checked": 0,
	"rolled-back": 1, "refused": 2, "failed": 3}

// before is what a try saw before it acted.
type before struct {
	tr     truth
	builds map[string]string
}

// snapshotBefore reads the truth and the builds on disk before a try.
func (tg *target) snapshotBefore() before {
	tr := tg.read()
	return before{tr: tr, builds: tg.builds(tr.master)}
}

// judge compares what a run claims with the truth after it and returns every contradiction: a
// wrong verdict. It does not say whether the verdict was the one a case intended.
// rollbackCmd is true for `hotdeploy rollback`, whose success is exit 0 rolled-back.
func (tg *target) judge(r run, pre before, rollbackCmd bool) (truth, []string) {
	return tg.judgeFrom(r, pre.tr.master, pre.tr, rollbackCmd)
}

// judgeFrom is judge for a command run on an instance some earlier command already changed:
// old is the master the upgrade started from, was the truth just before this command (what a
// refusal must leave as it was).
func (tg *target) judgeFrom(r run, old procKey, was truth, rollbackCmd bool) (truth, []string) {
	var wrong []string
	add := func(format string, args ...any) { wrong = append(wrong, fmt.Sprintf(format, args...)) }
	switch {
	case r.timedOut:
		add("hotdeploy did not end within its bound (a hang)")
	case r.panicked():
		add("hotdeploy panicked")
	case r.jsonErr != "":
		add("--json output: %s", r.jsonErr)
	case r.res == nil:
		add("no result object")
	}
	if r.res == nil || r.timedOut {
		return tg.read(), wrong
	}
	res := r.res
	want, known := exitOf[res.Result]
	if rollbackCmd && res.Result == "rolled-back" {
		want = 0
	}
	switch {
	case !known:
		add("unknown result %q", res.Result)
	case r.code != want || res.ExitCode != want:
		add("result %s with exit code %d (exit_code %d), want %d", res.Result, r.code, res.ExitCode, want)
	}
	var tr truth
	switch res.Result {
	case "rolled-back":
		var err error
		if tr, err = tg.awaitServes(res.OldPID); err != nil {
			add("rolled-back, but %v", err)
		}
		if tr.binarySHA != tr.runningSHA {
			add("rolled-back, but the binary on disk (%.12s) is not the build master %d runs (%.12s)", tr.binarySHA, tr.master.pid, tr.runningSHA)
		}
	case "committed":
		var err error
		if tr, err = tg.awaitServes(res.NewPID); err != nil {
			add("committed, but %v", err)
		}
		if res.NewPID == old.pid {
			add("committed, but the new pid is the old master's")
		}
		if res.NewBuild == nil || tr.binarySHA != res.NewBuild.SHA256 {
			add("committed, but the binary on disk (%.12s) is not the new build %+v", tr.binarySHA, res.NewBuild)
		}
	case "drained":
		tr = tg.read()
		if tr.oldbin != old.pid || tr.pidFile != res.NewPID || tr.master.pid != res.NewPID {
			add("drained, but nginx.pid names %d and .oldbin %d (want new %d, old %d)", tr.pidFile, tr.oldbin, res.NewPID, old.pid)
		}
		for _, k := range childrenNow(old.pid) {
			if k != res.NewPID {
				add("drained, but the old master %d still has the child %d besides the new master", old.pid, k)
			}
		}
	case "refused", "unchanged", "checked":
		tr = tg.read()
		if d := unchanged(was, tr); d != "" {
			add("%s, but %s", res.Result, d)
		}
	default:
		tr = tg.read()
	}
	// Temporary files this command left (a killed driver's are in was: not this one's doing).
	var strays []string
	for _, f := range tr.strays {
		if !slices.Contains(was.strays, f) {
			strays = append(strays, f)
		}
	}
	if len(strays) > 0 {
		add("temporary files left beside the binary: %v", strays)
	}
	return tr, wrong
}

// unchanged says how now differs from was for a try that claims it changed nothing ("" when it
// does not): the same master, the same workers, the same binary, no upgrade begun.
func unchanged(was, now truth) string {
	switch {
	case now.master != was.master:
		return fmt.Sprintf("the master is %v, was %v", now.master, was.master)
	case !slices.Equal(sorted(now.workers), sorted(was.workers)):
		return fmt.Sprintf("the workers are %v, were %v", now.workers, was.workers)
	case now.binarySHA != was.binarySHA:
		return fmt.Sprintf("the binary on disk is %.12s, was %.12s", now.binarySHA, was.binarySHA)
	case now.oldbin != was.oldbin:
		return fmt.Sprintf("nginx.pid.oldbin names %d, named %d", now.oldbin, was.oldbin)
	}
	return ""
}

func sorted(xs []int) []int {
	out := slices.Clone(xs)
	slices.Sort(out)
	return out
}

// childrenNow lists pid's live children from /proc: a zombie has exited (DESIGN.md rule 8), its
// parent just has not reaped it yet.
func childrenNow(pid int) []int {
	k, err := statKey(pid)
	if err != nil {
		return nil
	}
	r := proc.NewReader()
	kids, _ := r.Children(k.pid)
	var live []int
	for _, c := range kids {
		if st, err := r.Stat(c); err == nil && st.State != 'Z' && st.State != 'X' {
			live = append(live, c)
		}
	}
	return live
}
