package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/driver"
	"github.com/hotdeploy/hotdeploy/nginxctl/inspect"
	"github.com/hotdeploy/hotdeploy/nginxctl/sandbox/sandboxtest"
	"github.com/hotdeploy/hotdeploy/nginxctl/upgrade/upgradetest"
)

// killPoint is where a test SIGKILLs `hotdeploy upgrade`: held at an audit entry (see
// auditGate) once nginx shows the state wanted, so nothing after it has been done.
type killPoint struct {
	name string
	what string
	// passed is how many audit entries the process may write first (preflight, install,
	// SIGUSR2): it then waits in the next one, having done what that one records.
	passed int
	// ready is the state of nginx to wait for before the kill.
	ready func(in model.Instance) bool
	// hold keeps a slow download open on an old worker, so the drain is still under way.
	hold bool
}

var killPoints = []killPoint{
	{"install", "the candidate is installed, nothing signalled", 1, func(in model.Instance) bool { return in.BinaryDiffers }, false},
	{"usr2", "the new master serves (USR2 done, no WINCH)", 2, func(in model.Instance) bool {
		return in.Phase == model.PhaseBothServing && in.New().ActiveWorkers() == 2
	}, false},
	{"mid-drain", "an old worker drains a held download (WINCH sent)", 3, func(in model.Instance) bool {
		return in.Phase == model.PhaseOldDraining && len(in.Masters[0].Children) == 1
	}, true},
	{"drained", "the old workers are gone (no QUIT)", 3, func(in model.Instance) bool { return in.Phase == model.PhaseOldDrained }, false},
}

// killAt runs `hotdeploy upgrade` to the kill point and SIGKILLs it there.
func (c *cliTarget) killAt(t *testing.T, dirs driver.Dirs, kp killPoint, target []string, cand string) {
	t.Helper()
	gate := closedGate(t, c.audit)
	up := startHD(t, dirs, append([]string{"upgrade", "--new-binary", cand, "--yes"}, target...)...)
	pid := up.cmd.Process.Pid
	for i := 0; i < kp.passed; i++ {
		gate.pass(pid)
	}
	gate.waitBlocked(pid)
	sandboxtest.WaitFor(t, inspect.NewScanner(), sandboxtest.Instance(t, c.sb), time.Minute, kp.what, kp.ready)
	up.kill()
	gate.open()
	t.Logf("killed hotdeploy %d once %s", pid, kp.what)
}

// TestKilledDriverResumesOrRollsBack SIGKILLs `hotdeploy upgrade` after each step, then either
// `upgrade --resume --yes` commits (the candidate on disk, the new master alone) or `rollback
// --yes` restores (the old build on disk from the journal's backup, the old master serving
// with its workers). A second `--resume` then finds the upgrade finished and says how, exit 0.
func TestKilledDriverResumesOrRollsBack(t *testing.T) {
	for _, kp := range killPoints {
		for _, then := range []string{"resume", "rollback"} {
			t.Run(kp.name+"/"+then, func(t *testing.T) {
				c := newCLITarget(t)
				dirs := driver.Dirs{Runtime: filepath.Join(t.TempDir(), "run"), State: filepath.Join(t.TempDir(), "state")}
				target := []string{"--pidfile", c.sb.PidFile, "--audit-log", c.audit, "--json"}
				var release func()
				if kp.hold {
					_, release = upgradetest.HoldSlow(t, c.sb)
				}
				cand := upgradetest.Copy(t)
				candSHA := upgradetest.SHA256(t, cand)
				c.killAt(t, dirs, kp, target, cand)
				j, err := driver.LoadJournal(dirs.State, driver.Key(c.sb.PidFile))
				if err != nil || j == nil || j.Backup != c.sb.Binary+".old" || j.InstalledSHA256 != candSHA || j.Outcome != "" {
					t.Fatalf("journal the killed driver left: %+v, %v", j, err)
				}
				switch then {
				case "resume":
					c.resumeCommits(t, dirs, target, kp, release, candSHA)
				case "rollback":
					c.rollbackRestores(t, dirs, target, kp, release)
				}
				again := startHD(t, dirs, append([]string{"upgrade", "--resume", "--yes"}, target...)...)
				want := map[string]string{"resume": "committed", "rollback": "rolled-back"}[then]
				if code, r := again.wait(), again.result(); code != 0 || r.Result != want {
					t.Errorf("a second --resume: exit %d, %+v; want 0 %s\n%s", code, r, want, again.stderr.String())
				}
			})
		}
	}
}

// resumeCommits runs `upgrade --resume --yes`: it must commit, with the candidate on disk.
func (c *cliTarget) resumeCommits(t *testing.T, dirs driver.Dirs, target []string, kp killPoint, release func(), candSHA string) {
	t.Helper()
	res := startHD(t, dirs, append([]string{"upgrade", "--resume", "--yes"}, target...)...)
	if release != nil {
		// The resume found the drain under way: let it end now, so it goes on from there.
		ev := res.until("the resume's first event", step("resume", "start"))
		if ev["phase"] != "old-draining" {
			t.Errorf("resume found phase %v, want old-draining", ev["phase"])
		}
		release()
	}
	code, r := res.wait(), res.result()
	if code != 0 || r.Result != "committed" || r.NewPID == 0 || r.NewPID == c.master {
		t.Fatalf("--resume after the kill at %s: exit %d, %+v\n%s%s", kp.name, code, r, res.output(), res.stderr.String())
	}
	if r.OldPID != c.master || r.Backup != c.sb.Binary+".old" {
		t.Errorf("--resume: old_pid %d backup %q, want %d and %s.old", r.OldPID, r.Backup, c.master, c.sb.Binary)
	}
	if got := upgradetest.SHA256(t, c.sb.Binary); got != candSHA {
		t.Errorf("after --resume committed: %s has sha256 %.12s, want the candidate's %.12s", c.sb.Binary, got, candSHA)
	}
	in := upgradetest.Settled(t, c.sb, 2)
	if in.Masters[0].PID != r.NewPID {
		t.Errorf("after --resume the master is %d, want the new one %d", in.Masters[0].PID, r.NewPID)
	}
	want := map[string][]string{
		"install":   {"SIGUSR2", "SIGWINCH", "SIGQUIT"}, // all of them by the resume
		"usr2":      {"SIGWINCH", "SIGQUIT"},
		"mid-drain": {"SIGQUIT"},
		"drained":   {"SIGQUIT"},
	}[kp.name]
	if got := resumeSignals(t, res); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("the resume sent %v, want %v", got, want)
	}
}

