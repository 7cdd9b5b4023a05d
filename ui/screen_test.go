package ui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/hotdeploy/hotdeploy/model"
)

func TestLangFromEnv(t *testing.T) {
	for _, tc := range []struct {
		all, messages, lang string
		want                Lang
	}{
		{"", "", "", LangEnglish},
		{"", "", "zh_CN.UTF-8", LangChinese},
		{"", "", "zh_TW.UTF-8", LangChinese},
		{"", "", "en_US.UTF-8", LangEnglish},
		{"", "C", "zh_CN.UTF-8", LangEnglish},            // LC_MESSAGES before LANG
		{"zh_CN.UTF-8", "C", "en_US.UTF-8", LangChinese}, // LC_ALL before both
		{"C", "zh_CN.UTF-8", "zh_CN.UTF-8", LangEnglish},
		{"POSIX", "", "", LangEnglish},
	} {
		env := map[string]string{"LC_ALL": tc.all, "LC_MESSAGES": tc.messages, "LANG": tc.lang}
		if got := langFromVars(func(k string) string { return env[k] }); got != tc.want {
			t.Errorf("LC_ALL=%q LC_MESSAGES=%q LANG=%q: %s, want %s", tc.all, tc.messages, tc.lang, got, tc.want)
		}
	}
	for in, want := range map[string]Lang{"en": LangEnglish, "zh-CN": LangChinese, "zh_CN": LangChinese, "zh": LangChinese, "en-GB": LangEnglish} {
		if got, err := ParseLang(in); err != nil || got != want {
			t.Errorf("ParseLang(%q) = %s, %v", in, got, err)
		}
	}
	if _, err := ParseLang("fr"); err == nil {
		t.Error("ParseLang(fr) accepted")
	}
}

// A cut falls between words, never inside a number and its unit.
func TestCutWords(t *testing.T) {
	for _, tc := range []struct {
		in    string
		width int
		want  string
	}{
		{"PROBE ok 56  failed 0  p50 1.54ms  p99 5.69ms", 44, "PROBE ok 56  failed 0  p50 1.54ms  p99…"},
		{"p99 5.69ms", 9, "p99…"},
		{"short", 10, "short"},
		{"held: worker 1001 (old) 12K read · l again releases it", 30, "held: worker 1001 (old) 12K…"},
		{"保持中：worker 18989（旧）已读 11K", 20, "保持中：worker⋯"},
		{"另有 4 个：2 个 worker、缓存管理进程", 12, "另有 4 个⋯"}, // no "：" left before the mark
		{"排空旧 worker 失败：新 master 2000 退出", 22, "排空旧 worker 失败⋯"},
		{"/a/very/long/path/without/spaces", 10, "/a/very/l…"},
	} {
		ell := "…"
		if strings.ContainsRune(tc.in, '：') {
			ell = "⋯"
		}
		got := cutWords(tc.in, tc.width, ell)
		if got != tc.want {
			t.Errorf("cutWords(%q, %d) = %q, want %q", tc.in, tc.width, got, tc.want)
		}
		if w := cellWidth(got); w > tc.width {
			t.Errorf("cutWords(%q, %d) is %d cells", tc.in, tc.width, w)
		}
	}
}

func TestWrapChinese(t *testing.T) {
	text := "刚完成：旧 worker 已停止接收连接；新请求只由新 worker 处理。"
	lines := wrap(text, 20)
	for _, l := range lines {
		if cellWidth(l) > 20 {
			t.Errorf("line %q is %d cells", l, cellWidth(l))
		}
		if strings.HasPrefix(l, "；") || strings.HasPrefix(l, "。") {
			t.Errorf("line starts with closing punctuation: %q", l)
		}
	}
	if got := strings.Join(lines, ""); strings.ReplaceAll(got, " ", "") != strings.ReplaceAll(text, " ", "") {
		t.Errorf("wrap lost text: %q", lines)
	}
	if lines[0] != "刚完成：旧 worker 已" {
		t.Errorf("the first line is not filled: %q", lines[0])
	}
}

// Every screen of both languages fits every size, line by line, and the Chinese ones draw no
// glyph of ambiguous width.
func TestEverySizeEveryLanguage(t *testing.T) {
	for _, lang := range Langs {
		for _, st := range goldenStates {
			for _, size := range [][2]int{{40, 12}, {80, 24}, {120, 40}, {200, 50}} {
				s := newScript(t, lang, size[0], size[1], idleInstance())
				st.run(s)
				views := map[string]Model{"": s.m}
				help, _ := press(t, s.m, "?")
				views["help"] = help
				for name, m := range views {
					v := m.View()
					checkBounds(t, v, size[0], size[1])
					if lang == LangChinese {
						checkNoAmbiguous(t, v)
					}
					if t.Failed() {
						t.Fatalf("%s %s %s at %dx%d:\n%s", lang, st.name, name, size[0], size[1], v)
					}
				}
			}
		}
	}
}

