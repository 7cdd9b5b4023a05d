package audit

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

func TestDefaultPath(t *testing.T) {
	for _, c := range []struct {
		euid            int
		stateHome, want string
	}{
		{0, "/home/x/.state", "/var/log/hotdeploy/audit.log"},
		{1000, "/home/alice/state", "/home/alice/state/hotdeploy/audit.log"},
		{1000, "", "/home/alice/.local/state/hotdeploy/audit.log"},
		{1000, "relative/state", "/home/alice/.local/state/hotdeploy/audit.log"},
	} {
		if got := defaultPathFor(c.euid, c.stateHome, "/home/alice"); got != c.want {
			t.Errorf("euid %d XDG_STATE_HOME %q: %s, want %s", c.euid, c.stateHome, got, c.want)
		}
	}
}

func TestOpenMakesPrivateFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hotdeploy", "audit.log")
	l := openTest(t, path)
	record(t, l, 1)
	for p, want := range map[string]os.FileMode{filepath.Dir(path): 0o700, path: 0o600, HeadPath(path): 0o600} {
		fi, err := os.Stat(p)
		if err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v (%v), want %v", p, fi.Mode().Perm(), err, want)
		}
	}
	// a log left readable by others is made private again
	os.Chmod(path, 0o644)
	openTest(t, path)
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("reopened log mode %v, want 0600", fi.Mode().Perm())
	}
	if l.Check() != nil {
		t.Errorf("check of a writable log: %v", l.Check())
	}
}

func TestNilLogRecordsNothing(t *testing.T) {
	var l *Log
	if l.Check() != nil || l.Record(Entry{Action: "usr2"}) != nil || l.Preflight("x") != nil {
		t.Fatal("a nil Log must record nothing and pass")
	}
}

func TestPreflightWritesARealEntry(t *testing.T) {
	l := openTest(t, "")
	if err := l.Preflight("/run/nginx.pid"); err != nil {
		t.Fatal(err)
	}
	entries, err := ReadEntries(l.Path(), zeroTime)
	if err != nil || len(entries) != 1 || entries[0].Action != "preflight" || entries[0].Instance != "/run/nginx.pid" {
		t.Fatalf("entries %+v (%v), want one preflight", entries, err)
	}
}

// A full disk stops hotdeploy at the preflight, before any signal, and leaves no half line.
func TestPreflightFailsOnFullDisk(t *testing.T) {
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=64k,mode=0700"); err != nil {
		t.Skipf("cannot mount a small tmpfs here (%v): needs root with CAP_SYS_ADMIN", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	path := filepath.Join(dir, "audit.log")
	l := openTest(t, path)
	record(t, l, 2)
	filler, err := os.Create(filepath.Join(dir, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 1024)
	for range 64 { // 16k fills in 16 rounds; bounded in any case
		if _, err = filler.Write(chunk); err != nil {
			break
		}
	}
	filler.Close()
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("filling the tmpfs ended with %v, want ENOSPC", err)
	}
	err = l.Preflight("/run/nginx.pid")
	if err == nil || !strings.Contains(err.Error(), "no space left") || !strings.Contains(err.Error(), "nothing was changed") {
		t.Fatalf("preflight on a full disk: %v, want an error saying no space and nothing changed", err)
	}
	t.Logf("preflight said: %v", err)
	// an entry too long for the space left fails on the line itself, which is taken back
	err = l.Record(Entry{Action: "install", Result: "failed", Error: strings.Repeat("x", 8192)})
	if err == nil || strings.Contains(err.Error(), "head file") {
		t.Fatalf("an 8k entry on a full disk: %v, want the line's own write to fail", err)
	}
	r := mustVerify(t, path)
	wantIntact(t, r)
	if r.Lines != 2 {
		t.Fatalf("%d lines after the failed write, want the 2 before it", r.Lines)
	}
	os.Remove(filepath.Join(dir, "filler"))
	if err := l.Preflight("/run/nginx.pid"); err != nil {
		t.Fatalf("preflight after freeing space: %v", err)
	}
	wantIntact(t, mustVerify(t, path))
}
