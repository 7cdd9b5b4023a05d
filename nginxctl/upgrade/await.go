package upgrade

import (
	"context"
	"errors"
	"syscall"
	"time"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/driver"
	"github.com/hotdeploy/hotdeploy/nginxctl/proc"
)

// AwaitServing waits, after a SIGUSR2 another driver sent, until the new master serves with
// its workers; it fails as Start does when the new master exits or nginx renames the pid file
// back. Nothing is sent.
func (r *Runner) AwaitServing(ctx context.Context, in model.Instance) (model.Instance, error) {
	const step = "upgrade"
	start := time.Now()
	r.begin(step)
	old := in.Masters[0]
	w := &startWatch{ctx: ctx, old: old.PID, want: newWorkers(in), log: followLog(in), sawOldbin: in.OldbinPID == old.PID}
	if nw := in.New(); nw != nil {
		w.newPID, w.newMaster = nw.PID, nw.Process
	}
	in, err := r.await(ctx, in, r.ReadyTimeout, w.check)
	if errors.Is(err, errWaitTimeout) {
		err = w.fail("the new master did not serve within %s (phase %s)", r.ReadyTimeout, in.Phase)
	}
	if err != nil {
		return in, wrapCtx(err, step, w.log)
	}
	nw := in.New()
	r.noteNew(*nw)
	r.emit(Event{Step: step, Kind: "done", PID: nw.PID, Phase: in.Phase.String(), ElapsedMS: since(start),
		Why: model.Because("new master %d serves with %d workers beside the old master %d", nw.PID, nw.ActiveWorkers(), old.PID)})
	return in, nil
}

// AwaitDrained waits, after a SIGWINCH another driver sent, until the old master has no
// children left; the new master must stay up meanwhile. Nothing is sent.
func (r *Runner) AwaitDrained(ctx context.Context, in model.Instance) (model.Instance, error) {
	const step = "drain"
	start := time.Now()
	r.begin(step)
	old, nw := in.Masters[0], in.New()
	if nw == nil {
		return in, (&StepError{Step: step, Refused: true}).because("no new master: nothing is draining")
	}
	w := &drainWatch{r: r, old: old.PID, nw: nw.Process, log: followLog(in), start: start}
	in, err := r.await(ctx, in, r.DrainTimeout, w.check(true))
	if errors.Is(err, errWaitTimeout) {
		err = w.fail("%d old processes still drain after %s: long-lived connections hold them (%s)",
			len(in.Masters[0].Children), r.DrainTimeout, drainState(in.Masters[0], time.Now()))
	}
	if err != nil {
		return in, wrapCtx(err, step, w.log)
	}
	r.emit(Event{Step: step, Kind: "done", Phase: in.Phase.String(), ElapsedMS: since(start),
		Why: model.Because("old master %d has no workers left; the new master %d serves alone", old.PID, nw.PID)})
	return in, nil
}

// awaitOldGone waits, after SIGQUIT to the old master, until it is gone and nginx.pid.oldbin
// removed, the new master serving alone.
func (r *Runner) awaitOldGone(ctx context.Context, in model.Instance, old, nw model.Master, log *logSince) (model.Instance, error) {
	const step = "commit"
	fail := func(format string, args ...any) error {
		return (&StepError{Step: step, Log: log.last(20)}).because(format, args...)
	}
	in, err := r.await(ctx, in, r.DrainTimeout+r.StopTimeout, func(cur model.Instance, err error) (bool, error) {
		log.read()
		if err != nil {
			return false, fail("no master of the instance is left: %v", err)
		}
		if cur.Masters[0].PID != nw.PID && cur.Masters[0].PID != old.PID {
			return false, fail("unexpected master %d", cur.Masters[0].PID)
		}
		// The old master removes nginx.pid.oldbin on its way out, a moment before the kernel
		// says it exited: gone means the kernel's word (DESIGN.md safety rule 8).
		return cur.Masters[0].PID == nw.PID && cur.OldbinPID == 0 && exited(old.Process), nil
	})
	if errors.Is(err, errWaitTimeout) {
		err = fail("the old master %d is still there %s after SIGQUIT; it exits once its children are gone",
			old.PID, r.DrainTimeout+r.StopTimeout)
	}
	if err != nil {
		return in, wrapCtx(err, step, log)
	}
	return in, nil
}

// AwaitCommit finishes a commit another driver began: the journal says SIGQUIT went to the old
// master. It sends SIGQUIT again only if that driver died while sending it (the journal says
// "sending", so it may never have gone out; a second one to a master already quitting is
// harmless), then waits until the old master is gone.
func (r *Runner) AwaitCommit(ctx context.Context, in model.Instance, resend bool) (model.Instance, error) {
	const step = "commit"
	start := time.Now()
	r.begin(step)
	old, nw := in.Masters[0], in.New()
	if nw == nil {
		return in, (&StepError{Step: step, Refused: true}).because("no new master: nothing to commit to")
	}
	r.track(step, in)
	log := followLog(in)
	if resend {
		err := r.send(ctx, in, model.ActCommit, old.Process, syscall.SIGQUIT)
		if err != nil && !errors.Is(err, proc.ErrGone) && !exited(old.Process) {
			return in, err
		}
	}
	in, err := r.awaitOldGone(ctx, in, old, *nw, log)
	if err != nil {
		return in, r.endLeftovers(ctx, in, step, err)
	}
	r.finishJournal(step, driver.Committed)
	r.emit(Event{Step: step, Kind: "done", PID: nw.PID, Phase: in.Phase.String(), ElapsedMS: since(start),
		Why: model.Because("old master %d is gone; master %d serves the new binary", old.PID, nw.PID)})
	return in, nil
}
