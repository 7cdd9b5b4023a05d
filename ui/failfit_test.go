package ui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/upgrade"
)

// longDrainFailure is a drain that waited for the old workers to leave and gave up, as the
// runner reports it: with the step's name in front, its reason takes four or five lines beside
// the step list at 80 columns, and nginx's lines come with it.
func longDrainFailure() StepResult {
	held := model.Because("old master %d: %d children left, %d still accepting; draining: %s", 1000, 2, 0,
		model.Reasons{model.Because("%s %d for %s", model.RoleWorker, 1001, 5*time.Minute),
			model.Because("%s %d for %s", model.RoleWorker, 1002, 5*time.Minute)})
	why := model.Because("%d old processes still drain after %s: long-lived connections hold them (%s)", 2, 5*time.Minute, held)
	return StepResult{Err: &upgrade.StepError{Step: "drain", Reason: why.String(), Why: why, Log: []string{
		"2026/01/02 03:03:20 [notice] 1000#1000: signal 28 (SIGWINCH) received from 4242",
		"2026/01/02 03:03:20 [notice] 1000#1000: gracefully shutting down worker processes while 2 keep-alive downloads are held",
		"2026/01/02 03:08:20 [warn] 1001#1001: 2 worker connections are still open after 300s",
	}}}
}

// failureSizes are the sizes the failure of a step must read whole at: its title's start and the
// way back.
var failureSizes = [][2]int{{80, 24}, {80, 20}, {100, 30}, {120, 40}, {60, 20}, {40, 12}}

// wayBack is the part of the failure panel's last line that must show: the key and what it does.
func wayBack(tr translator) string {
	if tr.zh() {
		return tr.T("press r to roll back to the old binary")
	}
	return "press r to roll back"
}

// TestFailureKeepsTheWayBack: after a step failed with a long reason, at every size, in both
// languages, on the demo's screen (probe, guide, held download) and the plain one, the screen
// shows the failure's title and the line that says r rolls back: a long title is cut, never the
// way back.
func TestFailureKeepsTheWayBack(t *testing.T) {
	// What the refresh after the failure sees: the old workers draining, or still accepting (the
	// table keeps more rows for them).
	after := map[string]func() model.Instance{"draining": oldDrainingInstance, "both-serving": bothServingInstance}
	for _, lang := range Langs {
		for _, size := range failureSizes {
			for phase, in := range after {
				w, h := size[0], size[1]
				s := newScript(t, lang, w, h, idleInstance())
				s.m.deps.Actor.(*scriptActor).results[model.ActDrain] = longDrainFailure()
				s.see(time.Second, bothServingInstance())
				s.press(300*time.Millisecond, "w", "y")
				s.see(time.Second, in())

				m, src, act := newModel(t, Options{Lang: lang}, bothServingInstance())
				m = update(t, m, tea.WindowSizeMsg{Width: w, Height: h})
				act.result = longDrainFailure()
				m, cmd := press(t, m, "w", "y")
				m = update(t, m, run(cmd))
				src.set(in())
				m = update(t, m, run(m.refreshCmd()))

				for name, m := range map[string]Model{"demo": s.m, "plain": m} {
					if !m.verdict(model.ActRollback).Allowed {
						t.Fatalf("%s %s %s: rollback not allowed after the failed drain", lang, name, phase)
					}
					v := m.View()
					checkBounds(t, v, w, h)
					head := strings.TrimSpace(m.tr.T("%s failed: %s", m.title(model.ActDrain), ""))
					for _, want := range []string{head, wayBack(m.tr)} {
						if !strings.Contains(v, want) {
							t.Errorf("%s %s %s at %dx%d: the failure lacks %q:\n%s", lang, name, phase, w, h, want, v)
						}
					}
				}
			}
		}
	}
}

// TestFailurePanelCutsTheTitle: the failure panel never draws more lines than it is given; its
// last line is the way back; a title longer than the room left is cut at a word, with an
// ellipsis; nginx's lines take what the title leaves.
func TestFailurePanelCutsTheTitle(t *testing.T) {
	for _, lang := range Langs {
		m, _, _ := newModel(t, Options{Lang: lang}, oldDrainingInstance())
		m = update(t, m, stepDoneMsg{action: model.ActDrain, res: longDrainFailure()})
		o, s, ell := m.output, m.styles, m.styles.G.Ellipsis
		for _, width := range []int{26, 46, 80} {
			full := wrap(o.title, width)
			for height := 2; height <= 12; height++ {
				name := fmt.Sprintf("%s %dx%d", lang, width, height)
				lines := strings.Split(renderOutput(s, m.tr, o, true, width, height), "\n")
				if len(lines) > height {
					t.Errorf("%s: %d lines", name, len(lines))
				}
				for i, l := range lines {
					if cellWidth(l) > width {
						t.Errorf("%s: line %d is %d wide: %q", name, i, cellWidth(l), l)
					}
				}
				if last := lines[len(lines)-1]; !strings.Contains(last, wayBack(m.tr)) {
					t.Errorf("%s: the last line is %q, want the way back", name, last)
				}
				shown := min(len(full), height-1)
				if !strings.HasPrefix(lines[0], strings.TrimSuffix(full[0], ell)[:4]) {
					t.Errorf("%s: the first line %q is not the title's", name, lines[0])
				}
				if shown < len(full) {
					if cut := strings.TrimRight(lines[shown-1], " "); !strings.HasSuffix(cut, ell) {
						t.Errorf("%s: the title is cut at %q, with no ellipsis:\n%s", name, cut, strings.Join(lines, "\n"))
					}
				}
				newest := hangingWrap(shortLogLine(o.lines[len(o.lines)-1]), width)
				if height-1-len(full) >= len(newest) && !strings.Contains(strings.Join(lines, "\n"), "300s") {
					t.Errorf("%s: nginx's newest line is not shown under the whole title:\n%s", name, strings.Join(lines, "\n"))
				}
			}
		}
	}
}

