package ui

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/hotdeploy/hotdeploy/model"
)

func TestTmuxUpgradeDrainRollbackThenCommit(t *testing.T) {
	r := newDashboardRig(t)
	in := r.instance(t)
	oldPID := in.Masters[0].PID
	s := r.open(t, 120, 40)
	s.waitText(screenWait, append([]string{"[ IDLE ]"}, pids(in)...)...)

	in = install(t, s, r, in)

	// u shows the dialog; n leaves nginx untouched.
	s.keys("u")
	s.waitText(screenWait, fmt.Sprintf("SIGUSR2 to pid %d", oldPID), "[ No ]")
	s.keys("n")
	s.waitText(screenWait, "cancelled: nothing was sent")
	if cur := r.instance(t); len(cur.Masters) != 1 || cur.Masters[0].PID != oldPID || cur.Phase != model.PhaseIdle {
		t.Fatalf("after n: masters %v phase %s, want master %d alone", pids(cur), cur.Phase, oldPID)
	}

	in = startNew(t, s, r, in)
	newPID := in.Masters[1].PID
	in = drain(t, s, r, in)

	s.keys("r")
	s.waitText(screenWait, fmt.Sprintf("SIGHUP to pid %d", oldPID), "Cannot be undone")
	s.keys("y")
	s.waitEnded("upgrade rolled back")
	in = r.waitPhase(t, in, "rolled back to the old master", func(in model.Instance) bool {
		return len(in.Masters) == 1 && in.Masters[0].PID == oldPID && in.Masters[0].ActiveWorkers() > 0 && in.PidFilePID == oldPID
	})
	s.waitText(screenWait, append([]string{"[ IDLE ]"}, pids(in)...)...)
	for _, line := range strings.Split(s.capture(), "\n") {
		if strings.HasPrefix(line, fmt.Sprint(newPID)+" ") {
			t.Errorf("the stopped new master %d is still in the table: %q", newPID, line)
		}
	}

	// The same flow, committed.
	in = install(t, s, r, in)
	in = startNew(t, s, r, in)
	newPID = in.Masters[1].PID
	in = drain(t, s, r, in)
	s.keys("c")
	s.waitText(screenWait, fmt.Sprintf("SIGQUIT to pid %d", oldPID), "Cannot be undone")
	s.keys("y")
	s.waitEnded("upgrade committed")
	in = r.waitPhase(t, in, "committed to the new master", func(in model.Instance) bool {
		return len(in.Masters) == 1 && in.Masters[0].PID == newPID && in.OldbinPID == 0
	})
	s.waitText(screenWait, append([]string{"[ IDLE ]"}, pids(in)...)...)
	audit, err := os.ReadFile(r.audit)
	if err != nil {
		t.Fatalf("audit log: %v", err)
	}
	for _, sig := range []string{"SIGUSR2", "SIGWINCH", "SIGHUP", "SIGQUIT"} {
		if !strings.Contains(string(audit), sig) {
			t.Errorf("audit log lacks %s:\n%s", sig, audit)
		}
	}
}

func TestTmuxRestartMidUpgradeShowsPhase(t *testing.T) {
	r := newDashboardRig(t)
	in := r.instance(t)
	s := r.open(t, 120, 40)
	s.waitText(screenWait, append([]string{"[ IDLE ]"}, pids(in)...)...)

	// The upgrade starts behind the dashboard's back, then the dashboard dies without a word.
	if err := signalMaster(in.Masters[0], "USR2"); err != nil {
		t.Fatal(err)
	}
	in = r.waitPhase(t, in, "both-serving", func(in model.Instance) bool { return in.Phase == model.PhaseBothServing })
	out, err := s.run("display-message", "-p", "-t", s.name, "#{pane_pid}")
	if err != nil {
		t.Fatalf("pane pid: %v: %s", err, out)
	}
	var panePID int
	if _, err := fmt.Sscan(out, &panePID); err != nil || panePID <= 1 {
		t.Fatalf("pane pid %q: %v", out, err)
	}
	if p, err := os.FindProcess(panePID); err == nil {
		_ = p.Kill()
	}
	s.stop()

	s2 := r.open(t, 120, 40)
	screen := s2.waitText(screenWait, append([]string{"[ BOTH-SERVING ]", "w drain old", "c commit", "r rollback"}, pids(in)...)...)
	for _, refused := range []string{"(u start new)", "(i install)"} {
		if !strings.Contains(screen, refused) {
			t.Errorf("%s is not shown dimmed:\n%s", refused, screen)
		}
	}
	if strings.Contains(screen, "(w drain old)") {
		t.Errorf("w is dimmed in both-serving:\n%s", screen)
	}
	s2.keys("u")
	s2.waitText(screenWait, "an upgrade is already running")
	s2.keys("w")
	s2.waitText(screenWait, fmt.Sprintf("SIGWINCH to pid %d", in.Masters[0].PID))
	s2.keys("Escape")
	s2.waitText(screenWait, "cancelled: nothing was sent")
}

// TestTmuxProbeFlag: --probe shows the traffic panel with the master that answered; a URL that
// cannot be probed is said on screen and the dashboard keeps working.
func TestTmuxProbeFlag(t *testing.T) {
	r := newDashboardRig(t)
	in := r.instance(t)
	s := r.open(t, 120, 40, "--probe", r.sb.URL)
	s.waitFor("probe answers from the master", screenWait, func(screen string) bool {
		if !probeCounts.MatchString(screen) {
			return false
		}
		_, _, served := probeState(t, screen)
		return served[in.Masters[0].PID] > 0
	})
	requireNoFailures(t, s, "idle")
	s.stop()

	s = r.open(t, 120, 40, "--probe", "ftp://127.0.0.1/")
	s.waitText(screenWait, "PROBE off: ", "only http:// and https://", "[ IDLE ]")
	s.keys("u")
	s.waitText(screenWait, "is the one already running")
}
