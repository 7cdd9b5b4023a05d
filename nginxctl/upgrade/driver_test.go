package upgrade_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotdeploy/hotdeploy/nginxctl/driver"
	"github.com/hotdeploy/hotdeploy/nginxctl/upgrade"
	"github.com/hotdeploy/hotdeploy/nginxctl/upgrade/upgradetest"
)

// TestMain keeps the driver locks and journals of every test here out of the host's
// directories: tests that name no directories of their own get these.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hotdeploy-upgrade-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv(driver.EnvRuntimeDir, filepath.Join(dir, "run"))
	os.Setenv(driver.EnvStateDir, filepath.Join(dir, "state"))
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// testDirs are a test's own lock and journal directories.
func testDirs(t *testing.T) driver.Dirs {
	return driver.Dirs{Runtime: filepath.Join(t.TempDir(), "run"), State: filepath.Join(t.TempDir(), "state")}
}

// run is one headless command run in a goroutine.
type run struct {
	code        int
	out, stderr string
}

func goRun(f func(context.Context, upgrade.HeadlessOptions, ioWriter) int, opts upgrade.HeadlessOptions) <-chan run {
	ch := make(chan run, 1)
	go func() {
		var out, errOut bytes.Buffer
		opts.Stderr = &errOut
		code := f(context.Background(), opts, &out)
		ch <- run{code, out.String(), errOut.String()}
	}()
	return ch
}

type ioWriter = interface{ Write([]byte) (int, error) }

func upgradeFn(ctx context.Context, o upgrade.HeadlessOptions, w ioWriter) int {
	return upgrade.Upgrade(ctx, o, w)
}

func rollbackFn(ctx context.Context, o upgrade.HeadlessOptions, w ioWriter) int {
	return upgrade.Rollback(ctx, o, w)
}

// checkRefusedBy checks a run was refused (exit 2) with one line on stderr naming this process
// as the holder of the sandbox's lock, at step (any when empty).
func checkRefusedBy(t *testing.T, r run, key, step string) {
	t.Helper()
	line := strings.TrimSuffix(r.stderr, "\n")
	want := fmt.Sprintf("hotdeploy: hotdeploy pid %d (user ", os.Getpid())
	if r.code != upgrade.ExitRefused || strings.Contains(line, "\n") || !strings.HasPrefix(line, want) ||
		!strings.Contains(line, "has driven "+key+" since ") || !strings.HasSuffix(line, ": wait for it or stop it") ||
		(step != "" && !strings.Contains(line, ", step "+step+":")) {
		t.Errorf("second driver: exit %d, stderr %q; want exit 2 and one line %q… naming %s, step %q\n%s",
			r.code, r.stderr, want, key, step, r.out)
	}
	if res := upgradetest.LastResult(t, r.out); res.Result != "refused" {
		t.Errorf("second driver's result %q, want refused", res.Result)
	}
}

// TestTwoUpgradesTogetherOneDrives: two upgrades (separate runners, as two processes would
// have) start at once on one instance whose old worker holds a slow download, so the first
// stays in its drain: the other is refused at once, exit 2, one line naming the holder, and
// changes nothing; the first commits its own candidate once the download ends.
func TestTwoUpgradesTogetherOneDrives(t *testing.T) {
	rg := newRig(t, 2)
	dirs := testDirs(t)
	_, release := upgradetest.HoldSlow(t, rg.sb)
	candA, candB := upgradetest.Copy(t), upgradetest.Copy(t)
	optsA, optsB := rg.opts(candA), rg.opts(candB)
	optsA.Dirs, optsB.Dirs = dirs, dirs
	a, b := goRun(upgradeFn, optsA), goRun(upgradeFn, optsB)
	var first run
	rest, winner := b, candB
	select {
	case first = <-a:
	case first = <-b:
		rest, winner = a, candA
	case <-time.After(time.Minute):
		release()
		t.Fatal("neither upgrade returned while one of them drains a held download")
	}
	checkRefusedBy(t, first, driver.Key(rg.sb.PidFile), "")
	release()
	second := <-rest
	res := upgradetest.LastResult(t, second.out)
	if second.code != upgrade.ExitDone || res.Result != "committed" || res.OldPID != rg.master {
		t.Fatalf("the driver: exit %d, %+v\n%s%s", second.code, res, second.out, second.stderr)
	}
	rg.checkBinary("after the one upgrade committed", upgradetest.SHA256(t, winner))
	// One USR2, one WINCH, one QUIT: the refused driver sent nothing.
	if got := rg.signals(); len(got) != 3 {
		t.Errorf("signals %v, want the one driver's USR2, WINCH and QUIT", got)
	}
	if driver.ReadHolder(dirs.Runtime, driver.Key(rg.sb.PidFile)) != nil {
		t.Errorf("the lock is still held after both ended")
	}
}

// waitStep waits until the holder of the sandbox's lock runs step.
func waitStep(t *testing.T, dirs driver.Dirs, pidFile, step string) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(5 * time.Millisecond) {
		if h := driver.ReadHolder(dirs.Runtime, driver.Key(pidFile)); h != nil && h.Step == step {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no driver reached step %s within a minute", step)
		}
	}
}

