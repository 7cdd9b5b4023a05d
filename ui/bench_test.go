package ui

import (
	"time"

	"github.com/hotdeploy/hotdeploy/model"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

// BenchmarkView renders the whole screen during an upgrade with 64 workers per master, tall
// enough to draw every row, with the probe panel and the error log, in colour and without.
// Budget (DESIGN.md): <= 2 ms per render.
func BenchmarkView(b *testing.B) {
	for _, tc := range []struct {
		name    string
		profile termenv.Profile
	}{{"ansi256", termenv.ANSI256}, {"ascii", termenv.Ascii}} {
		b.Run(tc.name, func(b *testing.B) {
			lipgloss.SetColorProfile(tc.profile)
			defer lipgloss.SetColorProfile(termenv.Ascii)
			src := newFakeSource(manyWorkers(64))
			src.logs = sampleLog
			snap, _ := src.Scan()
			m := New(Options{}, Deps{Source: src, Actor: &fakeActor{}, Clock: fixedClock{t0}, Probe: fakeProbe{sampleProbe()}}, &snap)
			next, _ := m.Update(tea.WindowSizeMsg{Width: 200, Height: 160})
			next, _ = next.Update(m.refreshCmd()()) // the probe panel and the log filled in
			m = next.(Model)
			if n := len(m.View()); n == 0 {
				b.Fatal("empty view")
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				_ = m.View()
			}
		})
	}
}

// BenchmarkViewIdle renders what the dashboard draws most often: one master with 16 workers,
// idle, at 120x40 with the error log, without colour (the figure the once-a-second frame costs).
func BenchmarkViewIdle(b *testing.B) {
	src := newFakeSource(synthInstance(synthMaster(1000, 1, model.GenOld, 26*time.Hour, 16, 0)))
	src.logs = sampleLog
	snap, _ := src.Scan()
	m := New(Options{}, Deps{Source: src, Actor: &fakeActor{}, Clock: fixedClock{t0}}, &snap)
	next, _ := m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
	next, _ = next.Update(m.refreshCmd()())
	m = next.(Model)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = m.View()
	}
}

// BenchmarkIdleSecond is what an idle dashboard does once a second: take in a refresh through
// Update (the model is copied into the tea.Model it returns) and draw the frame, a second later
// than the one before (the clocks on screen move).
func BenchmarkIdleSecond(b *testing.B) {
	src := newFakeSource(synthInstance(synthMaster(1000, 1, model.GenOld, 26*time.Hour, 16, 0)))
	src.logs = sampleLog
	snap, _ := src.Scan()
	clock := &manualClock{t: t0}
	var m tea.Model = New(Options{}, Deps{Source: src, Actor: &fakeActor{}, Clock: clock}, &snap)
	m, _ = m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
	msg := m.(Model).refreshCmd()()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		clock.add(time.Second)
		m, _ = m.Update(msg)
		_ = m.View()
	}
}