// At 80x24 the guide shows what was just done and what comes next, beside the probe's failures,
// who answered and the newest log lines.
func TestGuideKeepsDoneAndNextAt80x24(t *testing.T) {
	for _, lang := range Langs {
		s := newScript(t, lang, 80, 24, idleInstance())
		s.probe.mu.Lock()
		s.probe.st.Failed, s.probe.st.Failures = 3, map[string]int64{"refused": 3}
		s.probe.st.LastError = "connection refused by 127.0.0.1:8080"
		s.probe.mu.Unlock()
		s.upgradeTo(false)
		v := s.m.View()
		t0 := s.m.tr
		for _, want := range []string{t0.T("Just done: "), t0.T("Now: "), "connection refused", t0.T("served by master %s", ""),
			t0.T("ERROR LOG"), "03:03:20"} {
			if !strings.Contains(v, strings.TrimSpace(want)) {
				t.Errorf("%s: the 80x24 view lacks %q:\n%s", lang, want, v)
			}
		}
	}
}

// Refused keys keep their labels, dimmed, in every phase at 80 columns, even while a step runs.
func TestRefusedKeysKeepLabelsAt80(t *testing.T) {
	for _, in := range []model.Instance{idleInstance(), installedInstance(), bothServingInstance(), oldDrainingInstance(), oldDrainedInstance()} {
		m, _, _ := newModel(t, Options{}, in)
		m = update(t, m, tea.WindowSizeMsg{Width: 80, Height: 24})
		busy := m
		busy.busy = &running{action: model.ActDrain, cancel: func() {}}
		for _, mm := range []Model{m, busy} {
			h := mm.hints()
			for _, label := range []string{"i install", "t test", "u start", "w drain", "c commit", "? help", "q quit"} {
				if !strings.Contains(h, label) {
					t.Errorf("%s: the footer %q lacks %q", in.Phase, h, label)
				}
			}
			if cellWidth(h) > 80 {
				t.Errorf("%s: footer %d wide", in.Phase, cellWidth(h))
			}
		}
	}
}

// A dialog that does not fit says so, and y refuses.
func TestDialogTooSmallRefusesYes(t *testing.T) {
	m, _, act := newModel(t, Options{}, bothServingInstance())
	m = update(t, m, tea.WindowSizeMsg{Width: 40, Height: 10})
	m, _ = press(t, m, "w")
	v := m.View()
	if !strings.Contains(v, "too small") || !strings.Contains(v, "(y yes, send SIGWINCH)") {
		t.Errorf("40x10 dialog:\n%s", v)
	}
	m, cmd := press(t, m, "y")
	if cmd != nil || len(act.called()) != 0 || m.flash == nil || !strings.Contains(m.flash.text, "refused") {
		t.Errorf("y on a dialog too small: flash %+v, calls %v", m.flash, act.called())
	}
	// At 80x24 the same dialog shows whole, the table giving way.
	m = update(t, m, tea.WindowSizeMsg{Width: 80, Height: 24})
	m, _ = press(t, m, "w")
	if v := m.View(); !strings.Contains(v, "SIGWINCH to pid 1000") || !strings.Contains(v, "[ No ]") {
		t.Errorf("80x24 dialog:\n%s", v)
	}
	if m.dialogView(m.dialog, 200) == m.dialogView(m.dialog, 80) {
		t.Errorf("the dialog does not size to the screen")
	}
}

// [ ] PgUp PgDn scroll the error log back; new lines keep it where it is; End follows again.
func TestErrorLogScrolls(t *testing.T) {
	m, src, _ := newModel(t, Options{}, idleInstance())
	var lines []string
	for i := 0; i < 60; i++ {
		lines = append(lines, fmt.Sprintf("2026/01/02 03:04:05 [notice] 1000#1000: line %02d", i))
	}
	src.logs = lines
	m = update(t, m, run(m.refreshCmd()))
	if v := m.View(); !strings.Contains(v, "line 59") {
		t.Fatalf("the tail is not shown:\n%s", v)
	}
	m, _ = press(t, m, "[", "[")
	if m.logBack != 6 || strings.Contains(m.View(), "line 59") || !strings.Contains(m.View(), "line 53") ||
		!strings.Contains(m.View(), "6 lines back, End follows") {
		t.Errorf("[ [ : back %d\n%s", m.logBack, m.View())
	}
	src.logs = []string{"2026/01/02 03:04:06 [notice] 1000#1000: line 60"}
	m = update(t, m, run(m.refreshCmd()))
	if m.logBack != 7 || strings.Contains(m.View(), "line 60") {
		t.Errorf("a new line moved the scrolled log: back %d", m.logBack)
	}
	m, _ = press(t, m, "]")
	if m.logBack != 4 {
		t.Errorf("] : back %d", m.logBack)
	}
	m = update(t, m, tea.KeyMsg{Type: tea.KeyPgUp})
	if m.logBack != 14 {
		t.Errorf("PgUp: back %d", m.logBack)
	}
	m = update(t, m, tea.KeyMsg{Type: tea.KeyEnd})
	if m.logBack != 0 || !strings.Contains(m.View(), "line 60") {
		t.Errorf("End: back %d", m.logBack)
	}
}

