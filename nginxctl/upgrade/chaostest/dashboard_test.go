package chaostest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hotdeploy/hotdeploy/nginxctl/driver"
	"github.com/hotdeploy/hotdeploy/nginxctl/proc"
	"github.com/hotdeploy/hotdeploy/nginxctl/upgrade/upgradetest"
)

// TestChaosDashboardAndHeadless: the dashboard (the real binary in tmux) installs a candidate
// and starts it; meanwhile headless `upgrade` and `rollback` try to drive the same instance.
// Intended: each headless run exits 2 with one line naming the dashboard's pid, changing
// nothing; once the dashboard rolled back and quit, a headless upgrade drives to committed.
func TestChaosDashboardAndHeadless(t *testing.T) {
	needChaos(t)
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Fatalf("the dashboard case needs tmux (make deps installs it): %v", err)
	}
	tries := pick(1, 3)
	const name = "two drivers: dashboard + headless"
	tally.Expect(name, tries)
	for i := 0; i < tries; i++ {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			o, detail := dashboardTry(t)
			tally.Add(t, name, o, detail)
		})
	}
}

func dashboardTry(t *testing.T) (Outcome, string) {
	tg := newTarget(t)
	pre := tg.snapshotBefore()
	old := pre.tr.master
	cand, candB := upgradetest.Copy(t), upgradetest.Copy(t)
	rec := newRecorder(tg.sb.PidFile, old.pid, 10*time.Millisecond)
	defer rec.finish()
	s := startTmux(t, "env", "NO_COLOR=1", driver.EnvRuntimeDir+"="+os.Getenv(driver.EnvRuntimeDir),
		driver.EnvStateDir+"="+os.Getenv(driver.EnvStateDir), hdBin, "--pidfile", tg.sb.PidFile,
		"--new-binary", cand, "--audit-log", tg.audit, "--interval", "100ms")
	dash := s.panePID()
	var why, wrong []string
	refused := 0
	tryHeadless := func(when string) {
		for _, args := range [][]string{
			tg.hdArgs("upgrade", "--new-binary", candB, "--yes", "--json"),
			tg.hdArgs("rollback", "--yes", "--json"),
		} {
			was := tg.read()
			r := hd(t, hdOpts{}, args...)
			_, w := tg.judgeFrom(r, old, was, args[0] == "rollback")
			wrong = append(wrong, w...)
			if r.code == 2 && strings.Contains(r.stderr, "hotdeploy pid "+strconv.Itoa(dash)) && signalsSent(r) == 0 {
				refused++
			} else {
				why = append(why, fmt.Sprintf("%s %s while the dashboard (pid %d) drives: %s", when, args[0], dash, r.String()))
			}
		}
	}
	s.waitText("the dashboard", "[ IDLE ]")
	s.keys("i")
	s.waitText("the install input", "new nginx binary: ")
	s.keys("Enter")
	s.waitText("the install dialog", "Install new binary?", "[ No ]")
	s.keys("y")
	s.waitDone("install binary")
	tryHeadless("after the dashboard's install")
	s.keys("u")
	s.waitText("the USR2 dialog", fmt.Sprintf("SIGUSR2 to pid %d", old.pid))
	s.keys("y")
	s.waitDone("start new  USR2")
	s.waitText("both serving", "[ BOTH-SERVING ]")
	tryHeadless("with both generations serving")
	s.keys("r")
	s.waitText("the rollback dialog", "[ No ]")
	s.keys("y")
	s.waitRolledBack(old.pid)
	s.waitText("idle again", "[ IDLE ]")
	s.keys("q")
	s.awaitExit(dash)
	fin := hd(t, hdOpts{}, tg.hdArgs("upgrade", "--new-binary", candB, "--yes", "--json")...)
	tr, w := tg.judgeFrom(fin, old, tg.read(), false)
	wrong = append(wrong, w...)
	o := Outcome{Intended: refused == 4 && fin.code == 0 && fin.res != nil && fin.res.Result == "committed" && tr.binarySHA == fileSum(t, candB)}
	if fin.code != 0 {
		why = append(why, "the headless upgrade after the dashboard quit: "+fin.String())
	}
	rec.finish()
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

// tmuxSession is a detached tmux server of its own running one program.
type tmuxSession struct {
	t    *testing.T
	sock string
}

// startTmux runs argv (exec'd by tmux, no shell) in a new detached 120x40 session; the server
// is killed, and the program's exit awaited, when the test ends.
func startTmux(t *testing.T, argv ...string) *tmuxSession {
	t.Helper()
	s := &tmuxSession{t: t, sock: fmt.Sprintf("hotdeploy-chaos-%d-%d", os.Getpid(), time.Now().UnixNano())}
	args := append([]string{"new-session", "-d", "-s", "dash", "-x", "120", "-y", "40"}, argv...)
	if out, err := s.run(args...); err != nil {
		t.Fatalf("tmux new-session: %v: %s", err, out)
	}
	pid := s.panePID()
	t.Cleanup(func() {
		_, _ = s.run("kill-server")
		_ = os.Remove(filepath.Join("/tmp", fmt.Sprintf("tmux-%d", os.Getuid()), s.sock)) // left by the ended server
		s.awaitExit(pid)
	})
	return s
}

func (s *tmuxSession) run(args ...string) (string, error) {
	cmd := exec.Command("tmux", append([]string{"-L", s.sock, "-f", "/dev/null"}, args...)...)
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "TMUX=") {
			cmd.Env = append(cmd.Env, e)
		}
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// panePID is the pid of the program in the pane (env execs hotdeploy: the same pid).
func (s *tmuxSession) panePID() int {
	out, err := s.run("display-message", "-p", "-t", "dash", "#{pane_pid}")
	pid, perr := strconv.Atoi(strings.TrimSpace(out))
	if err != nil || perr != nil {
		s.t.Fatalf("the pane's pid: %v %v: %s", err, perr, out)
	}
	return pid
}

func (s *tmuxSession) keys(keys ...string) {
	s.t.Helper()
	if out, err := s.run(append([]string{"send-keys", "-t", "dash"}, keys...)...); err != nil {
		s.t.Fatalf("tmux send-keys %v: %v: %s", keys, err, out)
	}
}

// waitText waits (up to 20 s) until the screen shows every text.
func (s *tmuxSession) waitText(what string, texts ...string) string {
	s.t.Helper()
	return s.waitFor(what, func(screen string) bool {
		for _, x := range texts {
			if !strings.Contains(screen, x) {
				return false
			}
		}
		return true
	})
}

// waitDone waits until a step is ticked and no dialog is open.
func (s *tmuxSession) waitDone(label string) string {
	s.t.Helper()
	return s.waitFor("step "+label+" done", func(screen string) bool {
		return strings.Contains(screen, "✓ "+label) && !strings.Contains(screen, "[ No ]") && !strings.Contains(screen, "wait for it")
	})
}

// waitRolledBack waits until the dashboard reports that its own rollback finished. A rollback
// that succeeded ends the upgrade: the step list starts again and the SUMMARY panel shows
// instead (ui/summary.go; it opens only when the rollback step returned no error, a failed one
// shows "roll back failed: ..."), naming the old master as the one that serves again, with the
// rollback's time among the steps and none of them failed.
func (s *tmuxSession) waitRolledBack(oldPID int) string {
	s.t.Helper()
	serves := fmt.Sprintf("master %d ", oldPID)
	return s.waitFor("the summary of the rollback", func(screen string) bool {
		if !strings.Contains(screen, "SUMMARY") || !strings.Contains(screen, "upgrade rolled back in") ||
			strings.Contains(screen, "(failed)") || strings.Contains(screen, "[ No ]") {
			return false
		}
		servesAgain, stepTimed := false, false
		for _, line := range strings.Split(screen, "\n") {
			servesAgain = servesAgain || strings.Contains(line, serves) && strings.Contains(line, "serves again")
			stepTimed = stepTimed || strings.Contains(line, "steps ") && strings.Contains(line, "roll back ")
		}
		return servesAgain && stepTimed
	})
}

func (s *tmuxSession) waitFor(what string, cond func(string) bool) string {
	s.t.Helper()
	var screen string
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		out, err := s.run("capture-pane", "-p", "-t", "dash")
		screen = out
		if err == nil && cond(screen) {
			return screen
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("waited 20 s for %s; screen:\n%s", what, screen)
		}
	}
}

// awaitExit waits (up to 15 s) until the kernel says pid exited.
func (s *tmuxSession) awaitExit(pid int) {
	k, err := statKey(pid)
	if err != nil {
		return
	}
	for deadline := time.Now().Add(15 * time.Second); !proc.Exited(k.pid, k.start); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			s.t.Errorf("the dashboard (pid %d) did not exit", pid)
			return
		}
	}
}
