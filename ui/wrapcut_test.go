package ui

import (
	"strings"
	"testing"
	"unicode"

	tea "github.com/charmbracelet/bubbletea"
)

// spacedHan tells whether a line has a space between two Chinese characters: Chinese has no
// spaces between words, so one there was put in by joining wrapped lines.
func spacedHan(line string) bool {
	rs := []rune(line)
	for i := 1; i+1 < len(rs); i++ {
		if rs[i] == ' ' && unicode.Is(unicode.Han, rs[i-1]) && unicode.Is(unicode.Han, rs[i+1]) {
			return true
		}
	}
	return false
}

// A long Chinese message cut to the status line's rows keeps its words as they were: the rest
// after the last full row is taken from the text, not from wrapped rows joined with spaces
// (Chinese has none between words, and a row ends short before a path that does not fit).
func TestLongChineseMessageIsCutWithoutSpaces(t *testing.T) {
	m, _, _ := newModel(t, Options{Lang: LangChinese}, idleInstance())
	m = update(t, m, tea.WindowSizeMsg{Width: 80, Height: 24})
	text := strings.Repeat("一个已退出的主进程仍有两个进程在运行，旧构建保留为/var/lib/hotdeploy/backups/nginx.old.0123456789ab/sbin/nginx然后请先回滚", 4)
	m.flash = &flash{isErr: true, text: text}
	lines := strings.Split(m.renderFooter(), "\n")
	if len(lines) != footerStatusMax+1 {
		t.Fatalf("footer of %d lines, want %d: %q", len(lines), footerStatusMax+1, lines)
	}
	ell := m.styles.G.Ellipsis
	for i, l := range lines[:footerStatusMax] {
		l = strings.TrimSuffix(strings.TrimRight(l, " "), ell)
		if !strings.Contains(text, l) || spacedHan(l) {
			t.Errorf("row %d is not a piece of the message: %q", i, l)
		}
	}
	if !strings.HasSuffix(strings.TrimRight(lines[footerStatusMax-1], " "), ell) {
		t.Errorf("the cut message ends without %q: %q", ell, lines[footerStatusMax-1])
	}
}
