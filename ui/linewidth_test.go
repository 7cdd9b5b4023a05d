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

// In Chinese, an argument's Latin end meets a Han character across a space; nothing else moves.
func TestChineseSetsArgumentsOffFromHan(t *testing.T) {
	zh, en := newTranslator(LangChinese), newTranslator(LangEnglish)
	for _, tc := range []struct{ got, want string }{
		{zh.T("%s failed: %s", "排空旧 worker", "超时"), "排空旧 worker 失败：超时"},
		{zh.T("%s failed: %s", "安装", "x"), "安装失败：x"},
		{zh.T("%s failed: %s", "nginx", "disk full"), "nginx 失败：disk full"},
		{en.T("%s failed: %s", "drain", "timeout"), "drain failed: timeout"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
	if got := spaceArgs(string(argOpen) + "旧" + string(argClose) + string(argOpen) + "master" + string(argClose) + "进程"); got != "旧 master 进程" {
		t.Errorf("two arguments side by side: %q", got)
	}
	if got := spaceArgs("a " + string(argOpen) + "b" + string(argClose)); got != "a b" {
		t.Errorf("marks without Han: %q", got)
	}
}
