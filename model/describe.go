package model

// Plan is what an action will do, in words, for a confirmation dialog or a headless event.
type Plan struct {
	Action Action
	// Signal and Target name the first signal and the process it goes to; empty for actions
	// that send no signal.
	Signal string
	Target Process
	// Effect says what nginx does next; Irreversible what cannot be undone afterwards.
	Effect       string
	Irreversible string
	// EffectWhy and IrreversibleWhy are the same sentences as codes with their arguments, for a
	// screen in another language (reason.go).
	EffectWhy, IrreversibleWhy Reason
}

// effect sets what the action does next, in English and as a Reason.
func (p *Plan) effect(format string, args ...any) {
	p.EffectWhy = because(format, args...)
	p.Effect = p.EffectWhy.String()
}

// irreversible sets what cannot be undone afterwards.
func (p *Plan) irreversible(format string, args ...any) {
	p.IrreversibleWhy = because(format, args...)
	p.Irreversible = p.IrreversibleWhy.String()
}

// Describe explains an action on an instance in its current state. candidate is the file the
// install action would put in place.
func Describe(in Instance, a Action, candidate string) Plan {
	p := Plan{Action: a, Signal: a.Signal()}
	if len(in.Masters) == 0 {
		return p
	}
	old := in.Masters[0]
	p.Target = old.Process
	pidFile := in.PidFile
	if pidFile == "" {
		pidFile = "the pid file"
	}
	switch a {
	case ActInstall:
		p.effect("%s is copied to %s.old, then %s is put in place atomically. "+
			"Running processes are not touched.", in.Binary, in.Binary, candidate)
	case ActTest:
		p.effect("runs %s -t with the master's own -p/-c/-g; nothing is signalled.", testBinary(in, candidate))
	case ActUpgrade:
		p.effect("nginx renames %s to %s.oldbin and starts %s as a new master beside pid %d; "+
			"both generations accept connections until the old workers are drained.", pidFile, pidFile, in.Binary, old.PID)
	case ActDrain:
		p.effect("the old master %d tells its %d workers to finish their requests and exit; "+
			"it keeps its listening sockets, so rollback stays possible.", old.PID, old.ActiveWorkers())
	case ActCommit:
		p.effect("the old master %d exits once its children are gone and removes %s.oldbin; "+
			"the new master serves alone.", old.PID, pidFile)
		p.irreversible("after this there is no old master to roll back to: going back means another upgrade")
		if DerivePhase(in) == PhaseBothServing {
			p.irreversible("after this there is no old master to roll back to: going back means another upgrade; " +
				"the old workers were not drained first")
		}
	case ActRollback:
		p = describeRollback(in, p)
	}
	return p
}

func testBinary(in Instance, candidate string) string {
	if candidate != "" {
		return candidate
	}
	return in.Binary
}

func describeRollback(in Instance, p Plan) Plan {
	old, nw := in.Masters[0], in.New()
	if nw == nil {
		p.effect("there is no new master to stop.")
		return p
	}
	if NeedsHUP(old) {
		p.Signal = "SIGHUP"
		p.effect("the old master %d starts its workers again (without re-reading the config), "+
			"then the new master %d gets SIGQUIT (SIGTERM if it lingers) and the backed-up binary is restored.",
			old.PID, nw.PID)
	} else {
		p.Signal = "SIGQUIT"
		p.Target = nw.Process
		p.effect("the old master %d still has accepting workers, so it gets no SIGHUP; the new master %d "+
			"gets SIGQUIT (SIGTERM if it lingers) and the backed-up binary is restored.", old.PID, nw.PID)
	}
	p.irreversible("requests in flight on the new master %d finish, but its workers stop taking new ones", nw.PID)
	return p
}

// NeedsHUP tells whether a rollback must send SIGHUP to the old master before stopping the new
// one. Only a master none of whose workers accepts may get it: a HUP to an old master that still
// has accepting workers starts a second set beside them. Workers already shutting down no longer
// accept, so an old master that is still draining gets its HUP too; without it nobody would accept
// until the new master had fully exited.
func NeedsHUP(old Master) bool { return old.ActiveWorkers() == 0 }
