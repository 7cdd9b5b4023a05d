package main

import (
	"bytes"
	"errors"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hotdeploy/hotdeploy/nginxctl/audit"
)

const auditLong = `Print the audit log as a table an operator reads at a glance: time, who (the person behind
sudo, not just root), instance, action, signal, target pid and result. With --json, one JSON
object per entry, as the log holds them. Entries are printed even when some lines are damaged;
the exit code is then 2 and one line on stderr says to run hotdeploy audit verify.

The log is /var/log/hotdeploy/audit.log as root, $XDG_STATE_HOME/hotdeploy/audit.log otherwise
(~/.local/state/hotdeploy/audit.log), or the file --audit-log names. Each entry is also sent to
the system journal (journalctl -t hotdeploy) or, without one, to syslog.`

const auditVerifyLong = `Check the audit log's hash chain: every line carries the sha256 of the line before it and a
sequence number, and a head file beside the log keeps the last hash, so a changed line, a
removed line, removed last lines and a truncation are all caught, each named by its line.
After logrotate, the first line of the new file names the last hash of the old one; verify
checks it against the rotated file when that is still there, and says so when it is not.

Exit status: 0 intact, 1 broken (the first broken line is named), 2 the log cannot be read.`

// auditCmd is `hotdeploy audit` (list) with `hotdeploy audit verify` under it. Both only read.
func (a *app) auditCmd() *cobra.Command {
	var (
		path   string
		since  time.Duration
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:     "audit",
		Short:   "Print the audit log: who did what to which nginx, and with what result",
		Long:    auditLong,
		Example: "  sudo hotdeploy audit --since 1h\n  hotdeploy audit --audit-log ./audit.log --json",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return nil
			}
			if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
				return badInputf("unknown command %q for %q: did you mean %q?", args[0], cmd.CommandPath(), s[0])
			}
			return badInputf("unexpected argument %q: %s takes none but the command verify (see %s --help)",
				args[0], cmd.CommandPath(), cmd.CommandPath())
		},
	}
	cmd.SuggestionsMinimumDistance = 2 // cobra leaves it 0 below the root: no suggestion at all
	fs := cmd.Flags()
	addAuditReadFlag(cmd, &path)
	fs.Var(durationValue{&since, "since", 0, "1h"}, "since", "Print only the entries of this last stretch of time, such as 1h or 30m; all when not given.")
	_ = cmd.RegisterFlagCompletionFunc("since", cobra.NoFileCompletions)
	fs.BoolVar(&asJSON, "json", false, "Print one JSON object per entry, as the log holds them, instead of the table.")
	cmd.RunE = func(*cobra.Command, []string) error {
		if err := audit.RunList(a.stdout, path, since, asJSON); err != nil {
			return badInput(err) // unreadable or partly damaged: exit 2, the reason on one line
		}
		return nil
	}
	cmd.AddCommand(a.auditVerifyCmd())
	return cmd
}

func (a *app) auditVerifyCmd() *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:     "verify",
		Short:   "Check that no audit log line was changed or removed",
		Long:    auditVerifyLong,
		Example: "  sudo hotdeploy audit verify\n  hotdeploy audit verify --audit-log /var/log/hotdeploy/audit.log.1",
		Args:    noArgs,
	}
	addAuditReadFlag(cmd, &path)
	cmd.RunE = func(*cobra.Command, []string) error {
		var out bytes.Buffer
		a.code = audit.RunVerify(&out, path)
		if a.code == 2 {
			// Unreadable is an error like any other: its one line goes to stderr.
			return badInput(errors.New(strings.TrimSpace(out.String())))
		}
		_, err := a.stdout.Write(out.Bytes())
		return err
	}
	return cmd
}

// addAuditReadFlag is --audit-log for the commands that read the log: the same flag as the
// commands that write it, with a sentence that says which file is read.
func addAuditReadFlag(cmd *cobra.Command, p *string) {
	cmd.Flags().Var(textValue{p, "audit-log", "path", "/var/log/hotdeploy/audit.log"}, "audit-log",
		"Read this audit log instead of the default (/var/log/hotdeploy/audit.log as root).")
	_ = cmd.RegisterFlagCompletionFunc("audit-log", completeFiles)
}
