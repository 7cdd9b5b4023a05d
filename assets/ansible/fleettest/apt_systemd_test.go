//go:build fleet

package fleettest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotdeploy/hotdeploy/nginxctl/supervisor/nspawntest"
)

// The apt flow under a real systemd: a container boots Debian's systemd with its unmodified
// nginx.service; inside it, ansible-core runs the playbook with connection local. The role
// installs hotdeploy's .deb, then an nginx package repacked from the container's own (the
// same binary plus a marker, the version bumped) with apt from the file, its scripts held off
// by the temporary policy-rc.d, then hot-upgrades to the binary apt put on disk. Nothing of
// this touches the machine's own nginx package: the container's root is a throw-away overlay.

const (
	inFleet = "/root/fleet" // where the test puts the playbook, the packages and the inventory
	unit    = "nginx.service"
)

// TestFleetAptInSystemd: the package upgrade and the hot upgrade, then a rerun that is a no-op.
func TestFleetAptInSystemd(t *testing.T) {
	nspawntest.Root(t) // skips unless make test-fleet prepared the root (.ci/systemd-root)
	c := nspawntest.Boot(t)
	pkg := repackNginx(t, c.Path("/"), t.TempDir())
	copyTree(t, c, env.ansibleDir, inFleet+"/ansible")
	c.CopyIn(t, env.deb, inFleet+"/"+filepath.Base(env.deb))
	c.CopyIn(t, pkg.deb, inFleet+"/"+filepath.Base(pkg.deb))
	inv := map[string]any{"nginx": map[string]any{"hosts": map[string]any{"web-systemd": map[string]any{
		"ansible_connection":         "local",
		"ansible_python_interpreter": "/usr/bin/python3",
		"hotdeploy_deb":              inFleet + "/" + filepath.Base(env.deb),
		"hotdeploy_nginx_deb":        inFleet + "/" + filepath.Base(pkg.deb),
		"hotdeploy_pidfile":          "/run/nginx.pid",
		"hotdeploy_probe_url":        "http://127.0.0.1/",
		"hotdeploy_summary_path":     inFleet + "/summary.json",
	}}}}
	b, _ := json.MarshalIndent(inv, "", "  ")
	writeFile(t, c.Path(inFleet+"/hosts.yml"), string(b), 0o644)

	oldPID := c.Show(t, unit).MainPID
	oldSHA := mustSHA(t, c.Path("/usr/sbin/nginx"))
	invocation := systemdProp(t, c, "InvocationID")
	version := strings.TrimSpace(c.Run(t, "dpkg-query", "-W", "-f=${Version}", "nginx"))
	if version != pkg.oldVersion {
		t.Fatalf("the container runs nginx %s, the repack was made from %s", version, pkg.oldVersion)
	}

	r := containerPlaybook(t, c, "apt-systemd")
	if r.code != 0 {
		t.Fatalf("ansible-playbook exited %d, want 0\n%s", r.code, r)
	}
	row := r.row(t, "web-systemd")
	res := row.Report
	if res == nil {
		t.Fatal("web-systemd: not reached")
	}
	u := c.Show(t, unit)
	newPID := u.MainPID
	for i := 0; i < 50 && newPID == oldPID; i++ { // systemd rereads the pid file in its own time
		time.Sleep(200 * time.Millisecond)
		u = c.Show(t, unit)
		newPID = u.MainPID
	}
	if res.Result != "committed" || !intIs(res.RC, 0) || res.OldPID != oldPID || res.NewPID != newPID || newPID == oldPID {
		t.Errorf("result %q exit %v, master %d -> %d; systemd MainPID %d -> %d: want committed to systemd's new MainPID",
			res.Result, deref(res.RC), res.OldPID, res.NewPID, oldPID, newPID)
	}
	if u.ActiveState != "active" || u.SubState != "running" {
		t.Errorf("nginx.service %s/%s after the upgrade, want active/running", u.ActiveState, u.SubState)
	}
	if got := systemdProp(t, c, "InvocationID"); got != invocation {
		t.Errorf("nginx.service was restarted (InvocationID %s -> %s): the package scripts were not held off", invocation, got)
	}
	if got := strings.TrimSpace(c.Run(t, "dpkg-query", "-W", "-f=${Version} ${db:Status-Abbrev}", "nginx")); got != pkg.version+" ii" {
		t.Errorf("nginx package after the playbook: %q, want %s installed (ii)", got, pkg.version)
	}
	if got := mustSHA(t, c.Path("/usr/sbin/nginx")); got != pkg.binarySHA {
		t.Errorf("/usr/sbin/nginx is %.12s, want the repacked binary %.12s", got, pkg.binarySHA)
	}
	if got := mustSHA(t, c.Path(fmt.Sprintf("/proc/%d/exe", newPID))); got != pkg.binarySHA {
		t.Errorf("the master %d runs %.12s, want the repacked binary %.12s", newPID, got, pkg.binarySHA)
	}
	if _, err := os.Lstat(c.Path("/usr/sbin/policy-rc.d")); err == nil {
		t.Error("/usr/sbin/policy-rc.d is still there after the playbook")
	}
	_, vOut, _ := c.Exec(context.Background(), nil, "nginx", "-v") // nginx -v writes to stderr
	nginxV := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(vOut), "nginx version:"))
	if res.OldBuild.SHA256 != oldSHA || res.NewBuild.SHA256 != pkg.binarySHA || res.NewBuild.Path != "/usr/sbin/nginx" ||
		res.OldBuild.Version != nginxV || res.NewBuild.Version != nginxV {
		t.Errorf("builds %+v -> %+v, want %.12s -> %.12s at /usr/sbin/nginx, version %s", res.OldBuild, res.NewBuild, oldSHA, pkg.binarySHA, nginxV)
	}
	if res.ProbeOK == nil || *res.ProbeOK == 0 || res.ProbeFailed == nil || *res.ProbeFailed != 0 {
		t.Errorf("probe %v ok, %v failed; want some ok and none failed", deref64(res.ProbeOK), deref64(res.ProbeFailed))
	}
	if r.changed["web-systemd"] == 0 {
		t.Error("changed=0 in the recap, want the package and the upgrade reported as changes")
	}

	t.Run("rerun-unchanged", func(t *testing.T) {
		r := containerPlaybook(t, c, "apt-systemd-rerun")
		res := r.row(t, "web-systemd").Report
		if r.code != 0 || res == nil || res.Result != "unchanged" || !intIs(res.RC, 0) || r.changed["web-systemd"] != 0 {
			t.Fatalf("rerun: exit %d, report %+v, changed=%d; want unchanged, exit 0, nothing changed\n%s", r.code, res, r.changed["web-systemd"], r)
		}
		if got := c.Show(t, unit).MainPID; got != newPID {
			t.Errorf("MainPID %d after the rerun, want %d still", got, newPID)
		}
	})
}