// TestRollbackRefusedWhileAnUpgradeDrives: a rollback while an upgrade drains is refused,
// exit 2, naming the upgrade's step (drain), and sends nothing; the upgrade then commits. A
// rollback afterwards finds nothing to roll back (the journal says committed).
func TestRollbackRefusedWhileAnUpgradeDrives(t *testing.T) {
	rg := newRig(t, 2)
	dirs := testDirs(t)
	_, release := upgradetest.HoldSlow(t, rg.sb)
	cand := upgradetest.Copy(t)
	opts := rg.opts(cand)
	opts.Dirs = dirs
	up := goRun(upgradeFn, opts)
	waitStep(t, dirs, rg.sb.PidFile, "drain")
	ropts := rg.opts("")
	ropts.Dirs = dirs
	rb := <-goRun(rollbackFn, ropts)
	checkRefusedBy(t, rb, driver.Key(rg.sb.PidFile), "drain")
	release()
	u := <-up
	if res := upgradetest.LastResult(t, u.out); u.code != upgrade.ExitDone || res.Result != "committed" {
		t.Fatalf("upgrade: exit %d, %+v\n%s", u.code, res, u.out)
	}
	rg.checkBinary("after commit", upgradetest.SHA256(t, cand))
	j, err := driver.LoadJournal(dirs.State, driver.Key(rg.sb.PidFile))
	if err != nil || j == nil || j.Outcome != driver.Committed || j.Backup != rg.sb.Binary+".old" ||
		j.BackupSHA256 != rg.origSHA || j.InstalledSHA256 != upgradetest.SHA256(t, cand) || !j.Old.Is(rg.master, rg.orig.Masters[0].StartTicks) {
		t.Errorf("journal after commit: %+v, %v", j, err)
	}
	var sigs []string
	for _, s := range j.Signals {
		sigs = append(sigs, s.Signal+" "+s.Result)
	}
	if strings.Join(sigs, ",") != "SIGUSR2 sent,SIGWINCH sent,SIGQUIT sent" {
		t.Errorf("journal signals %v", sigs)
	}
}

// TestQuitInTheJournalRefusesRollbackAndResumeCommits: a driver sent SIGQUIT to the old master
// while an old worker still drains a held download, then went away (its context ended, its lock
// let go). The journal remembers the SIGQUIT: a rollback is refused (exit 2: the old master is
// leaving, a SIGHUP could not bring its workers back), and --resume waits for it to go and
// reports the commit.
func TestQuitInTheJournalRefusesRollbackAndResumeCommits(t *testing.T) {
	rg := newRig(t, 2)
	dirs := testDirs(t)
	_, release := upgradetest.HoldSlow(t, rg.sb)
	s, err := driver.Begin(dirs, rg.sb.PidFile, "dashboard")
	if err != nil {
		t.Fatal(err)
	}
	rg.runner.Session = s
	ctx := context.Background()
	cand := upgradetest.Copy(t)
	in, _, err := rg.runner.Install(ctx, rg.orig, cand)
	if err == nil {
		in, err = rg.runner.Start(ctx, in)
	}
	if err == nil {
		in, err = rg.runner.Drain(ctx, in, false)
	}
	if err != nil {
		t.Fatal(err)
	}
	// The commit waits for the old master, which waits for the held download: the driver
	// goes away meanwhile.
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { _, err := rg.runner.Commit(cctx, in); done <- err }()
	// Wait for the record of SIGQUIT as sent, not only as about to go out: the commit looks at
	// the new master again between the two, and a cancel there rightly sends nothing.
	for !quitRecordedSent(s.Journal()) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err == nil {
		t.Fatal("the commit ended while the old master still drains")
	}
	s.End()
	ropts := rg.opts("")
	ropts.Dirs = dirs
	rb := <-goRun(rollbackFn, ropts)
	want := fmt.Sprintf("the old master %d got SIGQUIT", rg.master)
	if rb.code != upgrade.ExitRefused || !strings.Contains(rb.stderr, want) || strings.Count(rb.stderr, "\n") != 1 {
		t.Errorf("rollback after a SIGQUIT: exit %d, stderr %q; want 2 and %q", rb.code, rb.stderr, want)
	}
	opts := rg.opts("")
	opts.Dirs, opts.Resume = dirs, true
	res := goRun(upgradeFn, opts)
	waitStep(t, dirs, rg.sb.PidFile, "commit")
	release()
	r := <-res
	if got := upgradetest.LastResult(t, r.out); r.code != upgrade.ExitDone || got.Result != "committed" || got.OldPID != rg.master {
		t.Fatalf("--resume after a SIGQUIT: exit %d, %+v\n%s%s", r.code, got, r.out, r.stderr)
	}
	rg.checkBinary("after the resumed commit", upgradetest.SHA256(t, cand))
	quits := 0
	for _, sig := range rg.signals() {
		if sig == upgradetest.Sent("SIGQUIT", rg.master) {
			quits++
		}
	}
	if quits != 1 {
		t.Errorf("SIGQUIT went to the old master %d times, want once (the journal said it was sent): %v", quits, rg.signals())
	}
}

// quitRecordedSent tells whether the journal records a SIGQUIT to the old master as sent.
func quitRecordedSent(j *driver.Journal) bool {
	if j == nil {
		return false
	}
	for _, sig := range j.Signals {
		if sig.Signal == "SIGQUIT" && j.Old.Is(sig.PID, sig.StartTicks) && sig.Result == "sent" {
			return true
		}
	}
	return false
}
