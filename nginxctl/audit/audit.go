// Package audit appends every signal and install hotdeploy makes to a JSON-lines log that only
// its owner can read, and refuses an action that could not be recorded.
package audit

import (
	"encoding/json"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"sync"
	"time"
)

// Entry is one line of the audit log: every signal and install, with its result.
type Entry struct {
	Time       time.Time `json:"time"`
	User       string    `json:"user"`
	Instance   string    `json:"instance"`
	Action     string    `json:"action"`
	Signal     string    `json:"signal,omitempty"`
	PID        int       `json:"pid,omitempty"`
	StartTicks uint64    `json:"start_ticks,omitempty"`
	Result     string    `json:"result"` // sent, refused, failed, installed, restored
	Error      string    `json:"error,omitempty"`
	Install    *Install  `json:"install,omitempty"`
}

// Log appends JSON lines to a file only its owner can read (mode 0600).
type Log struct {
	mu   sync.Mutex
	path string
	user string
}

// DefaultPath is $XDG_STATE_HOME/hotdeploy/audit.log, or ~/.local/state/hotdeploy/audit.log.
func DefaultPath() string {
	dir := os.Getenv("XDG_STATE_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			home = os.TempDir()
		}
		dir = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(dir, "hotdeploy", "audit.log")
}

// Open prepares the audit log at path (DefaultPath when empty), creating its
// directory, and checks it can be written before anything is signalled.
func Open(path string) (*Log, error) {
	if path == "" {
		path = DefaultPath()
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("audit log %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit log %s: %w", path, err)
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return nil, fmt.Errorf("audit log %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	name := fmt.Sprint(os.Getuid())
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	return &Log{path: path, user: name}, nil
}

// Path returns where the log is.
func (a *Log) Path() string { return a.path }

// Check tells whether an entry could be appended now; a signal is sent only if so.
// A nil Log records nothing and always passes.
func (a *Log) Check() error {
	if a == nil {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	f, err := os.OpenFile(a.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("audit log %s cannot be written: %w", a.path, err)
	}
	return f.Close()
}

// Record appends one entry. A nil Log records nothing.
func (a *Log) Record(e Entry) error {
	if a == nil {
		return nil
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	e.User = a.user
	line, err := json.Marshal(e)
	if err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	f, err := os.OpenFile(a.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("audit log %s: %w", a.path, err)
	}
	if _, err := f.Write(append(line, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("audit log %s: %w", a.path, err)
	}
	return f.Close()
}

// Install records what an install did, for the audit log and the operator.
type Install struct {
	Binary       string `json:"binary"`
	Backup       string `json:"backup"`
	BackupSHA256 string `json:"backup_sha256"`
	NewSHA256    string `json:"new_sha256"`
}
