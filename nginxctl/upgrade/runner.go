package upgrade

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"time"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/audit"
	"github.com/hotdeploy/hotdeploy/nginxctl/driver"
	"github.com/hotdeploy/hotdeploy/nginxctl/inspect"
	"github.com/hotdeploy/hotdeploy/nginxctl/proc"
)

// Event is one thing a step did or saw. Headless --json prints one per line.
type Event struct {
	Time      time.Time `json:"time"`
	Step      string    `json:"step"`
	Kind      string    `json:"event"` // start, signal, progress, warning, done, failed, refused
	Message   string    `json:"message"`
	Signal    string    `json:"signal,omitempty"`
	PID       int       `json:"pid,omitempty"`
	Phase     string    `json:"phase,omitempty"`
	Log       []string  `json:"log,omitempty"`
	ElapsedMS int64     `json:"elapsed_ms,omitempty"`
	// Why is Message as a code and its arguments, for the dashboard's language; emit fills
	// Message from it when Message is empty.
	Why model.Reason `json:"-"`
}

// StepError is a step that did not reach its effect. A refused step changed nothing.
type StepError struct {
	Step    string
	Refused bool
	Reason  string
	// Why is Reason as a code and its arguments, for the dashboard's language (zero when the
	// reason came from elsewhere as plain text: the dashboard shows Reason then).
	Why model.Reason `json:"-"`
	// Log holds the error-log lines written since the step's signal.
	Log []string
	// Err is the underlying cause, if any (an proc.IdentityError, proc.ErrGone, ...).
	Err error
}

func (e *StepError) Error() string {
	if e.Refused {
		return fmt.Sprintf("%s refused: %s", e.Step, e.Reason)
	}
	return fmt.Sprintf("%s failed: %s", e.Step, e.Reason)
}

// because sets the reason of a step error, in English and as a code (its format must be a
// literal: the catalogue test collects it).
func (e *StepError) because(format string, args ...any) *StepError {
	e.Why = model.Because(format, args...)
	e.Reason = e.Why.String()
	return e
}

// Unwrap lets errors.Is and errors.As see the cause.
func (e *StepError) Unwrap() error { return e.Err }

// IsRefused tells whether err is a refusal, after which nothing changed.
func IsRefused(err error) bool {
	var se *StepError
	return errors.As(err, &se) && se.Refused
}

// Runner performs the upgrade steps on one instance; the dashboard and the headless commands
// share it. Each step checks its precondition on a fresh refresh, acts once, then polls the
// live process tree until its effect or a failure is seen, or a timeout passes: never a fixed
// sleep.
type Runner struct {
	Scanner *inspect.Scanner
	Audit   *audit.Log
	// Events receives progress; nil drops it.
	Events       func(Event)
	Poll         time.Duration // how often a wait re-reads the instance
	ReadyTimeout time.Duration // for the new master to serve, and for a signal's first effect
	DrainTimeout time.Duration // for the old workers to finish
	StopTimeout  time.Duration // for a master to exit after QUIT, and again after TERM
	// NoEvents makes waits poll only, without a proc.Waker: for comparison in benchmarks.
	NoEvents bool
	// Session, when set, is this driver's lock and journal (nginxctl/driver): each step names
	// itself in the lock, and signals, installs and outcomes go to the journal.
	Session *driver.Session

	ended    []Ended // processes of a dead master this runner ended
	rejected string  // where the last restore kept the file it replaced
	// beforeRename, when set (tests only), runs between the checks of a staged candidate
	// and its rename into place, with the candidate's path and the staged copy's.
	beforeRename func(candidate, staged string)
	// afterCommitCheck, when set (tests only), runs in Commit right after the check that
	// allowed it: where the journal's fsyncs give the new master time to die.
	afterCommitCheck func(in model.Instance)
}

// NewRunner returns a runner with the default timeouts.
func NewRunner(sc *inspect.Scanner, audit *audit.Log) *Runner {
	return &Runner{Scanner: sc, Audit: audit, Poll: 10 * time.Millisecond,
		ReadyTimeout: 10 * time.Second, DrainTimeout: 60 * time.Second, StopTimeout: 10 * time.Second}
}

