package audit

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Child processes: the test binary re-executed with HOTDEPLOY_AUDIT_HELPER set, so that
// several processes share one log, and so that sudo's environment and a loginuid are set in a
// child, never on the test runner.

// loginuidErr is what writing /proc/self/loginuid did in a child asked to set it. It is done in
// init because the kernel takes the write only from the main thread, and Go runs init there.
var loginuidErr error

func init() {
	if v := os.Getenv("HOTDEPLOY_AUDIT_SET_LOGINUID"); v != "" && os.Getenv("HOTDEPLOY_AUDIT_HELPER") != "" {
		loginuidErr = os.WriteFile("/proc/self/loginuid", []byte(v), 0)
	}
}

// TestHelperProcess is not a test: it is the body of the child processes.
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv("HOTDEPLOY_AUDIT_HELPER")
	if mode == "" {
		t.Skip("runs only as a child process of other tests")
	}
	if err := helperMain(mode); err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

func helperMain(mode string) error {
	switch mode {
	case "append":
		if v := os.Getenv("HOTDEPLOY_AUDIT_SET_LOGINUID"); v != "" {
			if loginuidErr != nil {
				fmt.Fprintf(os.Stderr, "loginuid refused: %v\n", loginuidErr)
			} else {
				fmt.Fprintf(os.Stderr, "loginuid set to %s\n", v)
			}
		}
		l, err := Open(os.Getenv("HOTDEPLOY_AUDIT_LOG"))
		if err != nil {
			return err
		}
		l.journalSocket = os.Getenv("HOTDEPLOY_AUDIT_JOURNAL")
		l.syslogSocket = ""
		n, _ := strconv.Atoi(os.Getenv("HOTDEPLOY_AUDIT_N"))
		for i := range max(n, 1) {
			e := Entry{Instance: "/run/nginx.pid", Action: "usr2", Signal: "SIGUSR2",
				PID: os.Getpid(), StartTicks: uint64(i), Result: "sent"}
			if err := l.Record(e); err != nil {
				return err
			}
		}
		return nil
	case "journald":
		return helperJournald()
	case "sudo":
		// Stands in for sudo: its own environment still has SSH_CONNECTION (sudo's does), the
		// command it runs gets SUDO_USER/SUDO_UID instead, and a loginuid as pam_loginuid sets.
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "SSH_") && !strings.HasPrefix(kv, "HOTDEPLOY_AUDIT_HELPER=") {
				cmd.Env = append(cmd.Env, kv)
			}
		}
		cmd.Env = append(cmd.Env, "HOTDEPLOY_AUDIT_HELPER=append",
			"SUDO_USER="+os.Getenv("HOTDEPLOY_AUDIT_SUDO_USER"), "SUDO_UID="+os.Getenv("HOTDEPLOY_AUDIT_SUDO_UID"),
			"HOTDEPLOY_AUDIT_SET_LOGINUID="+os.Getenv("HOTDEPLOY_AUDIT_SUDO_UID"))
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
		return cmd.Run()
	}
	return fmt.Errorf("unknown helper mode %q", mode)
}

// helperCmd runs this test binary as a child in the given mode, with an environment free of
// anything that names a person (SUDO_*, SSH_*), plus env.
func helperCmd(mode string, env ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SUDO_") && !strings.HasPrefix(kv, "SSH_") && !strings.HasPrefix(kv, "HOTDEPLOY_AUDIT_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "HOTDEPLOY_AUDIT_HELPER="+mode)
	cmd.Env = append(cmd.Env, env...)
	return cmd
}

// openTest opens a log in a temp dir whose journal and syslog copies go nowhere, so tests
// never write to the host's journal.
func openTest(t *testing.T, path string) *Log {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "audit.log")
	}
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	l.journalSocket, l.syslogSocket = "", ""
	return l
}

// record appends n entries and fails the test on any error.
func record(t *testing.T, l *Log, n int) {
	t.Helper()
	for i := range n {
		e := Entry{Instance: "/run/nginx.pid", Action: "usr2", Signal: "SIGUSR2", PID: 1000 + i, Result: "sent"}
		if err := l.Record(e); err != nil {
			t.Fatal(err)
		}
	}
}

// readLines returns the log's lines without their newlines.
func readLines(t *testing.T, path string) []string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
}

func writeLines(t *testing.T, path string, lines []string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

// mustVerify runs Verify and fails on an unreadable log.
func mustVerify(t *testing.T, path string) Report {
	t.Helper()
	r, err := Verify(path)
	if err != nil {
		t.Fatalf("verify %s: %v", path, err)
	}
	return r
}

// wantBroken checks the first broken finding is at line and mentions text.
func wantBroken(t *testing.T, r Report, line int, text string) {
	t.Helper()
	f, ok := r.FirstBroken()
	if !ok {
		t.Fatalf("verify passed, want broken at line %d (%q); findings: %+v", line, text, r.Findings)
	}
	if f.Line != line || !strings.Contains(f.Text, text) {
		t.Fatalf("first broken finding = line %d %q, want line %d containing %q", f.Line, f.Text, line, text)
	}
}

func wantIntact(t *testing.T, r Report) {
	t.Helper()
	if !r.Intact() {
		t.Fatalf("verify found the log broken: %+v", r.Findings)
	}
}

var zeroTime = time.Time{}
