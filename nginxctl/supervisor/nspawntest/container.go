package nspawntest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hotdeploy/hotdeploy/nginxctl/supervisor"
)

// Container is a booted systemd with Debian's nginx.service active.
type Container struct {
	Name string
	// Leader is the host pid of the container's PID 1 (its systemd).
	Leader  int
	nspawn  *exec.Cmd
	exited  chan struct{}
	cgroups []string
	console string
}

// inPath is the PATH commands run with inside the container.
const inPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

var (
	seq        atomic.Int32
	staleSweep sync.Once
)

// Boot starts a container from the prepared root and waits (bounded) until nginx.service is
// active. t.Cleanup halts it and removes its cgroups, also when the test fails.
func Boot(t testing.TB) *Container {
	t.Helper()
	root := Root(t)
	nspawn, err := exec.LookPath("systemd-nspawn")
	if err != nil {
		t.Fatalf("systemd-nspawn is missing: run .ci/systemd-root (it installs systemd-container): %v", err)
	}
	staleSweep.Do(removeStaleCgroups)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	c := &Container{
		Name:    fmt.Sprintf("%s%d-%d", cgroupPrefix, os.Getpid(), seq.Add(1)),
		exited:  make(chan struct{}),
		console: filepath.Join(t.TempDir(), "console.log"),
	}
	if c.cgroups, err = makeCgroups(c.Name); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(c.console)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	c.nspawn = exec.Command(self, nspawn, "--directory="+root, "--boot", "--volatile=overlay", "--private-network",
		"--register=no", "--keep-unit", "--console=read-only", "--machine="+c.Name)
	c.nspawn.Env = append(os.Environ(), helperEnv+"="+strings.Join(c.cgroups, ":"))
	c.nspawn.Stdout, c.nspawn.Stderr = logf, logf
	// Its own session (a terminal's ^C is for go test), and SIGTERM, which nspawn turns into
	// a clean halt, when the thread that started it ends: that thread stays locked to the
	// goroutine that waits for nspawn, so it ends only with the test binary.
	c.nspawn.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGTERM}
	started := make(chan error)
	go func() {
		runtime.LockOSThread()
		if err := c.nspawn.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		_ = c.nspawn.Wait()
		close(c.exited)
	}()
	if err := <-started; err != nil {
		_ = removeCgroups(c.cgroups)
		t.Fatalf("start systemd-nspawn: %v", err)
	}
	t.Cleanup(func() {
		if err := c.halt(); err != nil {
			t.Error(err)
		}
	})
	start := time.Now()
	c.waitLeader(t)
	c.waitActive(t, "nginx.service", 90*time.Second)
	t.Logf("container %s: nginx.service active %s after boot", c.Name, time.Since(start).Round(time.Millisecond))
	return c
}

