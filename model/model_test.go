package model

import (
	"encoding/json"
	"strings"
	"testing"
)

// Synthetic snapshots: old master 100 with workers 101..., new master 200 with workers 201....

func worker(pid, ppid int, draining bool) Process {
	return Process{PID: pid, PPID: ppid, Role: RoleWorker, ShuttingDown: draining, Comm: "nginx"}
}

func master(pid, ppid int, children ...Process) Master {
	return Master{Process: Process{PID: pid, PPID: ppid, Role: RoleMaster, Comm: "nginx"}, Children: children}
}

func idle() Instance {
	return Instance{PidFile: "/run/nginx.pid", Binary: "/usr/sbin/nginx", BinaryDiffers: true, PidFilePID: 100,
		Masters: []Master{master(100, 1, worker(101, 100, false), worker(102, 100, false),
			Process{PID: 103, PPID: 100, Role: RoleCacheManager})}}
}

func upgrading(pidFile int, oldChildren []Process, newChildren ...Process) Instance {
	in := idle()
	in.PidFilePID, in.OldbinPID = pidFile, 100
	in.Masters = []Master{master(100, 1, oldChildren...), master(200, 100, newChildren...)}
	return in
}

// orphaned: idle, with the worker and cache manager of a dead new master still running.
func orphaned() Instance {
	in := idle()
	in.Orphans = []Process{worker(201, 1, false), {PID: 203, PPID: 1, Role: RoleCacheManager}}
	return in
}

// running: idle with the running build on disk (nothing installed).
func running() Instance {
	in := idle()
	in.BinaryDiffers = false
	return in
}

func oldbinOnly() Instance {
	in := idle()
	in.PidFilePID, in.OldbinPID = 0, 100
	return in
}

func staleOldbin() Instance {
	in := idle()
	in.OldbinPID = 4242
	return in
}

var (
	oldActive   = []Process{worker(101, 100, false), worker(102, 100, false)}
	oldDraining = []Process{worker(101, 100, true), worker(102, 100, false)}
	oldAllDrain = []Process{worker(101, 100, true), worker(102, 100, true)}
	oldCacheMgr = []Process{{PID: 103, PPID: 100, Role: RoleCacheManager}}
	newWorkers  = []Process{worker(201, 200, false), worker(202, 200, false)}
)

