package ui

import (
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/hotdeploy/hotdeploy/model"
)

// run executes a command as bubbletea would and returns its message (nil for none).
func run(cmd tea.Cmd) tea.Msg {
	if cmd == nil {
		return nil
	}
	return cmd()
}

func TestQuitLeavesNginxAlone(t *testing.T) {
	for _, k := range []string{"q", "ctrl+c"} {
		m, _, act := newModel(t, Options{}, bothServingInstance())
		_, cmd := press(t, m, k)
		if _, ok := run(cmd).(tea.QuitMsg); !ok {
			t.Errorf("%s: want tea.Quit", k)
		}
		if calls := act.called(); len(calls) != 0 {
			t.Errorf("%s: quitting ran %v", k, calls)
		}
	}
}

func TestDisallowedKeyShowsReasonUntilNextKey(t *testing.T) {
	m, _, act := newModel(t, Options{}, idleInstance())
	m, _ = press(t, m, "u")
	if m.mode != modeNormal || m.dialog != nil {
		t.Fatalf("u on the running binary opened mode %d", m.mode)
	}
	if m.flash == nil || !m.flash.isErr || !strings.Contains(m.flash.text, "is the one already running") {
		t.Fatalf("flash = %+v, want the verdict's reason", m.flash)
	}
	if !strings.Contains(m.View(), "is the one already running") {
		t.Errorf("the reason is not on screen:\n%s", m.View())
	}
	for _, k := range []string{"w", "c"} {
		m, _ = press(t, m, k)
		if want := model.Check(m.inst, model.Context{}, mustAction(t, m, k)).Reason; m.flash == nil || !strings.Contains(m.flash.text, want) {
			t.Errorf("%s: flash = %+v, want %q", k, m.flash, want)
		}
	}
	m, _ = press(t, m, "x")
	if m.flash != nil {
		t.Errorf("the next key did not clear the message: %+v", m.flash)
	}
	if calls := act.called(); len(calls) != 0 {
		t.Errorf("refused keys ran %v", calls)
	}
}

func mustAction(t *testing.T, m Model, k string) model.Action {
	t.Helper()
	a, ok := m.keys.actionFor(k)
	if !ok {
		t.Fatalf("%q is no action key", k)
	}
	return a
}

func TestDisallowedKeysAreDimmed(t *testing.T) {
	m, _, _ := newModel(t, Options{}, idleInstance())
	hints := m.hints()
	for _, want := range []string{"i install", "t test", "(u start new)", "(w drain old)", "(c commit)", "? help", "q quit"} {
		if !strings.Contains(hints, want) {
			t.Errorf("idle hints %q lack %q", hints, want)
		}
	}
	m, _, _ = newModel(t, Options{}, bothServingInstance())
	hints = m.hints()
	for _, want := range []string{"(i install)", "(u start new)", "w drain old", "c commit", "r rollback"} {
		if !strings.Contains(hints, want) {
			t.Errorf("both-serving hints %q lack %q", hints, want)
		}
	}
	if strings.Contains(hints, "(w drain old)") {
		t.Errorf("w is dimmed while allowed: %q", hints)
	}
}

func TestReadOnlyHidesEveryAction(t *testing.T) {
	m, _, act := newModel(t, Options{ReadOnly: true}, bothServingInstance())
	hints := m.hints()
	for _, k := range []string{"install", "test", "start new", "drain old", "commit", "rollback"} {
		if strings.Contains(hints, k) {
			t.Errorf("read-only footer shows %q: %q", k, hints)
		}
	}
	for _, k := range []string{"i", "t", "u", "w", "c", "r"} {
		m, _ = press(t, m, k)
		if m.mode != modeNormal || m.flash == nil || !strings.Contains(m.flash.text, "read-only") {
			t.Errorf("%s in read-only: mode %d flash %+v", k, m.mode, m.flash)
		}
	}
	if calls := act.called(); len(calls) != 0 {
		t.Errorf("read-only ran %v", calls)
	}
}

