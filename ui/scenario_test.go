package ui

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/sandbox"
	"github.com/hotdeploy/hotdeploy/nginxctl/sandbox/sandboxtest"
)

func TestParseScenario(t *testing.T) {
	for in, want := range map[string]string{"": "", "none": "", "broken-config": "broken-config",
		"crash-on-start": "crash-on-start", "held-download": "held-download"} {
		if got, err := ParseScenario(in); err != nil || got != want {
			t.Errorf("ParseScenario(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseScenario("crash"); err == nil || !strings.Contains(err.Error(), "crash-on-start") {
		t.Errorf("an unknown scenario: %v", err)
	}
}

// nginx's options that ask rather than start a master go to the real nginx.
func TestAsksNginx(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{nil, false},
		{[]string{"-v"}, true},
		{[]string{"-V"}, true},
		{[]string{"-t", "-p", "/x", "-c", "/x/nginx.conf"}, true},
		{[]string{"-p", "/x", "-c", "/x/nginx.conf", "-tq"}, true},
		{[]string{"-s", "reload"}, true},
		{[]string{"-p", "/tv", "-c", "/t/v.conf", "-g", "daemon on;"}, false},
		{[]string{"-c", "/etc/nginx/nginx.conf"}, false},
	} {
		if got := asksNginx(tc.args); got != tc.want {
			t.Errorf("asksNginx(%q) = %v, want %v", tc.args, got, tc.want)
		}
	}
}

// TestCrashingCandidate stages the crash-on-start candidate from this test binary (which holds
// the ui package, and so the candidate mode) in a real sandbox: it answers -v and passes -t as
// the sandbox's nginx does, and started as a master it exits 1, saying so in the error log.
// Under another name than nginx the same bytes do not act as nginx.
func TestCrashingCandidate(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.SandboxOptions{})
	path, err := stageCrashingCandidate(sb)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(path, "-v").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "nginx version: nginx/") {
		t.Fatalf("%s -v: %v: %s", path, err, out)
	}
	out, err = exec.Command(path, "-t", "-p", sb.Prefix, "-c", sb.Conf).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "test is successful") {
		t.Fatalf("%s -t: %v: %s", path, err, out)
	}
	cmd := exec.Command(path, "-p", sb.Prefix, "-c", sb.Conf)
	if out, err := cmd.CombinedOutput(); err == nil || cmd.ProcessState.ExitCode() != 1 {
		t.Fatalf("started as a master: %v, exit %d: %s", err, cmd.ProcessState.ExitCode(), out)
	}
	log, err := os.ReadFile(sb.ErrorLog)
	if err != nil || !strings.Contains(string(log), "[emerg]") || !strings.Contains(string(log), "hotdeploy demo candidate (crash-on-start)") {
		t.Errorf("the error log does not say why the candidate exits: %v\n%s", err, log)
	}
	// The same file under another name is hotdeploy's test binary, not a candidate.
	other := filepath.Join(t.TempDir(), "hotdeploy")
	if err := sandbox.CopyFile(path, other, 0o755); err != nil {
		t.Fatal(err)
	}
	out, _ = exec.Command(other, "-test.run=^$").CombinedOutput()
	if strings.Contains(string(out), "nginx version") || strings.Contains(string(out), "hotdeploy demo candidate") {
		t.Errorf("a copy named hotdeploy acted as the candidate: %s", out)
	}
	f, err := os.Open(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, ok := readTrailer(f); ok {
		t.Errorf("the test binary itself carries a candidate trailer")
	}
}

// TestTmuxDemoScenarios runs `hotdeploy demo --scenario` for each failure a trainer can show and
// checks that the guide says what it rehearses and that the failure happens as narrated.
func TestTmuxDemoScenarios(t *testing.T) {
	t.Run("broken-config", func(t *testing.T) {
		s, r := openDemoSized(t, 120, 40, "--scenario", "broken-config")
		in := r.instance(t)
		s.waitText(screenWait, "In this scenario the sandbox's nginx.conf was edited")
		s.keys("t")
		s.waitText(screenWait, "test config refused", `unknown directive "hotdeploy_demo_broken_directive"`, "✗ test config      refused")
		s.keys("Escape")
		s.waitText(screenWait, "Failed: The config test failed")
		if cur := r.instance(t); len(cur.Masters) != 1 || cur.Masters[0].PID != in.Masters[0].PID {
			t.Errorf("the refused test changed nginx: %v", pids(cur))
		}
	})
	t.Run("crash-on-start", func(t *testing.T) {
		s, r := openDemoSized(t, 120, 40, "--scenario", "crash-on-start")
		in := r.instance(t)
		s.waitText(screenWait, "In this scenario the candidate binary answers -v")
		in = install(t, s, r, in)
		s.keys("u")
		s.waitText(screenWait, fmt.Sprintf("SIGUSR2 to pid %d", in.Masters[0].PID))
		s.keys("y")
		s.waitText(screenWait, "start new binary failed", "hotdeploy demo candidate (crash-on-start)", "✗ start new  USR2")
		cur := r.waitPhase(t, in, "the old master serving alone again", func(cur model.Instance) bool {
			return len(cur.Masters) == 1 && cur.Masters[0].PID == in.Masters[0].PID && cur.Masters[0].ActiveWorkers() > 0
		})
		if cur.Phase != model.PhaseIdle {
			t.Errorf("phase %s after the crash", cur.Phase)
		}
		s.keys("Escape")
		s.waitText(screenWait, "Failed: The new master exited or never")
		requireNoFailures(t, s, "after the candidate crashed")
	})
	t.Run("held-download", func(t *testing.T) {
		s, _ := openDemoSized(t, 120, 40, "--scenario", "held-download")
		s.waitText(screenWait, "a slow download is already held open", "held: worker ", "l release")
	})
}