func TestDerivePhase(t *testing.T) {
	tests := []struct {
		name string
		in   Instance
		want Phase
	}{
		{"no master", Instance{}, PhaseIdle},
		{"one master", idle(), PhaseIdle},
		{"pid file renamed to .oldbin, new master not seen yet", oldbinOnly(), PhaseNewStarting},
		{"stale .oldbin names another pid", staleOldbin(), PhaseIdle},
		// nginx writes the pid file before it starts workers: none while they run means it was removed.
		{"pid file removed while the new master serves", upgrading(0, oldActive, newWorkers...), PhaseBothServing},
		{"new master has not written the pid file yet", upgrading(0, oldActive), PhaseNewStarting},
		{"pid file still names the old master", upgrading(100, oldActive, newWorkers...), PhaseNewStarting},
		{"new master has no worker yet", upgrading(200, oldActive), PhaseNewStarting},
		{"new master's only worker is shutting down", upgrading(200, oldActive, worker(201, 200, true)), PhaseNewStarting},
		{"both serve", upgrading(200, oldActive, newWorkers...), PhaseBothServing},
		{"one old worker still accepts", upgrading(200, oldDraining, newWorkers...), PhaseBothServing},
		{"all old workers shutting down", upgrading(200, oldAllDrain, newWorkers...), PhaseOldDraining},
		{"only the old cache manager is left", upgrading(200, oldCacheMgr, newWorkers...), PhaseOldDraining},
		{"old master has no children", upgrading(200, nil, newWorkers...), PhaseOldDrained},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DerivePhase(tt.in); got != tt.want {
				t.Errorf("DerivePhase = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestCheckRefusals(t *testing.T) {
	ignored := idle()
	ignored.Masters[0].SignalsIgnored = "daemon off under its original parent"
	badArgv0 := idle()
	badArgv0.Masters[0].Argv0Problem = "argv[0] \"nginx\" is relative"
	same := idle()
	same.BinaryDiffers = false
	noWorkers := idle()
	noWorkers.Masters[0].Children = nil
	hidden := idle()
	hidden.Hidden = []string{"/proc/100/exe"}
	ignoredBoth := upgrading(200, oldActive, newWorkers...)
	ignoredBoth.Masters[0].SignalsIgnored = "daemon off: WINCH is ignored"

	tests := []struct {
		name   string
		in     Instance
		ctx    Context
		action Action
		reason string // substring of the refusal; empty means allowed
	}{
		{"read-only", idle(), Context{ReadOnly: true}, ActUpgrade, "read-only"},
		{"busy", idle(), Context{Busy: "drain"}, ActInstall, "drain is still running"},
		{"no master", Instance{}, Context{}, ActTest, "no nginx master"},
		{"hidden details", hidden, Context{}, ActUpgrade, "not permitted"},

		{"install when idle", idle(), Context{}, ActInstall, ""},
		{"install during upgrade", upgrading(200, oldActive, newWorkers...), Context{}, ActInstall, "upgrade is running"},
		{"test when idle", idle(), Context{}, ActTest, ""},
		{"test during upgrade", upgrading(0, oldActive), Context{}, ActTest, "upgrade is running"},

		{"upgrade when idle and binary differs", idle(), Context{}, ActUpgrade, ""},
		{"upgrade twice", upgrading(0, oldActive), Context{}, ActUpgrade, "already running"},
		{"upgrade with daemon off", ignored, Context{}, ActUpgrade, "daemon off"},
		{"upgrade with bad argv0", badArgv0, Context{}, ActUpgrade, "relative"},
		{"upgrade with same binary", same, Context{}, ActUpgrade, "already running: install"},
		{"upgrade without workers", noWorkers, Context{}, ActUpgrade, "no running worker"},

		{"drain when idle", idle(), Context{}, ActDrain, "no upgrade"},
		{"drain while new starts", upgrading(0, oldActive), Context{}, ActDrain, "not serving yet"},
		{"drain when both serve", upgrading(200, oldActive, newWorkers...), Context{}, ActDrain, ""},
		{"drain while draining", upgrading(200, oldAllDrain, newWorkers...), Context{}, ActDrain, "already draining"},
		{"drain when drained", upgrading(200, nil, newWorkers...), Context{}, ActDrain, "no workers left"},
		{"drain with daemon off", ignoredBoth, Context{}, ActDrain, "WINCH is ignored"},

		{"commit when idle", idle(), Context{}, ActCommit, "nothing to commit"},
		{"commit while new starts", upgrading(0, oldActive), Context{}, ActCommit, "not serving yet"},
		{"commit when both serve", upgrading(200, oldActive, newWorkers...), Context{}, ActCommit, ""},
		{"commit while draining", upgrading(200, oldAllDrain, newWorkers...), Context{}, ActCommit, ""},
		{"commit when drained", upgrading(200, nil, newWorkers...), Context{}, ActCommit, ""},

		{"rollback after SIGQUIT reached the old master", upgrading(200, oldAllDrain, newWorkers...), Context{QuitSent: 100}, ActRollback, "got SIGQUIT"},
		{"commit again after SIGQUIT", upgrading(200, oldAllDrain, newWorkers...), Context{QuitSent: 100}, ActCommit, "got SIGQUIT"},
		{"SIGQUIT to another master does not count", upgrading(200, oldAllDrain, newWorkers...), Context{QuitSent: 99}, ActRollback, ""},
		{"rollback after a SIGQUIT that may have gone out", upgrading(200, oldAllDrain, newWorkers...), Context{QuitSent: 100, QuitUnsure: true}, ActRollback, "may have got SIGQUIT"},
		{"rollback when idle with the running build on disk", running(), Context{}, ActRollback, "no old master"},
		{"rollback undoes an install never started (or whose new master died)", idle(), Context{}, ActRollback, ""},
		{"rollback ends a dead master's processes", orphaned(), Context{}, ActRollback, ""},
		{"no upgrade beside a dead master's processes", orphaned(), Context{}, ActUpgrade, "roll back first"},
		{"no install beside a dead master's processes", orphaned(), Context{}, ActInstall, "roll back first"},
		{"a config test beside them changes nothing", orphaned(), Context{}, ActTest, ""},
		{"rollback right after USR2, new master not seen", oldbinOnly(), Context{}, ActRollback, ""},
		{"drain right after USR2", oldbinOnly(), Context{}, ActDrain, "not serving yet"},
		{"upgrade right after USR2", oldbinOnly(), Context{}, ActUpgrade, "already running"},
		{"rollback while new starts", upgrading(0, oldActive), Context{}, ActRollback, ""},
		{"rollback when drained", upgrading(200, nil, newWorkers...), Context{}, ActRollback, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Check(tt.in, tt.ctx, tt.action)
			if tt.reason == "" {
				if !v.Allowed {
					t.Fatalf("%s refused: %s", tt.action, v.Reason)
				}
				return
			}
			if v.Allowed {
				t.Fatalf("%s allowed, want refusal containing %q", tt.action, tt.reason)
			}
			if !strings.Contains(v.Reason, tt.reason) {
				t.Fatalf("reason %q does not contain %q", v.Reason, tt.reason)
			}
		})
	}
}

func TestCommitWarnings(t *testing.T) {
	tests := []struct {
		name    string
		in      Instance
		warning string
	}{
		{"both serving warns about undrained workers", upgrading(200, oldActive, newWorkers...), "not drained"},
		{"draining warns about the wait", upgrading(200, oldAllDrain, newWorkers...), "draining workers finish"},
		{"drained commits quietly", upgrading(200, nil, newWorkers...), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Check(tt.in, Context{}, ActCommit)
			if !v.Allowed || !strings.Contains(v.Warning, tt.warning) || (tt.warning == "") != (v.Warning == "") {
				t.Fatalf("verdict %+v, want warning containing %q", v, tt.warning)
			}
		})
	}
}

// TestUpgradeToSameBytesRefused: another file with the running build's bytes (a copy, or what a
// rollback restored) is no new build: u says to install one first (DESIGN.md, headless
// `unchanged`).
func TestUpgradeToSameBytesRefused(t *testing.T) {
	in := idle()
	in.BinaryDiffers, in.BinarySameBytes = false, true
	v := Check(in, Context{}, ActUpgrade)
	if v.Allowed || !strings.Contains(v.Reason, "same build") || !strings.Contains(v.Reason, "install a new build") {
		t.Fatalf("verdict %+v, want refused: same build, install a new build first", v)
	}
	if v := Check(idle(), Context{}, ActUpgrade); v.Warning != "" {
		t.Fatalf("a different binary warns: %q", v.Warning)
	}
}

func TestCheckAllCoversEveryAction(t *testing.T) {
	vs := CheckAll(idle(), Context{})
	if len(vs) != len(Actions) {
		t.Fatalf("%d verdicts for %d actions", len(vs), len(Actions))
	}
	for i, v := range vs {
		if v.Action != Actions[i] {
			t.Errorf("verdict %d is for %s, want %s", i, v.Action, Actions[i])
		}
	}
}

func TestParseTitle(t *testing.T) {
	tests := []struct {
		title    string
		role     Role
		draining bool
	}{
		{"nginx: master process /usr/sbin/nginx -g daemon on; master_process on;", RoleMaster, false},
		{"angie: master process /usr/sbin/angie", RoleMaster, false},
		{"nginx: worker process", RoleWorker, false},
		{"nginx: worker process is shutting down", RoleWorker, true},
		{"nginx: cache manager process", RoleCacheManager, false},
		{"nginx: cache loader process", RoleCacheLoader, false},
		{"/usr/sbin/nginx -t", RoleUnknown, false},
		{"", RoleUnknown, false},
		// Angie: the configuration generation follows every title.
		{"angie: master process v1.11.3 #1 [/usr/sbin/angie -c /etc/angie/angie.conf]", RoleMaster, false},
		{"angie: worker process #1", RoleWorker, false},
		{"angie: worker process is shutting down #2", RoleWorker, true},
		{"angie: cache manager process #12", RoleCacheManager, false},
		{"angie: cache loader process #1", RoleCacheLoader, false},
		{"angie: worker process #", RoleWorker, false},
		{"angie: worker process is shutting down #x", RoleWorker, false}, // not a generation: not the drain suffix
		// OpenResty, Tengine and freenginx keep nginx's titles; comm may differ.
		{"nginx: master process /usr/local/openresty/nginx/sbin/nginx -p /usr/local/openresty/nginx/", RoleMaster, false},
		{"openresty: worker process", RoleWorker, false},
		{"nginx: worker process is shutting down", RoleWorker, true},
		{"tengine: cache manager process", RoleCacheManager, false},
		{"freenginx: worker process is shutting down", RoleWorker, true},
	}
	for _, tt := range tests {
		role, draining := ParseTitle(tt.title)
		if role != tt.role || draining != tt.draining {
			t.Errorf("ParseTitle(%q) = %s,%v want %s,%v", tt.title, role, draining, tt.role, tt.draining)
		}
	}
}

func TestDescribeRollback(t *testing.T) {
	tests := []struct {
		name   string
		in     Instance
		signal string
		target int
	}{
		{"old workers still accept: no HUP, QUIT the new master", upgrading(200, oldActive, newWorkers...), "SIGQUIT", 200},
		{"old workers draining: HUP the old master", upgrading(200, oldAllDrain, newWorkers...), "SIGHUP", 100},
		{"old master drained: HUP the old master", upgrading(200, nil, newWorkers...), "SIGHUP", 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Describe(tt.in, ActRollback, "")
			if p.Signal != tt.signal || p.Target.PID != tt.target {
				t.Fatalf("plan %s to %d, want %s to %d", p.Signal, p.Target.PID, tt.signal, tt.target)
			}
			if p.Irreversible == "" {
				t.Fatal("rollback must say what cannot be undone")
			}
		})
	}
}

