package ui

import (
	"strings"

	"github.com/charmbracelet/lipgloss"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/inspect"
)

// stepsWidth is the width of the step list beside the error log: narrow on a small screen, so
// the log keeps room for its messages.
func stepsWidth(w int) int {
	if w < 100 {
		return 32
	}
	return 36
}

// View draws the whole screen from the model alone: no I/O happens here.
func (m Model) View() string {
	w, h := m.width, m.height
	if w <= 0 || h <= 0 {
		return ""
	}
	footer := m.renderFooter()
	bodyH := max(h-strings.Count(footer, "\n")-1, 1)
	var body string
	switch {
	case !m.scanned:
		body = m.styles.Muted.Render(m.tr.T("looking for nginx masters") + m.styles.G.Ellipsis)
	case m.mode == modePicker:
		body = m.renderPicker(w, bodyH)
	case m.mode == modeHelp:
		body = m.renderHelp(w, bodyH)
	case !m.hasInst:
		body = m.renderNoInstance(w)
		if m.mode == modeConfirm && m.dialog != nil {
			box, _ := m.renderDialog(m.dialog, w, bodyH-lipgloss.Height(body)-1)
			body += "\n" + box // it says the target is gone
		}
	default:
		body = m.renderDashboard(w, bodyH)
	}
	return fitBlock(body, w, bodyH, m.styles.G.Ellipsis) + "\n" + footer
}

// bodyHeight is how many rows the screen has above the footer: the status line, which wraps
// onto up to three lines, and the one line of key hints.
func (m Model) bodyHeight() int {
	text, _ := m.statusLine()
	return max(m.height-m.statusRows(len(wrap(text, m.width)))-1, 1)
}

// fitBlock makes a block exactly width x height: long lines cut (ell marks the cut), missing
// lines blank.
func fitBlock(s string, width, height int, ell string) string {
	var b strings.Builder
	b.Grow(len(s) + height*(width+1))
	rest, done := s, false
	for n := 0; n < height; n++ {
		if n > 0 {
			b.WriteByte('\n')
		}
		line := ""
		if !done {
			var more bool
			line, rest, more = strings.Cut(rest, "\n")
			done = !more
		}
		writePadded(&b, line, width, ell)
	}
	return b.String()
}

// renderNoInstance is the calm screen shown while no nginx master runs; the scan goes on.
func (m Model) renderNoInstance(width int) string {
	s, t := m.styles, m.tr
	type line struct {
		text string
		st   lipgloss.Style
	}
	lines := []line{{"hotdeploy", s.Title}, {"", s.Value}, {t.T("no nginx master is running"), s.Warning}, {"", s.Value},
		{t.T("Rescanning every %s: start nginx and it shows up here. q quits.", idleRescan), s.Muted}}
	if tg := m.opts.Target; tg.PidFile != "" || tg.PID != 0 {
		lines = append(lines, line{t.T("watching only %s.", m.targetText(tg)), s.Muted})
	}
	if m.scanErr != nil {
		lines = append(lines, line{"", s.Value}, line{m.sayErr(m.scanErr), s.ErrorLine})
	}
	var b strings.Builder
	for _, l := range lines {
		for _, part := range wrap(l.text, width-2) {
			b.WriteString(" " + l.st.Render(part) + "\n")
		}
	}
	return b.String()
}

// renderDashboard is the header, the process table, and below it the dialog, the path input,
// or the lower panels (summary, step list, guide, probe, log), which share what the table leaves.
func (m Model) renderDashboard(w, h int) string {
	header := m.headerPanel(w)
	headerH := strings.Count(header, "\n") + 1
	need := 1
	for _, ms := range m.inst.Masters {
		need += 1 + len(ms.Children)
	}
	if n := len(m.inst.Orphans); n > 0 {
		need += 1 + n // a line that says what they are, and each of them
	}
	table := func(rows int) string { return renderTable(m.styles, m.tr, m.inst, m.now, w, rows) }
	switch {
	case m.mode == modeConfirm && m.dialog != nil:
		// The dialog first: the table gets what it leaves, and at a small size it goes, then the
		// header, so that the dialog shows whole.
		box, ok := m.renderDialog(m.dialog, w, h)
		boxH := lipgloss.Height(box)
		switch {
		case !ok || boxH+headerH+3 > h:
			return box
		default:
			header, tableH, _ := m.warned(header, w, min(need, h-headerH-boxH), 0, h)
			return header + "\n" + table(tableH) + "\n" + box
		}
	case m.mode == modeInput:
		in := fitSegs([]seg{{text: m.tr.T("INSTALL") + "  ", st: m.styles.PanelTitle},
			{text: m.tr.T("the running binary is backed up first; nothing is signalled"), st: m.styles.Muted}}, "", w, m.styles.G.Ellipsis)
		in += "\n" + m.input.View()
		header, tableH, _ := m.warned(header, w, min(need, max(h-headerH-2, 2)), 0, h)
		return header + "\n" + table(tableH) + "\n" + in
	}
	// A blank line sets the table off from what is below, when the screen has room for it.
	gap := "\n"
	if h < 28 {
		gap = ""
	}
	avail := h - headerH - len(gap)
	lowerMin := len(m.steps()) + 1 // the step list whole, with its title
	if m.guideOn() || m.summaryOpen {
		// The guide's two texts beside the probe and the log's newest lines, the summary: the
		// table gives up rows for its cache processes first.
		lowerMin = 12
	}
	if m.output != nil {
		lowerMin = max(lowerMin, m.resultRows(w))
	}
	tableH := max(min(need, max(avail-lowerMin, 3)), 2)
	lowerH := avail - tableH
	header, tableH, taken := m.warned(header, w, tableH, max(lowerH-lowerKeep, 0), h)
	// A table cut short folds each master's cache processes into one line, which may leave it a
	// row shorter than it was given: the panels below get that row.
	tbl := table(tableH)
	lowerH += tableH - (strings.Count(tbl, "\n") + 1)
	return header + "\n" + tbl + "\n" + gap + m.renderLower(w, lowerH-taken)
}

