package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/hotdeploy/hotdeploy/nginxctl/audit"
	"github.com/hotdeploy/hotdeploy/nginxctl/upgrade/upgradetest"
)

// What `sudo hotdeploy upgrade` leaves in the audit log, through the built binary. A child of
// the test binary stands in for sudo: it sets its loginuid as pam_loginuid does at login (the
// test runner's own never changes), keeps SSH_CONNECTION in its own environment as sudo does,
// and runs hotdeploy with SUDO_USER/SUDO_UID instead, on a pseudo-terminal.

// The stand-in for sudo does all its work in init, before any test runs: the kernel keeps the
// loginuid per thread and takes the write only from the main thread, and a child inherits the
// loginuid of the thread that forked it. Go runs init on the main thread, locked to it, so the
// write and the fork both happen there; from a test's goroutine the fork may come from another
// thread, whose loginuid is still unset (seen here: about one run in three lost it).
func init() {
	if os.Getenv("HOTDEPLOY_SUDO_HELPER") != "" {
		os.Exit(sudoHelper())
	}
}

// sudoHelper sets the loginuid, then runs the command in HOTDEPLOY_SUDO_ARGS as sudo would:
// SUDO_* set, SSH_* dropped from its environment (sudo's own keeps them), and returns its
// exit code.
func sudoHelper() int {
	if v := os.Getenv("HOTDEPLOY_SUDO_LOGINUID"); v != "" {
		if err := os.WriteFile("/proc/self/loginuid", []byte(v), 0); err != nil {
			fmt.Fprintf(os.Stderr, "loginuid refused: %v\n", err)
		} else if now, err := os.ReadFile("/proc/self/loginuid"); err != nil || string(now) != v {
			fmt.Fprintf(os.Stderr, "loginuid written as %s but reads back %q (%v)\n", v, now, err)
		}
	}
	var args []string
	if err := json.Unmarshal([]byte(os.Getenv("HOTDEPLOY_SUDO_ARGS")), &args); err != nil || len(args) == 0 {
		fmt.Fprintln(os.Stderr, "helper: no command in HOTDEPLOY_SUDO_ARGS")
		return 125
	}
	cmd := exec.Command(args[0], args[1:]...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SSH_") && !strings.HasPrefix(kv, "HOTDEPLOY_SUDO_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "SUDO_USER="+os.Getenv("HOTDEPLOY_SUDO_USER"), "SUDO_UID="+os.Getenv("HOTDEPLOY_SUDO_UID"),
		"SUDO_GID="+os.Getenv("HOTDEPLOY_SUDO_UID"), "SUDO_COMMAND="+strings.Join(args, " "))
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return ee.ExitCode()
	case err != nil:
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 125
	}
	return 0
}

