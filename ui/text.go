package ui

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"
)

// fit pads or cuts plain text to exactly width cells, marking a cut with "…". The table calls
// it for every cell, so ASCII text is measured by its length.
func fit(s string, width int) string { return fitE(s, width, "…") }

// fitE is fit with the ellipsis of the screen's language.
func fitE(s string, width int, ell string) string {
	if width <= 0 {
		return ""
	}
	n := cellWidth(s)
	switch {
	case n == width:
		return s
	case n < width:
		return s + spaces(width-n)
	}
	cut := ansi.Truncate(s, width, ell)
	return cut + spaces(width-cellWidth(cut))
}

// fitLeft is fit for right-aligned numbers.
func fitLeft(s string, width int) string {
	n := cellWidth(s)
	if n >= width {
		return fit(s, width)
	}
	return spaces(width-n) + s
}

const blanks = "                                                                                                    "

func spaces(n int) string {
	if n <= len(blanks) {
		return blanks[:n]
	}
	return strings.Repeat(" ", n)
}

// padLine pads a styled line with spaces to width cells, or cuts it, ell marking the cut: the
// last guard of a line's width; text whose cut matters goes through cutWords first.
func padLine(s string, width int, ell string) string {
	var b strings.Builder
	b.Grow(len(s) + width)
	writePadded(&b, s, width, ell)
	return b.String()
}

// writePadded writes padLine's line to b.
func writePadded(b *strings.Builder, s string, width int, ell string) {
	w := lineWidth(s)
	if w > width {
		s = ansi.Truncate(s, width, ell)
		w = ansi.StringWidth(s)
	}
	b.WriteString(s)
	b.WriteString(spaces(width - w))
}

// lineWidth is the cells a styled line takes: its length when it is printable ASCII alone (no
// escape sequence, no wide or combining character), which most lines of a frame are; else what
// ansi.StringWidth counts.
func lineWidth(s string) int {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			return ansi.StringWidth(s)
		}
	}
	return len(s)
}

// bytesHuman formats a size compactly: 812K, 12.3M, 1.2G.
func bytesHuman(b uint64) string {
	switch {
	case b == 0:
		return "-"
	case b < 1<<20:
		return fmt.Sprintf("%dK", b>>10)
	case b < 10<<20:
		return fmt.Sprintf("%.1fM", float64(b)/(1<<20))
	case b < 1<<30:
		return fmt.Sprintf("%dM", b>>20)
	}
	return fmt.Sprintf("%.1fG", float64(b)/(1<<30))
}

// seconds formats a step's duration: 0.42s, 12.0s, 1m03s.
func seconds(d time.Duration) string {
	switch {
	case d < 0:
		return "0.00s"
	case d < 10*time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	s := int(d.Seconds())
	return fmt.Sprintf("%dm%02ds", s/60, s%60)
}
