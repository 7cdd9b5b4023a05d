package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/audit"
	"github.com/hotdeploy/hotdeploy/nginxctl/inspect"
	"github.com/hotdeploy/hotdeploy/nginxctl/sandbox"
	"github.com/hotdeploy/hotdeploy/nginxctl/sandbox/sandboxtest"
	"github.com/hotdeploy/hotdeploy/nginxctl/upgrade"
	"github.com/hotdeploy/hotdeploy/nginxctl/upgrade/upgradetest"
)

// These tests run `hotdeploy upgrade` and `hotdeploy rollback` through run(), as a script
// would, against a real sandbox nginx.

// cliTarget is a sandbox nginx with what the headless CLI tests check around it.
type cliTarget struct {
	t       *testing.T
	sb      *sandbox.Sandbox
	audit   string
	master  int
	workers string // pids of the original workers
	origSHA string
}

func newCLITarget(t *testing.T) *cliTarget {
	t.Helper()
	sb := sandboxtest.Start(t, sandbox.SandboxOptions{Workers: 2})
	in := upgradetest.Settled(t, sb, 2)
	return &cliTarget{t: t, sb: sb, audit: filepath.Join(t.TempDir(), "audit.log"), master: in.Masters[0].PID,
		workers: cliWorkerPIDs(in), origSHA: upgradetest.SHA256(t, sb.Binary)}
}

func cliWorkerPIDs(in model.Instance) string {
	var ps []string
	for _, w := range in.Masters[0].Workers() {
		ps = append(ps, strconv.Itoa(w.PID))
	}
	return strings.Join(ps, ",")
}

