package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hotdeploy/hotdeploy/nginxctl/audit"
	"github.com/hotdeploy/hotdeploy/nginxctl/upgrade/upgradetest"
)

// These tests judge audit logs that real upgrades wrote, through the built binary's
// `hotdeploy audit verify` and its exit codes: 0 intact, 1 broken, 2 unreadable.

// auditedLog runs a real upgrade of a sandbox nginx and then an upgrade with nothing new
// (unchanged: only its preflight entry), and returns the log they wrote: six entries.
func auditedLog(t *testing.T, c *cliTarget) []string {
	t.Helper()
	if code, out, errOut := c.hd("upgrade", "--new-binary", upgradetest.Copy(t), "--yes"); code != 0 {
		t.Fatalf("upgrade: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := c.hd("upgrade", "--yes", "--json"); code != 0 || upgradetest.LastResult(t, out).Result != "unchanged" {
		t.Fatalf("second upgrade: exit %d, want unchanged\n%s%s", code, out, errOut)
	}
	lines := readAuditLines(t, c.audit)
	if len(lines) != 6 {
		t.Fatalf("the log has %d lines, want 6 (preflight, install, upgrade, drain, commit, preflight)", len(lines))
	}
	return lines
}

func readAuditLines(t *testing.T, path string) []string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
}

