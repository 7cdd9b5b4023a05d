package ui

import (
	"strings"
	"time"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/audit"
	"github.com/hotdeploy/hotdeploy/nginxctl/inspect"
	"github.com/hotdeploy/hotdeploy/nginxctl/traffic"
	"github.com/hotdeploy/hotdeploy/nginxctl/upgrade"
)

// stepRecord is what the dashboard saw of a step it ran.
type stepRecord struct {
	start, end time.Time
	// settled is when the step's effect was complete, if later than its end: the drain step
	// returns once no old worker accepts, but the old workers are gone only when their last
	// connections end.
	settled time.Time
	err     error
	// master is the master the step was sent to (the old one, for the drain).
	master int
}

// stepLog remembers the steps run in the upgrade under way. It only adds timings and failures:
// whether a step is done comes from the live phase, so a restarted dashboard shows the truth too.
// A commit or a rollback ends the upgrade: its record becomes the summary, and the list starts
// again from what is true.
type stepLog struct {
	recs map[model.Action]*stepRecord
	// began is when the first step of this upgrade started, probeAt the probe's reading then
	// (the summary counts what the probe saw since).
	began   time.Time
	probeAt *traffic.ProbeStats
	// installed is what the install step put in place; before is the instance as the last step
	// began (the summary names its masters: the ending step changes them).
	installed *audit.Install
	before    model.Instance
	// sawUpgrade is set once a refresh showed the upgrade under way (two masters, or USR2
	// accepted): only after that does one master alone mean it ended.
	sawUpgrade bool
}

func (l *stepLog) begin(a model.Action, now time.Time, in model.Instance, probe *traffic.ProbeStats) {
	if l.recs == nil {
		l.recs, l.began = map[model.Action]*stepRecord{}, now
		if probe != nil {
			p := *probe
			l.probeAt = &p
		}
	}
	l.recs[a] = &stepRecord{start: now}
	if len(in.Masters) > 0 {
		l.recs[a].master = in.Masters[0].PID
	}
	l.before = in
}

func (l *stepLog) end(a model.Action, now time.Time, err error) {
	if r := l.recs[a]; r != nil {
		r.end, r.err = now, err
	}
}

func (l *stepLog) rec(a model.Action) *stepRecord {
	if l.recs == nil {
		return nil
	}
	return l.recs[a]
}

// last is the step that finished last, and which one it was.
func (l *stepLog) last() (*stepRecord, model.Action) {
	var last *stepRecord
	var act model.Action
	for _, a := range model.Actions {
		if r := l.rec(a); r != nil && !r.end.IsZero() && (last == nil || r.end.After(last.end)) {
			last, act = r, a
		}
	}
	return last, act
}

// settle notes when the drain's effect completed: the old master has no children left, or it
// is gone (a commit). A rollback keeps it, with the workers that still drain: that drain never
// completed. It runs on every refresh.
func (l *stepLog) settle(in model.Instance, now time.Time) {
	if l.rec(model.ActUpgrade) != nil && in.Phase != model.PhaseIdle {
		l.sawUpgrade = true
	}
	r := l.rec(model.ActDrain)
	if r == nil || r.err != nil || r.end.IsZero() || !r.settled.IsZero() || len(in.Masters) == 0 {
		return
	}
	if in.Phase == model.PhaseOldDrained || (in.Phase == model.PhaseIdle && in.Masters[0].PID != r.master) {
		r.settled = now
	}
}

// stepState is how a step stands.
type stepState int

const (
	statePending stepState = iota
	stateNext
	stateRunning
	stateDone
	stateFailed
)

// stepLine is one line of the step list.
type stepLine struct {
	action model.Action
	label  string
	state  stepState
	detail string
}

var stepLabels = map[model.Action]string{
	model.ActInstall:  N("install binary"),
	model.ActTest:     N("test config"),
	model.ActUpgrade:  N("start new  USR2"),
	model.ActDrain:    N("drain old  WINCH"),
	model.ActCommit:   N("commit     QUIT"),
	model.ActRollback: N("roll back"),
}

// derivedSteps reads off the live phase which steps are done or under way.
func (m Model) derivedSteps() (map[model.Action]stepState, map[model.Action]string) {
	in, t := m.inst, m.tr
	state, detail := map[model.Action]stepState{}, map[model.Action]string{}
	if (in.BinaryDiffers && !in.BinarySameBytes) || in.Phase != model.PhaseIdle {
		state[model.ActInstall] = stateDone
	}
	switch in.Phase {
	case model.PhaseNewStarting:
		state[model.ActUpgrade], detail[model.ActUpgrade] = stateRunning, t.T("starting")
	case model.PhaseBothServing:
		state[model.ActUpgrade] = stateDone
	case model.PhaseOldDraining:
		state[model.ActUpgrade], state[model.ActDrain] = stateDone, stateRunning
		since := drainingSince(in)
		if r := m.record.rec(model.ActDrain); r != nil {
			since = r.start // WINCH was sent then
		}
		detail[model.ActDrain] = t.T("draining %s", inspect.Uptime(m.now, since))
	case model.PhaseOldDrained:
		state[model.ActUpgrade], state[model.ActDrain] = stateDone, stateDone
	}
	if nw := in.New(); nw != nil && state[model.ActUpgrade] == stateDone {
		detail[model.ActUpgrade] = t.T("up %s", inspect.Uptime(m.now, nw.Started))
	}
	return state, detail
}

