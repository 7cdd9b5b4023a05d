// Package driver keeps the state of whoever drives an nginx instance: a host-wide lock per
// instance, so that only one hotdeploy changes it at a time, and a journal of the upgrade in
// progress, so that a driver that died (an SSH drop, a kill) can be succeeded. It sits below
// inspect and upgrade and knows nothing of nginx beyond the pid file that names an instance.
package driver

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// Dirs are where the locks and the journals live.
type Dirs struct {
	// Runtime holds the locks: they mean nothing after a reboot, so a tmpfs is right.
	Runtime string
	// State holds the journals: an upgrade half done must survive the driver, and a reboot
	// should leave the record of it for a human.
	State string
}

// The environment variables that move the directories: tests, and hosts with another layout.
// There is no flag for them (the command line is a contract, ../../shared/DESIGN.md).
const (
	EnvRuntimeDir = "HOTDEPLOY_RUNTIME_DIR"
	EnvStateDir   = "HOTDEPLOY_STATE_DIR"
)

// DefaultDirs are the directories of DESIGN.md "Where state lives": as root /run/hotdeploy and
// /var/lib/hotdeploy, otherwise $XDG_RUNTIME_DIR/hotdeploy and $XDG_STATE_HOME/hotdeploy;
// HOTDEPLOY_RUNTIME_DIR and HOTDEPLOY_STATE_DIR override either.
func DefaultDirs() Dirs {
	home, err := os.UserHomeDir()
	if err != nil {
		home = os.TempDir()
	}
	return dirsFor(os.Geteuid(), os.Getenv, home)
}

func dirsFor(euid int, getenv func(string) string, home string) Dirs {
	var d Dirs
	if euid == 0 {
		d = Dirs{Runtime: "/run/hotdeploy", State: "/var/lib/hotdeploy"}
	} else {
		run := getenv("XDG_RUNTIME_DIR")
		if !filepath.IsAbs(run) {
			// The XDG spec asks for a replacement with the same guarantees: private to the user.
			// ensureDir checks the owner, since another user could have made it first in /tmp.
			run = filepath.Join(os.TempDir(), "hotdeploy-"+strconv.Itoa(euid))
		} else {
			run = filepath.Join(run, "hotdeploy")
		}
		state := getenv("XDG_STATE_HOME")
		if !filepath.IsAbs(state) { // the XDG spec ignores a relative value
			state = filepath.Join(home, ".local", "state")
		}
		d = Dirs{Runtime: run, State: filepath.Join(state, "hotdeploy")}
	}
	if v := getenv(EnvRuntimeDir); filepath.IsAbs(v) {
		d.Runtime = v
	}
	if v := getenv(EnvStateDir); filepath.IsAbs(v) {
		d.State = v
	}
	return d
}

// Resolve fills in what d leaves empty with DefaultDirs.
func (d Dirs) Resolve() Dirs {
	if d.Runtime != "" && d.State != "" {
		return d
	}
	def := DefaultDirs()
	if d.Runtime == "" {
		d.Runtime = def.Runtime
	}
	if d.State == "" {
		d.State = def.State
	}
	return d
}

// ensureDir makes dir (and its parents) with mode if missing, and refuses a directory that
// belongs to another user: whoever owns it could forge a lock holder or a journal.
func ensureDir(dir string, mode os.FileMode, what, env string) error {
	if err := os.MkdirAll(dir, mode); err != nil {
		return fmt.Errorf("%s directory %s: %w (set %s to put it elsewhere)", what, dir, err, env)
	}
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("%s directory %s: %w", what, dir, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("%s directory %s is not a directory (set %s to put it elsewhere)", what, dir, env)
	}
	if uid, ok := ownerOf(st); ok && uid != os.Geteuid() && uid != 0 {
		return fmt.Errorf("%s directory %s belongs to uid %d, not to you: remove it, or set %s to put it elsewhere",
			what, dir, uid, env)
	}
	return nil
}