func TestRollbackShownOnlyWhileOldMasterLives(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   model.Instance
		want bool
	}{
		{"idle", idleInstance(), false},
		{"installed, never started: rollback restores the running build", installedInstance(), true},
		{"both-serving", bothServingInstance(), true},
		{"old-draining", oldDrainingInstance(), true},
		{"old-drained", oldDrainedInstance(), true},
	} {
		m, _, _ := newModel(t, Options{}, tc.in)
		if got := strings.Contains(m.hints(), "rollback"); got != tc.want {
			t.Errorf("%s: rollback shown = %v, want %v (%q)", tc.name, got, tc.want, m.hints())
		}
		if !tc.want {
			m, _ = press(t, m, "r")
			if m.flash == nil || !strings.Contains(m.flash.text, "no upgrade is running") {
				t.Errorf("%s: r said %+v", tc.name, m.flash)
			}
		}
	}
}

func TestNoInstanceKeepsRescanning(t *testing.T) {
	m, src, _ := newModel(t, Options{})
	if v := m.View(); !strings.Contains(v, "no nginx master is running") || !strings.Contains(v, "Rescanning") {
		t.Fatalf("no-instance view:\n%s", v)
	}
	m, _ = press(t, m, "u")
	if m.flash == nil || !strings.Contains(m.flash.text, "no nginx master") {
		t.Errorf("u with no instance: %+v", m.flash)
	}
	src.set(idleInstance())
	msg := run(m.read())
	if _, ok := msg.(scanMsg); !ok {
		t.Fatalf("a read with no instance ran %T, want a scan", msg)
	}
	m = update(t, m, msg)
	if !m.hasInst || !strings.Contains(m.View(), "IDLE") {
		t.Errorf("the instance that appeared is not shown:\n%s", m.View())
	}
}

func TestRescanKeyScansAtOnce(t *testing.T) {
	m, src, _ := newModel(t, Options{}, idleInstance())
	other := idleInstance()
	other.PidFile = "/run/other.pid"
	src.set(idleInstance(), other)
	m, cmd := press(t, m, "s")
	if cmd == nil {
		t.Fatal("s read nothing")
	}
	msg, ok := run(cmd).(scanMsg)
	if !ok || len(msg.snap.Instances) != 2 {
		t.Fatalf("s ran %T with %+v, want a full scan", msg, msg.snap)
	}
	if m = update(t, m, msg); len(m.instances) != 2 {
		t.Errorf("the scan's second instance is not known: %d instances", len(m.instances))
	}
}

func TestReadDelay(t *testing.T) {
	none, _, _ := newModel(t, Options{Interval: 250 * time.Millisecond})
	shown, _, _ := newModel(t, Options{Interval: 250 * time.Millisecond}, idleInstance())
	if d := none.readDelay(); d != idleRescan {
		t.Errorf("with no instance the next read waits %s, want %s", d, idleRescan)
	}
	if d := shown.readDelay(); d != 250*time.Millisecond {
		t.Errorf("with an instance the next read waits %s, want the interval", d)
	}
}

func TestGoneInstanceFallsBackToScan(t *testing.T) {
	m, src, _ := newModel(t, Options{}, idleInstance())
	src.set()
	m = update(t, m, run(m.refreshCmd()))
	if m.hasInst || !m.scanDue {
		t.Fatalf("a vanished instance is still shown")
	}
	if _, ok := run(m.read()).(scanMsg); !ok {
		t.Errorf("no scan after the instance vanished")
	}
}

func TestStaleLoopResultsAreDropped(t *testing.T) {
	m, src, _ := newModel(t, Options{}, bothServingInstance())
	old := m.refreshCmd()
	m.kick()
	src.set(oldDrainingInstance())
	m, cmd := updateCmd(t, m, run(old))
	if cmd != nil {
		t.Errorf("a result of a replaced loop re-armed it")
	}
}

func TestPickerChoosesAmongInstances(t *testing.T) {
	a := idleInstance()
	b := bothServingInstance()
	b.PidFile = "/srv/site2/nginx.pid"
	m, _, _ := newModel(t, Options{}, a, b)
	if m.mode != modePicker {
		t.Fatalf("two instances: mode %d, want the picker", m.mode)
	}
	if v := m.View(); !strings.Contains(v, "2 nginx instances") || !strings.Contains(v, "/srv/site2/nginx.pid") {
		t.Errorf("picker:\n%s", v)
	}
	m, _ = press(t, m, "down", "enter")
	if m.mode != modeNormal || m.inst.PidFile != "/srv/site2/nginx.pid" {
		t.Fatalf("picked %q (mode %d)", m.inst.PidFile, m.mode)
	}
	m = update(t, m, run(m.scanCmd()))
	if m.inst.PidFile != "/srv/site2/nginx.pid" || m.mode != modeNormal {
		t.Errorf("a rescan lost the choice: %q", m.inst.PidFile)
	}
	if !strings.Contains(m.hints(), "p instances") {
		t.Errorf("no way back to the picker: %q", m.hints())
	}
}

