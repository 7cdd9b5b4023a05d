package ui

import (
	"io/fs"
	"strings"

	"github.com/hotdeploy/hotdeploy/assets"
	"github.com/hotdeploy/hotdeploy/model"
)

// The guided demo explains the step about to happen and the one just done, in texts kept in
// assets/narration: <action>.before.txt and <action>.after.txt for each step (install, test,
// upgrade, drain, commit, rollback), and <phase>.txt for a phase that waits on nginx rather
// than on the operator (new-starting, old-draining) or when nothing was done yet (idle).

// assetNarration reads a narration text from the embedded assets.
func assetNarration(key string) (string, bool) {
	b, err := fs.ReadFile(assets.FS, "narration/"+key+".txt")
	if err != nil {
		return "", false
	}
	return strings.Join(strings.Fields(string(b)), " "), true
}

// nextStep is the step the operator would take next in a phase, if the phase waits on them.
func nextStep(in model.Instance) (model.Action, bool) {
	switch in.Phase {
	case model.PhaseIdle:
		if in.BinaryDiffers {
			return model.ActUpgrade, true
		}
		return model.ActInstall, true
	case model.PhaseBothServing:
		return model.ActDrain, true
	case model.PhaseOldDrained:
		return model.ActCommit, true
	}
	return 0, false
}

// narrationKeys picks the texts for the live state: what was just done (the last step that
// finished here, or what the phase proves was done, after a restart) and what comes next.
func (m Model) narrationKeys() (done, next string) {
	in := m.inst
	if a, ok := nextStep(in); ok {
		next = a.String() + ".before"
	} else {
		next = in.Phase.String()
	}
	var last *stepRecord
	for _, a := range model.Actions {
		if r := m.record.rec(a); r != nil && !r.end.IsZero() && r.err == nil && (last == nil || r.end.After(last.end)) {
			last, done = r, a.String()+".after"
		}
	}
	if last != nil {
		return done, next
	}
	switch in.Phase {
	case model.PhaseBothServing:
		done = "upgrade.after"
	case model.PhaseOldDrained:
		done = "drain.after"
	case model.PhaseIdle:
		if in.BinaryDiffers {
			done = "install.after"
		} else {
			done = "idle"
		}
	}
	if done == next {
		done = ""
	}
	return done, next
}

// renderNarration is the guide panel in width x height cells: the step just done, then the one
// about to happen; when both do not fit, the one about to happen.
func (m Model) renderNarration(width, height int) []string {
	s := m.styles
	title := s.PanelTitle.Render("GUIDE") + s.Muted.Render("  g hides it")
	done, next := m.narrationKeys()
	block := func(label, key string) []string {
		text, ok := m.deps.Narration(key)
		if !ok {
			text = "(no text " + key + ".txt in assets/narration)"
		}
		var out []string
		for i, l := range wrap(label+text, width) {
			st := s.Value
			if i == 0 {
				st = s.Title
			}
			out = append(out, st.Render(fit(l, width)))
		}
		return out
	}
	nextLines := block("Next: ", next)
	if !strings.HasSuffix(next, ".before") {
		nextLines = block("Now: ", next)
	}
	var lines []string
	if len(nextLines) < height {
		lines = append(lines, title) // the title goes first when room is short
	}
	if done != "" {
		if d := block("Just done: ", done); len(lines)+len(d)+len(nextLines) <= height {
			lines = append(lines, d...)
		}
	}
	lines = append(lines, nextLines...)
	if len(lines) > height && height > 0 {
		lines = lines[:height]
		lines[height-1] = truncate(lines[height-1], width-1) + "…"
	}
	return lines
}
