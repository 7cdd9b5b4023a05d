package driver

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hotdeploy/hotdeploy/nginxctl/proc"
)

// Session is one driver's hold on an instance: its lock, and the journal of the upgrade it
// drives or took over. The dashboard runs its steps off its UI goroutine, so a Session is safe
// for concurrent use.
type Session struct {
	mu   sync.Mutex
	dirs Dirs
	key  string
	lock *Lock
	j    *Journal // nil until an upgrade begins, unless one was found
}

// Begin takes the lock of the instance whose configured pid file is pidFile (a *HeldError when
// another driver holds it), checks the journal directory takes files, and reads the journal an
// earlier driver left. Empty dirs are DefaultDirs.
func Begin(dirs Dirs, pidFile, command string) (*Session, error) {
	dirs = dirs.Resolve()
	key := Key(pidFile)
	lock, err := Acquire(dirs.Runtime, key, command)
	if err != nil {
		return nil, err
	}
	if err := checkWritable(dirs.State); err != nil {
		lock.Release()
		return nil, err
	}
	prune(dirs.State, key)
	j, err := LoadJournal(dirs.State, key)
	if err != nil {
		lock.Release()
		return nil, err
	}
	return &Session{dirs: dirs, key: key, lock: lock, j: j}, nil
}

// Key is the instance's key.
func (s *Session) Key() string { return s.key }

// Holder is what the lock file says of this driver.
func (s *Session) Holder() Holder { return s.lock.Holder() }

// JournalPath is where the journal is (or will be) written.
func (s *Session) JournalPath() string { return JournalPath(s.dirs.State, s.key) }

// Journal returns a copy of the journal, nil when there is none.
func (s *Session) Journal() *Journal {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.j.clone()
}

func (j *Journal) clone() *Journal {
	if j == nil {
		return nil
	}
	c := *j
	c.Signals = append([]Signal(nil), j.Signals...)
	if j.Old != nil {
		o := *j.Old
		c.Old = &o
	}
	if j.New != nil {
		n := *j.New
		c.New = &n
	}
	return &c
}

// SetStep names the running step in the lock file (Track names it in the journal).
func (s *Session) SetStep(step string) error { return s.lock.SetStep(step) }

// Track begins the journal of an upgrade whose old master is old, or goes on with the one
// under way for that same master, applies fn and writes it: one write per step, as each costs
// an fsync of the file and of its directory. A journal of other masters, or of an upgrade that
// ended, is replaced: the live tree says it is over.
func (s *Session) Track(old Master, pidFile, binary string, fn func(j *Journal)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.j == nil || s.j.Ended() || !s.j.Old.Is(old.PID, old.StartTicks) {
		s.j = &Journal{Instance: s.key, PidFile: pidFile, Binary: binary, Started: time.Now(), Old: &old,
			Signals: []Signal{}}
	}
	if fn != nil {
		fn(s.j)
	}
	return s.save()
}

// Update changes the journal of the upgrade under way and writes it; without one it does
// nothing.
func (s *Session) Update(fn func(j *Journal)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.j == nil {
		return nil
	}
	fn(s.j)
	return s.save()
}

// Sending records a signal about to go out and returns its index for Sent.
func (s *Session) Sending(sig Signal) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.j == nil {
		return -1, nil
	}
	sig.Time, sig.Result = time.Now(), "sending"
	s.j.Signals = append(s.j.Signals, sig)
	return len(s.j.Signals) - 1, s.save()
}

// Sent records the result of the signal Sending returned i for.
func (s *Session) Sent(i int, result, errText string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.j == nil || i < 0 || i >= len(s.j.Signals) {
		return nil
	}
	s.j.Signals[i].Result, s.j.Signals[i].Error = result, errText
	return s.save()
}

// Finish marks the upgrade ended with outcome (Committed or RolledBack). The journal stays, so
// a later `upgrade --resume` can say what became of it.
func (s *Session) Finish(outcome string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.j == nil || s.j.Ended() {
		return nil
	}
	s.j.Outcome, s.j.Finished = outcome, time.Now()
	return s.save()
}

func (s *Session) save() error {
	s.j.Updated = time.Now()
	s.j.Driver = s.lock.Holder()
	return SaveJournal(s.dirs.State, s.j)
}

// End lets the lock go. The journal stays for the next driver.
func (s *Session) End() error {
	if s == nil {
		return nil
	}
	return s.lock.Release()
}

// prune removes the journals of instances that are gone for good: their pid file's directory
// no longer exists and no master they name runs (a sandbox, a test, a removed instance). The
// journal of key itself is left to the caller.
func prune(dir, key string) {
	names, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	own := JournalPath(dir, key)
	for _, name := range names {
		if name == own || strings.HasPrefix(filepath.Base(name), ".") {
			continue
		}
		b, err := os.ReadFile(name)
		if err != nil {
			continue
		}
		var j Journal
		if json.Unmarshal(b, &j) != nil || j.PidFile == "" {
			continue
		}
		if _, err := os.Stat(filepath.Dir(j.PidFile)); !errors.Is(err, os.ErrNotExist) {
			continue
		}
		if runs(j.Old) || runs(j.New) {
			continue
		}
		os.Remove(name)
	}
}

func runs(m *Master) bool { return m != nil && !proc.Exited(m.PID, m.StartTicks) }
