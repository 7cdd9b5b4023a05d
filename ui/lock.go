package ui

import (
	"os"
	"sync"
	"time"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/driver"
)

// window is the dashboard's hold on the instance it drives: the driver lock (nginxctl/driver),
// taken by the first step that changes nginx and kept until the instance is idle again, not
// per key press, so no headless command cuts in between two of the operator's steps. Steps
// run off the UI goroutine, hence the mutex.
type window struct {
	dirs driver.Dirs
	mu   sync.Mutex
	sess *driver.Session
	// The journal last read for an instance this dashboard does not hold, by its mtime: the
	// view reads it at every refresh.
	jKey  string
	jMod  time.Time
	jLast *driver.Journal
}

func newWindow(dirs driver.Dirs) *window { return &window{dirs: dirs.Resolve()} }

// hold returns the session of in, taking the lock if the dashboard does not hold it yet; a
// *driver.HeldError names the driver that does.
func (w *window) hold(in model.Instance) (*driver.Session, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	key := driver.Key(in.PidFile)
	if w.sess != nil && w.sess.Key() == key {
		return w.sess, nil
	}
	if w.sess != nil {
		w.sess.End() // the operator picked another instance
		w.sess = nil
	}
	s, err := driver.Begin(w.dirs, in.PidFile, "dashboard")
	if err != nil {
		return nil, err
	}
	w.sess = s
	return s, nil
}

// release lets the lock go; the journal stays for the next driver.
func (w *window) release() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.sess != nil {
		w.sess.End()
		w.sess = nil
	}
}

func (w *window) holding() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.sess != nil
}

// driverView is what the dashboard shows of the drivers of the instance on screen.
type driverView struct {
	// other is another driver holding the instance: no action is offered meanwhile.
	other *driver.Holder
	// quitSent is the old master the journal says got SIGQUIT (0: none), so a restarted
	// dashboard knows there is no going back to it.
	quitSent int
	// quitUnsure: the journal's last word on that SIGQUIT is "sending" (it may not have gone out).
	quitUnsure bool
	holding    bool
}

// view reads the lock and the journal of in; it runs off the UI goroutine with the refresh.
func (w *window) view(in model.Instance) driverView {
	if len(in.Masters) == 0 || in.PidFile == "" {
		return driverView{}
	}
	key := driver.Key(in.PidFile)
	w.mu.Lock()
	own := w.sess
	w.mu.Unlock()
	var v driverView
	var j *driver.Journal
	if own != nil && own.Key() == key {
		v.holding, j = true, own.Journal()
	} else {
		v.other = driver.ReadHolder(w.dirs.Runtime, key)
		j = w.journal(key)
	}
	if m := in.Masters[0]; j != nil && j.Old.Is(m.PID, m.StartTicks) {
		v.quitSent = j.QuitSent()
		v.quitUnsure = v.quitSent != 0 && j.Unsure("SIGQUIT", j.Old)
	}
	return v
}

// journal reads the journal of key, again only when the file changed.
func (w *window) journal(key string) *driver.Journal {
	st, err := os.Stat(driver.JournalPath(w.dirs.State, key))
	if err != nil {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if key == w.jKey && st.ModTime().Equal(w.jMod) {
		return w.jLast
	}
	j, err := driver.LoadJournal(w.dirs.State, key)
	if err != nil {
		return nil
	}
	w.jKey, w.jMod, w.jLast = key, st.ModTime(), j
	return j
}

// driverSide is the optional side of an Actor that holds the driver lock: the real runner has
// it, the tests' fakes do not.
type driverSide interface {
	driverWindow() *window
}

func (m Model) window() *window {
	if d, ok := m.deps.Actor.(driverSide); ok {
		return d.driverWindow()
	}
	return nil
}

// driverReader captures what the refresh reads of the drivers of the instance shown.
func (m Model) driverReader() func() driverView {
	w, in := m.window(), m.inst
	return func() driverView {
		if w == nil {
			return driverView{}
		}
		return w.view(in)
	}
}

// applyDriver takes in what the refresh read: another driver's hold, and a SIGQUIT the
// journal remembers.
func (m *Model) applyDriver(v driverView) {
	m.drv = v
	if v.quitSent != 0 {
		m.quitSent, m.quitUnsure = v.quitSent, v.quitUnsure
	}
}

// driverVerdict refuses every action that changes nginx while another driver holds it.
func (m Model) driverVerdict(v model.Verdict) model.Verdict {
	if !v.Allowed || m.drv.other == nil || v.Action == model.ActTest {
		return v
	}
	return refusal(v.Action, "%s: wait for it or stop it", m.drv.other.Why())
}

// driverLine is the status line while another driver holds the instance.
func (m Model) driverLine() string {
	return m.tr.sayReason(model.Because("%s: no action is offered until it lets go", m.drv.other.Why()))
}

// releaseWhenIdle ends the window once no step runs and the instance is idle again with the
// binary it runs on disk (a commit or a rollback finished; an install alone keeps it).
func (m *Model) releaseWhenIdle() {
	w := m.window()
	if w == nil || m.busy != nil || !m.hasInst || !w.holding() {
		return
	}
	in := m.inst
	if in.Phase == model.PhaseIdle && (!in.BinaryDiffers || in.BinarySameBytes) && len(in.Orphans) == 0 {
		w.release()
		m.drv.holding = false
	}
}

// releaseDriver lets the lock go when the dashboard quits; the journal stays.
func (m Model) releaseDriver() {
	if w := m.window(); w != nil {
		w.release()
	}
}
