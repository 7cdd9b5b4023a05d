package ui

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/traffic"
)

// fakeProbe serves fixed stats.
type fakeProbe struct{ st traffic.ProbeStats }

func (f fakeProbe) Stats() traffic.ProbeStats { return f.st }

// sampleProbe: 100 answers split between the old (1001) and new (2001) workers, 3 failures.
func sampleProbe() traffic.ProbeStats {
	st := traffic.ProbeStats{URL: "http://127.0.0.1:8080/", Started: t0.Add(-10 * time.Second), OK: 100, Failed: 3,
		Failures: map[string]int64{traffic.FailRefused: 2, traffic.FailTimeout: 1},
		P50:      850 * time.Microsecond, P99: 4200 * time.Microsecond,
		ByWorker: map[int]int64{1001: 60, 2001: 40}, LastError: "connection refused by 127.0.0.1:8080"}
	for i := 0; i < 10; i++ {
		sec := traffic.ProbeSecond{At: t0.Add(time.Duration(i-10) * time.Second), OK: 10}
		if i == 6 {
			sec.Failed = 3
		}
		st.PerSecond = append(st.PerSecond, sec)
	}
	return st
}

func newProofModel(t *testing.T, deps Deps, opts Options, in model.Instance) Model {
	t.Helper()
	src := newFakeSource(in)
	deps.Source, deps.Clock = src, fixedClock{t0}
	if deps.Actor == nil {
		deps.Actor = &fakeActor{}
	}
	m := New(opts, deps, nil)
	m = update(t, m, tea.WindowSizeMsg{Width: 120, Height: 40})
	return update(t, m, run(m.Init()))
}

func TestProbePanelShowsTrafficByGeneration(t *testing.T) {
	m := newProofModel(t, Deps{Probe: fakeProbe{sampleProbe()}}, Options{}, bothServingInstance())
	v := m.View()
	for _, want := range []string{
		"PROBE ok 100  failed 3  p50 850µs  p99 4.2ms",
		"refused 2  timeout 1: connection refused by 127.0.0.1:8080",
		"req/s ▇▇▇▇▇▇x▇▇▇",
		"served by master old 1000 60 · new 2000 40",
	} {
		if !strings.Contains(v, want) {
			t.Errorf("probe panel lacks %q:\n%s", want, v)
		}
	}
	// After a commit the old master is gone, but its workers' answers still count for it.
	in := synthInstance(synthMaster(2000, 1, model.GenCurrent, time.Minute, 2, 0))
	m = update(t, m, refreshMsg{key: in.Key(), in: in, seq: m.loop, extras: extras{probe: ptr(sampleProbe())}})
	if v := m.View(); !strings.Contains(v, "served by master 2000 40 · 1000 (exited) 60") {
		t.Errorf("after the old master left:\n%s", v)
	}
}

func ptr[T any](v T) *T { return &v }

func TestProbeErrorKeepsDashboardWorking(t *testing.T) {
	m := newProofModel(t, Deps{ProbeErr: `probe URL "ftp://x": only http:// and https:// URLs can be probed`}, Options{}, installedInstance())
	if v := m.View(); !strings.Contains(v, "PROBE off: probe URL \"ftp://x\": only http://") {
		t.Errorf("probe error not shown:\n%s", v)
	}
	m, _ = press(t, m, "u")
	if m.mode != modeConfirm {
		t.Errorf("the dashboard stopped working with a bad probe URL (mode %d)", m.mode)
	}
}

func TestConnectionsColumnAndDrainTime(t *testing.T) {
	in := oldDrainingInstance()
	in.Masters[0].Children[0].Conns = 1
	in.Masters[0].Children[1].Conns = 0
	for i := range in.Masters[1].Children {
		if in.Masters[1].Children[i].Role == model.RoleWorker {
			in.Masters[1].Children[i].Conns = 3
		}
	}
	m, _, _ := newModel(t, Options{}, in)
	v := m.View()
	if !strings.Contains(v, "CONNS") {
		t.Fatalf("no CONNS column:\n%s", v)
	}
	row := lineStarting(v, "1001 ")
	if !strings.Contains(row, "draining 47s") || !strings.HasSuffix(strings.TrimSpace(row), " 1") {
		t.Errorf("draining worker row %q: want its drain time and 1 connection", row)
	}
	if row := lineStarting(v, "2001 "); !strings.HasSuffix(strings.TrimSpace(row), " 3") {
		t.Errorf("new worker row %q: want 3 connections", row)
	}
	m, _, _ = newModel(t, Options{}, oldDrainingInstance())
	if strings.Contains(m.View(), "CONNS") {
		t.Errorf("CONNS shown when no count is known")
	}
}

