package ui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/hotdeploy/hotdeploy/nginxctl/inspect"
)

// logLineStyle picks a line's style by its nginx level; [emerg], [alert] and [crit] stand out.
func logLineStyle(s *Styles, line string) (string, func(...string) string) {
	switch inspect.LineSeverity(line) {
	case inspect.SevCritical:
		if s.Plain {
			return "!! " + line, s.LogCritical.Render
		}
		return line, s.LogCritical.Render
	case inspect.SevError:
		return line, s.LogError.Render
	case inspect.SevWarn:
		return line, s.LogWarn.Render
	}
	return line, s.LogInfo.Render
}

// shortLogLine shortens an nginx log line for a live screen, where width is better spent on the
// message: "2024/11/21 22:58:06 [notice] 1234#1234: msg" becomes "22:58:06 [notice] 1234: msg"
// (the date goes, and the thread id, which is the pid again).
func shortLogLine(line string) string {
	if len(line) > 20 && line[4] == '/' && line[7] == '/' && line[10] == ' ' {
		line = line[11:]
	}
	i := strings.IndexByte(line, '#')
	if i < 0 || i > 40 {
		return line
	}
	j := i + 1
	for j < len(line) && line[j] >= '0' && line[j] <= '9' {
		j++
	}
	if j > i+1 && j < len(line) && line[j] == ':' && line[:i] != "" && isDigits(line[lastSpace(line[:i])+1:i]) {
		return line[:i] + line[j:]
	}
	return line
}

func lastSpace(s string) int { return strings.LastIndexByte(s, ' ') }

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// logPanel is renderLog of the model's log, kept from the last frame when what it shows is the
// same: the lines that can show (each takes a row at least), the scroll, the size and the
// screen's language and style.
func (m Model) logPanel(width, height int) string {
	shown := m.log[:max(len(m.log)-m.logBack, 0)]
	shown = shown[max(len(shown)-height, 0):]
	var k strings.Builder
	fmt.Fprintf(&k, "%s %t %q %d %d %d %d\x00", m.tr.lang, m.styles.Plain, m.logPath, m.logBack, len(m.log), width, height)
	for _, l := range shown {
		k.WriteString(l)
		k.WriteByte(0)
	}
	key := k.String()
	if m.memo != nil && m.memo.logKey == key {
		return m.memo.log
	}
	out := renderLog(m.styles, m.tr, m.logPath, m.log, m.logBack, width, height)
	if m.memo != nil {
		m.memo.logKey, m.memo.log = key, out
	}
	return out
}

// renderLog draws the error log in width x height cells: the newest lines, or, scrolled back
// lines from the tail, the lines that end there.
func renderLog(s *Styles, t translator, path string, lines []string, back, width, height int) string {
	var b strings.Builder
	head := t.T("ERROR LOG") + " "
	scrolled := ""
	if back > 0 {
		scrolled = "  " + t.T("%s %d lines back, End follows", s.G.Up, back)
	}
	pathRoom := max(width-cellWidth(head)-cellWidth(scrolled), 16)
	title := []seg{{text: head, st: s.PanelTitle}, {text: shortenPath(path, pathRoom, s.G.Ellipsis), st: s.Muted},
		{text: scrolled, st: s.Warning}}
	b.WriteString(fitSegs(title, "", width, s.G.Ellipsis))
	room := height - 1
	if len(lines) == 0 && room > 0 {
		b.WriteString("\n" + s.Muted.Render(fitE(t.T("(nothing new since the dashboard started)"), width, s.G.Ellipsis)))
		return b.String()
	}
	lines = lines[:max(len(lines)-back, 0)]
	for _, l := range wrapNewest(s, lines, width, room) {
		b.WriteString("\n" + l)
	}
	return b.String()
}

// scrollLog moves the error log back from its tail or towards it; End follows the tail again.
func (m *Model) scrollLog(msg tea.KeyMsg) {
	k := m.keys
	switch {
	case key.Matches(msg, k.Older):
		m.logBack += 3
	case key.Matches(msg, k.Newer):
		m.logBack -= 3
	case key.Matches(msg, k.PageUp):
		m.logBack += 10
	case key.Matches(msg, k.PageDown):
		m.logBack -= 10
	case key.Matches(msg, k.Follow):
		m.logBack = 0
	}
	m.logBack = max(min(m.logBack, len(m.log)-1), 0)
}

// wrapNewest wraps the newest log lines into at most room screen lines (continuations indented),
// styled by level, oldest first. Only the lines that can show are wrapped.
func wrapNewest(s *Styles, lines []string, width, room int) []string {
	var out [][]string
	used := 0
	for i := len(lines) - 1; i >= 0 && used < room; i-- {
		text, render := logLineStyle(s, lines[i])
		parts := hangingWrap(text, width)
		if used+len(parts) > room {
			break // a line is shown whole or not at all
		}
		for j := range parts {
			parts[j] = render(fitE(parts[j], width, s.G.Ellipsis))
		}
		out = append(out, parts)
		used += len(parts)
	}
	var res []string
	for i := len(out) - 1; i >= 0; i-- {
		res = append(res, out[i]...)
	}
	return res
}

// hangingWrap wraps a log line with its continuation lines indented by two cells.
func hangingWrap(text string, width int) []string {
	parts := wrap(text, width)
	if len(parts) == 1 || width < 8 || !strings.HasPrefix(text, parts[0]) {
		return parts
	}
	rest := wrap(strings.TrimLeft(text[len(parts[0]):], " "), width-2)
	for i := range rest {
		rest[i] = "  " + rest[i]
	}
	return append(parts[:1], rest...)
}

// renderOutput draws a result panel: the config test's output, or a failure with the error-log
// lines nginx wrote and the way out. The way out is the last line whatever the height: the title
// takes the lines it leaves, cut at a word with an ellipsis when longer, and nginx's newest lines
// what the title leaves.
func renderOutput(s *Styles, t translator, o *output, rollback bool, width, height int) string {
	ell := s.G.Ellipsis
	title := s.PanelTitle
	if o.isErr {
		title = s.ErrorLine
	}
	tail := s.Muted.Render(fitE(t.T("esc closes this panel"), width, ell))
	if o.isErr && rollback {
		tail = s.Warning.Render(fitE(cutWords(t.T("press r to roll back to the old binary")+s.G.Sep+
			t.T("esc closes this panel"), width, ell), width, ell))
	}
	var body []string
	for _, l := range wrapCut(o.title, width, max(height-1, 1), ell) {
		body = append(body, title.Render(fitE(l, width, ell)))
	}
	if height < 2 {
		return body[0] // one line: what happened; the key line names the way out
	}
	short := make([]string, len(o.lines))
	for i, l := range o.lines {
		short[i] = shortLogLine(l)
	}
	body = append(body, wrapNewest(s, short, width, height-len(body)-1)...)
	return strings.Join(append(body, tail), "\n")
}
