package driver

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func TestKeyIsTheRealPathOfThePidFile(t *testing.T) {
	real := t.TempDir()
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(real, "nginx.pid")
	if r, err := filepath.EvalSymlinks(real); err == nil {
		want = filepath.Join(r, "nginx.pid")
	}
	for _, p := range []string{
		filepath.Join(real, "nginx.pid"),
		filepath.Join(link, "nginx.pid"),        // named through a symlinked directory
		filepath.Join(link, "nginx.pid.oldbin"), // mid-upgrade, never a key of its own
		filepath.Join(real, ".", "x", "..", "nginx.pid"),
	} {
		if got := Key(p); got != want {
			t.Errorf("Key(%s) = %s, want %s", p, got, want)
		}
	}
	if Key("") != "" {
		t.Errorf("Key of no pid file is not empty")
	}
	a, b := fileName("/run/nginx.pid"), fileName("/run/nginx_pid")
	if a == b || !strings.HasPrefix(a, "run_nginx.pid-") {
		t.Errorf("file names %q and %q: want readable and distinct", a, b)
	}
}

func TestDirsFor(t *testing.T) {
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	for _, tc := range []struct {
		name string
		euid int
		env  func(string) string
		want Dirs
	}{
		{"root", 0, env(), Dirs{"/run/hotdeploy", "/var/lib/hotdeploy"}},
		{"root ignores XDG", 0, env("XDG_RUNTIME_DIR", "/run/user/0"), Dirs{"/run/hotdeploy", "/var/lib/hotdeploy"}},
		{"user", 1000, env("XDG_RUNTIME_DIR", "/run/user/1000", "XDG_STATE_HOME", "/h/st"), Dirs{"/run/user/1000/hotdeploy", "/h/st/hotdeploy"}},
		{"user without XDG", 1000, env(), Dirs{filepath.Join(os.TempDir(), "hotdeploy-1000"), "/home/u/.local/state/hotdeploy"}},
		{"relative XDG is ignored", 1000, env("XDG_STATE_HOME", "st"), Dirs{filepath.Join(os.TempDir(), "hotdeploy-1000"), "/home/u/.local/state/hotdeploy"}},
		{"overrides", 0, env(EnvRuntimeDir, "/t/run", EnvStateDir, "/t/state"), Dirs{"/t/run", "/t/state"}},
		{"relative override is ignored", 0, env(EnvRuntimeDir, "run"), Dirs{"/run/hotdeploy", "/var/lib/hotdeploy"}},
	} {
		if got := dirsFor(tc.euid, tc.env, "/home/u"); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

// TestLockRefusesASecondDriverByName: a second Acquire (another open file, as another process
// would have) is refused with the holder's pid, user, instance and step; release frees it.
func TestLockRefusesASecondDriverByName(t *testing.T) {
	dir := t.TempDir()
	key := "/run/test-nginx.pid"
	l, err := Acquire(dir, key, "upgrade")
	if err != nil {
		t.Fatal(err)
	}
	if err := l.SetStep("drain"); err != nil {
		t.Fatal(err)
	}
	_, err = Acquire(dir, key, "rollback")
	var he *HeldError
	if !errors.As(err, &he) || he.Holder == nil {
		t.Fatalf("second Acquire: %v, want a HeldError naming the holder", err)
	}
	msg := err.Error()
	want := fmt.Sprintf("hotdeploy pid %d (user ", os.Getpid())
	if !strings.HasPrefix(msg, want) || !strings.Contains(msg, "has driven "+key+" since ") ||
		!strings.HasSuffix(msg, ", step drain: wait for it or stop it") || strings.Contains(msg, "\n") {
		t.Errorf("refusal %q: want one line %q… naming the instance and the step", msg, want)
	}
	if h := ReadHolder(dir, key); h == nil || h.PID != os.Getpid() || h.Step != "drain" || h.Command != "upgrade" {
		t.Errorf("ReadHolder = %+v", h)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(LockPath(dir, key)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("lock file left after release: %v", err)
	}
	if ReadHolder(dir, key) != nil {
		t.Errorf("a holder is read after release")
	}
	l2, err := Acquire(dir, key, "rollback")
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	l2.Release()
	if err := l.Release(); err != nil {
		t.Errorf("second release: %v", err)
	}
}

// TestLockNeverHasTwoHolders: goroutines take and release the same lock over and over (the
// release removes the file while others open it): never two at once.
func TestLockNeverHasTwoHolders(t *testing.T) {
	dir := t.TempDir()
	var inside, most, got atomic.Int32
	var wg sync.WaitGroup
	for g := 0; g < 6; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				l, err := Acquire(dir, "/k/nginx.pid", "test")
				if IsHeld(err) {
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				n := inside.Add(1)
				if n > most.Load() {
					most.Store(n)
				}
				got.Add(1)
				inside.Add(-1)
				if err := l.Release(); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if most.Load() != 1 || got.Load() == 0 {
		t.Errorf("at most %d holders at once (%d acquisitions), want exactly 1", most.Load(), got.Load())
	}
}

// TestLockDiesWithItsHolder: a process holding the lock is SIGKILLed; the kernel releases its
// flock, the stale content names no live holder, and the next driver gets the lock.
func TestLockDiesWithItsHolder(t *testing.T) {
	dir := t.TempDir()
	key := "/run/killed-nginx.pid"
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperHoldLock$")
	cmd.Env = append(os.Environ(), "HOTDEPLOY_HELPER_LOCK="+dir+"|"+key)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "locked") {
		t.Fatalf("helper said %q, %v", line, err)
	}
	_, err = Acquire(dir, key, "upgrade")
	if he := (*HeldError)(nil); !errors.As(err, &he) || he.Holder == nil || he.Holder.PID != cmd.Process.Pid || he.Holder.Step != "install" {
		t.Fatalf("while the helper %d holds it: %v", cmd.Process.Pid, err)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if h := ReadHolder(dir, key); h != nil {
		t.Errorf("a dead holder is read as live: %+v", h)
	}
	l, err := Acquire(dir, key, "upgrade")
	if err != nil {
		t.Fatalf("after the holder died: %v", err)
	}
	l.Release()
}

// TestHelperHoldLock is the process TestLockDiesWithItsHolder kills; it does nothing unless
// run by it.
func TestHelperHoldLock(t *testing.T) {
	arg := os.Getenv("HOTDEPLOY_HELPER_LOCK")
	if arg == "" {
		t.Skip("helper process only")
	}
	dir, key, _ := strings.Cut(arg, "|")
	l, err := Acquire(dir, key, "upgrade")
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	_ = l.SetStep("install")
	fmt.Println("locked")
	time.Sleep(time.Minute) // killed long before
	os.Exit(1)
}

func TestJournalRoundTripIsAtomic(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	key := "/run/j-nginx.pid"
	if j, err := LoadJournal(dir, key); j != nil || err != nil {
		t.Fatalf("no journal yet: %v %v", j, err)
	}
	old := Master{PID: 100, StartTicks: 5}
	j := &Journal{Instance: key, Old: &old, Backup: "/usr/sbin/nginx.old", BackupSHA256: "ab",
		Signals: []Signal{{Signal: "SIGUSR2", PID: 100, StartTicks: 5, Result: "sent"}}}
	if err := SaveJournal(dir, j); err != nil {
		t.Fatal(err)
	}
	got, err := LoadJournal(dir, key)
	if err != nil || got.Backup != j.Backup || !got.Old.Is(100, 5) || len(got.Signals) != 1 || got.Version != JournalVersion {
		t.Fatalf("loaded %+v, %v", got, err)
	}
	st, err := os.Stat(JournalPath(dir, key))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("journal mode %v, %v: want 0600", st.Mode(), err)
	}
	if names, _ := filepath.Glob(filepath.Join(dir, ".*")); len(names) != 0 {
		t.Errorf("temporary files left: %v", names)
	}
	b := fmt.Sprintf(`{"version":%d,"instance":%q}`, JournalVersion+1, key)
	if err := os.WriteFile(JournalPath(dir, key), []byte(b), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadJournal(dir, key); err == nil || !strings.Contains(err.Error(), "newer than") {
		t.Errorf("a newer journal: %v, want a refusal", err)
	}
}

func TestJournalQuitSent(t *testing.T) {
	old, nw := Master{PID: 10, StartTicks: 1}, Master{PID: 20, StartTicks: 2}
	for _, tc := range []struct {
		name string
		sigs []Signal
		want int
	}{
		{"none", nil, 0},
		{"quit sent", []Signal{{Signal: "SIGQUIT", PID: 10, StartTicks: 1, Result: "sent"}}, 10},
		{"killed while sending", []Signal{{Signal: "SIGQUIT", PID: 10, StartTicks: 1, Result: "sending"}}, 10},
		{"refused", []Signal{{Signal: "SIGQUIT", PID: 10, StartTicks: 1, Result: "refused"}}, 0},
		{"to the new master (a rollback)", []Signal{{Signal: "SIGQUIT", PID: 20, StartTicks: 2, Result: "sent"}}, 0},
		{"a recycled pid", []Signal{{Signal: "SIGQUIT", PID: 10, StartTicks: 9, Result: "sent"}}, 0},
	} {
		j := &Journal{Old: &old, New: &nw, Signals: tc.sigs}
		if got := j.QuitSent(); got != tc.want {
			t.Errorf("%s: QuitSent = %d, want %d", tc.name, got, tc.want)
		}
	}
	var none *Journal
	if none.QuitSent() != 0 || none.SentTo("SIGUSR2", &old) || none.Ended() {
		t.Errorf("a nil journal knows something")
	}
}

// TestSessionKeepsTheJournalAfterTheLock: a session records an upgrade; ending it releases the
// lock but leaves the journal, which the next session reads; Track replaces a journal whose
// old master is another.
func TestSessionKeepsTheJournalAfterTheLock(t *testing.T) {
	dirs := Dirs{Runtime: filepath.Join(t.TempDir(), "run"), State: filepath.Join(t.TempDir(), "state")}
	pidFile := filepath.Join(t.TempDir(), "nginx.pid")
	s, err := Begin(dirs, pidFile, "upgrade")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Begin(dirs, pidFile+".oldbin", "rollback"); !IsHeld(err) {
		t.Fatalf("a second session by the .oldbin name: %v, want held", err)
	}
	old := Master{PID: 42, StartTicks: 7}
	if err := s.Track(old, pidFile, "/usr/sbin/nginx", nil); err != nil {
		t.Fatal(err)
	}
	i, _ := s.Sending(Signal{Signal: "SIGQUIT", PID: 42, StartTicks: 7})
	if err := s.Sent(i, "sent", ""); err != nil {
		t.Fatal(err)
	}
	s.End()
	s2, err := Begin(dirs, pidFile, "resume")
	if err != nil {
		t.Fatal(err)
	}
	defer s2.End()
	j := s2.Journal()
	if j == nil || j.QuitSent() != 42 || j.Driver.Command != "upgrade" {
		t.Fatalf("journal after the first driver: %+v", j)
	}
	if err := s2.Track(old, pidFile, "/usr/sbin/nginx", nil); err != nil || len(s2.Journal().Signals) != 1 {
		t.Errorf("Track of the same old master started afresh: %v %+v", err, s2.Journal())
	}
	if err := s2.Track(Master{PID: 43, StartTicks: 8}, pidFile, "/usr/sbin/nginx", nil); err != nil || len(s2.Journal().Signals) != 0 {
		t.Errorf("Track of another old master kept the old journal: %v %+v", err, s2.Journal())
	}
}
