package ui

import (
	"context"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/audit"
	"github.com/hotdeploy/hotdeploy/nginxctl/traffic"
)

// A script drives the dashboard through an upgrade the way the operator does, on synthetic
// instances: keys, the step's result, then what the next refresh sees, with a clock that moves
// only when the script says, so the views it leaves are the same on every run.

// manualClock is a clock the script moves.
type manualClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *manualClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// liveProbe is a probe whose figures the script changes.
type liveProbe struct {
	mu sync.Mutex
	st traffic.ProbeStats
}

func (p *liveProbe) Stats() traffic.ProbeStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.st
}

// answered adds answers from a worker.
func (p *liveProbe) answered(worker int, n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.st.OK += n
	by := map[int]int64{}
	for k, v := range p.st.ByWorker {
		by[k] = v
	}
	by[worker] += n
	p.st.ByWorker = by
}

// scriptActor answers each action with its own result.
type scriptActor struct {
	mu      sync.Mutex
	results map[model.Action]StepResult
}

func (a *scriptActor) Do(_ context.Context, act model.Action, _ model.Instance, _ string) StepResult {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.results[act]
}

type script struct {
	t     *testing.T
	m     Model
	src   *fakeSource
	clock *manualClock
	probe *liveProbe
	held  *fakeHolder
}

// newScript opens a demo-like dashboard (probe, guide, held download) in a language at a size.
func newScript(t *testing.T, lang Lang, w, h int, in model.Instance) *script {
	t.Helper()
	s := &script{t: t, src: newFakeSource(in), clock: &manualClock{t: t0},
		probe: &liveProbe{st: traffic.ProbeStats{URL: "http://127.0.0.1:8080/", Started: t0.Add(-time.Minute),
			P50: 850 * time.Microsecond, P99: 5690 * time.Microsecond, Failures: map[string]int64{}}},
		held: &fakeHolder{pid: 1001, done: make(chan struct{})}}
	s.src.logs = sampleLog
	s.probe.answered(1001, 120)
	actor := &scriptActor{results: map[model.Action]StepResult{
		model.ActInstall: {Installed: &audit.Install{Binary: "/usr/sbin/nginx", Backup: "/usr/sbin/nginx.old",
			BackupSHA256: "5d41402abc4b2a76b9719d911017c592aaaaaaaa", NewSHA256: "7d793037a0760186574b0282f2f435e7bbbbbbbb"}},
		model.ActRollback: {Rejected: "/usr/sbin/nginx.rejected"},
	}}
	deps := Deps{Source: s.src, Actor: actor, Clock: s.clock, Probe: s.probe, Narration: narrationIn(lang),
		AuditPath: "/var/log/hotdeploy/audit.log",
		Hold:      func(context.Context, func(int) bool) (Holder, error) { return s.held, nil }}
	s.m = New(Options{demo: true, Lang: lang, NewBinary: "/opt/nginx-1.26.2/sbin/nginx"}, deps, nil)
	s.m = update(t, s.m, tea.WindowSizeMsg{Width: w, Height: h})
	s.m = update(t, s.m, run(s.m.Init()))
	return s
}

// press types keys; a step that y starts runs to its end after d on the clock, and l opens or
// closes the held download. Other commands (the cursor's blink) are not run.
func (s *script) press(d time.Duration, keys ...string) {
	s.t.Helper()
	var cmd tea.Cmd
	for _, k := range keys {
		s.m, cmd = updateCmd(s.t, s.m, keyMsg(k))
		if k != "y" && k != "l" {
			continue
		}
		if msg := run(cmd); msg != nil {
			if _, isStep := msg.(stepDoneMsg); isStep {
				s.clock.add(d)
			}
			s.m = update(s.t, s.m, msg)
		}
	}
}

// install types i, takes the prefilled path (as if it checked out) and confirms.
func (s *script) install(d time.Duration) {
	s.t.Helper()
	s.press(0, "i")
	s.m = update(s.t, s.m, candidateMsg{path: s.m.candidate})
	s.press(d, "y")
}

// see makes the next refresh see in, d later.
func (s *script) see(d time.Duration, in model.Instance) {
	s.t.Helper()
	s.clock.add(d)
	s.src.set(in)
	s.m = update(s.t, s.m, run(s.m.refreshCmd()))
}

// installedSame is idle after a rollback: the file on disk holds the running build again.
func rolledBackInstance() model.Instance {
	in := idleInstance()
	in.BinaryDiffers, in.BinarySameBytes = true, true
	in.Masters[0].ExeReplaced = true
	return in
}

// committedInstance is idle on the new master 2000, adopted by init.
func committedInstance() model.Instance {
	nw := synthMaster(2000, 1, model.GenCurrent, 2*time.Minute, 2, 0)
	nw.Version = "nginx/1.26.2"
	in := synthInstance(nw)
	in.BinaryVersion = "nginx/1.26.2"
	return in
}

// upgradeTo drives install, USR2 and WINCH, with a download held on old worker 1001, and leaves
// the old workers draining.
func (s *script) upgradeTo(drained bool) {
	s.see(time.Second, idleInstance())
	s.install(400 * time.Millisecond)
	s.see(time.Second, installedInstance())
	s.press(700*time.Millisecond, "u", "y")
	s.probe.answered(2001, 40)
	s.see(2*time.Second, bothServingInstance())
	s.press(0, "l")
	s.press(300*time.Millisecond, "w", "y")
	s.probe.answered(2001, 60)
	s.see(5*time.Second, oldDrainingInstance())
	if drained {
		s.press(0, "l") // the held download is released: the last old worker leaves
		s.see(33*time.Second, oldDrainedInstance())
	}
}
