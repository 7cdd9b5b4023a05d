// Package model is the pure domain of hotdeploy: what a live nginx instance looks like, which
// upgrade phase it is in, and which actions an operator may take next and why not. It does no
// I/O, so every rule here is checked by table tests on synthetic snapshots.
package model

import (
	"fmt"
	"time"
)

// Process is one process of an instance as seen in one refresh.
type Process struct {
	PID          int        `json:"pid"`
	PPID         int        `json:"ppid"`
	Role         Role       `json:"role"`
	Generation   Generation `json:"generation"`
	ShuttingDown bool       `json:"shutting_down"`
	Comm         string     `json:"comm"`
	Title        string     `json:"title"`
	User         string     `json:"user"`
	// StartTicks is field 22 of /proc/PID/stat: with the pid it identifies a process for
	// good, since a recycled pid gets a later start time.
	StartTicks uint64    `json:"start_ticks"`
	Started    time.Time `json:"started"`
	// CPU is the share of one core used since the previous refresh, in percent; negative
	// when there is no previous sample yet.
	CPU float64 `json:"cpu_percent"`
	RSS uint64  `json:"rss_bytes"`
	// Conns counts established client connections held by a worker; negative when unknown.
	Conns int `json:"connections"`
	// DrainingSince is when the worker was first seen shutting down.
	DrainingSince time.Time `json:"draining_since,omitzero"`
	// ForkedNoExec is the kernel's PF_FORKNOEXEC as read just before the title: the process
	// was forked and has not exec'd. A child of a master titled "master process" with it set is
	// still starting (a worker before it renames itself); one without it exec'd a binary, which
	// only the new master of an upgrade does.
	ForkedNoExec bool `json:"-"`
	// Session is the session id: every process of a daemonized instance shares its first
	// master's, the new master and its workers included, since nginx calls setsid only once.
	Session int `json:"-"`
	// Pgrp is the process group: the new master never leaves its old master's, nor do the
	// workers, so a generation whose master died is still found by it.
	Pgrp int `json:"-"`
}

// Ref names a process precisely enough to refuse signalling a different one that took its pid.
type Ref struct {
	PID        int
	StartTicks uint64
	Comm       string
	Role       Role
}

// Ref returns the identity the signaller re-checks right before sending.
func (p Process) Ref() Ref {
	return Ref{PID: p.PID, StartTicks: p.StartTicks, Comm: p.Comm, Role: p.Role}
}

func (r Ref) String() string { return fmt.Sprintf("%s %s pid %d", r.Comm, r.Role, r.PID) }

// Master is a master process with its children. During an upgrade the new master is listed
// as a master of its own, not among the old master's children.
type Master struct {
	Process
	// Exe is the binary the master runs, as /proc/PID/exe names it (without " (deleted)").
	Exe string `json:"exe"`
	// ExeReplaced is true when the file at Exe is no longer the one the master runs.
	ExeReplaced bool   `json:"exe_replaced"`
	Version     string `json:"version,omitempty"`
	// Argv is the command line recovered from the title (nginx overwrites argv, so quoting
	// is lost).
	Argv []string `json:"argv"`
	// SignalsIgnored, when set, says why nginx would ignore USR2 and WINCH sent to this master
	// (daemon off under a parent that never changed).
	SignalsIgnored string `json:"signals_ignored,omitempty"`
	// Argv0Problem, when set, says why the new binary cannot be exec'd from argv[0].
	Argv0Problem string `json:"argv0_problem,omitempty"`
	// SignalsIgnoredWhy and Argv0ProblemWhy are the same sentences as reasons, for the screen.
	SignalsIgnoredWhy Reason    `json:"-"`
	Argv0ProblemWhy   Reason    `json:"-"`
	Children          []Process `json:"children"`
}

// Workers returns the master's worker processes.
func (m Master) Workers() []Process {
	var ws []Process
	for _, c := range m.Children {
		if c.Role == RoleWorker {
			ws = append(ws, c)
		}
	}
	return ws
}

// ActiveWorkers counts workers that still accept connections.
func (m Master) ActiveWorkers() int {
	n := 0
	for _, c := range m.Children {
		if c.Role == RoleWorker && !c.ShuttingDown {
			n++
		}
	}
	return n
}

