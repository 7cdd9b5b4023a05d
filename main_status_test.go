package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hotdeploy/hotdeploy/nginxctl/sandbox"
	"github.com/hotdeploy/hotdeploy/nginxctl/sandbox/sandboxtest"
)

// runCLI runs the command line in-process and returns exit code, stdout and stderr; a panic
// fails the test with the command that caused it.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	func() {
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("hotdeploy %s panicked: %v", strings.Join(args, " "), r)
			}
		}()
		code = run(args, &out, &errOut)
	}()
	return code, out.String(), errOut.String()
}

// TestStatusBadInput: every bad command line gets exit code 2 and one line on stderr naming the
// problem, and nothing on stdout.
func TestStatusBadInput(t *testing.T) {
	dir := t.TempDir()
	file := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	proc, err := os.StartProcess("/bin/true", []string{"true"}, &os.ProcAttr{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := proc.Wait(); err != nil {
		t.Fatal(err)
	}
	dead := strconv.Itoa(proc.Pid) // reaped: pids wrap around pid_max long after this test
	self := strconv.Itoa(os.Getpid())

	tests := []struct {
		name string
		args []string
		want []string // what the one line must mention
	}{
		{"unknown flag", []string{"status", "--bogus"}, []string{"-bogus"}},
		{"unknown command", []string{"stats"}, []string{`"stats"`}},
		{"pid that is not a number", []string{"status", "--pid", "abc"}, []string{"abc", "-pid"}},
		{"negative pid", []string{"status", "--pid", "-3"}, []string{"-3", "not a pid"}},
		{"pid and pid file", []string{"status", "--pid", self, "--pidfile", "/run/nginx.pid"}, []string{"--pid or --pidfile"}},
		{"stray argument", []string{"status", "--json", "extra"}, []string{`"extra"`}},
		{"pid of a process that is not nginx", []string{"status", "--pid", self}, []string{self, "not an nginx master"}},
		{"pid of a dead process", []string{"status", "--json", "--pid", dead}, []string{dead, "not running"}},
		{"missing pid file", []string{"status", "--pidfile", filepath.Join(dir, "absent.pid")}, []string{"absent.pid", "does not exist"}},
		{"empty pid file", []string{"status", "--pidfile", file("empty.pid", "")}, []string{"empty.pid", "empty"}},
		{"pid file with garbage", []string{"status", "--pidfile", file("junk.pid", "nginx\n")}, []string{"junk.pid", "does not hold a pid"}},
		{"pid file naming a dead pid", []string{"status", "--json", "--pidfile", file("dead.pid", dead+"\n")},
			[]string{"dead.pid", dead, "not running"}},
		{"pid file naming a live foreign process", []string{"status", "--pidfile", file("self.pid", self+"\n")},
			[]string{"self.pid", self, "not an nginx master"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tt.args...)
			if code != 2 {
				t.Errorf("exit code %d, want 2 (stderr %q)", code, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
			if strings.Count(stderr, "\n") != 1 || !strings.HasSuffix(stderr, "\n") || !strings.HasPrefix(stderr, "hotdeploy: ") {
				t.Errorf("stderr %q, want one line starting with \"hotdeploy: \"", stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q does not mention %q", stderr, w)
				}
			}
		})
	}
}

type cliStatus struct {
	Instances []struct {
		PidFile    string `json:"pid_file"`
		Phase      string `json:"phase"`
		PidFilePID int    `json:"pid_file_pid"`
		Masters    []struct {
			PID        int    `json:"pid"`
			Generation string `json:"generation"`
			Children   []struct {
				PID          int    `json:"pid"`
				Role         string `json:"role"`
				ShuttingDown bool   `json:"shutting_down"`
			} `json:"children"`
		} `json:"masters"`
	} `json:"instances"`
}

// statusCLI runs `hotdeploy status --json --pidfile P` and decodes what it printed; the second
// result says why it did not succeed.
func statusCLI(t *testing.T, pidFile string) (cliStatus, string) {
	t.Helper()
	code, stdout, stderr := runCLI(t, "status", "--json", "--pidfile", pidFile)
	if code != 0 || stderr != "" {
		return cliStatus{}, "exit " + strconv.Itoa(code) + ": " + stderr
	}
	var st cliStatus
	if err := json.Unmarshal([]byte(stdout), &st); err != nil {
		t.Fatalf("status --json printed something that is not JSON: %v: %q", err, stdout)
	}
	if len(st.Instances) != 1 || st.Instances[0].PidFile != pidFile {
		t.Fatalf("status --json --pidfile %s: %s", pidFile, stdout)
	}
	return st, ""
}

// waitStatusCLI runs status until what it prints satisfies cond: at most 1,000 runs and 20 s.
func waitStatusCLI(t *testing.T, pidFile, what string, cond func(cliStatus) bool) cliStatus {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	last, problem := "", ""
	for i := 0; i < 1000 && time.Now().Before(deadline); i++ {
		st, p := statusCLI(t, pidFile)
		if p == "" && cond(st) {
			return st
		}
		if p == "" {
			last = st.Instances[0].Phase
		}
		problem = p
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("status never showed %s; last phase %q, last problem %q", what, last, problem)
	return cliStatus{}
}

func waitPhaseCLI(t *testing.T, pidFile, phase string) cliStatus {
	t.Helper()
	return waitStatusCLI(t, pidFile, "phase "+phase, func(st cliStatus) bool { return st.Instances[0].Phase == phase })
}

// TestStatusCommandFollowsUpgrade runs the real command line against a sandbox while the test
// itself sends SIGUSR2 and SIGWINCH to the master pid it read.
func TestStatusCommandFollowsUpgrade(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.SandboxOptions{Workers: 2})
	b, err := os.ReadFile(sb.PidFile)
	if err != nil {
		t.Fatal(err)
	}
	oldPID, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}

	// The sandbox returns once one worker serves: wait for the other children too.
	idle := waitStatusCLI(t, sb.PidFile, "idle with 4 children", func(st cliStatus) bool {
		in := st.Instances[0]
		if in.Phase != "idle" || len(in.Masters) != 1 || len(in.Masters[0].Children) != 4 {
			return false
		}
		for _, c := range in.Masters[0].Children {
			if c.Role == "unknown" {
				return false
			}
		}
		return true
	}).Instances[0]
	if len(idle.Masters) != 1 || idle.Masters[0].PID != oldPID || idle.Masters[0].Generation != "current" ||
		len(idle.Masters[0].Children) != 4 {
		t.Fatalf("idle: %+v", idle)
	}
	code, text, stderr := runCLI(t, "status", "--pidfile", sb.PidFile)
	if code != 0 || stderr != "" || !strings.Contains(text, "phase idle") || !strings.Contains(text, "master "+strconv.Itoa(oldPID)) ||
		strings.Count(text, "worker") != 2 || !strings.Contains(text, "cache-manager") || !strings.Contains(text, "cache-loader") {
		t.Errorf("status (text): exit %d, stderr %q:\n%s", code, stderr, text)
	}

	if err := syscall.Kill(oldPID, syscall.SIGUSR2); err != nil {
		t.Fatal(err)
	}
	both := waitPhaseCLI(t, sb.PidFile, "both-serving").Instances[0]
	if len(both.Masters) != 2 || both.Masters[0].PID != oldPID || both.Masters[0].Generation != "old" ||
		both.Masters[1].Generation != "new" || both.PidFilePID != both.Masters[1].PID {
		t.Fatalf("both-serving: %+v", both)
	}
	newPID := both.Masters[1].PID

	if err := syscall.Kill(oldPID, syscall.SIGWINCH); err != nil {
		t.Fatal(err)
	}
	drained := waitPhaseCLI(t, sb.PidFile, "old-drained").Instances[0]
	if len(drained.Masters) != 2 || drained.Masters[0].PID != oldPID || len(drained.Masters[0].Children) != 0 ||
		drained.Masters[1].PID != newPID || len(drained.Masters[1].Children) == 0 {
		t.Errorf("old-drained: %+v", drained)
	}
	for _, c := range drained.Masters[1].Children {
		if c.ShuttingDown {
			t.Errorf("old-drained: new child %+v is shutting down", c)
		}
	}
}
