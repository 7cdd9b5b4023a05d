package ui

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/inspect"
	"github.com/hotdeploy/hotdeploy/nginxctl/sandbox"
	"github.com/hotdeploy/hotdeploy/nginxctl/sandbox/sandboxtest"
)

// These tests run the built hotdeploy binary in a tmux server of their own against a real
// sandbox nginx, type keys with send-keys and read the screen with capture-pane.

var tmuxServers atomic.Int64

// tmuxSession is one session on a tmux server with its own socket (-L), so the tests never
// touch the operator's tmux; the server is killed by that socket when the test ends.
type tmuxSession struct {
	t          *testing.T
	sock, name string
}

// buildBinary builds hotdeploy into a temporary directory.
func buildBinary(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Fatalf("the go tool is needed to build hotdeploy: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "hotdeploy")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/hotdeploy/hotdeploy").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startTmux opens a detached session of width x height running argv directly (several
// arguments: tmux execs them without a shell).
func startTmux(t *testing.T, width, height int, argv ...string) *tmuxSession {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Fatalf("tmux is needed for the end-to-end test (Debian: apt-get install tmux): %v", err)
	}
	s := &tmuxSession{t: t, sock: fmt.Sprintf("hotdeploy-test-%d-%d", os.Getpid(), tmuxServers.Add(1)), name: "dash"}
	t.Cleanup(s.stop)
	args := append([]string{"new-session", "-d", "-s", s.name, "-x", fmt.Sprint(width), "-y", fmt.Sprint(height)}, argv...)
	if out, err := s.run(args...); err != nil {
		t.Fatalf("tmux new-session: %v: %s", err, out)
	}
	return s
}

// stop kills the tmux server and waits (bounded) until the program it ran has exited: the
// program may still be cleaning up (the demo stops its nginx) in directories the test removes
// next.
// panePID is the pid of the process the pane runs.
func (s *tmuxSession) panePID() int {
	s.t.Helper()
	out, err := s.run("display-message", "-p", "-t", s.name, "#{pane_pid}")
	var pid int
	if err == nil {
		_, err = fmt.Sscan(out, &pid)
	}
	if err != nil || pid <= 1 {
		s.t.Fatalf("the pane's pid: %q, %v", out, err)
	}
	return pid
}

func (s *tmuxSession) stop() {
	out, err := s.run("display-message", "-p", "-t", s.name, "#{pane_pid}")
	_, _ = s.run("kill-server")
	// A server that ended, by kill-server or with its last session, leaves its socket file.
	dir := os.Getenv("TMUX_TMPDIR")
	if dir == "" {
		dir = "/tmp" // tmux does not look at TMPDIR
	}
	_ = os.Remove(filepath.Join(dir, fmt.Sprintf("tmux-%d", os.Getuid()), s.sock))
	var pid int
	if err != nil {
		return // the session is gone already
	}
	if _, err := fmt.Sscan(out, &pid); err != nil || pid <= 1 {
		return
	}
	deadline := time.Now().Add(screenWait)
	for !processGone(pid) {
		if time.Now().After(deadline) {
			s.t.Errorf("the program in tmux (pid %d) did not exit after the hang-up", pid)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
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

// keys types tmux key names (y, Enter, Escape) into the session.
func (s *tmuxSession) keys(keys ...string) {
	s.t.Helper()
	if out, err := s.run(append([]string{"send-keys", "-t", s.name}, keys...)...); err != nil {
		s.t.Fatalf("tmux send-keys %v: %v: %s", keys, err, out)
	}
}

// waitFor polls the screen until cond holds, failing after timeout with the last screen.
func (s *tmuxSession) waitFor(what string, timeout time.Duration, cond func(screen string) bool) string {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		screen := s.capture()
		if cond(screen) {
			return screen
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("waited %s for %s; screen:\n%s", timeout, what, screen)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *tmuxSession) waitText(timeout time.Duration, texts ...string) string {
	s.t.Helper()
	return s.waitFor(fmt.Sprintf("%q on screen", texts), timeout, func(screen string) bool {
		for _, x := range texts {
			if !strings.Contains(screen, x) {
				return false
			}
		}
		return true
	})
}

// dashboardRig is a sandbox nginx, a staged candidate binary and the built dashboard.
type dashboardRig struct {
	sb        *sandbox.Sandbox
	pidFile   string
	sc        *inspect.Scanner
	bin       string
	candidate string
	audit     string
}

func newDashboardRig(t *testing.T) *dashboardRig {
	t.Helper()
	r := &dashboardRig{bin: buildBinary(t), sc: inspect.NewScanner()}
	r.sb = sandboxtest.Start(t, sandbox.SandboxOptions{})
	r.pidFile = r.sb.PidFile
	dir := t.TempDir()
	r.candidate, r.audit = filepath.Join(dir, "nginx-candidate"), filepath.Join(dir, "audit.log")
	// A build of its own (a marker past the ELF segments, as the demo stages it): bytes that
	// differ from the running binary, so that u is offered once it is installed.
	if err := sandbox.CopyFile(r.sb.Binary, r.candidate, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := appendMarker(r.candidate); err != nil {
		t.Fatal(err)
	}
	return r
}

// newBuild gives the candidate at path new bytes (appendMarker): another build than any that ran.
func newBuild(t *testing.T, path string) {
	t.Helper()
	if err := appendMarker(path); err != nil {
		t.Fatal(err)
	}
}

// open starts a dashboard on the sandbox without colour (NO_COLOR), so dimmed keys show in
// parentheses on the captured screen.
func (r *dashboardRig) open(t *testing.T, width, height int, extra ...string) *tmuxSession {
	t.Helper()
	argv := append([]string{"env", "NO_COLOR=1", r.bin, "--pidfile", r.sb.PidFile,
		"--new-binary", r.candidate, "--audit-log", r.audit, "--interval", "100ms"}, extra...)
	return startTmux(t, width, height, argv...)
}

func (r *dashboardRig) instance(t *testing.T) model.Instance {
	t.Helper()
	snap, err := inspect.NewScanner().Resolve(inspect.Target{PidFile: r.pidFile})
	if err != nil {
		t.Fatalf("resolve %s: %v", r.pidFile, err)
	}
	return snap.Instances[0]
}

func (r *dashboardRig) waitPhase(t *testing.T, in model.Instance, what string, cond func(model.Instance) bool) model.Instance {
	t.Helper()
	return sandboxtest.WaitFor(t, r.sc, in, 15*time.Second, what, cond)
}

func pids(in model.Instance) []string {
	var ps []string
	for _, m := range in.Masters {
		ps = append(ps, fmt.Sprint(m.PID))
		for _, c := range m.Children {
			ps = append(ps, fmt.Sprint(c.PID))
		}
	}
	return ps
}

const screenWait = 15 * time.Second

// waitDone waits until the dashboard shows the step it was asked to run as finished: the
// dialog gone, nothing running, and the step ticked in the step list. Keys typed before that
// would meet a busy dashboard and be refused.
func (s *tmuxSession) waitDone(label string) string {
	s.t.Helper()
	return s.waitFor("step "+label+" done", screenWait, func(screen string) bool {
		return strings.Contains(screen, "✓ "+label) && !strings.Contains(screen, "[ No ]") &&
			!strings.Contains(screen, "wait for it")
	})
}

// install types i, accepts the prefilled candidate path and confirms.
func install(t *testing.T, s *tmuxSession, r *dashboardRig, in model.Instance) model.Instance {
	t.Helper()
	s.keys("i")
	// The input scrolls a long path to its end.
	s.waitText(screenWait, "new nginx binary: ", r.candidate[max(len(r.candidate)-40, 0):])
	s.keys("Enter")
	s.waitText(screenWait, "Install new binary?", "candidate: ", "[ No ]")
	s.keys("y")
	s.waitDone("install binary")
	in = r.waitPhase(t, in, "the candidate installed", func(in model.Instance) bool { return in.BinaryDiffers })
	screen := s.waitText(screenWait, "on disk: new file", "u start new")
	if strings.Contains(screen, "(u start new)") {
		t.Fatalf("u is dimmed with a new build on disk:\n%s", screen)
	}
	return in
}

// waitEnded waits until a commit or rollback ended the upgrade on screen: the summary shows,
// and nothing is running.
func (s *tmuxSession) waitEnded(head string) string {
	s.t.Helper()
	return s.waitFor("the summary: "+head, screenWait, func(screen string) bool {
		return strings.Contains(screen, "SUMMARY") && strings.Contains(screen, head) &&
			!strings.Contains(screen, "[ No ]") && !strings.Contains(screen, "wait for it")
	})
}

// startNew confirms u and waits for both generations to serve, on screen and in /proc.
func startNew(t *testing.T, s *tmuxSession, r *dashboardRig, in model.Instance) model.Instance {
	t.Helper()
	old := in.Masters[0].PID
	s.keys("u")
	s.waitText(screenWait, fmt.Sprintf("SIGUSR2 to pid %d", old))
	s.keys("y")
	s.waitDone("start new  USR2")
	in = r.waitPhase(t, in, "both-serving", func(in model.Instance) bool { return in.Phase == model.PhaseBothServing })
	s.waitText(screenWait, append([]string{"[ BOTH-SERVING ]", "w drain old", "r rollback"}, pids(in)...)...)
	return in
}

// drain confirms w and waits until no old worker accepts.
func drain(t *testing.T, s *tmuxSession, r *dashboardRig, in model.Instance) model.Instance {
	t.Helper()
	s.keys("w")
	s.waitText(screenWait, fmt.Sprintf("SIGWINCH to pid %d", in.Masters[0].PID))
	s.keys("y")
	s.waitDone("drain old  WINCH")
	in = r.waitPhase(t, in, "old workers drained", func(in model.Instance) bool {
		return in.Phase == model.PhaseOldDrained
	})
	s.waitText(screenWait, "[ OLD-DRAINED ]", "c commit", "r rollback")
	return in
}
