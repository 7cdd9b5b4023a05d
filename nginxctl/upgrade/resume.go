package upgrade

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/driver"
	"github.com/hotdeploy/hotdeploy/nginxctl/inspect"
)

// Resume runs `hotdeploy upgrade --resume`: it finishes an upgrade whose driver died (an SSH
// drop, a kill), from the phase the live process tree shows: it waits for a new master still
// starting, drains, passes the probe gate when there is a probe, and commits, or stops where
// --stop-after says. The journal the dead driver left fills in what the tree cannot show: that
// a candidate was installed but not started yet, that SIGQUIT already went out, which backup
// holds the old build. An upgrade found already committed or rolled back gives its result,
// exit 0. A failure rolls back as Upgrade does, unless SIGQUIT already reached the old master.
func Resume(ctx context.Context, opts HeadlessOptions, out io.Writer) int {
	h, r, in, err := newHeadless(ctx, opts, out, "resume")
	defer h.end()
	if err != nil {
		return h.finish("refused", in, err)
	}
	j := r.journal()
	h.fromJournal(j, in)
	h.event(Event{Time: time.Now(), Step: "resume", Kind: "start", Phase: in.Phase.String(), Message: resumeFound(in, j, r)})
	if in.Phase == model.PhaseNewStarting {
		// USR2 went out and nginx acted on it: wait until the new master serves, or is gone.
		if in, err = r.AwaitServing(ctx, in); err != nil {
			return h.rollBackAfter(context.WithoutCancel(ctx), r, in, in.Masters[0], err)
		}
	}
	if in.Phase == model.PhaseIdle {
		return h.resumeIdle(ctx, r, in, j)
	}
	old := in.Masters[0]
	h.res.OldPID, h.res.NewPID = old.PID, in.New().PID
	h.res.OldBuild, h.res.NewBuild = runningBuild(old), runningBuild(*in.New())
	if r.quitSent(in) != 0 {
		// The commit is under way: the old master leaves once its children are gone.
		if in, err = r.AwaitCommit(ctx, in, j.Unsure("SIGQUIT", j.Old)); err == nil {
			return h.finish("committed", in, nil)
		}
		return h.finish("failed", in, fmt.Errorf("%v; SIGQUIT reached the old master %d, so there is no going back: "+
			"check `hotdeploy status` until it is gone", err, old.PID))
	}
	gateFrom := time.Now()
	if in.Phase == model.PhaseBothServing {
		in, err = r.Drain(ctx, in, true)
	} else if in.Phase == model.PhaseOldDraining {
		in, err = r.AwaitDrained(ctx, in)
	}
	if err == nil {
		err = h.gate(gateFrom)
	}
	if err == nil && opts.StopAfterDrain {
		return h.finish("drained", in, nil)
	}
	if err == nil {
		if in, err = r.Commit(ctx, in); err == nil {
			return h.finish("committed", in, nil)
		}
	}
	if !IsRefused(err) && r.quitSent(in) != 0 {
		return h.finish("failed", in, fmt.Errorf("%v; SIGQUIT reached the old master %d, so there is no going back: "+
			"check `hotdeploy status` until it is gone", err, old.PID))
	}
	return h.rollBackAfter(context.WithoutCancel(ctx), r, in, old, err)
}

// resumeIdle resumes with one master left: the upgrade committed (the journal's new master
// serves), rolled back or failed (its old master serves alone again), or never started (the
// candidate installed, no SIGUSR2 yet).
func (h *headless) resumeIdle(ctx context.Context, r *Runner, in model.Instance, j *driver.Journal) int {
	m := in.Masters[0]
	switch {
	case j == nil:
		return h.finish("refused", in, fmt.Errorf("no upgrade to resume: master %d serves alone and no journal of an upgrade of %s is in %s",
			m.PID, r.Session.Key(), r.Session.JournalPath()))
	case j.New.Is(m.PID, m.StartTicks):
		r.finishJournal("commit", driver.Committed)
		h.res.OldPID, h.res.NewPID = j.Old.PID, m.PID
		h.res.NewBuild = runningBuild(m)
		return h.finish("committed", in, nil)
	case !j.Old.Is(m.PID, m.StartTicks):
		return h.finish("refused", in, fmt.Errorf("no upgrade to resume: the journal %s names masters that are gone (%s); master %d serves now",
			r.Session.JournalPath(), journalMasters(j), m.PID))
	case j.Outcome == driver.RolledBack || j.Step == "rollback":
		// Rolled back, or a rollback stopped half way: the file may still need restoring.
		if in, err := r.Rollback(context.WithoutCancel(ctx), in); err != nil {
			return h.finish("failed", in, err)
		}
		h.exit = ExitDone
		return h.finish("rolled-back", in, nil)
	case j.SentTo("SIGUSR2", j.Old):
		cause := errors.New("the new master is gone: the upgrade failed while no driver watched")
		if j.New != nil {
			cause = fmt.Errorf("the new master %d is gone: the upgrade failed while no driver watched", j.New.PID)
		}
		if h.opts.NoAutoRollback {
			return h.finish("failed", in, fmt.Errorf("%w; not rolled back (--no-auto-rollback): the old binary file is not restored; "+
				"roll back with `hotdeploy rollback --yes`", cause))
		}
		in, err := r.Rollback(context.WithoutCancel(ctx), in)
		if err != nil {
			return h.finish("failed", in, fmt.Errorf("%v; then the rollback failed: %w", cause, err))
		}
		return h.finish("rolled-back", in, cause)
	}
	return h.resumeInstalled(ctx, r, in, j)
}

