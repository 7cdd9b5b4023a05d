package upgrade_test

import (
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/audit"
	"github.com/hotdeploy/hotdeploy/nginxctl/inspect"
	"github.com/hotdeploy/hotdeploy/nginxctl/sandbox"
	"github.com/hotdeploy/hotdeploy/nginxctl/sandbox/sandboxtest"
	"github.com/hotdeploy/hotdeploy/nginxctl/upgrade"
	"github.com/hotdeploy/hotdeploy/nginxctl/upgrade/upgradetest"
)

// A rig is one real sandbox nginx with what the upgrade tests check around it: the binary's
// hash before anything ran, the audit log, and the pids of the original master and workers.
type rig struct {
	t       *testing.T
	sb      *sandbox.Sandbox
	workers int
	audit   string
	origSHA string
	master  int
	orig    model.Instance
	scanner *inspect.Scanner
	runner  *upgrade.Runner
	events  []upgrade.Event
}

// newRig starts a daemonized sandbox nginx with the given number of workers.
func newRig(t *testing.T, workers int) *rig {
	t.Helper()
	sb := sandboxtest.Start(t, sandbox.SandboxOptions{Workers: workers})
	return rigFor(t, sb, workers)
}

// rigFor wraps a sandbox that is already serving.
func rigFor(t *testing.T, sb *sandbox.Sandbox, workers int) *rig {
	t.Helper()
	rg := &rig{t: t, sb: sb, workers: workers, audit: filepath.Join(t.TempDir(), "audit.log"),
		origSHA: upgradetest.SHA256(t, sb.Binary), scanner: inspect.NewScanner()}
	rg.orig = upgradetest.Settled(t, sb, workers)
	rg.master = rg.orig.Masters[0].PID
	audit, err := audit.Open(rg.audit)
	if err != nil {
		t.Fatal(err)
	}
	rg.runner = upgrade.NewRunner(rg.scanner, audit)
	rg.runner.Events = func(e upgrade.Event) { rg.events = append(rg.events, e) }
	return rg
}

// instance is the sandbox's instance as a fresh scanner sees it now.
func (rg *rig) instance() model.Instance {
	rg.t.Helper()
	return sandboxtest.Instance(rg.t, rg.sb)
}

// opts returns headless options aimed at this sandbox by its pid file.
func (rg *rig) opts(candidate string) upgrade.HeadlessOptions {
	return upgrade.HeadlessOptions{Target: inspect.Target{PidFile: rg.sb.PidFile}, NewBinary: candidate,
		JSON: true, AuditLog: rg.audit, Stderr: io.Discard}
}

// waitPhase refreshes until the instance is in phase p.
func (rg *rig) waitPhase(in model.Instance, p model.Phase) model.Instance {
	rg.t.Helper()
	return sandboxtest.WaitFor(rg.t, rg.scanner, in, 10*time.Second, p.String(),
		func(in model.Instance) bool { return in.Phase == p })
}

// checkOldServes checks the original master serves alone with worker_processes accepting
// workers (see upgradetest.CheckOldServes).
func (rg *rig) checkOldServes(how string, draining int) model.Instance {
	rg.t.Helper()
	return upgradetest.CheckOldServes(rg.t, rg.sb, rg.master, rg.workers, draining, how)
}

// checkBinary checks the file on disk holds the content with that hash.
func (rg *rig) checkBinary(how, wantSHA string) {
	rg.t.Helper()
	if got := upgradetest.SHA256(rg.t, rg.sb.Binary); got != wantSHA {
		rg.t.Errorf("%s: %s has sha256 %.12s, want %.12s", how, rg.sb.Binary, got, wantSHA)
	}
}

// auditEntries reads the audit log.
func (rg *rig) auditEntries() []audit.Entry {
	rg.t.Helper()
	return upgradetest.AuditEntries(rg.t, rg.audit)
}

// signals lists the audit log's signals as "SIGNAME pid result".
func (rg *rig) signals() []string {
	rg.t.Helper()
	return upgradetest.Signals(rg.t, rg.audit)
}

// checkNothingChanged is the check after a refusal: same master and workers, binary on disk
// untouched, no backup written, no signal in the audit log.
func (rg *rig) checkNothingChanged(how string) {
	rg.t.Helper()
	in := rg.instance()
	if len(in.Masters) != 1 || in.Masters[0].PID != rg.master || in.Phase != model.PhaseIdle {
		rg.t.Errorf("%s: instance changed: phase %s, masters %d", how, in.Phase, len(in.Masters))
	} else if got, want := pidsOfWorkers(in.Masters[0]), pidsOfWorkers(rg.orig.Masters[0]); got != want {
		rg.t.Errorf("%s: workers changed from %s to %s", how, want, got)
	}
	rg.checkBinary(how, rg.origSHA)
	if _, err := os.Stat(rg.sb.Binary + ".old"); err == nil {
		rg.t.Errorf("%s: a backup %s.old was written although nothing was installed", how, rg.sb.Binary)
	}
	if s := rg.signals(); len(s) > 0 {
		rg.t.Errorf("%s: signals were sent: %v", how, s)
	}
}

func pidsOfWorkers(m model.Master) string {
	var ps []string
	for _, w := range m.Workers() {
		ps = append(ps, strconv.Itoa(w.PID))
	}
	return strings.Join(ps, ",")
}

// holdSlow holds a slow download open on one old worker (upgradetest.HoldSlow).
func (rg *rig) holdSlow() (int, func()) {
	rg.t.Helper()
	return upgradetest.HoldSlow(rg.t, rg.sb)
}

// load starts a bounded loopback request loop that must see no failure (upgradetest.Load).
func (rg *rig) load() func(how string) {
	rg.t.Helper()
	return upgradetest.Load(rg.t, rg.sb)
}
