package model

import "fmt"

// Action is one thing the operator can do to an instance.
type Action int

const (
	ActInstall  Action = iota // back up the running binary and put the candidate in place
	ActTest                   // config test with the candidate and the master's real -p/-c/-g
	ActUpgrade                // USR2 to the master: start the new binary
	ActDrain                  // WINCH to the old master: its workers stop gracefully
	ActCommit                 // QUIT to the old master: the new binary stays
	ActRollback               // back to the old binary, whatever step was reached
)

// Actions lists every action in the order the upgrade uses them.
var Actions = []Action{ActInstall, ActTest, ActUpgrade, ActDrain, ActCommit, ActRollback}

type actionInfo struct {
	name, title, signal string
}

var actionInfos = [...]actionInfo{
	ActInstall:  {"install", "install new binary", ""},
	ActTest:     {"test", "test config", ""},
	ActUpgrade:  {"upgrade", "start new binary", "SIGUSR2"},
	ActDrain:    {"drain", "drain old workers", "SIGWINCH"},
	ActCommit:   {"commit", "commit", "SIGQUIT"},
	ActRollback: {"rollback", "roll back", ""},
}

// String is the machine name used in JSON events and the audit log.
func (a Action) String() string { return actionInfos[a].name }

// Title is the short label shown to the operator.
func (a Action) Title() string { return actionInfos[a].title }

// Signal names the signal the action sends, empty when it sends none or several.
func (a Action) Signal() string { return actionInfos[a].signal }

// MarshalText gives the JSON name.
func (a Action) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// Context is what besides the process tree decides whether an action may run.
type Context struct {
	ReadOnly bool
	// Busy names the step still running; only one runs at a time.
	Busy string
	// QuitSent is the pid of an old master that already got SIGQUIT: it is leaving, and a HUP
	// would no longer bring its workers back (its listening sockets are closed).
	QuitSent int
	// QuitUnsure says the journal's last word on that SIGQUIT is "sending": a driver stopped
	// between recording it and learning the result, so it may or may not have gone out.
	QuitUnsure bool
}

// Verdict says whether an action may run now and, if not, why; Warning is set when it may
// run but the operator should think twice.
type Verdict struct {
	Action  Action
	Allowed bool
	Reason  string
	Warning string
	// Why and WarningWhy are Reason and Warning as codes with their arguments, for a screen in
	// another language (reason.go).
	Why, WarningWhy Reason
}

func refuse(a Action, format string, args ...any) Verdict {
	why := because(format, args...)
	return Verdict{Action: a, Reason: why.String(), Why: why}
}

// allowWarning is a verdict that allows an action with a warning.
func allowWarning(a Action, format string, args ...any) Verdict {
	why := because(format, args...)
	return Verdict{Action: a, Allowed: true, Warning: why.String(), WarningWhy: why}
}

// Check decides one action for an instance in its current phase.
func Check(in Instance, ctx Context, a Action) Verdict {
	switch {
	case ctx.ReadOnly:
		return refuse(a, "read-only mode: actions are disabled")
	case ctx.Busy != "":
		return refuse(a, "wait: %s is still running", ctx.Busy)
	case len(in.Masters) == 0:
		return refuse(a, "no nginx master")
	case len(in.Hidden) > 0:
		return refuse(a, "not permitted: cannot read %s; run as root or as the user nginx runs as", in.Hidden[0])
	}
	phase := DerivePhase(in)
	if ctx.QuitSent != 0 && in.New() != nil && ctx.QuitSent == in.Masters[0].PID && a != ActInstall && a != ActTest {
		if ctx.QuitUnsure {
			return refuse(a, "the old master %d may have got SIGQUIT (a driver stopped while sending it) "+
				"and may be leaving once its workers finish: there is no safe way back to it", ctx.QuitSent)
		}
		return refuse(a, "the old master %d got SIGQUIT and is leaving once its workers finish: "+
			"there is no going back to it", ctx.QuitSent)
	}
	if phase == PhaseIdle && len(in.Orphans) > 0 && (a == ActInstall || a == ActUpgrade) {
		// They accept on the inherited sockets and serve the build of their dead master; a new
		// generation would serve beside them, and the old binary would be backed up as if it
		// were the only one that served.
		return refuse(a, "%d processes of a dead master still run and may serve its build: roll back first, which ends them", len(in.Orphans))
	}
	switch a {
	case ActInstall, ActTest:
		if phase != PhaseIdle {
			return refuse(a, "an upgrade is running (%s): finish it with commit or roll back first", phase)
		}
		return Verdict{Action: a, Allowed: true}
	case ActUpgrade:
		return checkUpgrade(in, phase)
	case ActDrain:
		return checkDrain(in, phase)
	case ActCommit:
		return checkCommit(in, phase)
	case ActRollback:
		if phase == PhaseIdle && len(in.Orphans) > 0 {
			return allowWarning(a, "%d processes of a dead master still run: the rollback ends them", len(in.Orphans))
		}
		if phase == PhaseIdle && in.BinaryDiffers && !in.BinarySameBytes {
			// Installed and never started, or its new master died (safety rule 5): the way
			// back is the running build on disk again; the file it replaces is kept.
			return allowWarning(a, "no upgrade is running, but %s holds another build than master %d runs: "+
				"the rollback puts the running build back on disk and keeps the other as .rejected", in.Binary, in.Masters[0].PID)
		}
		if phase == PhaseIdle {
			return refuse(a, "no upgrade is running: there is no old master to go back to")
		}
		return Verdict{Action: a, Allowed: true}
	}
	return refuse(a, "unknown action")
}

