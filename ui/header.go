package ui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/hotdeploy/hotdeploy/model"
)

// phaseHint says in a few words what the phase means for the operator.
var phaseHint = map[model.Phase]string{
	model.PhaseIdle:        "one master serves",
	model.PhaseNewStarting: "new master starting",
	model.PhaseBothServing: "old and new both serve",
	model.PhaseOldDraining: "old workers draining",
	model.PhaseOldDrained:  "commit or roll back",
}

// phaseBadge is the phase, prominent: reversed colour, or brackets without colour.
func phaseBadge(s Styles, p model.Phase) string {
	name := strings.ToUpper(p.String())
	if s.Plain {
		return "[ " + name + " ]"
	}
	return s.Phase[p].Render(" " + name + " ")
}

// renderHeader is the instance, binary, version, conf, pid file and phase, in three lines.
func renderHeader(s Styles, in model.Instance, width int) string {
	badge := phaseBadge(s, in.Phase) + " "
	left := s.Title.Render("hotdeploy") + " " + s.Muted.Render(in.Family+" ·") + " " +
		s.Label.Render("pid file ") + s.Value.Render(orDash(in.PidFile))
	hint := s.Muted.Render(phaseHint[in.Phase]) + " "
	room := width - ansi.StringWidth(badge)
	if ansi.StringWidth(left)+ansi.StringWidth(hint)+1 <= room {
		left += spaces(room-ansi.StringWidth(left)-ansi.StringWidth(hint)) + hint
	}
	line1 := padLine(left, room) + badge

	onDisk := s.Muted.Render("on disk: same as running")
	if in.BinaryDiffers {
		onDisk = s.Warning.Render("on disk: new file " + orDash(in.BinaryVersion))
	}
	running := ""
	if len(in.Masters) > 0 {
		running = in.Masters[len(in.Masters)-1].Version
	}
	line2 := s.Label.Render("binary ") + s.Value.Render(orDash(in.Binary)) + " " +
		s.Value.Render(orDash(running)) + "  " + onDisk
	line3 := s.Label.Render("conf ") + s.Value.Render(orDash(in.Conf)) + "  " +
		s.Label.Render("error log ") + s.Value.Render(orDash(in.ErrorLog))
	lines := []string{line1, padLine(line2, width), padLine(line3, width)}
	if len(in.Hidden) > 0 {
		lines = append(lines, padLine(s.Banner.Render(hiddenText(in.Hidden)), width))
	}
	return strings.Join(lines, "\n")
}

// hiddenText explains what permissions hide, and that acting needs root.
func hiddenText(hidden []string) string {
	return fmt.Sprintf("not root: cannot read %s, so the binary, version or paths may be missing; "+
		"actions need root (sudo hotdeploy)", strings.Join(hidden, ", "))
}
