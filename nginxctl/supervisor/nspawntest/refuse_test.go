package nspawntest_test

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/supervisor"
	"github.com/hotdeploy/hotdeploy/nginxctl/supervisor/nspawntest"
)

// A drop-in making nginx.service Type=simple with `daemon off`: the upgrade is refused before
// any signal, and the check names the unit's type.
func TestTypeSimpleRefused(t *testing.T) {
	c := rig(t)
	dropIn := "[Service]\nType=simple\nPIDFile=\nExecStart=\nExecStart=/usr/sbin/nginx -g 'daemon off; master_process on;'\n"
	if err := os.MkdirAll(c.Path("/etc/systemd/system/nginx.service.d"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(c.Path("/etc/systemd/system/nginx.service.d/simple.conf"), []byte(dropIn), 0o644); err != nil {
		t.Fatal(err)
	}
	c.Run(t, "systemctl", "daemon-reload")
	c.Run(t, "systemctl", "restart", unit)
	u := waitUnit(t, c, func(u supervisor.Unit) bool { return u.ActiveState == "active" && u.MainPID > 0 })
	if u.Type != "simple" || u.PIDFile != "" {
		t.Fatalf("the drop-in did not apply: %+v", u)
	}
	in := waitMasterWithWorkers(t, c)
	if in.Masters[0].PID != u.MainPID {
		t.Fatalf("master %d, systemd MainPID %d: want the same", in.Masters[0].PID, u.MainPID)
	}

	out, _, code := hotdeploy(t, c, "upgrade", "--pidfile", pidFile, "--new-binary", candidate, "--yes", "--json")
	if r := lastResult(t, out); code != 2 || r.Result != "refused" || !strings.Contains(r.Error, "daemon off") {
		t.Errorf("upgrade under Type=simple: exit %d, %+v; want refused (exit 2) naming daemon off", code, r)
	}
	if strings.Contains(out, `"signal":`) {
		t.Errorf("a signal was sent despite the refusal:\n%s", out)
	}
	after := c.Show(t, unit)
	if after.MainPID != u.MainPID || after.ActiveState != "active" {
		t.Errorf("after the refusal systemd has MainPID %d %s, want %d active (nothing changed)", after.MainPID, after.ActiveState, u.MainPID)
	}
	f := supervisor.CheckType(after, true)
	if f == nil || !f.Refuse || !strings.Contains(f.Cause, "Type=simple") {
		t.Fatalf("CheckType = %v, want a refusal naming Type=simple", f)
	}
	t.Logf("type finding: %s", f)
}

// nginx.conf's pid directive edited after the unit started: the new master writes a file
// systemd does not read. The check refuses it; then the upgrade done by hand (USR2, QUIT) shows
// why: systemd finds no new main pid when the old master exits and kills the new master.
func TestPidDirectiveEdited(t *testing.T) {
	c := rig(t)
	old := c.Show(t, unit).MainPID
	conf := c.Path("/etc/nginx/nginx.conf")
	b, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(b), "pid /run/nginx.pid;", "pid /run/nginx-edited.pid;", 1)
	if edited == string(b) {
		t.Fatalf("Debian's nginx.conf has no `pid /run/nginx.pid;` line to edit")
	}
	if err := os.WriteFile(conf, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	// What the new master would use: the pid directive of the configuration on disk.
	dump := c.Run(t, "nginx", "-T", "-q")
	m := regexp.MustCompile(`(?m)^\s*pid\s+([^;\s]+);`).FindStringSubmatch(dump)
	if m == nil {
		t.Fatalf("no pid directive in nginx -T:\n%s", dump)
	}
	f := supervisor.CheckPidFile(m[1], c.Show(t, unit))
	if f == nil || !f.Refuse || !strings.Contains(f.Cause, "/run/nginx-edited.pid") || !strings.Contains(f.Fix, "pid /run/nginx.pid;") {
		t.Fatalf("CheckPidFile(%s) = %v, want a refusal naming both files", m[1], f)
	}
	t.Logf("pid file finding: %s", f)

	// hotdeploy refuses before any signal, and changes nothing.
	out, stderr, code := hotdeploy(t, c, "upgrade", "--pidfile", pidFile, "--new-binary", candidate, "--yes", "--json")
	if r := lastResult(t, out); code != 2 || r.Result != "refused" || !strings.Contains(r.Error, "/run/nginx-edited.pid") {
		t.Fatalf("upgrade with the pid directive edited: exit %d, %+v; want refused naming the edited pid file", code, r)
	}
	t.Logf("refusal: %s", strings.TrimSpace(stderr))
	if u := c.Show(t, unit); u.MainPID != old || u.ActiveState != "active" {
		t.Fatalf("after the refusal systemd has MainPID %d %s, want %d active", u.MainPID, u.ActiveState, old)
	}

	c.Run(t, "kill", "-USR2", strconv.Itoa(old))
	newPID := 0
	for i := 0; i < 150 && newPID == 0; i++ {
		b, _ := os.ReadFile(c.Path("/run/nginx-edited.pid"))
		newPID, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		time.Sleep(200 * time.Millisecond)
	}
	if newPID == 0 {
		t.Fatal("the new master wrote no /run/nginx-edited.pid within 30 s")
	}
	c.Run(t, "kill", "-QUIT", strconv.Itoa(old))
	u := waitUnit(t, c, func(u supervisor.Unit) bool { return u.ActiveState != "active" })
	for i := 0; i < 50 && alive(t, c, newPID); i++ {
		time.Sleep(200 * time.Millisecond)
	}
	if u.ActiveState == "active" || alive(t, c, newPID) {
		t.Errorf("after the commit systemd says %s, new master %d alive %v; want the unit stopped and the new master killed, as the finding says",
			u.ActiveState, newPID, alive(t, c, newPID))
	}
}

// waitMasterWithWorkers polls hotdeploy status (bounded) until one master runs workers.
func waitMasterWithWorkers(t *testing.T, c *nspawntest.Container) (in model.Instance) {
	t.Helper()
	for i := 0; i < 150; i++ {
		in, _ = status(t, c)
		if len(in.Masters) == 1 && len(in.Masters[0].Workers()) > 0 {
			return in
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("no master with workers after 30 s: %+v", in.Masters)
	return in
}
