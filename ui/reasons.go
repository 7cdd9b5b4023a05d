package ui

import "github.com/hotdeploy/hotdeploy/model"

// reasonText renders a verdict's reason in the screen's language.
func (m Model) reasonText(v model.Verdict) string {
	return v.Reason
}

// warning renders a verdict's warning in the screen's language.
func (m Model) warning(v model.Verdict) string { return v.Warning }

// planEffect and planIrreversible render a plan's sentences in the screen's language.
func (m Model) planEffect(p model.Plan) string       { return p.Effect }
func (m Model) planIrreversible(p model.Plan) string { return p.Irreversible }

// isModelReason tells whether a catalogue key is one of model's reason formats (reasons.go
// renders them); the catalogue test does not find those in ui's source.
func isModelReason(string) bool { return false }
