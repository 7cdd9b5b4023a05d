package ui

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hotdeploy/hotdeploy/nginxctl/sandbox"
)

// freePort returns a loopback port nothing listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// processGone tells whether pid exited (a zombie nobody reaped counts as exited).
func processGone(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	i := bytes.LastIndexByte(b, ')')
	return i > 0 && i+2 < len(b) && b[i+2] == 'Z'
}

// processRow matches a row of the process table: pid, ppid, role.
var processRow = regexp.MustCompile(`(?m)^(\d+)\s+\d+\s+[├└ ]*(master|worker|cache-manager|cache-loader)\b`)

func TestDemoBusyPortSaysSo(t *testing.T) {
	bin := buildBinary(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	cmd := exec.Command(bin, "demo", "--port", fmt.Sprint(port))
	cmd.Env = append(os.Environ(), "TMPDIR="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("demo on a busy port succeeded: %s", out)
	}
	if want := fmt.Sprintf("port %d on 127.0.0.1 is in use", port); !strings.Contains(string(out), want) {
		t.Errorf("output %q lacks %q", out, want)
	}
}

// TestTmuxDemoStopsSandbox runs `hotdeploy demo` and ends it twice: with q, and by killing the
// tmux server (the terminal hangs up, as when an SSH link drops). Both times every nginx of
// the sandbox ends and its directory is removed.
func TestTmuxDemoStopsSandbox(t *testing.T) {
	bin := buildBinary(t)
	// q and a hang-up end the dashboard, and Demo stops the sandbox itself. SIGTERM ends it too
	// (bubbletea turns it into a quit). SIGQUIT ends the process the way an unrecovered panic in
	// a goroutine or a fatal runtime error does: the runtime exits, no deferred function runs.
	// SIGKILL gives the process no chance at all. For those the sandbox's guard, a process of
	// its own, stops it.
	for _, how := range []string{"q", "hangup", "SIGTERM", "SIGQUIT", "SIGKILL"} {
		t.Run(how, func(t *testing.T) {
			// A short TMPDIR, whatever the subtest's name: the candidate's path under it must fit
			// the 120 columns the screen check reads it in.
			tmp, err := os.MkdirTemp("", "hdd")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(tmp) })
			s := startTmux(t, 120, 40, "env", "NO_COLOR=1", "TMPDIR="+tmp, bin, "demo", "--port", fmt.Sprint(freePort(t)))
			screen := s.waitText(screenWait, "[ IDLE ]", "candidate ", "/candidate/nginx", "i install")
			var procs []int
			for _, match := range processRow.FindAllStringSubmatch(screen, -1) {
				var pid int
				fmt.Sscan(match[1], &pid)
				procs = append(procs, pid)
			}
			if len(procs) < 3 {
				t.Fatalf("want the master and its children on screen:\n%s", screen)
			}
			t.Cleanup(func() {
				// Should the test fail, end the sandbox it started, by the pids it read.
				for _, pid := range procs {
					comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
					if !processGone(pid) && strings.TrimSpace(string(comm)) == "nginx" {
						_ = syscall.Kill(pid, syscall.SIGKILL)
					}
				}
			})
			if entries, _ := os.ReadDir(tmp); len(entries) != 1 {
				t.Fatalf("want one sandbox directory in TMPDIR, found %d", len(entries))
			}
			switch how {
			case "q":
				s.keys("q")
			case "hangup":
				s.stop()
			default:
				pid := s.panePID()
				if comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); strings.TrimSpace(string(comm)) != "hotdeploy" {
					t.Fatalf("the pane's process %d is %q, not hotdeploy", pid, comm)
				}
				sig := map[string]syscall.Signal{"SIGTERM": syscall.SIGTERM, "SIGQUIT": syscall.SIGQUIT, "SIGKILL": syscall.SIGKILL}[how]
				if err := syscall.Kill(pid, sig); err != nil {
					t.Fatal(err)
				}
			}
			deadline := time.Now().Add(screenWait)
			for {
				entries, _ := os.ReadDir(tmp)
				var alive []int
				for _, pid := range procs {
					if !processGone(pid) {
						alive = append(alive, pid)
					}
				}
				guards := guardsOf(tmp)
				if len(entries) == 0 && len(alive) == 0 && len(guards) == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("after %s: %d entries left in TMPDIR, processes still running: %v, guards left: %v",
						how, len(entries), alive, guards)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}

// guardsOf lists the sandbox guards (sandbox.GuardEnv) of sandboxes under dir still running.
func guardsOf(dir string) []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || processGone(pid) {
			continue
		}
		env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		if err == nil && bytes.Contains(env, []byte(sandbox.GuardEnv+"=")) && bytes.Contains(env, []byte(dir)) {
			pids = append(pids, pid)
		}
	}
	return pids
}