// steps derives the step list from the live phase, the records and the verdicts.
func (m Model) steps() []stepLine {
	t, now := m.tr, m.now
	derived, detail := m.derivedSteps()
	order := []model.Action{model.ActInstall, model.ActTest, model.ActUpgrade, model.ActDrain, model.ActCommit}
	if r := m.record.rec(model.ActRollback); r != nil || m.rollbackApplies() {
		order = append(order, model.ActRollback)
	}
	var lines []stepLine
	nextMarked := false
	for _, a := range order {
		l := stepLine{action: a, label: t.T(stepLabels[a]), state: derived[a], detail: detail[a]}
		if r := m.record.rec(a); r != nil {
			switch {
			case r.end.IsZero():
				l.state, l.detail = stateRunning, seconds(now.Sub(r.start))
			case r.err != nil && upgrade.IsRefused(r.err):
				l.state, l.detail = stateFailed, t.T("refused %s", seconds(r.end.Sub(r.start)))
			case r.err != nil:
				l.state, l.detail = stateFailed, t.T("failed %s", seconds(r.end.Sub(r.start)))
			case l.state == stateRunning:
				// the step returned, its effect is still under way (old workers draining)
			case !r.settled.IsZero():
				l.state, l.detail = stateDone, seconds(r.settled.Sub(r.start))
			default:
				l.state, l.detail = stateDone, seconds(r.end.Sub(r.start))
			}
		}
		if l.state == statePending && !nextMarked && a != model.ActTest && a != model.ActRollback && m.verdict(a).Allowed {
			l.state, nextMarked = stateNext, true
		}
		if a == model.ActRollback && l.state == statePending {
			switch {
			case m.quitSent != 0:
				l.detail = t.T("not after QUIT")
			case !m.verdict(a).Allowed:
				l.detail = t.T("not possible now")
			default:
				l.detail = t.T("possible: r")
			}
		}
		lines = append(lines, l)
	}
	return lines
}

// drainingSince is when the oldest draining worker was first seen draining.
func drainingSince(in model.Instance) time.Time {
	var first time.Time
	if old := in.Old(); old != nil {
		for _, c := range old.Children {
			if c.ShuttingDown && !c.DrainingSince.IsZero() && (first.IsZero() || c.DrainingSince.Before(first)) {
				first = c.DrainingSince
			}
		}
	}
	return first
}

// renderSteps draws the step list in width x height cells (or fewer rows): when it is longer,
// the title goes first, then steps done or not possible yet, then the next one; a step that
// failed or runs, and the rollback line, always show.
func renderSteps(s *Styles, t translator, lines []stepLine, width, height int) string {
	g := s.G
	var rows []string
	if len(lines)+1 <= height {
		rows = append(rows, s.PanelTitle.Render(t.T("STEPS")))
	} else {
		lines = keepSteps(lines, height)
	}
	for _, l := range lines {
		mark, st := g.Pending, s.StepNext
		switch l.state {
		case stateNext:
			mark, st = g.Next, s.StepCurrent
			if l.detail == "" {
				l.detail = t.T("next")
			}
		case stateRunning:
			mark, st = g.Running, s.StepCurrent
		case stateDone:
			mark, st = g.Done, s.StepDone
		case stateFailed:
			mark, st = g.Failed, s.StepFailed
		case statePending:
			st = s.Muted
		}
		text := fitE(mark+" "+l.label, 18, g.Ellipsis) + " " + l.detail
		rows = append(rows, st.Render(fitE(cutWords(text, width, g.Ellipsis), width, g.Ellipsis)))
	}
	return strings.Join(rows, "\n")
}

// keepSteps leaves out lines of the step list, from the top, until at most rows are left: steps
// done or not possible yet, then the next one. A failed or running step and the rollback line
// stay.
func keepSteps(lines []stepLine, rows int) []stepLine {
	out := append([]stepLine(nil), lines...)
	for _, drop := range []func(stepLine) bool{
		func(l stepLine) bool { return l.state == stateDone || l.state == statePending },
		func(l stepLine) bool { return l.state == stateNext },
	} {
		for i := 0; i < len(out) && len(out) > rows; {
			if out[i].action != model.ActRollback && drop(out[i]) {
				out = append(out[:i], out[i+1:]...)
				continue
			}
			i++
		}
	}
	return out
}

// endedElsewhere starts the list again when the upgrade it records ended without a commit or
// rollback from here (another operator, a script, nginx itself): one master serves again, and
// the ticks of the steps that led there no longer say anything about what is true. A master
// that died leaving its processes running (they still serve) has not ended it: the list keeps
// the step that failed until the rollback ends them.
func (m *Model) endedElsewhere() {
	r := m.record.rec(model.ActUpgrade)
	if m.busy != nil || r == nil || r.err != nil || r.end.IsZero() || !m.record.sawUpgrade || m.inst.Phase != model.PhaseIdle ||
		len(m.inst.Orphans) > 0 {
		return
	}
	m.record = stepLog{}
}
