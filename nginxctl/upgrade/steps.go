package upgrade

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/inspect"
)

// Start sends USR2 to the master and waits until the new master serves: it wrote the pid file
// and runs its workers. It fails when nginx ignores the signal, when the new master exits, or
// when the pid file is renamed back, quoting the error log since the signal.
func (r *Runner) Start(ctx context.Context, in model.Instance) (model.Instance, error) {
	const step = "upgrade"
	start := time.Now()
	r.begin(step)
	in, err := r.fresh(in, model.ActUpgrade)
	if err != nil {
		return in, err
	}
	old := in.Masters[0]
	if lines, err := configTest(ctx, old, in.Binary); err != nil {
		return in, &StepError{Step: step, Refused: true, Reason: err.Error(), Why: model.ReasonOf(err), Log: lines, Err: err}
	}
	w := &startWatch{r: r, ctx: ctx, old: old.PID, want: newWorkers(in), log: followLog(in)}
	r.track(step, in)
	if err := r.send(ctx, in, model.ActUpgrade, old.Process, syscall.SIGUSR2); err != nil {
		return in, err
	}
	// Not ctx: an interruption is honoured only once nginx has acted on SIGUSR2 (see check).
	in, err = r.await(context.WithoutCancel(ctx), in, r.ReadyTimeout, w.check)
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

// startWatch follows the instance after USR2.
type startWatch struct {
	r         *Runner
	ctx       context.Context
	old, want int
	log       *logSince
	newMaster model.Process // the new master once seen: pid and start time
	newPID    int
	sawOldbin bool
}

// check is the wait condition: the new master wrote the pid file and runs want workers. An
// interruption ends the wait only once nginx has acted on the signal (renamed the pid file to
// .oldbin, or started the new master): before that a rollback could not see that an upgrade
// is under way, restore the binary, and report success while nginx goes on to exec it.
func (w *startWatch) check(cur model.Instance, err error) (bool, error) {
	if err := w.ctx.Err(); err != nil && (w.sawOldbin || w.newPID != 0) {
		return false, err
	}
	for _, line := range w.log.read() {
		if startFailed(line) {
			return false, w.fail("the new binary did not start: %s", nginxSays(w.log.lines, line))
		}
	}
	if err != nil || cur.Masters[0].PID != w.old {
		return false, w.fail("the old master %d is gone", w.old)
	}
	w.sawOldbin = w.sawOldbin || cur.OldbinPID == w.old
	switch nw := cur.New(); {
	case nw != nil && (w.newPID == 0 || nw.PID == w.newPID):
		w.newPID, w.newMaster = nw.PID, nw.Process
	case w.newPID != 0 && exited(w.newMaster):
		// Only the kernel says a process exited: a refresh can fail to classify a live one.
		// The old master logs why once it reaped the child: give it a moment to.
		var why any = w.log.awaitReason(w.newPID)
		if why == "" {
			why = w.noReason()
		}
		return false, w.fail("the new master %d exited: %s", w.newPID, nginxSays(w.log.last(20), why))
	case w.sawOldbin && cur.OldbinPID == 0 && cur.PidFilePID == w.old:
		return false, w.fail("nginx renamed the pid file back, the new binary did not start: %s",
			nginxSays(w.log.last(20), w.noReason()))
	}
	if nw := cur.New(); nw != nil && nw.Role == model.RoleMaster && nw.ActiveWorkers() >= w.want &&
		cur.PidFilePID == 0 && cur.OldbinPID == w.old {
		// nginx writes the pid file before it starts workers: a serving new master with no pid
		// file lost it to someone else (a clean-up script, a mistaken rm). Put it back.
		w.r.rewritePidFile(cur, nw.Process, "upgrade")
		return false, nil
	}
	return cur.Phase == model.PhaseBothServing && cur.New().ActiveWorkers() >= w.want, nil
}

// noReason says that the error log gave no reason, and why that may be: at the level "error"
// (Debian's default) nginx writes none of the notices that would say what happened.
func (w *startWatch) noReason() model.Reason {
	return w.log.noReason()
}

func (w *startWatch) fail(format string, args ...any) error {
	return (&StepError{Step: "upgrade", Log: w.log.last(20)}).because(format, args...)
}

// newWorkers is how many workers the new master must run before it counts as serving: as many
// as the old master runs, or fewer if the config on disk (which the new master loads) now says
// fewer. Never more, so a changed config cannot make the wait time out.
func newWorkers(in model.Instance) int {
	n := max(in.Masters[0].ActiveWorkers(), 1)
	a := inspect.ParseMasterArgs(in.Masters[0].Argv)
	if v, err := strconv.Atoi(inspect.MainDirective(in.Conf, a.Directives, "worker_processes")); err == nil && v > 0 {
		n = min(n, v)
	}
	return n
}

// nginxSays picks the line that best explains a failure: the most severe error-log line, else
// fallback.
func nginxSays(lines []string, fallback any) any {
	best, sev := fallback, inspect.SevWarn
	for _, l := range lines {
		if s := inspect.LineSeverity(l); s > sev {
			best, sev = l, s
		}
	}
	return best
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
// untilGone, until its children are all gone. The new master must stay up meanwhile. Progress
// events name each draining worker and how long it has drained.
func (r *Runner) Drain(ctx context.Context, in model.Instance, untilGone bool) (model.Instance, error) {
	const step = "drain"
	start := time.Now()
	r.begin(step)
	in, err := r.fresh(in, model.ActDrain)
	if err != nil {
		return in, err
	}
	r.track(step, in)
	old, nw := in.Masters[0], *in.New()
	log := followLog(in)
	if err := r.send(ctx, in, model.ActDrain, old.Process, syscall.SIGWINCH); err != nil {
		return in, err
	}
	w := &drainWatch{r: r, old: old.PID, nw: nw.Process, log: log, start: start}
	// An interruption waits for WINCH's effect (a few ms): a rollback that judged the old
	// workers before nginx acted on the signal would skip the SIGHUP they then need.
	in, err = r.await(context.WithoutCancel(ctx), in, r.ReadyTimeout, w.check(false))
	if errors.Is(err, errWaitTimeout) {
		err = w.fail("the old workers still accept %s after SIGWINCH: nginx ignored it", r.ReadyTimeout)
	}
	if err == nil && untilGone {
		in, err = r.await(ctx, in, r.DrainTimeout, w.check(true))
		if errors.Is(err, errWaitTimeout) {
			err = w.fail("%d old processes still drain after %s: long-lived connections hold them (%s)",
				len(in.Masters[0].Children), r.DrainTimeout, drainState(in.Masters[0], time.Now()))
		}
	}
	if err != nil {
		return in, wrapCtx(err, step, log)
	}
	r.emit(Event{Step: step, Kind: "done", Phase: in.Phase.String(), ElapsedMS: since(start),
		Why: model.Because("old master %d stopped accepting; the new master %d serves alone", old.PID, nw.PID)})
	return in, nil
}

// drainWatch follows the old master's children after WINCH.
type drainWatch struct {
	r        *Runner
	old      int
	nw       model.Process
	log      *logSince
	start    time.Time
	lastMsg  string
	lastSent time.Time
}

func (w *drainWatch) fail(format string, args ...any) error {
	return (&StepError{Step: "drain", Log: w.log.last(20)}).because(format, args...)
}

// check is the wait condition: no old worker accepts, or (all) no old child is left.
func (w *drainWatch) check(all bool) func(model.Instance, error) (bool, error) {
	return func(cur model.Instance, err error) (bool, error) {
		w.log.read()
		if err != nil || cur.Masters[0].PID != w.old {
			return false, w.fail("the old master %d is gone", w.old)
		}
		if n := cur.New(); (n == nil || n.PID != w.nw.PID) && exited(w.nw) {
			return false, w.fail("the new master %d exited while the old workers drained; roll back to restart the old workers", w.nw.PID)
		}
		o := cur.Masters[0]
		w.progress(cur)
		if all {
			return len(o.Children) == 0, nil
		}
		return o.ActiveWorkers() == 0, nil
	}
}

// progress emits the drain state when it changed, and once a second while workers drain.
func (w *drainWatch) progress(cur model.Instance) {
	now := time.Now()
	o := cur.Masters[0]
	key := fmt.Sprintf("%d/%d", len(o.Children), o.ActiveWorkers())
	if key == w.lastMsg && (len(o.Children) == 0 || now.Sub(w.lastSent) < time.Second) {
		return
	}
	w.lastMsg, w.lastSent = key, now
	w.r.emit(Event{Step: "drain", Kind: "progress", PID: o.PID, Phase: cur.Phase.String(), ElapsedMS: since(w.start),
		Why: drainState(o, now)})
}

// drainState says what is left of the old master's children: each draining worker with how long
// it has drained (a long-lived connection holds it), and how many still accept.
func drainState(o model.Master, now time.Time) model.Reason {
	var draining model.Reasons
	for _, c := range o.Children {
		if c.ShuttingDown {
			draining = append(draining, model.Because("%s %d for %s", c.Role, c.PID, now.Sub(c.DrainingSince).Round(100*time.Millisecond)))
		}
	}
	if len(draining) > 0 {
		return model.Because("old master %d: %d children left, %d still accepting; draining: %s",
			o.PID, len(o.Children), o.ActiveWorkers(), draining)
	}
	return model.Because("old master %d: %d children left, %d still accepting", o.PID, len(o.Children), o.ActiveWorkers())
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
		return (&StepError{Step: step, Log: log.last(20), Err: err}).because("interrupted while waiting")
	}
	return err
}
