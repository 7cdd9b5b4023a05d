package ui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/hotdeploy/hotdeploy/model"
)

// phaseHint says in a few words what the phase means for the operator.
var phaseHint = map[model.Phase]string{
	model.PhaseIdle:        N("one master serves"),
	model.PhaseNewStarting: N("new master starting"),
	model.PhaseBothServing: N("old and new both serve"),
	model.PhaseOldDraining: N("old workers draining"),
	model.PhaseOldDrained:  N("old drained: commit or roll back"),
}

// phaseBadge is the phase, prominent: reversed colour, or brackets without colour.
func phaseBadge(s *Styles, p model.Phase) string {
	name := strings.ToUpper(p.String())
	if s.Plain {
		return "[ " + name + " ]"
	}
	return s.Phase[p].Render(" " + name + " ")
}

// field is a label and a value on a header line; paths give way first when space is short.
type field struct {
	label, value string
	path         bool
	style        lipgloss.Style
}

// fieldLine joins fields with two spaces, shortening the longest paths from the left (the file
// name matters more than the directories above it) until the line fits; what still does not fit
// is left out whole.
func fieldLine(s *Styles, width int, fs []field) string {
	total := func() int {
		n := 2 * (len(fs) - 1)
		for _, f := range fs {
			n += cellWidth(f.label) + cellWidth(f.value)
			if f.label != "" {
				n++
			}
		}
		return n
	}
	for over := total() - width; over > 0; over = total() - width {
		longest := -1
		for i, f := range fs {
			if f.path && (longest < 0 || len(f.value) > len(fs[longest].value)) {
				longest = i
			}
		}
		if longest < 0 || cellWidth(fs[longest].value) <= 16 {
			break
		}
		n := cellWidth(fs[longest].value)
		fs[longest].value = shortenPath(fs[longest].value, max(n-over, 16), s.G.Ellipsis)
	}
	segs := make([]seg, 0, len(fs))
	for _, f := range fs {
		if f.label != "" {
			segs = append(segs, seg{text: f.label + " " + f.value, st: f.style, label: len(f.label), lst: s.Label})
			continue
		}
		segs = append(segs, seg{text: f.value, st: f.style})
	}
	return padLine(fitSegs(segs, "  ", width, s.G.Ellipsis), width, s.G.Ellipsis)
}

// shortenPath keeps the end of a path in n cells, cut at a directory boundary when one is near:
// "/tmp/x/conf/nginx.conf" becomes "…/conf/nginx.conf", ell marking the cut.
func shortenPath(p string, n int, ell string) string {
	r := []rune(p)
	if len(r) <= n || n < 2 {
		return p
	}
	tail := string(r[len(r)-n+1:])
	if i := strings.IndexByte(tail, '/'); i > 0 && len(tail)-i >= n/2 {
		tail = tail[i:]
	}
	return ell + tail
}

// headerPanel is renderHeader of the model's instance, kept from the last frame when every field
// it reads is the same (headerKey).
func (m Model) headerPanel(width int) string {
	key := headerKey(m.tr, m.styles, m.inst, width)
	if m.memo != nil && m.memo.headerKey == key {
		return m.memo.header
	}
	out := renderHeader(m.styles, m.tr, m.inst, width)
	if m.memo != nil {
		m.memo.headerKey, m.memo.header = key, out
	}
	return out
}

// headerKey names everything renderHeader draws from: a field it reads must be named here too,
// or its change would not show until another one's did (TestHeaderKeyNamesWhatTheHeaderShows).
func headerKey(t translator, s *Styles, in model.Instance, width int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %t %q %d|%d %q|%t %t %q %q|%q %q %q %q|", t.lang, s.Plain, s.G.Sep, width,
		in.Phase, in.Family, in.BinarySameBytes, in.BinaryDiffers, in.BinaryVersion, in.Hidden,
		in.PidFile, in.Conf, in.ErrorLog, in.Binary)
	for _, m := range in.Masters {
		fmt.Fprintf(&b, "%q ", m.Version)
	}
	if in.Systemd != nil {
		fmt.Fprintf(&b, "|%+v", *in.Systemd)
	}
	fmt.Fprintf(&b, "|%q %+v", in.Supervisor, in.SupervisorWhy)
	return b.String()
}

