package ui

import (
	"context"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/inspect"
)

// Holder is one long-lived download kept open on a worker; traffic.Held is one.
type Holder interface {
	WorkerPID() int
	BytesRead() int64
	Done() <-chan struct{}
	Close()
}

// HoldFunc opens a held download on a worker that want accepts (demo mode only).
type HoldFunc func(ctx context.Context, want func(workerPID int) bool) (Holder, error)

// heldState is what the refresh saw of the held download.
type heldState struct {
	pid   int
	bytes int64
	done  bool
}

// heldMsg carries a held download that just opened, or why it could not.
type heldMsg struct {
	h   Holder
	err error
}

// releasedMsg says a held download was closed.
type releasedMsg struct{}

// onHold answers l: open a slow download on a worker of the old generation (the first master,
// still accepting), or close the one held.
func (m Model) onHold() (Model, tea.Cmd) {
	switch {
	case m.deps.Hold == nil:
		m.flash = &flash{text: m.tr.T("l works in the demo only: it holds a slow download open on the sandbox"), isErr: true}
		return m, nil
	case m.holding:
		m.flash = &flash{text: m.tr.T("opening the held download") + m.styles.G.Ellipsis}
		return m, nil
	case m.held != nil:
		h := m.held
		m.held, m.heldInfo = nil, heldState{}
		m.flash = &flash{text: m.tr.T("released: the download held on worker %d is closed", h.WorkerPID())}
		return m, func() tea.Msg { h.Close(); return releasedMsg{} }
	case !m.hasInst:
		m.flash = &flash{text: m.tr.T("no nginx master is running"), isErr: true}
		return m, nil
	}
	old := m.inst.Masters[0]
	want := map[int]bool{}
	for _, c := range old.Children {
		if c.Role == model.RoleWorker && !c.ShuttingDown {
			want[c.PID] = true
		}
	}
	if len(want) == 0 {
		m.flash = &flash{text: m.tr.T("master %d has no accepting worker to hold a download on", old.PID), isErr: true}
		return m, nil
	}
	m.holding = true
	hold := m.deps.Hold
	return m, func() tea.Msg {
		h, err := hold(context.Background(), func(pid int) bool { return want[pid] })
		return heldMsg{h: h, err: err}
	}
}

func (m Model) onHeld(msg heldMsg) Model {
	m.holding = false
	if msg.err != nil {
		m.flash = &flash{text: m.sayErr(msg.err), isErr: true}
		return m
	}
	m.held = msg.h
	m.heldInfo = heldState{pid: msg.h.WorkerPID()}
	m.flash = &flash{text: m.tr.T("a slow download is held on worker %d: drain the old workers and watch it stay; l again releases it", msg.h.WorkerPID())}
	return m
}

// readHeld looks at a held download off the UI goroutine.
func readHeld(h Holder) heldState {
	if h == nil {
		return heldState{}
	}
	st := heldState{pid: h.WorkerPID(), bytes: h.BytesRead()}
	select {
	case <-h.Done():
		st.done = true
	default:
	}
	return st
}

// heldLines describe the held download for the probe panel, and that l again releases it; the
// line wraps once rather than lose either. compact says it in one short line.
func (m Model) heldLines(width int, compact bool) []string {
	s, t, g := m.styles, m.tr, m.styles.G
	text, st := "", s.Muted
	switch {
	case m.deps.Hold == nil:
		return nil
	case m.held == nil:
		text = t.T("l holds a slow download; l again releases it")
	case m.heldInfo.done:
		text = t.T("held download ended on worker %d, %s read", m.heldInfo.pid, bytesHuman(uint64(m.heldInfo.bytes)))
	default:
		where := t.T("exited")
		if p, ok := m.inst.Find(m.heldInfo.pid); ok {
			where = genLabel(t, p.Generation)
			if p.ShuttingDown {
				where = t.list([]string{where, t.T("draining %s", inspect.Uptime(m.now, p.DrainingSince))})
			}
		}
		text = t.T("held: worker %d (%s) %s read; l again releases it",
			m.heldInfo.pid, where, bytesHuman(uint64(m.heldInfo.bytes)))
		if compact {
			if p, ok := m.inst.Find(m.heldInfo.pid); ok && p.ShuttingDown {
				where = t.T("draining %s", inspect.Uptime(m.now, p.DrainingSince))
			}
			text = t.T("held on %d (%s); l again releases", m.heldInfo.pid, where)
		}
		st = s.Warning
	}
	lines := wrapCut(text, width, 2, g.Ellipsis)
	for i := range lines {
		lines[i] = st.Render(lines[i])
	}
	return lines
}