// tampered copies the log and its head file into a new directory, with the lines replaced.
func tampered(t *testing.T, orig string, lines []string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.log")
	head, err := os.ReadFile(audit.HeadPath(orig))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(lines, "\n")
	if len(lines) > 0 {
		text += "\n"
	}
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(audit.HeadPath(path), head, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestAuditVerifyCLI: each tampering, by exit code and the line the binary prints.
func TestAuditVerifyCLI(t *testing.T) {
	bin := buildBinary(t)
	c := newCLITarget(t)
	lines := auditedLog(t, c)
	without := func(i ...int) []string {
		var out []string
		for n, l := range lines {
			if !containsInt(i, n) {
				out = append(out, l)
			}
		}
		return out
	}
	changed := append([]string{}, lines...)
	changed[2] = strings.Replace(changed[2], `"result":"sent"`, `"result":"refused"`, 1)
	if changed[2] == lines[2] {
		t.Fatalf("line 3 is not a sent signal: %s", lines[2])
	}
	cases := []struct {
		name  string
		path  string
		code  int
		wants []string
	}{
		{"intact", c.audit, 0, []string{"audit.log: intact, 6 lines, seq 1-6"}},
		{"changed line 3", tampered(t, c.audit, changed), 1,
			[]string{"audit.log:3: BROKEN: line 3 was changed", "audit.log: BROKEN (first at line 3), 6 lines, seq 1-6"}},
		{"removed middle line 4", tampered(t, c.audit, without(3)), 1,
			[]string{"audit.log:4: BROKEN: line 4: 1 entry is missing before it (line 3 has seq 3, line 4 has seq 5)"}},
		{"removed last 2 lines", tampered(t, c.audit, without(4, 5)), 1,
			[]string{"audit.log:5: BROKEN: the last 2 entries are missing", "BROKEN (first at line 5), 4 lines, seq 1-4"}},
	}
	for _, tc := range cases {
		code, out, errOut := runBinary(t, bin, "audit", "verify", "--audit-log", tc.path)
		t.Logf("%s: exit %d\n%s", tc.name, code, out)
		if code != tc.code || errOut != "" {
			t.Errorf("%s: exit %d, stderr %q; want %d and nothing on stderr", tc.name, code, errOut, tc.code)
		}
		for _, w := range tc.wants {
			if !strings.Contains(out, w) {
				t.Errorf("%s: output lacks %q", tc.name, w)
			}
		}
	}

	// Truncated in place (a copy would be a new file, which looks like logrotate's create).
	if err := os.Truncate(c.audit, 0); err != nil {
		t.Fatal(err)
	}
	code, out, _ := runBinary(t, bin, "audit", "verify", "--audit-log", c.audit)
	t.Logf("truncated in place: exit %d\n%s", code, out)
	if want := "audit.log:1: BROKEN: the log was truncated: it is empty but the head file records 6 entries"; code != 1 || !strings.Contains(out, want) {
		t.Errorf("truncated in place: exit %d; want 1 with %q", code, want)
	}

	// Unreadable: no log there, or a directory. Exit 2, one line on stderr, nothing on stdout.
	for _, path := range []string{filepath.Join(t.TempDir(), "none.log"), t.TempDir()} {
		code, out, errOut := runBinary(t, bin, "audit", "verify", "--audit-log", path)
		if code != 2 || out != "" || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, "unreadable") {
			t.Errorf("verify %s: exit %d, stdout %q, stderr %q; want 2 and one line saying unreadable", path, code, out, errOut)
		}
		code, out, errOut = runBinary(t, bin, "audit", "--audit-log", path)
		if code != 2 || out != "" || strings.Count(errOut, "\n") != 1 {
			t.Errorf("audit %s: exit %d, stdout %q, stderr %q; want 2 and one line", path, code, out, errOut)
		}
	}
	// A damaged line: the list still prints the others, and exits 2 pointing at verify.
	damaged := tampered(t, c.audit, append(append([]string{}, lines[:2]...), append([]string{"not json"}, lines[2:]...)...))
	code, out, errOut := runBinary(t, bin, "audit", "--audit-log", damaged)
	t.Logf("hotdeploy audit of a damaged log: exit %d, stderr %s%s", code, errOut, out)
	if rows := strings.Count(out, "\n"); code != 2 || rows != 7 || !strings.Contains(errOut, "run hotdeploy audit verify") {
		t.Errorf("audit of a damaged log: exit %d, %d rows, stderr %q; want 2, header + 6 rows, a pointer to verify", code, rows, errOut)
	}
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// TestAuditVerifyAcrossLogrotate rotates a real log twice with logrotate and the README's
// stanza (create, compress, delaycompress), with entries written between: every file verifies
// (exit 0), the live one says it continues audit.log.1; a rotated file cut at the end breaks
// the chain of the file after it; with the rotated files gone, verify passes and says the
// predecessor is not there to check.
func TestAuditVerifyAcrossLogrotate(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the README's stanza creates the new log as root (create 0600 root root)")
	}
	logrotate, err := exec.LookPath("logrotate")
	if err != nil {
		t.Fatal("logrotate is not installed: make deps (.ci/deps) installs it")
	}
	bin := buildBinary(t)
	c := newCLITarget(t)
	auditedLog(t, c)
	conf := filepath.Join(t.TempDir(), "hotdeploy.logrotate")
	if err := os.WriteFile(conf, []byte(readmeStanza(t, c.audit)), 0o644); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(t.TempDir(), "logrotate.state")
	rotate := func() {
		t.Helper()
		if out, err := exec.Command(logrotate, "-f", "-s", state, conf).CombinedOutput(); err != nil {
			t.Fatalf("logrotate: %v\n%s", err, out)
		}
	}
	verify := func(path string, code int, want string) {
		t.Helper()
		got, out, errOut := runBinary(t, bin, "audit", "verify", "--audit-log", path)
		t.Logf("verify %s: exit %d\n%s%s", filepath.Base(path), got, out, errOut)
		if got != code || !strings.Contains(out, want) {
			t.Errorf("verify %s: exit %d, want %d with %q", filepath.Base(path), got, code, want)
		}
	}
	rotate()
	verify(c.audit, 0, "rotated: nothing appended since; "+c.audit+".1 ends at the recorded head (seq 6)")
	c.hd("upgrade", "--yes") // unchanged: one preflight entry, the first of the new file
	verify(c.audit, 0, "line 1 continues "+c.audit+".1 (its last line, seq 6)")
	c.hd("upgrade", "--yes")
	rotate()
	c.hd("upgrade", "--yes")
	verify(c.audit, 0, "line 1 continues "+c.audit+".1 (its last line, seq 8)")
	verify(c.audit+".1", 0, "line 1 continues "+c.audit+".2.gz (its last line, seq 6)")
	verify(c.audit+".2.gz", 0, "intact, 6 lines, seq 1-6")

	// The rotated file lost its last line: the live log's first line no longer follows it.
	one := readAuditLines(t, c.audit+".1")
	if err := os.WriteFile(c.audit+".1", []byte(strings.Join(one[:len(one)-1], "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	verify(c.audit, 1, "the last lines of "+c.audit+".1 were removed or changed")
	for _, p := range []string{c.audit + ".1", c.audit + ".2.gz"} {
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
	verify(c.audit, 0, "the predecessor is not there to check")
}

// readmeStanza is the logrotate stanza the README gives, for the log at path instead.
func readmeStanza(t *testing.T, path string) string {
	t.Helper()
	raw, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	const start = "/var/log/hotdeploy/audit.log {\n"
	_, rest, ok := strings.Cut(string(raw), "```\n"+start)
	body, _, ok2 := strings.Cut(rest, "}\n```")
	if !ok || !ok2 {
		t.Fatal("README.md has no logrotate stanza for /var/log/hotdeploy/audit.log in a code block")
	}
	return path + " {\n" + body + "}\n"
}
