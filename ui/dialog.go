package ui

import (
	"fmt"
	"strings"

	"github.com/hotdeploy/hotdeploy/model"
)

// confirm is the yes/no dialog in front of every action that changes something. It carries the
// action it confirms and the identity of its target as seen when it opened; the refresh goes on
// behind it, and if the target changed meanwhile the dialog says so and `y` refuses.
type confirm struct {
	action    model.Action
	plan      model.Plan
	warning   string
	candidate string
	target    model.Ref
	title     string
	phase     model.Phase
	stale     string
}

func newConfirm(in model.Instance, v model.Verdict, candidate string) *confirm {
	p := model.Describe(in, v.Action, candidate)
	return &confirm{
		action: v.Action, plan: p, warning: v.Warning, candidate: candidate,
		target: p.Target.Ref(), title: p.Target.Title, phase: in.Phase,
	}
}

// recheck compares the live instance with what the dialog was opened on. Once stale, a dialog
// stays stale: the operator cancels and looks again.
func (c *confirm) recheck(in model.Instance, has bool, v model.Verdict) {
	if c.stale != "" {
		return
	}
	if !has {
		c.stale = "the nginx instance is gone"
		return
	}
	p, found := in.Find(c.target.PID)
	switch {
	case !found:
		c.stale = fmt.Sprintf("pid %d is gone", c.target.PID)
	case p.StartTicks != c.target.StartTicks || p.Role != c.target.Role:
		c.stale = fmt.Sprintf("pid %d is now another process (different start time)", c.target.PID)
	case in.Phase != c.phase:
		c.stale = fmt.Sprintf("the phase changed from %s to %s", c.phase, in.Phase)
	case !v.Allowed:
		c.stale = "no longer allowed: " + v.Reason
	}
}

// view renders the dialog box for a screen width.
func (c *confirm) view(s Styles, width int) string {
	w := min(width-2, 78)
	inner := w - s.Dialog.GetHorizontalFrameSize()
	var b strings.Builder
	line := func(st interface{ Render(...string) string }, text string) {
		for _, l := range wrap(text, inner) {
			b.WriteString(st.Render(l))
			b.WriteByte('\n')
		}
	}
	head := capitalize(c.action.Title())
	if c.plan.Signal != "" {
		head += fmt.Sprintf(": %s to pid %d", c.plan.Signal, c.plan.Target.PID)
	}
	line(s.DialogTitle, head+"?")
	if c.plan.Target.PID != 0 {
		b.WriteString(s.Muted.Render(truncate(fmt.Sprintf("pid %d: %s", c.plan.Target.PID, c.title), inner)))
		b.WriteByte('\n')
	}
	if c.action == model.ActInstall {
		line(s.Value, "candidate: "+c.candidate)
	}
	line(s.Value, capitalize(c.plan.Effect))
	if c.plan.Irreversible != "" {
		line(s.Danger, "Cannot be undone: "+c.plan.Irreversible+".")
	}
	if c.warning != "" {
		line(s.Warning, "Warning: "+c.warning+".")
	}
	if c.stale != "" {
		line(s.Danger, "Target changed: "+c.stale+". y refuses now; press n or esc and look again.")
	}
	b.WriteString(c.buttons(s))
	return s.Dialog.Width(w - s.Dialog.GetHorizontalBorderSize()).Render(b.String())
}

// buttons shows No focused: it is what any key but y chooses.
func (c *confirm) buttons(s Styles) string {
	no, yes := s.ButtonFocus.Render(" No "), s.Button.Render(" Yes ")
	if s.Plain {
		no, yes = "[ No ]", "  Yes "
	}
	return no + " " + yes + s.Muted.Render("   y: yes   n, esc or any other key: no")
}

// capitalize starts a sentence with a capital, except a name that is spelt lowercase.
func capitalize(s string) string {
	if s == "" || strings.HasPrefix(s, "nginx") {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
