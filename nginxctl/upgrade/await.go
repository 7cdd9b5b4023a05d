package upgrade

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hotdeploy/hotdeploy/model"
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
		Message: fmt.Sprintf("new master %d serves with %d workers beside the old master %d", nw.PID, nw.ActiveWorkers(), old.PID)})
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
		return in, &StepError{Step: step, Refused: true, Reason: "no new master: nothing is draining"}
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
		Message: fmt.Sprintf("old master %d has no workers left; the new master %d serves alone", old.PID, nw.PID)})
	return in, nil
}
