package ui

import (
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/hotdeploy/hotdeploy/model"
)

// Palette names colours by what they mean. The basic 16 ANSI colours follow the operator's
// terminal theme, so the screen stays legible on light and dark backgrounds alike, and no
// background query is sent over a slow SSH link.
type Palette struct {
	Text, Muted, Accent  lipgloss.Color
	Old, New             lipgloss.Color
	Success, Warn, Error lipgloss.Color
}

// DefaultPalette is the only place colours are chosen.
func DefaultPalette() Palette {
	return Palette{
		Text: lipgloss.Color("7"), Muted: lipgloss.Color("8"), Accent: lipgloss.Color("4"),
		Old: lipgloss.Color("3"), New: lipgloss.Color("6"),
		Success: lipgloss.Color("2"), Warn: lipgloss.Color("3"), Error: lipgloss.Color("1"),
	}
}

// Styles is every style the dashboard uses, built from a Palette.
type Styles struct {
	// Plain is set when the terminal shows no colour (NO_COLOR, or a dumb terminal): meaning that
	// colour carries elsewhere (dimmed keys, the focused button) is then shown with marks.
	Plain bool
	// G are the marks and separators, chosen by the screen's language (glyphs.go).
	G Glyphs

	Title, Label, Value, Muted lipgloss.Style
	Phase                      map[model.Phase]lipgloss.Style
	Banner                     lipgloss.Style

	TableHeader            lipgloss.Style
	RowCurrent, RowOld     lipgloss.Style
	RowNew                 lipgloss.Style
	MasterCurrent          lipgloss.Style
	MasterOld, MasterNew   lipgloss.Style
	Draining, Replaced     lipgloss.Style
	PanelTitle             lipgloss.Style
	StepDone, StepCurrent  lipgloss.Style
	StepNext, StepFailed   lipgloss.Style
	LogInfo, LogWarn       lipgloss.Style
	LogError, LogCritical  lipgloss.Style
	KeyOn, DescOn, KeyOff  lipgloss.Style
	ErrorLine, InfoLine    lipgloss.Style
	Dialog, DialogTitle    lipgloss.Style
	Danger, Warning        lipgloss.Style
	ButtonFocus, Button    lipgloss.Style
	PickerCursor, Selected lipgloss.Style

	// rows holds the table's row styles as ready escape sequences (see paint).
	rows map[rowKey]paint
}

type rowKey struct {
	gen     model.Generation
	master  bool
	special int // 0 none, 1 draining, 2 replaced
}

// paint is a single-line style as its opening and closing sequences. lipgloss.Style.Render is
// general (borders, margins, wrapping) and costs microseconds a call; the table draws hundreds
// of cells per frame, so it wraps them in sequences rendered once instead.
type paint struct{ pre, post string }

func newPaint(st lipgloss.Style) paint {
	r := st.Render("\x1f")
	i := strings.IndexByte(r, 0x1f)
	if i < 0 {
		return paint{}
	}
	return paint{pre: r[:i], post: r[i+1:]}
}

func (p paint) wrap(b *strings.Builder, text string) {
	b.WriteString(p.pre)
	b.WriteString(text)
	b.WriteString(p.post)
}

// DefaultStyles builds the styles for the colour profile lipgloss detected (or a test set).
func DefaultStyles() Styles {
	return NewStyles(DefaultPalette(), lipgloss.ColorProfile() == termenv.Ascii)
}

// NewStyles builds the styles from a palette.
func NewStyles(p Palette, plain bool) Styles {
	fg := func(c lipgloss.Color) lipgloss.Style { return lipgloss.NewStyle().Foreground(c) }
	badge := func(c lipgloss.Color) lipgloss.Style {
		return lipgloss.NewStyle().Bold(true).Reverse(true).Foreground(c)
	}
	s := Styles{
		Plain: plain, G: englishGlyphs(),
		Title: lipgloss.NewStyle().Bold(true), Label: fg(p.Muted), Value: fg(p.Text), Muted: fg(p.Muted),
		Phase: map[model.Phase]lipgloss.Style{
			model.PhaseIdle:        badge(p.Success),
			model.PhaseNewStarting: badge(p.Warn),
			model.PhaseBothServing: badge(p.New),
			model.PhaseOldDraining: badge(p.Old),
			model.PhaseOldDrained:  badge(p.Accent),
		},
		Banner:      fg(p.Warn),
		TableHeader: lipgloss.NewStyle().Bold(true).Underline(true),
		RowCurrent:  lipgloss.NewStyle(), RowOld: fg(p.Old), RowNew: fg(p.New),
		MasterCurrent: lipgloss.NewStyle().Bold(true), MasterOld: fg(p.Old).Bold(true), MasterNew: fg(p.New).Bold(true),
		Draining: fg(p.Warn).Italic(true), Replaced: fg(p.Error),
		PanelTitle: lipgloss.NewStyle().Bold(true).Foreground(p.Accent),
		StepDone:   fg(p.Success), StepCurrent: fg(p.Warn).Bold(true), StepNext: lipgloss.NewStyle(), StepFailed: fg(p.Error).Bold(true),
		LogInfo: fg(p.Muted), LogWarn: fg(p.Warn), LogError: fg(p.Error), LogCritical: fg(p.Error).Bold(true).Reverse(true),
		KeyOn: lipgloss.NewStyle().Bold(true), DescOn: fg(p.Text), KeyOff: fg(p.Muted).Faint(true),
		ErrorLine: fg(p.Error).Bold(true), InfoLine: fg(p.Success),
		Dialog:      lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(p.Accent).Padding(0, 1),
		DialogTitle: lipgloss.NewStyle().Bold(true),
		Danger:      fg(p.Error).Bold(true), Warning: fg(p.Warn),
		ButtonFocus: lipgloss.NewStyle().Bold(true).Reverse(true), Button: fg(p.Muted),
		PickerCursor: fg(p.Accent).Bold(true), Selected: lipgloss.NewStyle().Bold(true),
	}
	s.rows = map[rowKey]paint{}
	for _, g := range []model.Generation{model.GenCurrent, model.GenOld, model.GenNew} {
		for _, master := range []bool{false, true} {
			s.rows[rowKey{g, master, 0}] = newPaint(s.row(g, master))
		}
	}
	s.rows[rowKey{special: 1}] = newPaint(s.Draining)
	s.rows[rowKey{special: 2}] = newPaint(s.Replaced)
	return s
}

// row returns the style of a table row for a process of generation g.
func (s *Styles) row(g model.Generation, master bool) lipgloss.Style {
	switch {
	case g == model.GenOld && master:
		return s.MasterOld
	case g == model.GenOld:
		return s.RowOld
	case g == model.GenNew && master:
		return s.MasterNew
	case g == model.GenNew:
		return s.RowNew
	case master:
		return s.MasterCurrent
	}
	return s.RowCurrent
}

// forLang sets the glyphs of a language, and the dialog's border with them.
func (s Styles) forLang(l Lang) Styles {
	s.G = glyphsFor(l)
	s.Dialog = s.Dialog.Border(s.G.Border)
	return s
}
