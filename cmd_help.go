package main

import (
	"github.com/spf13/cobra"
)

// helpCmd replaces cobra's `help`, which prints the root usage and exits 0 for a topic that
// does not exist: here that is an unknown command like any other (one line, exit 2).
func (a *app) helpCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "help [command]",
		Short: "Print the help of a command",
		Long:  "Print the help of a command: hotdeploy help upgrade is hotdeploy upgrade --help.",
		ValidArgsFunction: func(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
			var names []string
			if len(args) == 0 {
				for _, c := range cmd.Root().Commands() {
					if c.IsAvailableCommand() {
						names = append(names, c.Name()+"\t"+c.Short)
					}
				}
			}
			return names, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			target, rest, err := cmd.Root().Find(args)
			if err != nil || len(rest) > 0 {
				word := args[len(args)-1]
				if len(rest) > 0 {
					word = rest[0]
				}
				return unknownCommand(cmd.Root(), word)
			}
			return target.Help()
		},
	}
}