func (r *Runner) emit(e Event) {
	if r.Events == nil {
		return
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	if e.Message == "" {
		e.Message = e.Why.String()
	}
	r.Events(e)
}

// fresh re-reads the instance and checks that the action is allowed now.
func (r *Runner) fresh(in model.Instance, a model.Action) (model.Instance, error) {
	cur, err := r.Scanner.Refresh(in)
	if err != nil {
		return in, &StepError{Step: a.String(), Refused: true, Reason: err.Error(), Why: model.ReasonOf(err)}
	}
	if v := model.Check(cur, model.Context{}, a); !v.Allowed {
		return cur, &StepError{Step: a.String(), Refused: true, Reason: v.Reason, Why: v.Why}
	}
	return cur, nil
}

// send signals one process after re-verifying it, and records the attempt in the audit log.
// Nothing is sent once ctx has ended (the operator interrupted), nor when the audit log cannot
// be written: an action that cannot be recorded is not taken.
func (r *Runner) send(ctx context.Context, in model.Instance, a model.Action, p model.Process, sig syscall.Signal) error {
	return r.sendNoted(ctx, in, a, p, sig, -1)
}

// sendNoted is send for a signal whose journal record i is written already (-1: write it now).
// The record costs an fsync: a caller whose target may change under it (an untitled new
// master titles itself) writes it before the refresh that picks the target.
func (r *Runner) sendNoted(ctx context.Context, in model.Instance, a model.Action, p model.Process, sig syscall.Signal, i int) error {
	name := proc.SignalName(sig)
	if err := ctx.Err(); err != nil {
		r.noteSent(a, i, "not-sent", err.Error())
		return (&StepError{Step: a.String(), Refused: true, Err: err}).because("interrupted before %s was sent to %s %d", name, p.Role, p.PID)
	}
	if err := r.Audit.Check(); err != nil {
		r.noteSent(a, i, "not-sent", err.Error())
		return (&StepError{Step: a.String(), Refused: true, Err: err}).because("%v: fix it before sending %s", err, name)
	}
	if i < 0 {
		i = r.noteSending(a, p, name)
	}
	err := proc.Signal(p.Ref(), sig)
	entry := audit.Entry{Instance: in.Key(), Action: a.String(), Signal: name, PID: p.PID,
		StartTicks: p.StartTicks, Result: "sent"}
	var idErr *proc.IdentityError
	switch {
	case errors.As(err, &idErr):
		entry.Result, entry.Error = "refused", err.Error()
	case err != nil:
		entry.Result, entry.Error = "failed", err.Error()
	}
	r.noteSent(a, i, entry.Result, entry.Error)
	if aerr := r.Audit.Record(entry); aerr != nil {
		// The signal is out (or refused) either way; stopping the step now would be worse.
		r.emit(Event{Step: a.String(), Kind: "warning", PID: p.PID,
			Why: model.Because("%s to %d not recorded: %v", name, p.PID, aerr)})
	}
	if err != nil {
		return &StepError{Step: a.String(), Refused: idErr != nil || errors.Is(err, proc.ErrGone), Reason: err.Error(), Why: model.ReasonOf(err), Err: err}
	}
	r.emit(Event{Step: a.String(), Kind: "signal", Signal: name, PID: p.PID,
		Why: model.Because("%s sent to %s %d", name, p.Role, p.PID)})
	return nil
}

// errWaitTimeout ends a wait whose effect did not show in time.
var errWaitTimeout = errors.New("timed out")

// logSince follows the error log from now on, so a failure can quote what nginx said.
type logSince struct {
	tail  *inspect.LogTail
	level string
	lines []string
}

func followLog(in model.Instance) *logSince {
	if in.ErrorLog == "" {
		return &logSince{level: in.ErrorLogLevel}
	}
	t := inspect.NewLogTail(in.ErrorLog)
	if _, err := t.Read(); err != nil {
		// The log may not exist yet; read it from its start when it appears.
		t = &inspect.LogTail{Path: in.ErrorLog}
	}
	return &logSince{tail: t, level: in.ErrorLogLevel}
}

// awaitReason reads the log for a short while after the kernel reported pid's exit, until
// nginx wrote why (the old master logs the exit status once it reaped the child) or an error;
// at a level that hides notices nothing comes, and the wait is bounded.
// It returns the line that reports the exit, "" when none came.
func (l *logSince) awaitReason(pid int) string {
	if l.tail == nil {
		return ""
	}
	mark := fmt.Sprintf(" %d exited", pid)
	for _, line := range l.lines {
		if strings.Contains(line, mark) {
			return line
		}
	}
	for deadline := time.Now().Add(reasonWait); ; {
		for _, line := range l.read() {
			if strings.Contains(line, mark) {
				return line
			}
			if inspect.LineSeverity(line) >= inspect.SevError {
				return ""
			}
		}
		if time.Now().After(deadline) {
			return ""
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// reasonWait bounds awaitReason: nginx reaps a child and logs within milliseconds.
const reasonWait = 500 * time.Millisecond

// noReason says the error log gave no reason and, when its level hides the notices that
// narrate an upgrade, says so: the verdict came from the process tree, the log only explains.
func (l *logSince) noReason() model.Reason {
	switch l.level {
	case "debug", "info", "notice":
		return model.Because("no reason in the error log")
	case "":
		return model.Because("no reason in the error log (its level is unknown)")
	}
	return model.Because("no reason in the error log: its level is %q, which hides nginx's notices "+
		"(set `error_log ... notice;` to see them)", l.level)
}

// read collects the lines written since the last read and returns them.
func (l *logSince) read() []string {
	if l.tail == nil {
		return nil
	}
	lines, _ := l.tail.Read()
	l.lines = append(l.lines, lines...)
	return lines
}

// last returns the last n lines seen.
func (l *logSince) last(n int) []string {
	l.read()
	if len(l.lines) > n {
		return l.lines[len(l.lines)-n:]
	}
	return l.lines
}

func since(t time.Time) int64 { return time.Since(t).Milliseconds() }
