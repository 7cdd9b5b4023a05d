package supervisor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// Unit is systemd's view of a service, as `systemctl show` prints it.
type Unit struct {
	Name        string
	LoadState   string // "loaded", or "not-found" for a unit systemd does not know
	ActiveState string // "active", "reloading", "deactivating", "failed", ...
	SubState    string // "running", "reload", "stop-sigterm", ...
	Type        string // "forking", "simple", "exec", "notify", ...
	PIDFile     string
	// MainPID is the process systemd treats as the service: a stop signals it, and its exit
	// ends the service unless systemd finds a new one in PIDFile. 0: none.
	MainPID    int
	ExecReload []ExecCommand
}

// ExecCommand is one Exec*= line of a unit.
type ExecCommand struct {
	Path string
	// Argv is the command line as systemctl prints it: arguments joined by spaces, their
	// quoting lost ("-g daemon on; master_process on; -s reload"), so it is shown, not split.
	Argv         string
	IgnoreErrors bool
}

// showProperties are the properties Show asks for, in the order ShowArgs lists them.
var showProperties = []string{"LoadState", "ActiveState", "SubState", "Type", "PIDFile", "MainPID", "ExecReload"}

// ShowArgs is the argument list (for exec, never a shell) that asks systemd about unit.
func ShowArgs(unit string) []string {
	args := []string{"show"}
	for _, p := range showProperties {
		args = append(args, "-p", p)
	}
	return append(args, "--", unit)
}

// ParseShow reads the KEY=VALUE lines of `systemctl show`; properties may come in any order,
// and ExecReload once per command.
func ParseShow(unit, out string) (Unit, error) {
	u := Unit{Name: unit}
	seen := false
	for _, line := range strings.Split(out, "\n") {
		key, val, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		seen = true
		switch key {
		case "LoadState":
			u.LoadState = val
		case "ActiveState":
			u.ActiveState = val
		case "SubState":
			u.SubState = val
		case "Type":
			u.Type = val
		case "PIDFile":
			u.PIDFile = val
		case "MainPID":
			n, err := strconv.Atoi(val)
			if err != nil || n < 0 {
				return u, fmt.Errorf("systemctl show %s: MainPID %q is not a pid", unit, val)
			}
			u.MainPID = n
		case "ExecReload":
			if val == "" {
				continue
			}
			c, err := ParseExecCommand(val)
			if err != nil {
				return u, fmt.Errorf("systemctl show %s: %w", unit, err)
			}
			u.ExecReload = append(u.ExecReload, c)
		}
	}
	if !seen {
		return u, fmt.Errorf("systemctl show %s printed no properties", unit)
	}
	return u, nil
}

// ParseExecCommand reads one command as systemctl prints it:
// "{ path=/usr/sbin/nginx ; argv[]=/usr/sbin/nginx -s reload ; ignore_errors=no ; start_time=… }".
// Fields are separated by " ; ", which an argument may contain too, so argv[] runs up to the
// last " ; ignore_errors=".
func ParseExecCommand(s string) (ExecCommand, error) {
	body, ok := strings.CutPrefix(strings.TrimSpace(s), "{ ")
	body, ok2 := strings.CutSuffix(body, " }")
	if !ok || !ok2 {
		return ExecCommand{}, fmt.Errorf("exec command %q is not { … }", s)
	}
	path, rest, ok := strings.Cut(body, " ; argv[]=")
	path, ok2 = strings.CutPrefix(path, "path=")
	i := strings.LastIndex(rest, " ; ignore_errors=")
	if !ok || !ok2 || i < 0 {
		return ExecCommand{}, fmt.Errorf("exec command %q lacks path=, argv[]= or ignore_errors=", s)
	}
	c := ExecCommand{Path: path, Argv: rest[:i]}
	c.IgnoreErrors = strings.HasPrefix(rest[i:], " ; ignore_errors=yes")
	return c, nil
}

// ErrNoSystemctl means systemctl is not installed: no systemd runs this host.
var ErrNoSystemctl = errors.New("systemctl not found")

// Show asks systemd about unit with `systemctl show`, run as an argument list.
func Show(ctx context.Context, unit string) (Unit, error) {
	bin, err := exec.LookPath("systemctl")
	if err != nil {
		return Unit{Name: unit}, fmt.Errorf("ask systemd about %s: %w", unit, ErrNoSystemctl)
	}
	cmd := exec.CommandContext(ctx, bin, ShowArgs(unit)...)
	cmd.Env = append(os.Environ(), "SYSTEMD_PAGER=", "SYSTEMD_COLORS=0", "LC_ALL=C")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		return Unit{Name: unit}, fmt.Errorf("systemctl show %s: %w: %s (is systemd running this host?)", unit, err, msg)
	}
	return ParseShow(unit, string(out))
}

// ReloadCommand is the first ExecReload command line, or "" when the unit has none.
func (u Unit) ReloadCommand() string {
	if len(u.ExecReload) == 0 {
		return ""
	}
	return u.ExecReload[0].Argv
}

// Find returns systemd's view of the unit whose cgroup holds pid, or nil when none of this
// host's units does: pid in no service, or in a container's unit seen from outside (its
// Placement has a Prefix and this host's systemctl would ask the wrong manager).
func Find(ctx context.Context, pid int) (*Unit, error) {
	p, err := UnitOf(pid)
	if err != nil || p.Unit == "" || p.Prefix != "" {
		return nil, err
	}
	u, err := Show(ctx, p.Unit)
	if err != nil {
		return nil, err
	}
	return &u, nil
}