func lineStarting(v, prefix string) string {
	for _, l := range strings.Split(v, "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return ""
}

// fakeHolder is a held download that never ends by itself.
type fakeHolder struct {
	pid    int
	done   chan struct{}
	once   sync.Once
	closed bool
}

func (h *fakeHolder) WorkerPID() int        { return h.pid }
func (h *fakeHolder) BytesRead() int64      { return 12 << 10 }
func (h *fakeHolder) Done() <-chan struct{} { return h.done }
func (h *fakeHolder) Close()                { h.once.Do(func() { h.closed = true; close(h.done) }) }

func TestHoldKeyHoldsOnOldGenerationAndReleases(t *testing.T) {
	var asked func(int) bool
	h := &fakeHolder{pid: 1001, done: make(chan struct{})}
	hold := func(_ context.Context, want func(int) bool) (Holder, error) { asked = want; return h, nil }
	m := newProofModel(t, Deps{Probe: fakeProbe{sampleProbe()}, Hold: hold}, Options{}, bothServingInstance())
	if !strings.Contains(m.View(), "l holds a slow download; l again releases it") {
		t.Errorf("no hint for l:\n%s", m.View())
	}
	m, cmd := press(t, m, "l")
	m = update(t, m, run(cmd))
	for pid, want := range map[int]bool{1001: true, 1002: true, 1003: false, 2001: false, 2002: false} {
		if asked(pid) != want {
			t.Errorf("hold accepts worker %d: %v, want %v", pid, asked(pid), want)
		}
	}
	m = update(t, m, run(m.refreshCmd()))
	if v := m.View(); !strings.Contains(v, "held: worker 1001 (old) 12K read; l again releases it") {
		t.Errorf("held download not shown:\n%s", v)
	}
	m, cmd = press(t, m, "l")
	if _, ok := run(cmd).(releasedMsg); !ok || !h.closed {
		t.Errorf("l did not close the held download")
	}
	if m.held != nil {
		t.Errorf("still holding after l")
	}

	plain, _, _ := newModel(t, Options{}, bothServingInstance())
	plain, _ = press(t, plain, "l")
	if plain.flash == nil || !strings.Contains(plain.flash.text, "demo only") {
		t.Errorf("l outside the demo: %+v", plain.flash)
	}
	if strings.Contains(plain.hints(), "hold") {
		t.Errorf("l shown outside the demo: %q", plain.hints())
	}
}

func TestGuideExplainsDoneAndNext(t *testing.T) {
	texts := map[string]string{}
	for _, k := range []string{"idle", "new-starting", "old-draining", "old-drained", "both-serving"} {
		texts[k] = "phase text " + k + "."
	}
	for _, a := range model.Actions {
		texts[a.String()+".before"] = "before " + a.String() + "."
		texts[a.String()+".after"] = "after " + a.String() + "."
	}
	narr := func(k string) (Narration, bool) { s, ok := texts[k]; return Narration{Long: s}, ok }
	cases := []struct {
		in         model.Instance
		done, next string
	}{
		{idleInstance(), "Now: phase text idle.", "Next: before install."},
		{installedInstance(), "Just done: after install.", "Next: before upgrade."},
		{bothServingInstance(), "Just done: after upgrade.", "Next: before drain."},
		{oldDrainingInstance(), "", "Now: phase text old-draining."},
		{oldDrainedInstance(), "Just done: after drain.", "Next: before commit."},
	}
	for _, tc := range cases {
		m := newProofModel(t, Deps{Narration: narr}, Options{demo: true}, tc.in)
		v := m.View()
		if !strings.Contains(v, tc.next) || (tc.done != "" && !strings.Contains(v, tc.done)) {
			t.Errorf("%s: guide lacks %q / %q:\n%s", tc.in.Phase, tc.done, tc.next, v)
		}
		m, _ = press(t, m, "g")
		if strings.Contains(m.View(), "GUIDE") {
			t.Errorf("%s: g did not hide the guide", tc.in.Phase)
		}
	}
	// After a step ran here, the guide tells that step's outcome.
	m := newProofModel(t, Deps{Narration: narr}, Options{demo: true}, bothServingInstance())
	m, cmd := press(t, m, "r", "y")
	m = update(t, m, run(cmd))
	if v := m.View(); !strings.Contains(v, "Just done: after rollback.") {
		t.Errorf("guide after a rollback:\n%s", v)
	}
}

func TestNarrationAssetsCoverEveryKey(t *testing.T) {
	keys := []string{"idle", "new-starting", "old-draining"}
	for _, a := range model.Actions {
		keys = append(keys, a.String()+".before", a.String()+".after")
	}
	for _, k := range keys {
		n, ok := narrationIn(LangEnglish)(k)
		text := n.Long
		if !ok {
			t.Errorf("assets/narration/%s.txt is missing", k)
			continue
		}
		if n := strings.Count(text, ". "); n > 4 || len(text) > 400 {
			t.Errorf("%s: %d sentences, %d bytes: keep it to two or three plain sentences", k, n+1, len(text))
		}
	}
}

func TestDemoGoldenWithProbeAndGuide(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {120, 40}} {
		t.Run(fmt.Sprintf("%dx%d", size[0], size[1]), func(t *testing.T) {
			m := newProofModel(t, Deps{Probe: fakeProbe{sampleProbe()}, Narration: narrationIn(LangEnglish),
				Hold: func(context.Context, func(int) bool) (Holder, error) { return nil, nil }},
				Options{demo: true, NewBinary: "/opt/nginx-1.26.2/sbin/nginx"}, bothServingInstance())
			m = update(t, m, tea.WindowSizeMsg{Width: size[0], Height: size[1]})
			checkBounds(t, m.View(), size[0], size[1])
			goldenView(t, m.View())
		})
	}
}
