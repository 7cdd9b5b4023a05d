package driver

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// JournalVersion is the format of the journal file; a reader refuses a later one rather than
// guess what it means.
const JournalVersion = 1

// Outcomes of a finished upgrade.
const (
	Committed  = "committed"
	RolledBack = "rolled-back"
)

// Journal records an upgrade in progress: what the live process tree cannot show a driver that
// takes over (which backup holds the old build, which candidate was installed, which signals
// already went out). The tree always wins: a journal only fills in, and one whose masters are
// gone says nothing about the instance any more.
type Journal struct {
	Version  int    `json:"version"`
	Instance string `json:"instance"` // the Key
	PidFile  string `json:"pid_file"`
	// Binary is the path nginx execs on SIGUSR2, where the candidate is installed.
	Binary  string    `json:"binary"`
	Started time.Time `json:"started"`
	Updated time.Time `json:"updated"`
	// Driver is the last hotdeploy that wrote the journal.
	Driver Holder `json:"driver"`
	// Step is the last step begun: install, upgrade, drain, commit, rollback.
	Step string  `json:"step"`
	Old  *Master `json:"old"`
	New  *Master `json:"new"`
	// OldSHA256 is the build the old master runs; Backup holds the same bytes on disk.
	OldSHA256    string `json:"old_sha256"`
	Backup       string `json:"backup"`
	BackupSHA256 string `json:"backup_sha256"`
	// Candidate is the file given as --new-binary; InstalledSHA256, what was renamed into
	// Binary from it.
	Candidate       string   `json:"candidate"`
	InstalledSHA256 string   `json:"installed_sha256"`
	Signals         []Signal `json:"signals"`
	// Outcome is empty while the upgrade runs, then committed or rolled-back.
	Outcome  string    `json:"outcome"`
	Finished time.Time `json:"finished,omitzero"`
}

// Master names a master for good: a pid with its start time (field 22 of /proc/PID/stat).
type Master struct {
	PID        int    `json:"pid"`
	StartTicks uint64 `json:"start_ticks"`
}

// Is tells whether m names the process with that pid and start time.
func (m *Master) Is(pid int, startTicks uint64) bool {
	return m != nil && m.PID == pid && m.StartTicks == startTicks
}

// Signal is one signal of the upgrade. It is written twice: as "sending" before it goes out,
// so a driver killed in between leaves a trace, and with its result after.
type Signal struct {
	Time       time.Time `json:"time"`
	Step       string    `json:"step"`
	Signal     string    `json:"signal"`
	PID        int       `json:"pid"`
	StartTicks uint64    `json:"start_ticks"`
	Role       string    `json:"role"`
	// Result: sending, sent, refused (the identity check failed), failed.
	Result string `json:"result"`
	Error  string `json:"error,omitempty"`
}

// Ended tells whether the upgrade ended (committed or rolled back).
func (j *Journal) Ended() bool { return j != nil && j.Outcome != "" }

// QuitSent returns the pid of the old master if a SIGQUIT went to it (or may have: a driver
// killed while sending it), 0 otherwise. Such a master is leaving: no rollback can bring its
// workers back.
func (j *Journal) QuitSent() int {
	if j == nil || j.Old == nil {
		return 0
	}
	for _, s := range j.Signals {
		if s.Signal == "SIGQUIT" && j.Old.Is(s.PID, s.StartTicks) && (s.Result == "sent" || s.Result == "sending") {
			return s.PID
		}
	}
	return 0
}

// Unsure tells whether the last record of sig to m says "sending": a driver died between
// writing it and learning the result, so the signal may or may not have gone out.
func (j *Journal) Unsure(sig string, m *Master) bool {
	if j == nil || m == nil {
		return false
	}
	for i := len(j.Signals) - 1; i >= 0; i-- {
		if s := j.Signals[i]; s.Signal == sig && m.Is(s.PID, s.StartTicks) {
			return s.Result == "sending"
		}
	}
	return false
}

// SentTo tells whether sig went (or may have gone) to the master m.
func (j *Journal) SentTo(sig string, m *Master) bool {
	if j == nil || m == nil {
		return false
	}
	for _, s := range j.Signals {
		if s.Signal == sig && m.Is(s.PID, s.StartTicks) && (s.Result == "sent" || s.Result == "sending") {
			return true
		}
	}
	return false
}

// LoadJournal reads the journal of instance key in dir; nil without error when there is none.
func LoadJournal(dir, key string) (*Journal, error) {
	path := JournalPath(dir, key)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("journal %s: %w", path, err)
	}
	var j Journal
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("journal %s is not a journal (%v): move it away to start afresh", path, err)
	}
	if j.Version > JournalVersion {
		return nil, fmt.Errorf("journal %s has version %d, newer than this hotdeploy's %d: finish with the hotdeploy that wrote it",
			path, j.Version, JournalVersion)
	}
	if j.Instance != key {
		return nil, fmt.Errorf("journal %s names instance %s, not %s: move it away to start afresh", path, j.Instance, key)
	}
	return &j, nil
}

// SaveJournal writes j atomically: a temporary file in dir, synced, renamed over the journal,
// and the directory synced. A crash leaves the old journal or the new one, never half of one.
func SaveJournal(dir string, j *Journal) error {
	if err := ensureDir(dir, 0o700, "journal", EnvStateDir); err != nil {
		return err
	}
	path := JournalPath(dir, j.Instance)
	j.Version = JournalVersion
	b, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("journal %s: %w (set %s to put journals elsewhere)", path, err, EnvStateDir)
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("journal %s: %w", path, err)
	}
	if err := tmp.Chmod(0o600); err != nil {
		return fmt.Errorf("journal %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("journal %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("journal %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("journal %s: %w", path, err)
	}
	ok = true
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// checkWritable proves the journal directory takes a file before anything changes, as the
// audit log's preflight entry does for the log.
func checkWritable(dir string) error {
	if err := ensureDir(dir, 0o700, "journal", EnvStateDir); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".probe-*")
	if err != nil {
		return fmt.Errorf("journal directory %s: %w (set %s to put journals elsewhere)", dir, err, EnvStateDir)
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}
