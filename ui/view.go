package ui

import (
	"fmt"
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
		body = m.styles.Muted.Render("looking for nginx masters…")
	case m.mode == modePicker:
		body = m.renderPicker(w, bodyH)
	case !m.hasInst:
		body = m.renderNoInstance(w)
		if m.mode == modeConfirm && m.dialog != nil {
			body += "\n" + m.dialog.view(m.styles, w) // it says the target is gone
		}
	default:
		body = m.renderDashboard(w, bodyH)
	}
	return fitBlock(body, w, bodyH) + "\n" + footer
}

// fitBlock makes a block exactly width x height: long lines cut, missing lines blank.
func fitBlock(s string, width, height int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > height {
		lines = lines[:height]
	}
	for i, l := range lines {
		lines[i] = padLine(l, width)
	}
	for len(lines) < height {
		lines = append(lines, spaces(width))
	}
	return strings.Join(lines, "\n")
}

// renderNoInstance is the calm screen shown while no nginx master runs; the scan goes on.
func (m Model) renderNoInstance(width int) string {
	s := m.styles
	lines := []string{
		s.Title.Render("hotdeploy"),
		"",
		s.Warning.Render("no nginx master is running"),
		"",
		s.Muted.Render("Rescanning every " + idleRescan.String() + ": start nginx and it shows up here. q quits."),
	}
	if t := m.opts.Target; t.PidFile != "" || t.PID != 0 {
		lines = append(lines, s.Muted.Render("watching only "+targetText(t)+"."))
	}
	if m.scanErr != nil {
		lines = append(lines, "", s.ErrorLine.Render(m.scanErr.Error()))
	}
	var b strings.Builder
	for _, l := range lines {
		for _, part := range wrap(l, width-2) {
			b.WriteString(" " + part + "\n")
		}
	}
	return b.String()
}

// renderDashboard is the header, the process table, and below it the dialog, the path input,
// the full help, or the step list beside the error log (or a result panel).
func (m Model) renderDashboard(w, h int) string {
	header := renderHeader(m.styles, m.inst, w)
	headerH := strings.Count(header, "\n") + 1
	// A blank line sets the table off from what is below, when the screen has room for it.
	gap := "\n"
	if h < 28 {
		gap = ""
	}
	avail := h - headerH - len(gap)
	lower, lowerH, fixed := m.lowerPanel(w)
	need := 1
	for _, ms := range m.inst.Masters {
		need += 1 + len(ms.Children)
	}
	tableH := min(need, avail-lowerH)
	if !fixed {
		// The step list and log take what the table leaves, at least 6 lines.
		tableH = min(need, max(avail-6, 3))
		lowerH = avail - tableH
		lower = m.renderPanels(w, lowerH)
	}
	tableH = max(tableH, 2)
	table := renderTable(m.styles, m.inst, m.now, w, tableH)
	return header + "\n" + table + "\n" + gap + lower
}

// lowerPanel returns what goes under the table when it has a fixed height (a dialog, the path
// input, the full help); fixed is false for the step list and log, which fill what is left.
func (m Model) lowerPanel(w int) (string, int, bool) {
	var s string
	switch m.mode {
	case modeConfirm:
		if m.dialog == nil {
			return "", 0, false
		}
		s = m.dialog.view(m.styles, w)
	case modeInput:
		s = m.styles.PanelTitle.Render("INSTALL") + "  " +
			m.styles.Muted.Render("the running binary is backed up first; nothing is signalled") + "\n" + m.input.View()
	case modeHelp:
		s = m.renderFullHelp(w)
	default:
		return "", 0, false
	}
	return s, lipgloss.Height(s), true
}

// renderPanels puts the step list beside the error log (or a result panel) in w x h cells.
func (m Model) renderPanels(w, h int) string {
	sw := stepsWidth(w)
	steps := renderSteps(m.styles, m.steps(), sw)
	rightW := w - sw - 2
	if rightW < 24 {
		return steps
	}
	return lipgloss.JoinHorizontal(lipgloss.Top, fitBlock(steps, sw, h), "  ", m.renderRight(rightW, h))
}

// renderRight stacks the probe panel (when probing) over the guide (when on), a result panel,
// or the error log, which takes what is left.
func (m Model) renderRight(w, h int) string {
	var top []string
	guide := m.narrate && m.deps.Narration != nil && m.output == nil
	if m.deps.Probe != nil || m.deps.ProbeErr != "" {
		top = m.renderProbe(w)
		if guide && h < 16 {
			top = top[:1] // the counts (failures in red); the guide needs the room
		}
	}
	rest := h - len(top)
	var below string
	switch {
	case m.output != nil:
		below = renderOutput(m.styles, m.output, m.verdict(model.ActRollback).Allowed, w, rest)
	case guide:
		// The guide reads best in lines of at most 100 cells; on a tall screen the error log
		// keeps what the guide leaves.
		g := m.renderNarration(min(w, 100), rest)
		below = strings.Join(g, "\n")
		if left := rest - len(g) - 1; left >= 6 {
			below += "\n\n" + renderLog(m.styles, m.logPath, m.log, w, left)
		}
	default:
		below = renderLog(m.styles, m.logPath, m.log, w, rest)
	}
	if len(top) == 0 {
		return below
	}
	return strings.Join(top, "\n") + "\n" + below
}

func targetText(t inspect.Target) string {
	if t.PidFile != "" {
		return "the instance of pid file " + t.PidFile
	}
	return fmt.Sprintf("the instance of master pid %d", t.PID)
}
