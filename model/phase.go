package model

import "fmt"

// Phase is where an instance stands in the binary upgrade. It is derived from the live process
// tree on every refresh and never remembered, so a dashboard started mid-upgrade shows the truth.
type Phase int

const (
	PhaseIdle        Phase = iota // one master
	PhaseNewStarting              // USR2 accepted, the new master is not serving yet
	PhaseBothServing              // the new master serves, the old one still has workers
	PhaseOldDraining              // the old workers are shutting down
	PhaseOldDrained               // the old master has no children but the new master
)

var phaseNames = [...]string{"idle", "new-starting", "both-serving", "old-draining", "old-drained"}

func (p Phase) String() string {
	if int(p) < len(phaseNames) {
		return phaseNames[p]
	}
	return fmt.Sprintf("phase(%d)", int(p))
}

// MarshalText gives the JSON name used by `status --json`.
func (p Phase) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// ParsePhase is the inverse of Phase.String.
func ParsePhase(s string) (Phase, error) {
	for i, n := range phaseNames {
		if n == s {
			return Phase(i), nil
		}
	}
	return 0, fmt.Errorf("unknown phase %q", s)
}

// UnmarshalText reads the JSON name.
func (p *Phase) UnmarshalText(b []byte) error {
	v, err := ParsePhase(string(b))
	*p = v
	return err
}

// DerivePhase reads the phase off an instance whose Masters are ordered old first.
//
// The new master counts as serving once the pid file names it (or names nobody: someone removed
// it) and it runs a worker: nginx writes nginx.pid only after the new configuration loaded,
// before the workers start, and the workers are what accept.
// The old master is draining when none of its workers accepts any more (after WINCH they are
// titled "is shutting down"); it is drained when it has no children left at all.
//
// Right after USR2 nginx renames nginx.pid to nginx.pid.oldbin before the new master shows up:
// one master whose pid the .oldbin file holds is already new-starting.
func DerivePhase(in Instance) Phase {
	if len(in.Masters) == 1 && in.OldbinPID != 0 && in.OldbinPID == in.Masters[0].PID {
		return PhaseNewStarting
	}
	if len(in.Masters) < 2 {
		return PhaseIdle
	}
	old, nw := in.Masters[0], in.Masters[1]
	// A pid file that is missing altogether was removed by someone else: nginx writes it
	// before it starts workers, so a new master with workers has loaded its config.
	if in.PidFilePID != nw.PID && in.PidFilePID != 0 || nw.ActiveWorkers() == 0 {
		return PhaseNewStarting
	}
	switch {
	case len(old.Children) == 0:
		return PhaseOldDrained
	case old.ActiveWorkers() > 0:
		return PhaseBothServing
	default:
		return PhaseOldDraining
	}
}
