package upgrade

import (
	"context"
	"syscall"
	"time"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/driver"
	"github.com/hotdeploy/hotdeploy/nginxctl/proc"
)

// Commit sends QUIT to the old master and waits until nginx.pid.oldbin is removed and the
// kernel says the old master exited.
func (r *Runner) Commit(ctx context.Context, in model.Instance) (model.Instance, error) {
	const step = "commit"
	start := time.Now()
	r.begin(step)
	in, err := r.fresh(in, model.ActCommit)
	if err != nil {
		return in, err
	}
	if r.afterCommitCheck != nil {
		r.afterCommitCheck(in)
	}
	r.track(step, in)
	old, nw := in.Masters[0], *in.New()
	log := followLog(in)
	// The journal's records cost fsyncs, and the new master may die meanwhile: a SIGQUIT then
	// would leave no master serving (NGINX-FACTS 8). Look again, by the kernel's word, after the
	// record and just before the signal.
	i := r.noteSending(model.ActCommit, old.Process, proc.SignalName(syscall.SIGQUIT))
	if cur, err := r.fresh(in, model.ActCommit); err != nil || cur.New() == nil || cur.New().PID != nw.PID || exited(nw.Process) {
		se := (&StepError{Step: step, Refused: true, Log: log.last(20), Err: err}).
			because("the new master %d is gone: the old master %d serves and was not sent SIGQUIT", nw.PID, old.PID)
		r.noteSent(model.ActCommit, i, "not-sent", se.Reason)
		if cur.Masters == nil {
			cur = in
		}
		return cur, se
	}
	if err := r.sendNoted(ctx, in, model.ActCommit, old.Process, syscall.SIGQUIT, i); err != nil {
		return in, err
	}
	if in, err = r.awaitOldGone(ctx, in, old, nw, log); err != nil {
		return in, r.endLeftovers(ctx, in, step, err)
	}
	if in.PidFilePID != nw.PID {
		in = r.rewritePidFile(in, nw.Process, step)
	}
	r.finishJournal(step, driver.Committed)
	r.emit(Event{Step: step, Kind: "done", PID: nw.PID, Phase: in.Phase.String(), ElapsedMS: since(start),
		Why: model.Because("old master %d is gone; master %d serves the new binary", old.PID, nw.PID)})
	return in, nil
}
