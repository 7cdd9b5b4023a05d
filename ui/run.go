package ui

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/audit"
	"github.com/hotdeploy/hotdeploy/nginxctl/driver"
	"github.com/hotdeploy/hotdeploy/nginxctl/inspect"
	"github.com/hotdeploy/hotdeploy/nginxctl/traffic"
)

// Options configure the dashboard.
type Options struct {
	Target    inspect.Target
	NewBinary string
	Interval  time.Duration
	Probe     string
	ReadOnly  bool
	AuditLog  string
	// Lang is the screen's language; empty: LangFromEnv.
	Lang Lang
	// demo turns on what only the demo offers: the held download (l), the guide (g), and a
	// loopback-only probe.
	demo bool
	// scenario is the demo's failure scenario (see scenario.go).
	scenario string
	// restage, in the demo, makes the staged candidate a build of its own again after it was
	// installed, so that after a commit the next upgrade has a new build to install.
	restage func() error
}

// DemoOptions configure `hotdeploy demo`.
type DemoOptions struct {
	Port int
	Keep bool
	// Lang is the screen's language; empty: LangFromEnv.
	Lang Lang
	// Scenario is a failure to rehearse (Scenarios lists them); empty or "none": a plain upgrade.
	Scenario string
	// GuardExe is the program to run as the sandbox's guard (sandbox.Guard), which stops the
	// sandbox should the demo die without stopping it; empty: no guard (a test binary cannot
	// be one).
	GuardExe string
}

// Run opens the dashboard and returns when the operator quits. A --pid or --pidfile that names
// no nginx master is an error before the screen opens (inspect.ErrBadTarget).
func Run(o Options) error {
	sc := inspect.NewScanner()
	// Scans repeat every few seconds (discovery, and a named instance's orphans): where the
	// kernel reports forks and execs, each reads only what is new or changed.
	sc.Follow()
	defer sc.Close()
	var initial *model.Snapshot
	if o.Target != (inspect.Target{}) {
		snap, err := sc.Resolve(o.Target)
		if err != nil {
			return err
		}
		initial = &snap
	}
	deps := Deps{Source: newLiveSource(sc, o.Target)}
	every := o.Interval
	if every <= 0 {
		every = defaultInterval
	}
	if t, err := startTicks(every); err == nil {
		deps.Ticks = t.c
		defer t.stop()
	}
	if o.Probe != "" {
		p, err := traffic.StartProbe(context.Background(), traffic.ProbeOptions{URL: o.Probe, LoopbackOnly: o.demo})
		if err != nil {
			deps.ProbeErr, deps.ProbeErrWhy = err.Error(), model.ReasonOf(err)
		} else {
			deps.Probe = p
			defer p.Stop()
		}
	}
	if o.demo {
		url := o.Probe
		deps.Hold = func(ctx context.Context, want func(int) bool) (Holder, error) {
			h, err := traffic.HoldConnectionWhere(ctx, url, want)
			if err != nil {
				return nil, err
			}
			return h, nil
		}
		deps.Narration = narrationIn(o.Lang.orEnv())
	}
	if !o.ReadOnly {
		audit, err := audit.Open(o.AuditLog)
		if err != nil {
			deps.ActorErr, deps.ActorErrWhy = actionsDisabled(err)
		} else {
			deps.Actor, deps.AuditPath = newRunnerActor(audit, driver.Dirs{}), audit.Path()
		}
	}
	return runProgram(New(o, deps, initial))
}

// actionsDisabled says why no action runs: the audit log cannot be opened (an action that cannot
// be recorded is not taken). The cause is said in the screen's language too when it is a reason.
func actionsDisabled(err error) (string, model.Reason) {
	why := model.Because("actions disabled: %s", err)
	return why.String(), why
}

// runProgram runs the full-screen program. A hang-up (the SSH link dropped) ends it like q, so
// callers' clean-up still runs.
//
// On a terminal the painter draws the frames (paint.go), with no clock of its own. Elsewhere
// bubbletea's renderer does, at 10 frames a second: its default 60 wakes the process six times
// as often for nothing. One processor is all a dashboard needs: idle Ps spinning for work cost
// more CPU than the refresh itself on a 2-core host.
func runProgram(m Model) error {
	runtime.GOMAXPROCS(1)
	hup, done := make(chan os.Signal, 1), make(chan struct{})
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	ready := make(chan *tea.Program, 1)
	go func() {
		select {
		case <-hup:
			// A hang-up before the program is known waits for it: Quit then ends it at its
			// first message.
			select {
			case p := <-ready:
				p.Quit()
			case <-done:
			}
		case <-done:
		}
	}()
	started := func(p *tea.Program) { ready <- p }
	ok, err := paintProgram(m, started)
	if !ok {
		p := tea.NewProgram(m, tea.WithAltScreen(), tea.WithFPS(10))
		started(p)
		_, err = p.Run()
	}
	close(done)
	if errors.Is(err, tea.ErrInterrupted) {
		return nil
	}
	return err
}
