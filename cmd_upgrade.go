package main

import (
	"errors"
	"time"

	"github.com/hotdeploy/hotdeploy/nginxctl/upgrade"
	"github.com/spf13/cobra"
)

const upgradeLong = `Upgrade a running nginx without the dashboard, for scripts and fleets: install --new-binary
(backing the running one up as <binary>.old), start it with SIGUSR2, wait until it serves,
drain the old workers with SIGWINCH, then commit with SIGQUIT to the old master. Without
--new-binary the binary already on disk is the candidate (after apt upgrade, say).

When the new master dies, does not become ready in time, or the --probe sees a failure after
SIGWINCH, the upgrade rolls back by itself (exit 1) unless --no-auto-rollback leaves it for a
human (exit 3). Ctrl-C rolls back too. It changes a running nginx, so it needs --yes.`

// upgradeCmd is `hotdeploy upgrade`; its refusals print the refused result object with --json.
func (a *app) upgradeCmd() *cobra.Command {
	var (
		o                   upgrade.HeadlessOptions
		yes, dryRun, resume bool
		stopAfter, probeURL string
	)
	cmd := &cobra.Command{
		Use:         "upgrade",
		Short:       "Upgrade nginx to a new binary headless: USR2, WINCH, QUIT, rollback on failure",
		Long:        upgradeLong,
		Example:     "  hotdeploy upgrade --pidfile /run/nginx.pid --new-binary /tmp/nginx-1.26 --yes --json",
		Args:        noArgs,
		Annotations: map[string]string{annJSONRefusal: "yes"},
	}
	t := addTargetFlags(cmd)
	fs := cmd.Flags()
	fs.Var(textValue{&o.NewBinary, "new-binary", "path", "/tmp/nginx-1.26"}, "new-binary",
		"Install this nginx binary in place of the running one (checked, backed up, then renamed into place).")
	_ = cmd.RegisterFlagCompletionFunc("new-binary", completeFiles)
	fs.BoolVar(&yes, "yes", false, "Act without asking: required, since this changes a running nginx.")
	fs.BoolVar(&o.JSON, "json", false, "Print one JSON object per event and a final result object (see JSON RESULT in the man page).")
	addAuditLogFlag(cmd, &o.AuditLog)
	fs.Var(choiceValue{&stopAfter, "stop-after", "step", []string{"drain"}}, "stop-after",
		"Stop once the old workers are drained (\"drain\"), leaving the commit or a rollback to a later command.")
	o.ReadyTimeout, o.DrainTimeout = 10*time.Second, 60*time.Second
	fs.Var(durationValue{&o.ReadyTimeout, "ready-timeout", 0, "10s"}, "ready-timeout",
		"Roll back when the new master is not serving within this time.")
	fs.Var(durationValue{&o.DrainTimeout, "drain-timeout", 0, "60s"}, "drain-timeout",
		"Roll back when the old workers have not finished their requests within this time.")
	fs.BoolVar(&o.NoAutoRollback, "no-auto-rollback", false, "On failure leave nginx as it is for a human (exit 3) instead of rolling back.")
	fs.Var(textValue{&probeURL, "probe", "url", "http://127.0.0.1/"}, "probe",
		"Request this http(s) URL throughout; any failure after SIGWINCH rolls back instead of committing.")
	_ = cmd.RegisterFlagCompletionFunc("probe", cobra.NoFileCompletions)
	fs.BoolVar(&dryRun, "dry-run", false, "Check only (the candidate and the config test with the master's -p/-c/-g), change nothing: result \"checked\".")
	fs.BoolVar(&resume, "resume", false, "Finish an upgrade whose driver died, from the phase nginx is in: drain, the --probe gate, "+
		"commit, or stop where --stop-after says; an upgrade found committed or rolled back gives its result.")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := checkTarget(cmd); err != nil {
			return err
		}
		switch {
		case dryRun && resume:
			return badInputf("give --dry-run or --resume, not both")
		case resume && o.NewBinary != "":
			return badInputf("--resume goes on with the build the upgrade journal names: leave --new-binary out")
		case !yes && !dryRun:
			return needsYes("upgrade")
		}
		o.Target, o.StopAfterDrain, o.DryRun, o.Resume = *t, stopAfter == "drain", dryRun, resume
		return a.runHeadless(o, probeURL, true)
	}
	return cmd
}

func needsYes(name string) error {
	return badInput(errors.New(name + " changes a running nginx: add --yes to run it headless, or use the dashboard (hotdeploy)"))
}
