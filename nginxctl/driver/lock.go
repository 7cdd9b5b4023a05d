package driver

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/proc"
)

// Holder is who drives an instance: the content of its lock file, one JSON object, rewritten
// as the driver moves from step to step. It names a process by pid and start time, so a holder
// that died (and whose flock the kernel released with it) is told from a live one.
type Holder struct {
	PID        int    `json:"pid"`
	StartTicks uint64 `json:"start_ticks"`
	User       string `json:"user"`
	SudoUser   string `json:"sudo_user,omitempty"`
	// Command is what holds it: upgrade, rollback, resume, dashboard.
	Command  string    `json:"command"`
	Instance string    `json:"instance"`
	Since    time.Time `json:"since"`
	// Step is the step running or last run: preflight, install, upgrade, drain, commit,
	// rollback; empty before the first.
	Step      string    `json:"step"`
	StepSince time.Time `json:"step_since,omitzero"`
}

// String is the sentence a second driver is refused with.
func (h Holder) String() string { return h.Why().String() }

// Why is String as a code and its arguments, for the dashboard's language.
func (h Holder) Why() model.Reason {
	who := model.Because("user %s", h.User)
	if h.SudoUser != "" {
		who = model.Because("user %s via sudo from %s", h.User, h.SudoUser)
	}
	var step any = h.Step
	if h.Step == "" {
		step = model.Because("none yet")
	}
	return model.Because("hotdeploy pid %d (%s) has driven %s since %s, step %s", h.PID, who, h.Instance, clock(h.Since), step)
}

// clock is a time as an operator reads it: the time of day today, with the date otherwise.
func clock(t time.Time) string {
	t = t.Local()
	if y, m, d := t.Date(); y == time.Now().Year() && m == time.Now().Month() && d == time.Now().Day() {
		return t.Format("15:04:05")
	}
	return t.Format("2006-01-02 15:04:05")
}

// alive tells whether the holder's process still runs: the same pid with the same start time.
func (h Holder) alive() bool {
	if h.PID <= 0 {
		return false
	}
	if h.StartTicks == 0 {
		_, err := os.Stat("/proc/" + strconv.Itoa(h.PID))
		return err == nil
	}
	return !proc.Exited(h.PID, h.StartTicks)
}

// HeldError refuses a second driver. Its text is the one line the operator sees.
type HeldError struct {
	// Holder is nil when the lock file could not be read (its holder is starting).
	Holder   *Holder
	Instance string
	Path     string
}

func (e *HeldError) Error() string { return e.Why().String() }

// Why is the refusal as a reason, so model.ReasonOf finds it and the dashboard says it in its
// language; its English is Error's.
func (e *HeldError) Why() model.Reason {
	if e.Holder == nil {
		return model.Because("another hotdeploy drives %s (it holds %s): wait for it or stop it", e.Instance, e.Path)
	}
	return model.Because("%s: wait for it or stop it", e.Holder.Why())
}

// IsHeld tells whether err is a refusal because another driver holds the instance.
func IsHeld(err error) bool {
	var he *HeldError
	return errors.As(err, &he)
}

// Lock is this process's hold on one instance: an flock on the lock file, which the kernel
// releases when the process dies however it dies. Clean release removes the file too.
type Lock struct {
	mu     sync.Mutex
	f      *os.File
	path   string
	holder Holder
}

// Acquire takes the lock of instance key in dir for command, without waiting: a held lock is
// a *HeldError naming the holder.
func Acquire(dir, key, command string) (*Lock, error) {
	if key == "" {
		return nil, errors.New("the instance has no pid file to name its lock")
	}
	if err := ensureDir(dir, 0o755, "lock", EnvRuntimeDir); err != nil {
		return nil, err
	}
	path := LockPath(dir, key)
	for attempt := 0; ; attempt++ {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, fmt.Errorf("lock %s: %w (set %s to put locks elsewhere)", path, err, EnvRuntimeDir)
		}
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if errors.Is(err, unix.EWOULDBLOCK) {
			h := readLive(f)
			f.Close()
			return nil, &HeldError{Holder: h, Instance: key, Path: path}
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		// A holder that released removed the file after we opened it: our flock is on an
		// inode nobody else will open. Open the path again.
		if !samePath(f, path) {
			f.Close()
			if attempt < 20 {
				continue
			}
			return nil, fmt.Errorf("lock %s: it keeps being replaced; is another program removing it?", path)
		}
		l := &Lock{f: f, path: path, holder: newHolder(key, command)}
		if err := l.write(); err != nil {
			l.Release()
			return nil, err
		}
		return l, nil
	}
}

func newHolder(key, command string) Holder {
	h := Holder{PID: os.Getpid(), User: strconv.Itoa(os.Geteuid()), SudoUser: os.Getenv("SUDO_USER"),
		Command: command, Instance: key, Since: time.Now()}
	if u, err := user.LookupId(h.User); err == nil {
		h.User = u.Username
	}
	if st, err := proc.NewReader().Stat(h.PID); err == nil {
		h.StartTicks = st.StartTicks
	}
	return h
}

// samePath tells whether the open file is still the file at path.
func samePath(f *os.File, path string) bool {
	a, err := f.Stat()
	if err != nil {
		return false
	}
	b, err := os.Stat(path)
	return err == nil && os.SameFile(a, b)
}

// write puts the holder into the lock file.
func (l *Lock) write() error {
	b, err := json.Marshal(l.holder)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if _, err := l.f.WriteAt(b, 0); err != nil {
		return fmt.Errorf("lock %s: %w", l.path, err)
	}
	if err := l.f.Truncate(int64(len(b))); err != nil {
		return fmt.Errorf("lock %s: %w", l.path, err)
	}
	return nil
}

// SetStep names the step the holder runs now, for whoever is refused meanwhile.
func (l *Lock) SetStep(step string) error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return errors.New("lock already released")
	}
	l.holder.Step, l.holder.StepSince = step, time.Now()
	return l.write()
}

// Holder returns what the lock file says now.
func (l *Lock) Holder() Holder {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.holder
}

// Path is the lock file.
func (l *Lock) Path() string { return l.path }

// Release removes the lock file and lets the lock go. The file goes first, while it is still
// held: a driver that opened it meanwhile finds its inode gone once it gets the flock, and
// opens the path again (see Acquire). Releasing twice is harmless.
func (l *Lock) Release() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	var err error
	if samePath(l.f, l.path) {
		err = os.Remove(l.path)
	}
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	l.f = nil
	return err
}

// ReadHolder returns the live holder of instance key's lock in dir, nil when nobody drives it
// (no lock file, or one whose holder died). It takes no lock itself, so reading never makes a
// driver fail to get one.
func ReadHolder(dir, key string) *Holder {
	f, err := os.Open(LockPath(dir, key))
	if err != nil {
		return nil
	}
	defer f.Close()
	return readLive(f)
}

// readLive reads the holder from an open lock file, and returns it if its process lives. The
// holder writes the file right after it got the flock, so an empty or torn read is retried a
// few times before giving up.
func readLive(f *os.File) *Holder {
	for i := 0; i < 20; i++ {
		b := make([]byte, 4096)
		n, _ := f.ReadAt(b, 0)
		var h Holder
		if n > 0 && json.Unmarshal(b[:n], &h) == nil && h.PID > 0 {
			if !h.alive() {
				return nil
			}
			return &h
		}
		time.Sleep(5 * time.Millisecond)
	}
	return nil
}
