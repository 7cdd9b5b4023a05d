package ui

import (
	"strings"

	"github.com/hotdeploy/hotdeploy/nginxctl/inspect"
)

// logLineStyle picks a line's style by its nginx level; [emerg], [alert] and [crit] stand out.
func logLineStyle(s Styles, line string) (string, func(...string) string) {
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

// renderLog draws the newest lines of the error log in width x height cells.
func renderLog(s Styles, path string, lines []string, width, height int) string {
	var b strings.Builder
	b.WriteString(truncate(s.PanelTitle.Render("ERROR LOG ")+s.Muted.Render(path), width))
	room := height - 1
	if len(lines) == 0 && room > 0 {
		b.WriteString("\n" + s.Muted.Render(fit("(nothing new since the dashboard started)", width)))
		return b.String()
	}
	for _, l := range wrapNewest(s, lines, width, room) {
		b.WriteString("\n" + l)
	}
	return b.String()
}

// wrapNewest wraps the newest log lines into at most room screen lines (continuations indented),
// styled by level, oldest first. Only the lines that can show are wrapped.
func wrapNewest(s Styles, lines []string, width, room int) []string {
	var out [][]string
	used := 0
	for i := len(lines) - 1; i >= 0 && used < room; i-- {
		text, render := logLineStyle(s, lines[i])
		parts := hangingWrap(text, width)
		if used+len(parts) > room {
			break // a line is shown whole or not at all
		}
		for j := range parts {
			parts[j] = render(fit(parts[j], width))
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
// lines nginx wrote and the way out.
func renderOutput(s Styles, o *output, rollback bool, width, height int) string {
	var b strings.Builder
	title := s.PanelTitle
	if o.isErr {
		title = s.ErrorLine
	}
	var body []string
	for _, t := range wrap(o.title, width) {
		body = append(body, title.Render(fit(t, width)))
	}
	tail := []string{s.Muted.Render(fit("esc closes this panel", width))}
	if o.isErr && rollback {
		tail = []string{s.Warning.Render(fit("press r to roll back to the old binary · esc closes this panel", width))}
	}
	short := make([]string, len(o.lines))
	for i, l := range o.lines {
		short[i] = shortLogLine(l)
	}
	body = append(body, wrapNewest(s, short, width, height-len(body)-len(tail))...)
	body = append(body, tail...)
	b.WriteString(strings.Join(body, "\n"))
	return b.String()
}
