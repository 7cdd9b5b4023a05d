// This file is the rollback step, from every phase it can start in (new master starting, both
// serving, old draining or drained, a dead new master's orphans). It runs a few lines over the
// 300-line guide: the phases share one sequence of checks, and split they read worse.

package upgrade

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/audit"
	"github.com/hotdeploy/hotdeploy/nginxctl/driver"
	"github.com/hotdeploy/hotdeploy/nginxctl/inspect"
	"github.com/hotdeploy/hotdeploy/nginxctl/proc"
)

// Rollback returns to the old binary from whatever step was reached: SIGHUP to the old master
// if none of its workers accepts (so it starts them again), then the new master stopped (QUIT,
// TERM, and KILL for one that hangs before it even titled itself), a wait until nginx.pid names
// the old master again, every process a dead master left behind ended, and the old binary file
// restored. With one master left, orphans are ended, the master gets SIGHUP if none of its
// workers accepts, and the file is restored, so a second rollback sends nothing.
func (r *Runner) Rollback(ctx context.Context, in model.Instance) (model.Instance, error) {
	const step = "rollback"
	start := time.Now()
	r.begin(step)
	cur, err := r.Scanner.Refresh(in)
	if err != nil {
		return in, &StepError{Step: step, Refused: true, Reason: err.Error(), Why: model.ReasonOf(err), Err: err}
	}
	in = cur
	r.track(step, in)
	log := followLog(in)
	if in.New() == nil && in.OldbinPID == in.Masters[0].PID {
		if in, err = r.awaitNewMaster(ctx, in, log); err != nil {
			return in, wrapCtx(err, step, log)
		}
	}
	if in.New() == nil {
		if in, err = r.endOrphans(ctx, in); err != nil {
			return in, err
		}
		if in, err = r.restartIfNoneAccepts(ctx, in, log, start); err != nil {
			return in, wrapCtx(err, step, log)
		}
		if in, err = r.RestoreBinary(in); err == nil {
			r.finishJournal(step, driver.RolledBack)
		}
		return in, err
	}
	old, nw := in.Masters[0], *in.New()
	if r.needsHUP(in) {
		if in, err = r.restartOldWorkers(ctx, in, log, start); err != nil {
			return in, wrapCtx(err, step, log)
		}
	}
	if in, err = r.stopNew(ctx, in, nw, log); err != nil {
		return in, wrapCtx(err, step, log)
	}
	in, err = r.await(ctx, in, r.ReadyTimeout, func(cur model.Instance, err error) (bool, error) {
		if err == nil && cur.New() == nil && cur.PidFilePID == 0 && cur.OldbinPID == 0 {
			// nginx renames .oldbin back when the new master exits; with both gone someone
			// removed them meanwhile: write the pid file for the old master again.
			r.rewritePidFile(cur, old.Process, "rollback")
			return false, nil
		}
		return err == nil && cur.New() == nil && cur.PidFilePID == old.PID, nil
	})
	if errors.Is(err, errWaitTimeout) {
		err = (&StepError{Step: step, Log: log.last(20)}).because("%s does not name the old master %d again after %s; look at the error log", in.PidFile, old.PID, r.ReadyTimeout)
	}
	if err != nil {
		return in, wrapCtx(err, step, log)
	}
	r.emit(Event{Step: step, Kind: "progress", PID: old.PID, ElapsedMS: since(start),
		Why: model.Because("new master %d is gone; %s names the old master %d again", nw.PID, in.PidFile, old.PID)})
	if in, err = r.endOrphans(ctx, in); err != nil {
		return in, err
	}
	if in, err = r.RestoreBinary(in); err != nil {
		return in, err
	}
	r.finishJournal(step, driver.RolledBack)
	r.emit(Event{Step: step, Kind: "done", PID: old.PID, Phase: in.Phase.String(), ElapsedMS: since(start),
		Why: model.Because("rolled back: master %d serves the old binary", old.PID)})
	return in, nil
}

// endOrphans ends the processes whose master died (they would go on serving the rejected
// build beside the old one) and refreshes the instance. A refresh carries only the orphans it
// once saw as children, and a worker the new master forked just before it died was never seen:
// so the instance's process group is walked too (InstanceOf), and again after each round, until
// no orphan is left.
func (r *Runner) endOrphans(ctx context.Context, in model.Instance) (model.Instance, error) {
	for range orphanRounds {
		orphans := r.orphansOf(in)
		if len(orphans) == 0 {
			return in, nil
		}
		if _, err := r.endAll(ctx, in, "rollback", orphans); err != nil {
			return in, (&StepError{Step: "rollback", Err: err}).because("%v: they belong to a dead master; look at them before anything else", err)
		}
		if cur, err := r.Scanner.Refresh(in); err == nil {
			in = cur
		}
	}
	return in, nil
}

