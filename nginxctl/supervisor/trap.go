package supervisor

import (
	"fmt"

	"github.com/hotdeploy/hotdeploy/model"
)

// ReloadTrap detects a `systemctl reload` run while an upgrade is under way, from systemd's
// MainPID and the process tree (the error log at Debian's default level shows nothing): the
// reload's `nginx -s reload` HUPs the master named in the pid file, the new one, and systemd
// then makes that master its MainPID while the old master still lives. Committing settles it;
// a rollback would leave systemd tracking a dead pid. Nil when there is no trap.
func ReloadTrap(in model.Instance, u Unit) *Finding {
	old, nw := in.Old(), in.New()
	if old == nil || nw == nil || u.MainPID != nw.PID {
		return nil
	}
	evidence := ""
	for _, c := range nw.Children {
		if c.Role == model.RoleWorker && c.ShuttingDown {
			evidence = " The new master's workers are being replaced, the mark of that reload."
			break
		}
	}
	return &Finding{
		Kind: KindReloadTrap,
		Cause: fmt.Sprintf("systemd's MainPID for %s is the new master (pid %d) while the old master (pid %d) still lives: a `systemctl reload` ran during the upgrade, HUPed the master named in %s and systemd followed it.%s",
			u.Name, nw.PID, old.PID, pidFileName(u), evidence),
		Fix: fmt.Sprintf("commit (QUIT the old master) and systemd is right again. If you roll back instead, run `systemctl reload %s` once the old master serves alone, so systemd takes it back as MainPID; until then a stop or restart of the unit targets a dead pid.",
			u.Name),
	}
}

// AfterCommit checks systemd followed the commit: the unit active, MainPID the new master (it
// re-reads PIDFile= when the old master exits). Needs a human when not.
func AfterCommit(in model.Instance, u Unit) *Finding {
	if f := inactive(u, "commit"); f != nil {
		return f
	}
	return expectMain(in, u, "commit", "the new master")
}

// AfterRollback checks MainPID is the old master again: systemd does nothing at a rollback, so
// this fails only when MainPID had moved (the reload trap).
func AfterRollback(in model.Instance, u Unit) *Finding {
	if f := inactive(u, "rollback"); f != nil {
		return f
	}
	return expectMain(in, u, "rollback", "the old master")
}

// Check is for status: a unit that is not ok in the state found, whatever step led there.
func Check(in model.Instance, u Unit) *Finding {
	if f := ReloadTrap(in, u); f != nil {
		return f
	}
	if len(in.Masters) == 1 {
		return expectMain(in, u, "", "the master")
	}
	return nil
}

func inactive(u Unit, step string) *Finding {
	if u.ActiveState == "active" || u.ActiveState == "reloading" {
		return nil
	}
	return &Finding{
		Kind:       KindUnitInactive,
		NeedsHuman: true,
		Cause:      fmt.Sprintf("after the %s systemd says %s is %s (%s), not active: it lost track of nginx and may have stopped it.", step, u.Name, u.ActiveState, u.SubState),
		Fix:        fmt.Sprintf("look at `systemctl status %s`; `systemctl restart %s` puts nginx back under systemd (a restart: open connections are cut).", u.Name, u.Name),
	}
}

func expectMain(in model.Instance, u Unit, step, role string) *Finding {
	if MainPIDOK(in, u.MainPID) || len(in.Masters) != 1 {
		return nil
	}
	when := "now"
	if step != "" {
		when = "after the " + step
	}
	what := "which is no master of this nginx (an exited pid, or another process)"
	if u.MainPID == 0 {
		what = "none"
	}
	return &Finding{
		Kind:       KindMainPIDWrong,
		NeedsHuman: true,
		Cause: fmt.Sprintf("%s systemd's MainPID for %s is %d, %s, not %s (pid %d): a stop or restart of the unit would act on the wrong process.",
			when, u.Name, u.MainPID, what, role, in.Masters[0].PID),
		Fix: fmt.Sprintf("run `systemctl reload %s`: nginx reloads its configuration and systemd takes the master in %s as MainPID again.", u.Name, pidFileName(u)),
	}
}

func pidFileName(u Unit) string {
	if u.PIDFile == "" {
		return "the pid file"
	}
	return u.PIDFile
}
