package chaostest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// result is the final object of a headless command (DESIGN.md's one schema).
type result struct {
	Result    string   `json:"result"`
	ExitCode  int      `json:"exit_code"`
	OldPID    int      `json:"old_pid"`
	NewPID    int      `json:"new_pid"`
	Phase     string   `json:"phase"`
	ElapsedMS int64    `json:"elapsed_ms"`
	Error     string   `json:"error"`
	Warnings  []string `json:"warnings"`
	OldBuild  *build   `json:"old_build"`
	NewBuild  *build   `json:"new_build"`
	Backup    string   `json:"backup"`
	Rejected  string   `json:"rejected"`
	Ended     []struct {
		PID    int    `json:"pid"`
		Role   string `json:"role"`
		Signal string `json:"signal"`
	} `json:"ended"`
}

type build struct {
	Path    string `json:"path"`
	SHA256  string `json:"sha256"`
	Version string `json:"version"`
}

// event is one --json event line.
type event struct {
	Time    time.Time `json:"time"`
	Step    string    `json:"step"`
	Kind    string    `json:"event"`
	Message string    `json:"message"`
	Signal  string    `json:"signal"`
	PID     int       `json:"pid"`
}

// run is one finished run of the hotdeploy binary.
type run struct {
	args           []string
	code           int // the exit code; -1 when a signal ended it
	stdout, stderr string
	timedOut       bool
	killed         bool // ended by the test on purpose
	res            *result
	events         []event
	jsonErr        string // why the --json output was not one object per line, if it was not
	ended          time.Time
}

func (r run) String() string {
	return fmt.Sprintf("hotdeploy %s: exit %d (timed out %v)\nstdout: %s\nstderr: %s",
		strings.Join(r.args, " "), r.code, r.timedOut, clip(r.stdout, 3000), clip(r.stderr, 1000))
}

// verdict is "exit N result" for messages.
func (r run) verdict() string {
	if r.res == nil {
		return fmt.Sprintf("exit %d (no result object)", r.code)
	}
	return fmt.Sprintf("exit %d %s", r.code, r.res.Result)
}

// panicked tells whether the Go runtime printed a panic or a fatal error.
func (r run) panicked() bool {
	for _, s := range []string{"panic:", "goroutine ", "fatal error:", "SIGSEGV"} {
		if strings.Contains(r.stderr, s) || strings.Contains(r.stdout, s) {
			return true
		}
	}
	return false
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + fmt.Sprintf("... (%d bytes)", len(s))
	}
	return s
}

// live is a hotdeploy run in progress whose --json events are read as they come.
type live struct {
	cmd      *exec.Cmd
	done     chan struct{}
	mu       sync.Mutex
	r        run
	events   chan event
	started  time.Time
	stdoutWG sync.WaitGroup
}

// hdOpts shape one run of the binary.
type hdOpts struct {
	timeout time.Duration
	env     []string // extra environment
	dir     string   // working directory
}

// startHD starts the built hotdeploy with args. Every event line is also sent on events
// (buffered; a reader that falls behind loses none until 4096 are pending). The run is bounded by
// o.timeout: past it the process is killed by its pid and the run counts as timed out.
func startHD(t testing.TB, o hdOpts, args ...string) *live {
	t.Helper()
	if o.timeout == 0 {
		o.timeout = 2 * time.Minute
	}
	l := &live{done: make(chan struct{}), events: make(chan event, 4096)}
	l.r.args = args
	cmd := exec.Command(hdBin, args...)
	cmd.Dir = o.dir
	if len(o.env) > 0 {
		cmd.Env = append(cmd.Environ(), o.env...)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start hotdeploy: %v", err)
	}
	l.cmd, l.started = cmd, time.Now()
	var out strings.Builder
	l.stdoutWG.Add(1)
	go func() {
		defer l.stdoutWG.Done()
		defer close(l.events)
		br := bufio.NewReader(stdout)
		for {
			line, err := br.ReadString('\n')
			out.WriteString(line)
			var e event
			if strings.HasPrefix(line, "{") && json.Unmarshal([]byte(line), &e) == nil && e.Kind != "" {
				select {
				case l.events <- e:
				default:
				}
			}
			if err != nil {
				return
			}
		}
	}()
	timer := time.AfterFunc(o.timeout, func() {
		l.mu.Lock()
		l.r.timedOut = true
		l.mu.Unlock()
		_ = cmd.Process.Kill()
	})
	go func() {
		l.stdoutWG.Wait()
		err := cmd.Wait()
		timer.Stop()
		l.mu.Lock()
		l.r.ended = time.Now()
		l.r.stdout, l.r.stderr = out.String(), stderr.String()
		l.r.code = cmd.ProcessState.ExitCode()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			l.r.stderr += "\n(wait: " + err.Error() + ")"
		}
		parseJSON(&l.r)
		l.mu.Unlock()
		close(l.done)
	}()
	t.Cleanup(func() { l.kill(); l.wait() })
	return l
}

// kill ends the run now with SIGKILL, by its pid (a no-op once it exited).
func (l *live) kill() {
	select {
	case <-l.done:
		return
	default:
	}
	l.mu.Lock()
	l.r.killed = true
	l.mu.Unlock()
	_ = l.cmd.Process.Signal(syscall.SIGKILL)
}

// wait returns the finished run.
func (l *live) wait() run {
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r
}

// hd runs the built hotdeploy to its end.
func hd(t testing.TB, o hdOpts, args ...string) run {
	t.Helper()
	return startHD(t, o, args...).wait()
}

// parseJSON fills res and events when stdout is JSON lines; jsonErr says what is wrong with it
// when --json was asked for.
func parseJSON(r *run) {
	wantJSON := false
	for _, a := range r.args {
		if a == "--json" {
			wantJSON = true
		}
	}
	out := strings.TrimRight(r.stdout, "\n")
	if out == "" {
		if wantJSON {
			r.jsonErr = "no output"
		}
		return
	}
	lines := strings.Split(out, "\n")
	for i, line := range lines {
		if i == len(lines)-1 {
			var res result
			if err := json.Unmarshal([]byte(line), &res); err != nil || res.Result == "" {
				if wantJSON {
					r.jsonErr = fmt.Sprintf("last line is no result object: %q", clip(line, 200))
				}
				return
			}
			r.res = &res
			return
		}
		var e event
		if err := json.Unmarshal([]byte(line), &e); err != nil || e.Kind == "" {
			if wantJSON {
				r.jsonErr = fmt.Sprintf("line %d is no event: %q", i+1, clip(line, 200))
			}
			continue
		}
		r.events = append(r.events, e)
	}
}

// awaitEvent reads l's events until match says yes, the run ends, or timeout; it returns the
// matching event and whether one came.
func (l *live) awaitEvent(timeout time.Duration, match func(event) bool) (event, bool) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		select {
		case e, ok := <-l.events:
			if !ok {
				return event{}, false
			}
			if match(e) {
				return e, true
			}
		case <-deadline.C:
			return event{}, false
		}
	}
}

// drainEvents discards the events still to come, so the reader never blocks.
func (l *live) drainEvents() {
	go func() {
		for range l.events {
		}
	}()
}

// isSignal matches the event of sig sent.
func isSignal(sig string) func(event) bool {
	return func(e event) bool { return e.Kind == "signal" && e.Signal == sig }
}