// orphanRounds bounds endOrphans: each round ends what the last walk found.
const orphanRounds = 3

// orphansOf returns in's orphans and those a walk of its process group finds besides.
func (r *Runner) orphansOf(in model.Instance) []model.Process {
	all := append([]model.Process(nil), in.Orphans...)
	full, err := r.Scanner.InstanceOf(in.Masters[0].PID)
	if err != nil {
		return all
	}
	seen := map[int]bool{}
	for _, o := range all {
		seen[o.PID] = true
	}
	for _, o := range full.Orphans {
		if !seen[o.PID] {
			all = append(all, o)
		}
	}
	return all
}

// awaitNewMaster waits, after SIGUSR2 renamed nginx.pid to .oldbin, until the new master shows
// up (then it must be stopped) or nginx renames the pid file back (it did not start). Restoring
// the binary before that would let nginx exec whatever is on disk a moment later.
func (r *Runner) awaitNewMaster(ctx context.Context, in model.Instance, log *logSince) (model.Instance, error) {
	old := in.Masters[0].PID
	r.emit(Event{Step: "rollback", Kind: "progress", PID: old,
		Why: model.Because("%s.oldbin names the old master %d: waiting for the new master it starts", in.PidFile, old)})
	in, err := r.await(ctx, in, r.ReadyTimeout, func(cur model.Instance, err error) (bool, error) {
		log.read()
		if err != nil || cur.Masters[0].PID != old {
			return false, (&StepError{Step: "rollback", Log: log.last(20)}).because("the old master %d is gone", old)
		}
		return cur.New() != nil || cur.OldbinPID != old && cur.PidFilePID == old, nil
	})
	if errors.Is(err, errWaitTimeout) {
		err = (&StepError{Step: "rollback", Log: log.last(20)}).because("%s.oldbin names the old master %d but no new master appeared within %s; look at the error log", in.PidFile, old, r.ReadyTimeout)
	}
	return in, err
}

// needsHUP applies model.NeedsHUP to two refreshes in a row: /proc/PID/task/PID/children can
// skip a live child while a sibling exits, and a SIGHUP to an old master whose workers still
// accept would start a second set of them.
func (r *Runner) needsHUP(in model.Instance) bool {
	if !model.NeedsHUP(in.Masters[0]) {
		return false
	}
	again, err := r.Scanner.Refresh(in)
	return err == nil && again.Masters[0].PID == in.Masters[0].PID && model.NeedsHUP(again.Masters[0])
}

// restartOldWorkers sends SIGHUP to an old master none of whose workers accepts, and waits
// until one does. Only called when model.NeedsHUP says so: a HUP to an old master that still
// has accepting workers would start a second set beside them.
func (r *Runner) restartOldWorkers(ctx context.Context, in model.Instance, log *logSince, start time.Time) (model.Instance, error) {
	old, left := in.Masters[0], model.Because("nothing else serves")
	if nw := in.New(); nw != nil {
		left = model.Because("the new master %d was left serving", nw.PID)
	}
	if err := r.send(ctx, in, model.ActRollback, old.Process, syscall.SIGHUP); err != nil {
		return in, err
	}
	in, err := r.await(ctx, in, r.ReadyTimeout, func(cur model.Instance, err error) (bool, error) {
		log.read()
		if err != nil || cur.Masters[0].PID != old.PID {
			return false, (&StepError{Step: "rollback", Log: log.last(20)}).because("the old master %d is gone", old.PID)
		}
		return cur.Masters[0].ActiveWorkers() > 0, nil
	})
	if errors.Is(err, errWaitTimeout) {
		err = (&StepError{Step: "rollback", Log: log.last(20)}).because("the old master %d started no workers %s after SIGHUP; %s", old.PID, r.ReadyTimeout, left)
	}
	if err != nil {
		return in, err
	}
	r.emit(Event{Step: "rollback", Kind: "progress", PID: old.PID, ElapsedMS: since(start),
		Why: model.Because("old master %d runs %d workers again", old.PID, in.Masters[0].ActiveWorkers())})
	return in, nil
}

// restartIfNoneAccepts sends SIGHUP to a lone master none of whose workers accepts, so that it
// starts them again. It happens when the new master dies just before the old one honours
// SIGWINCH: nginx restarts the old workers by itself only when the new binary exits after WINCH.
// nginx does that in the loop that reaps the new master, so it gets a moment first: a SIGHUP on
// top of its own restart would start a second set of workers.
func (r *Runner) restartIfNoneAccepts(ctx context.Context, in model.Instance, log *logSince, start time.Time) (model.Instance, error) {
	if !r.needsHUP(in) {
		return in, nil
	}
	in, err := r.await(ctx, in, selfRestartWait, func(cur model.Instance, err error) (bool, error) {
		return err == nil && cur.Masters[0].ActiveWorkers() > 0, nil
	})
	if !errors.Is(err, errWaitTimeout) || !r.needsHUP(in) {
		return in, err
	}
	return r.restartOldWorkers(ctx, in, log, start)
}

