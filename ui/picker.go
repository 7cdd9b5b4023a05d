package ui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// updatePicker moves the cursor over the instances and opens the one chosen.
func (m Model) updatePicker(msg tea.KeyMsg) (Model, tea.Cmd) {
	switch {
	case key.Matches(msg, m.keys.Up):
		m.picker = max(m.picker-1, 0)
	case key.Matches(msg, m.keys.Down):
		m.picker = min(m.picker+1, len(m.instances)-1)
	case key.Matches(msg, m.keys.Select):
		if m.picker < len(m.instances) {
			m.show(m.instances[m.picker])
			m.mode = modeNormal
			m.afterChange()
		}
	case key.Matches(msg, m.keys.Close):
		if m.hasInst {
			m.mode = modeNormal
		}
	}
	return m, nil
}

// renderPicker lists the instances running on the host.
func (m Model) renderPicker(width, height int) string {
	s, t := m.styles, m.tr
	lines := []string{
		s.PanelTitle.Render(cutWords(t.T("%d nginx instances run on this host: pick one", len(m.instances)), width, s.G.Ellipsis)),
		"",
	}
	for i, in := range m.instances {
		cursor := "  "
		st := s.Value
		if i == m.picker {
			cursor, st = s.PickerCursor.Render("> "), s.Selected
		}
		pids := make([]string, 0, len(in.Masters))
		for _, ms := range in.Masters {
			pids = append(pids, fmt.Sprint(ms.PID))
		}
		text := fmt.Sprintf("%-14s %s %-14s %s  %s", in.Phase, t.T("master"), strings.Join(pids, ","), orDash(in.PidFile), orDash(in.Conf))
		lines = append(lines, cursor+st.Render(cutWords(text, width-2, s.G.Ellipsis)))
		if len(lines) >= height {
			break
		}
	}
	return strings.Join(lines, "\n")
}
