package upgrade

import (
	"context"
	"errors"
	"syscall"
	"time"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/proc"
)

// Ended names a process the runner ended because its master was gone: the result's `ended`.
type Ended struct {
	PID    int    `json:"pid"`
	Role   string `json:"role"`
	Signal string `json:"signal"` // the signal after which the kernel said it exited
}

// endSteps are the signals that end a process whose master is gone, gentlest first, and how
// long each may take: QUIT lets a worker finish its requests, TERM makes it drop them, KILL
// cannot be ignored (a stopped or hung process honours nothing else).
var endSteps = []struct {
	sig  syscall.Signal
	wait time.Duration
}{{syscall.SIGQUIT, 5 * time.Second}, {syscall.SIGTERM, 2 * time.Second}, {syscall.SIGKILL, 2 * time.Second}}

// endAll ends every process in ps that still runs: QUIT, then TERM, then KILL to those left,
// each identity-checked and recorded, and waits until the kernel says each one exited. It
// returns what it ended; an error when something survived all three.
func (r *Runner) endAll(ctx context.Context, in model.Instance, step string, ps []model.Process) ([]Ended, error) {
	var ended []Ended
	left := make(map[int]*proc.Handle)
	refs := make(map[int]model.Process)
	for _, p := range ps {
		h, err := proc.Open(p.PID, p.StartTicks)
		if err != nil {
			continue // gone already: nothing to end
		}
		left[p.PID], refs[p.PID] = h, p
	}
	defer func() {
		for _, h := range left {
			h.Close()
		}
	}()
	// The audit log names the step the processes were ended in (a failed commit's leftovers
	// are a commit's doing, not a rollback's).
	act := model.ActRollback
	for _, a := range model.Actions {
		if a.String() == step {
			act = a
		}
	}
	for _, st := range endSteps {
		if len(left) == 0 {
			break
		}
		for pid, h := range left {
			p := refs[pid]
			err := r.send(ctx, in, act, p, st.sig)
			if err != nil && !errors.Is(err, proc.ErrGone) && !h.Exited() {
				// The title changed (a worker seen before it titled itself, carried as role
				// unknown, is refused by the identity check): re-read it, and when the pid and
				// start time still name the same process, send the signal now under the title
				// it has, rather than wait this step out for nothing (5 s of QUIT, 2 of TERM).
				if cur, rerr := reread(p); rerr == nil {
					refs[pid] = cur
					_ = r.send(ctx, in, act, cur, st.sig)
				}
			}
		}
		deadline := time.Now().Add(st.wait)
		for len(left) > 0 && time.Now().Before(deadline) {
			for pid, h := range left {
				if h.Exited() {
					p := refs[pid]
					ended = append(ended, Ended{PID: pid, Role: p.Role.String(), Signal: proc.SignalName(st.sig)})
					h.Close()
					delete(left, pid)
				}
			}
			if len(left) > 0 {
				time.Sleep(5 * time.Millisecond)
			}
		}
	}
	for _, e := range ended {
		r.emit(Event{Step: step, Kind: "progress", PID: e.PID, Signal: e.Signal,
			Why: model.Because("%s %d of a dead master ended after %s", e.Role, e.PID, e.Signal)})
	}
	r.ended = append(r.ended, ended...)
	if len(left) > 0 {
		var pids []int
		for pid := range left {
			pids = append(pids, pid)
		}
		return ended, model.Because("processes %v still run after SIGQUIT, SIGTERM and SIGKILL", pids).Err()
	}
	return ended, nil
}

// reread returns p as it is now, if the pid still names the same process.
func reread(p model.Process) (model.Process, error) {
	r := proc.NewReader()
	st, err := r.Stat(p.PID)
	if err != nil || st.StartTicks != p.StartTicks {
		return p, proc.ErrGone
	}
	title, err := r.Title(p.PID)
	if err != nil {
		return p, err
	}
	p.Role, p.ShuttingDown = model.ParseTitle(title)
	p.Comm, p.Title = st.Comm, title
	return p, nil
}

// Ended lists the processes this runner ended because their master was gone, oldest first.
func (r *Runner) Ended() []Ended { return append([]Ended{}, r.ended...) }

// exited says whether the kernel reports p gone; a refresh that fails to classify a process
// says nothing about whether it lives.
func exited(p model.Process) bool { return proc.Exited(p.PID, p.StartTicks) }

// leftoverWait bounds how long endLeftovers waits for the kernel to say a master whose title is
// gone exited.
const leftoverWait = 2 * time.Second

// endLeftovers follows a commit that failed (err) after its SIGQUIT: when no master of in is
// left (the new master died while the old one was leaving), the processes they left behind
// would go on accepting with no master, and hold the ports a fresh start needs. They are ended
// and named (DESIGN.md safety rule 9), and the error says so. With a master still running it
// returns err as it is: that master's children are not leftovers.
func (r *Runner) endLeftovers(ctx context.Context, in model.Instance, step string, err error) error {
	// A refresh finds no master as soon as their titles go, a moment before the kernel says
	// they exited (DESIGN.md safety rule 8): give them that moment.
	for _, m := range in.Masters {
		for deadline := time.Now().Add(leftoverWait); !exited(m.Process); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				return err
			}
		}
	}
	left := r.Scanner.Leftovers(in)
	if len(left) == 0 {
		return err
	}
	ended, eerr := r.endAll(context.WithoutCancel(ctx), in, step, left)
	note := model.Because("the %d processes the dead masters left behind were ended", len(ended))
	if eerr != nil {
		note = model.Because("of the processes the dead masters left behind, %v", eerr)
	}
	var se *StepError
	if errors.As(err, &se) {
		c := *se
		c.Why = model.Because("%s; %s", c.Why.Or(c.Reason), note)
		c.Reason = c.Why.String()
		return &c
	}
	return model.Because("%w; %s", err, note).Err()
}
