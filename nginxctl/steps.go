package nginxctl

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/hotdeploy/hotdeploy/model"
)

// Preflight checks everything an upgrade to candidate needs before anything changes: the
// candidate itself, the master (daemonized, argv[0] resolvable, ours to signal), that no upgrade
// runs, and the config test with the candidate and the master's own -p/-c/-g. An empty candidate
// means the binary already on disk.
func (r *Runner) Preflight(ctx context.Context, in model.Instance, candidate string) (model.Instance, error) {
	const step = "preflight"
	start := time.Now()
	r.emit(Event{Step: step, Kind: "start", Message: "checking the candidate and the running master"})
	in, err := r.fresh(in, model.ActInstall)
	if err != nil {
		return in, relabel(err, step)
	}
	m := in.Masters[0]
	refuse := func(format string, args ...any) error {
		return &StepError{Step: step, Refused: true, Reason: fmt.Sprintf(format, args...)}
	}
	switch {
	case m.SignalsIgnored != "":
		return in, refuse("%s", m.SignalsIgnored)
	case m.Argv0Problem != "":
		return in, refuse("%s", m.Argv0Problem)
	case candidate == "" && !in.BinaryDiffers:
		return in, refuse("no --new-binary given and %s is the binary already running", in.Binary)
	}
	if err := syscall.Kill(m.PID, 0); err != nil {
		return in, refuse("cannot signal master %d: %v; run as root or as the user nginx runs as", m.PID, err)
	}
	binary := in.Binary
	if candidate != "" {
		if err := checkCandidate(ctx, candidate); err != nil {
			return in, refuse("%v", err)
		}
		binary = candidate
	}
	if lines, err := configTest(ctx, m, binary); err != nil {
		return in, &StepError{Step: step, Refused: true, Reason: err.Error(), Log: lines}
	}
	r.emit(Event{Step: step, Kind: "done", ElapsedMS: since(start),
		Message: fmt.Sprintf("%s passes the config test with the master's -p/-c/-g", binary)})
	return in, nil
}

// Test runs the config test alone (dashboard key t) and returns what nginx printed.
func (r *Runner) Test(ctx context.Context, in model.Instance, candidate string) ([]string, error) {
	in, err := r.fresh(in, model.ActTest)
	if err != nil {
		return nil, err
	}
	binary := in.Binary
	if candidate != "" {
		if err := checkCandidate(ctx, candidate); err != nil {
			return nil, &StepError{Step: "test", Refused: true, Reason: err.Error()}
		}
		binary = candidate
	}
	lines, err := configTest(ctx, in.Masters[0], binary)
	if err != nil {
		return lines, &StepError{Step: "test", Refused: true, Reason: err.Error(), Log: lines}
	}
	return lines, nil
}

// checkCandidate validates a candidate binary: a regular executable ELF file that answers -v.
func checkCandidate(ctx context.Context, path string) error {
	if err := CheckExecutable(path); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "-v").CombinedOutput()
	if err != nil {
		return fmt.Errorf("candidate %s does not answer -v (%v): %s", path, err, firstLine(string(out)))
	}
	return nil
}

// configTest runs `binary -t` with the master's own -p/-c/-g/-e, from its working directory, as
// the new master would load the config after USR2.
func configTest(ctx context.Context, m model.Master, binary string) ([]string, error) {
	a := parseMasterArgs(m.Argv)
	var args []string
	for _, o := range []struct{ flag, val string }{{"-p", a.prefix}, {"-c", a.conf}, {"-e", a.errorLog}, {"-g", a.directives}} {
		if o.val != "" {
			args = append(args, o.flag, o.val)
		}
	}
	args = append(args, "-t")
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	if cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", m.PID)); err == nil {
		cmd.Dir = cwd
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if err != nil {
		why := lines[0]
		for _, l := range lines {
			if LineSeverity(l) >= SevError {
				why = l
				break
			}
		}
		return lines, fmt.Errorf("config test with %s %s failed: %s", binary, strings.Join(args, " "), why)
	}
	return lines, nil
}