// TestStepListKeepsTheWayBack: once esc closed the failure panel, the step list still shows the
// step that failed and the line that says r rolls back, at every size, in both languages: a
// list longer than its rows leaves out steps done or to come, never those two.
func TestStepListKeepsTheWayBack(t *testing.T) {
	for _, lang := range Langs {
		for _, size := range failureSizes {
			w, h := size[0], size[1]
			s := newScript(t, lang, w, h, idleInstance())
			s.m.deps.Actor.(*scriptActor).results[model.ActDrain] = longDrainFailure()
			s.see(time.Second, bothServingInstance())
			s.press(300*time.Millisecond, "w", "y")
			s.see(time.Second, oldDrainingInstance())
			s.press(0, "esc")

			m, src, act := newModel(t, Options{Lang: lang}, bothServingInstance())
			m = update(t, m, tea.WindowSizeMsg{Width: w, Height: h})
			act.result = longDrainFailure()
			m, cmd := press(t, m, "w", "y")
			m = update(t, m, run(cmd))
			src.set(oldDrainingInstance())
			m = update(t, m, run(m.refreshCmd()))
			m, _ = press(t, m, "esc")

			for name, m := range map[string]Model{"demo": s.m, "plain": m} {
				if m.output != nil {
					t.Fatalf("%s %s: esc left the failure panel open", lang, name)
				}
				v := m.View()
				checkBounds(t, v, w, h)
				failed := m.styles.G.Failed + " " + m.tr.T(stepLabels[model.ActDrain])
				for _, want := range []string{failed, m.tr.T("possible: r")} {
					if !strings.Contains(v, want) {
						t.Errorf("%s %s at %dx%d: the step list lacks %q:\n%s", lang, name, w, h, want, v)
					}
				}
			}
		}
	}
}

// TestKeyLineKeepsRollbackWhenNarrow: on a screen too narrow for every key, the key line leaves
// out the keys refused now before it cuts the ones that work: r (the way back) stays, and q from
// 50 columns, in both languages, after a failed step too.
func TestKeyLineKeepsRollbackWhenNarrow(t *testing.T) {
	for _, lang := range Langs {
		for _, w := range []int{40, 50, 60} {
			for _, in := range []model.Instance{bothServingInstance(), oldDrainingInstance(), oldDrainedInstance()} {
				m, _, act := newModel(t, Options{Lang: lang}, in)
				m = update(t, m, tea.WindowSizeMsg{Width: w, Height: 20})
				views := map[string]Model{"": m}
				if in.Phase == model.PhaseBothServing {
					act.result = longDrainFailure()
					failed, cmd := press(t, m, "w", "y")
					views["after a failed drain"] = update(t, failed, run(cmd))
				}
				for name, m := range views {
					h := m.hints()
					if cellWidth(h) > w {
						t.Errorf("%s %s %s at %d: the key line is %d wide", lang, in.Phase, name, w, cellWidth(h))
					}
					for _, want := range []string{"r " + m.tr.T("rollback"), "q " + m.tr.T("quit")} {
						if !strings.Contains(h, want) && (w >= 50 || strings.HasPrefix(want, "r ")) {
							t.Errorf("%s %s %s at %d columns: the key line %q lacks %q", lang, in.Phase, name, w, h, want)
						}
					}
				}
			}
		}
	}
}

// orphanedInstance is the old master alone after the new master was killed mid-drain: its
// workers, reparented, still accept on the sockets they inherited.
func orphanedInstance() model.Instance {
	in := idleInstance()
	in.Masters[0].ExeReplaced = true
	in.BinaryDiffers = true
	for _, pid := range []int{2001, 2002} {
		w := proc(pid, 1, model.RoleWorker, model.GenNew, time.Minute)
		in.Orphans = append(in.Orphans, w)
	}
	return in
}

