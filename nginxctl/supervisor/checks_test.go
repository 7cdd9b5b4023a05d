package supervisor

import (
	"strings"
	"testing"

	"github.com/hotdeploy/hotdeploy/model"
)

var debianUnit = Unit{Name: "nginx.service", LoadState: "loaded", ActiveState: "active", SubState: "running",
	Type: "forking", PIDFile: "/run/nginx.pid", MainPID: 100,
	ExecReload: []ExecCommand{{Path: "/usr/sbin/nginx", Argv: "/usr/sbin/nginx -g daemon on; master_process on; -s reload"}}}

func unit(mainPID int, active string) Unit {
	u := debianUnit
	u.MainPID, u.ActiveState = mainPID, active
	return u
}

// master builds a master with n workers, the first `draining` of them shutting down.
func master(pid, n, draining int) model.Master {
	m := model.Master{Process: model.Process{PID: pid, Role: model.RoleMaster}}
	for i := 0; i < n; i++ {
		m.Children = append(m.Children, model.Process{PID: pid + 1 + i, PPID: pid, Role: model.RoleWorker, ShuttingDown: i < draining})
	}
	return m
}

func instance(ms ...model.Master) model.Instance {
	in := model.Instance{PidFile: "/run/nginx.pid", Masters: ms}
	in.Phase = model.DerivePhase(in)
	return in
}

func TestMainPIDOK(t *testing.T) {
	idle := instance(master(100, 2, 0))
	both := instance(master(100, 2, 0), master(200, 2, 0))
	both.PidFilePID = 200
	drained := instance(master(100, 0, 0), master(200, 2, 0))
	tests := []struct {
		name    string
		in      model.Instance
		mainPID int
		want    bool
	}{
		{"idle, MainPID the master", idle, 100, true},
		{"idle, MainPID a dead pid", idle, 200, false},
		{"idle, no MainPID", idle, 0, false},
		{"both serving, MainPID the old master", both, 100, true},
		{"both serving, MainPID the new master (reload trap)", both, 200, false},
		{"old drained, MainPID the old master", drained, 100, true},
		{"old drained, MainPID the new master", drained, 200, false},
		{"no master at all", model.Instance{}, 100, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MainPIDOK(tt.in, tt.mainPID); got != tt.want {
				t.Errorf("MainPIDOK(phase %s, MainPID %d) = %v, want %v", tt.in.Phase, tt.mainPID, got, tt.want)
			}
			if s := NewStatus(unit(tt.mainPID, "active"), tt.in); s.MainPIDOK != tt.want || s.ExecReload == "" {
				t.Errorf("NewStatus = %+v, want main_pid_ok %v and the reload command", s, tt.want)
			}
		})
	}
}

// check asserts a finding's kind and flags, and that cause and fix carry the given words.
func check(t *testing.T, f *Finding, kind string, refuse, human bool, words ...string) {
	t.Helper()
	if kind == "" {
		if f != nil {
			t.Fatalf("want no finding, got %s: %s", f.Kind, f)
		}
		return
	}
	if f == nil {
		t.Fatalf("want a %s finding, got none", kind)
	}
	if f.Kind != kind || f.Refuse != refuse || f.NeedsHuman != human {
		t.Errorf("finding %s refuse=%v human=%v, want %s refuse=%v human=%v", f.Kind, f.Refuse, f.NeedsHuman, kind, refuse, human)
	}
	for _, w := range words {
		if !strings.Contains(f.String(), w) {
			t.Errorf("finding does not mention %q: %s", w, f)
		}
	}
}

func TestCheckPidFile(t *testing.T) {
	noPidFile := debianUnit
	noPidFile.PIDFile = ""
	tests := []struct {
		name, pid string
		u         Unit
		kind      string
		words     []string
	}{
		{"same file", "/run/nginx.pid", debianUnit, "", nil},
		{"/var/run is /run", "/var/run/nginx.pid", debianUnit, "", nil},
		{"same file, unclean path", "/run//nginx.pid", debianUnit, "", nil},
		{"pid directive edited", "/run/nginx-web.pid", debianUnit, KindPidFileMismatch,
			[]string{"/run/nginx-web.pid", "PIDFile=/run/nginx.pid", "kill the new master", "pid /run/nginx.pid;"}},
		{"unit without PIDFile=", "/run/nginx.pid", noPidFile, KindPidFileMismatch,
			[]string{"no PIDFile=", "PIDFile=/run/nginx.pid", "systemctl restart nginx.service"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check(t, CheckPidFile(tt.pid, tt.u), tt.kind, true, false, tt.words...)
		})
	}
}