// Install backs up the running binary and puts candidate in place (dashboard key i, and the
// first step of a headless upgrade). Nothing is signalled.
func (r *Runner) Install(ctx context.Context, in model.Instance, candidate string) (model.Instance, Installed, error) {
	const step = "install"
	start := time.Now()
	in, err := r.fresh(in, model.ActInstall)
	if err != nil {
		return in, Installed{}, err
	}
	if err := checkCandidate(ctx, candidate); err != nil {
		return in, Installed{}, &StepError{Step: step, Refused: true, Reason: err.Error()}
	}
	m := in.Masters[0]
	got, err := installBinary(m.PID, in.Binary, candidate)
	entry := AuditEntry{Instance: in.Key(), Action: step, PID: m.PID, StartTicks: m.StartTicks, Result: "installed", Install: &got}
	if err != nil {
		entry.Result, entry.Error = "failed", err.Error()
	}
	if aerr := r.Audit.Record(entry); aerr != nil && err == nil {
		err = aerr
	}
	if err != nil {
		// The rename is the last thing installBinary does: if it failed, nothing changed.
		return in, got, &StepError{Step: step, Refused: true, Reason: err.Error()}
	}
	r.emit(Event{Step: step, Kind: "done", ElapsedMS: since(start), Message: fmt.Sprintf(
		"%s installed as %s (sha256 %.12s); the running binary is kept as %s (sha256 %.12s)",
		candidate, got.Binary, got.NewSHA256, got.Backup, got.BackupSHA256)})
	in, _ = r.Scanner.Refresh(in)
	return in, got, nil
}

// Start sends USR2 to the master and waits until the new master serves: it wrote the pid file
// and runs workers. It fails when nginx ignores the signal, when the new master exits, or when
// the pid file is renamed back, quoting the error log since the signal.
func (r *Runner) Start(ctx context.Context, in model.Instance) (model.Instance, error) {
	const step = "upgrade"
	start := time.Now()
	in, err := r.fresh(in, model.ActUpgrade)
	if err != nil {
		return in, err
	}
	old := in.Masters[0]
	if lines, err := configTest(ctx, old, in.Binary); err != nil {
		return in, &StepError{Step: step, Refused: true, Reason: err.Error(), Log: lines}
	}
	log := followLog(in.ErrorLog)
	if err := r.send(in, model.ActUpgrade, old.Process, syscall.SIGUSR2); err != nil {
		return in, err
	}
	var newPID int
	sawOldbin := false
	fail := func(format string, args ...any) error {
		return &StepError{Step: step, Reason: fmt.Sprintf(format, args...), Log: log.last(20)}
	}
	in, err = r.await(ctx, in, r.ReadyTimeout, func(cur model.Instance, err error) (bool, error) {
		for _, line := range log.read() {
			if startFailed(line) {
				return false, fail("nginx reports: %s", line)
			}
		}
		if err != nil || cur.Masters[0].PID != old.PID {
			return false, fail("the old master %d is gone", old.PID)
		}
		sawOldbin = sawOldbin || cur.OldbinPID == old.PID
		switch nw := cur.New(); {
		case nw != nil:
			newPID = nw.PID
		case newPID != 0:
			return false, fail("the new master %d exited", newPID)
		case sawOldbin && cur.OldbinPID == 0 && cur.PidFilePID == old.PID:
			return false, fail("nginx renamed the pid file back: the new binary did not start")
		}
		return cur.Phase == model.PhaseBothServing, nil
	})
	if errors.Is(err, errWaitTimeout) {
		err = fail("the new master did not serve within %s (phase %s)", r.ReadyTimeout, in.Phase)
	}
	if err != nil {
		return in, wrapCtx(err, step, log)
	}
	nw := in.New()
	r.emit(Event{Step: step, Kind: "done", PID: nw.PID, Phase: in.Phase.String(), ElapsedMS: since(start),
		Message: fmt.Sprintf("new master %d serves with %d workers beside the old master %d", nw.PID, nw.ActiveWorkers(), old.PID)})
	return in, nil
}

// startFailed tells whether an error-log line after USR2 says the new binary will not run.
func startFailed(line string) bool {
	switch {
	case strings.Contains(line, "SIGUSR2) received"):
		return strings.HasSuffix(line, "ignoring")
	case strings.Contains(line, "new binary process"):
		return strings.Contains(line, "exited")
	}
	return strings.Contains(line, "changing binary signal is ignored") || strings.Contains(line, "execve() failed")
}

