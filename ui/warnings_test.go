package ui

import (
	"strings"
	"testing"
	"time"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/supervisor"
	"github.com/hotdeploy/hotdeploy/nginxctl/upgrade"
)

// warnedInstance is both serving under systemd after a `systemctl reload` mid-upgrade, in a
// container, with a pid file the scan found stale: three warnings, each longer than a line.
func warnedInstance() model.Instance {
	in := bothServingInstance()
	unit := supervisor.Unit{Name: "nginx.service", ActiveState: "active", SubState: "running", Type: "forking",
		PIDFile: "/run/nginx.pid", MainPID: 2000}
	in.Warn(supervisor.ReloadTrap(in, unit).Reason())
	in.Warn(supervisor.CheckPidFile("/var/run/nginx/nginx.pid", unit).Reason())
	in.Warn(model.Because("pid file %s is stale: it names pid %d, which is no master of this instance (master %d)",
		"/run/nginx.pid", 4242, 1000))
	s := supervisor.ClassifyParent(supervisor.Parent{PID: 1, Comm: "tini", InContainer: true})
	in.Supervisor, in.SupervisorWhy = s.String(), s.Reason()
	return in
}

// drainFailed is a drain that failed with the old workers still draining.
func drainFailed() StepResult {
	state := model.Because("old master %d: %d children left, %d still accepting; draining: %s", 1000, 2, 0,
		model.Reasons{model.Because("%s %d for %s", model.RoleWorker, 1001, 3*time.Second),
			model.Because("%s %d for %s", model.RoleWorker, 1002, 3*time.Second)})
	why := model.Because("the new master %d exited while the old workers drained; roll back to restart the old workers", 2000)
	return StepResult{Lines: []string{state.String()}, Whys: []model.Reason{state},
		Err: &upgrade.StepError{Step: "drain", Reason: why.String(), Why: why}}
}

// warnedDrainFailed leaves the warned instance with its drain failed: the golden view of the
// warnings beside a failure.
func warnedDrainFailed(s *script) {
	s.m.deps.Actor.(*scriptActor).results[model.ActDrain] = drainFailed()
	s.see(time.Second, warnedInstance())
	s.press(300*time.Millisecond, "w", "y")
}

// TestWarningsFitTheHeader: the instance's warnings are drawn under the header, one line each
// cut at a word with an ellipsis (never wrapped), one on a small screen and up to three on a
// tall one, the last saying how many it leaves out; the panels below the table, where the
// failure shows, lose nothing they show without the warnings.
func TestWarningsFitTheHeader(t *testing.T) {
	for _, lang := range Langs {
		for _, size := range [][3]int{{80, 24, 1}, {120, 40, 3}, {200, 50, 3}} {
			w, h, lines := size[0], size[1], size[2]
			views := map[bool]string{}
			var m Model
			for _, warn := range []bool{false, true} {
				s := newScript(t, lang, w, h, idleInstance())
				warnedDrainFailed(s)
				if !warn {
					in := warnedInstance()
					in.Warnings, in.WarningsWhy = nil, nil
					s.see(0, in)
				}
				views[warn], m = s.m.View(), s.m
				checkBounds(t, views[warn], w, h)
			}
			v, tr := views[true], m.tr
			lower := belowTable(tr, v)
			for _, l := range strings.Split(belowTable(tr, views[false]), "\n") {
				if !strings.Contains(lower, l) {
					t.Errorf("%s %dx%d: the warnings push %q out of the panels below the table:\n%s", lang, w, h, l, lower)
				}
			}
			if m.output == nil || !strings.Contains(v, wrap(m.output.title, w-stepsWidth(w)-2)[0]) {
				t.Errorf("%s %dx%d: no failure shown:\n%s", lang, w, h, v)
			}
			label := tr.T("warning") + " "
			var got []string
			for _, l := range strings.Split(v, "\n") {
				if strings.HasPrefix(l, label) {
					got = append(got, strings.TrimRight(l, " "))
				}
			}
			in := warnedInstance()
			if len(got) != lines {
				t.Fatalf("%s %dx%d: %d warning lines, want %d:\n%s", lang, w, h, len(got), lines, v)
			}
			for i, l := range got {
				text := strings.TrimPrefix(l, label)
				if more := tr.T(" (+%d more)", len(in.Warnings)-lines); i == lines-1 && lines < len(in.Warnings) {
					if !strings.HasSuffix(text, more) {
						t.Errorf("%s %dx%d: the last warning line %q does not say %q", lang, w, h, l, more)
					}
					text = strings.TrimSuffix(text, more)
				}
				full := tr.say(in.WarningsWhy[i], in.Warnings[i])
				cut, ok := strings.CutSuffix(text, m.styles.G.Ellipsis)
				switch {
				case !ok && text != full:
					t.Errorf("%s %dx%d: warning line %q is neither whole nor cut with an ellipsis", lang, w, h, l)
				case ok && !strings.HasPrefix(full, cut):
					t.Errorf("%s %dx%d: warning line %q is not the start of %q", lang, w, h, l, full)
				case ok && lang == LangEnglish && !strings.HasPrefix(full[len(cut):], " "):
					t.Errorf("%s %dx%d: warning line %q cuts inside a word of %q", lang, w, h, l, full)
				}
			}
		}
	}
}

// belowTable is what a view draws from the step list down, its blank lines left out.
func belowTable(tr translator, v string) string {
	var out []string
	for _, l := range strings.Split(v, "\n") {
		if l = strings.TrimRight(l, " "); strings.HasPrefix(l, tr.T("STEPS")) || len(out) > 0 && l != "" {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
