package ui

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/upgrade"
)

// stepDoneMsg carries the result of a step the operator started.
type stepDoneMsg struct {
	action model.Action
	res    StepResult
}

// Update routes messages: refresh results and step results first, then keys by mode.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.help.Width = msg.Width
		m.input.Width = max(msg.Width-len(m.input.Prompt)-2, 10)
		return m, nil
	case scanMsg:
		// A read that started before a kick may predate the step's effect: only its log
		// lines are kept.
		if msg.seq == m.loop {
			m.applyScan(msg.snap, msg.err)
			m.applyExtras(msg.extras)
		}
		m.appendLog(msg.path, msg.lines)
		return m, m.rearm(msg.seq)
	case refreshMsg:
		if msg.seq == m.loop {
			m.applyRefresh(msg)
			m.applyExtras(msg.extras)
		}
		m.appendLog(msg.path, msg.lines)
		return m, m.rearm(msg.seq)
	case stepDoneMsg:
		m = m.onStepDone(msg)
		return m, m.kick()
	case candidateMsg:
		return m.onCandidate(msg)
	case heldMsg:
		return m.onHeld(msg), nil
	case releasedMsg:
		return m, nil
	case tea.KeyMsg:
		return m.onKey(msg)
	}
	if m.mode == modeInput {
		return m.updateInput(msg)
	}
	return m, nil
}

// onKey clears the last message (it lasts until the next key) and dispatches by mode.
func (m Model) onKey(msg tea.KeyMsg) (tea.Model, tea.Cmd) {
	m.flash = nil
	if msg.Type == tea.KeyCtrlC {
		return m.quit()
	}
	switch m.mode {
	case modeConfirm:
		return m.updateConfirm(msg)
	case modeInput:
		return m.updateInput(msg)
	case modePicker:
		if key.Matches(msg, m.keys.Quit) {
			return m.quit()
		}
		return m.updatePicker(msg)
	case modeHelp:
		switch {
		case key.Matches(msg, m.keys.Quit):
			return m.quit()
		case key.Matches(msg, m.keys.Close, m.keys.Help):
			m.mode = modeNormal
		}
		return m, nil
	}
	switch {
	case key.Matches(msg, m.keys.Quit):
		return m.quit()
	case key.Matches(msg, m.keys.Help):
		m.mode = modeHelp
	case key.Matches(msg, m.keys.Pick):
		m.mode = modePicker
	case key.Matches(msg, m.keys.Close):
		m.output = nil
	case key.Matches(msg, m.keys.Rescan):
		// A full discovery scan now rather than in a few seconds: an instance started or
		// stopped meanwhile shows up at once.
		m.scanDue = true
		m.flash = &flash{text: "rescanning the host"}
		return m, m.kick()
	case slices.Contains(m.keys.Hold.Keys(), msg.String()):
		return m.onHold()
	case key.Matches(msg, m.keys.Narrate):
		m.narrate = !m.narrate
	default:
		if a, ok := m.keys.actionFor(msg.String()); ok {
			return m.onAction(a)
		}
	}
	return m, nil
}

// quit leaves nginx as it is; a step still waiting for its effect stops waiting.
func (m Model) quit() (tea.Model, tea.Cmd) {
	if m.busy != nil {
		m.busy.cancel()
	}
	m.releaseDriver()
	return m, tea.Quit
}

// onAction answers an action key: the reason when it is not allowed now, else the path input
// (install), the config test at once (it signals nothing), or a confirmation dialog.
func (m Model) onAction(a model.Action) (tea.Model, tea.Cmd) {
	v := m.verdict(a)
	if !v.Allowed {
		m.flash = &flash{text: fmt.Sprintf("%s: %s", a.Title(), v.Reason), isErr: true}
		return m, nil
	}
	m.output = nil
	switch a {
	case model.ActInstall:
		return m.openInput()
	case model.ActTest:
		return m.startStep(a, m.candidate)
	}
	m.dialog, m.mode = newConfirm(m.inst, v, m.candidate), modeConfirm
	return m, nil
}

// updateConfirm: y runs the action if its target is unchanged; any other key cancels.
func (m Model) updateConfirm(msg tea.KeyMsg) (tea.Model, tea.Cmd) {
	d := m.dialog
	m.dialog, m.mode = nil, modeNormal
	if d == nil {
		return m, nil
	}
	if !key.Matches(msg, m.keys.Confirm) {
		m.flash = &flash{text: fmt.Sprintf("%s cancelled: nothing was sent", d.action.Title())}
		return m, nil
	}
	if d.stale != "" {
		m.flash = &flash{text: fmt.Sprintf("%s refused: %s; nothing was sent", d.action.Title(), d.stale), isErr: true}
		return m, nil
	}
	if v := m.verdict(d.action); !v.Allowed {
		m.flash = &flash{text: fmt.Sprintf("%s refused: %s; nothing was sent", d.action.Title(), v.Reason), isErr: true}
		return m, nil
	}
	return m.startStep(d.action, d.candidate)
}

// startStep runs one step off the UI goroutine; the refresh goes on meanwhile.
func (m Model) startStep(a model.Action, candidate string) (tea.Model, tea.Cmd) {
	if m.deps.Actor == nil {
		m.flash = &flash{text: m.deps.ActorErr, isErr: true}
		return m, nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	m.busy = &running{action: a, cancel: cancel}
	m.now = m.deps.Clock.Now()
	m.record.begin(a, m.now)
	m.syncKeys()
	actor, in := m.deps.Actor, m.inst
	return m, func() tea.Msg {
		return stepDoneMsg{action: a, res: actor.Do(ctx, a, in, candidate)}
	}
}

// onStepDone shows what a step did: a short notice, the config test's output, or a failure with
// the error-log lines and the way back.
func (m Model) onStepDone(msg stepDoneMsg) Model {
	m.now = m.deps.Clock.Now()
	if m.busy != nil {
		m.busy.cancel()
	}
	m.busy = nil
	err := msg.res.Err
	m.record.end(msg.action, m.now, err)
	if msg.action == model.ActCommit && err != nil && !upgrade.IsRefused(err) && m.hasInst {
		m.quitSent = m.inst.Masters[0].PID // the old master got SIGQUIT: no way back to it
	}
	switch {
	case err != nil:
		lines := msg.res.Lines
		var se *upgrade.StepError
		if errors.As(err, &se) && len(se.Log) > 0 {
			lines = append(append([]string(nil), lines...), se.Log...)
		}
		m.output = &output{title: err.Error(), lines: lines, isErr: true}
	case msg.action == model.ActTest:
		m.output = &output{title: "config test passed", lines: msg.res.Lines}
	default:
		text := msg.action.Title() + " done"
		if n := len(msg.res.Lines); n > 0 {
			text = msg.res.Lines[n-1]
		}
		m.flash = &flash{text: text}
	}
	m.afterChange()
	return m
}
