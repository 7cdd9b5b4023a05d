package ui

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hotdeploy/hotdeploy/model"
)

// TestTmuxDemoEndingsStartAgain runs the built binary's demo at 80x24 through upgrade, rollback,
// upgrade and commit. After each ending the summary shows how it ended, and once it is closed the
// step list and the guide start again from what is true: no step ticked, install next, u refused
// while the file on disk is the running build, and no master marked as running a replaced binary.
func TestTmuxDemoEndingsStartAgain(t *testing.T) {
	s, r := openDemoSized(t, 80, 24)
	in := r.instance(t)
	first := in.Masters[0].PID

	in = upgradeOnSmallScreen(t, s, r, in)
	second := in.Masters[1].PID
	s.keys("r")
	s.waitText(screenWait, fmt.Sprintf("SIGHUP to pid %d", first))
	s.keys("y")
	screen := s.waitEnded("upgrade rolled back")
	r.waitPhase(t, in, "rolled back", func(in model.Instance) bool {
		return len(in.Masters) == 1 && in.Masters[0].PID == first && in.Masters[0].ActiveWorkers() > 0
	})
	for _, want := range []string{fmt.Sprintf("master %d", first), fmt.Sprintf("master %d", second), "exited",
		"install ", "USR2 ", "drain ", "roll back ", "probe", "failed 0", ".rejected", "nginx.rejected", "audit log"} {
		if !strings.Contains(screen, want) {
			t.Errorf("the rollback's summary lacks %q:\n%s", want, screen)
		}
	}
	s.keys("Escape")
	screen = s.waitText(screenWait, "STEPS", "Just done: Rolled back", "on disk: the running build")
	requireFreshStart(t, screen, first)

	in = r.instance(t)
	in = upgradeOnSmallScreen(t, s, r, in)
	third := in.Masters[1].PID
	s.keys("c")
	s.waitText(screenWait, fmt.Sprintf("SIGQUIT to pid %d", first))
	s.keys("y")
	screen = s.waitEnded("upgrade committed")
	r.waitPhase(t, in, "committed", func(in model.Instance) bool { return len(in.Masters) == 1 && in.Masters[0].PID == third })
	for _, want := range []string{fmt.Sprintf("master %d", third), fmt.Sprintf("master %d", first), "serves alone",
		"QUIT ", "backup", "nginx.old", "audit log"} {
		if !strings.Contains(screen, want) {
			t.Errorf("the commit's summary lacks %q:\n%s", want, screen)
		}
	}
	if strings.Contains(screen, ".rejected") {
		t.Errorf("a commit's summary names a .rejected file:\n%s", screen)
	}
	s.keys("Escape")
	screen = s.waitText(screenWait, "STEPS", "Just done: Committed", "on disk: the running file")
	requireFreshStart(t, screen, third)
}

// upgradeOnSmallScreen installs the staged candidate, starts it and drains the old workers,
// checking each step's tick as it goes.
func upgradeOnSmallScreen(t *testing.T, s *tmuxSession, r *dashboardRig, in model.Instance) model.Instance {
	t.Helper()
	s.keys("i")
	s.waitText(screenWait, "new nginx binary: ")
	s.keys("Enter")
	s.waitText(screenWait, "Install new binary?", "y yes, install")
	s.keys("y")
	s.waitText(screenWait, "on disk: new file", "✓ install binary", "▶ start new  USR2")
	s.keys("u")
	s.waitText(screenWait, fmt.Sprintf("SIGUSR2 to pid %d", in.Masters[0].PID), "y yes, send SIGUSR2")
	s.keys("y")
	s.waitText(screenWait, "[ BOTH-SERVING ]", "✓ start new  USR2", "▶ drain old  WINCH", "Just done: A second master")
	in = r.waitPhase(t, in, "both-serving", func(in model.Instance) bool { return in.Phase == model.PhaseBothServing })
	s.keys("w")
	s.waitText(screenWait, fmt.Sprintf("SIGWINCH to pid %d", in.Masters[0].PID))
	s.keys("y")
	s.waitText(screenWait, "[ OLD-DRAINED ]", "✓ drain old  WINCH", "▶ commit     QUIT", "r rollback")
	return r.waitPhase(t, in, "old-drained", func(in model.Instance) bool { return in.Phase == model.PhaseOldDrained })
}

// requireFreshStart checks the screen after an ending: no tick left from the upgrade that
// ended, install is next, the actions of an upgrade are refused (dimmed), and the master serving
// is not marked as running a replaced binary.
func requireFreshStart(t *testing.T, screen string, master int) {
	t.Helper()
	if strings.Contains(screen, "✓") || strings.Contains(screen, "✗") {
		t.Errorf("a step is still ticked after the ending:\n%s", screen)
	}
	for _, want := range []string{"▶ install binary   next", "(u start new)", "(w drain old)", "(c commit)", "Next: Put the new binary"} {
		if !strings.Contains(screen, want) {
			t.Errorf("after the ending the screen lacks %q:\n%s", want, screen)
		}
	}
	row := lineStarting(screen, fmt.Sprint(master)+" ")
	if !strings.Contains(row, "running") || strings.Contains(row, "exe replaced") {
		t.Errorf("master %d row after the ending: %q", master, row)
	}
	if strings.Contains(screen, "roll back ") && strings.Contains(screen, "possible: r") {
		t.Errorf("rollback is still offered:\n%s", screen)
	}
}