// CheckAll decides every action, in the order of Actions.
func CheckAll(in Instance, ctx Context) []Verdict {
	vs := make([]Verdict, len(Actions))
	for i, a := range Actions {
		vs[i] = Check(in, ctx, a)
	}
	return vs
}

func checkUpgrade(in Instance, phase Phase) Verdict {
	a, m := ActUpgrade, in.Masters[0]
	switch {
	case phase != PhaseIdle:
		return refuse(a, "an upgrade is already running (%s)", phase)
	case m.SignalsIgnored != "":
		return refuse(a, "%s", m.SignalsIgnoredWhy.Or(m.SignalsIgnored))
	case m.Argv0Problem != "":
		return refuse(a, "%s", m.Argv0ProblemWhy.Or(m.Argv0Problem))
	case in.BinarySameBytes:
		return refuse(a, "%s holds the same build as the running binary (a copy, or the file a rollback restored): "+
			"install a new build first (i)", in.Binary)
	case !in.BinaryDiffers:
		return refuse(a, "the binary at %s is the one already running: install a new one first (i)", in.Binary)
	case m.ActiveWorkers() == 0:
		return refuse(a, "master %d has no running worker: wait until it serves", m.PID)
	}
	return Verdict{Action: a, Allowed: true}
}

func checkDrain(in Instance, phase Phase) Verdict {
	a := ActDrain
	switch phase {
	case PhaseIdle:
		return refuse(a, "no upgrade is running: start the new binary first (u)")
	case PhaseNewStarting:
		return refuse(a, "the new master%s is not serving yet: wait for its pid file and workers", newPID(in))
	case PhaseOldDraining:
		return refuse(a, "the old workers are already draining")
	case PhaseOldDrained:
		return refuse(a, "the old master has no workers left")
	}
	if m := in.Masters[0]; m.SignalsIgnored != "" {
		return refuse(a, "%s", m.SignalsIgnoredWhy.Or(m.SignalsIgnored))
	}
	return Verdict{Action: a, Allowed: true}
}

func checkCommit(in Instance, phase Phase) Verdict {
	a := ActCommit
	switch phase {
	case PhaseIdle:
		return refuse(a, "no upgrade is running: nothing to commit")
	case PhaseNewStarting:
		return refuse(a, "the new master%s is not serving yet: committing now could leave nothing serving", newPID(in))
	case PhaseBothServing:
		return allowWarning(a, "the old workers were not drained: %d of them stop now, and the new binary has not yet served alone",
			in.Masters[0].ActiveWorkers())
	case PhaseOldDraining:
		return allowWarning(a, "the old master exits once its draining workers finish")
	}
	return Verdict{Action: a, Allowed: true}
}

// newPID names the new master's pid for a sentence, or nothing when it is not seen yet.
func newPID(in Instance) string {
	if nw := in.New(); nw != nil {
		return fmt.Sprintf(" %d", nw.PID)
	}
	return ""
}
