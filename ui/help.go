package ui

import (
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/hotdeploy/hotdeploy/model"
)

// helpEntry is one key of the full help: what it does, and whether it works now and why not.
type helpEntry struct {
	keys, does string
	ok         bool
	why        string
}

// helpEntries lists every key of DESIGN.md's table, in its order.
func (m Model) helpEntries() []helpEntry {
	t := m.tr
	var es []helpEntry
	does := map[model.Action]string{
		model.ActInstall:  t.T("install a new binary (path input, prefilled), backing up the running one"),
		model.ActTest:     t.T("test the config with the candidate binary and the master's own -p/-c/-g"),
		model.ActUpgrade:  t.T("start the new binary: SIGUSR2 to the master"),
		model.ActDrain:    t.T("drain the old workers: SIGWINCH to the old master"),
		model.ActCommit:   t.T("commit: SIGQUIT to the old master"),
		model.ActRollback: t.T("roll back to the old binary, whatever step was reached (SIGHUP, SIGQUIT)"),
	}
	for _, a := range model.Actions {
		e := helpEntry{keys: m.keys.action(a).Help().Key, does: does[a], ok: true}
		switch v := m.verdict(a); {
		case m.opts.ReadOnly:
			e.ok, e.why = false, t.T("read-only: actions are off")
		case !v.Allowed:
			e.ok, e.why = false, m.why(v)
		case v.Warning != "":
			e.why = t.T("allowed, but: %s", m.warning(v))
		}
		es = append(es, e)
	}
	// why is said of a key that does not work now.
	unless := func(e helpEntry, why string) helpEntry {
		if !e.ok {
			e.why = why
		}
		return e
	}
	es = append(es, unless(helpEntry{keys: "y / n, esc", does: t.T("confirm / cancel a dialog; No is the default, any other key cancels"),
		ok: m.mode == modeConfirm}, t.T("only while a dialog is open")))
	demoOnly := t.T("only in the demo (hotdeploy demo)")
	es = append(es, unless(helpEntry{keys: "l", does: t.T("hold one slow download on the old generation; l again releases it"),
		ok: m.deps.Hold != nil && !m.opts.ReadOnly}, demoOnly))
	es = append(es, unless(helpEntry{keys: "g", does: t.T("show or hide the guide: what was just done and what comes next"),
		ok: m.deps.Narration != nil}, demoOnly))
	es = append(es, helpEntry{keys: "s", does: t.T("rescan the host for nginx masters now"), ok: true})
	pick := helpEntry{keys: "p", does: t.T("pick another instance"), ok: m.keys.Pick.Enabled()}
	switch {
	case m.opts.Target.PID != 0 || m.opts.Target.PidFile != "":
		pick.why = t.T("--pid or --pidfile names one instance")
	case !pick.ok:
		pick.why = t.T("only one instance runs")
	}
	es = append(es, pick)
	es = append(es, helpEntry{keys: "[ ] PgUp PgDn", does: t.T("scroll the error log; End follows the tail again"), ok: true})
	es = append(es, helpEntry{keys: "?", does: t.T("this help; esc or ? closes it, %s/%s scroll it", m.styles.G.Up, m.styles.G.Down), ok: true})
	quit := t.T("quit the dashboard; nginx is left as it is")
	if m.opts.demo {
		quit = t.T("quit the demo: its sandbox nginx is stopped and its directory removed")
	}
	es = append(es, helpEntry{keys: "q", does: quit, ok: true})
	return es
}

// helpLines renders the help in width cells: each key with what it does, and under it, when it
// does not work now, why. Nothing is cut: long lines wrap, and the view scrolls.
func (m Model) helpLines(width int) []string {
	s, t := m.styles, m.tr
	lines := []string{s.PanelTitle.Render(t.T("KEYS")) + s.Muted.Render("  "+t.T("dimmed: not now, and why"))}
	// On a narrow screen the keys take a short column, and a long key its own line.
	keyW := 15
	if width < 60 {
		keyW = 4
	}
	for _, e := range m.helpEntries() {
		kst, dst := s.KeyOn, s.DescOn
		if !e.ok {
			kst, dst = s.KeyOff, s.Muted
		}
		k := e.keys
		if cellWidth(k) >= keyW {
			lines = append(lines, kst.Render(k))
			k = ""
		}
		for _, l := range wrap(e.does, width-keyW) {
			lines = append(lines, kst.Render(fitE(k, keyW, s.G.Ellipsis))+dst.Render(l))
			k = ""
		}
		if e.why == "" {
			continue
		}
		prefix := t.T("not now: ")
		st := s.Warning
		if e.ok {
			prefix, st = "", s.Warning
		}
		indent := keyW + 2
		for _, l := range wrap(prefix+e.why, width-indent) {
			lines = append(lines, spaces(indent)+st.Render(l))
		}
	}
	return lines
}

// renderHelp shows the help from helpTop in height lines, saying when more is above or below.
func (m Model) renderHelp(width, height int) string {
	lines := m.helpLines(width)
	top := min(m.helpTop, max(len(lines)-height, 0))
	end := min(top+height, len(lines))
	view := append([]string(nil), lines[top:end]...)
	s := m.styles
	if end < len(lines) && len(view) > 0 {
		view[len(view)-1] = s.Muted.Render(m.tr.T("%s more below: %s or PgDn", s.G.Down, s.G.Down))
	}
	if top > 0 && len(view) > 1 {
		view[0] = s.Muted.Render(m.tr.T("%s more above", s.G.Up))
	}
	return strings.Join(view, "\n")
}

// updateHelp scrolls the help or closes it.
func (m Model) updateHelp(msg tea.KeyMsg) (tea.Model, tea.Cmd) {
	k := m.keys
	switch {
	case key.Matches(msg, k.Quit):
		return m.quit()
	case key.Matches(msg, k.Close, k.Help):
		m.mode = modeNormal
	case key.Matches(msg, k.Down, k.Newer):
		m.helpTop++
	case key.Matches(msg, k.Up, k.Older):
		m.helpTop = max(m.helpTop-1, 0)
	case key.Matches(msg, k.PageDown):
		m.helpTop += max(m.height-6, 1)
	case key.Matches(msg, k.PageUp):
		m.helpTop = max(m.helpTop-max(m.height-6, 1), 0)
	}
	m.helpTop = min(m.helpTop, max(len(m.helpLines(m.width))-1, 0))
	return m, nil
}