func TestDescribeNamesSignalAndTarget(t *testing.T) {
	in := upgrading(200, nil, newWorkers...)
	for _, tt := range []struct {
		in     Instance
		action Action
		signal string
	}{
		{idle(), ActUpgrade, "SIGUSR2"},
		{upgrading(200, oldActive, newWorkers...), ActDrain, "SIGWINCH"},
		{in, ActCommit, "SIGQUIT"},
	} {
		p := Describe(tt.in, tt.action, "")
		if p.Signal != tt.signal || p.Target.PID != 100 || p.Effect == "" {
			t.Errorf("%s: plan %+v", tt.action, p)
		}
	}
	if Describe(in, ActCommit, "").Irreversible == "" {
		t.Error("commit must say what cannot be undone")
	}
}

func TestStatusJSONNames(t *testing.T) {
	in := upgrading(200, oldAllDrain, newWorkers...)
	in.Phase = DerivePhase(in)
	in.Masters[0].Generation, in.Masters[1].Generation = GenOld, GenNew
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"pid_file":"/run/nginx.pid"`, `"phase":"old-draining"`, `"generation":"old"`,
		`"generation":"new"`, `"role":"worker"`, `"shutting_down":true`, `"exe_replaced":false`, `"start_ticks":0`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON lacks %s: %s", want, b)
		}
	}
	var p Phase
	if err := p.UnmarshalText([]byte("both-serving")); err != nil || p != PhaseBothServing {
		t.Errorf("UnmarshalText = %v, %v", p, err)
	}
}
