package ui

import "github.com/hotdeploy/hotdeploy/model"

// Reasons built in model (refusals, warnings, what a dialog's action will do) come as a code and
// its arguments beside the English sentence: the code is the English format, the catalogue's key,
// so the screen says them in its language; one without a code (from nginxctl) shows as it is.

// say renders a model.Reason, or the English text when it has no code.
func (m Model) say(r model.Reason, english string) string {
	if r.Code == "" {
		return english
	}
	return m.tr.T(r.Code, r.Args...)
}

// reasonText renders a verdict's reason in the screen's language.
func (m Model) reasonText(v model.Verdict) string { return m.say(v.Why, v.Reason) }

// warning renders a verdict's warning in the screen's language.
func (m Model) warning(v model.Verdict) string { return m.say(v.WarningWhy, v.Warning) }

// planEffect and planIrreversible render a plan's sentences in the screen's language.
func (m Model) planEffect(p model.Plan) string       { return m.say(p.EffectWhy, p.Effect) }
func (m Model) planIrreversible(p model.Plan) string { return m.say(p.IrreversibleWhy, p.Irreversible) }

// refusal is a verdict the dashboard itself refuses with (not model), with its code.
func refusal(a model.Action, format string, args ...any) model.Verdict {
	why := model.Reason{Code: format, Args: args}
	return model.Verdict{Action: a, Reason: why.String(), Why: why}
}
