package model

import "time"

// SystemdUnit is systemd's view of the unit that runs an instance: the `systemd` object of
// `status --json` and of a headless result (null when no unit runs the master).
type SystemdUnit struct {
	Unit        string `json:"unit"`
	MainPID     int    `json:"main_pid"`
	ActiveState string `json:"active_state"`
	SubState    string `json:"sub_state"`
	Type        string `json:"type"`
	PIDFile     string `json:"pid_file"`
	ExecReload  string `json:"exec_reload"`
	// MainPIDOK: MainPID names the old master while an upgrade runs (new-starting ...
	// old-drained) and the only master otherwise. On the new master while the old one lives
	// (a `systemctl reload` mid-upgrade), or on a dead pid, it is not ok.
	MainPIDOK bool `json:"main_pid_ok"`
}

// Driver is the hotdeploy process that holds an instance's driver lock: status's `driver`
// (null when none does).
type Driver struct {
	PID     int       `json:"pid"`
	User    string    `json:"user"`
	Command string    `json:"command"`
	Since   time.Time `json:"since"`
	Step    string    `json:"step"`
}

// Backup is a file kept beside the binary that holds a build: <binary>.old, .old.<sha12>,
// .rejected.
type Backup struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
}
