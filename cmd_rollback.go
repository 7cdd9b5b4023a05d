package main

import (
	"github.com/hotdeploy/hotdeploy/nginxctl/upgrade"
	"github.com/spf13/cobra"
)

// rollbackCmd is `hotdeploy rollback`; its refusals print the refused result object with --json.
func (a *app) rollbackCmd() *cobra.Command {
	var (
		o   upgrade.HeadlessOptions
		yes bool
	)
	cmd := &cobra.Command{
		Use:   "rollback",
		Short: "Go back to the old binary from whatever step an upgrade reached",
		Long: `Roll an upgrade back headless, from any phase while the old master lives: bring its workers
back with SIGHUP if they were drained, stop the new master with SIGQUIT, and put the old binary
back on disk. It changes a running nginx, so it needs --yes.`,
		Example:     "  hotdeploy rollback --pidfile /run/nginx.pid --yes --json",
		Args:        noArgs,
		Annotations: map[string]string{annJSONRefusal: "yes"},
	}
	t := addTargetFlags(cmd)
	cmd.Flags().BoolVar(&yes, "yes", false, "Act without asking: required, since this changes a running nginx.")
	cmd.Flags().BoolVar(&o.JSON, "json", false, "Print one JSON object per event and a final result object (see JSON RESULT in the man page).")
	addAuditLogFlag(cmd, &o.AuditLog)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := checkTarget(cmd); err != nil {
			return err
		}
		if !yes {
			return needsYes("rollback")
		}
		o.Target = *t
		return a.runHeadless(o, "", false)
	}
	return cmd
}
