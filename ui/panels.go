package ui

import (
	"fmt"

	"github.com/charmbracelet/lipgloss"

	"github.com/hotdeploy/hotdeploy/model"
)

// renderPanels puts the step list beside the error log (or a result panel) in w x h cells. On
// a narrow screen a result panel takes the place of the step list: it is what went wrong.
func (m Model) renderPanels(w, h int) string {
	sw := stepsWidth(w)
	rightW := w - sw - 2
	if rightW < 24 {
		if m.output != nil {
			return renderOutput(m.styles, m.tr, m.output, m.verdict(model.ActRollback).Allowed, w, h)
		}
		return renderSteps(m.styles, m.tr, m.steps(), w, h)
	}
	steps := m.stepsPanel(sw, h)
	right := m.renderRight(rightW, h)
	key := fmt.Sprintf("%d %d %d %q\x00", sw, rightW, h, m.styles.G.Ellipsis) + steps + "\x00" + right
	if m.memo != nil && m.memo.panelsKey == key {
		return m.memo.panels
	}
	ell := m.styles.G.Ellipsis
	out := lipgloss.JoinHorizontal(lipgloss.Top, fitBlock(steps, sw, h, ell), "  ", fitBlock(right, rightW, h, ell))
	if m.memo != nil {
		m.memo.panelsKey, m.memo.panels = key, out
	}
	return out
}

// stepsPanel is renderSteps of the model's steps, kept from the last frame when they are the
// same (each line says all it shows: a running step's time is in its detail).
func (m Model) stepsPanel(width, height int) string {
	steps := m.steps()
	key := fmt.Sprintf("%s %t %d %d %+v", m.tr.lang, m.styles.Plain, width, height, steps)
	if m.memo != nil && m.memo.stepsKey == key {
		return m.memo.steps
	}
	out := renderSteps(m.styles, m.tr, steps, width, height)
	if m.memo != nil {
		m.memo.stepsKey, m.memo.steps = key, out
	}
	return out
}
