package ui

import (
	"context"
	"errors"
	"slices"
	"time"

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
		m.input.Width = max(msg.Width-cellWidth(m.input.Prompt)-2, 10)
		return m, nil
	case scanMsg:
		// A read that started before a kick may predate the step's effect: only its log
		// lines are kept.
		if msg.seq == m.loop {
			m.fullAt = time.Now()
			m.applyScan(msg.snap, msg.err)
			m.applyExtras(msg.extras)
		}
		m.appendLog(msg.path, msg.lines)
		return m.afterRead(msg.seq)
	case refreshMsg:
		if msg.seq == m.loop {
			if !msg.still {
				m.fullAt = time.Now()
			}
			m.applyRefresh(msg)
			m.applyExtras(msg.extras)
		}
		m.appendLog(msg.path, msg.lines)
		return m.afterRead(msg.seq)
	case stepDoneMsg:
		m = m.onStepDone(msg)
		if restage := m.opts.restage; restage != nil && msg.action == model.ActInstall && msg.res.Err == nil {
			return m, tea.Batch(m.kick(), func() tea.Msg { _ = restage(); return nil })
		}
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

// afterRead continues the refresh loop, and starts what a demo scenario does at the start once
// the sandbox is seen.
func (m Model) afterRead(seq int) (tea.Model, tea.Cmd) {
	m, start := m.startScenario()
	if start == nil {
		return m, m.rearm(seq)
	}
	return m, tea.Batch(m.rearm(seq), start)
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
		return m.updateHelp(msg)
	}
	switch {
	case key.Matches(msg, m.keys.Quit):
		return m.quit()
	case key.Matches(msg, m.keys.Help):
		m.mode, m.helpTop = modeHelp, 0
	case key.Matches(msg, m.keys.Pick):
		m.mode = modePicker
	case key.Matches(msg, m.keys.Close):
		// esc closes what is on top: a result panel, then the summary of an ended upgrade.
		if m.output != nil {
			m.output = nil
		} else {
			m.summaryOpen = false
		}
	case key.Matches(msg, m.keys.Rescan):
		// A full discovery scan now rather than in a few seconds: an instance started or
		// stopped meanwhile shows up at once.
		m.scanDue = true
		m.flash = &flash{text: m.tr.T("rescanning the host")}
		return m, m.kick()
	case key.Matches(msg, m.keys.Older, m.keys.Newer, m.keys.PageUp, m.keys.PageDown, m.keys.Follow):
		m.scrollLog(msg)
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

// quit ends the dashboard; nginx is left as it is (the demo stops its sandbox after). A step
// still waiting for its effect stops waiting.
func (m Model) quit() (tea.Model, tea.Cmd) {
	if m.busy != nil {
		m.busy.cancel()
	}
	m.releaseDriver()
	return m, tea.Quit
}

// title is an action's name on the screen.
func (m Model) title(a model.Action) string { return m.tr.T(a.Title()) }

// onAction answers an action key: the reason when it is not allowed now, else the path input
// (install), the config test at once (it signals nothing), or a confirmation dialog.
func (m Model) onAction(a model.Action) (tea.Model, tea.Cmd) {
	v := m.verdict(a)
	if !v.Allowed {
		m.flash = &flash{text: m.tr.T("%s: %s", m.title(a), m.why(v)), isErr: true}
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

// updateConfirm: y runs the action if its target is unchanged and the whole dialog could be
// read; any other key cancels.
func (m Model) updateConfirm(msg tea.KeyMsg) (tea.Model, tea.Cmd) {
	d := m.dialog
	m.dialog, m.mode = nil, modeNormal
	if d == nil {
		return m, nil
	}
	title := m.title(d.action)
	if !key.Matches(msg, m.keys.Confirm) {
		m.flash = &flash{text: m.tr.T("%s cancelled: nothing was sent", title)}
		return m, nil
	}
	refuse := func(why string) (tea.Model, tea.Cmd) {
		m.flash = &flash{text: m.tr.T("%s refused: %s; nothing was sent", title, why), isErr: true}
		return m, nil
	}
	if !m.dialogFits(d) {
		return refuse(m.tr.T("the screen is too small to show the whole dialog"))
	}
	if d.stale != "" {
		return refuse(d.stale)
	}
	if v := m.verdict(d.action); !v.Allowed {
		return refuse(m.why(v))
	}
	return m.startStep(d.action, d.candidate)
}

// startStep runs one step off the UI goroutine; the refresh goes on meanwhile.
func (m Model) startStep(a model.Action, candidate string) (tea.Model, tea.Cmd) {
	if m.deps.Actor == nil {
		m.flash = &flash{text: m.actorErr(), isErr: true}
		return m, nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	m.busy = &running{action: a, cancel: cancel}
	m.now = m.deps.Clock.Now()
	m.ended = nil
	m.record.begin(a, m.now, m.inst, m.probeStats)
	m.syncKeys()
	actor, in := m.deps.Actor, m.inst
	return m, func() tea.Msg {
		return stepDoneMsg{action: a, res: actor.Do(ctx, a, in, candidate)}
	}
}

// onStepDone shows what a step did: a short notice, the config test's output, or a failure with
// the error-log lines and the way back. A commit or rollback that succeeded ends the upgrade:
// its summary shows, and the step list starts again.
func (m Model) onStepDone(msg stepDoneMsg) Model {
	m.now = m.deps.Clock.Now()
	if m.busy != nil {
		m.busy.cancel()
	}
	m.busy = nil
	err, a := msg.res.Err, msg.action
	m.record.end(a, m.now, err)
	if a == model.ActCommit && err != nil && msg.res.QuitSent != 0 {
		// The journal says the old master got SIGQUIT (or may have): no way back to it. A
		// commit that failed before sending, or whose kill failed, leaves the way back open.
		m.quitSent, m.quitUnsure = msg.res.QuitSent, msg.res.QuitUnsure
	}
	if a == model.ActInstall && msg.res.Installed != nil {
		m.record.installed = msg.res.Installed
	}
	switch {
	case err != nil:
		lines := m.sayAll(msg.res.Lines, msg.res.Whys)
		var se *upgrade.StepError
		if errors.As(err, &se) && len(se.Log) > 0 {
			lines = append(append([]string(nil), lines...), se.Log...)
		}
		if se != nil && se.Reason == "" {
			se = nil
		}
		why := m.sayErr(err)
		if se != nil {
			why = m.say(se.Why, se.Reason) // its Error() names the step again
		}
		head := m.tr.T("%s failed: %s", m.title(a), why)
		if upgrade.IsRefused(err) {
			head = m.tr.T("%s refused: %s", m.title(a), why)
		}
		m.output = &output{title: head, lines: lines, isErr: true}
	case a == model.ActTest:
		m.output = &output{title: m.tr.T("config test passed"), lines: msg.res.Lines}
	default:
		m.flash = &flash{text: m.doneText(a, msg.res)}
	}
	if err == nil && (a == model.ActCommit || a == model.ActRollback) {
		m.endUpgrade(a, msg.res)
	}
	m.afterChange()
	return m
}

// doneText says in a sentence what a step that succeeded did.
func (m Model) doneText(a model.Action, res StepResult) string {
	t, before := m.tr, m.record.before
	oldPID := 0
	if len(before.Masters) > 0 {
		oldPID = before.Masters[0].PID
	}
	switch a {
	case model.ActInstall:
		if in := res.Installed; in != nil {
			return t.T("%s is in place; the running binary is kept as %s", in.Binary, in.Backup)
		}
	case model.ActUpgrade:
		return t.T("SIGUSR2 sent: the new master serves beside the old master %d", oldPID)
	case model.ActDrain:
		return t.T("SIGWINCH sent: the workers of the old master %d stopped accepting", oldPID)
	case model.ActCommit:
		return t.T("committed: the old master %d is gone and the new master serves alone", oldPID)
	case model.ActRollback:
		return t.T("rolled back: master %d serves the old binary again", oldPID)
	}
	return t.T("%s done", m.title(a))
}
