package ui

import (
	"strings"
	"unicode/utf8"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
)

// cellWidth is the width of plain text in terminal cells: Chinese characters take two.
func cellWidth(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return ansi.StringWidth(s)
		}
	}
	return len(s)
}

// runeCells is the width of one rune in cells.
func runeCells(r rune) int {
	if r < utf8.RuneSelf {
		return 1
	}
	return ansi.StringWidth(string(r))
}

// cutWords shortens plain text to width cells at a word boundary, marking the cut with ell: a
// number and its unit ("5.69ms"), a pid or a word is shown whole or not at all. Chinese text,
// which has no spaces, may break between any two characters. Separators left dangling at the
// cut go too.
func cutWords(s string, width int, ell string) string {
	if cellWidth(s) <= width {
		return s
	}
	room := width - cellWidth(ell)
	if room <= 0 {
		return ansi.Truncate(s, max(width, 0), "")
	}
	best, w := -1, 0
	var prev rune
	for i, r := range s {
		rw := runeCells(r)
		if i > 0 && w <= room && (r == ' ' || prev == ' ' || rw > 1 || runeCells(prev) > 1) {
			best = i
		}
		if w+rw > room {
			break
		}
		w += rw
		prev = r
	}
	if best <= 0 {
		// One word longer than the line (a path): cut inside it rather than show nothing.
		return ansi.Truncate(s, width, ell)
	}
	return strings.TrimRight(s[:best], " ·∙|,;:(：，；、（") + ell
}

// seg is a piece of a line with its style.
type seg struct {
	text string
	st   lipgloss.Style
	// bold is how many bytes at the start of text are drawn bold (a key before its label);
	// label how many are a label drawn in lst (a header field's name).
	bold  int
	label int
	lst   lipgloss.Style
}

func (sg seg) render() string {
	switch {
	case sg.label > 0 && sg.label < len(sg.text):
		return sg.lst.Render(sg.text[:sg.label]) + sg.st.Render(sg.text[sg.label:])
	case sg.bold > 0 && sg.bold < len(sg.text):
		return sg.st.Bold(true).Render(sg.text[:sg.bold]) + sg.st.Render(sg.text[sg.bold:])
	}
	return sg.st.Render(sg.text)
}

// fitSegs joins styled pieces with sep while they fit in width; a piece that does not fit is left
// out with those after it, and ell says so. The first piece is cut at a word if alone it is too
// long.
func fitSegs(segs []seg, sep string, width int, ell string) string {
	var b strings.Builder
	used := 0
	for _, sg := range segs {
		if sg.text == "" {
			continue
		}
		add := cellWidth(sg.text)
		gap := ""
		if used > 0 {
			gap = sep
		}
		if used+cellWidth(gap)+add > width {
			if used == 0 {
				sg.text = cutWords(sg.text, width, ell)
				return sg.render()
			}
			if used+cellWidth(ell)+1 <= width {
				b.WriteString(" " + ell)
			}
			return b.String()
		}
		b.WriteString(gap + sg.render())
		used += cellWidth(gap) + add
	}
	return b.String()
}
