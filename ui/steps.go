package ui

import (
	"strings"
	"time"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/inspect"
)

// stepRecord is what the dashboard saw of a step it ran.
type stepRecord struct {
	start, end time.Time
	err        error
}

// stepLog remembers the steps run in this upgrade. It only adds timings and failures: whether
// a step is done comes from the live phase, so a restarted dashboard shows the truth too.
type stepLog struct {
	recs map[model.Action]*stepRecord
	// closed is set when a commit or rollback finished: the next install or upgrade starts a
	// fresh list.
	closed bool
}

func (l *stepLog) begin(a model.Action, now time.Time) {
	if l.recs == nil || (l.closed && (a == model.ActInstall || a == model.ActTest || a == model.ActUpgrade)) {
		l.recs, l.closed = map[model.Action]*stepRecord{}, false
	}
	l.recs[a] = &stepRecord{start: now}
}

func (l *stepLog) end(a model.Action, now time.Time, err error) {
	r := l.recs[a]
	if r == nil {
		return
	}
	r.end, r.err = now, err
	if err == nil && (a == model.ActCommit || a == model.ActRollback) {
		l.closed = true
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
	model.ActInstall:  "install binary",
	model.ActTest:     "test config",
	model.ActUpgrade:  "start new  USR2",
	model.ActDrain:    "drain old  WINCH",
	model.ActCommit:   "commit     QUIT",
	model.ActRollback: "roll back",
}

// steps derives the step list from the live phase, the records and the verdicts.
func (m Model) steps() []stepLine {
	in, now := m.inst, m.now
	phase := in.Phase
	derived := map[model.Action]stepState{}
	detail := map[model.Action]string{}
	if in.BinaryDiffers || phase != model.PhaseIdle {
		derived[model.ActInstall] = stateDone
	}
	switch phase {
	case model.PhaseNewStarting:
		derived[model.ActUpgrade] = stateRunning
		detail[model.ActUpgrade] = "starting"
	case model.PhaseBothServing:
		derived[model.ActUpgrade] = stateDone
	case model.PhaseOldDraining:
		derived[model.ActUpgrade], derived[model.ActDrain] = stateDone, stateRunning
		detail[model.ActDrain] = "draining " + longestDrain(in, now)
	case model.PhaseOldDrained:
		derived[model.ActUpgrade], derived[model.ActDrain] = stateDone, stateDone
	}
	if nw := in.New(); nw != nil && derived[model.ActUpgrade] == stateDone {
		detail[model.ActUpgrade] = "up " + inspect.Uptime(now, nw.Started)
	}
	order := []model.Action{model.ActInstall, model.ActTest, model.ActUpgrade, model.ActDrain, model.ActCommit}
	if r := m.record.rec(model.ActRollback); r != nil || m.oldMasterLives() {
		order = append(order, model.ActRollback)
	}
	var lines []stepLine
	nextMarked := false
	for _, a := range order {
		l := stepLine{action: a, label: stepLabels[a], state: derived[a], detail: detail[a]}
		if r := m.record.rec(a); r != nil {
			switch {
			case r.end.IsZero():
				l.state, l.detail = stateRunning, seconds(now.Sub(r.start))
			case r.err != nil:
				l.state, l.detail = stateFailed, "failed "+seconds(r.end.Sub(r.start))
			case l.state != stateRunning:
				l.state, l.detail = stateDone, seconds(r.end.Sub(r.start))
			}
		}
		if l.state == statePending && !nextMarked && a != model.ActTest && a != model.ActRollback && m.verdict(a).Allowed {
			l.state, nextMarked = stateNext, true
		}
		if a == model.ActRollback && l.state == statePending {
			l.detail = "possible: r"
			if m.record.rec(model.ActCommit) != nil {
				l.detail = "not after QUIT"
			}
		}
		lines = append(lines, l)
	}
	return lines
}

func (l *stepLog) rec(a model.Action) *stepRecord {
	if l.recs == nil {
		return nil
	}
	return l.recs[a]
}

// longestDrain is how long the oldest draining worker has drained.
func longestDrain(in model.Instance, now time.Time) string {
	var first time.Time
	if old := in.Old(); old != nil {
		for _, c := range old.Children {
			if c.ShuttingDown && !c.DrainingSince.IsZero() && (first.IsZero() || c.DrainingSince.Before(first)) {
				first = c.DrainingSince
			}
		}
	}
	return inspect.Uptime(now, first)
}

// renderSteps draws the step list in width cells.
func renderSteps(s Styles, lines []stepLine, width int) string {
	var b strings.Builder
	b.WriteString(s.PanelTitle.Render("STEPS"))
	for _, l := range lines {
		mark, st := "·", s.StepNext
		switch l.state {
		case stateNext:
			mark, st = "▶", s.StepCurrent
			if l.detail == "" {
				l.detail = "next"
			}
		case stateRunning:
			mark, st = "…", s.StepCurrent
		case stateDone:
			mark, st = "✓", s.StepDone
		case stateFailed:
			mark, st = "✗", s.StepFailed
		case statePending:
			st = s.Muted
		}
		text := fit(mark+" "+l.label, 18) + " " + l.detail
		b.WriteByte('\n')
		b.WriteString(st.Render(fit(text, width)))
	}
	return b.String()
}