func TestCheckType(t *testing.T) {
	simple := debianUnit
	simple.Type, simple.PIDFile = "simple", ""
	notify := debianUnit
	notify.Type = "notify"
	tests := []struct {
		name      string
		u         Unit
		daemonOff bool
		kind      string
		words     []string
	}{
		{"debian's forking unit", debianUnit, false, "", nil},
		{"Type=simple with daemon off", simple, true, KindNotForking, []string{"daemon off", "ignores USR2", "Type=simple", "systemctl restart nginx.service"}},
		{"Type=simple", simple, false, KindNotForking, []string{"Type=simple", "kills the new master", "Type=forking"}},
		{"Type=notify", notify, false, KindNotForking, []string{"Type=notify"}},
		{"forking but daemon off", debianUnit, true, KindNotForking, []string{"daemon off"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check(t, CheckType(tt.u, tt.daemonOff), tt.kind, true, false, tt.words...)
		})
	}
}

func TestReloadTrapAndPostSteps(t *testing.T) {
	both := instance(master(100, 2, 0), master(200, 2, 0))
	both.PidFilePID = 200
	hupped := instance(master(100, 2, 0), master(200, 4, 2)) // the new master replacing its workers
	hupped.PidFilePID = 200
	afterRollback := instance(master(100, 2, 0))
	afterCommit := instance(master(200, 2, 0))

	t.Run("reload trap while both serve", func(t *testing.T) {
		f := ReloadTrap(both, unit(200, "active"))
		check(t, f, KindReloadTrap, false, false, "new master (pid 200)", "old master (pid 100)", "/run/nginx.pid", "systemctl reload nginx.service")
		if strings.Contains(f.Cause, "being replaced") {
			t.Errorf("evidence claimed without shutting-down workers: %s", f.Cause)
		}
	})
	t.Run("reload trap with the new master's workers being replaced", func(t *testing.T) {
		check(t, ReloadTrap(hupped, unit(200, "active")), KindReloadTrap, false, false, "being replaced")
	})
	t.Run("no trap: MainPID the old master", func(t *testing.T) { check(t, ReloadTrap(both, unit(100, "active")), "", false, false) })
	t.Run("no trap: no upgrade running", func(t *testing.T) { check(t, ReloadTrap(afterCommit, unit(200, "active")), "", false, false) })

	t.Run("commit followed", func(t *testing.T) { check(t, AfterCommit(afterCommit, unit(200, "active")), "", false, false) })
	t.Run("commit: MainPID still the old master", func(t *testing.T) {
		check(t, AfterCommit(afterCommit, unit(100, "active")), KindMainPIDWrong, false, true,
			"after the commit", "MainPID for nginx.service is 100", "the new master (pid 200)", "systemctl reload nginx.service")
	})
	t.Run("commit: unit lost", func(t *testing.T) {
		u := unit(0, "failed")
		u.SubState = "failed"
		check(t, AfterCommit(afterCommit, u), KindUnitInactive, false, true, "is failed (failed)", "systemctl restart nginx.service")
	})
	t.Run("rollback followed", func(t *testing.T) { check(t, AfterRollback(afterRollback, unit(100, "active")), "", false, false) })
	t.Run("rollback after the reload trap", func(t *testing.T) {
		check(t, AfterRollback(afterRollback, unit(200, "active")), KindMainPIDWrong, false, true,
			"after the rollback", "is 200, which is no master", "the old master (pid 100)", "systemctl reload nginx.service")
	})
	t.Run("status: trap", func(t *testing.T) { check(t, Check(both, unit(200, "active")), KindReloadTrap, false, false) })
	t.Run("status: dead MainPID", func(t *testing.T) {
		check(t, Check(afterRollback, unit(200, "active")), KindMainPIDWrong, false, true, "now systemd's MainPID")
	})
	t.Run("status: all well mid-upgrade", func(t *testing.T) { check(t, Check(both, unit(100, "active")), "", false, false) })
}

func TestReloadSignals(t *testing.T) {
	kill := debianUnit
	kill.ExecReload = []ExecCommand{{Path: "/bin/kill", Argv: "/bin/kill -s HUP $MAINPID"}}
	none := debianUnit
	none.ExecReload = nil
	for _, tt := range []struct {
		u          Unit
		want, word string
	}{{debianUnit, "pid-file", "HUPs the new master"}, {kill, "main-pid", "second set of workers"}, {none, "", "until the upgrade"}} {
		if got := ReloadSignals(tt.u); got != tt.want {
			t.Errorf("ReloadSignals(%q) = %q, want %q", tt.u.ReloadCommand(), got, tt.want)
		}
		if w := ReloadWarning(tt.u.Name, tt.u.ReloadCommand()).String(); !strings.Contains(w, tt.word) || !strings.Contains(w, tt.u.Name) {
			t.Errorf("ReloadWarning(%q) = %q, want it to mention %q", tt.u.ReloadCommand(), w, tt.word)
		}
	}
}