// rollbackRestores runs `rollback --yes`: the old master serves again and the old build is on
// disk, restored from the journal's backup.
func (c *cliTarget) rollbackRestores(t *testing.T, dirs driver.Dirs, target []string, kp killPoint, release func()) {
	t.Helper()
	rb := startHD(t, dirs, append([]string{"rollback", "--yes"}, target...)...)
	code, r := rb.wait(), rb.result()
	if code != 0 || r.Result != "rolled-back" || r.OldPID != c.master {
		t.Fatalf("rollback after the kill at %s: exit %d, %+v\n%s%s", kp.name, code, r, rb.output(), rb.stderr.String())
	}
	if r.Backup != c.sb.Binary+".old" || !strings.Contains(rb.output(), "restored from the backup "+c.sb.Binary+".old") {
		t.Errorf("the rollback did not restore from the journal's backup (backup %q):\n%s", r.Backup, rb.output())
	}
	draining := 0
	if release != nil {
		draining = 1 // the held download still drains on its old worker
	}
	upgradetest.CheckOldServes(t, c.sb, c.master, 2, draining, "rollback after a kill at "+kp.name)
	if release != nil {
		release()
	}
	if got := upgradetest.SHA256(t, c.sb.Binary); got != c.origSHA {
		t.Errorf("after rollback: %s has sha256 %.12s, want the old build's %.12s", c.sb.Binary, got, c.origSHA)
	}
}

// resumeSignals lists the signals a run sent, from its events.
func resumeSignals(t *testing.T, p *hdProc) []string {
	t.Helper()
	var sigs []string
	for _, line := range strings.Split(strings.TrimSpace(p.output()), "\n") {
		if strings.Contains(line, `"event":"signal"`) {
			for _, s := range []string{"SIGUSR2", "SIGWINCH", "SIGQUIT", "SIGHUP", "SIGTERM"} {
				if strings.Contains(line, fmt.Sprintf(`"signal":%q`, s)) {
					sigs = append(sigs, s)
				}
			}
		}
	}
	return sigs
}

// TestResumeStopsAfterDrainWithProbeThenCommits: after a kill once the new master serves,
// `upgrade --resume --stop-after drain --probe URL` drains, passes the probe gate and stops
// (drained, exit 0, a probe object in the result); a later `--resume` commits.
func TestResumeStopsAfterDrainWithProbeThenCommits(t *testing.T) {
	c := newCLITarget(t)
	dirs := driver.Dirs{Runtime: filepath.Join(t.TempDir(), "run"), State: filepath.Join(t.TempDir(), "state")}
	target := []string{"--pidfile", c.sb.PidFile, "--audit-log", c.audit, "--json"}
	cand := upgradetest.Copy(t)
	c.killAt(t, dirs, killPoints[1], target, cand)
	res := startHD(t, dirs, append([]string{"upgrade", "--resume", "--yes", "--stop-after", "drain", "--probe", c.sb.URL}, target...)...)
	code, r := res.wait(), res.result()
	if code != 0 || r.Result != "drained" || r.Phase != "old-drained" || !strings.Contains(res.output(), `"probe":{`) {
		t.Fatalf("--resume --stop-after drain --probe: exit %d, %+v\n%s%s", code, r, res.output(), res.stderr.String())
	}
	if got := resumeSignals(t, res); strings.Join(got, " ") != "SIGWINCH" {
		t.Errorf("--resume --stop-after drain sent %v, want SIGWINCH only", got)
	}
	fin := startHD(t, dirs, append([]string{"upgrade", "--resume", "--yes"}, target...)...)
	if code, r := fin.wait(), fin.result(); code != 0 || r.Result != "committed" || r.OldPID != c.master {
		t.Fatalf("--resume after --stop-after drain: exit %d, %+v\n%s%s", code, r, fin.output(), fin.stderr.String())
	}
	if got := upgradetest.SHA256(t, c.sb.Binary); got != upgradetest.SHA256(t, cand) {
		t.Errorf("the candidate is not on disk after the resumed commit")
	}
}

// TestResumeWithNothingToResumeIsRefused: an idle instance with no journal: exit 2, one line.
func TestResumeWithNothingToResumeIsRefused(t *testing.T) {
	c := newCLITarget(t)
	code, out, errOut := c.hd("upgrade", "--resume", "--yes", "--json")
	if code != 2 || !strings.HasPrefix(errOut, "hotdeploy: no upgrade to resume: master ") || strings.Count(errOut, "\n") != 1 {
		t.Errorf("--resume on an idle instance: exit %d, stderr %q\n%s", code, errOut, out)
	}
	c.checkUntouched("--resume with nothing to resume")
	code, _, errOut = c.hd("upgrade", "--resume", "--yes", "--new-binary", upgradetest.Copy(t))
	if code != 2 || !strings.Contains(errOut, "leave --new-binary out") {
		t.Errorf("--resume --new-binary: exit %d, %q", code, errOut)
	}
}
