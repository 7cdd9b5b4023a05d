package inspect

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/hotdeploy/hotdeploy/model"
)

// Target is how the operator named an instance: by a master pid, by a pid file, or not at all.
type Target struct {
	PID     int
	PidFile string
}

// ErrBadTarget marks input errors about --pid and --pidfile (exit code 2).
var ErrBadTarget = errors.New("bad target")

// badTarget is an error that errors.Is reports as ErrBadTarget and that reads as its cause
// alone: the operator sees "pid 42 is not running", not a category.
type badTarget struct{ err error }

func (e badTarget) Error() string        { return e.err.Error() }
func (e badTarget) Unwrap() error        { return e.err }
func (e badTarget) Is(target error) bool { return target == ErrBadTarget }

// Resolve returns the instances the target names: exactly one for --pid or --pidfile, every
// instance on the host otherwise.
func (s *Scanner) Resolve(t Target) (model.Snapshot, error) {
	if t.PID == 0 && t.PidFile == "" {
		return s.Scan()
	}
	pid, pidFile := t.PID, t.PidFile
	if pidFile != "" {
		var err error
		if pid, err = ReadPidFile(pidFile); errors.Is(err, fs.ErrNotExist) {
			// From SIGUSR2 until the new master wrote it, nginx.pid is renamed to .oldbin.
			if oldPID, errOld := ReadPidFile(pidFile + ".oldbin"); errOld == nil {
				pid, pidFile, err = oldPID, pidFile+".oldbin", nil
			} else {
				err = model.Because("pid file %s does not exist", pidFile).Err()
			}
		}
		if err != nil {
			return model.Snapshot{}, badTarget{err}
		}
	}
	in, err := s.InstanceOf(pid)
	if err != nil && pidFile != "" && !strings.HasSuffix(pidFile, ".oldbin") {
		// nginx may be renaming .oldbin back this very moment: read the pid file once more.
		if again, errAgain := ReadPidFile(pidFile); errAgain == nil && again != pid {
			if cur, errCur := s.InstanceOf(again); errCur == nil {
				in, err = cur, nil
			}
		}
	}
	if err != nil && pidFile != "" && !strings.HasSuffix(pidFile, ".oldbin") {
		// A new master that died leaves its pid in nginx.pid for a moment, until the old
		// master renames nginx.pid.oldbin back: the old master is the instance then.
		if oldPID, errOld := ReadPidFile(pidFile + ".oldbin"); errOld == nil {
			if old, errOld := s.InstanceOf(oldPID); errOld == nil {
				in, err = old, nil
			}
		}
	}
	if err != nil {
		if pidFile != "" {
			err = model.Because("pid file %s names pid %d: %v", pidFile, pid, err).Err()
		}
		return model.Snapshot{}, badTarget{err}
	}
	return model.Snapshot{Taken: s.now(), Instances: []model.Instance{in}}, nil
}

// WriteStatusJSON writes the snapshot as the `status --json` document.
func WriteStatusJSON(w io.Writer, snap model.Snapshot) error {
	enc := json.NewEncoder(w)
	return enc.Encode(NonNil(snap))
}

// NonNil returns a copy of snap whose arrays are empty instead of nil, so that JSON readers
// always find an array where the schema promises one.
func NonNil(snap model.Snapshot) model.Snapshot {
	out := snap
	out.Instances = make([]model.Instance, len(snap.Instances))
	for i, in := range snap.Instances {
		out.Instances[i] = NonNilInstance(in)
	}
	return out
}

// NonNilInstance is NonNil for one instance.
func NonNilInstance(in model.Instance) model.Instance {
	in.Masters = append(make([]model.Master, 0, len(in.Masters)), in.Masters...)
	for j := range in.Masters {
		m := &in.Masters[j]
		m.Children = append(make([]model.Process, 0, len(m.Children)), m.Children...)
		m.Argv = append(make([]string, 0, len(m.Argv)), m.Argv...)
	}
	in.Orphans = append(make([]model.Process, 0, len(in.Orphans)), in.Orphans...)
	in.Warnings = append(make([]string, 0, len(in.Warnings)), in.Warnings...)
	in.Backups = append(make([]model.Backup, 0, len(in.Backups)), in.Backups...)
	return in
}

