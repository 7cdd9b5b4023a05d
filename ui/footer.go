package ui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/hotdeploy/hotdeploy/model"
)

// footerStatusMax is how many lines a long message may take above the key hints.
const footerStatusMax = 3

// renderFooter is the status or message line (a long message wraps onto up to three lines: a
// refusal's reason is the point of pressing the key) and the key hints of the mode.
func (m Model) renderFooter() string {
	text, st := m.statusLine()
	var lines []string
	for _, l := range wrap(text, m.width) {
		lines = append(lines, st.Render(padLine(l, m.width)))
	}
	if len(lines) > footerStatusMax {
		lines = lines[:footerStatusMax]
		lines[footerStatusMax-1] = st.Render(truncate(wrap(text, m.width)[footerStatusMax-1]+" …", m.width))
	}
	return strings.Join(append(lines, padLine(m.hints(), m.width)), "\n")
}

// statusLine is the last error or notice (cleared by the next key), else what is running, else
// the settings; plain text and the style to draw it in.
func (m Model) statusLine() (string, lipgloss.Style) {
	s := m.styles
	switch {
	case m.flash != nil && m.flash.isErr:
		return m.flash.text, s.ErrorLine
	case m.flash != nil:
		return m.flash.text, s.InfoLine
	case m.drv.other != nil && m.busy == nil:
		return m.driverLine(), s.Warning
	case m.busy != nil:
		r := m.record.rec(m.busy.action)
		el := ""
		if r != nil {
			el = " " + seconds(m.now.Sub(r.start))
		}
		return fmt.Sprintf("%s running%s: wait for it; the view keeps refreshing", m.busy.action.Title(), el), s.Warning
	}
	parts := []string{fmt.Sprintf("refresh %s", m.opts.Interval)}
	if m.opts.ReadOnly {
		parts = append(parts, "read-only: actions hidden")
	} else if m.deps.Actor == nil && m.deps.ActorErr != "" {
		parts = append(parts, m.deps.ActorErr)
	}
	if m.candidate != "" && !m.opts.ReadOnly {
		parts = append(parts, "candidate "+m.candidate)
	}
	parts = append(parts, m.notes...)
	return strings.Join(parts, " · "), s.Muted
}

// hints renders the keys of the current mode. In the normal mode the action keys that are not
// allowed now stay visible but dimmed (in parentheses without colour); pressing one says why.
func (m Model) hints() string {
	k := m.keys
	switch m.mode {
	case modeConfirm:
		return m.help.ShortHelpView([]key.Binding{k.Confirm, k.Cancel})
	case modeInput:
		sel := k.Select
		sel.SetHelp("enter", "use this path")
		cl := k.Close
		cl.SetHelp("esc", "cancel")
		return m.help.ShortHelpView([]key.Binding{sel, cl})
	case modePicker:
		return m.help.ShortHelpView([]key.Binding{k.Up, k.Down, k.Select, k.Quit})
	case modeHelp:
		cl := k.Close
		cl.SetHelp("esc/?", "close help")
		return m.help.ShortHelpView([]key.Binding{cl, k.Quit})
	}
	var line string
	for terse := 0; terse <= 2; terse++ {
		if line = m.actionHints(terse); ansi.StringWidth(line) <= m.width {
			break
		}
	}
	return line
}

// actionHints renders the footer keys, tersely as the width requires: at terse 1 refused keys
// show by their letter only, at 2 so do the keys besides the actions (and quit).
func (m Model) actionHints(terse int) string {
	s, k := m.styles, m.keys
	var parts []string
	for _, b := range k.ShortHelp() {
		if !b.Enabled() {
			continue
		}
		h := b.Help()
		a, isAction := k.actionFor(b.Keys()[0])
		if isAction && !m.verdict(a).Allowed {
			text := h.Key
			if terse == 0 {
				text += " " + h.Desc
			}
			if s.Plain {
				text = "(" + text + ")"
			}
			parts = append(parts, s.KeyOff.Render(text))
			continue
		}
		if terse == 2 && !isAction && b.Keys()[0] != "q" {
			parts = append(parts, s.KeyOn.Render(h.Key))
			continue
		}
		parts = append(parts, s.KeyOn.Render(h.Key)+" "+s.DescOn.Render(h.Desc))
	}
	return strings.Join(parts, "  ")
}

// renderFullHelp is the `?` screen: every key, and for each action whether it is allowed now and,
// if not, why.
func (m Model) renderFullHelp(width int) string {
	s := m.styles
	var b strings.Builder
	b.WriteString(s.PanelTitle.Render("KEYS"))
	for _, a := range model.Actions {
		bind := m.keys.action(a)
		if m.opts.ReadOnly {
			break
		}
		v := m.verdict(a)
		state := s.InfoLine.Render("allowed now")
		switch {
		case !v.Allowed:
			state = s.Muted.Render("not now: " + v.Reason)
		case v.Warning != "":
			state = s.Warning.Render("allowed, but: " + v.Warning)
		}
		sig := a.Signal()
		if sig == "" && a == model.ActRollback {
			sig = "HUP/QUIT"
		}
		line := s.KeyOn.Render(fit(bind.Help().Key, 2)) + fit(a.Title(), 19) + fit(sig, 9) + state
		b.WriteString("\n" + truncate(line, width))
	}
	rows := [][2]string{
		{"y", "confirm the dialog; n, esc or any other key cancels it (No is the default)"},
		{"?", "this help; esc or ? closes it"},
		{"p", "choose another instance (when several run)"},
		{"q", "quit the dashboard; nginx is left as it is"},
	}
	if m.deps.Hold != nil {
		rows = append(rows, [2]string{"l", "hold a slow download on an old worker, to watch it drain; l again closes it"})
	}
	if m.deps.Narration != nil {
		rows = append(rows, [2]string{"g", "show or hide the guide: what was just done and what comes next"})
	}
	for _, row := range rows {
		b.WriteString("\n" + truncate(s.KeyOn.Render(fit(row[0], 2))+s.DescOn.Render(row[1]), width))
	}
	if m.opts.ReadOnly {
		b.WriteString("\n" + s.Muted.Render("read-only: i t u w c r are hidden and do nothing"))
	}
	return b.String()
}
