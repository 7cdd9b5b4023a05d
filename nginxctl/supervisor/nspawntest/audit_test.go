package nspawntest_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hotdeploy/hotdeploy/nginxctl/supervisor/nspawntest"
)

// The audit trail where operators look, under a real systemd: `sudo hotdeploy upgrade` as root
// with no --audit-log writes /var/log/hotdeploy/audit.log (0600 in a 0700 directory), and each
// entry reaches the journal through its native socket: `journalctl -t hotdeploy -o json` shows
// one entry per line of the log, with the line's fields as HOTDEPLOY_*, the person behind sudo,
// and the sha256 of the line itself. `hotdeploy audit verify` finds the log intact.
func TestAuditJournalEntry(t *testing.T) {
	c := rig(t)
	old := c.Show(t, unit).MainPID
	sudo := []string{"SUDO_USER=operator", "SUDO_UID=1000", "SUDO_GID=1000"}
	out, stderr, err := c.Exec(context.Background(), sudo,
		"hotdeploy", "upgrade", "--pidfile", pidFile, "--new-binary", candidate, "--yes", "--json")
	if r := lastResult(t, out); err != nil || r.Result != "committed" {
		t.Fatalf("sudo hotdeploy upgrade: %v, %+v\n%s%s", err, r, out, stderr)
	}

	const logPath = "/var/log/hotdeploy/audit.log"
	for path, mode := range map[string]os.FileMode{logPath: 0o600, "/var/log/hotdeploy": 0o700 | os.ModeDir} {
		if fi, err := os.Stat(c.Path(path)); err != nil || fi.Mode() != mode {
			t.Errorf("%s: %v, mode %v; want %v", path, err, fi.Mode(), mode)
		}
	}
	raw, err := os.ReadFile(c.Path(logPath))
	if err != nil {
		t.Fatalf("the default audit log as root: %v", err)
	}
	lines := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")

	entries := journalEntries(t, c, len(lines))
	for i, line := range lines {
		sum := sha256.Sum256([]byte(line))
		var want struct {
			Action string `json:"action"`
			Signal string `json:"signal"`
			PID    int    `json:"pid"`
			Seq    uint64 `json:"seq"`
			Result string `json:"result"`
		}
		if err := json.Unmarshal([]byte(line), &want); err != nil {
			t.Fatalf("log line %d: %v", i+1, err)
		}
		e := entries[i]
		fields := map[string]string{
			"SYSLOG_IDENTIFIER": "hotdeploy", "_TRANSPORT": "journal", "SYSLOG_FACILITY": "10",
			"HOTDEPLOY_ACTION": want.Action, "HOTDEPLOY_RESULT": want.Result, "HOTDEPLOY_SEQ": strconv.FormatUint(want.Seq, 10),
			"HOTDEPLOY_USER": "root", "HOTDEPLOY_SUDO_USER": "operator", "HOTDEPLOY_SUDO_UID": "1000",
			"HOTDEPLOY_INSTANCE": pidFile, "HOTDEPLOY_LINE_SHA256": hex.EncodeToString(sum[:]),
		}
		if want.Signal != "" {
			fields["HOTDEPLOY_SIGNAL"], fields["HOTDEPLOY_PID"] = want.Signal, strconv.Itoa(want.PID)
		}
		for k, v := range fields {
			if e[k] != v {
				t.Errorf("journal entry %d (%s): %s = %q, want %q", i+1, want.Action, k, e[k], v)
			}
		}
	}
	for _, e := range entries {
		if e["HOTDEPLOY_ACTION"] == "upgrade" {
			shown := map[string]string{}
			for k, v := range e {
				if strings.HasPrefix(k, "HOTDEPLOY_") || k == "MESSAGE" || k == "PRIORITY" || k == "SYSLOG_IDENTIFIER" || k == "SYSLOG_FACILITY" || k == "_TRANSPORT" {
					shown[k] = v
				}
			}
			js, _ := json.Marshal(shown) // keys sorted
			t.Logf("journalctl -t hotdeploy -o json, the SIGUSR2 entry (its hotdeploy fields): %s", js)
			if want := fmt.Sprintf("operator via sudo (root): upgrade SIGUSR2 pid %d of %s: sent", old, pidFile); e["MESSAGE"] != want {
				t.Errorf("MESSAGE %q, want %q", e["MESSAGE"], want)
			}
		}
	}

	out, _, err = c.Exec(context.Background(), nil, "hotdeploy", "audit", "verify")
	t.Logf("hotdeploy audit verify (default log):\n%s", out)
	if want := fmt.Sprintf("%s: intact, %d lines", logPath, len(lines)); err != nil || !strings.Contains(out, want) {
		t.Errorf("audit verify: %v, %q; want exit 0 and %q", err, out, want)
	}
	out, _, err = c.Exec(context.Background(), nil, "hotdeploy", "audit")
	t.Logf("hotdeploy audit:\n%s", out)
	if err != nil || strings.Count(out, "operator via sudo (root)") != len(lines) {
		t.Errorf("hotdeploy audit: %v; want %d rows naming operator via sudo (root)", err, len(lines))
	}
}

// journalEntries reads `journalctl -t hotdeploy -o json` inside the container until it holds n
// entries (bounded: journald stores what it was sent soon after, not at once), as strings.
func journalEntries(t *testing.T, c *nspawntest.Container, n int) []map[string]string {
	t.Helper()
	var got []map[string]string
	for try := 0; try < 50; try++ {
		out, stderr, err := c.Exec(context.Background(), nil, "journalctl", "-t", "hotdeploy", "-o", "json", "--no-pager")
		if err != nil {
			t.Fatalf("journalctl: %v\n%s", err, stderr)
		}
		got = got[:0]
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(line), &m) != nil {
				continue
			}
			e := map[string]string{}
			for k, v := range m {
				e[k] = fmt.Sprint(v)
			}
			got = append(got, e)
		}
		if len(got) >= n {
			return got
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("journalctl -t hotdeploy shows %d entries after 10 s, want %d", len(got), n)
	return nil
}
