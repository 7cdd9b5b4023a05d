package ui

import (
	"testing"

	"github.com/charmbracelet/x/ansi"
)

// lineWidth takes a shortcut for printable ASCII; it must count what ansi.StringWidth counts.
func TestLineWidthCountsWhatAnsiCounts(t *testing.T) {
	for _, s := range []string{"", "plain ascii line", "\x1b[1mbold\x1b[0m", "tab\there", "旧 master 排空中",
		"├ worker", "caf\u00e9", "e\u0301", "del\x7f", "…", "µs █"} {
		if got, want := lineWidth(s), ansi.StringWidth(s); got != want {
			t.Errorf("lineWidth(%q) = %d, ansi.StringWidth = %d", s, got, want)
		}
	}
}
