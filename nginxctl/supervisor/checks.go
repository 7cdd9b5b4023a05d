package supervisor

import (
	"path/filepath"
	"strings"

	"github.com/hotdeploy/hotdeploy/model"
)

// Finding is a trap systemd sets for an upgrade: what is wrong, why it matters, what to run.
type Finding struct {
	Kind  string `json:"kind"`
	Cause string `json:"cause"`
	Fix   string `json:"fix"`
	// Refuse: found before any signal, the upgrade must not start.
	Refuse bool `json:"refuse"`
	// NeedsHuman: found after a step, systemd is left tracking the wrong process (exit 3).
	NeedsHuman bool `json:"needs_human"`
	// CauseWhy and FixWhy are Cause and Fix as reasons, for the dashboard's language.
	CauseWhy model.Reason `json:"-"`
	FixWhy   model.Reason `json:"-"`
}

func (f Finding) String() string { return f.Cause + " Fix: " + f.Fix }

// Reason is the finding as one reason, whose English sentence is String's.
func (f Finding) Reason() model.Reason {
	return model.Because("%s Fix: %s", f.CauseWhy.Or(f.Cause), f.FixWhy.Or(f.Fix))
}

// says sets the cause and the fix, in English and as reasons.
func (f *Finding) says(cause, fix model.Reason) *Finding {
	f.CauseWhy, f.FixWhy = cause, fix
	f.Cause, f.Fix = cause.String(), fix.String()
	return f
}

// Kinds of findings.
const (
	KindPidFileMismatch = "pid-file-mismatch"
	KindNotForking      = "not-forking"
	KindReloadTrap      = "reload-trap"
	KindMainPIDWrong    = "main-pid-wrong"
	KindUnitInactive    = "unit-inactive"
)

// CheckPidFile compares the pid file the new master will write (nginx's `pid` directive as the
// config on disk sets it) with the unit's PIDFile=. systemd follows a commit only by reading
// PIDFile= when the old master exits; a new master that wrote elsewhere is lost, and systemd
// then stops the unit and kills it.
func CheckPidFile(nginxPid string, u Unit) *Finding {
	if u.PIDFile != "" && samePath(nginxPid, u.PIDFile) {
		return nil
	}
	f := &Finding{Kind: KindPidFileMismatch, Refuse: true}
	if u.PIDFile == "" {
		return f.says(model.Because("%s sets no PIDFile=: when the old master exits at commit, systemd has no way to learn the new master's pid, so it would consider nginx stopped and kill the new master with the rest of the unit.", u.Name),
			model.Because("give the unit PIDFile=%s in a drop-in (systemctl edit %s), run `systemctl restart %s` once so systemd uses it, then upgrade.", nginxPid, u.Name, u.Name))
	}
	return f.says(model.Because("nginx.conf makes nginx write its pid to %s but %s reads PIDFile=%s: when the old master exits at commit, systemd would not find the new master there, consider nginx stopped and kill the new master.", nginxPid, u.Name, u.PIDFile),
		model.Because("set `pid %s;` in nginx.conf again (what the unit reads), check it with nginx -t, then upgrade.", u.PIDFile))
}

// samePath compares pid file paths as systemd does: /var/run is /run on every systemd host.
func samePath(a, b string) bool {
	norm := func(p string) string {
		p = filepath.Clean(p)
		if rest, ok := strings.CutPrefix(p, "/var/run/"); ok {
			return "/run/" + rest
		}
		return p
	}
	return norm(a) == norm(b)
}

// CheckType refuses units whose main process cannot change: only Type=forking makes systemd
// look for a new main pid (in PIDFile=) when the old one exits. daemonOff is nginx's `daemon off`
// (the master is the process systemd started, and it ignores USR2).
func CheckType(u Unit, daemonOff bool) *Finding {
	if u.Type == "forking" && !daemonOff {
		return nil
	}
	cause := model.Because("%s is Type=%s: the master systemd started stays the service's main process for good; "+
		"when that master exits at commit systemd considers nginx stopped and kills the new master with the rest of the unit.", u.Name, u.Type)
	if daemonOff {
		cause = model.Because("nginx runs with `daemon off` under %s (Type=%s): the master never leaves the process systemd started, so nginx ignores USR2, and "+
			"when that master exits at commit systemd considers nginx stopped and kills the new master with the rest of the unit.", u.Name, u.Type)
	}
	f := &Finding{Kind: KindNotForking, Refuse: true}
	return f.says(cause, model.Because("run nginx as Debian's unit does (Type=forking, PIDFile= equal to nginx's pid directive, daemon on: remove the drop-in that changes it, then `systemctl restart %s`), or replace the binary and run `systemctl restart %s` (a restart: open connections are cut).",
		u.Name, u.Name))
}

// ReloadSignals says which master `systemctl reload` signals during an upgrade: "pid-file" for
// `nginx -s reload` (the master named in the pid file: the new one once USR2 ran), "main-pid"
// for `kill -HUP $MAINPID` (the old one: it starts a second set of workers), "" when unknown.
func ReloadSignals(u Unit) string { return reloadSignals(u.ReloadCommand()) }

// reloadSignals is ReloadSignals of a unit's first ExecReload= command line.
func reloadSignals(cmd string) string {
	switch {
	case strings.Contains(cmd, "-s reload"):
		return "pid-file"
	case strings.Contains(cmd, "MAINPID"):
		return "main-pid"
	}
	return ""
}

// ReloadWarning is what the operator must not do while an upgrade of unit runs, by what its
// ExecReload= command (reloadCmd) would signal: for the dashboard's warnings during an upgrade
// and the start of a headless one.
func ReloadWarning(unit, reloadCmd string) model.Reason {
	switch reloadSignals(reloadCmd) {
	case "pid-file":
		return model.Because("do not run `systemctl reload %s` until the upgrade is committed or rolled back: its `nginx -s reload` HUPs the new master and systemd makes it the main pid while the old one lives", unit)
	case "main-pid":
		return model.Because("do not run `systemctl reload %s` until the upgrade is committed or rolled back: it HUPs the old master, which starts a second set of workers beside the new ones", unit)
	}
	return model.Because("do not run `systemctl reload %s` until the upgrade is committed or rolled back", unit)
}
