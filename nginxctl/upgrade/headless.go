package upgrade

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/audit"
	"github.com/hotdeploy/hotdeploy/nginxctl/driver"
	"github.com/hotdeploy/hotdeploy/nginxctl/inspect"
	"github.com/hotdeploy/hotdeploy/nginxctl/supervisor"
)

// Exit codes of the headless commands.
const (
	ExitDone       = 0 // done
	ExitRolledBack = 1 // failed, rolled back: the old binary serves
	ExitRefused    = 2 // refused or bad input: nothing changed
	ExitNeedsHuman = 3 // failed and not rolled back: look at the state printed
)

// HeadlessOptions configure `hotdeploy upgrade` and `hotdeploy rollback`.
type HeadlessOptions struct {
	Target         inspect.Target
	NewBinary      string
	JSON           bool
	StopAfterDrain bool
	ReadyTimeout   time.Duration
	DrainTimeout   time.Duration
	NoAutoRollback bool
	AuditLog       string
	// DryRun checks the candidate and the config test only: nothing is changed.
	DryRun bool
	// Probe, when set, must see no failure between WINCH and commit (see the probe).
	Probe ProbeGate
	// ProbeReport, when set, gives the result's probe object at the end, given the version
	// of the build that ran before.
	ProbeReport func(nginxVersion string) any
	// Stderr receives the one line of a refusal (os.Stderr when nil).
	Stderr io.Writer
	// Resume finishes an upgrade whose driver died instead of starting one (see Resume).
	Resume bool
	// Dirs are where the driver locks and the upgrade journals live; empty fields are
	// driver.DefaultDirs (tests pass their own).
	Dirs driver.Dirs
}

// ProbeGate is the traffic check a headless upgrade consults before committing: it returns an
// error when requests failed since the given time.
type ProbeGate interface {
	FailuresSince(t time.Time) error
	// MarkPhase starts counting requests under name: usr2, winch, quit (commit) or a
	// rollback's hup.
	MarkPhase(name string)
}

// single resolves the target to exactly one instance, refusing with the list when there are
// several.
func single(sc *inspect.Scanner, t inspect.Target) (model.Instance, error) {
	snap, err := sc.Resolve(t)
	if err != nil {
		return model.Instance{}, err
	}
	return pickOne(snap)
}

// pickOne returns the only instance of snap, or refuses naming every one.
func pickOne(snap model.Snapshot) (model.Instance, error) {
	switch len(snap.Instances) {
	case 0:
		return model.Instance{}, fmt.Errorf("%w: no nginx master is running", inspect.ErrBadTarget)
	case 1:
		return snap.Instances[0], nil
	}
	var names []string
	for _, in := range snap.Instances {
		names = append(names, fmt.Sprintf("%s (master %d)", in.Key(), in.Masters[0].PID))
	}
	return model.Instance{}, fmt.Errorf("%w: %d nginx instances run; pick one with --pid or --pidfile: %s",
		inspect.ErrBadTarget, len(names), strings.Join(names, ", "))
}

// newHeadless opens the audit log, prepares the runner, resolves the target to one instance
// and, unless command is empty (--dry-run changes nothing), takes the instance's driver lock
// for command. An error means a refusal: nothing was touched. The caller calls h.end.
func newHeadless(ctx context.Context, opts HeadlessOptions, out io.Writer, command string) (*headless, *Runner, model.Instance, error) {
	h := &headless{opts: opts, out: out, start: time.Now(), exit: -1}
	log, err := audit.Open(opts.AuditLog)
	if err != nil {
		return h, nil, model.Instance{}, err
	}
	r := NewRunner(inspect.NewScanner(), log)
	if opts.ReadyTimeout > 0 {
		r.ReadyTimeout = opts.ReadyTimeout
	}
	if opts.DrainTimeout > 0 {
		r.DrainTimeout = opts.DrainTimeout
	}
	r.Events = h.event
	h.runner = r
	in, err := single(r.Scanner, opts.Target)
	if err == nil && command != "" {
		in, err = h.drive(r, in, command)
	}
	if err == nil {
		h.res.OldPID = in.Masters[0].PID
		h.unit = inspect.Supervise(ctx, &in)
		// Prove the log takes an entry (a full disk passes an open) before anything changes.
		err = log.Preflight(in.Key())
	}
	return h, r, in, err
}