// selfRestartWait bounds how long a rollback waits for nginx to restart the old workers itself.
const selfRestartWait = 500 * time.Millisecond

// stopNew asks the new master to quit, terminates it if it lingers, and kills it if it still
// runs: a new binary that hangs, or was stopped, before it even titled itself honours nothing
// else, and the old master cannot serve alone while it lives. A new master that exited by
// itself meanwhile is what was wanted. Each signal goes to the process as a fresh refresh sees
// it (it may title itself meanwhile), identity-checked.
func (r *Runner) stopNew(ctx context.Context, in model.Instance, nw model.Master, log *logSince) (model.Instance, error) {
	gone := func(cur model.Instance, err error) (bool, error) {
		log.read()
		if err != nil {
			return false, (&StepError{Step: "rollback", Log: log.last(20), Err: err}).because("no master of the instance is left")
		}
		return exited(nw.Process), nil
	}
	for _, sig := range []syscall.Signal{syscall.SIGQUIT, syscall.SIGTERM, syscall.SIGKILL} {
		i := r.noteSending(model.ActRollback, nw.Process, proc.SignalName(sig))
		target := nw.Process
		if cur, err := r.Scanner.Refresh(in); err == nil {
			in = cur
			if n := in.New(); n != nil && n.PID == nw.PID && n.StartTicks == nw.StartTicks {
				target = n.Process
			}
		}
		if exited(nw.Process) {
			r.noteSent(model.ActRollback, i, "not-sent", "it exited")
			return in, nil
		}
		if err := r.sendNoted(ctx, in, model.ActRollback, target, sig, i); err != nil {
			if errors.Is(err, proc.ErrGone) || exited(nw.Process) {
				return in, nil
			}
			return in, err
		}
		wait := r.StopTimeout
		if target.Role != model.RoleMaster && sig != syscall.SIGKILL {
			wait = min(wait, 2*time.Second) // not titled yet: it may not even handle the signal
		}
		var err error
		if in, err = r.await(ctx, in, wait, gone); !errors.Is(err, errWaitTimeout) {
			return in, err
		}
	}
	return in, (&StepError{Step: "rollback", Log: log.last(20)}).because("the new master %d is still running after SIGQUIT, SIGTERM and SIGKILL; look at what it does before anything else", nw.PID)
}

// RestoreBinary puts the binary the (old) master runs back on disk if another file is there.
func (r *Runner) RestoreBinary(in model.Instance) (model.Instance, error) {
	m := in.Masters[0]
	if same, err := inspect.BinaryIsRunning(m.PID, in.Binary); err == nil && same {
		return in, nil
	}
	from, sum, note, err := r.restoreSource(m)
	restored := false
	var kept string
	if err == nil {
		restored, kept, err = restoreBinary(m.PID, in.Binary, from, sum)
	}
	if !restored && err == nil {
		return in, nil
	}
	if note.Code != "" {
		r.emit(Event{Step: "rollback", Kind: "warning", PID: m.PID, Why: note})
	}
	entry := audit.Entry{Instance: in.Key(), Action: "restore", PID: m.PID, StartTicks: m.StartTicks, Result: "restored"}
	if err != nil {
		entry.Result, entry.Error = "failed", err.Error()
	}
	if aerr := r.Audit.Record(entry); aerr != nil {
		r.emit(Event{Step: "rollback", Kind: "warning", Why: model.Because("restore not recorded: %v", aerr)})
	}
	if err != nil {
		return in, (&StepError{Step: "rollback", Err: err}).because("%v; the old master %d still runs, copy /proc/%d/exe to %s by hand", err, m.PID, m.PID, in.Binary)
	}
	r.rejected = kept
	r.emit(Event{Step: "rollback", Kind: "progress", PID: m.PID,
		Why: restoredMessage(in.Binary, from, m.PID, kept)})
	if cur, err := r.Scanner.Refresh(in); err == nil {
		in = cur
	}
	return in, nil
}

func restoredMessage(binary, from string, pid int, kept string) model.Reason {
	fromRunning := from == fmt.Sprintf("/proc/%d/exe", pid)
	switch {
	case fromRunning && kept == "":
		return model.Because("%s restored from the binary master %d runs", binary, pid)
	case fromRunning:
		return model.Because("%s restored from the binary master %d runs; the file it replaced is kept as %s", binary, pid, kept)
	case kept == "":
		return model.Because("%s restored from the backup %s, the build master %d runs", binary, from, pid)
	}
	return model.Because("%s restored from the backup %s, the build master %d runs; the file it replaced is kept as %s",
		binary, from, pid, kept)
}
