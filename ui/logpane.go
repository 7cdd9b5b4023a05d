package ui

import (
	"strings"

	"github.com/hotdeploy/hotdeploy/nginxctl"
)

// logLineStyle picks a line's style by its nginx level; [emerg], [alert] and [crit] stand out.
func logLineStyle(s Styles, line string) (string, func(...string) string) {
	switch nginxctl.LineSeverity(line) {
	case nginxctl.SevCritical:
		if s.Plain {
			return "!! " + line, s.LogCritical.Render
		}
		return line, s.LogCritical.Render
	case nginxctl.SevError:
		return line, s.LogError.Render
	case nginxctl.SevWarn:
		return line, s.LogWarn.Render
	}
	return line, s.LogInfo.Render
}

// shortLogLine drops the date of an nginx log line ("2024/11/21 22:58:06 [notice] ..."): the time
// is enough on a live screen and the width is better spent on the message.
func shortLogLine(line string) string {
	if len(line) > 20 && line[4] == '/' && line[7] == '/' && line[10] == ' ' {
		return line[11:]
	}
	return line
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
	if len(lines) > room {
		lines = lines[len(lines)-room:]
	}
	for _, l := range lines {
		text, render := logLineStyle(s, shortLogLine(l))
		b.WriteString("\n" + render(fit(text, width)))
	}
	return b.String()
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
	room := height - len(body) - len(tail)
	lines := o.lines
	if len(lines) > room {
		lines = lines[len(lines)-max(room, 0):]
	}
	for _, l := range lines {
		text, render := logLineStyle(s, shortLogLine(l))
		body = append(body, render(fit(text, width)))
	}
	body = append(body, tail...)
	b.WriteString(strings.Join(body, "\n"))
	return b.String()
}