// resultRows is how many rows the panels below the table want while a result panel is open (a
// failure, the config test's output): the step list, and beside it the probe over the result's
// title (up to three lines) and the way out. The table gives up rows for them, its cache
// processes first.
func (m Model) resultRows(w int) int {
	rightW := w - stepsWidth(w) - 2
	if rightW < 24 {
		return min(len(wrap(m.output.title, w)), 3) + 1 // the result panel alone, full width
	}
	right := min(len(wrap(m.output.title, rightW)), 3) + 1
	if m.deps.Probe != nil || m.deps.ProbeErr != "" {
		right += len(m.renderProbe(rightW, false))
	}
	return max(len(m.steps())+1, right)
}

// lowerKeep is how many rows the panels below the table keep before the instance's warnings
// take any of theirs: a failure's title, its newest lines and the way back.
const lowerKeep = 12

// warned puts the instance's warnings under the header, one line each: one on a screen under 30
// rows, up to three on a taller one. They take first the spare rows of the panels below the
// table (beyond lowerKeep), then rows of the table (of tableH; it keeps its heading and two
// rows), never the rows where a failure or a dialog shows. It returns the header, the table's
// rows left, and the rows taken from the spare ones.
func (m Model) warned(header string, width, tableH, spare, height int) (string, int, int) {
	limit := 1
	if height >= 30 {
		limit = 3
	}
	ws := warningLines(m.styles, m.tr, m.inst, width, min(limit, spare+max(tableH-3, 0)))
	if len(ws) == 0 {
		return header, tableH, 0
	}
	taken := min(len(ws), spare)
	return header + "\n" + strings.Join(ws, "\n"), tableH - (len(ws) - taken), taken
}

// guideOn tells whether the guide is shown: in the demo, unless hidden with g, a result panel is
// open, or the error log is scrolled back (the operator reads it).
func (m Model) guideOn() bool {
	return m.narrate && m.deps.Narration != nil && m.output == nil && m.logBack == 0
}

// renderLower is the summary of an upgrade that just ended (while it is open) above the step
// list and what goes beside it.
func (m Model) renderLower(w, h int) string {
	if m.ended == nil || !m.summaryOpen {
		return m.renderPanels(w, h)
	}
	sum := m.renderSummary(w)
	rest := h - len(sum) - 1
	switch {
	case rest >= 6:
		return strings.Join(sum, "\n") + "\n\n" + m.renderPanels(w, rest)
	case rest >= 1:
		s := m.styles
		sum = append(sum, "", s.Muted.Render(cutWords(m.tr.T("esc closes the summary: the step list starts again under it"), w, s.G.Ellipsis)))
	}
	return strings.Join(sum, "\n")
}

// renderRight stacks the probe panel (when probing) over the guide (when on) and the error log,
// or over a result panel. What shows a failure is never left out for the guide: the probe's
// counts, failures and who answered, and the newest lines of the error log; the guide takes
// what is left, in its short forms when room is short.
func (m Model) renderRight(w, h int) string {
	var top []string
	guide := m.guideOn()
	if m.deps.Probe != nil || m.deps.ProbeErr != "" {
		top = m.renderProbe(w, guide && h < 16)
		if m.output != nil {
			// A result panel keeps its title whole and the way out: the probe is drawn in its
			// short form, then cut (its counts stay while three rows are left), to leave them.
			keep := min(len(wrap(m.output.title, w))+1, h)
			if len(top) > h-keep {
				top = m.renderProbe(w, true)
			}
			room := h - keep
			if room < 1 && h >= 3 {
				room = 1
			}
			top = top[:min(len(top), max(room, 0))]
		}
	}
	rest := h - len(top)
	var below string
	switch {
	case m.output != nil:
		below = renderOutput(m.styles, m.tr, m.output, m.verdict(model.ActRollback).Allowed, w, rest)
	case guide:
		logMin := 0
		if rest >= 5 {
			logMin = 3 // the title and the newest lines: a failure shows there first
		}
		g := m.renderGuide(min(w, 100), rest-logMin)
		below = strings.Join(g, "\n")
		left := rest - len(g)
		if left > logMin && left >= 4 {
			below += "\n"
			left--
		}
		if left > 0 {
			below += "\n" + m.logPanel(w, left)
		}
	default:
		below = m.logPanel(w, rest)
	}
	if len(top) == 0 {
		return below
	}
	return strings.Join(top, "\n") + "\n" + below
}

func (m Model) targetText(tg inspect.Target) string {
	if tg.PidFile != "" {
		return m.tr.T("the instance of pid file %s", tg.PidFile)
	}
	return m.tr.T("the instance of master pid %d", tg.PID)
}
