package ui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/lipgloss"
)

// footerStatusMax is how many lines a long message may take above the key hints.
const footerStatusMax = 3

// renderFooter is the status or message line (a long message wraps onto up to three lines: a
// refusal's reason is the point of pressing the key) and the key hints of the mode.
func (m Model) renderFooter() string {
	text, st := m.statusLine()
	g := m.styles.G
	parts := wrap(text, m.width)
	if n := m.statusRows(len(parts)); len(parts) > n {
		parts = wrapCut(text, m.width, n, g.Ellipsis) // the rest from the text: wrapped Chinese has no spaces to join with
	}
	lines := make([]string, 0, len(parts)+1)
	for _, l := range parts {
		lines = append(lines, st.Render(padLine(l, m.width, g.Ellipsis)))
	}
	return strings.Join(append(lines, padLine(m.hints(), m.width, g.Ellipsis)), "\n")
}

// statusRows is how many lines the status line may take: a message up to three (two on a low
// screen), the settings shown when there is none only one.
func (m Model) statusRows(want int) int {
	switch {
	case m.flash == nil && m.busy == nil:
		return 1
	case m.height < 16:
		return min(want, 2)
	}
	return min(want, footerStatusMax)
}

// statusLine is the last error or notice (cleared by the next key), else what is running, else
// the settings; plain text and the style to draw it in.
func (m Model) statusLine() (string, lipgloss.Style) {
	s, t := m.styles, m.tr
	switch {
	case m.flash != nil && m.flash.isErr:
		return m.flash.text, s.ErrorLine
	case m.flash != nil:
		return m.flash.text, s.InfoLine
	case m.drv.other != nil && m.busy == nil:
		return m.driverLine(), s.Warning
	case m.busy != nil:
		el := ""
		if r := m.record.rec(m.busy.action); r != nil {
			el = " " + seconds(m.now.Sub(r.start))
		}
		return t.T("%s running%s: wait for it; the view keeps refreshing", m.title(m.busy.action), el), s.Warning
	}
	parts := []string{t.T("refresh %s", m.opts.Interval)}
	if m.opts.ReadOnly {
		parts = append(parts, t.T("read-only: actions hidden"))
	} else if m.deps.Actor == nil && m.deps.ActorErr != "" {
		parts = append(parts, m.actorErr())
	}
	if m.candidate != "" && !m.opts.ReadOnly {
		parts = append(parts, t.T("candidate %s", m.candidate))
	}
	parts = append(parts, m.sayAll(m.notes, m.notesWhy)...)
	return strings.Join(parts, s.G.Sep), s.Muted
}

// hint is one key of the footer. action marks the keys of the upgrade's steps in the normal
// mode: when refused (off), they are the first to go on a narrow screen.
type hint struct {
	key, desc, short string
	off, extra       bool
	action           bool
}

// hints renders the keys of the current mode in one line.
func (m Model) hints() string {
	t := m.tr
	var hs []hint
	switch m.mode {
	case modeConfirm:
		yes := hint{key: "y", desc: t.T("yes")}
		if m.dialog != nil {
			yes.desc = m.dialog.yesText(t)
			yes.off = !m.dialogFits(m.dialog) || m.dialog.stale != ""
		}
		hs = []hint{yes, {key: "n/esc", desc: t.T("no, cancel")}}
	case modeInput:
		hs = []hint{{key: "enter", desc: t.T("check this path")}, {key: "esc", desc: t.T("cancel")}}
	case modePicker:
		g := m.styles.G
		hs = []hint{{key: g.Up + "/k", desc: t.T("up")}, {key: g.Down + "/j", desc: t.T("down")}, {key: "enter", desc: t.T("select")}, {key: "q", desc: t.T("quit")}}
	case modeHelp:
		g := m.styles.G
		hs = []hint{{key: g.Up + "/" + g.Down, desc: t.T("scroll")}, {key: "esc/?", desc: t.T("close help")}, {key: "q", desc: t.T("quit")}}
	default:
		hs = m.normalHints()
	}
	key := fmt.Sprintf("%d %t %q %v", m.width, m.styles.Plain, m.styles.G.Ellipsis, hs)
	if m.memo != nil && m.memo.hintsKey == key {
		return m.memo.hints
	}
	line := m.layHints(hs)
	if m.memo != nil {
		m.memo.hintsKey, m.memo.hints = key, line
	}
	return line
}

// layHints lays the hints out at the first level of terseness that fits the width.
func (m Model) layHints(hs []hint) string {
	for level := 0; level <= 4; level++ {
		if line, ok := m.hintLine(hs, level); ok {
			return line
		}
	}
	line, _ := m.hintLine(hs, 5)
	return line
}

// viewMemo keeps the parts of the last frame that are dearest to draw and change least, with
// the key of everything each was drawn from: the key line, the step list, the error log's panel
// and the lower panels joined (the same until a key's state, a step, a log line or the size
// changes; once a second, only the clocks change).
type viewMemo struct {
	hintsKey, hints string
	logKey, log     string // the error log's panel (logPanel)
	stepsKey, steps string // the step list (stepsPanel)
	headerKey       string // the header (headerPanel)
	header          string
	// the step list and the right-hand panels side by side, by their texts (renderPanels)
	panelsKey, panels string
}

// normalHints are the footer keys of the normal mode: every action key, allowed or not (a refused
// one is dimmed, and pressing it says why), then the demo's keys, rescan and the picker, then help
// and quit.
func (m Model) normalHints() []hint {
	k, t := m.keys, m.tr
	short := map[string]string{"u": t.T("start"), "w": t.T("drain")}
	var hs []hint
	for _, b := range k.ShortHelp() {
		if !b.Enabled() {
			continue
		}
		h := b.Help()
		x := hint{key: h.Key, desc: t.T(h.Desc), short: short[h.Key]}
		if a, isAction := k.actionFor(b.Keys()[0]); isAction {
			x.off, x.action = !m.verdict(a).Allowed, true
		} else {
			x.extra = b.Keys()[0] != "?" && b.Keys()[0] != "q"
		}
		if h.Key == "l" && m.held != nil {
			x.desc = t.T("release")
		}
		hs = append(hs, x)
	}
	return hs
}

// hintLine lays the hints out in the footer's width, more tersely at each level: 1 leaves out
// the keys the help and the panels name (l, g, s, p), 2 shortens two labels, 3 puts one space
// between keys, 4 leaves out the steps refused now (so that r, the way back, is not cut for
// them); at 5 what does not fit is cut, with an ellipsis.
func (m Model) hintLine(hs []hint, level int) (string, bool) {
	s := m.styles
	sep := "  "
	if level >= 3 {
		sep = " "
	}
	var segs []seg
	for _, h := range hs {
		if h.extra && level >= 1 || h.off && h.action && level >= 4 {
			continue
		}
		desc := h.desc
		if level >= 2 && h.short != "" {
			desc = h.short
		}
		text := h.key + " " + desc
		switch {
		case h.off && s.Plain:
			segs = append(segs, seg{text: "(" + text + ")", st: s.KeyOff})
		case h.off:
			segs = append(segs, seg{text: text, st: s.KeyOff})
		default:
			segs = append(segs, seg{text: text, st: s.DescOn, bold: len(h.key)})
		}
	}
	total := 0
	for i, sg := range segs {
		if i > 0 {
			total += len(sep)
		}
		total += cellWidth(sg.text)
	}
	if total > m.width && level < 5 {
		return "", false
	}
	return fitSegs(segs, sep, m.width, s.G.Ellipsis), true
}
