package upgrade

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/driver"
	"github.com/hotdeploy/hotdeploy/nginxctl/inspect"
	"github.com/hotdeploy/hotdeploy/nginxctl/supervisor"
)

// Result is the final object of every headless command: one schema, extended, never renamed
// (../shared/DESIGN.md). Arrays are never null; objects that do not apply are null.
type Result struct {
	// Result says what became of nginx: committed, drained, rolled-back, refused, failed,
	// unchanged (it already runs that build), checked (--dry-run).
	Result    string   `json:"result"`
	ExitCode  int      `json:"exit_code"`
	OldPID    int      `json:"old_pid"`
	NewPID    int      `json:"new_pid"`
	Phase     string   `json:"phase"`
	ElapsedMS int64    `json:"elapsed_ms"`
	Error     string   `json:"error"`
	Warnings  []string `json:"warnings"`
	OldBuild  *Build   `json:"old_build"`
	NewBuild  *Build   `json:"new_build"`
	// Backup is where the build that ran before is kept; Rejected, where a rollback kept the
	// file it took off the binary's path.
	Backup   string `json:"backup"`
	Rejected string `json:"rejected"`
	// Ended lists the processes of a dead master that were ended (orphaned workers keep
	// accepting on the inherited sockets until they are).
	Ended    []Ended         `json:"ended"`
	Systemd  any             `json:"systemd"`
	Probe    any             `json:"probe"`
	Log      []string        `json:"log,omitempty"`
	Instance *model.Instance `json:"instance,omitempty"`
}

// Build names one nginx build: a file, its sha256, and the version it prints.
type Build struct {
	Path    string `json:"path"`
	SHA256  string `json:"sha256"`
	Version string `json:"version"`
}

// runningBuild is the build a master runs, read through /proc/PID/exe (the file on disk may be
// another one by now).
func runningBuild(m model.Master) *Build {
	b := &Build{Path: m.Exe, Version: m.Version}
	b.SHA256, _ = inspect.FileSHA256(fmt.Sprintf("/proc/%d/exe", m.PID))
	return b
}

// diskBuild is the build in the file at the instance's binary path.
func diskBuild(in model.Instance) *Build {
	b := &Build{Path: in.Binary, Version: in.BinaryVersion}
	b.SHA256, _ = inspect.FileSHA256(in.Binary)
	return b
}

// probePhases names the probe's phase each signal starts.
var probePhases = map[string]string{"SIGUSR2": "usr2", "SIGWINCH": "winch", "SIGQUIT": "quit", "SIGHUP": "hup"}

// exitCodes maps a result to the exit code: the verdict scripts act on.
var exitCodes = map[string]int{"committed": ExitDone, "drained": ExitDone, "unchanged": ExitDone, "checked": ExitDone,
	"rolled-back": ExitRolledBack, "refused": ExitRefused, "failed": ExitNeedsHuman}

// headless prints events and the result, as JSON lines or as text.
type headless struct {
	opts   HeadlessOptions
	out    io.Writer
	start  time.Time
	res    Result
	runner *Runner
	unit   *supervisor.Unit // the systemd unit running the instance, nil when none
	// exit, when not -1, overrides the exit code of the result: a rollback that was asked
	// for, or an upgrade found rolled back, is done (0), not a failure that was rolled back.
	exit int
	// session is this command's driver lock and journal; nil for --dry-run and refusals.
	session *driver.Session
}

func (h *headless) event(e Event) {
	if e.Kind == "warning" {
		h.res.Warnings = append(h.res.Warnings, e.Message)
	}
	if e.Kind == "signal" && h.opts.Probe != nil {
		if name, ok := probePhases[e.Signal]; ok {
			h.opts.Probe.MarkPhase(name)
		}
	}
	if h.opts.JSON {
		b, _ := json.Marshal(e)
		fmt.Fprintf(h.out, "%s\n", b)
		return
	}
	switch e.Kind {
	case "signal":
		fmt.Fprintf(h.out, "  -> %s\n", e.Message)
	case "done":
		fmt.Fprintf(h.out, "ok %-9s %s (%d ms)\n", e.Step, e.Message, e.ElapsedMS)
	default:
		fmt.Fprintf(h.out, "   %-9s %s\n", e.Step, e.Message)
	}
}