// hd runs `hotdeploy <args...>` in-process aimed at the sandbox by its pid file, with its own
// audit log.
func (c *cliTarget) hd(args ...string) (int, string, string) {
	c.t.Helper()
	args = append(args, "--pidfile", c.sb.PidFile, "--audit-log", c.audit)
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// checkUntouched: same master and workers, binary on disk unchanged, nothing signalled.
func (c *cliTarget) checkUntouched(how string) {
	c.t.Helper()
	in := sandboxtest.Instance(c.t, c.sb)
	if len(in.Masters) != 1 || in.Masters[0].PID != c.master || cliWorkerPIDs(in) != c.workers {
		c.t.Errorf("%s: nginx changed: masters %+v", how, in.Masters)
	}
	if got := upgradetest.SHA256(c.t, c.sb.Binary); got != c.origSHA {
		c.t.Errorf("%s: the binary on disk changed", how)
	}
	if s := upgradetest.Signals(c.t, c.audit); len(s) > 0 {
		c.t.Errorf("%s: signals were sent: %v", how, s)
	}
}

// TestCLIUpgradeCommits: `hotdeploy upgrade --new-binary X --yes --json` under traffic: exit 0,
// one JSON object per line, the last one committed with both pids.
func TestCLIUpgradeCommits(t *testing.T) {
	c := newCLITarget(t)
	check := upgradetest.Load(t, c.sb)
	cand := upgradetest.Copy(t)
	code, out, errOut := c.hd("upgrade", "--new-binary", cand, "--yes", "--json")
	check("hotdeploy upgrade to commit")
	res := upgradetest.LastResult(t, out)
	if code != 0 || res.Result != "committed" || res.OldPID != c.master || res.NewPID == 0 || res.NewPID == c.master {
		t.Fatalf("exit %d, %+v; want 0 committed from %d to a new master\n%s%s", code, res, c.master, out, errOut)
	}
	t.Logf("hotdeploy upgrade committed in elapsed_ms=%d", res.ElapsedMS)
	in := sandboxtest.Instance(t, c.sb)
	if len(in.Masters) != 1 || in.Masters[0].PID != res.NewPID || in.Masters[0].ActiveWorkers() != 2 {
		t.Errorf("after commit: %+v, want the new master %d alone with 2 workers", in.Masters, res.NewPID)
	}
	if got := upgradetest.SHA256(t, c.sb.Binary); got != upgradetest.SHA256(t, cand) {
		t.Errorf("the candidate is not on disk after commit")
	}
}

// TestCLIStopAfterDrainThenRollback: `upgrade --stop-after drain` (exit 0, drained) then
// `rollback --yes` (exit 0, rolled-back) under traffic: the old master serves with its two
// workers and its binary is back on disk.
func TestCLIStopAfterDrainThenRollback(t *testing.T) {
	c := newCLITarget(t)
	check := upgradetest.Load(t, c.sb)
	code, out, errOut := c.hd("upgrade", "--new-binary", upgradetest.Copy(t), "--yes", "--json", "--stop-after", "drain")
	res := upgradetest.LastResult(t, out)
	if code != 0 || res.Result != "drained" || res.Phase != "old-drained" {
		t.Fatalf("upgrade --stop-after drain: exit %d, %+v\n%s%s", code, res, out, errOut)
	}
	code, out, errOut = c.hd("rollback", "--yes", "--json")
	check("upgrade --stop-after drain, then rollback")
	rb := upgradetest.LastResult(t, out)
	if code != 0 || rb.Result != "rolled-back" || rb.OldPID != c.master || rb.NewPID != res.NewPID {
		t.Fatalf("rollback: exit %d, %+v\n%s%s", code, rb, out, errOut)
	}
	upgradetest.CheckOldServes(t, c.sb, c.master, 2, 0, "after rollback from old-drained")
	if got := upgradetest.SHA256(t, c.sb.Binary); got != c.origSHA {
		t.Errorf("the old binary is not back on disk")
	}
	want := []string{upgradetest.Sent("SIGUSR2", c.master), upgradetest.Sent("SIGWINCH", c.master),
		upgradetest.Sent("SIGHUP", c.master), upgradetest.Sent("SIGQUIT", res.NewPID)}
	if got := upgradetest.Signals(t, c.audit); !reflect.DeepEqual(got, want) {
		t.Errorf("signals %v, want %v", got, want)
	}
}

// TestCLIRollbackFromBothServing: the new binary started (by the step runner, as the dashboard
// does), then `rollback --yes` under traffic: exit 0, no SIGHUP, old master alone.
func TestCLIRollbackFromBothServing(t *testing.T) {
	c := newCLITarget(t)
	check := upgradetest.Load(t, c.sb)
	audit, err := audit.Open(c.audit)
	if err != nil {
		t.Fatal(err)
	}
	r := upgrade.NewRunner(inspect.NewScanner(), audit)
	in, _, err := r.Install(context.Background(), sandboxtest.Instance(t, c.sb), upgradetest.Copy(t))
	if err == nil {
		in, err = r.Start(context.Background(), in)
	}
	if err != nil || in.Phase != model.PhaseBothServing {
		t.Fatalf("start the new binary: %v (phase %s)", err, in.Phase)
	}
	newPID := in.New().PID
	code, out, errOut := c.hd("rollback", "--yes", "--json")
	check("rollback from both-serving")
	if rb := upgradetest.LastResult(t, out); code != 0 || rb.Result != "rolled-back" || rb.NewPID != newPID {
		t.Fatalf("rollback: exit %d, %+v\n%s%s", code, rb, out, errOut)
	}
	upgradetest.CheckOldServes(t, c.sb, c.master, 2, 0, "after rollback from both-serving")
	want := []string{upgradetest.Sent("SIGUSR2", c.master), upgradetest.Sent("SIGQUIT", newPID)}
	if got := upgradetest.Signals(t, c.audit); !reflect.DeepEqual(got, want) {
		t.Errorf("signals %v, want %v", got, want)
	}
}

// TestCLIHeadlessRefusals: bad command lines exit 2 with one line on stderr naming the problem
// (and, with --json, a refused result object on stdout); nginx is not touched.
func TestCLIHeadlessRefusals(t *testing.T) {
	c := newCLITarget(t)
	cand := upgradetest.Copy(t)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"upgrade without --yes", []string{"upgrade", "--new-binary", cand, "--json"}, "--yes"},
		{"rollback without --yes", []string{"rollback", "--json"}, "--yes"},
		{"stop after commit", []string{"upgrade", "--new-binary", cand, "--yes", "--json", "--stop-after", "commit"}, `"drain"`},
		{"zero ready timeout", []string{"upgrade", "--new-binary", cand, "--yes", "--json", "--ready-timeout", "0s"}, "positive"},
		{"unknown flag", []string{"upgrade", "--json", "--yes", "--bogus"}, "-bogus"},
		{"rollback has no --new-binary", []string{"rollback", "--json", "--yes", "--new-binary", cand}, "-new-binary"},
		{"pid and pidfile", []string{"upgrade", "--new-binary", cand, "--yes", "--json", "--pid", strconv.Itoa(c.master)}, "not both"},
		{"candidate not ELF", []string{"upgrade", "--new-binary", "/etc/hostname", "--yes", "--json"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := c.hd(tc.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2\n%s%s", code, out, errOut)
			}
			if tc.want != "" && (strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, tc.want)) {
				t.Errorf("stderr %q: want one line naming %q", errOut, tc.want)
			}
			if res := upgradetest.LastResult(t, out); res.Result != "refused" || !strings.Contains(res.Error, tc.want) {
				t.Errorf("--json result %+v, want refused naming %q", res, tc.want)
			}
			c.checkUntouched(tc.name)
		})
	}
}