// renderHeader is the phase, the instance's files, and the binary with its version, then who
// supervises the master (the instance's warnings go below it: see warningLines).
func renderHeader(s *Styles, t translator, in model.Instance, width int) string {
	badge := phaseBadge(s, in.Phase)
	sep := s.G.Sep
	left := fitSegs([]seg{{text: "hotdeploy", st: s.Title}, {text: "  " + in.Family + sep + t.T(phaseHint[in.Phase]), st: s.Muted}},
		"", width-ansi.StringWidth(badge)-1, s.G.Ellipsis)
	room := width - ansi.StringWidth(badge) - 1
	line1 := padLine(left, room, s.G.Ellipsis) + " " + badge

	running := ""
	switch len(in.Masters) {
	case 1:
		running = t.T("runs %s", shortVersion(in.Masters[0].Version))
	case 2:
		running = t.T("old %s", shortVersion(in.Masters[0].Version)) + sep + t.T("new %s", shortVersion(in.Masters[1].Version))
	}
	onDisk := field{value: t.T("on disk: the running file"), style: s.Muted}
	switch {
	case in.BinarySameBytes:
		onDisk = field{value: t.T("on disk: the running build"), style: s.Muted}
	case in.BinaryDiffers:
		onDisk = field{value: t.T("on disk: new file %s", shortVersion(in.BinaryVersion)), style: s.Warning}
	case len(in.Hidden) > 0:
		onDisk = field{value: t.T("on disk: unknown (not root)"), style: s.Muted}
	}
	line2 := fieldLine(s, width, []field{
		{label: t.T("pid file"), value: orDash(in.PidFile), path: true, style: s.Value},
		{label: t.T("conf"), value: orDash(in.Conf), path: true, style: s.Value},
		{label: t.T("error log"), value: orDash(in.ErrorLog), path: true, style: s.Value},
	})
	line3 := fieldLine(s, width, []field{
		{label: t.T("binary"), value: orDash(in.Binary), path: true, style: s.Value},
		{value: running, style: s.Value},
		onDisk,
	})
	lines := []string{line1, line2, line3}
	if l := supervisionLine(s, t, in, width); l != "" {
		lines = append(lines, l)
	}
	if len(in.Hidden) > 0 {
		for _, l := range wrap(hiddenText(t, in.Hidden), width) {
			lines = append(lines, s.Banner.Render(l))
		}
	}
	return strings.Join(lines, "\n")
}

// shortVersion drops the family from "nginx/1.26.2": the header names the family already.
func shortVersion(v string) string {
	if _, after, ok := strings.Cut(v, "/"); ok {
		return after
	}
	return orDash(v)
}

// hiddenText explains what permissions hide, and that acting needs root.
func hiddenText(t translator, hidden []string) string {
	return t.T("not root: cannot read %s, so the binary, its version or paths may be missing; "+
		"actions need root (sudo hotdeploy)", strings.Join(hidden, ", "))
}

// supervisionLine names who supervises the master: systemd's unit with its MainPID and whether
// that is the master it should be, or another supervisor; "" when none is known.
func supervisionLine(s *Styles, t translator, in model.Instance, width int) string {
	switch u := in.Systemd; {
	case u != nil:
		ok := field{value: t.T("MainPID %d ok", u.MainPID), style: s.Muted}
		if !u.MainPIDOK {
			ok = field{value: t.T("MainPID %d NOT the master it should be", u.MainPID), style: s.Warning}
		}
		return fieldLine(s, width, []field{
			{label: "systemd", value: u.Unit + " " + u.ActiveState, style: s.Value},
			ok,
			{label: "PIDFile", value: orDash(u.PIDFile), path: true, style: s.Value},
		})
	case in.Supervisor != "":
		return fieldLine(s, width, []field{{label: t.T("supervised by"), value: t.say(in.SupervisorWhy, in.Supervisor), style: s.Value}})
	}
	return ""
}

// warningLines are the instance's warnings (a stale or missing pid file, systemd tracking the
// wrong master), one line each, cut at a word: the header is no place to wrap, and the start
// says what is wrong (`hotdeploy status` prints them whole). At most limit lines; when there are
// more warnings than that, the last line says how many are left out.
func warningLines(s *Styles, t translator, in model.Instance, width, limit int) []string {
	if len(in.Warnings) == 0 || limit <= 0 {
		return nil
	}
	label := t.T("warning")
	says := model.ReasonsOf(in.Warnings, in.WarningsWhy)
	var out []string
	for i, w := range in.Warnings {
		room, more := width-cellWidth(label)-1, ""
		if len(out) == limit-1 && len(in.Warnings) > limit {
			more = t.T(" (+%d more)", len(in.Warnings)-i-1)
			room -= cellWidth(more)
		}
		text := cutWords(t.say(says[i], w), max(room, 1), s.G.Ellipsis) + more
		out = append(out, padLine(seg{text: label + " " + text, st: s.Warning, label: len(label), lst: s.Warning.Bold(true)}.render(), width, s.G.Ellipsis))
		if len(out) == limit {
			break
		}
	}
	return out
}