// Upgrade runs a whole upgrade headless: preflight, install, USR2, WINCH, commit, rolling back
// on failure unless told not to. ctx ending (Ctrl-C) counts as a failure. A host that already
// runs the candidate's build (or, without a candidate, the build on disk) is left alone:
// unchanged, exit 0. --dry-run stops after the checks: checked.
func Upgrade(ctx context.Context, opts HeadlessOptions, out io.Writer) int {
	if opts.Resume {
		return Resume(ctx, opts, out)
	}
	command := "upgrade"
	if opts.DryRun {
		command = ""
	}
	h, r, in, err := newHeadless(ctx, opts, out, command)
	defer h.end()
	if err != nil {
		return h.finish("refused", in, err)
	}
	h.res.OldBuild = runningBuild(in.Masters[0])
	if in.Phase == model.PhaseIdle {
		nb, err := candidateBuild(ctx, in, opts.NewBinary)
		if err != nil {
			return h.finish("refused", in, &StepError{Step: "preflight", Refused: true, Reason: err.Error(), Why: model.ReasonOf(err), Err: err})
		}
		h.res.NewBuild = nb
		if nb.SHA256 == h.res.OldBuild.SHA256 {
			return h.finish("unchanged", in, nil)
		}
	}
	if err := h.systemdPreflight(in); err != nil {
		return h.finish("refused", in, err)
	}
	if in, err = r.Preflight(ctx, in, opts.NewBinary); err != nil {
		if in.Phase != model.PhaseIdle && IsRefused(err) {
			err = fmt.Errorf("%w; finish it with `hotdeploy upgrade --resume --yes` or `hotdeploy rollback --yes`", err)
		}
		return h.finish("refused", in, err)
	}
	if opts.DryRun {
		return h.finish("checked", in, nil)
	}
	if h.unit != nil && in.Phase == model.PhaseIdle {
		// Said before anything changes, while it matters: a reload now would HUP a master
		// mid-upgrade. A progress line, not one of the result's warnings: once the command
		// has ended there is no upgrade left to disturb.
		w := supervisor.ReloadWarning(h.unit.Name, h.unit.ReloadCommand())
		h.event(Event{Time: time.Now(), Step: "preflight", Kind: "progress", Message: w.String(), Why: w})
	}
	if opts.NewBinary != "" {
		var got audit.Install
		if in, got, err = r.Install(ctx, in, opts.NewBinary); err != nil {
			return h.finish("refused", in, err)
		}
		h.res.Backup = got.Backup
		h.res.NewBuild.Path = got.Binary
		h.installed(ctx, got)
	}
	old := in.Masters[0]
	if in, err = h.startAndDrain(ctx, r, in); err == nil {
		if opts.StopAfterDrain {
			return h.finish("drained", in, nil)
		}
		if in, err = r.Commit(ctx, in); err == nil {
			return h.finishCode("committed", h.systemdAfter(ctx, in, supervisor.AfterCommit), in, nil)
		}
		if !IsRefused(err) {
			return h.finish("failed", in, fmt.Errorf("%v; SIGQUIT reached the old master %d, so there is no going back: "+
				"check `hotdeploy status` until it is gone", err, old.PID))
		}
	}
	if IsRefused(err) && in.New() == nil && !in.BinaryDiffers {
		return h.finish("refused", in, err)
	}
	return h.rollBackAfter(context.WithoutCancel(ctx), r, in, old, err)
}

// installed makes the result's new_build the copy that was checked and installed: the file at
// the candidate path may have been replaced after the preflight read it, and the result must
// name what is on disk.
func (h *headless) installed(ctx context.Context, got audit.Install) {
	nb := h.res.NewBuild
	if nb == nil || got.NewSHA256 == "" || got.NewSHA256 == nb.SHA256 {
		return
	}
	h.event(Event{Time: time.Now(), Step: "install", Kind: "warning", Message: fmt.Sprintf(
		"the candidate changed while it was checked: %s held sha256 %.12s at the preflight, the copy installed (and checked) is %.12s",
		nb.Path, nb.SHA256, got.NewSHA256)})
	version, _ := checkCandidate(ctx, got.Binary)
	h.res.NewBuild = &Build{Path: got.Binary, SHA256: got.NewSHA256, Version: version}
}

// candidateBuild describes the build an upgrade would start: the candidate file, or without
// one the file on disk that nginx execs on USR2.
func candidateBuild(ctx context.Context, in model.Instance, candidate string) (*Build, error) {
	path := in.Binary
	if candidate != "" {
		var err error
		if path, err = absCandidate(candidate); err != nil {
			return nil, err
		}
	}
	version, err := checkCandidate(ctx, path)
	if err != nil {
		return nil, err
	}
	sum, err := inspect.FileSHA256(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return &Build{Path: path, SHA256: sum, Version: version}, nil
}

// startAndDrain starts the new binary and drains the old workers, then consults the probe.
func (h *headless) startAndDrain(ctx context.Context, r *Runner, in model.Instance) (model.Instance, error) {
	in, err := r.Start(ctx, in)
	if err != nil {
		return in, err
	}
	h.res.NewPID = in.New().PID
	winched := time.Now()
	if in, err = r.Drain(ctx, in, true); err != nil {
		return in, err
	}
	if h.opts.Probe == nil {
		return in, nil
	}
	drained := time.Now()
	// No request may have failed since WINCH, and one that started once the old workers were
	// gone must have succeeded: only the new master can have answered it.
	err = h.opts.Probe.FailuresSince(winched)
	if err == nil {
		err = h.opts.Probe.FailuresSince(drained)
	}
	if err != nil {
		return in, (&StepError{Step: "probe", Err: err}).because("the new master is not proven to serve: %v", err)
	}
	return in, nil
}

// rollBackAfter rolls back after a failed step, unless --no-auto-rollback.
func (h *headless) rollBackAfter(ctx context.Context, r *Runner, in model.Instance, old model.Master, cause error) int {
	if cur, err := r.Scanner.Refresh(in); err == nil {
		in = cur
	}
	if h.opts.NoAutoRollback {
		return h.finish("failed", in, fmt.Errorf("%w; not rolled back (--no-auto-rollback): "+
			"roll back with `hotdeploy rollback --yes`, or go on from the dashboard", cause))
	}
	if in.Masters[0].PID != old.PID {
		return h.finish("failed", in, fmt.Errorf("%w; the old master %d is gone, so there is nothing to roll back to", cause, old.PID))
	}
	h.event(Event{Time: time.Now(), Step: "rollback", Kind: "start", Message: "rolling back: " + cause.Error()})
	in, err := r.Rollback(ctx, in)
	if err != nil {
		return h.finish("failed", in, fmt.Errorf("%v; then the rollback failed: %w", cause, err))
	}
	code := ExitRolledBack
	if h.systemdAfter(ctx, in, supervisor.AfterRollback) == ExitNeedsHuman {
		code = ExitNeedsHuman
	}
	return h.finishCode("rolled-back", code, in, cause)
}
