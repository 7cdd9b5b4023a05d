package supervisor

import "github.com/hotdeploy/hotdeploy/model"

// Status is the `systemd` object of `status --json` and of a headless result (DESIGN.md);
// a master no unit runs gets null instead. It lives in model, beside the instance it describes.
type Status = model.SystemdUnit

// NewStatus combines systemd's view with the live process tree.
func NewStatus(u Unit, in model.Instance) *Status {
	return &Status{
		Unit:        u.Name,
		MainPID:     u.MainPID,
		ActiveState: u.ActiveState,
		SubState:    u.SubState,
		Type:        u.Type,
		PIDFile:     u.PIDFile,
		ExecReload:  u.ReloadCommand(),
		MainPIDOK:   MainPIDOK(in, u.MainPID),
	}
}

// MainPIDOK says whether systemd tracks the right master: the old one while an upgrade runs
// (new-starting … old-drained), the only one otherwise. Masters lists live masters old first,
// so a MainPID on the new master while the old lives (a `systemctl reload` mid-upgrade), on a
// dead pid, or 0 is not ok.
func MainPIDOK(in model.Instance, mainPID int) bool {
	return len(in.Masters) > 0 && mainPID > 0 && mainPID == in.Masters[0].PID
}
