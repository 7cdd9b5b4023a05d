package ui

import "github.com/charmbracelet/lipgloss"

// Glyphs are the marks and separators the screen draws besides words. East Asian terminals and
// fonts disagree on the width of "ambiguous" characters (· … ▶ ├ ─ ╭ ↑ ▁ …): one cell in most
// Western setups, two in many Chinese ones, which breaks every column and border after them. The
// Chinese screen therefore uses only glyphs whose width is not in doubt (TestNoAmbiguousGlyphs).
type Glyphs struct {
	Done, Failed, Next, Running, Pending string
	// Ellipsis marks text that was cut.
	Ellipsis string
	// Sep separates fields on one line.
	Sep string
	// TreeMid and TreeEnd draw a child under its master in the process table.
	TreeMid, TreeEnd string
	// Spark draws requests per second, from a few to the most; SparkFail a second with failures
	// when there is no colour.
	Spark     []rune
	SparkFail string
	Up, Down  string
	Border    lipgloss.Border
}

func englishGlyphs() Glyphs {
	return Glyphs{
		Done: "✓", Failed: "✗", Next: "▶", Running: "…", Pending: "·",
		Ellipsis: "…", Sep: " · ", TreeMid: "├ ", TreeEnd: "└ ",
		Spark: []rune("▁▂▃▄▅▆▇█"), SparkFail: "x", Up: "↑", Down: "↓",
		Border: lipgloss.RoundedBorder(),
	}
}

// chineseGlyphs have a width of one cell in every terminal: neutral-width marks and ASCII.
func chineseGlyphs() Glyphs {
	return Glyphs{
		Done: "✓", Failed: "✗", Next: "►", Running: "⋯", Pending: "∙",
		Ellipsis: "⋯", Sep: " ∙ ", TreeMid: "|-", TreeEnd: "`-",
		Spark: []rune("_.:-=+*#"), SparkFail: "x", Up: "^", Down: "v",
		Border: lipgloss.Border{Top: "-", Bottom: "-", Left: "|", Right: "|",
			TopLeft: "+", TopRight: "+", BottomLeft: "+", BottomRight: "+"},
	}
}

// glyphsFor returns the glyphs of a language.
func glyphsFor(l Lang) Glyphs {
	if l == LangChinese {
		return chineseGlyphs()
	}
	return englishGlyphs()
}
