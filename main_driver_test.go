package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/hotdeploy/hotdeploy/nginxctl/driver"
	"github.com/hotdeploy/hotdeploy/nginxctl/upgrade/upgradetest"
)

// TestMain keeps the driver locks and journals of every test here (in-process runs and the
// built binary alike) out of the host's directories; the driver tests name their own.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hotdeploy-main-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv(driver.EnvRuntimeDir, filepath.Join(dir, "run"))
	os.Setenv(driver.EnvStateDir, filepath.Join(dir, "state"))
	code := m.Run()
	os.RemoveAll(dir)
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

var built struct {
	once sync.Once
	dir  string
	bin  string
	err  error
}

// hotdeployBinary builds the binary once for the tests that run it as a process of its own
// (to kill it, or to run two at once).
func hotdeployBinary(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		built.dir, built.err = os.MkdirTemp("", "hotdeploy-bin-")
		if built.err != nil {
			return
		}
		built.bin = filepath.Join(built.dir, "hotdeploy")
		out, err := exec.Command("go", "build", "-o", built.bin, ".").CombinedOutput()
		if err != nil {
			built.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.bin
}

// hdProc is one run of the built binary with --json: its events as they come, for a test that
// acts (kills it, starts a second driver) at a chosen one.
type hdProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	events chan map[string]any
	mu     sync.Mutex
	out    strings.Builder
	stderr bytes.Buffer
	done   chan struct{}
}

// startHD starts `hotdeploy args...` with the test's driver directories.
func startHD(t *testing.T, dirs driver.Dirs, args ...string) *hdProc {
	t.Helper()
	p := &hdProc{t: t, events: make(chan map[string]any, 4096), done: make(chan struct{})}
	p.cmd = exec.Command(hotdeployBinary(t), args...)
	p.cmd.Env = append(os.Environ(), driver.EnvRuntimeDir+"="+dirs.Runtime, driver.EnvStateDir+"="+dirs.State)
	p.cmd.Stderr = &p.stderr
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Only the process this test started, by its pid; a no-op once it exited.
		_ = p.cmd.Process.Kill()
		<-p.done
	})
	go func() {
		defer close(p.done)
		defer close(p.events)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.out.WriteString(line + "\n")
			p.mu.Unlock()
			var ev map[string]any
			if json.Unmarshal([]byte(line), &ev) == nil {
				p.events <- ev
			}
		}
		_ = p.cmd.Wait()
	}()
	return p
}

// until reads events until want says yes, and returns that event; it fails the test if the
// process ends first.
func (p *hdProc) until(what string, want func(ev map[string]any) bool) map[string]any {
	p.t.Helper()
	for ev := range p.events {
		if want(ev) {
			return ev
		}
	}
	p.t.Fatalf("hotdeploy ended before %s:\n%s%s", what, p.output(), p.stderr.String())
	return nil
}

// step matches an event of step of kind (any kind when empty).
func step(name, kind string) func(map[string]any) bool {
	return func(ev map[string]any) bool {
		return ev["step"] == name && (kind == "" || ev["event"] == kind)
	}
}

func (p *hdProc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// wait waits for the process to end and returns its exit code.
func (p *hdProc) wait() int {
	p.t.Helper()
	for range p.events {
	}
	<-p.done
	return p.cmd.ProcessState.ExitCode()
}

// kill SIGKILLs the process (the one this test started, by its pid) and waits for it.
func (p *hdProc) kill() {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		p.t.Fatal(err)
	}
	for range p.events {
	}
	<-p.done
	if ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
		p.t.Fatalf("hotdeploy was not killed by SIGKILL (it ended by itself first?): %v\n%s", p.cmd.ProcessState, p.output())
	}
}

// hdResult is the final object of a headless run, with the fields these tests read.
type hdResult struct {
	Result   string `json:"result"`
	ExitCode int    `json:"exit_code"`
	OldPID   int    `json:"old_pid"`
	NewPID   int    `json:"new_pid"`
	Phase    string `json:"phase"`
	Backup   string `json:"backup"`
	Error    string `json:"error"`
}

func (p *hdProc) result() hdResult {
	p.t.Helper()
	out := strings.TrimRight(p.output(), "\n")
	var r hdResult
	if err := json.Unmarshal([]byte(out[strings.LastIndex(out, "\n")+1:]), &r); err != nil {
		p.t.Fatalf("last line is no result: %v\n%s", err, out)
	}
	return r
}

// TestTwoDriverProcessesOneCommits starts two `hotdeploy upgrade` processes at once on one
// sandbox whose worker holds a slow download (so the one that gets the lock stays in its
// drain): the other exits 2 with one line on stderr naming the first by pid, user, instance and
// step, having sent nothing; the first commits its candidate once the download ends.
func TestTwoDriverProcessesOneCommits(t *testing.T) {
	c := newCLITarget(t)
	dirs := driver.Dirs{Runtime: filepath.Join(t.TempDir(), "run"), State: filepath.Join(t.TempDir(), "state")}
	_, release := upgradetest.HoldSlow(t, c.sb)
	cands := []string{upgradetest.Copy(t), upgradetest.Copy(t)}
	var ps []*hdProc
	for _, cand := range cands {
		ps = append(ps, startHD(t, dirs, "upgrade", "--new-binary", cand, "--yes", "--json",
			"--pidfile", c.sb.PidFile, "--audit-log", c.audit))
	}
	// The refused one ends while the other drains; which is which is the kernel's choice.
	var loser, winner int
	select {
	case <-ps[0].done:
		loser, winner = 0, 1
	case <-ps[1].done:
		loser, winner = 1, 0
	}
	code := ps[loser].wait()
	line := strings.TrimSuffix(ps[loser].stderr.String(), "\n")
	want := fmt.Sprintf("hotdeploy: hotdeploy pid %d (user %s", ps[winner].cmd.Process.Pid, userName(t))
	driven := fmt.Sprintf(") has driven %s since ", driver.Key(c.sb.PidFile))
	if code != 2 || !strings.HasPrefix(line, want) || !strings.Contains(line, driven) || strings.Contains(line, "\n") ||
		!strings.HasSuffix(line, ": wait for it or stop it") {
		t.Errorf("the second driver: exit %d, stderr %q; want 2 and one line %q…%q…", code, line, want, driven)
	}
	if r := ps[loser].result(); r.Result != "refused" {
		t.Errorf("the second driver's result: %+v", r)
	}
	release()
	if code := ps[winner].wait(); code != 0 || ps[winner].result().Result != "committed" {
		t.Fatalf("the driver: exit %d\n%s%s", code, ps[winner].output(), ps[winner].stderr.String())
	}
	if got := upgradetest.SHA256(t, c.sb.Binary); got != upgradetest.SHA256(t, cands[winner]) {
		t.Errorf("the binary on disk is not the driver's candidate")
	}
	if s := upgradetest.Signals(t, c.audit); len(s) != 3 {
		t.Errorf("signals %v: want the driver's USR2, WINCH and QUIT only", s)
	}
}

func userName(t *testing.T) string {
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	return u.Username
}
