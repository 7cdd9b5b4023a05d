package ui

import (
	"reflect"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/traffic"
)

// scanMsg carries a full discovery scan.
type scanMsg struct {
	snap  model.Snapshot
	err   error
	lines []string
	path  string
	seq   int
	extras
}

// refreshMsg carries the cheap refresh of the instance shown.
type refreshMsg struct {
	key   string
	in    model.Instance
	err   error
	lines []string
	path  string
	seq   int
	extras
}

// extras are read with every refresh besides the process tree: the probe and the held download.
type extras struct {
	probe *traffic.ProbeStats
	held  heldState
	drv   driverView
}

// extrasReader captures what to read; the returned function runs off the UI goroutine.
func (m Model) extrasReader() func() extras {
	probe, held, drv := m.deps.Probe, m.held, m.driverReader()
	return func() extras {
		e := extras{drv: drv()}
		if probe != nil {
			st := probe.Stats()
			e.probe = &st
		}
		e.held = readHeld(held)
		return e
	}
}

// applyExtras keeps the newest probe and held-download readings.
func (m *Model) applyExtras(e extras) {
	if e.probe != nil {
		m.probeStats = e.probe
	}
	if m.held != nil && e.held.pid == m.heldInfo.pid {
		m.heldInfo = e.held
	}
	m.applyDriver(e.drv)
	m.releaseWhenIdle()
}

// tick re-arms the refresh loop: after the interval, the read runs in the timer's own command,
// so each refresh is one message and one render. Every handler of a refresh result calls it
// once, so exactly one read is ever in flight and a slow one delays the next instead of piling
// up. While an instance is shown and no step runs, the read goes on quietly (quietRefresh).
func (m Model) tick() tea.Cmd {
	if m.hasInst && !m.scanDue && m.busy == nil {
		return m.quietRefresh()
	}
	read := m.read()
	return tea.Tick(m.readDelay(), func(time.Time) tea.Msg { return read() })
}

// quietFor is the longest a quiet refresh loop goes without a message: what moves with time
// alone (uptimes, drain and hold timers) moves once a second on screen.
const quietFor = time.Second

// quietRefresh refreshes the instance shown at the interval, and hands a reading to Update (and
// so renders the screen, the dashboard's main cost) only when it differs from the last one the
// screen shows: another process tree, CPU share, connection count, error-log line, probe
// figure, held download or driver; or when quietFor passed; or when the periodic scan is due,
// which it runs instead. So a step's effect is still seen within one refresh, while an idle
// instance costs one render a second instead of four. A kick (a step changed nginx) ends the
// loop at its next wake-up: the kicked loop reads on its own.
func (m Model) quietRefresh() tea.Cmd {
	src, in, key, path, seq, ex := m.deps.Source, m.inst, m.selected, m.logPath, m.loop, m.extrasReader()
	delay, clock, scanAt, gen, scan := m.readDelay(), m.deps.Clock, m.lastScan.Add(scanEvery), m.gen, m.scanCmd()
	last := reading{in: m.inst, probe: m.probeStats, held: m.heldInfo, drv: m.drv}
	still := m.stillCheck()
	return func() tea.Msg {
		start := time.Now()
		for {
			time.Sleep(delay)
			if gen != nil && gen.Load() != int64(seq) {
				return nil // a kick started another loop; nil is not rendered
			}
			if !clock.Now().Before(scanAt) {
				return scan()
			}
			if still != nil && time.Since(start) < quietFor && still(in) {
				continue
			}
			cur, err := src.Refresh(in)
			msg := refreshMsg{key: key, in: cur, err: err, lines: src.LogLines(path), path: path, seq: seq, extras: ex()}
			now := reading{in: cur, probe: msg.probe, held: msg.held, drv: msg.drv}
			if err != nil || len(msg.lines) > 0 || time.Since(start) >= quietFor || !last.same(now) {
				return msg
			}
			in = cur
		}
	}
}

// stiller is a Source that can tell, cheaply, that a refresh would read what the last one read
// (inspect.Scanner.Still).
type stiller interface {
	Still(in model.Instance) bool
}

// stillCheck is the quiet loop's cheap check between full refreshes, or nil where every refresh
// must be full: a source that cannot tell, or a probe or held download, whose figures move on
// their own. Within quietFor, a refresh that the check says would find nothing new is skipped:
// what moves without nginx running (a binary installed by hand, a pid file removed, another
// driver's lock) is then seen within a second instead of one interval.
func (m Model) stillCheck() func(model.Instance) bool {
	st, ok := m.deps.Source.(stiller)
	if !ok || m.deps.Probe != nil || m.held != nil {
		return nil
	}
	return st.Still
}

// reading is what one refresh read and the screen shows.
type reading struct {
	in    model.Instance
	probe *traffic.ProbeStats
	held  heldState
	drv   driverView
}

// same tells whether two readings would draw the same screen at the same moment.
func (r reading) same(o reading) bool {
	return reflect.DeepEqual(r, o)
}

