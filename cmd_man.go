package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// manCmd prints hotdeploy(1). It is hidden: the packages ship its output, gzipped, as
// /usr/share/man/man1/hotdeploy.1.gz, and operators read it with man hotdeploy.
func (a *app) manCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "man",
		Short:  "Print the hotdeploy(1) man page (roff)",
		Long:   "Print the hotdeploy(1) man page as roff, built from the commands and flags themselves.",
		Hidden: true,
		Args:   noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprint(a.stdout, manPage(cmd.Root()))
			return err
		},
	}
}

// manCommands is the root (the dashboard) and every command an operator may type, help
// included, in the order --help lists them, each followed by its own commands (audit verify).
func manCommands(root *cobra.Command) []*cobra.Command {
	cmds := []*cobra.Command{root}
	var walk func(parent *cobra.Command)
	walk = func(parent *cobra.Command) {
		for _, c := range parent.Commands() {
			if c.IsAvailableCommand() || (parent == root && c.Name() == "help") {
				cmds = append(cmds, c)
				walk(c)
			}
		}
	}
	walk(root)
	return cmds
}

// manFlags are a command's flags as the page lists them: all but -h/--help, said once.
func manFlags(c *cobra.Command) []*pflag.Flag {
	var fs []*pflag.Flag
	c.Flags().VisitAll(func(f *pflag.Flag) {
		if !f.Hidden && f.Name != "help" {
			fs = append(fs, f)
		}
	})
	return fs
}

// flagTag is "--name type" in roff, bold name and italic type (none for a switch).
func flagTag(f *pflag.Flag) string {
	tag := bold("--" + f.Name)
	if t := f.Value.Type(); t != "bool" {
		tag += " " + italic(t)
	}
	return tag
}

// manPage renders hotdeploy(1) from the command tree and the tables the code holds.
func manPage(root *cobra.Command) string {
	var r roff
	r.macro("TH", "HOTDEPLOY", "1", "", "hotdeploy "+versionString(), "User Commands")
	r.macro("SH", "NAME")
	r.line(`hotdeploy \- ` + esc(strings.ToLower(root.Short[:1])+root.Short[1:]))

	r.macro("SH", "SYNOPSIS")
	for i, c := range manCommands(root) {
		if i > 0 {
			r.macro("br")
		}
		use := bold(c.CommandPath())
		if _, args, ok := strings.Cut(c.Use, " "); ok {
			use += " " + italic(args)
		}
		for _, f := range manFlags(c) {
			use += " [" + flagTag(f) + "]"
		}
		r.line(use)
	}

	r.macro("SH", "DESCRIPTION")
	r.text(root.Long)
	r.macro("PP")
	r.line(`Every command takes ` + bold("-h") + `, ` + bold("--help") + `: its usage, with a sentence per flag (exit 0).`)

	r.macro("SH", "COMMANDS")
	for _, c := range manCommands(root) {
		title := c.CommandPath()
		if c == root {
			title += " (the dashboard)"
		}
		r.macro("SS", title)
		if c == root {
			r.text("Opens the dashboard described above. " + c.Short + ".")
		} else {
			r.text(c.Long)
		}
		for _, f := range manFlags(c) {
			r.macro("TP")
			r.line(flagTag(f))
			desc := f.Usage
			if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" {
				desc += " Default: " + f.DefValue + "."
			}
			r.line(esc(desc))
		}
		if c.Example != "" {
			r.macro("PP")
			r.line("Example:")
			r.text(c.Example)
		}
	}
	manTables(&r)
	return r.b.String()
}
