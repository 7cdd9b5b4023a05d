package supervisor

import (
	"reflect"
	"strings"
	"testing"
)

// Lines as this machine's kernel printed them for nginx under a containerised systemd 252.
const (
	hybridInside = "9:name=systemd:/system.slice/nginx.service\n8:pids:/\n1:cpu:/\n0::/system.slice/nginx.service\n"
	hybridHost   = "9:name=systemd:/hd-1/payload/system.slice/nginx.service\n4:memory:/x\n0::/hd-1/payload/system.slice/nginx.service\n"
)

func TestParseCgroup(t *testing.T) {
	tests := []struct {
		name, in string
		want     Placement
	}{
		{"hybrid, inside the container", hybridInside,
			Placement{Cgroup: "/system.slice/nginx.service", Unit: "nginx.service"}},
		{"hybrid, seen from the host", hybridHost,
			Placement{Cgroup: "/hd-1/payload/system.slice/nginx.service", Unit: "nginx.service", Prefix: "/hd-1/payload"}},
		{"unified only", "0::/system.slice/nginx.service\n",
			Placement{Cgroup: "/system.slice/nginx.service", Unit: "nginx.service"}},
		{"hybrid host whose unified line says nothing", "1:name=systemd:/system.slice/nginx.service\n0::/\n",
			Placement{Cgroup: "/system.slice/nginx.service", Unit: "nginx.service"}},
		{"legacy v1 without a unified line", "2:cpu:/\n1:name=systemd:/system.slice/nginx.service\n",
			Placement{Cgroup: "/system.slice/nginx.service", Unit: "nginx.service"}},
		{"template instance in a sub-slice", "0::/system.slice/system-nginx.slice/nginx@web.service\n",
			Placement{Cgroup: "/system.slice/system-nginx.slice/nginx@web.service", Unit: "nginx@web.service"}},
		{"in -.slice", "0::/nginx.service\n", Placement{Cgroup: "/nginx.service", Unit: "nginx.service"}},
		{"no slice but a prefix", "0::/box/nginx.service\n",
			Placement{Cgroup: "/box/nginx.service", Unit: "nginx.service", Prefix: "/box"}},
		{"root cgroup (no systemd)", "9:name=systemd:/\n0::/\n", Placement{Cgroup: "/"}},
		{"no systemd hierarchy at all", "0::/\n", Placement{Cgroup: "/"}},
		{"a login session", "0::/user.slice/user-0.slice/session-3.scope\n",
			Placement{Cgroup: "/user.slice/user-0.slice/session-3.scope"}},
		{"a delegated sub-cgroup is not the unit's main cgroup", "0::/system.slice/docker.service/payload\n",
			Placement{Cgroup: "/system.slice/docker.service/payload"}},
		{"bare .service", "0::/.service\n", Placement{Cgroup: "/.service"}},
		{"empty", "", Placement{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ParseCgroup(tt.in); got != tt.want {
				t.Errorf("ParseCgroup = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// showNginx is `systemctl show` of Debian's unmodified nginx.service under systemd 252.
const showNginx = `Type=forking
PIDFile=/run/nginx.pid
MainPID=38
ExecReload={ path=/usr/sbin/nginx ; argv[]=/usr/sbin/nginx -g daemon on; master_process on; -s reload ; ignore_errors=no ; start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }
LoadState=loaded
ActiveState=active
SubState=running
`

func TestParseShow(t *testing.T) {
	debianReload := ExecCommand{Path: "/usr/sbin/nginx", Argv: "/usr/sbin/nginx -g daemon on; master_process on; -s reload"}
	tests := []struct {
		name, in string
		want     Unit
		err      string
	}{
		{"debian nginx.service", showNginx, Unit{Name: "nginx.service", LoadState: "loaded", ActiveState: "active",
			SubState: "running", Type: "forking", PIDFile: "/run/nginx.pid", MainPID: 38, ExecReload: []ExecCommand{debianReload}}, ""},
		{"unknown unit", "MainPID=0\nLoadState=not-found\nActiveState=inactive\n",
			Unit{Name: "nginx.service", LoadState: "not-found", ActiveState: "inactive"}, ""},
		{"two reload commands, one ignoring errors, and no ExecReload value", "ExecReload={ path=/bin/true ; argv[]=/bin/true ; ignore_errors=yes ; start_time=[n/a] }\nExecReload={ path=/bin/kill ; argv[]=/bin/kill -HUP $MAINPID ; ignore_errors=no ; start_time=[n/a] }\nExecReload=\nType=simple\n",
			Unit{Name: "nginx.service", Type: "simple", ExecReload: []ExecCommand{
				{Path: "/bin/true", Argv: "/bin/true", IgnoreErrors: true}, {Path: "/bin/kill", Argv: "/bin/kill -HUP $MAINPID"}}}, ""},
		{"an argument that is a lone semicolon", "ExecReload={ path=/bin/echo ; argv[]=/bin/echo ; x ; ignore_errors=no ; pid=0 }\n",
			Unit{Name: "nginx.service", ExecReload: []ExecCommand{{Path: "/bin/echo", Argv: "/bin/echo ; x"}}}, ""},
		{"MainPID not a number", "MainPID=abc\n", Unit{}, `MainPID "abc" is not a pid`},
		{"negative MainPID", "MainPID=-1\n", Unit{}, `MainPID "-1" is not a pid`},
		{"mangled ExecReload", "ExecReload=/usr/sbin/nginx -s reload\n", Unit{}, "is not { … }"},
		{"ExecReload without argv", "ExecReload={ path=/x ; ignore_errors=no }\n", Unit{}, "lacks path="},
		{"nothing printed", "\n", Unit{}, "printed no properties"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseShow("nginx.service", tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseShow error = %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseShow =\n%+v, want\n%+v", got, tt.want)
			}
		})
	}
}

func TestShowArgs(t *testing.T) {
	got := strings.Join(ShowArgs("nginx.service"), " ")
	want := "show -p LoadState -p ActiveState -p SubState -p Type -p PIDFile -p MainPID -p ExecReload -- nginx.service"
	if got != want {
		t.Errorf("ShowArgs = %q, want %q", got, want)
	}
}

func TestClassifyParent(t *testing.T) {
	tests := []struct {
		name string
		in   Parent
		want string
	}{
		{"supervisord", Parent{PID: 40, Comm: "supervisord", NSPids: []int{40}}, KindSupervisord},
		{"runit", Parent{PID: 41, Comm: "runsv", NSPids: []int{41}}, KindRunit},
		{"s6", Parent{PID: 42, Comm: "s6-supervise", NSPids: []int{42}}, KindS6},
		{"a container's init seen from the host", Parent{PID: 9000, Comm: "tini", NSPids: []int{9000, 1}}, KindContainerInit},
		{"nspawn's systemd seen from the host", Parent{PID: 9001, Comm: "systemd", NSPids: []int{9001, 1}}, KindContainerInit},
		{"our PID 1 inside a container", Parent{PID: 1, Comm: "dumb-init", NSPids: []int{1}, InContainer: true}, KindContainerInit},
		{"the host's init after daemonising", Parent{PID: 1, Comm: "systemd", NSPids: []int{1}}, ""},
		{"a shell", Parent{PID: 300, Comm: "bash", NSPids: []int{300}}, ""},
		{"a process in a container, not its init", Parent{PID: 9005, Comm: "bash", NSPids: []int{9005, 12}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ClassifyParent(tt.in)
			if got.Kind != tt.want {
				t.Fatalf("ClassifyParent(%+v).Kind = %q, want %q", tt.in, got.Kind, tt.want)
			}
			if got.Known() && (got.PID != tt.in.PID || got.Comm != tt.in.Comm) {
				t.Errorf("ClassifyParent = %+v, want pid %d comm %s", got, tt.in.PID, tt.in.Comm)
			}
		})
	}
}