// readDelay is the wait before the next read: the refresh interval, or idleRescan while no
// instance is shown.
func (m Model) readDelay() time.Duration {
	if !m.hasInst && !m.scanDue {
		return max(m.opts.Interval, idleRescan)
	}
	return m.opts.Interval
}

// kick reads at once instead of at the next tick (a step just changed nginx): it starts a new
// loop, and the results and ticks of the old one stop re-arming.
func (m *Model) kick() tea.Cmd {
	m.loop++
	if m.gen != nil {
		m.gen.Store(int64(m.loop))
	}
	return m.read()
}

// rearm continues the loop a result belongs to, unless a kick replaced it.
func (m Model) rearm(seq int) tea.Cmd {
	if seq != m.loop {
		return nil
	}
	return m.tick()
}

// scanCmd runs a full discovery scan off the UI goroutine.
func (m Model) scanCmd() tea.Cmd {
	src, path, seq, ex := m.deps.Source, m.logPath, m.loop, m.extrasReader()
	return func() tea.Msg {
		snap, err := src.Scan()
		if path == "" && len(snap.Instances) == 1 {
			path = snap.Instances[0].ErrorLog // the first scan: show the log at once
		}
		return scanMsg{snap: snap, err: err, lines: src.LogLines(path), path: path, seq: seq, extras: ex()}
	}
}

// refreshCmd re-reads the instance shown.
func (m Model) refreshCmd() tea.Cmd {
	src, in, key, path, seq, ex := m.deps.Source, m.inst, m.selected, m.logPath, m.loop, m.extrasReader()
	return func() tea.Msg {
		cur, err := src.Refresh(in)
		return refreshMsg{key: key, in: cur, err: err, lines: src.LogLines(path), path: path, seq: seq, extras: ex()}
	}
}

// read picks the next read: a scan every scanEvery, when asked, or while nothing is shown.
func (m Model) read() tea.Cmd {
	if !m.hasInst || m.scanDue || m.deps.Clock.Now().Sub(m.lastScan) >= scanEvery {
		return m.scanCmd()
	}
	return m.refreshCmd()
}

// applyScan takes in a scan. A failed scan keeps the instance the cheap refresh still follows.
func (m *Model) applyScan(snap model.Snapshot, err error) {
	m.now = m.deps.Clock.Now()
	m.scanned, m.lastScan, m.scanDue = true, m.now, false
	m.scanErr = err
	if err != nil && m.hasInst {
		return
	}
	m.instances, m.notes, m.notesWhy = snap.Instances, snap.Notes, snap.NotesWhy
	found := false
	for _, in := range snap.Instances {
		if in.Key() == m.selected && m.selected != "" {
			m.show(in)
			found = true
		}
	}
	switch {
	case found:
	case len(snap.Instances) == 1:
		m.show(snap.Instances[0])
	case len(snap.Instances) > 1:
		m.hasInst = false
		if m.mode == modeNormal {
			m.mode, m.picker = modePicker, 0
		}
	default:
		m.hasInst, m.selected = false, ""
	}
	m.afterChange()
}

// applyRefresh takes in a refresh of the instance shown; a result for another instance (the
// operator switched meanwhile) is dropped.
func (m *Model) applyRefresh(msg refreshMsg) {
	m.now = m.deps.Clock.Now()
	if msg.key != m.selected {
		return
	}
	if msg.err != nil {
		// Every master of it is gone: a scan says what runs now.
		m.hasInst, m.scanDue = false, true
		m.afterChange()
		return
	}
	m.show(msg.in)
	m.afterChange()
}

// show makes in the instance on screen.
func (m *Model) show(in model.Instance) {
	if m.selected != in.Key() || m.logPath != in.ErrorLog {
		m.log = nil
	}
	m.inst, m.hasInst, m.selected, m.logPath = in, true, in.Key(), in.ErrorLog
	m.owners.Observe(in)
}

// appendLog keeps the newest error-log lines of the log shown.
func (m *Model) appendLog(path string, lines []string) {
	if path != m.logPath || len(lines) == 0 {
		return
	}
	for _, l := range lines {
		m.log = append(m.log, shortLogLine(l))
	}
	if m.logBack > 0 {
		m.logBack += len(lines) // a log scrolled back stays on the lines it shows
	}
	if len(m.log) > logKeep {
		m.log = append([]string(nil), m.log[len(m.log)-logKeep:]...)
	}
	m.logBack = min(m.logBack, max(len(m.log)-1, 0))
}

// afterChange re-derives what depends on the live state: which keys show, and whether an open
// dialog still targets what the operator saw when it opened.
func (m *Model) afterChange() {
	m.syncKeys()
	if m.hasInst {
		m.record.settle(m.inst, m.now)
		m.endedElsewhere()
	}
	if m.dialog != nil {
		m.dialog.recheck(m.tr, m.inst, m.hasInst, m.verdict(m.dialog.action), m.why)
	}
}
