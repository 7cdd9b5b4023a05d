package ui

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/inspect"
)

// openDemo runs `hotdeploy demo` in tmux with its sandbox under a directory of the test's, and
// returns a rig pointing at that sandbox.
func openDemo(t *testing.T) (*tmuxSession, *dashboardRig) {
	t.Helper()
	return openDemoSized(t, 120, 40)
}

// openDemoSized is openDemo on a terminal of width x height, in English.
func openDemoSized(t *testing.T, width, height int, extra ...string) (*tmuxSession, *dashboardRig) {
	t.Helper()
	tmp := t.TempDir()
	r := &dashboardRig{bin: buildBinary(t), sc: inspect.NewScanner()}
	argv := append([]string{"env", "NO_COLOR=1", "LANG=C", "LC_ALL=", "LC_MESSAGES=", "TMPDIR=" + tmp, r.bin,
		"demo", "--port", fmt.Sprint(freePort(t))}, extra...)
	s := startTmux(t, width, height, argv...)
	s.waitText(screenWait, "[ IDLE ]", "PROBE ok")
	found, _ := filepath.Glob(filepath.Join(tmp, "hotdeploy-sandbox-*", "logs", "nginx.pid"))
	if len(found) != 1 {
		t.Fatalf("want one sandbox pid file under TMPDIR, found %v", found)
	}
	r.pidFile = found[0]
	r.candidate = filepath.Join(filepath.Dir(filepath.Dir(found[0])), "candidate", "nginx")
	// Ctrl-C (in any mode) ends the demo before the test's directories go: the demo stops its
	// nginx itself.
	t.Cleanup(func() { s.keys("C-c"); waitGone(t, r) })
	return s, r
}

