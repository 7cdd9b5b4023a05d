package supervisor

import "github.com/hotdeploy/hotdeploy/model"

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
	var evidence model.Reason
	for _, c := range nw.Children {
		if c.Role == model.RoleWorker && c.ShuttingDown {
			evidence = model.Because(" The new master's workers are being replaced, the mark of that reload.")
			break
		}
	}
	f := &Finding{Kind: KindReloadTrap}
	return f.says(model.Because("systemd's MainPID for %s is the new master (pid %d) while the old master (pid %d) still lives: a `systemctl reload` ran during the upgrade, HUPed the master named in %s and systemd followed it.%s",
		u.Name, nw.PID, old.PID, pidFileName(u), evidence),
		model.Because("commit (QUIT the old master) and systemd is right again. If you roll back instead, run `systemctl reload %s` once the old master serves alone, so systemd takes it back as MainPID; until then a stop or restart of the unit targets a dead pid.",
			u.Name))
}

// AfterCommit checks systemd followed the commit: the unit active, MainPID the new master (it
// re-reads PIDFile= when the old master exits). Needs a human when not.
func AfterCommit(in model.Instance, u Unit) *Finding {
	after := model.Because("after the commit")
	if f := inactive(u, after); f != nil {
		return f
	}
	return expectMain(in, u, after, model.Because("the new master"))
}

// AfterRollback checks MainPID is the old master again: systemd does nothing at a rollback, so
// this fails only when MainPID had moved (the reload trap).
func AfterRollback(in model.Instance, u Unit) *Finding {
	after := model.Because("after the rollback")
	if f := inactive(u, after); f != nil {
		return f
	}
	return expectMain(in, u, after, model.Because("the old master"))
}

// Check is for status: a unit that is not ok in the state found, whatever step led there.
func Check(in model.Instance, u Unit) *Finding {
	if f := ReloadTrap(in, u); f != nil {
		return f
	}
	if len(in.Masters) == 1 {
		return expectMain(in, u, model.Because("now"), model.Because("the master"))
	}
	return nil
}

// inactive finds the unit no longer active; when says after which step ("after the commit").
func inactive(u Unit, when model.Reason) *Finding {
	if u.ActiveState == "active" || u.ActiveState == "reloading" {
		return nil
	}
	f := &Finding{Kind: KindUnitInactive, NeedsHuman: true}
	return f.says(model.Because("%s systemd says %s is %s (%s), not active: it lost track of nginx and may have stopped it.", when, u.Name, u.ActiveState, u.SubState),
		model.Because("look at `systemctl status %s`; `systemctl restart %s` puts nginx back under systemd (a restart: open connections are cut).", u.Name, u.Name))
}

// expectMain finds MainPID on another process than role, the master it should be; when says
// "now" or after which step.
func expectMain(in model.Instance, u Unit, when, role model.Reason) *Finding {
	if MainPIDOK(in, u.MainPID) || len(in.Masters) != 1 {
		return nil
	}
	what := model.Because("which is no master of this nginx (an exited pid, or another process)")
	if u.MainPID == 0 {
		what = model.Because("none")
	}
	f := &Finding{Kind: KindMainPIDWrong, NeedsHuman: true}
	return f.says(model.Because("%s systemd's MainPID for %s is %d, %s, not %s (pid %d): a stop or restart of the unit would act on the wrong process.",
		when, u.Name, u.MainPID, what, role, in.Masters[0].PID),
		model.Because("run `systemctl reload %s`: nginx reloads its configuration and systemd takes the master in %s as MainPID again.", u.Name, pidFileName(u)))
}

// pidFileName is the unit's PIDFile=, or words for it when it has none.
func pidFileName(u Unit) any {
	if u.PIDFile == "" {
		return model.Because("the pid file")
	}
	return u.PIDFile
}