// TestRollbackOfferedForADeadMastersProcesses: the new master killed while the old workers
// drained leaves its workers behind; rollback is allowed (it ends them), and the failure panel
// says to press r. The key line and the step list say so too, also once esc closed the panel.
func TestRollbackOfferedForADeadMastersProcesses(t *testing.T) {
	for _, lang := range Langs {
		m, src, act := newModel(t, Options{Lang: lang}, bothServingInstance())
		m = update(t, m, tea.WindowSizeMsg{Width: 80, Height: 24})
		why := model.Because("the new master %d exited while the old workers drained; roll back to restart the old workers", 2000)
		act.result = StepResult{Err: &upgrade.StepError{Step: "drain", Reason: why.String(), Why: why}}
		m, cmd := press(t, m, "w", "y")
		m = update(t, m, run(cmd))
		src.set(orphanedInstance())
		m = update(t, m, run(m.refreshCmd()))
		if !m.verdict(model.ActRollback).Allowed {
			t.Fatalf("%s: rollback refused with the dead master's workers running: %+v", lang, m.verdict(model.ActRollback))
		}
		closed, _ := press(t, m, "esc")
		for name, m := range map[string]Model{"failure panel": m, "closed": closed} {
			v := m.View()
			want := []string{"r " + m.tr.T("rollback")}
			if name == "closed" {
				want = append(want, m.tr.T("possible: r"))
			} else {
				want = append(want, wayBack(m.tr))
			}
			for _, w := range want {
				if !strings.Contains(v, w) {
					t.Errorf("%s %s: the screen lacks %q:\n%s", lang, name, w, v)
				}
			}
		}
	}
}

// TestFailedStepStaysWhileADeadMastersProcessesRun: the new master's death leaves one master, but
// not an upgrade that ended: its workers still serve. The step list keeps the failed drain (the
// step list starts again only when one master serves alone), in both languages.
func TestFailedStepStaysWhileADeadMastersProcessesRun(t *testing.T) {
	for _, lang := range Langs {
		s := newScript(t, lang, 80, 24, idleInstance())
		s.m.deps.Actor.(*scriptActor).results[model.ActDrain] = longDrainFailure()
		s.see(time.Second, installedInstance())
		s.press(600*time.Millisecond, "u", "y")
		s.see(2*time.Second, bothServingInstance())
		s.press(300*time.Millisecond, "w", "y")
		s.press(0, "esc")
		s.see(time.Second, orphanedInstance())
		v := s.m.View()
		if want := s.m.styles.G.Failed + " " + s.m.tr.T(stepLabels[model.ActDrain]); !strings.Contains(v, want) {
			t.Errorf("%s: the failed drain left the step list while the dead master's workers run:\n%s", lang, v)
		}

		s.see(time.Second, idleInstance()) // the rollback, or their own end, took them: the upgrade is over
		if r := s.m.record.rec(model.ActDrain); r != nil {
			t.Errorf("%s: the step list kept the drain once one master served alone", lang)
		}
	}
}

// brokenConfigTest is the config test of the broken-config scenario as the runner reports it: a
// refusal whose reason, nginx's own line, comes after the command that was run.
func brokenConfigTest() StepResult {
	emerg := `2026/01/02 03:04:05 [emerg] 2100#2100: unknown directive "hotdeploy_demo_broken_directive" in /etc/nginx/nginx.conf:48`
	why := model.Because("config test with %s %s failed: %s", "/opt/nginx-1.26.2/sbin/nginx",
		"-p /usr/share/nginx -c /etc/nginx/nginx.conf -t", emerg)
	lines := []string{emerg, "nginx: configuration file /etc/nginx/nginx.conf test failed"}
	return StepResult{Lines: lines, Err: &upgrade.StepError{Step: "test", Refused: true, Reason: why.String(), Why: why, Log: lines}}
}

// TestFailureTitleWholeBeforeTheProbe: beside the demo's probe, a failure's title is shown whole
// (what nginx said ends it) while the probe can give way to its short form, at 80x24 and 80x20,
// in both languages.
func TestFailureTitleWholeBeforeTheProbe(t *testing.T) {
	for _, lang := range Langs {
		for _, size := range [][2]int{{80, 24}, {80, 20}} {
			s := newScript(t, lang, size[0], size[1], idleInstance())
			s.m.deps.Actor.(*scriptActor).results[model.ActTest] = brokenConfigTest()
			s.see(time.Second, installedInstance())
			var cmd tea.Cmd
			s.m, cmd = updateCmd(t, s.m, keyMsg("t")) // the test runs at once, with no dialog
			s.m = update(t, s.m, run(cmd))
			v := s.m.View()
			checkBounds(t, v, size[0], size[1])
			if s.m.output == nil {
				t.Fatalf("%s: no result panel after the config test:\n%s", lang, v)
			}
			// The way back ends the panel: the candidate was installed, and rollback puts the
			// running build back on disk (DESIGN.md safety rule 5).
			for _, want := range []string{"nginx.conf:48", s.m.tr.T("press r to roll back to the old binary")} {
				if !strings.Contains(v, want) {
					t.Errorf("%s %dx%d: the failure lacks %q:\n%s", lang, size[0], size[1], want, v)
				}
			}
		}
	}
}