// TestSudoAuditNamesThePerson: `sudo hotdeploy upgrade` over SSH, by the built binary, on a
// sandbox nginx. Every entry says root acted for the person (sudo_user, sudo_uid, the login
// uid and name, the tty, the SSH peer); `hotdeploy audit` shows "<person> via sudo (root)" on
// every row, `audit --json` gives the same entries, and `audit verify` finds the chain intact.
func TestSudoAuditNamesThePerson(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: sudo runs hotdeploy as root, and only root may set a loginuid")
	}
	person := operatorAccount(t)
	bin := buildBinary(t)
	c := newCLITarget(t)
	tty, ttyName := openPTY(t)
	runnerLoginUID, _ := os.ReadFile("/proc/self/loginuid")

	args, _ := json.Marshal([]string{bin, "upgrade", "--pidfile", c.sb.PidFile, "--new-binary", upgradetest.Copy(t),
		"--yes", "--json", "--audit-log", c.audit})
	cmd := exec.Command(os.Args[0], "-test.run=^$") // init runs the helper and exits
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SUDO_") && !strings.HasPrefix(kv, "SSH_") && !strings.HasPrefix(kv, "HOTDEPLOY_SUDO_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "HOTDEPLOY_SUDO_HELPER=1", "HOTDEPLOY_SUDO_ARGS="+string(args),
		"HOTDEPLOY_SUDO_USER="+person.Username, "HOTDEPLOY_SUDO_UID="+person.Uid, "HOTDEPLOY_SUDO_LOGINUID="+person.Uid,
		"SSH_CONNECTION=192.0.2.7 52044 192.0.2.1 22")
	var out, errOut bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, &out, &errOut
	err := cmd.Run()
	if res := upgradetest.LastResult(t, out.String()); err != nil || res.Result != "committed" {
		t.Fatalf("sudo hotdeploy upgrade: %v, result %q\n%s%s", err, res.Result, out.String(), errOut.String())
	}
	if strings.Contains(errOut.String(), "reads back") {
		t.Fatalf("the stand-in for sudo could not set its loginuid: %s", errOut.String())
	}
	loginSet := !strings.Contains(errOut.String(), "loginuid refused")
	if !loginSet {
		t.Logf("this kernel refused a loginuid in the child (%s); login_uid is covered by the audit package's parsing tests",
			strings.TrimSpace(errOut.String()))
	}

	uid64, _ := strconv.ParseUint(person.Uid, 10, 32)
	uid := uint32(uid64)
	entries := upgradetest.AuditEntries(t, c.audit)
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action)
		if e.User != "root" || e.SudoUser != person.Username || e.SudoUID == nil || *e.SudoUID != uid {
			t.Errorf("%s entry: user %q sudo %q %v; want root, %s %d", e.Action, e.User, e.SudoUser, e.SudoUID, person.Username, uid)
		}
		if e.TTY != ttyName || e.SSHClient != "192.0.2.7:52044" {
			t.Errorf("%s entry: tty %q ssh %q; want %s and 192.0.2.7:52044", e.Action, e.TTY, e.SSHClient, ttyName)
		}
		if loginSet && (e.LoginUID == nil || *e.LoginUID != uid || e.LoginUser != person.Username) {
			t.Errorf("%s entry: login %v %q; want %d %s", e.Action, e.LoginUID, e.LoginUser, uid, person.Username)
		}
	}
	for _, want := range []string{"preflight", "install", "upgrade", "drain", "commit"} {
		if !slices.Contains(actions, want) {
			t.Errorf("no %q entry among %v", want, actions)
		}
	}
	if raw, err := os.ReadFile(c.audit); err == nil {
		t.Logf("the upgrade (SIGUSR2) entry, as written:\n%s", lineWith(string(raw), `"action":"upgrade"`))
	}

	code, table, stderr := runBinary(t, bin, "audit", "--audit-log", c.audit)
	t.Logf("hotdeploy audit:\n%s", table)
	rows := strings.Split(strings.TrimSpace(table), "\n")
	if code != 0 || stderr != "" || len(rows) != len(entries)+1 {
		t.Fatalf("hotdeploy audit: exit %d, stderr %q, %d rows for %d entries", code, stderr, len(rows), len(entries))
	}
	for _, row := range rows[1:] {
		if !strings.Contains(row, person.Username+" via sudo (root)") {
			t.Errorf("row without %q: %s", person.Username+" via sudo (root)", row)
		}
	}
	code, js, _ := runBinary(t, bin, "audit", "--json", "--since", "1h", "--audit-log", c.audit)
	if lines := strings.Split(strings.TrimSpace(js), "\n"); code != 0 || len(lines) != len(entries) {
		t.Errorf("hotdeploy audit --json --since 1h: exit %d, %d lines for %d entries", code, len(lines), len(entries))
	} else {
		var e audit.Entry
		if err := json.Unmarshal([]byte(lines[0]), &e); err != nil || e.SudoUser != person.Username {
			t.Errorf("audit --json line %q: %v", lines[0], err)
		}
	}
	code, verdict, _ := runBinary(t, bin, "audit", "verify", "--audit-log", c.audit)
	if want := fmt.Sprintf("intact, %d lines, seq 1-%d\n", len(entries), len(entries)); code != 0 || !strings.HasSuffix(verdict, want) {
		t.Errorf("hotdeploy audit verify: exit %d, %q; want 0 and %q", code, verdict, want)
	}
	if after, _ := os.ReadFile("/proc/self/loginuid"); !bytes.Equal(after, runnerLoginUID) {
		t.Errorf("the test runner's loginuid changed from %s to %s", runnerLoginUID, after)
	}
}

// operatorAccount is a non-root account to stand for the person behind sudo: the first user
// account (uid 1000) when the machine has one, else nobody, which every Debian has.
func operatorAccount(t *testing.T) *user.User {
	t.Helper()
	for _, uid := range []string{"1000", "65534"} {
		if u, err := user.LookupId(uid); err == nil {
			return u
		}
	}
	t.Skip("no account with uid 1000 or 65534 to stand for the operator")
	return nil
}

// buildBinary builds hotdeploy into the test's temp dir.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "hotdeploy")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// runBinary runs the built binary and returns its exit code, stdout and stderr.
func runBinary(t *testing.T, bin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("%s %s: %v", bin, strings.Join(args, " "), err)
	}
	return cmd.ProcessState.ExitCode(), out.String(), errOut.String()
}

func lineWith(text, part string) string {
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, part) {
			return l
		}
	}
	return ""
}

// openPTY makes a pseudo-terminal pair so the child's stdin is a real terminal, as sudo's is.
func openPTY(t *testing.T) (*os.File, string) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("no pseudo-terminals: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("/dev/pts/%d", n)
	s, err := os.OpenFile(name, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, name
}