// resumeInstalled goes on after an install whose driver died before SIGUSR2, if the file on
// disk is still the one installed.
func (h *headless) resumeInstalled(ctx context.Context, r *Runner, in model.Instance, j *driver.Journal) int {
	onDisk, err := inspect.FileSHA256(in.Binary)
	if err != nil || j.InstalledSHA256 == "" || onDisk != j.InstalledSHA256 {
		return h.finish("refused", in, fmt.Errorf("nothing to resume: the journal %s records no install that %s still holds; "+
			"start afresh with `hotdeploy upgrade --new-binary PATH --yes`", r.Session.JournalPath(), in.Binary))
	}
	if in, err = r.Preflight(ctx, in, ""); err != nil {
		return h.finish("refused", in, err)
	}
	old := in.Masters[0]
	if in, err = h.startAndDrain(ctx, r, in); err == nil {
		if h.opts.StopAfterDrain {
			return h.finish("drained", in, nil)
		}
		if in, err = r.Commit(ctx, in); err == nil {
			return h.finish("committed", in, nil)
		}
		if !IsRefused(err) {
			return h.finish("failed", in, fmt.Errorf("%v; SIGQUIT reached the old master %d, so there is no going back: "+
				"check `hotdeploy status` until it is gone", err, old.PID))
		}
	}
	return h.rollBackAfter(context.WithoutCancel(ctx), r, in, old, err)
}

// gate is the probe's verdict once the old workers are gone: no request failed since from, and
// one that started after the drain succeeded (only the new master can have answered it).
func (h *headless) gate(from time.Time) error {
	if h.opts.Probe == nil {
		return nil
	}
	drained := time.Now()
	err := h.opts.Probe.FailuresSince(from)
	if err == nil {
		err = h.opts.Probe.FailuresSince(drained)
	}
	if err != nil {
		return (&StepError{Step: "probe", Err: err}).because("the new master is not proven to serve: %v", err)
	}
	return nil
}

// fromJournal fills the result with what the journal knows of the upgrade of in.
func (h *headless) fromJournal(j *driver.Journal, in model.Instance) {
	if j == nil {
		return
	}
	h.res.Backup = j.Backup
	if j.InstalledSHA256 != "" {
		h.res.NewBuild = &Build{Path: j.Binary, SHA256: j.InstalledSHA256}
	}
	if j.Old != nil && !j.Old.Is(in.Masters[0].PID, in.Masters[0].StartTicks) {
		return
	}
	h.res.OldBuild = runningBuild(in.Masters[0])
}

// resumeFound says what the resume found: the phase, the masters, and what the journal adds.
func resumeFound(in model.Instance, j *driver.Journal, r *Runner) string {
	msg := fmt.Sprintf("phase %s, masters %s", in.Phase, liveMasters(in))
	if j == nil {
		return msg + "; no journal: going by the process tree alone"
	}
	msg += fmt.Sprintf("; the journal %s (driver pid %d, step %s", r.Session.JournalPath(), j.Driver.PID, j.Step)
	if j.Outcome != "" {
		msg += ", " + j.Outcome
	}
	if j.Backup != "" {
		msg += fmt.Sprintf(", backup %s sha256 %.12s", j.Backup, j.BackupSHA256)
	}
	if j.InstalledSHA256 != "" {
		msg += fmt.Sprintf(", installed sha256 %.12s", j.InstalledSHA256)
	}
	if pid := j.QuitSent(); pid != 0 {
		msg += fmt.Sprintf(", SIGQUIT sent to %d", pid)
	}
	return msg + ")"
}

func liveMasters(in model.Instance) string {
	s := ""
	for i, m := range in.Masters {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%d (%s)", m.PID, m.Generation)
	}
	return s
}

func journalMasters(j *driver.Journal) string {
	s := "none"
	if j.Old != nil {
		s = fmt.Sprintf("old %d", j.Old.PID)
	}
	if j.New != nil {
		s += fmt.Sprintf(", new %d", j.New.PID)
	}
	return s
}
