package main

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hotdeploy/hotdeploy/nginxctl/sandbox"
	"github.com/hotdeploy/hotdeploy/nginxctl/sandbox/sandboxtest"
	"github.com/hotdeploy/hotdeploy/nginxctl/upgrade"
	"github.com/hotdeploy/hotdeploy/nginxctl/upgrade/upgradetest"
)

// `hotdeploy upgrade --probe URL` through run(), as a script would call it.
func probeCLI(t *testing.T, probe func(sb *sandbox.Sandbox) string) (int, string, string, *sandbox.Sandbox, int) {
	t.Helper()
	sb := sandboxtest.Start(t, sandbox.SandboxOptions{Workers: 2})
	master := upgradetest.Settled(t, sb, 2).Masters[0].PID
	var out, errOut bytes.Buffer
	code := run([]string{"upgrade", "--new-binary", upgradetest.Copy(t), "--yes", "--json", "--probe", probe(sb),
		"--pidfile", sb.PidFile, "--audit-log", filepath.Join(t.TempDir(), "audit.log")}, &out, &errOut)
	return code, out.String(), errOut.String(), sb, master
}

func TestCLIUpgradeWithProbeCommits(t *testing.T) {
	code, out, errOut, _, _ := probeCLI(t, func(sb *sandbox.Sandbox) string { return sb.URL })
	if r := upgradetest.LastResult(t, out); code != 0 || r.Result != "committed" {
		t.Fatalf("exit %d, result %+v, stderr %s", code, r, errOut)
	}
	if !strings.Contains(errOut, " ok, 0 failed") {
		t.Errorf("stderr should end with the probe's summary and no failure: %q", errOut)
	}
	// The result's probe object and the summary on stderr count the same requests: the probe
	// stops before the result is made.
	objs := upgradetest.JSONLines(t, out)
	probe, _ := objs[len(objs)-1]["probe"].(map[string]any)
	want := fmt.Sprintf(": %v ok, %v failed", probe["ok"], probe["failed"])
	if probe == nil || !strings.Contains(errOut, want) {
		t.Errorf("result probe %v; stderr %q should say %q", probe, errOut, want)
	}
}

func TestCLIUpgradeProbeFailureRollsBack(t *testing.T) {
	code, out, errOut, sb, master := probeCLI(t, func(*sandbox.Sandbox) string {
		return "http://" + upgradetest.RefusingAddr(t) + "/"
	})
	if r := upgradetest.LastResult(t, out); code != upgrade.ExitRolledBack || r.Result != "rolled-back" || !strings.Contains(r.Error, "probe") {
		t.Fatalf("exit %d, result %+v, stderr %s", code, r, errOut)
	}
	if !strings.Contains(errOut, "refused") {
		t.Errorf("stderr should say the probe's requests were refused: %q", errOut)
	}
	upgradetest.CheckOldServes(t, sb, master, 2, 0, "after the probe-triggered rollback")
}

// A probe URL that is not http(s) is bad input: exit 2, nothing touched.
func TestCLIUpgradeRefusesBadProbeURL(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.SandboxOptions{Workers: 2})
	master := upgradetest.Settled(t, sb, 2).Masters[0].PID
	audit := filepath.Join(t.TempDir(), "audit.log")
	var out, errOut bytes.Buffer
	code := run([]string{"upgrade", "--new-binary", upgradetest.Copy(t), "--yes", "--json", "--probe", "ftp://127.0.0.1/",
		"--pidfile", sb.PidFile, "--audit-log", audit}, &out, &errOut)
	if r := upgradetest.LastResult(t, out.String()); code != upgrade.ExitRefused || r.Result != "refused" || !strings.Contains(r.Error, "http://") {
		t.Fatalf("exit %d, result %+v", code, r)
	}
	if s := upgradetest.Signals(t, audit); len(s) > 0 {
		t.Errorf("signals were sent: %v", s)
	}
	upgradetest.CheckOldServes(t, sb, master, 2, 0, "after the refusal")
}
