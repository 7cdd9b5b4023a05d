package ui

import (
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/inspect"
)

// candidateMsg says whether the path typed for `i` names a usable binary.
type candidateMsg struct {
	path string
	err  error
}

func newPathInput(s *Styles, t translator) *textinput.Model {
	ti := textinput.New()
	ti.Prompt = t.T("new nginx binary: ")
	ti.PromptStyle = s.Label
	ti.Placeholder = "/path/to/new/nginx"
	ti.CharLimit = 4096
	return &ti
}

// openInput starts `i`: the path input, prefilled with the candidate.
func (m Model) openInput() (Model, tea.Cmd) {
	m.mode = modeInput
	m.input.SetValue(m.candidate)
	m.input.CursorEnd()
	return m, m.input.Focus()
}

// updateInput edits the path; enter checks it (off the UI goroutine), esc cancels.
func (m Model) updateInput(msg tea.Msg) (Model, tea.Cmd) {
	if k, ok := msg.(tea.KeyMsg); ok {
		switch {
		case key.Matches(k, m.keys.Close):
			m.mode = modeNormal
			m.input.Blur()
			m.flash = &flash{text: m.tr.T("install cancelled: nothing changed")}
			return m, nil
		case key.Matches(k, m.keys.Select):
			path := strings.TrimSpace(m.input.Value())
			if path == "" {
				m.flash = &flash{text: m.tr.T("type the path of the new nginx binary, or esc"), isErr: true}
				return m, nil
			}
			return m, checkCandidateCmd(path)
		}
	}
	var cmd tea.Cmd
	*m.input, cmd = m.input.Update(msg)
	return m, cmd
}

func checkCandidateCmd(path string) tea.Cmd {
	return func() tea.Msg { return candidateMsg{path: path, err: inspect.CheckExecutable(path)} }
}

// onCandidate opens the install dialog for a usable path, or says what is wrong with it.
func (m Model) onCandidate(msg candidateMsg) (Model, tea.Cmd) {
	if m.mode != modeInput {
		return m, nil
	}
	if msg.err != nil {
		m.flash = &flash{text: m.sayErr(msg.err), isErr: true}
		return m, nil
	}
	m.candidate = msg.path
	m.input.Blur()
	m.mode = modeNormal
	v := m.verdict(model.ActInstall)
	if !v.Allowed {
		m.flash = &flash{text: m.why(v), isErr: true}
		return m, nil
	}
	m.dialog, m.mode = newConfirm(m.inst, v, m.candidate), modeConfirm
	return m, nil
}
