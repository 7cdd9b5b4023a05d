package ui

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest"
	"golang.org/x/text/width"

	"github.com/hotdeploy/hotdeploy/model"
)

// sampleLog is what the synthetic error log shows.
var sampleLog = []string{
	"2026/01/02 03:03:18 [notice] 1000#1000: signal 12 (SIGUSR2) received from 4242, changing binary",
	"2026/01/02 03:03:18 [notice] 1000#1000: start new binary process 2000",
	"2026/01/02 03:03:18 [notice] 2000#2000: using inherited sockets from \"6;7;\"",
	"2026/01/02 03:03:18 [notice] 2000#2000: start worker processes",
	"2026/01/02 03:03:19 [crit] 2001#2001: *12 open() \"/var/cache/nginx/x\" failed (13: Permission denied)",
	"2026/01/02 03:03:20 [notice] 1000#1000: signal 28 (SIGWINCH) received from 4242",
}

// goldenStates are the views the golden files hold, each reached by a script of the operator's
// keys on a demo-like dashboard (probe, guide, held download).
var goldenStates = []struct {
	name string
	run  func(s *script)
}{
	{"idle", func(s *script) {}},
	{"both-serving-dialog", func(s *script) {
		s.see(time.Second, installedInstance())
		s.press(600*time.Millisecond, "u", "y")
		s.see(2*time.Second, bothServingInstance())
		s.press(0, "w")
	}},
	{"old-draining-held", func(s *script) { s.upgradeTo(false) }},
	{"summary-after-commit", func(s *script) {
		s.upgradeTo(true)
		s.press(200*time.Millisecond, "c", "y")
		s.see(time.Second, committedInstance())
	}},
	{"summary-after-rollback", func(s *script) {
		s.upgradeTo(false)
		s.press(900*time.Millisecond, "r", "y")
		s.see(time.Second, rolledBackInstance())
	}},
	{"warnings-drain-failed", warnedDrainFailed},
}

// TestGoldenViews renders each state in English and Chinese at 80x24 and 120x40 through a real
// bubbletea program (teatest) without colour, and compares it with
// testdata/TestGoldenViews/<lang>/<state>_<size>.golden. Regenerate with
// `go test ./ui -run TestGoldenViews -update` and read the diff before committing it.
func TestGoldenViews(t *testing.T) {
	for _, lang := range Langs {
		for _, st := range goldenStates {
			for _, size := range [][2]int{{80, 24}, {120, 40}} {
				t.Run(fmt.Sprintf("%s/%s_%dx%d", lang, st.name, size[0], size[1]), func(t *testing.T) {
					s := newScript(t, lang, size[0], size[1], idleInstance())
					st.run(s)
					v := renderThroughProgram(t, s.m, size[0], size[1])
					checkBounds(t, v, size[0], size[1])
					if lang == LangChinese {
						checkNoAmbiguous(t, v)
					}
					golden.RequireEqual(t, []byte(v))
				})
			}
		}
	}
}

// renderThroughProgram runs the model in a bubbletea program at a size and returns its last view.
func renderThroughProgram(t *testing.T, m Model, w, h int) string {
	t.Helper()
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(w, h))
	waitScreen(t, tm, "hotdeploy")
	if err := tm.Quit(); err != nil {
		t.Fatal(err)
	}
	return tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(Model).View()
}

// checkNoAmbiguous fails on a rune whose width East Asian terminals disagree on: the Chinese
// screen must look the same whatever width a terminal gives them.
func checkNoAmbiguous(t *testing.T, v string) {
	t.Helper()
	for i, line := range strings.Split(v, "\n") {
		for _, r := range line {
			if width.LookupRune(r).Kind() == width.EastAsianAmbiguous {
				t.Errorf("line %d has the ambiguous-width %q (U+%04X): %q", i, r, r, line)
			}
		}
	}
}

// TestGolden renders the plain dashboard (no probe, no guide) through a real bubbletea program
// at 80x24 and 120x40, compared with testdata/TestGolden/*.golden.
func TestGolden(t *testing.T) {
	cases := []struct {
		name string
		ins  []model.Instance
		keys []string
		want string // text that shows the screen reached its state
	}{
		{"idle", []model.Instance{idleInstance()}, nil, "[ IDLE ]"},
		{"both-serving-commit-dialog", []model.Instance{bothServingInstance()}, []string{"c"}, "Cannot be undone"},
		{"old-draining", []model.Instance{oldDrainingInstance()}, nil, "[ OLD-DRAINING ]"},
		{"no-instance", nil, nil, "no nginx master is running"},
	}
	for _, tc := range cases {
		for _, size := range [][2]int{{80, 24}, {120, 40}} {
			t.Run(fmt.Sprintf("%s_%dx%d", tc.name, size[0], size[1]), func(t *testing.T) {
				src := newFakeSource(tc.ins...)
				src.logs = sampleLog
				m := New(Options{NewBinary: "/opt/nginx-1.26.2/sbin/nginx"},
					Deps{Source: src, Actor: &fakeActor{}, Clock: fixedClock{t0}}, nil)
				tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(size[0], size[1]))
				if len(tc.keys) > 0 {
					// The keys go to the instance: wait until it is on screen (its phase
					// badge), not only the footer, which shows before the first scan returns.
					waitScreen(t, tm, "[ "+strings.ToUpper(tc.ins[0].Phase.String())+" ]")
					for _, k := range tc.keys {
						tm.Send(keyMsg(k))
					}
				}
				waitScreen(t, tm, tc.want)
				if err := tm.Quit(); err != nil {
					t.Fatal(err)
				}
				final := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(Model)
				golden.RequireEqual(t, []byte(final.View()))
			})
		}
	}
}

// waitScreen waits, bounded, until the program drew text.
func waitScreen(t *testing.T, tm *teatest.TestModel, text string) {
	t.Helper()
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte(text)) },
		teatest.WithDuration(5*time.Second), teatest.WithCheckInterval(5*time.Millisecond))
}

// goldenView compares a view rendered without a program with testdata/<test name>.golden.
func goldenView(t *testing.T, v string) {
	t.Helper()
	golden.RequireEqual(t, []byte(v))
}
