package ui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/lipgloss"

	"github.com/hotdeploy/hotdeploy/model"
)

// confirm is the yes/no dialog in front of every action that changes something. It carries the
// action it confirms and the identity of its target as seen when it opened; the refresh goes on
// behind it, and if the target changed meanwhile the dialog says so and `y` refuses.
type confirm struct {
	action    model.Action
	verdict   model.Verdict
	plan      model.Plan
	candidate string
	target    model.Ref
	title     string
	phase     model.Phase
	stale     string
}

func newConfirm(in model.Instance, v model.Verdict, candidate string) *confirm {
	p := model.Describe(in, v.Action, candidate)
	return &confirm{
		action: v.Action, verdict: v, plan: p, candidate: candidate,
		target: p.Target.Ref(), title: p.Target.Title, phase: in.Phase,
	}
}

// recheck compares the live instance with what the dialog was opened on. Once stale, a dialog
// stays stale: the operator cancels and looks again. The reason is in the screen's language.
func (c *confirm) recheck(t translator, in model.Instance, has bool, v model.Verdict, why func(model.Verdict) string) {
	if c.stale != "" {
		return
	}
	if !has {
		c.stale = t.T("the nginx instance is gone")
		return
	}
	p, found := in.Find(c.target.PID)
	switch {
	case !found:
		c.stale = t.T("pid %d is gone", c.target.PID)
	case p.StartTicks != c.target.StartTicks || p.Role != c.target.Role:
		c.stale = t.T("pid %d is now another process (different start time)", c.target.PID)
	case in.Phase != c.phase:
		c.stale = t.T("the phase changed from %s to %s", c.phase, in.Phase)
	case !v.Allowed:
		c.stale = t.T("no longer allowed: %s", why(v))
	}
}

// dialogWidth is the dialog's width on a screen: the screen's, up to 100 cells.
func dialogWidth(screen int) int { return max(min(screen, 100), 10) }

// view renders the dialog box for a screen width.
func (m Model) dialogView(c *confirm, width int) string {
	s, t := m.styles, m.tr
	w := dialogWidth(width)
	inner := w - s.Dialog.GetHorizontalFrameSize()
	var b strings.Builder
	line := func(st lipgloss.Style, text string) {
		for _, l := range wrap(text, inner) {
			b.WriteString(st.Render(l))
			b.WriteByte('\n')
		}
	}
	head := capitalize(m.title(c.action))
	if c.plan.Signal != "" {
		head = t.T("%s: %s to pid %d", head, c.plan.Signal, c.plan.Target.PID)
	}
	line(s.DialogTitle, head+t.T("?"))
	if c.plan.Target.PID != 0 {
		b.WriteString(s.Muted.Render(cutWords(fmt.Sprintf("pid %d: %s", c.plan.Target.PID, c.title), inner, s.G.Ellipsis)))
		b.WriteByte('\n')
	}
	if c.action == model.ActInstall {
		line(s.Value, t.T("candidate: %s", c.candidate))
	}
	line(s.Value, capitalize(m.planEffect(c.plan)))
	if irr := m.planIrreversible(c.plan); irr != "" {
		line(s.Danger, t.T("Cannot be undone: %s.", irr))
	}
	if c.verdict.Warning != "" {
		line(s.Warning, t.T("Warning: %s.", m.warning(c.verdict)))
	}
	if c.stale != "" {
		line(s.Danger, t.T("Target changed: %s. y refuses now; press n or esc and look again.", c.stale))
	}
	b.WriteString(m.buttons(inner))
	return s.Dialog.Width(w - s.Dialog.GetHorizontalBorderSize()).Render(b.String())
}

// buttons shows No focused: it is what any key but y chooses.
func (m Model) buttons(width int) string {
	s, t := m.styles, m.tr
	no, yes := s.ButtonFocus.Render(" "+t.T("No")+" "), s.Button.Render(" "+t.T("Yes")+" ")
	if s.Plain {
		no, yes = "[ "+t.T("No")+" ]", "  "+t.T("Yes")+" "
	}
	rest := width - lipgloss.Width(no+" "+yes) - 3
	return no + " " + yes + s.Muted.Render("   "+cutWords(t.T("y: yes   n, esc or any other key: no"), rest, s.G.Ellipsis))
}

// yesText is what y does in the footer: it names the action, not a signal it does not send.
func (c *confirm) yesText(t translator) string {
	switch {
	case c.action == model.ActInstall:
		return t.T("yes, install")
	case c.action == model.ActRollback:
		return t.T("yes, roll back")
	case c.plan.Signal != "":
		return t.T("yes, send %s", c.plan.Signal)
	}
	return t.T("yes")
}

// renderDialog is the dialog, or when the body has not the rows for it whole, a notice that says
// so: y refuses then (dialogFits), as the operator could not read what they would confirm.
func (m Model) renderDialog(c *confirm, width, height int) (string, bool) {
	box := m.dialogView(c, width)
	if lipgloss.Height(box) <= height {
		return box, true
	}
	s, t := m.styles, m.tr
	var b []string
	text := t.T("The screen (%dx%d) is too small for the whole %s dialog. Enlarge the window to read it; y refuses until then, n or esc cancels.",
		m.width, m.height, m.title(c.action))
	for _, l := range wrap(text, width) {
		b = append(b, s.Danger.Render(l))
	}
	return strings.Join(b, "\n"), false
}

// dialogFits tells whether the dialog shows whole at the current size.
func (m Model) dialogFits(c *confirm) bool {
	_, ok := m.renderDialog(c, m.width, m.bodyHeight())
	return ok
}

// capitalize starts a sentence with a capital, except a name that is spelt lowercase.
func capitalize(s string) string {
	if s == "" || strings.HasPrefix(s, "nginx") || s[0] >= 0x80 {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
