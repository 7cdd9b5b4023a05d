package audit

import (
	"encoding/json"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseLoginUID(t *testing.T) {
	for _, c := range []struct {
		in   string
		uid  uint32
		want bool
	}{{"1000", 1000, true}, {"0\n", 0, true}, {"4294967295", 0, false}, {"", 0, false}, {"x", 0, false}} {
		uid, ok := parseLoginUID(c.in)
		if uid != c.uid || ok != c.want {
			t.Errorf("parseLoginUID(%q) = %d %v, want %d %v", c.in, uid, ok, c.uid, c.want)
		}
	}
}

func TestParseSSH(t *testing.T) {
	for _, c := range []struct{ conn, client, want string }{
		{"192.0.2.7 52044 10.0.0.5 22", "", "192.0.2.7:52044"},
		{"2001:db8::7 40000 2001:db8::1 22", "", "[2001:db8::7]:40000"},
		{"", "198.51.100.3 6000 22", "198.51.100.3:6000"},
		{"garbage", "", ""},
		{"192.0.2.7 notaport 10.0.0.5 22", "", ""},
	} {
		if got := parseSSH(c.conn, c.client); got != c.want {
			t.Errorf("parseSSH(%q, %q) = %q, want %q", c.conn, c.client, got, c.want)
		}
	}
}

func TestTTYFromStat(t *testing.T) {
	for _, c := range []struct{ stat, want string }{
		{"42 (bash) S 1 42 42 34819 42 4194560", "/dev/pts/3"}, // 136<<8 | 3
		{"42 (a b) c) S 1 42 42 1025 42 0", "/dev/tty1"},       // 4<<8 | 1
		{"42 (getty) S 1 42 42 1088 42 0", "/dev/ttyS0"},       // 4<<8 | 64
		{"42 (cron) S 1 42 42 0 -1 0", ""},                     // no terminal
		{"42 (pts) S 1 42 42 " + strconv.Itoa(137<<8|5), "/dev/pts/261"},
	} {
		got := ""
		if nr, ok := statTTYNr([]byte(c.stat)); ok {
			got = ttyName(nr)
		}
		if got != c.want {
			t.Errorf("tty of %q = %q, want %q", c.stat, got, c.want)
		}
	}
}

// The parsing path of every source, from files the test made: a loginuid, a controlling
// terminal, sudo's variables, and SSH_CONNECTION found in an ancestor's environment.
func TestWhoFromFakeSource(t *testing.T) {
	proc := t.TempDir()
	put := func(rel, content string) {
		p := filepath.Join(proc, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	put("self/loginuid", "0")
	put("self/stat", "500 (hotdeploy) S 400 500 300 34821 500 0")
	put("500/stat", "500 (hotdeploy) S 400 500 300 34821 500 0")
	put("400/stat", "400 (sudo) S 300 400 300 34821 400 0")
	put("400/environ", "HOME=/root\x00SSH_CONNECTION=203.0.113.9 41000 10.0.0.5 22\x00")
	env := map[string]string{"SUDO_USER": "alice", "SUDO_UID": "1001"}
	src := whoSource{proc: proc, getenv: func(k string) string { return env[k] }, maxUp: 4, selfPID: 500}
	id := src.gather()
	if id.LoginUID == nil || *id.LoginUID != 0 || id.LoginUser != "root" {
		t.Errorf("login %v %q, want uid 0 root", id.LoginUID, id.LoginUser)
	}
	if id.SudoUser != "alice" || id.SudoUID == nil || *id.SudoUID != 1001 {
		t.Errorf("sudo %q %v, want alice 1001", id.SudoUser, id.SudoUID)
	}
	if id.TTY != "/dev/pts/5" || id.SSHClient != "203.0.113.9:41000" {
		t.Errorf("tty %q ssh %q, want /dev/pts/5 and 203.0.113.9:41000", id.TTY, id.SSHClient)
	}
}

// openPTY makes a pseudo-terminal pair so a child's stdin is a real terminal.
func openPTY(t *testing.T) (*os.File, string) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here (%v): the tty is covered by TestWhoFromFakeSource", err)
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

// What `sudo hotdeploy` run over SSH produces: a child stands in for sudo (its environment
// has SSH_CONNECTION, the command's has SUDO_USER/SUDO_UID instead), and the command's process
// sets its loginuid as pam_loginuid does at login. None of this touches the test runner.
func TestSudoEntryNamesThePerson(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: sudo runs hotdeploy as root")
	}
	person, err := user.LookupId("1000")
	if err != nil {
		t.Skipf("no account with uid 1000 to stand for the operator: %v", err)
	}
	runnerLoginUID, _ := os.ReadFile("/proc/self/loginuid")
	tty, ttyName := openPTY(t)
	path := filepath.Join(t.TempDir(), "audit.log")
	cmd := helperCmd("sudo", "HOTDEPLOY_AUDIT_LOG="+path,
		"HOTDEPLOY_AUDIT_SUDO_USER="+person.Username, "HOTDEPLOY_AUDIT_SUDO_UID=1000",
		"SSH_CONNECTION=192.0.2.7 52044 192.0.2.1 22")
	cmd.Stdin = tty
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v: %s", err, out)
	}
	t.Logf("child said: %s", strings.TrimSpace(string(out)))
	lines := readLines(t, path)
	t.Logf("entry: %s", lines[0])
	var e Entry
	if err := json.Unmarshal([]byte(lines[0]), &e); err != nil {
		t.Fatal(err)
	}
	if e.User != "root" || e.SudoUser != person.Username || e.SudoUID == nil || *e.SudoUID != 1000 {
		t.Errorf("user %q sudo %q %v, want root and %s 1000", e.User, e.SudoUser, e.SudoUID, person.Username)
	}
	if e.TTY != ttyName || e.SSHClient != "192.0.2.7:52044" {
		t.Errorf("tty %q ssh %q, want %s and 192.0.2.7:52044", e.TTY, e.SSHClient, ttyName)
	}
	if want := person.Username + " via sudo (root)"; e.Who() != want {
		t.Errorf("who %q, want %q", e.Who(), want)
	}
	if strings.Contains(string(out), "loginuid refused") {
		t.Logf("this kernel refused to set a loginuid in the child; the parsing path is covered by TestWhoFromFakeSource")
		return
	}
	if e.LoginUID == nil || *e.LoginUID != 1000 || e.LoginUser != person.Username {
		t.Errorf("login %v %q, want 1000 %s", e.LoginUID, e.LoginUser, person.Username)
	}
	if after, _ := os.ReadFile("/proc/self/loginuid"); string(after) != string(runnerLoginUID) {
		t.Errorf("the test runner's loginuid changed from %s to %s", runnerLoginUID, after)
	}
}
