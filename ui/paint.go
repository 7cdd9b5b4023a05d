package ui

import (
	"bytes"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/term"
)

// painter draws each frame on the terminal when the model makes it, changed lines only.
//
// bubbletea's own renderer keeps a ticker running at its frame rate and draws at each tick: ten
// wake-ups a second, and as many of Go's monitor thread, for a screen that changes once a
// second when nginx is idle. That was a third of the dashboard's CPU on a quiet host. The
// painter has no clock: the program runs without a renderer (tea.WithoutRenderer), the model's
// View hands the painter its frame, and the painter writes what differs from the frame before.
// A key's effect is drawn at once instead of at the next tick.
//
// It does what the renderer did for the dashboard: raw mode, the alternate screen, a hidden
// cursor, lines cut at the width, and a full repaint after a resize (see paintProgram).
type painter struct {
	out           io.Writer
	width, height int
	last          []string // the lines on screen; nil after a resize: repaint all
	buf           bytes.Buffer
}

// paint writes the lines of frame that differ from those on screen, in one write marked as one
// update (synchronized output, mode 2026): a terminal that knows the mode shows the frame once
// it has all of it, so a frame that reaches it in pieces (over ssh, or read 4 KB at a time as
// tmux does) is never shown half old, half new. Terminals without the mode ignore it.
func (p *painter) paint(frame string) {
	lines := strings.Split(frame, "\n")
	if p.height > 0 && len(lines) > p.height {
		lines = lines[len(lines)-p.height:] // as bubbletea did: the bottom stays in view
	}
	p.buf.Reset()
	p.buf.WriteString(ansi.SetModeSynchronizedOutput)
	for i, line := range lines {
		if i < len(p.last) && p.last[i] == line {
			continue
		}
		if p.width > 0 {
			line = ansi.Truncate(line, p.width, "")
		}
		p.buf.WriteString(ansi.CursorPosition(1, i+1))
		p.buf.WriteString(line)
		// A line that fills the row leaves the cursor on its last cell, which an erase would
		// blank: only a shorter line is erased to its end.
		if ansi.StringWidth(line) < p.width {
			p.buf.WriteString(ansi.EraseLineRight)
		}
	}
	// Rows below a shorter frame are cleared. Below a full one there are none: the cursor
	// would stop on the last row, and the erase would blank it.
	if (len(p.last) > len(lines) || p.last == nil) && (p.height == 0 || len(lines) < p.height) {
		p.buf.WriteString(ansi.CursorPosition(1, len(lines)+1))
		p.buf.WriteString(ansi.EraseScreenBelow)
	}
	p.last = lines
	if p.buf.Len() > len(ansi.SetModeSynchronizedOutput) {
		p.buf.WriteString(ansi.ResetModeSynchronizedOutput)
		_, _ = p.out.Write(p.buf.Bytes())
	}
}

// resize takes the terminal's new size: the next frame is drawn whole on a cleared screen.
func (p *painter) resize(w, h int) {
	p.width, p.height, p.last = w, h, nil
	_, _ = io.WriteString(p.out, ansi.EraseEntireScreen)
}

// painted is a model whose frames the painter draws; bubbletea sees an empty view.
type painted struct {
	tea.Model
	p *painter
}

func (m painted) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if ws, ok := msg.(tea.WindowSizeMsg); ok {
		m.p.resize(ws.Width, ws.Height)
	}
	next, cmd := m.Model.Update(msg)
	m.Model = next
	return m, cmd
}

// View draws the inner model's frame: bubbletea calls it after every Update that had a message.
func (m painted) View() string {
	m.p.paint(m.Model.View())
	return ""
}

// paintProgram runs m full screen with the painter, on a terminal, telling started the program
// before it runs; ok false when standard input or output is not one (the caller then runs
// bubbletea's renderer).
func paintProgram(m tea.Model, started func(*tea.Program)) (ok bool, err error) {
	in, out := os.Stdin, os.Stdout
	if !term.IsTerminal(in.Fd()) || !term.IsTerminal(out.Fd()) {
		return false, nil
	}
	w, h, err := term.GetSize(out.Fd())
	if err != nil {
		return false, nil
	}
	saved, err := term.MakeRaw(in.Fd())
	if err != nil {
		return false, nil
	}
	defer func() { _ = term.Restore(in.Fd(), saved) }()
	_, _ = io.WriteString(out, ansi.SetModeAltScreenSaveCursor+ansi.HideCursor)
	defer func() {
		_, _ = io.WriteString(out, ansi.EraseEntireScreen+ansi.ShowCursor+ansi.ResetModeAltScreenSaveCursor)
	}()

	pt := &painter{out: out}
	pt.resize(w, h)
	p := tea.NewProgram(painted{Model: m, p: pt}, tea.WithoutRenderer(), tea.WithInput(in), tea.WithOutput(out))
	started(p)
	winch, done := make(chan os.Signal, 1), make(chan struct{})
	signal.Notify(winch, syscall.SIGWINCH)
	defer signal.Stop(winch)
	go func() {
		p.Send(tea.WindowSizeMsg{Width: w, Height: h})
		for {
			select {
			case <-winch:
				if w, h, err := term.GetSize(out.Fd()); err == nil {
					p.Send(tea.WindowSizeMsg{Width: w, Height: h})
				}
			case <-done:
				return
			}
		}
	}()
	_, err = p.Run()
	close(done)
	return true, err
}
