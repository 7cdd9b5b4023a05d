package ui

import (
	"bytes"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
)

// frame is n lines "line 0".."line n-1", with line k replaced by alt when k >= 0.
func frame(n, k int, alt string) string {
	ls := make([]string, n)
	for i := range ls {
		ls[i] = "line " + string(rune('a'+i))
		if i == k {
			ls[i] = alt
		}
	}
	return strings.Join(ls, "\n")
}

func TestPainterWritesOnlyChangedLines(t *testing.T) {
	var out bytes.Buffer
	p := &painter{out: &out}
	p.resize(20, 4)
	p.paint(frame(4, -1, ""))
	first := out.String()
	for _, l := range []string{"line a", "line b", "line c", "line d"} {
		if !strings.Contains(first, l) {
			t.Fatalf("first frame lacks %q: %q", l, first)
		}
	}
	// A full frame: nothing below it to clear, and the last row is not erased.
	if strings.Contains(first, ansi.EraseScreenBelow) {
		t.Fatalf("a frame filling the screen erased below its last row: %q", first)
	}

	out.Reset()
	p.paint(frame(4, -1, ""))
	if out.Len() != 0 {
		t.Fatalf("the same frame again wrote %q", out.String())
	}

	out.Reset()
	p.paint(frame(4, 2, "changed"))
	got := out.String()
	want := ansi.SetModeSynchronizedOutput + ansi.CursorPosition(1, 3) + "changed" + ansi.EraseLineRight + ansi.ResetModeSynchronizedOutput
	if got != want {
		t.Fatalf("one changed line: wrote %q, want %q", got, want)
	}

	out.Reset()
	p.paint(frame(2, -1, ""))
	if got := out.String(); !strings.HasSuffix(got, ansi.CursorPosition(1, 3)+ansi.EraseScreenBelow+ansi.ResetModeSynchronizedOutput) {
		t.Fatalf("a shorter frame did not clear the rows below it: %q", got)
	}
}

func TestPainterCutsAtTheWidthAndRepaintsAfterAResize(t *testing.T) {
	var out bytes.Buffer
	p := &painter{out: &out}
	p.resize(6, 3)
	p.paint("abcdefghij\nxy")
	got := out.String()
	if strings.Contains(got, "abcdefg") || !strings.Contains(got, "abcdef") {
		t.Fatalf("a line wider than the screen was not cut at 6 cells: %q", got)
	}
	// The cut line fills the row: erasing after it would blank its last cell.
	if strings.Contains(got, "abcdef"+ansi.EraseLineRight) {
		t.Fatalf("erased the rest of a full row: %q", got)
	}
	out.Reset()
	p.resize(10, 3)
	p.paint("abcdefghij\nxy")
	got = out.String()
	if !strings.HasPrefix(got, ansi.EraseEntireScreen) || !strings.Contains(got, "abcdefghij") || !strings.Contains(got, "xy") {
		t.Fatalf("after a resize the frame was not drawn whole on a cleared screen: %q", got)
	}
}

func TestPainterKeepsTheBottomOfATallFrame(t *testing.T) {
	var out bytes.Buffer
	p := &painter{out: &out}
	p.resize(20, 2)
	p.paint("top\nmiddle\nbottom")
	got := out.String()
	if strings.Contains(got, "top") || !strings.Contains(got, "bottom") {
		t.Fatalf("a frame taller than the screen: wrote %q, want its last 2 lines", got)
	}
}
