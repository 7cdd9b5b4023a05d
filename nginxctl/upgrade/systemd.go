package upgrade

import (
	"context"
	"errors"
	"time"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/supervisor"
)

// systemdPreflight refuses, before any signal, an upgrade systemd would break: a unit that is
// not Type=forking or a master with daemon off (nginx ignores USR2 there), and nginx's pid file
// differing from the unit's PIDFile= (at commit systemd re-reads PIDFile=, finds no new master
// there, stops the unit and kills the new master with it).
func (h *headless) systemdPreflight(in model.Instance) error {
	if h.unit == nil {
		return nil
	}
	daemonOff := in.Masters[0].SignalsIgnored != ""
	for _, f := range []*supervisor.Finding{supervisor.CheckType(*h.unit, daemonOff), supervisor.CheckPidFile(in.PidFile, *h.unit)} {
		if f != nil && f.Refuse {
			return &StepError{Step: "preflight", Refused: true, Reason: f.String(), Why: f.Reason(), Err: errors.New(f.Kind)}
		}
	}
	if f := supervisor.ReloadTrap(in, *h.unit); f != nil {
		h.event(Event{Time: time.Now(), Step: "preflight", Kind: "warning", Message: f.String(), Why: f.Reason()})
	}
	return nil
}

// systemdAfter asks systemd again after a commit or rollback, for up to two seconds (it handles
// the old master's exit asynchronously), until check passes. It returns the exit code: 0, or 3
// when systemd is left tracking the wrong process, said as a warning with the command that
// fixes it, and the result's systemd object shows what systemd thinks.
func (h *headless) systemdAfter(ctx context.Context, in model.Instance, check func(model.Instance, supervisor.Unit) *supervisor.Finding) int {
	if h.unit == nil {
		return ExitDone
	}
	var f *supervisor.Finding
	u := *h.unit
	for deadline := time.Now().Add(2 * time.Second); ; {
		cur, err := supervisor.Show(ctx, u.Name)
		if err == nil {
			u = cur
			if f = check(in, u); f == nil {
				break
			}
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	h.unit = &u
	h.res.Systemd = supervisor.NewStatus(u, in)
	if f == nil {
		return ExitDone
	}
	h.event(Event{Time: time.Now(), Step: "systemd", Kind: "warning", Message: f.String(), Why: f.Reason()})
	if f.NeedsHuman {
		return ExitNeedsHuman
	}
	return ExitDone
}
