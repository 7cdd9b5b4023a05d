package main

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version and commit are set at build time:
// -ldflags "-X main.version=v1.2.3 -X main.commit=abc1234" (the Makefile and goreleaser do).
var version, commit string

// versionString is "VERSION (commit SHORTSHA)"; what the linker did not set comes from the
// module's build info (a go install of a tag, or a build in a git checkout).
func versionString() string {
	v, c := version, commit
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && c == "" {
				c = s.Value[:min(7, len(s.Value))]
			}
		}
	}
	if v == "" {
		v = "(devel)"
	}
	if c == "" {
		c = "unknown"
	}
	return fmt.Sprintf("%s (commit %s)", v, c)
}

func (a *app) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version and the commit it was built from",
		Long:  "Print the version and the commit hotdeploy was built from, as --version does.",
		Args:  noArgs,
		RunE: func(*cobra.Command, []string) error {
			fmt.Fprintln(a.stdout, "hotdeploy", versionString())
			return nil
		},
	}
}