// finish prints the result and returns the exit code. A refusal is one line on stderr, and
// with --json the result object on stdout too.
func (h *headless) finish(result string, in model.Instance, err error) int {
	return h.finishCode(result, exitCodes[result], in, err)
}

// finishCode is finish with the exit code decided by the caller: a rollback asked for and done
// exits 0, and a step that left systemd tracking the wrong process exits 3 whatever it did.
func (h *headless) finishCode(result string, code int, in model.Instance, err error) int {
	r := &h.res
	r.Result, r.ElapsedMS = result, since(h.start)
	r.ExitCode = code
	if h.exit >= 0 && code != ExitNeedsHuman {
		r.ExitCode = h.exit
	}
	r.Ended = []Ended{}
	if h.runner != nil {
		r.Ended = h.runner.Ended()
		if r.Rejected == "" {
			r.Rejected = h.runner.rejected
		}
	}
	if r.Warnings == nil {
		r.Warnings = []string{}
	}
	if len(in.Masters) > 0 {
		r.Phase = in.Phase.String()
		if r.OldPID == 0 {
			r.OldPID = in.Masters[0].PID
		}
	}
	if r.Systemd == nil && h.unit != nil {
		r.Systemd = supervisor.NewStatus(*h.unit, in)
	}
	if h.opts.ProbeReport != nil {
		version := ""
		if r.OldBuild != nil {
			version = r.OldBuild.Version
		}
		r.Probe = h.opts.ProbeReport(version)
	}
	if err != nil {
		r.Error = err.Error()
		var se *StepError
		if errors.As(err, &se) {
			r.Log = se.Log
		}
	}
	if result == "failed" && len(in.Masters) > 0 {
		inst := inspect.NonNilInstance(in)
		r.Instance = &inst
	}
	if result == "refused" {
		stderr := h.opts.Stderr
		if stderr == nil {
			stderr = os.Stderr
		}
		fmt.Fprintf(stderr, "hotdeploy: %s\n", r.Error)
	}
	if h.opts.JSON {
		b, _ := json.Marshal(r)
		fmt.Fprintf(h.out, "%s\n", b)
		return r.ExitCode
	}
	if result == "refused" {
		return r.ExitCode
	}
	h.printText(in)
	return r.ExitCode
}

// printText is the result for a person.
func (h *headless) printText(in model.Instance) {
	r := &h.res
	fmt.Fprintf(h.out, "%s: old master %d, new master %d, phase %s (%d ms)\n", r.Result, r.OldPID, r.NewPID, r.Phase, r.ElapsedMS)
	if r.Error != "" {
		fmt.Fprintf(h.out, "error: %s\n", r.Error)
	}
	for _, b := range []struct {
		name string
		b    *Build
	}{{"old build", r.OldBuild}, {"new build", r.NewBuild}} {
		if b.b != nil {
			fmt.Fprintf(h.out, "%s: %s %s (sha256 %.12s)\n", b.name, b.b.Path, b.b.Version, b.b.SHA256)
		}
	}
	if r.Backup != "" {
		fmt.Fprintf(h.out, "backup: %s\n", r.Backup)
	}
	if r.Rejected != "" {
		fmt.Fprintf(h.out, "rejected: %s (the file the rollback took off the binary's path)\n", r.Rejected)
	}
	for _, w := range r.Warnings {
		fmt.Fprintf(h.out, "warning: %s\n", w)
	}
	for _, l := range r.Log {
		fmt.Fprintf(h.out, "  log: %s\n", l)
	}
	for _, e := range r.Ended {
		fmt.Fprintf(h.out, "ended: %s %d of a dead master (after %s)\n", e.Role, e.PID, e.Signal)
	}
	if r.Result == "failed" {
		_ = inspect.WriteStatusText(h.out, model.Snapshot{Taken: time.Now(), Instances: []model.Instance{in}})
	}
}
