package upgrade

import (
	"fmt"
	"io"
	"os"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/audit"
	"github.com/hotdeploy/hotdeploy/nginxctl/driver"
	"github.com/hotdeploy/hotdeploy/nginxctl/inspect"
)

// The runner's side of the driver lock and journal (nginxctl/driver): every step names itself
// in the lock file, and what a successor could not see in the process tree goes to the journal
// as it happens. Without a Session (benchmarks, older callers) these do nothing. A journal
// that cannot be written is a warning, not a stop: the lock still keeps other drivers away,
// and the step under way is safer finished than abandoned.

// begin names the step the runner starts in the lock file and the journal.
func (r *Runner) begin(step string) {
	if r.Session == nil {
		return
	}
	if err := r.Session.SetStep(step); err != nil {
		r.warnJournal(step, err)
	}
}

// track begins the journal of the upgrade of in's old master, or goes on with the one under
// way for it, and records the build that master runs and the new master if there is one.
func (r *Runner) track(step string, in model.Instance, more ...func(j *driver.Journal)) {
	if r.Session == nil || len(in.Masters) == 0 {
		return
	}
	m := in.Masters[0]
	err := r.Session.Track(masterRef(m.Process), in.PidFile, in.Binary, func(j *driver.Journal) {
		j.Step = step
		if nw := in.New(); nw != nil {
			// Also when a driver died before it saw the new master serve: the commit must
			// name the master that stays.
			ref := masterRef(nw.Process)
			j.New = &ref
		}
		if j.OldSHA256 == "" {
			j.OldSHA256, _ = inspect.FileSHA256(fmt.Sprintf("/proc/%d/exe", m.PID))
		}
		for _, fn := range more {
			fn(j)
		}
	})
	if err != nil {
		r.warnJournal(step, err)
	}
}

func masterRef(p model.Process) driver.Master {
	return driver.Master{PID: p.PID, StartTicks: p.StartTicks}
}

// noteSending records a signal before it goes out; noteSent, its result.
func (r *Runner) noteSending(a model.Action, p model.Process, name string) int {
	if r.Session == nil {
		return -1
	}
	i, err := r.Session.Sending(driver.Signal{Step: a.String(), Signal: name, PID: p.PID,
		StartTicks: p.StartTicks, Role: p.Role.String()})
	if err != nil {
		r.warnJournal(a.String(), err)
	}
	return i
}

func (r *Runner) noteSent(a model.Action, i int, result, errText string) {
	if r.Session == nil {
		return
	}
	if err := r.Session.Sent(i, result, errText); err != nil {
		r.warnJournal(a.String(), err)
	}
}

// installed records the backup and the candidate an install puts in place (see track).
func installed(candidate string, got audit.Install) func(j *driver.Journal) {
	return func(j *driver.Journal) {
		j.Backup, j.BackupSHA256 = got.Backup, got.BackupSHA256
		j.Candidate, j.InstalledSHA256 = candidate, got.NewSHA256
	}
}

// noteNew records the new master once it serves.
func (r *Runner) noteNew(nw model.Master) {
	r.update("upgrade", func(j *driver.Journal) {
		ref := masterRef(nw.Process)
		j.New = &ref
	})
}

// finishJournal marks the upgrade ended.
func (r *Runner) finishJournal(step, outcome string) {
	if r.Session == nil {
		return
	}
	if err := r.Session.Finish(outcome); err != nil {
		r.warnJournal(step, err)
	}
}

func (r *Runner) update(step string, fn func(j *driver.Journal)) {
	if r.Session == nil {
		return
	}
	if err := r.Session.Update(fn); err != nil {
		r.warnJournal(step, err)
	}
}

func (r *Runner) warnJournal(step string, err error) {
	r.emit(Event{Step: step, Kind: "warning", Why: model.Because("the upgrade journal was not written: %v", err)})
}

// journal is the journal of the session, nil without one.
func (r *Runner) journal() *driver.Journal {
	if r.Session == nil {
		return nil
	}
	return r.Session.Journal()
}

// quitSent is the old master of in that the journal says got SIGQUIT, 0 if none did.
func (r *Runner) quitSent(in model.Instance) int {
	j := r.journal()
	if j == nil || len(in.Masters) == 0 || !j.Old.Is(in.Masters[0].PID, in.Masters[0].StartTicks) {
		return 0
	}
	return j.QuitSent()
}

// quitUnsure tells whether the journal's last word on the SIGQUIT to in's old master is
// "sending": it may or may not have gone out.
func (r *Runner) quitUnsure(in model.Instance) bool {
	j := r.journal()
	return j != nil && len(in.Masters) > 0 && j.Old.Is(in.Masters[0].PID, in.Masters[0].StartTicks) && j.Unsure("SIGQUIT", j.Old)
}

// restoreSource is the file a restore copies the old build from: the journal's backup when it
// still holds the very bytes master m runs, else the running binary itself through
// /proc/PID/exe (readable as long as m lives). A backup that is gone or holds another build is
// never used; note says so (the zero Reason when there is nothing to say).
func (r *Runner) restoreSource(m model.Master) (from, sum string, note model.Reason, err error) {
	running := fmt.Sprintf("/proc/%d/exe", m.PID)
	sum, err = inspect.FileSHA256(running)
	if err != nil {
		return "", "", note, model.Because("read the binary of master %d: %w", m.PID, err).Err()
	}
	j := r.journal()
	if j == nil || j.Backup == "" || !j.Old.Is(m.PID, m.StartTicks) {
		return running, sum, note, nil
	}
	have, berr := inspect.FileSHA256(j.Backup)
	switch {
	case berr != nil:
		note = model.Because("the journal's backup %s cannot be read (%v): restored from %s instead", j.Backup, berr, running)
	case have != sum:
		note = model.Because("the journal's backup %s holds another build (sha256 %.12s, master %d runs %.12s): restored from %s instead",
			j.Backup, have, m.PID, sum, running)
	default:
		return j.Backup, sum, note, nil
	}
	return running, sum, note, nil
}

// drive takes the instance's driver lock for command and looks at the instance again: another
// driver may have changed it between the first look and the lock.
func (h *headless) drive(r *Runner, in model.Instance, command string) (model.Instance, error) {
	s, err := driver.Begin(h.opts.Dirs, in.PidFile, command)
	if err != nil {
		return in, err
	}
	h.session, r.Session = s, s
	cur, err := r.Scanner.Refresh(in)
	if err != nil {
		return in, fmt.Errorf("%s: %w", in.Key(), err)
	}
	return cur, nil
}

// end lets the driver lock go; the journal stays.
func (h *headless) end() {
	if err := h.session.End(); err != nil {
		fmt.Fprintf(h.stderr(), "hotdeploy: release the driver lock: %v\n", err)
	}
}

func (h *headless) stderr() io.Writer {
	if h.opts.Stderr != nil {
		return h.opts.Stderr
	}
	return os.Stderr
}