// TestCLIFailureExitCodes: a new master that dies is rolled back (exit 1, rolled-back); with
// --no-auto-rollback it is left for a human (exit 3, failed), who rolls back (exit 0).
func TestCLIFailureExitCodes(t *testing.T) {
	c := newCLITarget(t)
	bad := upgradetest.Wrapper(t, upgradetest.DiesAsNewMaster)
	code, out, _ := c.hd("upgrade", "--new-binary", bad, "--yes", "--json")
	if res := upgradetest.LastResult(t, out); code != 1 || res.Result != "rolled-back" || len(res.Log) == 0 {
		t.Errorf("new master dies: exit %d, %+v; want 1 rolled-back with the error log\n%s", code, res, out)
	}
	upgradetest.CheckOldServes(t, c.sb, c.master, 2, 0, "after automatic rollback")
	code, out, _ = c.hd("upgrade", "--new-binary", bad, "--yes", "--json", "--no-auto-rollback")
	if res := upgradetest.LastResult(t, out); code != 3 || res.Result != "failed" {
		t.Errorf("new master dies, --no-auto-rollback: exit %d, %+v; want 3 failed\n%s", code, res, out)
	}
	code, out, _ = c.hd("rollback", "--yes", "--json")
	if res := upgradetest.LastResult(t, out); code != 0 || res.Result != "rolled-back" {
		t.Errorf("rollback after: exit %d, %+v", code, res)
	}
	upgradetest.CheckOldServes(t, c.sb, c.master, 2, 0, "after the human's rollback")
	if got := upgradetest.SHA256(t, c.sb.Binary); got != c.origSHA {
		t.Errorf("the old binary is not back on disk")
	}
}

// TestCLISeveralInstancesRefused: without --pid or --pidfile and with several nginx instances,
// upgrade and rollback refuse (exit 2) and list them.
func TestCLISeveralInstancesRefused(t *testing.T) {
	a, b := newCLITarget(t), newCLITarget(t)
	for _, args := range [][]string{
		{"upgrade", "--new-binary", upgradetest.Copy(t), "--yes", "--json", "--audit-log", a.audit},
		{"rollback", "--yes", "--json", "--audit-log", a.audit},
	} {
		var out, errOut bytes.Buffer
		code := run(args, &out, &errOut)
		res := upgradetest.LastResult(t, out.String())
		if code != 2 || res.Result != "refused" {
			t.Errorf("%s: exit %d, %+v; want 2 refused", args[0], code, res)
		}
		for _, c := range []*cliTarget{a, b} {
			if !strings.Contains(res.Error, c.sb.PidFile) {
				t.Errorf("%s: the refusal does not list %s: %q", args[0], c.sb.PidFile, res.Error)
			}
		}
	}
	a.checkUntouched("several instances")
	b.checkUntouched("several instances")
}

// sigintOn is an output for run() that sends this process SIGINT, as Ctrl-C does, when a line
// contains match. run() catches it (signal.NotifyContext) for as long as the command runs.
type sigintOn struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	match string
	sent  bool
}

func (s *sigintOn) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.sent && bytes.Contains(p, []byte(s.match)) {
		s.sent = true
		_ = syscall.Kill(os.Getpid(), syscall.SIGINT)
	}
	return s.buf.Write(p)
}

// TestCLIInterruptRollsBack: a real SIGINT while the old workers drain (one held by a slow
// download, so the drain cannot finish first) makes `hotdeploy upgrade` roll back: exit 1,
// the old master serves with two accepting workers beside the draining one, no request failed.
func TestCLIInterruptRollsBack(t *testing.T) {
	c := newCLITarget(t)
	_, release := upgradetest.HoldSlow(t, c.sb)
	check := upgradetest.Load(t, c.sb)
	out := &sigintOn{match: `"signal":"SIGWINCH"`}
	var errOut bytes.Buffer
	code := run([]string{"upgrade", "--pidfile", c.sb.PidFile, "--audit-log", c.audit, "--new-binary", upgradetest.Copy(t),
		"--yes", "--json", "--drain-timeout", "30s"}, out, &errOut)
	check("SIGINT while draining")
	res := upgradetest.LastResult(t, out.buf.String())
	if !out.sent || code != 1 || res.Result != "rolled-back" || !strings.Contains(res.Error, "interrupted") {
		t.Fatalf("exit %d, %+v; want 1 rolled-back after the interruption\n%s%s", code, res, out.buf.String(), errOut.String())
	}
	upgradetest.CheckOldServes(t, c.sb, c.master, 2, 1, "after SIGINT while draining")
	if got := upgradetest.SHA256(t, c.sb.Binary); got != c.origSHA {
		t.Errorf("the old binary is not back on disk")
	}
	release()
	upgradetest.CheckOldServes(t, c.sb, c.master, 2, 0, "after the held download ended")
}
