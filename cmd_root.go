package main

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/hotdeploy/hotdeploy/nginxctl/inspect"
	"github.com/hotdeploy/hotdeploy/ui"
)

// app is one run of the command line: where it writes, and the exit code a headless command
// decided (the error returned decides it otherwise).
type app struct {
	stdout, stderr io.Writer
	code           int
}

const rootLong = `hotdeploy upgrades a running nginx to a new binary without dropping a connection.

Without a command it opens the dashboard: the live process tree of the nginx master, its
workers, cache manager and cache loader, refreshed several times a second, and the upgrade as
single keys: install the new binary with a backup, test the config with it, start it (SIGUSR2),
drain the old workers (SIGWINCH), commit (SIGQUIT), or roll back while the old master lives.
Every signal asks first and names its target. The dashboard never changes nginx by itself, and
quitting it leaves nginx as it is.

Without --pid or --pidfile, every nginx-family master on the host is found and, when there are
several, the dashboard lets you pick one. The same engine runs headless (status, upgrade,
rollback) for scripts and fleets, and demo runs a real sandbox nginx for training.`

// rootCmd builds the whole command tree. Every command and flag here is the contract in
// DESIGN.md ("Command line"): add, never rename.
func (a *app) rootCmd() *cobra.Command {
	var (
		o           ui.Options
		target      *inspect.Target // set once the flags are defined, read after parsing
		showVersion bool
	)
	root := &cobra.Command{
		Use:     "hotdeploy",
		Short:   "Hot-upgrade a running nginx binary, step by step in a dashboard or headless",
		Long:    rootLong,
		Example: "  hotdeploy --pidfile /run/nginx.pid --new-binary /tmp/nginx-1.26\n  hotdeploy demo",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return unknownCommand(cmd, args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if showVersion { // here, not cobra's Version field: that one skips the argument checks
				fmt.Fprintln(a.stdout, "hotdeploy", versionString())
				return nil
			}
			if err := checkTarget(cmd); err != nil {
				return err
			}
			o.Target = *target
			return ui.Run(o)
		},
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	fs := root.Flags()
	target = addTargetFlags(root)
	fs.Var(textValue{&o.NewBinary, "new-binary", "path", "/tmp/nginx-1.26"}, "new-binary",
		"Prefill the install step (key i) with this nginx binary; nothing is installed until you confirm.")
	o.Interval = 250 * time.Millisecond
	fs.Var(durationValue{&o.Interval, "interval", 10 * time.Millisecond, "250ms"}, "interval",
		"Refresh the process tree this often.")
	fs.Var(textValue{&o.Probe, "probe", "url", "http://127.0.0.1/"}, "probe",
		"Request this http(s) URL throughout the upgrade and show failures and latency.")
	_ = root.RegisterFlagCompletionFunc("new-binary", completeFiles)
	_ = root.RegisterFlagCompletionFunc("probe", cobra.NoFileCompletions)
	fs.BoolVar(&o.ReadOnly, "read-only", false, "Show the process tree and the steps, but never act on nginx.")
	addAuditLogFlag(root, &o.AuditLog)
	fs.BoolVar(&showVersion, "version", false, "Print the version and the commit it was built from, then exit.")
	root.CompletionOptions.DisableDefaultCmd = true // ours takes bash, zsh or fish only
	root.SetFlagErrorFunc(flagError)
	root.SuggestionsMinimumDistance = 2 // cobra only defaults it for its own message

	root.AddCommand(a.statusCmd(), a.upgradeCmd(), a.rollbackCmd(), a.demoCmd(), a.versionCmd(),
		a.auditCmd(), a.completionCmd(), a.manCmd())
	root.SetHelpCommand(a.helpCmd())
	root.InitDefaultHelpCmd() // adds ours now, not at Execute, so the man page sees it too
	addHelpFlags(root)
	return root
}

// addTargetFlags adds --pid and --pidfile, with their completions, and returns where they land.
func addTargetFlags(cmd *cobra.Command) *inspect.Target {
	t := &inspect.Target{}
	fs := cmd.Flags()
	fs.Var(pidValue{&t.PID}, "pid",
		"Act on the nginx master with this process id (the old master, during an upgrade).")
	fs.Var(textValue{&t.PidFile, "pidfile", "path", "/run/nginx.pid"}, "pidfile",
		"Act on the nginx whose master this pid file names; without --pid or --pidfile, every nginx on the host is found.")
	_ = cmd.RegisterFlagCompletionFunc("pid", completeMasters)
	_ = cmd.RegisterFlagCompletionFunc("pidfile", completeFiles)
	return t
}

// checkTarget refuses --pid with --pidfile: two names for one target may disagree.
func checkTarget(cmd *cobra.Command) error {
	if cmd.Flags().Changed("pid") && cmd.Flags().Changed("pidfile") {
		return badInputf("give --pid or --pidfile, not both")
	}
	return nil
}

func addAuditLogFlag(cmd *cobra.Command, p *string) {
	cmd.Flags().Var(textValue{p, "audit-log", "path", "/var/log/hotdeploy/audit.log"}, "audit-log",
		"Append every action to this JSON-lines file (0600) instead of the default.")
	_ = cmd.RegisterFlagCompletionFunc("audit-log", completeFiles)
}

// addHelpFlags gives every command a -h/--help whose description is a sentence, like the rest.
func addHelpFlags(cmd *cobra.Command) {
	if cmd.Flags().Lookup("help") == nil {
		cmd.Flags().BoolP("help", "h", false, "Print this help and exit.")
	}
	for _, c := range cmd.Commands() {
		addHelpFlags(c)
	}
}
