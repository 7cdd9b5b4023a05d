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

	"github.com/hotdeploy/hotdeploy/model"
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

// The refusals of a held instance say what they always said in English, and carry it as a
// reason (model.ReasonOf finds it) for the dashboard's language.
func TestHeldRefusalCarriesItsReason(t *testing.T) {
	since := time.Date(2001, 2, 3, 4, 5, 6, 0, time.Local)
	h := Holder{PID: 42, User: "root", Instance: "run-nginx", Since: since}
	sudo := h
	sudo.SudoUser, sudo.Step = "alice", "drain"
	for _, tc := range []struct {
		name string
		err  *HeldError
		want string
	}{
		{"no step yet", &HeldError{Holder: &h, Instance: "run-nginx"},
			"hotdeploy pid 42 (user root) has driven run-nginx since 2001-02-03 04:05:06, step none yet: wait for it or stop it"},
		{"via sudo", &HeldError{Holder: &sudo, Instance: "run-nginx"},
			"hotdeploy pid 42 (user root via sudo from alice) has driven run-nginx since 2001-02-03 04:05:06, step drain: wait for it or stop it"},
		{"holder starting", &HeldError{Instance: "run-nginx", Path: "/run/hotdeploy/run-nginx.lock"},
			"another hotdeploy drives run-nginx (it holds /run/hotdeploy/run-nginx.lock): wait for it or stop it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.err.Error(); got != tc.want {
				t.Errorf("Error() = %q\nwant      %q", got, tc.want)
			}
			why := model.ReasonOf(fmt.Errorf("%w", tc.err))
			if why.Code == "" || why.String() != tc.want {
				t.Errorf("ReasonOf = %q / %q, want a code saying %q", why.Code, why.String(), tc.want)
			}
		})
	}
}