// WriteStatusText writes a readable tree of every instance.
func WriteStatusText(w io.Writer, snap model.Snapshot) error {
	var b strings.Builder
	if len(snap.Instances) == 0 {
		b.WriteString("no nginx master is running on this host\n")
	}
	for i, in := range snap.Instances {
		if i > 0 {
			b.WriteByte('\n')
		}
		writeInstance(&b, in, snap.Taken)
	}
	for _, n := range snap.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeInstance(b *strings.Builder, in model.Instance, now time.Time) {
	fmt.Fprintf(b, "%s  phase %s  pid file %s\n", in.Family, in.Phase, orDash(in.PidFile))
	fmt.Fprintf(b, "  conf %s  prefix %s  error log %s\n", orDash(in.Conf), orDash(in.Prefix), orDash(in.ErrorLog))
	onDisk := "same as running"
	switch {
	case len(in.Hidden) > 0:
		onDisk = "cannot tell whether it runs: not root"
	case in.BinarySameBytes:
		onDisk = "another file with the running binary's bytes"
	case in.BinaryDiffers:
		onDisk = "differs from running: " + orDash(in.BinaryVersion)
	}
	fmt.Fprintf(b, "  binary %s (%s)\n", orDash(in.Binary), onDisk)
	for _, h := range in.Hidden {
		fmt.Fprintf(b, "  hidden: %s (permission denied)\n", h)
	}
	for _, m := range in.Masters {
		mark := ""
		if m.ExeReplaced {
			mark = "  [binary replaced on disk]"
		}
		fmt.Fprintf(b, "  master %d  %s  %s  %s  up %s%s\n", m.PID, m.Generation, orDash(m.Version), m.User,
			Uptime(now, m.Started), mark)
		for j, c := range m.Children {
			branch := "├─"
			if j == len(m.Children)-1 {
				branch = "└─"
			}
			state := ""
			if c.ShuttingDown {
				state = "  shutting down for " + Uptime(now, c.DrainingSince)
			}
			fmt.Fprintf(b, "    %s %-13s %d  %s  up %s%s\n", branch, c.Role, c.PID, c.User, Uptime(now, c.Started), state)
		}
	}
	if u := in.Systemd; u != nil {
		ok := "ok"
		if !u.MainPIDOK {
			ok = "NOT ok"
		}
		fmt.Fprintf(b, "  systemd %s  %s/%s  Type=%s  MainPID %d (%s)  PIDFile=%s\n", u.Unit, u.ActiveState, u.SubState,
			u.Type, u.MainPID, ok, orDash(u.PIDFile))
	} else if in.Supervisor != "" {
		fmt.Fprintf(b, "  supervised by %s\n", in.Supervisor)
	}
	if d := in.Driver; d != nil {
		fmt.Fprintf(b, "  driven by hotdeploy pid %d (user %s, %s) since %s, step %s\n", d.PID, d.User, d.Command,
			d.Since.Format("15:04:05"), orDash(d.Step))
	}
	for _, k := range in.Backups {
		fmt.Fprintf(b, "  kept build %s (sha256 %.12s)\n", k.Path, k.SHA256)
	}
	for _, w := range in.Warnings {
		fmt.Fprintf(b, "  warning: %s\n", w)
	}
	for _, o := range in.Orphans {
		fmt.Fprintf(b, "  orphan %-13s %d  %s  up %s  (its master died; it still runs: `hotdeploy rollback` ends it)\n",
			o.Role, o.PID, o.User, Uptime(now, o.Started))
	}
	for _, m := range in.Masters[:1] {
		if m.SignalsIgnored != "" {
			fmt.Fprintf(b, "  warning: %s\n", m.SignalsIgnored)
		}
		if m.Argv0Problem != "" {
			fmt.Fprintf(b, "  warning: %s\n", m.Argv0Problem)
		}
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// Uptime formats how long ago t was, compactly: 45s, 12m03s, 5h20m, 3d04h.
func Uptime(now, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := now.Sub(t)
	if d < 0 {
		d = 0
	}
	s := int(d.Seconds())
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	case s < 86400:
		return fmt.Sprintf("%dh%02dm", s/3600, s%3600/60)
	}
	return fmt.Sprintf("%dd%02dh", s/86400, s%86400/3600)
}

// Backups lists the builds kept beside binary: <binary>.old, .old.<sha12> and .rejected, with
// their sha256, oldest name first.
func Backups(binary string) []model.Backup {
	if binary == "" {
		return nil
	}
	names, _ := filepath.Glob(binary + ".old.*")
	sort.Strings(names)
	var out []model.Backup
	for _, p := range append([]string{binary + ".old", binary + ".rejected"}, names...) {
		if st, err := os.Stat(p); err != nil || !st.Mode().IsRegular() {
			continue
		}
		if sum, err := FileSHA256(p); err == nil {
			out = append(out, model.Backup{Path: p, SHA256: sum})
		}
	}
	return out
}
