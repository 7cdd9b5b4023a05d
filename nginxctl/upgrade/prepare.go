package upgrade

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/audit"
	"github.com/hotdeploy/hotdeploy/nginxctl/inspect"
)

// Preflight checks everything an upgrade to candidate needs before anything changes: the
// candidate itself, the master (daemonized, argv[0] resolvable, ours to signal), that no upgrade
// runs, and the config test with the candidate and the master's own -p/-c/-g. An empty candidate
// means the binary already on disk.
func (r *Runner) Preflight(ctx context.Context, in model.Instance, candidate string) (model.Instance, error) {
	const step = "preflight"
	start := time.Now()
	r.begin(step)
	r.emit(Event{Step: step, Kind: "start", Why: model.Because("checking the candidate and the running master")})
	in, err := r.fresh(in, model.ActInstall)
	if err != nil {
		return in, relabel(err, step)
	}
	binary, err := r.preflightBinary(in, candidate)
	if err == nil {
		_, err = checkCandidate(ctx, binary)
	}
	if err != nil {
		return in, &StepError{Step: step, Refused: true, Reason: err.Error(), Why: model.ReasonOf(err), Err: err}
	}
	r.warnStaleOldbin(in)
	if lines, err := configTest(ctx, in.Masters[0], binary); err != nil {
		return in, &StepError{Step: step, Refused: true, Reason: err.Error(), Why: model.ReasonOf(err), Log: lines, Err: err}
	}
	r.emit(Event{Step: step, Kind: "done", ElapsedMS: since(start),
		Why: model.Because("%s passes the config test with the master's -p/-c/-g", binary)})
	return in, nil
}

// preflightBinary checks the master can be upgraded at all and returns the binary to test:
// the candidate (made absolute), or the file on disk that nginx will exec.
func (r *Runner) preflightBinary(in model.Instance, candidate string) (string, error) {
	m := in.Masters[0]
	switch {
	case m.SignalsIgnored != "":
		return "", m.SignalsIgnoredWhy.Or(m.SignalsIgnored).Err()
	case m.Argv0Problem != "":
		return "", m.Argv0ProblemWhy.Or(m.Argv0Problem).Err()
	case candidate == "" && !in.BinaryDiffers:
		return "", model.Because("no --new-binary given and %s is the binary already running: "+
			"give the new binary with --new-binary", in.Binary).Err()
	}
	if err := syscall.Kill(m.PID, 0); err != nil {
		return "", model.Because("cannot signal master %d: %v; run as root or as the user nginx runs as", m.PID, err).Err()
	}
	if candidate == "" {
		return in.Binary, nil
	}
	return absCandidate(candidate)
}

// absCandidate makes a candidate path absolute: exec.Command would search $PATH for a bare name
// and could run another file than the one checked.
func absCandidate(path string) (string, error) {
	if path == "" {
		return "", model.Because("no candidate binary given").Err()
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", model.Because("candidate %s: %w", path, err).Err()
	}
	return abs, nil
}

// warnStaleOldbin points out a nginx.pid.oldbin left by an upgrade that was killed: in idle it
// names no master of this instance, maybe another process by now. Nothing ever signals it.
func (r *Runner) warnStaleOldbin(in model.Instance) {
	if in.OldbinPID == 0 {
		return
	}
	r.emit(Event{Step: "preflight", Kind: "warning", PID: in.OldbinPID, Why: model.Because(
		"%s.oldbin is stale: it names pid %d, which is not a master of this instance; it is never signalled, "+
			"and nginx replaces the file on SIGUSR2", in.PidFile, in.OldbinPID)})
}

// Test runs the config test alone (dashboard key t) and returns what nginx printed.
func (r *Runner) Test(ctx context.Context, in model.Instance, candidate string) ([]string, error) {
	in, err := r.fresh(in, model.ActTest)
	if err != nil {
		return nil, err
	}
	binary := in.Binary
	if candidate != "" {
		binary, err = absCandidate(candidate)
		if err == nil {
			_, err = checkCandidate(ctx, binary)
		}
		if err != nil {
			return nil, &StepError{Step: "test", Refused: true, Reason: err.Error(), Why: model.ReasonOf(err), Err: err}
		}
	}
	lines, err := configTest(ctx, in.Masters[0], binary)
	if err != nil {
		return lines, &StepError{Step: "test", Refused: true, Reason: err.Error(), Why: model.ReasonOf(err), Log: lines}
	}
	return lines, nil
}

// checkCandidate validates a candidate binary: a regular executable ELF file that prints an
// nginx-family version line for -v (so /bin/true, which exits 0, is no candidate). It returns
// the version, e.g. "nginx/1.22.1".
func checkCandidate(ctx context.Context, path string) (string, error) {
	if err := inspect.CheckExecutable(path); err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "-v")
	cmd.WaitDelay = time.Second // a child holding the output pipe must not hang the check
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", model.Because("candidate %s does not answer -v (%v): %s", path, err, inspect.FirstLine(string(out))).Err()
	}
	v := versionLine.FindStringSubmatch(string(out))
	if v == nil {
		return "", model.Because("candidate %s is not nginx: -v printed %q, not a line like \"nginx version: nginx/1.22.1\"",
			path, inspect.FirstLine(string(out))).Err()
	}
	return v[1], nil
}