// containerPlaybook runs hot-upgrade.yml inside the container against the inventory there.
func containerPlaybook(t *testing.T, c *nspawntest.Container, name string) run {
	t.Helper()
	start := time.Now()
	out, stderr, err := c.Exec(context.Background(), []string{"HOME=/root", "ANSIBLE_NOCOLOR=1", "ANSIBLE_PIPELINING=1",
		"ANSIBLE_RETRY_FILES_ENABLED=0", "ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3", "ANSIBLE_FORCE_COLOR=0"},
		"ansible-playbook", "-i", inFleet+"/hosts.yml", inFleet+"/ansible/hot-upgrade.yml")
	r := run{output: out + stderr, rows: map[string]summaryRow{}}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("ansible-playbook in the container: %v\n%s", err, r.output)
	}
	keepLog(t, name, r.output)
	t.Logf("%s: ansible-playbook exited %d after %s", name, r.code, time.Since(start).Round(time.Second))
	r.printed = printedSummary(r.output)
	t.Logf("%s: summary printed:\n%s", name, strings.Join(r.printed, "\n"))
	r.changed = recapChanged(r.output)
	raw, err := os.ReadFile(c.Path(inFleet + "/summary.json"))
	if err != nil {
		t.Fatalf("%s: no summary file: %v\n%s", name, err, tail(r.output, 60))
	}
	var rows []summaryRow
	if err := json.Unmarshal(raw, &rows); err != nil {
		t.Fatalf("%s: summary file: %v\n%s", name, err, raw)
	}
	for _, row := range rows {
		r.rows[row.Host] = row
	}
	return r
}

func systemdProp(t *testing.T, c *nspawntest.Container, prop string) string {
	t.Helper()
	return strings.TrimSpace(c.Run(t, "systemctl", "show", "-p", prop, "--value", unit))
}

// copyTree copies the playbook and the role (not this test) into the container.
func copyTree(t *testing.T, c *nspawntest.Container, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() && rel == "fleettest" {
			return filepath.SkipDir
		}
		if d.Type().IsRegular() {
			c.CopyIn(t, p, filepath.Join(dst, rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
