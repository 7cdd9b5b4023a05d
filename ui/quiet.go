package ui

import (
	"reflect"
	"slices"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/traffic"
)

// quietFor is the longest a quiet refresh loop goes without a message: what moves with time
// alone (uptimes, drain and hold timers) moves once a second on screen.
const quietFor = time.Second

// fullEvery is the longest the quiet loop goes without a full refresh while Still says nginx
// did not run: what changes without nginx running (a binary installed by hand, a pid file
// removed, another driver's lock, a connection count) is on screen within it.
const fullEvery = 3 * time.Second

// idleCPU is in with every known CPU share at zero: what it was over an interval in which none
// of its processes ran (their scheduler figures did not move). The slices are copied: the
// screen's instance shares them.
func idleCPU(in model.Instance) model.Instance {
	in.Masters = slices.Clone(in.Masters)
	for i := range in.Masters {
		m := &in.Masters[i]
		m.Children = slices.Clone(m.Children)
		zeroCPU(&m.Process)
		for j := range m.Children {
			zeroCPU(&m.Children[j])
		}
	}
	return in
}

func zeroCPU(p *model.Process) {
	if p.CPU > 0 {
		p.CPU = 0
	}
}

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
	still, fullAt, ticks := m.stillCheck(), m.fullAt, m.deps.Ticks
	return func() tea.Msg {
		start := time.Now()
		for {
			if ticks != nil {
				<-ticks
			} else {
				time.Sleep(delay)
			}
			if gen != nil && gen.Load() != int64(seq) {
				return nil // a kick started another loop; nil is not rendered
			}
			if !clock.Now().Before(scanAt) {
				return scan()
			}
			refresh := src.Refresh
			if still != nil && still.Still(in) {
				if time.Since(start) < quietFor {
					continue
				}
				if time.Since(fullAt) < fullEvery {
					// The clocks move: the same reading, in which nothing used any CPU.
					return refreshMsg{key: key, in: idleCPU(in), path: path, seq: seq, still: true,
						extras: extras{probe: last.probe, held: last.held, drv: last.drv}}
				}
				refresh = still.RefreshStill
			}
			cur, err := refresh(in)
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
// (inspect.Scanner.Still), and refresh knowing it (what only moves when nginx runs is kept).
type stiller interface {
	Still(in model.Instance) bool
	RefreshStill(in model.Instance) (model.Instance, error)
}

// stillCheck is the quiet loop's cheap check between full refreshes, or nil where every refresh
// must be full: a source that cannot tell, or a probe or held download, whose figures move on
// their own. A refresh that the check says would find nothing new is skipped, but for the
// once-a-second message (the last reading, CPU at zero) and a full one every fullEvery: what
// moves without nginx running (a binary installed by hand, a pid file removed, another
// driver's lock) is then seen within fullEvery instead of one interval.
func (m Model) stillCheck() stiller {
	st, ok := m.deps.Source.(stiller)
	if !ok || m.deps.Probe != nil || m.held != nil {
		return nil
	}
	return st
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
