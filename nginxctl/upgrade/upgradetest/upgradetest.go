// Package upgradetest builds what the upgrade tests feed hotdeploy: candidate binaries that
// misbehave in one chosen way, a stranger process that records the signals it gets, and a
// reader for the headless commands' --json output. Only tests import it.
package upgradetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotdeploy/hotdeploy/nginxctl/sandbox"
)

// Copy returns a valid new binary: a copy of the installed nginx with a marker appended (the
// loader ignores bytes past the ELF segments), so its content differs from the running binary's
// and a test can tell which file is on disk.
func Copy(t testing.TB) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "nginx-candidate")
	if err := sandbox.CopyFile(realNginx(t), dst, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = fmt.Fprintf(f, "\nhotdeploy test candidate %d\n", time.Now().UnixNano())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func realNginx(t testing.TB) string {
	t.Helper()
	p, err := sandbox.FindNginx()
	if err != nil {
		t.Fatalf("these tests need a real nginx: %v", err)
	}
	return p
}

// Misbehaviours of a Wrapper candidate.
const (
	ExitsOnV        = "exit1"          // exits 1 whatever it is asked, -v included
	BadConfig       = "badconf"        // adds a broken -g directive: -v answers, -t fails
	DiesAsNewMaster = "die-as-new"     // passes -v and -t, exits 1 when started as the new master
	BadConfAsNew    = "badconf-as-new" // passes -v and -t; as the new master, fails to load the config
	SlowAsNew       = "slow-as-new"    // as the new master, waits 1.5 s before it execs the real nginx
	HangsAsNew      = "hang-as-new"    // passes -v and -t; as the new master, hangs untitled (two minutes at most)
	StopsAsNew      = "stop-as-new"    // passes -v and -t; as the new master, stops itself (SIGSTOP) untitled
)

// BrokenDirective is what BadConfig and BadConfAsNew add; nginx reports it as unknown.
const BrokenDirective = "hotdeploy_broken_directive"

// wrapperSource is a candidate "nginx" that behaves badly in one chosen way and otherwise
// execs the real nginx with its arguments. nginx starts a new master with the inherited
// sockets in $NGINX, which is how the wrapper knows it runs as one.
const wrapperSource = `package main

import (
	"os"
	"syscall"
	"time"
)

var mode, real string

func main() {
	args := os.Args
	asNew := os.Getenv("NGINX") != ""
	switch {
	case mode == "exit1":
		os.Exit(1)
	case mode == "die-as-new" && asNew:
		os.Exit(1)
	case mode == "slow-as-new" && asNew:
		time.Sleep(1500 * time.Millisecond)
	case mode == "hang-as-new" && asNew:
		time.Sleep(2 * time.Minute)
		os.Exit(1)
	case mode == "stop-as-new" && asNew:
		syscall.Kill(os.Getpid(), syscall.SIGSTOP)
		time.Sleep(2 * time.Minute)
		os.Exit(1)
	case mode == "badconf" || mode == "badconf-as-new" && asNew:
		args = append([]string{args[0], "-g", "hotdeploy_broken_directive on;"}, args[1:]...)
	}
	err := syscall.Exec(real, args, os.Environ())
	os.Stderr.WriteString("wrapper: exec " + real + ": " + err.Error() + "\n")
	os.Exit(1)
}
`

// Wrapper builds an ELF candidate with one of the misbehaviours above.
func Wrapper(t testing.TB, mode string) string {
	t.Helper()
	return buildGo(t, wrapperSource, "nginx-"+mode, "-X main.mode="+mode+" -X main.real="+realNginx(t))
}

// recorderSource is a process that is not nginx and writes down every signal it gets. It
// ends by itself after two minutes.
const recorderSource = `package main

import (
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	f, err := os.OpenFile(os.Args[1], os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		os.Exit(1)
	}
	c := make(chan os.Signal, 16)
	signal.Notify(c, syscall.SIGUSR2, syscall.SIGWINCH, syscall.SIGQUIT, syscall.SIGHUP, syscall.SIGTERM,
		syscall.SIGINT, syscall.SIGUSR1)
	f.WriteString("ready\n")
	stop := time.After(2 * time.Minute)
	for {
		select {
		case s := <-c:
			f.WriteString(s.String() + "\n")
		case <-stop:
			return
		}
	}
}
`

// Recorder starts a process that is not nginx and records the signals it receives; it is
// ended by its pid when the test ends. Signals reads what it got.
type Recorder struct {
	Process *os.Process
	record  string
}

// StartRecorder starts a Recorder and waits until its handlers are installed.
func StartRecorder(t testing.TB) *Recorder {
	t.Helper()
	bin := buildGo(t, recorderSource, "recorder", "")
	rec := &Recorder{record: filepath.Join(t.TempDir(), "signals.txt")}
	cmd := exec.Command(bin, rec.record)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	rec.Process = cmd.Process
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if b, _ := os.ReadFile(rec.record); bytes.HasPrefix(b, []byte("ready\n")) {
			return rec
		}
		if time.Now().After(deadline) {
			t.Fatal("the signal recorder did not start")
		}
	}
}

// Signals returns the names of the signals received so far.
func (r *Recorder) Signals() []string {
	b, _ := os.ReadFile(r.record)
	return strings.Fields(strings.TrimPrefix(string(b), "ready\n"))
}

// buildGo compiles one Go source file into t.TempDir() and returns the binary's path.
func buildGo(t testing.TB, src, name, ldflags string) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("building a test binary needs the go command in $PATH: %v", err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "main.go")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, name)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", out, "-ldflags", ldflags, file)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", name, err, b)
	}
	return out
}

// Result is the final object of a headless --json run.
type Result struct {
	Result    string   `json:"result"`
	OldPID    int      `json:"old_pid"`
	NewPID    int      `json:"new_pid"`
	Phase     string   `json:"phase"`
	Error     string   `json:"error"`
	Log       []string `json:"log"`
	ElapsedMS int64    `json:"elapsed_ms"`
	OldBuild  *Build   `json:"old_build"`
	NewBuild  *Build   `json:"new_build"`
	Ended     []struct {
		PID    int    `json:"pid"`
		Role   string `json:"role"`
		Signal string `json:"signal"`
	} `json:"ended"`
}

// Build is a result's old_build or new_build.
type Build struct {
	Path    string `json:"path"`
	SHA256  string `json:"sha256"`
	Version string `json:"version"`
}

// JSONLines splits headless --json output into objects, failing the test unless every line is
// exactly one JSON object.
func JSONLines(t testing.TB, out string) []map[string]any {
	t.Helper()
	var objs []map[string]any
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		var o map[string]any
		if err := json.Unmarshal([]byte(line), &o); err != nil {
			t.Fatalf("output line is not one JSON object: %q: %v", line, err)
		}
		objs = append(objs, o)
	}
	if len(objs) == 0 {
		t.Fatal("no output")
	}
	return objs
}

// LastResult checks the --json output line by line: every line but the last is an event with
// time, step and event; the last is the result, with result, old_pid and new_pid.
func LastResult(t testing.TB, out string) Result {
	t.Helper()
	objs := JSONLines(t, out)
	for _, o := range objs[:len(objs)-1] {
		if o["time"] == nil || o["step"] == nil || o["event"] == nil {
			t.Errorf("event line without time/step/event: %v", o)
		}
	}
	last := objs[len(objs)-1]
	for _, k := range []string{"result", "old_pid", "new_pid"} {
		if _, ok := last[k]; !ok {
			t.Errorf("last JSON object has no %q: %v", k, last)
		}
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	var r Result
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// SHA256 returns the hex sha256 of a file's content.
func SHA256(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
