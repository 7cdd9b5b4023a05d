package ui

import (
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
	// still: nothing was read again; in is the last reading, in which nothing ran since.
	still bool
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
