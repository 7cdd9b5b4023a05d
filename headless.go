package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/hotdeploy/hotdeploy/nginxctl/traffic"
	"github.com/hotdeploy/hotdeploy/nginxctl/upgrade"
)

// runHeadless runs the engine for `upgrade` (isUpgrade true) or `rollback` and keeps its exit
// code. Ctrl-C and SIGTERM cancel the run, which the engine answers with a rollback.
func (a *app) runHeadless(o upgrade.HeadlessOptions, probeURL string, isUpgrade bool) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	o.Stderr = a.stderr
	if !isUpgrade {
		a.code = upgrade.Rollback(ctx, o, a.stdout)
		return nil
	}
	if probeURL == "" {
		a.code = upgrade.Upgrade(ctx, o, a.stdout)
		return nil
	}
	// The probe runs from before USR2 to the end, so a failure after WINCH blocks the commit.
	probe, err := traffic.StartProbe(context.Background(), traffic.ProbeOptions{URL: probeURL})
	if err != nil {
		return badInput(err)
	}
	o.Probe = probe
	// The result is the end of the run: stop the probe first, so that the result's probe object
	// and the summary on stderr count the same requests (they differed by one in the fleet test).
	o.ProbeReport = func(version string) any {
		probe.Stop()
		return traffic.NewProbeReport(probe.Stats(), version)
	}
	a.code = upgrade.Upgrade(ctx, o, a.stdout)
	probe.Stop()
	fmt.Fprintln(a.stderr, "hotdeploy:", traffic.ProbeSummary(probe.Stats()))
	return nil
}
