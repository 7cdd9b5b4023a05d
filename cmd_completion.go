package main

import (
	"fmt"
	"slices"

	"github.com/hotdeploy/hotdeploy/nginxctl/inspect"
	"github.com/spf13/cobra"
)

var completionShells = []string{"bash", "zsh", "fish"}

// completionCmd prints a shell's completion script. The scripts ask the binary itself (cobra's
// hidden __complete command) at each Tab, so --pid completes to the masters running right now.
func (a *app) completionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish",
		Short: "Print the shell completion script for bash, zsh or fish",
		Long: `Print the completion script for a shell. The packages install them where each shell looks;
by hand, for example:

  hotdeploy completion bash > /usr/share/bash-completion/completions/hotdeploy
  hotdeploy completion zsh  > /usr/share/zsh/vendor-completions/_hotdeploy
  hotdeploy completion fish > /usr/share/fish/vendor_completions.d/hotdeploy.fish

--pid completes to the nginx masters running now (pid and title), --pidfile, --new-binary and
--audit-log to files.`,
		ValidArgs: completionShells,
		Args: func(cmd *cobra.Command, args []string) error {
			switch {
			case len(args) == 0:
				return badInputf("completion needs a shell: want %s, such as hotdeploy completion bash", orList(completionShells))
			case len(args) > 1:
				return badInputf("unexpected argument %q: completion takes one shell", args[1])
			case !slices.Contains(completionShells, args[0]):
				return badInputf("completion %s: want %s", shown(args[0]), orList(completionShells))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			root := cmd.Root()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(a.stdout, true)
			case "zsh":
				return root.GenZshCompletion(a.stdout)
			}
			return root.GenFishCompletion(a.stdout, true)
		},
	}
}

// completeMasters offers the nginx-family masters running now: pid, and its title as the
// description (old and new master both, during an upgrade).
func completeMasters(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	snap, err := inspect.NewScanner().Scan()
	if err != nil {
		return nil, cobra.ShellCompDirectiveError
	}
	var out []string
	for _, in := range snap.Instances {
		for _, m := range in.Masters {
			out = append(out, fmt.Sprintf("%d\t%s", m.PID, m.Title))
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completeFiles lets the shell complete file names.
func completeFiles(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return nil, cobra.ShellCompDirectiveDefault
}
