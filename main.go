// Command hotdeploy upgrades a running nginx to a new binary without dropping a connection:
// a live dashboard of the process tree, guarded signal steps, and the same engine headless.
//
// This file only wires: the commands are in cmd_*.go, one per file, built with cobra.
package main

import (
	"io"
	"os"

	"github.com/hotdeploy/hotdeploy/nginxctl/sandbox"
)

func main() {
	if os.Getenv(sandbox.GuardEnv) != "" {
		// A demo's sandbox guard (nginxctl/sandbox/guard.go): it stops the sandbox when the demo
		// ends without doing so itself.
		os.Exit(sandbox.RunGuard())
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes a command line and returns the exit code: 0 done, 1 failed and rolled back,
// 2 refused or bad input (nothing changed), 3 failed and needs a human.
func run(args []string, stdout, stderr io.Writer) int {
	a := &app{stdout: stdout, stderr: stderr}
	root := a.rootCmd()
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetArgs(append([]string{}, args...)) // never nil: cobra would read os.Args instead
	cmd, err := root.ExecuteC()
	if err != nil {
		a.report(cmd, args, err)
	}
	return exitCode(err, a.code)
}
