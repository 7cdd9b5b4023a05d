package audit

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/hotdeploy/hotdeploy/model"
)

// Where the copies of each entry go; tests point these at sockets they listen on.
const (
	journalSocket = "/run/systemd/journal/socket"
	syslogSocket  = "/dev/log"
)

// Log appends entries to one audit log file. Several hotdeploy processes may share the file:
// every append holds an flock on it, so the hash chain stays one chain.
type Log struct {
	mu   sync.Mutex
	path string
	who  identity

	journalSocket string
	syslogSocket  string
	sinkErr       error // the last failure of the journal/syslog copy; never fails Record
}

// DefaultPath is where the log lives when --audit-log is not given: as root
// /var/log/hotdeploy/audit.log, where operators look; otherwise the user's state directory
// ($XDG_STATE_HOME/hotdeploy/audit.log, by default ~/.local/state/hotdeploy/audit.log).
func DefaultPath() string {
	home, err := os.UserHomeDir()
	if err != nil {
		home = os.TempDir()
	}
	return defaultPathFor(os.Geteuid(), os.Getenv("XDG_STATE_HOME"), home)
}

func defaultPathFor(euid int, stateHome, home string) string {
	if euid == 0 {
		return "/var/log/hotdeploy/audit.log"
	}
	if !filepath.IsAbs(stateHome) { // the XDG spec ignores a relative value
		stateHome = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(stateHome, "hotdeploy", "audit.log")
}

// Open prepares the log at path (DefaultPath when empty): a missing directory is made 0700,
// the file is made or kept 0600, and it is checked writable before anything is changed.
func Open(path string) (*Log, error) {
	if path == "" {
		path = DefaultPath()
	}
	dir := filepath.Dir(path)
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, model.Because("audit log %s: make its directory: %w (pass --audit-log to put it elsewhere)", path, err).Err()
		}
	}
	if st, err := os.Stat(path); err == nil && !st.Mode().IsRegular() {
		return nil, notRegular(path, st.Mode())
	}
	// O_NONBLOCK: a FIFO put there since the stat must not block the open (nor a device hang it);
	// the fstat below refuses it before the chmod could change a device node's mode.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|syscall.O_NONBLOCK, 0o600)
	if err != nil {
		return nil, model.Because("audit log %s: %w (pass --audit-log to put it elsewhere)", path, err).Err()
	}
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		f.Close()
		if err != nil {
			return nil, model.Because("audit log %s: %w", path, err).Err()
		}
		return nil, notRegular(path, st.Mode())
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return nil, model.Because("audit log %s: make it 0600: %w", path, err).Err()
	}
	if err := f.Close(); err != nil {
		return nil, model.Because("audit log %s: %w", path, err).Err()
	}
	l := &Log{path: path, who: defaultWhoSource().gather(),
		journalSocket: journalSocket, syslogSocket: syslogSocket}
	if err := l.Check(); err != nil {
		return nil, err
	}
	return l, nil
}

// notRegular refuses an audit log path that is not a regular file: a FIFO would block every
// append, and opening a device (as root, /dev/null) must never change its mode to 0600.
func notRegular(path string, mode os.FileMode) error {
	return model.Because("audit log %s is not a regular file (%s): pass --audit-log with the path of a file", path, mode.Type()).Err()
}

// Path returns where the log is.
func (l *Log) Path() string { return l.path }

// Check tells whether an entry could be appended now: the file opens for appending and its
// head file can be replaced. It writes nothing; Preflight proves it with a real line. A nil
// Log records nothing and always passes.
func (l *Log) Check() error {
	if l == nil {
		return nil
	}
	f, err := os.OpenFile(l.path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return model.Because("audit log %s cannot be written: %w (fix its permissions or pass --audit-log)", l.path, err).Err()
	}
	f.Close()
	tmp, err := os.CreateTemp(filepath.Dir(l.path), "."+filepath.Base(l.path)+".check-*")
	if err != nil {
		return model.Because("audit log %s: its directory cannot be written, so its head file cannot be kept: %w", l.path, err).Err()
	}
	tmp.Close()
	os.Remove(tmp.Name())
	return roomFor(l.path)
}

// minRoom is the free space an upgrade's entries need on the audit log's filesystem: about a
// dozen lines of a few hundred bytes, the head file rewritten as often, and slack for journal
// blocks. Below it the next entry may not fit, and an action that cannot be recorded is not
// taken.
const minRoom = 16 << 10

// roomFor says when the filesystem holding path has less than minRoom free for this user.
func roomFor(path string) error {
	var st syscall.Statfs_t
	if err := syscall.Statfs(filepath.Dir(path), &st); err != nil {
		return nil // no answer is no verdict: the append itself still has to succeed
	}
	if free := uint64(st.Bavail) * uint64(st.Bsize); free < minRoom {
		return model.Because("audit log %s: no space left for an upgrade's entries (%d bytes free on its filesystem, "+
			"%d needed): free space there or pass --audit-log", path, free, minRoom).Err()
	}
	return nil
}

// Preflight appends a real "preflight" entry for instance before any change, so a full disk
// or a read-only log stops hotdeploy before it signals anything rather than after.
func (l *Log) Preflight(instance string) error {
	if l == nil {
		return nil
	}
	if err := roomFor(l.path); err != nil {
		return model.Because("audit log preflight failed, nothing was changed: %w", err).Err()
	}
	if err := l.Record(Entry{Instance: instance, Action: "preflight", Result: "ok"}); err != nil {
		return model.Because("audit log preflight failed, nothing was changed (free space or fix permissions where the log is, or pass --audit-log): %w", err).Err()
	}
	return nil
}

// Record appends one entry: the identity of this process and the chain fields are filled in,
// the line is appended under the flock, and a copy goes to the journal (or syslog) when one is
// there. Only the file append can fail Record. A nil Log records nothing.
func (l *Log) Record(e Entry) error {
	if l == nil {
		return nil
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	w := l.who
	e.Host, e.User, e.LoginUser, e.LoginUID = w.Host, w.User, w.LoginUser, w.LoginUID
	e.SudoUser, e.SudoUID, e.TTY, e.SSHClient = w.SudoUser, w.SudoUID, w.TTY, w.SSHClient
	l.mu.Lock()
	defer l.mu.Unlock()
	line, err := appendChained(l.path, &e)
	if err != nil {
		return model.Because("audit log %s: %w", l.path, err).Err()
	}
	l.sinkErr = sendCopy(l.journalSocket, l.syslogSocket, e, line)
	return nil
}