// versionLine is what nginx and its forks print for -v: "nginx version: nginx/1.22.1",
// "Tengine version: Tengine/2.3.3 (nginx/1.18.0)", "angie version: Angie/1.4.0".
var versionLine = regexp.MustCompile(`(?im)^(?:nginx|angie|openresty|tengine|freenginx) version: (\S+/\S+)`)

// configTest runs `binary -t` with the master's own -p/-c/-g/-e, from its working directory, as
// the new master would load the config after USR2.
func configTest(ctx context.Context, m model.Master, binary string) ([]string, error) {
	a := inspect.ParseMasterArgs(m.Argv)
	var args []string
	for _, o := range []struct{ flag, val string }{{"-p", a.Prefix}, {"-c", a.Conf}, {"-e", a.ErrorLog}, {"-g", a.Directives}} {
		if o.val != "" {
			args = append(args, o.flag, o.val)
		}
	}
	args = append(args, "-t")
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.WaitDelay = time.Second
	if cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", m.PID)); err == nil {
		cmd.Dir = cwd
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if err == nil && !strings.Contains(out.String(), "test is successful") {
		err = errors.New("it did not say \"test is successful\"")
	}
	if err != nil {
		why := lines[0]
		for _, l := range lines {
			if inspect.LineSeverity(l) >= inspect.SevError {
				why = l
				break
			}
		}
		return lines, model.Because("config test with %s %s failed: %s", binary, strings.Join(args, " "), why).Err()
	}
	return lines, nil
}

// Install puts candidate in place (dashboard key i, and the first step of a headless upgrade):
// the candidate is copied once beside the binary, that copy is checked (an ELF that prints
// nginx's own version line, and passes the config test with the master's -p/-c/-g), the
// running binary is backed up to <binary>.old (an older backup of another build kept as
// .old.<sha12>), and that same copy is renamed into place. Nothing is signalled. A refusal
// means nothing changed.
func (r *Runner) Install(ctx context.Context, in model.Instance, candidate string) (model.Instance, audit.Install, error) {
	const step = "install"
	start := time.Now()
	r.begin(step)
	in, err := r.fresh(in, model.ActInstall)
	if err != nil {
		return in, audit.Install{}, err
	}
	refuse := func(err error, log []string) (model.Instance, audit.Install, error) {
		return in, audit.Install{}, &StepError{Step: step, Refused: true, Reason: err.Error(), Why: model.ReasonOf(err), Log: log, Err: err}
	}
	if candidate, err = absCandidate(candidate); err == nil {
		err = inspect.CheckExecutable(candidate)
	}
	if err != nil {
		return refuse(err, nil)
	}
	m := in.Masters[0]
	st, err := stage(candidate, in.Binary)
	if err != nil {
		return refuse(err, nil)
	}
	defer st.discard()
	if _, err := checkCandidate(ctx, st.path); err != nil {
		return refuse(model.Because("%s (checked as the copy %s)", err, st.path).Err(), nil)
	}
	if lines, err := configTest(ctx, m, st.path); err != nil {
		return refuse(err, lines)
	}
	got := audit.Install{Binary: in.Binary, NewSHA256: st.sha256}
	if got.Backup, got.BackupSHA256, got.Kept, err = backUp(m.PID, in.Binary); err != nil {
		return refuse(err, nil)
	}
	if r.beforeRename != nil {
		r.beforeRename(candidate, st.path)
	}
	// The journal names the backup before the binary changes: a driver killed right after the
	// rename leaves a successor that knows where the old build is.
	r.track(step, in, installed(candidate, got))
	if err := st.install(); err != nil {
		// The rename is the only change to the binary: if it failed, the binary is as it was.
		return refuse(err, nil)
	}
	entry := audit.Entry{Instance: in.Key(), Action: step, PID: m.PID, StartTicks: m.StartTicks, Result: "installed", Install: &got}
	if aerr := r.Audit.Record(entry); aerr != nil {
		// The install happened; the preflight entry proved the log writable, so say it loudly
		// but do not pretend nothing changed.
		r.emit(Event{Step: step, Kind: "warning", Why: model.Because("install not recorded in the audit log: %v", aerr)})
	}
	msg := model.Because("%s installed as %s (sha256 %.12s); the running binary is kept as %s (sha256 %.12s)",
		candidate, got.Binary, got.NewSHA256, got.Backup, got.BackupSHA256)
	if got.Kept != "" {
		msg = model.Because("%s installed as %s (sha256 %.12s); the running binary is kept as %s (sha256 %.12s); "+
			"the earlier backup, another build, is kept as %s",
			candidate, got.Binary, got.NewSHA256, got.Backup, got.BackupSHA256, got.Kept)
	}
	r.emit(Event{Step: step, Kind: "done", ElapsedMS: since(start), Why: msg})
	in, _ = r.Scanner.Refresh(in)
	return in, got, nil
}
