package main

import (
	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/driver"
	"github.com/hotdeploy/hotdeploy/nginxctl/inspect"
	"github.com/spf13/cobra"
)

func (a *app) statusCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Print the nginx process tree and the upgrade phase, once",
		Long: `Print each nginx instance once: pid file, config, phase, and every master with its
workers, cache manager and cache loader, marking a binary replaced on disk. It only reads /proc
and changes nothing. Without --pid or --pidfile it lists every nginx-family master on the host.`,
		Example: "  hotdeploy status --pidfile /run/nginx.pid --json",
		Args:    noArgs,
	}
	t := addTargetFlags(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "Print one JSON document instead of text, for scripts (arrays are never null).")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := checkTarget(cmd); err != nil {
			return err
		}
		snap, err := inspect.NewScanner().Resolve(*t)
		if err != nil {
			return err
		}
		dirs := driver.DefaultDirs()
		for i := range snap.Instances {
			in := &snap.Instances[i]
			inspect.Supervise(cmd.Context(), in)
			in.Backups = inspect.Backups(in.Binary)
			if h := driver.ReadHolder(dirs.Runtime, driver.Key(in.PidFile)); h != nil {
				in.Driver = &model.Driver{PID: h.PID, User: h.User, Command: h.Command, Since: h.Since, Step: h.Step}
			}
		}
		if asJSON {
			return inspect.WriteStatusJSON(a.stdout, snap)
		}
		return inspect.WriteStatusText(a.stdout, snap)
	}
	return cmd
}