// Drain sends WINCH to the old master and waits until none of its workers accepts; with
// untilGone, until its children are all gone. The new master must stay up meanwhile.
func (r *Runner) Drain(ctx context.Context, in model.Instance, untilGone bool) (model.Instance, error) {
	const step = "drain"
	start := time.Now()
	in, err := r.fresh(in, model.ActDrain)
	if err != nil {
		return in, err
	}
	old, nw := in.Masters[0], *in.New()
	log := followLog(in.ErrorLog)
	if err := r.send(in, model.ActDrain, old.Process, syscall.SIGWINCH); err != nil {
		return in, err
	}
	fail := func(format string, args ...any) error {
		return &StepError{Step: step, Reason: fmt.Sprintf(format, args...), Log: log.last(20)}
	}
	left := -1
	check := func(all bool) func(model.Instance, error) (bool, error) {
		return func(cur model.Instance, err error) (bool, error) {
			log.read()
			if err != nil || cur.Masters[0].PID != old.PID {
				return false, fail("the old master %d is gone", old.PID)
			}
			if n := cur.New(); n == nil || n.PID != nw.PID {
				return false, fail("the new master %d exited while the old workers drained", nw.PID)
			}
			o := cur.Masters[0]
			if len(o.Children) != left {
				left = len(o.Children)
				r.emit(Event{Step: step, Kind: "progress", Phase: cur.Phase.String(), ElapsedMS: since(start),
					Message: fmt.Sprintf("old master %d: %d children left, %d still accepting", o.PID, left, o.ActiveWorkers())})
			}
			if all {
				return len(o.Children) == 0, nil
			}
			return o.ActiveWorkers() == 0, nil
		}
	}
	in, err = r.await(ctx, in, r.ReadyTimeout, check(false))
	if errors.Is(err, errWaitTimeout) {
		err = fail("the old workers still accept %s after SIGWINCH: nginx ignored it", r.ReadyTimeout)
	}
	if err == nil && untilGone {
		in, err = r.await(ctx, in, r.DrainTimeout, check(true))
		if errors.Is(err, errWaitTimeout) {
			err = fail("%d old processes still drain after %s: long-lived connections hold them", len(in.Masters[0].Children), r.DrainTimeout)
		}
	}
	if err != nil {
		return in, wrapCtx(err, step, log)
	}
	r.emit(Event{Step: step, Kind: "done", Phase: in.Phase.String(), ElapsedMS: since(start),
		Message: fmt.Sprintf("old master %d stopped accepting; the new master %d serves alone", old.PID, nw.PID)})
	return in, nil
}

// Commit sends QUIT to the old master and waits until it is gone and nginx.pid.oldbin removed.
func (r *Runner) Commit(ctx context.Context, in model.Instance) (model.Instance, error) {
	const step = "commit"
	start := time.Now()
	in, err := r.fresh(in, model.ActCommit)
	if err != nil {
		return in, err
	}
	old, nw := in.Masters[0], *in.New()
	log := followLog(in.ErrorLog)
	if err := r.send(in, model.ActCommit, old.Process, syscall.SIGQUIT); err != nil {
		return in, err
	}
	fail := func(format string, args ...any) error {
		return &StepError{Step: step, Reason: fmt.Sprintf(format, args...), Log: log.last(20)}
	}
	in, err = r.await(ctx, in, r.DrainTimeout+r.StopTimeout, func(cur model.Instance, err error) (bool, error) {
		log.read()
		if err != nil {
			return false, fail("no master of the instance is left: %v", err)
		}
		if cur.Masters[0].PID != nw.PID && cur.Masters[0].PID != old.PID {
			return false, fail("unexpected master %d", cur.Masters[0].PID)
		}
		return cur.Masters[0].PID == nw.PID && cur.OldbinPID == 0, nil
	})
	if errors.Is(err, errWaitTimeout) {
		err = fail("the old master %d is still there after %s", old.PID, r.DrainTimeout+r.StopTimeout)
	}
	if err != nil {
		return in, wrapCtx(err, step, log)
	}
	r.emit(Event{Step: step, Kind: "done", PID: nw.PID, Phase: in.Phase.String(), ElapsedMS: since(start),
		Message: fmt.Sprintf("old master %d is gone; master %d serves the new binary", old.PID, nw.PID)})
	return in, nil
}

