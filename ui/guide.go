package ui

import (
	"github.com/hotdeploy/hotdeploy/assets"
	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/upgrade"
)

// The guided demo explains the step about to happen and the one just done, in texts kept in
// assets/narration (assets/narration.go says which), each with a short form for small screens.

// Narration is one text of the guide: a one-sentence short form and the long form.
type Narration = assets.Text

// narrationIn reads the guide's texts in a language from the embedded assets.
func narrationIn(l Lang) func(key string) (Narration, bool) {
	return func(key string) (Narration, bool) { return assets.NarrationIn(string(l), key) }
}

// nextStep is the step the operator would take next in a phase, if the phase waits on them.
func (m Model) nextStep() (model.Action, bool) {
	in := m.inst
	switch in.Phase {
	case model.PhaseIdle:
		if len(in.Orphans) > 0 {
			return model.ActRollback, true // it ends them; nothing starts beside them
		}
		if m.verdict(model.ActUpgrade).Allowed {
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
// finished here, the upgrade that just ended, or what the phase proves was done, after a
// restart) and what comes next. Before anything was done, a demo scenario says what it rehearses.
func (m Model) narrationKeys() (done, next string) {
	in := m.inst
	if a, ok := m.nextStep(); ok {
		next = a.String() + ".before"
		if len(in.Orphans) > 0 && in.Phase == model.PhaseIdle {
			next = "orphans.before"
		}
	} else {
		next = in.Phase.String()
	}
	if r, a := m.record.last(); r != nil {
		key := a.String() + ".after"
		switch {
		case r.err != nil && upgrade.IsRefused(r.err) && (a == model.ActUpgrade || a == model.ActTest):
			key = "test.failed" // the preflight's config test refused it
		case r.err != nil:
			key = a.String() + ".failed"
		}
		if _, ok := m.deps.Narration(key); !ok {
			key = ""
		}
		return key, next
	}
	if m.ended != nil {
		return m.ended.action.String() + ".after", next
	}
	if m.scenario != "" {
		return "scenario-" + m.scenario, next
	}
	switch {
	case in.Phase == model.PhaseBothServing:
		done = "upgrade.after"
	case in.Phase == model.PhaseOldDrained:
		done = "drain.after"
	case next == "orphans.before":
		done = "" // "one master serves" would leave out what else does
	case in.Phase == model.PhaseIdle && next == "upgrade.before":
		done = "install.after"
	case in.Phase == model.PhaseIdle:
		done = "idle"
	}
	if done == next {
		done = ""
	}
	return done, next
}

// guideLabel is what a text is introduced with.
func (m Model) guideLabel(key string) string {
	switch {
	case len(key) > 9 && key[:9] == "scenario-":
		return ""
	case hasSuffix(key, ".before"):
		return m.tr.T("Next: ")
	case hasSuffix(key, ".after"):
		return m.tr.T("Just done: ")
	case hasSuffix(key, ".failed"):
		return m.tr.T("Failed: ")
	case key == "idle":
		return m.tr.T("Now: ")
	}
	return m.tr.T("Now: ")
}

func hasSuffix(s, suf string) bool { return len(s) >= len(suf) && s[len(s)-len(suf):] == suf }

// renderGuide is the guide panel in width x height cells: the step just done, then the one
// about to happen. It takes the long forms when they fit, else the short form of what was done,
// then of both, then only what comes next; the title goes first when room is short.
func (m Model) renderGuide(width, height int) []string {
	s, t := m.styles, m.tr
	title := s.PanelTitle.Render(t.T("GUIDE")) + s.Muted.Render("  "+t.T("g hides it"))
	done, next := m.narrationKeys()
	// A block's first line is bold: it carries the label.
	plain := func(key string, short bool) []string {
		if key == "" {
			return nil
		}
		n, ok := m.deps.Narration(key)
		text := n.Long
		if short && n.Short != "" {
			text = n.Short
		}
		if !ok {
			text = "(assets/narration: " + key + ".txt)"
		}
		return wrap(m.guideLabel(key)+text, width)
	}
	styled := func(out []string) []string {
		for i := range out {
			if i == 0 {
				out[i] = s.Title.Render(out[i])
			} else {
				out[i] = s.Value.Render(out[i])
			}
		}
		return out
	}
	forms := [][2]bool{{false, false}, {true, false}, {true, true}}
	for _, withTitle := range []bool{true, false} {
		for _, f := range forms {
			var lines []string
			if withTitle {
				lines = append(lines, title)
			}
			lines = append(append(lines, styled(plain(done, f[0]))...), styled(plain(next, f[1]))...)
			if len(lines) <= height {
				return lines
			}
		}
	}
	// Not even the short form of what comes next fits: its first lines, and a mark that more
	// was cut.
	lines := plain(next, true)
	if len(lines) > height && height > 0 {
		last := cutWords(lines[height-1]+" "+lines[height], width, s.G.Ellipsis)
		lines = append(lines[:height-1], last)
	}
	return styled(lines)
}
