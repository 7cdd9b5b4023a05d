package main

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hotdeploy/hotdeploy/nginxctl/upgrade/upgradetest"
)

// auditGate stops a hotdeploy process at a chosen audit entry, so a test kills it at a known
// point rather than racing it. hotdeploy appends each entry under an flock on the audit log
// (preflight, install after the rename, each signal right after it went out): while the test
// holds that flock, the process waits in the append, having done what the entry records and
// nothing after it.
type auditGate struct {
	t    *testing.T
	path string
	f    *os.File
	ino  uint64
}

// closedGate takes the audit log's flock before hotdeploy starts.
func closedGate(t *testing.T, path string) *auditGate {
	t.Helper()
	g := &auditGate{t: t, path: path}
	g.lock()
	var st unix.Stat_t
	if err := unix.Fstat(int(g.f.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	g.ino = st.Ino
	t.Cleanup(g.open)
	return g
}

func (g *auditGate) lock() {
	g.t.Helper()
	f, err := os.OpenFile(g.path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		g.t.Fatal(err)
	}
	for {
		if err = unix.Flock(int(f.Fd()), unix.LOCK_EX); err != unix.EINTR {
			break
		}
	}
	if err != nil {
		g.t.Fatal(err)
	}
	g.f = f
}

// open lets every append through.
func (g *auditGate) open() {
	if g.f != nil {
		g.f.Close() // drops the flock
		g.f = nil
	}
}

// waitBlocked waits until pid waits for the audit log's flock (/proc/locks shows it queued).
func (g *auditGate) waitBlocked(pid int) {
	g.t.Helper()
	want, ino := strconv.Itoa(pid), ":"+strconv.FormatUint(g.ino, 10)
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(2 * time.Millisecond) {
		b, err := os.ReadFile("/proc/locks")
		if err != nil {
			g.t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) > 6 && f[1] == "->" && f[2] == "FLOCK" && f[5] == want && strings.HasSuffix(f[6], ino) {
				return
			}
		}
		if syscall.Kill(pid, 0) != nil || time.Now().After(deadline) {
			g.t.Fatalf("hotdeploy %d never waited for the audit log's lock", pid)
		}
	}
}

// pass lets pid's next entry through and closes the gate behind it.
func (g *auditGate) pass(pid int) {
	g.t.Helper()
	g.waitBlocked(pid)
	n := len(upgradetest.AuditEntries(g.t, g.path))
	g.open()
	for deadline := time.Now().Add(time.Minute); len(upgradetest.AuditEntries(g.t, g.path)) == n; time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			g.t.Fatalf("hotdeploy %d did not append its entry", pid)
		}
	}
	g.lock()
	if got := len(upgradetest.AuditEntries(g.t, g.path)); got != n+1 {
		g.t.Fatalf("hotdeploy %d went past the gate: %d entries, want %d", pid, got, n+1)
	}
}
