package upgrade_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/inspect"
	"github.com/hotdeploy/hotdeploy/nginxctl/sandbox"
	"github.com/hotdeploy/hotdeploy/nginxctl/sandbox/sandboxtest"
	"github.com/hotdeploy/hotdeploy/nginxctl/traffic"
	"github.com/hotdeploy/hotdeploy/nginxctl/traffic/traffictest"
	"github.com/hotdeploy/hotdeploy/nginxctl/upgrade"
	"github.com/hotdeploy/hotdeploy/nginxctl/upgrade/upgradetest"
)

// probeUpgrade runs a headless upgrade of a fresh sandbox to a copy of its nginx, gated by a
// probe of url (the sandbox itself when empty). It returns the exit code, the final result,
// the probe's stats, the sandbox, and the original master and binary hash.
func probeUpgrade(t *testing.T, url string, noRollback bool) (int, upgradetest.Result, traffic.ProbeStats, *sandbox.Sandbox, int, string) {
	t.Helper()
	sb := sandboxtest.Start(t, sandbox.SandboxOptions{Workers: 2})
	in := upgradetest.Settled(t, sb, 2)
	sha := upgradetest.SHA256(t, sb.Binary)
	if url == "" {
		url = sb.URL
	}
	p := traffictest.StartProbe(t, traffic.ProbeOptions{URL: url, LoopbackOnly: true, Rate: 100})
	var out bytes.Buffer
	code := upgrade.Upgrade(context.Background(), upgrade.HeadlessOptions{
		Target: inspect.Target{PidFile: sb.PidFile}, NewBinary: upgradetest.Copy(t), JSON: true,
		AuditLog: filepath.Join(t.TempDir(), "audit.log"), NoAutoRollback: noRollback, Probe: p,
	}, &out)
	p.Stop()
	return code, upgradetest.LastResult(t, out.String()), p.Stats(), sb, in.Masters[0].PID, sha
}

// A full headless upgrade with the probe running: committed, and not one request failed.
func TestHeadlessUpgradeWithProbeCommitsWithZeroFailures(t *testing.T) {
	code, res, s, sb, oldMaster, _ := probeUpgrade(t, "", false)
	if code != upgrade.ExitDone || res.Result != "committed" {
		t.Fatalf("exit %d, result %+v", code, res)
	}
	traffictest.CheckZeroFailures(t, s)
	in := sandboxtest.Instance(t, sb)
	if len(in.Masters) != 1 || in.Masters[0].PID != res.NewPID || res.OldPID != oldMaster {
		t.Fatalf("after the commit: masters %+v, result %+v", in.Masters, res)
	}
	if o, _, _ := traffic.ServedBy(s, in); o == 0 || s.OK == 0 {
		t.Errorf("no response came from the new master %d's workers: %s", res.NewPID, traffic.ProbeSummary(s))
	}
}

// A probe failure after WINCH blocks the commit and rolls back: here the probe aims at a closed
// loopback port, so every request is refused.
func TestHeadlessUpgradeRollsBackWhenProbeFails(t *testing.T) {
	code, res, s, sb, oldMaster, sha := probeUpgrade(t, "http://"+upgradetest.RefusingAddr(t)+"/", false)
	if code != upgrade.ExitRolledBack || res.Result != "rolled-back" {
		t.Fatalf("exit %d, result %+v; want exit %d rolled-back", code, res, upgrade.ExitRolledBack)
	}
	if !strings.Contains(res.Error, "probe") || !strings.Contains(res.Error, "refused") {
		t.Errorf("the result should name the probe's refused requests: %q", res.Error)
	}
	if s.Failures[traffic.FailRefused] == 0 {
		t.Errorf("probe: %s", traffic.ProbeSummary(s))
	}
	upgradetest.CheckOldServes(t, sb, oldMaster, 2, 0, "after the probe-triggered rollback")
	if got := upgradetest.SHA256(t, sb.Binary); got != sha {
		t.Error("the old binary was not restored on disk")
	}
}

// With --no-auto-rollback the failure is reported and the instance left drained for a human.
func TestHeadlessProbeFailureWithNoAutoRollbackLeavesItDrained(t *testing.T) {
	code, res, _, sb, oldMaster, _ := probeUpgrade(t, "http://"+upgradetest.RefusingAddr(t)+"/", true)
	if code != upgrade.ExitNeedsHuman || res.Result != "failed" || !strings.Contains(res.Error, "probe") {
		t.Fatalf("exit %d, result %+v; want exit %d failed naming the probe", code, res, upgrade.ExitNeedsHuman)
	}
	in := sandboxtest.Instance(t, sb)
	if in.Phase != model.PhaseOldDrained || in.Masters[0].PID != oldMaster {
		t.Errorf("left in phase %s with masters %+v; want old-drained, old master %d still there", in.Phase, in.Masters, oldMaster)
	}
}