// Instance is one nginx service: a master, or during an upgrade the old master and the new one
// it started, with what the operator needs to know about its files.
type Instance struct {
	// Family is the comm of the masters: nginx, angie, ...
	Family   string `json:"family"`
	PidFile  string `json:"pid_file"`
	Conf     string `json:"conf"`
	Prefix   string `json:"prefix"`
	ErrorLog string `json:"error_log"`
	// ErrorLogLevel is the level of the main error log; at "error" (nginx's and Debian's
	// default) the notices that narrate an upgrade are not written.
	ErrorLogLevel string `json:"error_log_level,omitempty"`
	Phase         Phase  `json:"phase"`
	// Binary is the path argv[0] of the master resolves to: where the new binary must be.
	Binary string `json:"binary"`
	// BinaryVersion is the version of the file now at Binary.
	BinaryVersion string `json:"binary_version,omitempty"`
	// BinaryDiffers is true when the file at Binary holds another build than the current master
	// runs: another file with other bytes (a copy of the running binary, or the file a rollback
	// restored, does not differ).
	BinaryDiffers bool `json:"binary_differs"`
	// BinarySameBytes is true when that other file holds the very bytes that run (a copy, or
	// the binary a rollback restored): an upgrade to it restarts the same build.
	BinarySameBytes bool `json:"binary_same_bytes"`
	// PidFilePID and OldbinPID are what nginx.pid and nginx.pid.oldbin hold (0: none).
	PidFilePID int `json:"pid_file_pid"`
	OldbinPID  int `json:"oldbin_pid"`
	// Masters holds one master, or the old master then the new one.
	Masters []Master `json:"masters"`
	// Hidden lists what could not be read for lack of permission.
	Hidden []string `json:"hidden,omitempty"`
	// Orphans are processes of the instance whose master died: the kernel reparented them,
	// and workers among them keep accepting on the inherited sockets until they are ended.
	Orphans []Process `json:"orphans"`
	// Systemd is systemd's view of the unit running the instance, nil when none does (or it
	// was not asked: only status and the headless commands ask systemctl).
	Systemd *SystemdUnit `json:"systemd"`
	// Supervisor names another supervisor the master runs under (supervisord, runit, s6, a
	// container's PID 1), "" when none is known; SupervisorWhy is the same as a reason, for the
	// screen's language.
	Supervisor    string `json:"supervisor,omitempty"`
	SupervisorWhy Reason `json:"-"`
	// Driver is the hotdeploy process driving an upgrade of the instance (status only).
	Driver *Driver `json:"driver"`
	// Backups are the builds kept beside the binary (status only).
	Backups []Backup `json:"backups"`
	// Warnings are traps found around the instance (systemd's MainPID, the pid file), each a
	// cause and its fix; WarningsWhy are the same as reasons, for the screen (Warn adds to both).
	Warnings    []string `json:"warnings"`
	WarningsWhy []Reason `json:"-"`
}

// Warn adds a warning.
func (in *Instance) Warn(r Reason) {
	in.Warnings = append(in.Warnings, r.String())
	in.WarningsWhy = append(in.WarningsWhy, r)
}

// Old returns the master that serves when no upgrade runs, or the old one during an upgrade.
func (in Instance) Old() *Master {
	if len(in.Masters) == 0 {
		return nil
	}
	return &in.Masters[0]
}

// New returns the new master during an upgrade, nil otherwise.
func (in Instance) New() *Master {
	if len(in.Masters) < 2 {
		return nil
	}
	return &in.Masters[1]
}

// Key identifies an instance across refreshes: its pid file, or its first master.
func (in Instance) Key() string {
	if in.PidFile != "" {
		return in.PidFile
	}
	if m := in.Old(); m != nil {
		return fmt.Sprintf("pid:%d", m.PID)
	}
	return ""
}

// Find returns the process with that pid among the instance's masters and children.
func (in Instance) Find(pid int) (Process, bool) {
	for _, m := range in.Masters {
		if m.PID == pid {
			return m.Process, true
		}
		for _, c := range m.Children {
			if c.PID == pid {
				return c, true
			}
		}
	}
	return Process{}, false
}

// Snapshot is everything one refresh saw.
type Snapshot struct {
	Taken     time.Time  `json:"taken"`
	Instances []Instance `json:"instances"`
	// Notes are sentences for the operator about what the refresh could not see.
	Notes []string `json:"notes,omitempty"`
	// NotesWhy are the notes as reasons, for the screen (Note adds to both).
	NotesWhy []Reason `json:"-"`
}

// Note adds a note.
func (s *Snapshot) Note(r Reason) {
	s.Notes = append(s.Notes, r.String())
	s.NotesWhy = append(s.NotesWhy, r)
}
