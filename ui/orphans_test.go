package ui

import (
	"strings"
	"testing"
)

// A dead master's processes are on screen while they run: a line says what they are and that
// rollback ends them, and each is listed when there is room (one line naming them when not).
// The header's phase alone (idle, one master serves) would say nothing is wrong.
func TestOrphansAreOnScreen(t *testing.T) {
	for _, lang := range Langs {
		for _, size := range [][2]int{{80, 24}, {120, 40}, {200, 50}, {80, 14}} {
			w, h := size[0], size[1]
			s := newScript(t, lang, w, h, orphanedInstance())
			v := s.m.View()
			checkBounds(t, v, w, h)
			tr := s.m.tr
			line := tr.T("%d processes of a dead master still run (their parent is now pid 1); rollback ends them", 2)
			if head := []rune(line)[:12]; !strings.Contains(v, string(head)) {
				t.Errorf("%s %dx%d: no line about the dead master's processes:\n%s", lang, w, h, v)
			}
			// The guide points back, not forward: no new binary goes on disk beside them.
			if lang == LangEnglish && h >= 24 && (strings.Contains(v, "Put the new binary") ||
				!strings.Contains(v, "Next: Roll back") && !strings.Contains(v, "Next: When a master dies")) {
				t.Errorf("%s %dx%d: the guide does not point to the rollback:\n%s", lang, w, h, v)
			}
			if h >= 24 {
				for _, pid := range []string{"2001 ", "2002 "} {
					if !strings.Contains(v, pid) {
						t.Errorf("%s %dx%d: orphan %s not listed:\n%s", lang, w, h, pid, v)
					}
				}
			}
		}
	}
}
