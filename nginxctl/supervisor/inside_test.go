package supervisor

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
)

// InsideEnv is set when this test binary runs inside a container booted by nspawntest, where a
// real systemd runs Debian's unmodified nginx.service.
const InsideEnv = "HOTDEPLOY_INSIDE_SYSTEMD"

// TestInsideSystemd reads the real thing: the unit of nginx's master from its cgroup, and
// systemd's view of it through systemctl show. Run by nspawntest's TestSupervisorInside.
func TestInsideSystemd(t *testing.T) {
	if os.Getenv(InsideEnv) == "" {
		t.Skip("runs inside a systemd container: make test-systemd")
	}
	b, err := os.ReadFile("/run/nginx.pid")
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("/run/nginx.pid: %v", err)
	}

	p, err := UnitOf(pid)
	t.Logf("UnitOf(%d) = %+v", pid, p)
	if err != nil || p.Unit != "nginx.service" || p.Prefix != "" || p.Cgroup != "/system.slice/nginx.service" {
		t.Errorf("UnitOf(master %d) = %+v, %v; want nginx.service in /system.slice, no prefix", pid, p, err)
	}

	u, err := Show(context.Background(), p.Unit)
	t.Logf("Show = %+v", u)
	if err != nil {
		t.Fatal(err)
	}
	if u.MainPID != pid || u.ActiveState != "active" || u.SubState != "running" || u.Type != "forking" ||
		u.PIDFile != "/run/nginx.pid" || u.LoadState != "loaded" {
		t.Errorf("Show(nginx.service) = %+v; want MainPID %d, active running, Type=forking, PIDFile=/run/nginx.pid", u, pid)
	}
	if len(u.ExecReload) != 1 || u.ExecReload[0].Path != "/usr/sbin/nginx" || ReloadSignals(u) != "pid-file" {
		t.Errorf("ExecReload = %+v; want Debian's nginx -s reload", u.ExecReload)
	}

	f, err := Find(context.Background(), pid)
	if err != nil || f == nil || f.MainPID != pid {
		t.Errorf("Find(%d) = %+v, %v; want the unit with MainPID %d", pid, f, err, pid)
	}

	par, err := ParentOf(pid)
	t.Logf("ParentOf(%d) = %+v, classified %+v", pid, par, ClassifyParent(par))
	if err != nil || par.PID != 1 || par.Comm != "systemd" || !par.InContainer {
		t.Errorf("ParentOf(%d) = %+v, %v; want systemd, pid 1, in a container", pid, par, err)
	}
	if s := ClassifyParent(par); s.Kind != KindContainerInit {
		t.Errorf("ClassifyParent = %+v, want the container's PID 1", s)
	}

	if nu, err := Show(context.Background(), "no-such-unit-hotdeploy.service"); err != nil || nu.LoadState != "not-found" {
		t.Errorf("Show of an unknown unit = %+v, %v; want LoadState=not-found", nu, err)
	}
}
