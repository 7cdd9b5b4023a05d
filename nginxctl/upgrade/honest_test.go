package upgrade_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hotdeploy/hotdeploy/nginxctl/audit"
	"github.com/hotdeploy/hotdeploy/nginxctl/inspect"
	"github.com/hotdeploy/hotdeploy/nginxctl/upgrade"
	"github.com/hotdeploy/hotdeploy/nginxctl/upgrade/upgradetest"
)

// TestAnyELFIsNoCandidate: /bin/true exits 0 for -v and -t alike; it is refused because it
// prints no nginx version line, with nothing changed (it used to be installed and started).
func TestAnyELFIsNoCandidate(t *testing.T) {
	rg := newRig(t, 1)
	code, res, out := rg.upgrade(context.Background(), rg.opts("/bin/true"))
	if code != upgrade.ExitRefused || res.Result != "refused" || !strings.Contains(res.Error, "not nginx") {
		t.Fatalf("exit %d, result %+v; want refused: not nginx\n%s", code, res, out)
	}
	rg.checkNothingChanged("/bin/true as the candidate")
}

// TestInstallsTheFileItChecked: the candidate path is swapped for another file between the
// checks and the rename (the test hook sits exactly there); what lands on disk is the copy
// that was checked, never the swapped-in file.
func TestInstallsTheFileItChecked(t *testing.T) {
	rg := newRig(t, 1)
	cand := upgradetest.Copy(t)
	want := upgradetest.SHA256(t, cand)
	swapped := false
	upgrade.SetBeforeRenameForTest(rg.runner, func(candidate, staged string) {
		// A symlink flipped to /bin/true, where the candidate was.
		if err := os.Remove(candidate); err != nil {
			t.Error(err)
		}
		if err := os.Symlink("/bin/true", candidate); err != nil {
			t.Error(err)
		}
		swapped = true
	})
	if _, _, err := rg.runner.Install(context.Background(), rg.instance(), cand); err != nil {
		t.Fatal(err)
	}
	if !swapped {
		t.Fatal("the hook between the checks and the rename never ran")
	}
	rg.checkBinary("after a swap between check and rename", want)
}

// TestNoBackupIsLost: two upgrades committed in a row, then a third install: every build that
// ran is still in some file; the backup of the first is kept as <binary>.old.<sha12> instead of
// being overwritten by the second's.
func TestNoBackupIsLost(t *testing.T) {
	rg := newRig(t, 1)
	first := rg.origSHA
	ctx := context.Background()
	in, second := rg.upgradeTo()
	in, err := rg.runner.Drain(ctx, in, true)
	if err == nil {
		_, err = rg.runner.Commit(ctx, in)
	}
	if err != nil {
		t.Fatal(err)
	}
	rg.origSHA = second
	_, got, err := rg.runner.Install(ctx, rg.instance(), upgradetest.Copy(t))
	if err != nil {
		t.Fatal(err)
	}
	kept := rg.sb.Binary + ".old." + first[:12]
	if got.Kept != kept || upgradetest.SHA256(t, kept) != first {
		t.Errorf("the first build's backup: install says kept %q; want %s holding sha256 %.12s", got.Kept, kept, first)
	}
	if upgradetest.SHA256(t, rg.sb.Binary+".old") != second {
		t.Errorf("%s.old does not hold the build that ran before this install", rg.sb.Binary)
	}
}

// TestAuditFailureAfterInstallIsNoRefusal: the preflight entry proved the audit log writable,
// then the disk under it filled up; the install's own entry fails after the rename. The
// install happened, so it is reported with a warning, never as "refused, nothing changed".
func TestAuditFailureAfterInstallIsNoRefusal(t *testing.T) {
	rg := newRig(t, 1)
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("these tests run as root and mount a small tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", dir).Run() })
	log, err := audit.Open(filepath.Join(dir, "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	if err := log.Preflight(rg.sb.PidFile); err != nil {
		t.Fatal(err)
	}
	fill := filepath.Join(dir, "fill")
	_ = os.WriteFile(fill, make([]byte, 1<<20), 0o600) // fails with ENOSPC once full: the point
	rg.runner.Audit = log
	cand := upgradetest.Copy(t)
	var warned bool
	rg.runner.Events = func(e upgrade.Event) {
		warned = warned || e.Kind == "warning" && strings.Contains(e.Message, "not recorded")
	}
	_, _, err = rg.runner.Install(context.Background(), rg.instance(), cand)
	if err != nil || upgrade.IsRefused(err) {
		t.Fatalf("install with the audit disk full after the preflight: %v; want installed with a warning", err)
	}
	if !warned {
		t.Error("no warning says the install was not recorded")
	}
	rg.checkBinary("installed although unrecorded", upgradetest.SHA256(t, cand))
}

// TestPidFileDeletedMidUpgradeIsWrittenAgain: nginx.pid removed while both generations serve;
// the commit writes it again with the new master and says so, and status warned meanwhile.
func TestPidFileDeletedMidUpgradeIsWrittenAgain(t *testing.T) {
	rg := newRig(t, 1)
	in, _ := rg.upgradeTo()
	if err := os.Remove(rg.sb.PidFile); err != nil {
		t.Fatal(err)
	}
	snap, err := inspect.NewScanner().Resolve(inspect.Target{PID: in.New().PID})
	if err != nil {
		t.Fatal(err)
	}
	if w := strings.Join(snap.Instances[0].Warnings, " "); !strings.Contains(w, "missing") {
		t.Errorf("status with nginx.pid removed: warnings %q, want it named missing", w)
	}
	var warned bool
	rg.runner.Events = func(e upgrade.Event) {
		warned = warned || e.Kind == "warning" && strings.Contains(e.Message, "wrote it again")
	}
	ctx := context.Background()
	nw := in.New().PID
	if in, err = rg.runner.Drain(ctx, in, true); err == nil {
		_, err = rg.runner.Commit(ctx, in)
	}
	if err != nil {
		t.Fatal(err)
	}
	if pid, err := inspect.ReadPidFile(rg.sb.PidFile); err != nil || pid != nw || !warned {
		t.Fatalf("after the commit: pid file %d (%v), warned %v; want the new master %d, said", pid, err, warned, nw)
	}
}

// TestStrictPidFiles: a pid file that is a FIFO, /dev/zero, a directory or too large is
// refused at once (it used to hang on a FIFO and read /dev/zero without end).
func TestStrictPidFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, []byte(strings.Repeat("1", 4096)), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{fifo, "/dev/zero", dir, big} {
		done := make(chan error, 1)
		go func() { _, err := inspect.ReadPidFile(path); done <- err }()
		select {
		case err := <-done:
			if err == nil {
				t.Errorf("ReadPidFile(%s) accepted it", path)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("ReadPidFile(%s) hangs", path)
		}
	}
}
