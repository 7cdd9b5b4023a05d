package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The real journald, not a listener: a child in a private mount namespace (unshare) puts a
// tmpfs over /run (and /var/log/journal), starts systemd-journald there, records one entry
// through the default socket path, and prints what `journalctl -t hotdeploy -o json` shows.
// The host's journal and /run are never touched.
func TestRealJournald(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to make a private mount namespace for a journald of its own")
	}
	if journaldPath() == "" {
		t.Skip("systemd-journald is not installed here; TestJournalNativeProtocol covers the protocol")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("unshare (util-linux) is not installed")
	}
	if _, err := exec.LookPath("journalctl"); err != nil {
		t.Skip("journalctl is not installed")
	}
	path := filepath.Join(t.TempDir(), "audit.log")
	helper := helperCmd("journald", "HOTDEPLOY_AUDIT_LOG="+path)
	cmd := exec.Command(unshare, append([]string{"--mount", "--propagation", "private"}, helper.Args...)...)
	cmd.Env = helper.Env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil && strings.Contains(stderr.String(), "unshare failed") {
		t.Skipf("mount namespaces are not permitted here: %s", stderr.String())
	}
	if err != nil {
		t.Fatalf("child: %v\n%s\n%s", err, out, stderr.String())
	}
	line := readLines(t, path)[0]
	var got map[string]string
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil && m["SYSLOG_IDENTIFIER"] == "hotdeploy" {
			got = map[string]string{}
			for k, v := range m {
				got[k] = fmt.Sprint(v)
			}
		}
	}
	if got == nil {
		t.Fatalf("journalctl -t hotdeploy shows no entry:\n%s\n%s", out, stderr.String())
	}
	t.Logf("journalctl -t hotdeploy -o json: MESSAGE=%q HOTDEPLOY_ACTION=%s HOTDEPLOY_ERROR=%q _TRANSPORT=%s",
		got["MESSAGE"], got["HOTDEPLOY_ACTION"], got["HOTDEPLOY_ERROR"], got["_TRANSPORT"])
	for k, v := range map[string]string{"_TRANSPORT": "journal", "HOTDEPLOY_ACTION": "usr2", "HOTDEPLOY_PID": "4242",
		"HOTDEPLOY_ERROR": "bind() failed\n[emerg] still could not bind()", "HOTDEPLOY_LINE_SHA256": hashLine([]byte(line)),
		"PRIORITY": "3", "SYSLOG_FACILITY": "10"} {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}

func journaldPath() string {
	for _, p := range []string{"/lib/systemd/systemd-journald", "/usr/lib/systemd/systemd-journald"} {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p
		}
	}
	return ""
}

// helperJournald is the child's side: it runs inside the private mount namespace.
func helperJournald() error {
	if err := unix.Mount("tmpfs", "/run", "tmpfs", 0, "mode=0755"); err != nil {
		return fmt.Errorf("mount /run: %w", err)
	}
	if fi, err := os.Stat("/var/log/journal"); err == nil && fi.IsDir() {
		if err := unix.Mount("tmpfs", "/var/log/journal", "tmpfs", 0, "mode=0755"); err != nil {
			return fmt.Errorf("mount /var/log/journal: %w", err)
		}
	}
	os.MkdirAll("/run/systemd/journal", 0o755)
	os.MkdirAll("/run/log/journal", 0o755)
	jd := exec.Command(journaldPath())
	jd.Stderr = os.Stderr
	if err := jd.Start(); err != nil {
		return err
	}
	defer stopJournald(jd)
	for i := 0; i < 200 && !isSocket(journalSocket); i++ {
		time.Sleep(50 * time.Millisecond)
	}
	l, err := Open(os.Getenv("HOTDEPLOY_AUDIT_LOG"))
	if err != nil {
		return err
	}
	err = l.Record(Entry{Instance: "/run/nginx.pid", Action: "usr2", Signal: "SIGUSR2", PID: 4242,
		Result: "failed", Error: "bind() failed\n[emerg] still could not bind()"})
	if err != nil || l.sinkErr != nil {
		return errors.Join(err, l.sinkErr)
	}
	for range 200 { // journald writes the entry soon after it arrives; bounded wait for it
		out, err := exec.Command("journalctl", "--directory=/run/log/journal", "-t", "hotdeploy", "-o", "json").Output()
		if err == nil && bytes.Contains(out, []byte("HOTDEPLOY_LINE_SHA256")) {
			_, err = os.Stdout.Write(out)
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("journalctl never showed the entry")
}

// stopJournald ends the journald this helper started, by its pid.
func stopJournald(jd *exec.Cmd) {
	jd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { jd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		jd.Process.Kill()
		<-done
	}
}
