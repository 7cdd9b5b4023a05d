package ui

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest"

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

// TestGolden renders whole screens through a real bubbletea program (teatest) at 80x24 and
// 120x40 without colour, and compares them with testdata/TestGolden/*.golden. Regenerate with
// `go test ./ui -run TestGolden -update` and read the diff before committing it.
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
					waitScreen(t, tm, "refresh 250ms")
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
