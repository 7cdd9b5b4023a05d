package sandbox

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"sort"
	"syscall"
)

// A demo's sandbox must not outlive the demo, however the demo ends. Stop, deferred, covers the
// endings that unwind: q, a hang-up, SIGTERM (bubbletea turns it into a quit), a panic in the
// dashboard's Update or View (bubbletea recovers it). It does not cover the endings that do
// not: an unrecovered panic in any other goroutine, a fatal runtime error, SIGQUIT, a signal
// before the screen opened, SIGKILL. No process can act after SIGKILL, so the sandbox has a
// guard: a second process, a copy of this program in a session of its own, which waits on a
// pipe from the demo. The kernel closes the pipe when the demo ends, whatever ended it; unless
// the demo said "stopped" first, the guard then stops the sandbox (Stop: its nginx by pid and
// start time, never by name) and removes its directory.

// GuardEnv is the environment variable that makes the program a sandbox guard: main runs
// RunGuard, and nothing else, when it is set. It holds the sandbox to guard, as JSON.
const GuardEnv = "HOTDEPLOY_SANDBOX_GUARD"

// guardSpec is what a guard needs of the sandbox to stop it from another process.
type guardSpec struct {
	Prefix   string `json:"prefix"`
	PidFile  string `json:"pid_file"`
	Sessions []int  `json:"sessions"`
	Keep     bool   `json:"keep"`
	OwnDir   bool   `json:"own_dir"`
}

// guardReleased is what the demo writes to the pipe once it stopped the sandbox itself.
const guardReleased = "stopped"

// Guard starts the sandbox's guard, the program at exe run with GuardEnv set, and returns
// release, which tells the guard the sandbox was stopped (call it after Stop). exe must be a
// program that calls RunGuard when GuardEnv is set (hotdeploy's main does; a test binary
// does not).
func (sb *Sandbox) Guard(exe string) (release func(), err error) {
	ids := make([]int, 0, len(sb.sessions))
	for s := range sb.sessions {
		ids = append(ids, s)
	}
	sort.Ints(ids)
	spec, err := json.Marshal(guardSpec{Prefix: sb.Prefix, PidFile: sb.PidFile, Sessions: ids, Keep: sb.keep, OwnDir: sb.ownDir})
	if err != nil {
		return nil, err
	}
	r, w, err := os.Pipe() // close-on-exec: nginx, started later, does not hold it open
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), GuardEnv+"="+string(spec))
	cmd.Stdin = r
	// Its own session: no terminal, so a hang-up or ^C meant for the demo does not end the
	// guard before it did its work.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		r.Close()
		w.Close()
		return nil, fmt.Errorf("start the sandbox guard: %w", err)
	}
	r.Close()
	go func() { _ = cmd.Wait() }() // reap it, should it end first
	return func() {
		_, _ = io.WriteString(w, guardReleased)
		_ = w.Close()
	}, nil
}

// RunGuard is the guard process: it waits until the demo closes the pipe on its standard input
// and, unless the demo wrote that it stopped the sandbox, stops it. It returns the exit code.
func RunGuard() int {
	signal.Ignore(syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM, syscall.SIGPIPE)
	var spec guardSpec
	if err := json.Unmarshal([]byte(os.Getenv(GuardEnv)), &spec); err != nil || spec.Prefix == "" {
		fmt.Fprintf(os.Stderr, "hotdeploy sandbox guard: bad %s: %v\n", GuardEnv, err)
		return 2
	}
	said, _ := io.ReadAll(os.Stdin) // returns when the demo's end closes the pipe
	if string(said) == guardReleased {
		return 0
	}
	sb := &Sandbox{Prefix: spec.Prefix, PidFile: spec.PidFile, keep: spec.Keep, ownDir: spec.OwnDir}
	for _, s := range spec.Sessions {
		if sb.sessions == nil {
			sb.sessions = map[int]bool{}
		}
		sb.sessions[s] = true
	}
	if err := sb.Stop(); err != nil {
		return 1
	}
	return 0
}
