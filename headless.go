package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/hotdeploy/hotdeploy/nginxctl"
)

// runHeadless runs the engine for `upgrade` (upgrade true) or `rollback` and keeps its exit
// code. Ctrl-C and SIGTERM cancel the run, which the engine answers with a rollback.
func (a *app) runHeadless(o nginxctl.HeadlessOptions, probeURL string, upgrade bool) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if !upgrade {
		a.code = nginxctl.Rollback(ctx, o, a.stdout)
		return nil
	}
	if probeURL == "" {
		a.code = nginxctl.Upgrade(ctx, o, a.stdout)
		return nil
	}
	// The probe runs from before USR2 to the end, so a failure after WINCH blocks the commit.
	probe, err := nginxctl.StartProbe(context.Background(), nginxctl.ProbeOptions{URL: probeURL})
	if err != nil {
		return badInput(err)
	}
	o.Probe = probe
	a.code = nginxctl.Upgrade(ctx, o, a.stdout)
	probe.Stop()
	fmt.Fprintln(a.stderr, "hotdeploy:", nginxctl.ProbeSummary(probe.Stats()))
	return nil
}