// waitLeader finds the container's PID 1: the child of nspawn that is pid 1 of its own pid
// namespace (nspawn forks helpers of its own first).
func (c *Container) waitLeader(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if c.gone() {
			t.Fatalf("systemd-nspawn exited while booting:\n%s", c.consoleTail())
		}
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", c.nspawn.Process.Pid, c.nspawn.Process.Pid))
		for _, f := range strings.Fields(string(b)) {
			pid, _ := strconv.Atoi(f)
			if ns := nsPids(pid); len(ns) > 1 && ns[len(ns)-1] == 1 {
				c.Leader = pid
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no container PID 1 under systemd-nspawn pid %d after 60 s:\n%s", c.nspawn.Process.Pid, c.consoleTail())
}

// waitActive polls `systemctl is-active` inside until unit is active, bounded by limit.
func (c *Container) waitActive(t testing.TB, unit string, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	last := ""
	for time.Now().Before(deadline) {
		if c.gone() {
			t.Fatalf("systemd-nspawn exited while booting:\n%s", c.consoleTail())
		}
		out, _, _ := c.Exec(context.Background(), nil, "systemctl", "is-active", unit)
		if last = strings.TrimSpace(out); last == "active" {
			return
		}
		if last == "failed" {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	status, _, _ := c.Exec(context.Background(), nil, "systemctl", "status", "--no-pager", unit)
	t.Fatalf("%s is %q, not active, %s after boot:\n%s\n%s", unit, last, limit, status, c.consoleTail())
}

func (c *Container) gone() bool {
	select {
	case <-c.exited:
		return true
	default:
		return false
	}
}

// Exec runs args inside the container (all its namespaces, a clean environment plus env) and
// returns its output; err is non-nil when it could not run or exited non-zero.
func (c *Container) Exec(ctx context.Context, env []string, args ...string) (stdout, stderr string, err error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	full := []string{"-t", strconv.Itoa(c.Leader), "-a", "--", "env", "-i", "PATH=" + inPath, "LANG=C.UTF-8",
		"SYSTEMD_PAGER=", "SYSTEMD_COLORS=0", "TERM=dumb"}
	full = append(append(full, env...), args...)
	cmd := exec.CommandContext(ctx, "nsenter", full...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	if err != nil {
		err = fmt.Errorf("in container %s: %s: %w", c.Name, strings.Join(args, " "), err)
	}
	return o.String(), e.String(), err
}

// Run is Exec that fails the test when the command fails.
func (c *Container) Run(t testing.TB, args ...string) string {
	t.Helper()
	out, stderr, err := c.Exec(context.Background(), nil, args...)
	if err != nil {
		t.Fatalf("%v\nstdout: %s\nstderr: %s", err, out, stderr)
	}
	return out
}

// Show is systemd's view of unit, read inside the container with the supervisor package.
func (c *Container) Show(t testing.TB, unit string) supervisor.Unit {
	t.Helper()
	u, err := supervisor.ParseShow(unit, c.Run(t, append([]string{"systemctl"}, supervisor.ShowArgs(unit)...)...))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// Path is where the host sees path of the container's root (through its PID 1's /proc entry).
func (c *Container) Path(path string) string {
	return filepath.Join(fmt.Sprintf("/proc/%d/root", c.Leader), path)
}

// CopyIn copies a host file into the container's (throw-away) root at dst, executable.
func (c *Container) CopyIn(t testing.TB, src, dst string) {
	t.Helper()
	target := c.Path(dst)
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err == nil {
		_, err = io.Copy(out, in)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		t.Fatalf("copy %s into container %s at %s: %v", src, c.Name, dst, err)
	}
}

// halt stops the container cleanly (nspawn turns SIGTERM into a halt of its systemd), kills it
// if that takes over 30 s, and removes its cgroups.
func (c *Container) halt() error {
	var errs []error
	if !c.gone() {
		_ = c.nspawn.Process.Signal(syscall.SIGTERM)
		select {
		case <-c.exited:
		case <-time.After(30 * time.Second):
			errs = append(errs, fmt.Errorf("container %s did not halt within 30 s of SIGTERM: killed", c.Name))
			if c.Leader > 0 {
				_ = syscall.Kill(c.Leader, syscall.SIGKILL) // pid 1 of its namespace: takes all with it
			}
			_ = c.nspawn.Process.Kill()
			<-c.exited
		}
	}
	// The kernel may take a moment to release a cgroup whose last process was just reaped.
	var err error
	for i := 0; i < 50; i++ {
		if err = removeCgroups(c.cgroups); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	return errors.Join(append(errs, err)...)
}

func (c *Container) consoleTail() string {
	b, _ := os.ReadFile(c.console)
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}

// nsPids is the NSpid line of /proc/PID/status: the pid in each namespace from the host inward.
func nsPids(pid int) []int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "NSpid:"); ok {
			var ns []int
			for _, f := range strings.Fields(rest) {
				n, _ := strconv.Atoi(f)
				ns = append(ns, n)
			}
			return ns
		}
	}
	return nil
}
