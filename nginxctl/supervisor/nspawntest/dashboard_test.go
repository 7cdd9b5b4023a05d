package nspawntest_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The dashboard run inside the container (in tmux on the host, around nsenter) shows the unit
// in its header with systemd's MainPID judged ok, and after a `systemctl reload` mid-upgrade,
// judged not the master it should be.
func TestDashboardShowsTheUnit(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Fatalf("tmux is needed (make deps installs it): %v", err)
	}
	c := rig(t)
	old := c.Show(t, unit).MainPID
	sock := fmt.Sprintf("hotdeploy-nspawn-%d", os.Getpid())
	argv := []string{"nsenter", "-t", strconv.Itoa(c.Leader), "-a", "--", "env", "-i",
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm-256color", "NO_COLOR=1", "LANG=C.UTF-8",
		"hotdeploy", "--pidfile", pidFile, "--read-only", "--interval", "200ms"}
	tmux := func(args ...string) (string, error) {
		out, err := exec.Command("tmux", append([]string{"-L", sock}, args...)...).CombinedOutput()
		return string(out), err
	}
	if out, err := tmux(append([]string{"new-session", "-d", "-x", "120", "-y", "40"}, argv...)...); err != nil {
		t.Fatalf("tmux: %v: %s", err, out)
	}
	t.Cleanup(func() {
		_, _ = tmux("kill-server")
		_ = os.Remove(filepath.Join("/tmp", fmt.Sprintf("tmux-%d", os.Getuid()), sock)) // left by the ended server
	})
	waitScreen := func(want ...string) string {
		t.Helper()
		var screen string
		for i := 0; i < 150; i++ {
			screen, _ = tmux("capture-pane", "-p")
			ok := true
			for _, w := range want {
				ok = ok && strings.Contains(screen, w)
			}
			if ok {
				return screen
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Fatalf("the dashboard never showed %q; screen:\n%s", want, screen)
		return ""
	}
	screen := waitScreen("systemd", unit, fmt.Sprintf("MainPID %d ok", old))
	t.Logf("dashboard under systemd:\n%s", firstLines(screen, 6))

	// The reload trap, seen by the dashboard at its next scan (every few seconds).
	out, _, code := hotdeploy(t, c, "upgrade", "--pidfile", pidFile, "--new-binary", candidate, "--yes", "--json", "--stop-after", "drain")
	if r := lastResult(t, out); code != 0 || r.Result != "drained" {
		t.Fatalf("upgrade --stop-after drain: exit %d, %+v", code, r)
	}
	c.Run(t, "systemctl", "reload", unit)
	screen = waitScreen("NOT the master it should be")
	t.Logf("after systemctl reload mid-upgrade:\n%s", firstLines(screen, 6))
}

func firstLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	return strings.Join(lines[:min(n, len(lines))], "\n")
}