// Rollback returns to the old binary from whatever step was reached: SIGHUP to the old master
// if none of its workers accepts (so it starts them again), then SIGQUIT to the new master
// (SIGTERM if it lingers), a wait until nginx.pid names the old master again, and the old binary
// file restored. With one master left, only the binary file is restored.
func (r *Runner) Rollback(ctx context.Context, in model.Instance) (model.Instance, error) {
	const step = "rollback"
	start := time.Now()
	cur, err := r.Scanner.Refresh(in)
	if err != nil {
		return in, &StepError{Step: step, Refused: true, Reason: err.Error()}
	}
	in = cur
	if in.New() == nil {
		return r.RestoreBinary(in)
	}
	old, nw := in.Masters[0], *in.New()
	log := followLog(in.ErrorLog)
	fail := func(format string, args ...any) error {
		return &StepError{Step: step, Reason: fmt.Sprintf(format, args...), Log: log.last(20)}
	}
	if model.NeedsHUP(old) {
		if err := r.send(in, model.ActRollback, old.Process, syscall.SIGHUP); err != nil {
			return in, err
		}
		in, err = r.await(ctx, in, r.ReadyTimeout, func(cur model.Instance, err error) (bool, error) {
			log.read()
			if err != nil || cur.Masters[0].PID != old.PID {
				return false, fail("the old master %d is gone", old.PID)
			}
			return cur.Masters[0].ActiveWorkers() > 0, nil
		})
		if errors.Is(err, errWaitTimeout) {
			err = fail("the old master %d started no workers %s after SIGHUP", old.PID, r.ReadyTimeout)
		}
		if err != nil {
			return in, wrapCtx(err, step, log)
		}
		r.emit(Event{Step: step, Kind: "progress", PID: old.PID, ElapsedMS: since(start),
			Message: fmt.Sprintf("old master %d runs %d workers again", old.PID, in.Masters[0].ActiveWorkers())})
	}
	if in, err = r.stopNew(ctx, in, nw, log); err != nil {
		return in, wrapCtx(err, step, log)
	}
	in, err = r.await(ctx, in, r.ReadyTimeout, func(cur model.Instance, err error) (bool, error) {
		return err == nil && cur.New() == nil && cur.PidFilePID == old.PID, nil
	})
	if errors.Is(err, errWaitTimeout) {
		err = fail("%s does not name the old master %d again", in.PidFile, old.PID)
	}
	if err != nil {
		return in, wrapCtx(err, step, log)
	}
	r.emit(Event{Step: step, Kind: "progress", PID: old.PID, ElapsedMS: since(start),
		Message: fmt.Sprintf("new master %d is gone; %s names the old master %d again", nw.PID, in.PidFile, old.PID)})
	in, err = r.RestoreBinary(in)
	if err != nil {
		return in, err
	}
	r.emit(Event{Step: step, Kind: "done", PID: old.PID, Phase: in.Phase.String(), ElapsedMS: since(start),
		Message: fmt.Sprintf("rolled back: master %d serves the old binary", old.PID)})
	return in, nil
}

// stopNew asks the new master to quit, and terminates it if it lingers.
func (r *Runner) stopNew(ctx context.Context, in model.Instance, nw model.Master, log *logSince) (model.Instance, error) {
	gone := func(cur model.Instance, err error) (bool, error) {
		log.read()
		if err != nil {
			return false, &StepError{Step: "rollback", Reason: "no master of the instance is left", Log: log.last(20)}
		}
		n := cur.New()
		return n == nil || n.PID != nw.PID, nil
	}
	for _, sig := range []syscall.Signal{syscall.SIGQUIT, syscall.SIGTERM} {
		if err := r.send(in, model.ActRollback, nw.Process, sig); err != nil {
			if errors.Is(err, ErrProcessGone) {
				return in, nil
			}
			return in, err
		}
		var err error
		if in, err = r.await(ctx, in, r.StopTimeout, gone); !errors.Is(err, errWaitTimeout) {
			return in, err
		}
	}
	return in, &StepError{Step: "rollback", Reason: fmt.Sprintf("the new master %d is still running after SIGQUIT and SIGTERM", nw.PID), Log: log.last(20)}
}

// RestoreBinary puts the binary the (old) master runs back on disk if another file is there.
func (r *Runner) RestoreBinary(in model.Instance) (model.Instance, error) {
	m := in.Masters[0]
	restored, err := restoreBinary(m.PID, in.Binary)
	if !restored && err == nil {
		return in, nil
	}
	entry := AuditEntry{Instance: in.Key(), Action: "restore", PID: m.PID, StartTicks: m.StartTicks, Result: "restored"}
	if err != nil {
		entry.Result, entry.Error = "failed", err.Error()
	}
	_ = r.Audit.Record(entry)
	if err != nil {
		return in, &StepError{Step: "rollback", Reason: err.Error()}
	}
	r.emit(Event{Step: "rollback", Kind: "progress", PID: m.PID,
		Message: fmt.Sprintf("%s restored from the binary master %d runs", in.Binary, m.PID)})
	cur, err := r.Scanner.Refresh(in)
	if err != nil {
		return in, nil
	}
	return cur, nil
}

// relabel renames the step of a refusal (the checks of preflight reuse install's verdict).
func relabel(err error, step string) error {
	var se *StepError
	if errors.As(err, &se) {
		c := *se
		c.Step = step
		return &c
	}
	return err
}

// wrapCtx turns a cancelled wait into a step error that quotes the log.
func wrapCtx(err error, step string, log *logSince) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &StepError{Step: step, Reason: "interrupted while waiting", Log: log.last(20)}
	}
	return err
}