func TestHiddenDetailsSayActionsNeedRoot(t *testing.T) {
	in := idleInstance()
	in.Hidden = []string{"/proc/1000/exe"}
	in.Binary, in.BinaryVersion = "", ""
	m, _, _ := newModel(t, Options{}, in)
	v := m.View()
	for _, want := range []string{"not root: cannot read /proc/1000/exe", "actions need root"} {
		if !strings.Contains(strings.ReplaceAll(v, "\n", " "), want) {
			t.Errorf("view lacks %q:\n%s", want, v)
		}
	}
	m, _ = press(t, m, "i")
	if m.flash == nil || !strings.Contains(m.flash.text, "not permitted") {
		t.Errorf("i without root: %+v", m.flash)
	}
}

func TestHelpShowsWhyKeysAreRefused(t *testing.T) {
	m, _, _ := newModel(t, Options{}, idleInstance())
	m, _ = press(t, m, "?")
	if m.mode != modeHelp {
		t.Fatalf("? opened mode %d", m.mode)
	}
	v := m.View()
	for _, want := range []string{"KEYS", "not now: the binary at /usr/sbin/nginx is the one already running",
		"rescan the host", "scroll the error log", "quit the dashboard; nginx is left as it is"} {
		if !strings.Contains(v, want) {
			t.Errorf("help lacks %q:\n%s", want, v)
		}
	}
	m, _ = press(t, m, "?")
	if m.mode != modeNormal {
		t.Errorf("? did not close the help")
	}
}

func TestActionsDisabledWithoutAuditLog(t *testing.T) {
	src := newFakeSource(bothServingInstance())
	snap, _ := src.Scan()
	m := New(Options{}, Deps{Source: src, ActorErr: "actions disabled: audit log /x: permission denied", Clock: fixedClock{t0}}, &snap)
	m, _ = press(t, m, "w")
	if m.mode != modeNormal || m.flash == nil || !strings.Contains(m.flash.text, "audit log") {
		t.Errorf("w without an audit log: mode %d flash %+v", m.mode, m.flash)
	}
}

func TestResizeKeepsScreenInBounds(t *testing.T) {
	for _, in := range []model.Instance{idleInstance(), bothServingInstance(), manyWorkers(64)} {
		m, _, _ := newModel(t, Options{}, in)
		for _, size := range [][2]int{{80, 24}, {200, 50}, {60, 20}, {120, 40}} {
			m = update(t, m, tea.WindowSizeMsg{Width: size[0], Height: size[1]})
			for _, mode := range []string{"", "c", "?"} {
				mm := m
				if mode != "" {
					mm, _ = press(t, m, mode)
				}
				checkBounds(t, mm.View(), size[0], size[1])
			}
		}
	}
}

func checkBounds(t *testing.T, v string, w, h int) {
	t.Helper()
	lines := strings.Split(v, "\n")
	if len(lines) != h {
		t.Errorf("%dx%d: %d lines", w, h, len(lines))
	}
	for i, l := range lines {
		if n := lipglossWidth(l); n > w {
			t.Errorf("%dx%d: line %d is %d wide: %q", w, h, i, n, l)
		}
	}
}

func TestErrorLogHighlightsCritical(t *testing.T) {
	m, src, _ := newModel(t, Options{}, idleInstance())
	src.logs = []string{"2026/01/02 03:04:05 [notice] 1000#1000: signal process started",
		"2026/01/02 03:04:06 [crit] 1001#1001: *1 open() failed"}
	m = update(t, m, run(m.refreshCmd()))
	v := m.View()
	if !strings.Contains(v, "03:04:05 [notice] 1000: signal process started") || !strings.Contains(v, "!! 03:04:06 [crit] 1001: *1 open()") {
		t.Errorf("log tail:\n%s", v)
	}
}
