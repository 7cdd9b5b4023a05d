// Command hotdeploy upgrades a running nginx to a new binary without dropping a connection:
// a live dashboard of the process tree, guarded signal steps, and the same engine headless.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/hotdeploy/hotdeploy/nginxctl/inspect"
	"github.com/hotdeploy/hotdeploy/nginxctl/traffic"
	"github.com/hotdeploy/hotdeploy/nginxctl/upgrade"
	"github.com/hotdeploy/hotdeploy/ui"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version string

const usage = `usage:
  hotdeploy [--pid N | --pidfile PATH] [--new-binary PATH] [--interval 250ms] [--probe URL]
            [--read-only] [--audit-log PATH]            the dashboard
  hotdeploy status   [--pid N | --pidfile PATH] [--json]
  hotdeploy upgrade  [--pid N | --pidfile PATH] --new-binary PATH --yes [--json]
            [--stop-after drain] [--ready-timeout 10s] [--drain-timeout 60s] [--no-auto-rollback]
            [--probe URL]
  hotdeploy rollback [--pid N | --pidfile PATH] --yes [--json]
  hotdeploy demo     [--port 8080] [--keep] [--scenario NAME]
  hotdeploy version
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches a command line and returns the exit code: 0 done, 1 failed and rolled back,
// 2 refused or bad input, 3 failed and needs a human.
func run(args []string, stdout, stderr io.Writer) int {
	cmd := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "":
		err = dashboard(args)
	case "status":
		err = status(args, stdout)
	case "upgrade":
		return headless(args, stdout, stderr, true)
	case "rollback":
		return headless(args, stdout, stderr, false)
	case "demo":
		err = demo(args)
	case "version":
		fmt.Fprintln(stdout, "hotdeploy", buildVersion())
	case "help":
		fmt.Fprint(stdout, usage)
	default:
		err = badInput(fmt.Errorf("unknown command %q (want status, upgrade, rollback, demo or version)", cmd))
	}
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, "hotdeploy:", err)
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	if errors.Is(err, inspect.ErrBadTarget) {
		return 2
	}
	return 1
}

// exitError carries an exit code with the error that caused it.
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return e.err.Error() }
func (e exitError) Unwrap() error { return e.err }

func badInput(err error) error { return exitError{code: 2, err: err} }

// newFlags returns a flag set that reports errors as one line instead of printing usage.
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return badInput(errors.New("see `hotdeploy help`"))
		}
		return badInput(err)
	}
	if fs.NArg() > 0 {
		return badInput(fmt.Errorf("unexpected argument %q", fs.Arg(0)))
	}
	return nil
}

// targetFlags adds --pid and --pidfile.
func targetFlags(fs *flag.FlagSet) *inspect.Target {
	t := &inspect.Target{}
	fs.IntVar(&t.PID, "pid", 0, "pid of the nginx master")
	fs.StringVar(&t.PidFile, "pidfile", "", "pid file of the nginx master")
	return t
}

func checkTarget(t *inspect.Target) error {
	if t.PID != 0 && t.PidFile != "" {
		return badInput(errors.New("give --pid or --pidfile, not both"))
	}
	if t.PID < 0 {
		return badInput(fmt.Errorf("--pid %d is not a pid", t.PID))
	}
	return nil
}

func status(args []string, stdout io.Writer) error {
	fs := newFlags("status")
	t := targetFlags(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := checkTarget(t); err != nil {
		return err
	}
	snap, err := inspect.NewScanner().Resolve(*t)
	if err != nil {
		return err
	}
	if *asJSON {
		return inspect.WriteStatusJSON(stdout, snap)
	}
	return inspect.WriteStatusText(stdout, snap)
}

// headless runs `upgrade` (upgrade true) or `rollback` and returns its exit code.
func headless(args []string, stdout, stderr io.Writer, isUpgrade bool) int {
	name := map[bool]string{true: "upgrade", false: "rollback"}[isUpgrade]
	fs := newFlags(name)
	t := targetFlags(fs)
	o := upgrade.HeadlessOptions{}
	yes := fs.Bool("yes", false, "act without asking")
	fs.BoolVar(&o.JSON, "json", false, "print JSON lines")
	fs.StringVar(&o.AuditLog, "audit-log", "", "audit log path")
	var stopAfter, probeURL string
	if isUpgrade {
		fs.StringVar(&o.NewBinary, "new-binary", "", "candidate nginx binary")
		fs.StringVar(&stopAfter, "stop-after", "", "stop after this step (drain)")
		fs.DurationVar(&o.ReadyTimeout, "ready-timeout", 10*time.Second, "wait for the new master")
		fs.DurationVar(&o.DrainTimeout, "drain-timeout", 60*time.Second, "wait for the old workers")
		fs.BoolVar(&o.NoAutoRollback, "no-auto-rollback", false, "leave a failed upgrade as it is")
		fs.StringVar(&probeURL, "probe", "", "URL to request throughout; a failure after WINCH rolls back")
	}
	err := parse(fs, args)
	if err == nil {
		err = checkTarget(t)
	}
	switch {
	case err != nil:
	case !*yes:
		err = fmt.Errorf("%s changes a running nginx: add --yes to run it headless, or use the dashboard (hotdeploy)", name)
	case stopAfter != "" && stopAfter != "drain":
		err = fmt.Errorf("--stop-after %q: only \"drain\" is supported", stopAfter)
	case isUpgrade && (o.ReadyTimeout <= 0 || o.DrainTimeout <= 0):
		err = fmt.Errorf("--ready-timeout %s and --drain-timeout %s: timeouts must be positive", o.ReadyTimeout, o.DrainTimeout)
	}
	// The probe runs from before USR2 to the end, so a failure after WINCH blocks the commit.
	var probe *traffic.Probe
	if err == nil && probeURL != "" {
		probe, err = traffic.StartProbe(context.Background(), traffic.ProbeOptions{URL: probeURL})
	}
	if err != nil {
		fmt.Fprintln(stderr, "hotdeploy:", err)
		if o.JSON { // scripts read stdout: give them the final object too
			_ = json.NewEncoder(stdout).Encode(upgrade.Result{Result: "refused", Error: err.Error()})
		}
		return upgrade.ExitRefused
	}
	o.Target, o.StopAfterDrain = *t, stopAfter == "drain"
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if isUpgrade {
		if probe == nil {
			return upgrade.Upgrade(ctx, o, stdout)
		}
		o.Probe = probe
		code := upgrade.Upgrade(ctx, o, stdout)
		probe.Stop()
		fmt.Fprintln(stderr, "hotdeploy:", traffic.ProbeSummary(probe.Stats()))
		return code
	}
	return upgrade.Rollback(ctx, o, stdout)
}

func dashboard(args []string) error {
	fs := newFlags("hotdeploy")
	t := targetFlags(fs)
	var o ui.Options
	fs.StringVar(&o.NewBinary, "new-binary", "", "candidate nginx binary")
	fs.DurationVar(&o.Interval, "interval", 250*time.Millisecond, "refresh interval")
	fs.StringVar(&o.Probe, "probe", "", "URL to probe during the upgrade")
	fs.BoolVar(&o.ReadOnly, "read-only", false, "show, never act")
	fs.StringVar(&o.AuditLog, "audit-log", "", "audit log path")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := checkTarget(t); err != nil {
		return err
	}
	if o.Interval < 10*time.Millisecond {
		return badInput(fmt.Errorf("--interval %s is too short (10ms at least)", o.Interval))
	}
	o.Target = *t
	return ui.Run(o)
}

func demo(args []string) error {
	fs := newFlags("demo")
	var o ui.DemoOptions
	fs.IntVar(&o.Port, "port", 8080, "loopback port of the sandbox")
	fs.BoolVar(&o.Keep, "keep", false, "keep the sandbox directory on exit")
	fs.StringVar(&o.Scenario, "scenario", "none", "failure to rehearse: none, "+strings.Join(ui.Scenarios, ", "))
	if err := parse(fs, args); err != nil {
		return err
	}
	if _, err := ui.ParseScenario(o.Scenario); err != nil {
		return badInput(err)
	}
	if o.Port <= 0 || o.Port > 65535 {
		return badInput(fmt.Errorf("--port %d is not a port", o.Port))
	}
	return ui.Demo(o)
}

func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}