// ? lists every key of DESIGN.md's table, with why a refused one is refused, and says what q
// does: nothing to nginx, or in the demo stopping the sandbox.
func TestHelpListsEveryKey(t *testing.T) {
	m, _, _ := newModel(t, Options{}, installedInstance())
	m = update(t, m, tea.WindowSizeMsg{Width: 120, Height: 60})
	m, _ = press(t, m, "?")
	v := m.View()
	for _, want := range []string{"i ", "t ", "u ", "w ", "c ", "r ", "y / n, esc", "l ", "g ", "s ", "p ", "[ ] PgUp PgDn", "? ", "q ",
		"rescan the host", "not now: no upgrade is running", "only in the demo", "only one instance runs", "nginx is left as it is"} {
		if !strings.Contains(v, "\n"+want) && !strings.Contains(v, want) {
			t.Errorf("help lacks %q:\n%s", want, v)
		}
	}
	demo := newProofModel(t, Deps{Narration: narrationIn(LangEnglish)}, Options{demo: true}, idleInstance())
	demo = update(t, demo, tea.WindowSizeMsg{Width: 120, Height: 60})
	demo, _ = press(t, demo, "?")
	if v := demo.View(); !strings.Contains(v, "quit the demo: its sandbox nginx is stopped") {
		t.Errorf("demo help does not say q stops the sandbox:\n%s", v)
	}
	// A small screen scrolls the help rather than cut it.
	small := update(t, m, tea.WindowSizeMsg{Width: 80, Height: 24})
	if v := small.View(); !strings.Contains(v, "more below") {
		t.Errorf("80x24 help does not say more is below:\n%s", v)
	}
	small, _ = press(t, small, "down", "down", "down")
	if small.helpTop != 3 || !strings.Contains(small.View(), "more above") {
		t.Errorf("help did not scroll: top %d", small.helpTop)
	}
}

// After a rollback the file on disk is the running build again: u is refused, the master is not
// shown as running a replaced binary, and install is next.
func TestAfterRollbackNothingIsStale(t *testing.T) {
	s := newScript(t, LangEnglish, 120, 40, idleInstance())
	s.upgradeTo(true)
	s.press(900*time.Millisecond, "r", "y")
	s.see(time.Second, rolledBackInstance())
	m := s.m
	if v := m.verdict(model.ActUpgrade); v.Allowed || !strings.Contains(v.Reason, "install a new build first") {
		t.Errorf("u after a rollback: %+v", v)
	}
	for _, l := range m.steps() {
		if l.state == stateDone || l.state == stateFailed {
			t.Errorf("step %s still %d after the rollback", l.label, l.state)
		}
	}
	if st := m.steps(); st[0].state != stateNext {
		t.Errorf("install is not next: %+v", st[0])
	}
	v := m.View()
	if strings.Contains(v, "exe replaced") || !strings.Contains(v, "SUMMARY") || !strings.Contains(v, "drain 38.") {
		t.Errorf("after the rollback:\n%s", v)
	}
	m, _ = press(t, m, "esc")
	if v := m.View(); strings.Contains(v, "SUMMARY") || strings.Contains(v, "✓") || !strings.Contains(v, "Just done: The old master is the only one again") {
		t.Errorf("after esc:\n%s", v)
	}
}

// The drain's time runs from WINCH until the old master has no children left.
func TestDrainTimeIsTheRealDrain(t *testing.T) {
	s := newScript(t, LangEnglish, 120, 40, idleInstance())
	s.upgradeTo(false)
	if l := s.m.steps()[3]; l.state != stateRunning || l.detail != "draining 5s" {
		t.Errorf("draining: %+v", l)
	}
	s.press(0, "l")
	s.see(33*time.Second, oldDrainedInstance())
	if l := s.m.steps()[3]; l.state != stateDone || l.detail != "38.3s" {
		t.Errorf("drained: %+v", l)
	}
}
