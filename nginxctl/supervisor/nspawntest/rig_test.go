package nspawntest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/supervisor"
	"github.com/hotdeploy/hotdeploy/nginxctl/supervisor/nspawntest"
)

func TestMain(m *testing.M) { nspawntest.Main(m) }

const (
	unit      = "nginx.service"
	pidFile   = "/run/nginx.pid"
	candidate = "/usr/local/sbin/nginx-candidate"
)

// rig boots Debian's systemd with its unmodified nginx.service, copies in the static hotdeploy
// and a candidate binary (the container's nginx with a marker appended, so its bytes differ),
// and logs the test's wall time, halt included.
func rig(t *testing.T) *nspawntest.Container {
	nspawntest.Root(t) // skips unless make test-systemd prepared a root
	start := time.Now()
	t.Cleanup(func() { t.Logf("wall time %s", time.Since(start).Round(time.Millisecond)) })
	bin := nspawntest.Hotdeploy(t)
	c := nspawntest.Boot(t)
	c.CopyIn(t, bin, "/usr/local/bin/hotdeploy")
	b, err := os.ReadFile(c.Path("/usr/sbin/nginx"))
	if err == nil {
		b = append(b, fmt.Sprintf("\nhotdeploy systemd test candidate %d\n", time.Now().UnixNano())...)
		err = os.WriteFile(c.Path(candidate), b, 0o755)
	}
	if err != nil {
		t.Fatalf("make the candidate binary: %v", err)
	}
	return c
}

// hotdeploy runs the hotdeploy command inside and returns its output and exit code.
func hotdeploy(t *testing.T, c *nspawntest.Container, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	args = append(args, "--audit-log", "/root/hotdeploy-audit.log")
	stdout, stderr, err := c.Exec(context.Background(), nil, append([]string{"hotdeploy"}, args...)...)
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	t.Logf("hotdeploy %s: exit %d\n%s%s", strings.Join(args, " "), code, stdout, stderr)
	return stdout, stderr, code
}

// result is the final object of a headless --json run.
type result struct {
	Result   string             `json:"result"`
	ExitCode int                `json:"exit_code"`
	OldPID   int                `json:"old_pid"`
	NewPID   int                `json:"new_pid"`
	Phase    string             `json:"phase"`
	Error    string             `json:"error"`
	Warnings []string           `json:"warnings"`
	Systemd  *model.SystemdUnit `json:"systemd"`
}

func lastResult(t *testing.T, out string) result {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var r result
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &r); err != nil {
		t.Fatalf("last line of --json output is no result object: %v\n%s", err, out)
	}
	return r
}

// statusJSON is the part of `status --json` the checks need.
type statusJSON struct {
	Instances []struct {
		Phase      string `json:"phase"`
		PidFilePID int    `json:"pid_file_pid"`
		Masters    []struct {
			PID      int `json:"pid"`
			Children []struct {
				PID          int    `json:"pid"`
				Role         string `json:"role"`
				ShuttingDown bool   `json:"shutting_down"`
			} `json:"children"`
		} `json:"masters"`
	} `json:"instances"`
}

// status reads hotdeploy's view inside the container as the model.Instance the checks take.
func status(t *testing.T, c *nspawntest.Container) (model.Instance, string) {
	t.Helper()
	raw := c.Run(t, "hotdeploy", "status", "--json", "--pidfile", pidFile)
	var s statusJSON
	if err := json.Unmarshal([]byte(raw), &s); err != nil || len(s.Instances) != 1 {
		t.Fatalf("status --json: %v, want one instance:\n%s", err, raw)
	}
	si := s.Instances[0]
	in := model.Instance{PidFile: pidFile, PidFilePID: si.PidFilePID}
	var err error
	if in.Phase, err = model.ParsePhase(si.Phase); err != nil {
		t.Fatal(err)
	}
	for _, m := range si.Masters {
		mm := model.Master{Process: model.Process{PID: m.PID, Role: model.RoleMaster}}
		for _, ch := range m.Children {
			role := model.RoleUnknown
			if ch.Role == "worker" {
				role = model.RoleWorker
			}
			mm.Children = append(mm.Children, model.Process{PID: ch.PID, PPID: m.PID, Role: role, ShuttingDown: ch.ShuttingDown})
		}
		in.Masters = append(in.Masters, mm)
	}
	return in, raw
}

// waitStatus polls hotdeploy status (bounded) until the phase is want.
func waitStatus(t *testing.T, c *nspawntest.Container, want model.Phase) model.Instance {
	t.Helper()
	var in model.Instance
	for i := 0; i < 150; i++ {
		if in, _ = status(t, c); in.Phase == want {
			return in
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("phase %s, want %s (waited 30 s)", in.Phase, want)
	return in
}

// waitUnit polls systemd's view (bounded) until ok says it settled, and returns the last one:
// systemd handles the exit of a main pid in its own event loop, after hotdeploy saw it.
func waitUnit(t *testing.T, c *nspawntest.Container, ok func(supervisor.Unit) bool) supervisor.Unit {
	t.Helper()
	var u supervisor.Unit
	for i := 0; i < 50; i++ {
		if u = c.Show(t, unit); ok(u) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("systemd: MainPID=%d ActiveState=%s SubState=%s", u.MainPID, u.ActiveState, u.SubState)
	return u
}

var probeLine = regexp.MustCompile(`probe \S+: (\d+) ok, (\d+) failed`)

// probeCounts reads hotdeploy's probe summary from its stderr.
func probeCounts(t *testing.T, stderr string) (ok, failed int) {
	t.Helper()
	m := probeLine.FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no probe summary in stderr:\n%s", stderr)
	}
	ok, _ = strconv.Atoi(m[1])
	failed, _ = strconv.Atoi(m[2])
	return ok, failed
}

func alive(t *testing.T, c *nspawntest.Container, pid int) bool {
	t.Helper()
	_, err := os.Stat(c.Path(fmt.Sprintf("/proc/%d/stat", pid)))
	return err == nil
}
