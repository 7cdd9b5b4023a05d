package ui

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/hotdeploy/hotdeploy/model"
)

// phaseHint says in a few words what the phase means for the operator.
var phaseHint = map[model.Phase]string{
	model.PhaseIdle:        "one master serves",
	model.PhaseNewStarting: "new master starting",
	model.PhaseBothServing: "old and new both serve",
	model.PhaseOldDraining: "old workers draining",
	model.PhaseOldDrained:  "old drained: commit or roll back",
}

// phaseBadge is the phase, prominent: reversed colour, or brackets without colour.
func phaseBadge(s Styles, p model.Phase) string {
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
// name matters more than the directories above it) until the line fits.
func fieldLine(s Styles, width int, fs []field) string {
	total := func() int {
		n := 2 * (len(fs) - 1)
		for _, f := range fs {
			n += utf8.RuneCountInString(f.label) + utf8.RuneCountInString(f.value)
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
		if longest < 0 || utf8.RuneCountInString(fs[longest].value) <= 16 {
			break
		}
		n := utf8.RuneCountInString(fs[longest].value)
		fs[longest].value = shortenPath(fs[longest].value, max(n-over, 16))
	}
	parts := make([]string, 0, len(fs))
	for _, f := range fs {
		p := f.style.Render(f.value)
		if f.label != "" {
			p = s.Label.Render(f.label) + " " + p
		}
		parts = append(parts, p)
	}
	return padLine(strings.Join(parts, "  "), width)
}

// shortenPath keeps the end of a path in n runes, cut at a directory boundary when one is near:
// "/tmp/x/conf/nginx.conf" becomes "…/conf/nginx.conf".
func shortenPath(p string, n int) string {
	r := []rune(p)
	if len(r) <= n {
		return p
	}
	tail := string(r[len(r)-n+1:])
	if i := strings.IndexByte(tail, '/'); i > 0 && len(tail)-i >= n/2 {
		tail = tail[i:]
	}
	return "…" + tail
}

// renderHeader is the phase, the instance's files, and the binary with its version.
func renderHeader(s Styles, in model.Instance, width int) string {
	badge := phaseBadge(s, in.Phase)
	left := s.Title.Render("hotdeploy") + "  " + s.Muted.Render(in.Family+" · "+phaseHint[in.Phase])
	room := width - ansi.StringWidth(badge) - 1
	line1 := padLine(left, room) + " " + badge

	running := ""
	switch len(in.Masters) {
	case 1:
		running = "runs " + shortVersion(in.Masters[0].Version)
	case 2:
		running = "old " + shortVersion(in.Masters[0].Version) + " · new " + shortVersion(in.Masters[1].Version)
	}
	onDisk := field{value: "on disk: the running file", style: s.Muted}
	switch {
	case in.BinarySameBytes:
		onDisk = field{value: "on disk: a copy of the running build", style: s.Muted}
	case in.BinaryDiffers:
		onDisk = field{value: "on disk: new file " + shortVersion(in.BinaryVersion), style: s.Warning}
	case len(in.Hidden) > 0:
		onDisk = field{value: "on disk: unknown (not root)", style: s.Muted}
	}
	line2 := fieldLine(s, width, []field{
		{label: "pid file", value: orDash(in.PidFile), path: true, style: s.Value},
		{label: "conf", value: orDash(in.Conf), path: true, style: s.Value},
		{label: "error log", value: orDash(in.ErrorLog), path: true, style: s.Value},
	})
	line3 := fieldLine(s, width, []field{
		{label: "binary", value: orDash(in.Binary), path: true, style: s.Value},
		{value: running, style: s.Value},
		onDisk,
	})
	lines := []string{line1, line2, line3}
	if len(in.Hidden) > 0 {
		for _, l := range wrap(hiddenText(in.Hidden), width) {
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
func hiddenText(hidden []string) string {
	return fmt.Sprintf("not root: cannot read %s, so the binary, its version or paths may be missing; "+
		"actions need root (sudo hotdeploy)", strings.Join(hidden, ", "))
}