// waitGone waits (bounded) until the demo's sandbox directory is removed.
func waitGone(t *testing.T, r *dashboardRig) {
	deadline := time.Now().Add(screenWait)
	for time.Now().Before(deadline) {
		if m, _ := filepath.Glob(r.pidFile); len(m) == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("the demo did not remove its sandbox after q")
}

var (
	probeCounts = regexp.MustCompile(`PROBE ok (\d+)  failed (\d+)`)
	servedPart  = regexp.MustCompile(`(?:old |new )?(\d+)(?: \(exited\))? (\d+)`)
)

// probeState reads the probe panel: ok and failed counts, and answers by master pid.
func probeState(t *testing.T, screen string) (ok, failed int, served map[int]int) {
	t.Helper()
	m := probeCounts.FindStringSubmatch(screen)
	if m == nil {
		t.Fatalf("no probe counts on screen:\n%s", screen)
	}
	ok, _ = strconv.Atoi(m[1])
	failed, _ = strconv.Atoi(m[2])
	served = map[int]int{}
	_, line, found := strings.Cut(screen, "served by master ")
	if found {
		line, _, _ = strings.Cut(line, "\n")
		for _, part := range strings.Split(line, " · ") {
			if sm := servedPart.FindStringSubmatch(strings.TrimSpace(part)); sm != nil {
				pid, _ := strconv.Atoi(sm[1])
				n, _ := strconv.Atoi(sm[2])
				served[pid] = n
			}
		}
	}
	return ok, failed, served
}

// waitServed waits until the probe shows more answers from master pid than before.
func waitServed(t *testing.T, s *tmuxSession, pid, before int) map[int]int {
	t.Helper()
	var served map[int]int
	s.waitFor(fmt.Sprintf("answers from master %d beyond %d", pid, before), screenWait, func(screen string) bool {
		if !probeCounts.MatchString(screen) {
			return false
		}
		_, _, served = probeState(t, screen)
		return served[pid] > before
	})
	return served
}

func requireNoFailures(t *testing.T, s *tmuxSession, when string) {
	t.Helper()
	ok, failed, _ := probeState(t, s.capture())
	if failed != 0 || ok == 0 {
		t.Fatalf("%s: probe ok %d failed %d, want answers and no failure", when, ok, failed)
	}
}

// TestTmuxDemoProbeUpgradeCommitAndRollback: in the demo, the probe panel shows requests moving
// from the old generation to the new one across an upgrade and commit, and back across an
// upgrade and rollback, with no failed request.
func TestTmuxDemoProbeUpgradeCommitAndRollback(t *testing.T) {
	s, r := openDemo(t)
	in := r.instance(t)
	first := in.Masters[0].PID
	waitServed(t, s, first, 0)

	in = install(t, s, r, in)
	in = startNew(t, s, r, in)
	second := in.Masters[1].PID
	served := waitServed(t, s, second, 0)
	if served[first] == 0 {
		t.Errorf("both serving: no answer counted for the old master %d: %v", first, served)
	}
	in = drain(t, s, r, in)
	s.keys("c")
	s.waitText(screenWait, fmt.Sprintf("SIGQUIT to pid %d", first))
	s.keys("y")
	s.waitEnded("upgrade committed")
	in = r.waitPhase(t, in, "committed", func(in model.Instance) bool { return len(in.Masters) == 1 && in.Masters[0].PID == second })
	s.waitText(screenWait, fmt.Sprintf("%d (exited)", first))
	waitServed(t, s, second, served[second])
	requireNoFailures(t, s, "after upgrade and commit")

	// Upgrade again to a newer build, then roll back: answers move back to the master that
	// stays. (The committed candidate now runs: a new build has to arrive first.)
	newBuild(t, r.candidate)
	in = install(t, s, r, in)
	in = startNew(t, s, r, in)
	third := in.Masters[1].PID
	waitServed(t, s, third, 0)
	in = drain(t, s, r, in)
	s.keys("r")
	s.waitText(screenWait, fmt.Sprintf("SIGHUP to pid %d", second))
	s.keys("y")
	s.waitEnded("upgrade rolled back")
	r.waitPhase(t, in, "rolled back", func(in model.Instance) bool {
		return len(in.Masters) == 1 && in.Masters[0].PID == second && in.Masters[0].ActiveWorkers() > 0
	})
	screen := s.waitText(screenWait, fmt.Sprintf("%d (exited)", third))
	_, _, now := probeState(t, screen)
	waitServed(t, s, second, now[second])
	requireNoFailures(t, s, "after upgrade and rollback")
}

// TestTmuxDemoHeldConnectionDrains: l holds a slow download on a worker; after WINCH that
// worker stays, shown draining with its connection and drain time, and leaves once the
// download is closed (l again).
func TestTmuxDemoHeldConnectionDrains(t *testing.T) {
	s, r := openDemo(t)
	in := r.instance(t)
	s.keys("l")
	screen := s.waitText(screenWait, "held: worker ")
	m := regexp.MustCompile(`held: worker (\d+) \(cur\)`).FindStringSubmatch(screen)
	if m == nil {
		t.Fatalf("held download not on a current worker:\n%s", screen)
	}
	worker := m[1]
	row := func(screen string) string { return lineStarting(screen, worker+" ") }
	s.waitFor("worker "+worker+" holding 1 connection", screenWait, func(screen string) bool {
		return strings.HasSuffix(strings.TrimSpace(row(screen)), " 1")
	})

	in = install(t, s, r, in)
	in = startNew(t, s, r, in)
	s.keys("w")
	s.waitText(screenWait, fmt.Sprintf("SIGWINCH to pid %d", in.Masters[0].PID))
	s.keys("y")
	// The step is done once no old worker accepts; the held one keeps draining.
	s.waitFor("the drain step done", screenWait, func(screen string) bool {
		return strings.Contains(screen, "[ OLD-DRAINING ]") && !strings.Contains(screen, "[ No ]") &&
			!strings.Contains(screen, "wait for it")
	})
	drainedFor := regexp.MustCompile(`old draining (\d+)s`)
	s.waitFor("worker "+worker+" draining for 2s with its connection", screenWait, func(screen string) bool {
		l := row(screen)
		d := drainedFor.FindStringSubmatch(l)
		if d == nil {
			return false
		}
		n, _ := strconv.Atoi(d[1])
		return n >= 2 && strings.HasSuffix(strings.TrimSpace(l), " 1")
	})
	cur := r.instance(t)
	if cur.Phase != model.PhaseOldDraining {
		t.Fatalf("with the held download the phase is %s, want old-draining", cur.Phase)
	}

	s.keys("l")
	s.waitFor("worker "+worker+" gone", screenWait, func(screen string) bool {
		return row(screen) == "" && strings.Contains(screen, "[ OLD-DRAINED ]")
	})
	requireNoFailures(t, s, "after the held download drained")
}
