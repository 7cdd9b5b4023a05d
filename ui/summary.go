package ui

import (
	"fmt"
	"time"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/traffic"
)

// ending is the summary of an upgrade that ended here with a commit or a rollback: which master
// serves now and which left, with their builds, what each step took, what the probe counted
// meanwhile, the files kept on disk and where the audit log is.
type ending struct {
	action      model.Action // ActCommit or ActRollback
	took        time.Duration
	kept, left  model.Master
	keptSHA     string
	leftSHA     string
	steps       []endStep
	probe       *probeDelta
	backup      string
	rejected    string
	auditPath   string
	hasLeftSide bool
}

type endStep struct {
	action model.Action
	took   time.Duration
	failed bool
	// cut: the step's effect never completed (old workers still draining when it ended).
	cut bool
}

// probeDelta is what the probe counted between two readings.
type probeDelta struct {
	ok, failed int64
	kinds      map[string]int64
}

func newProbeDelta(from *traffic.ProbeStats, to traffic.ProbeStats) *probeDelta {
	d := &probeDelta{ok: to.OK, failed: to.Failed, kinds: map[string]int64{}}
	for k, n := range to.Failures {
		d.kinds[k] = n
	}
	if from != nil {
		d.ok -= from.OK
		d.failed -= from.Failed
		for k, n := range from.Failures {
			d.kinds[k] -= n
		}
	}
	return d
}

// endUpgrade turns the step records into the summary and starts a fresh list: the upgrade is
// over, and nothing of it may show as a step still to do or done.
func (m *Model) endUpgrade(a model.Action, res StepResult) {
	l := m.record
	e := &ending{action: a, took: m.now.Sub(l.began), auditPath: m.deps.AuditPath, rejected: res.Rejected}
	before := l.before
	if len(before.Masters) > 0 {
		old := before.Masters[0]
		e.kept, e.hasLeftSide = old, false
		if nw := before.New(); nw != nil {
			e.hasLeftSide = true
			e.kept, e.left = *nw, old
			if a == model.ActRollback {
				e.kept, e.left = old, *nw
			}
		}
	}
	if in := l.installed; in != nil {
		e.backup = in.Backup
		e.keptSHA, e.leftSHA = in.NewSHA256, in.BackupSHA256
		if a == model.ActRollback {
			e.keptSHA, e.leftSHA = in.BackupSHA256, in.NewSHA256
		}
	}
	for _, act := range model.Actions {
		r := l.rec(act)
		if r == nil || r.end.IsZero() {
			continue
		}
		st := endStep{action: act, took: r.end.Sub(r.start), failed: r.err != nil}
		switch {
		case !r.settled.IsZero():
			st.took = r.settled.Sub(r.start)
		case act == model.ActDrain && r.err == nil:
			st.took, st.cut = m.now.Sub(r.start), true
		}
		e.steps = append(e.steps, st)
	}
	if m.probeStats != nil {
		e.probe = newProbeDelta(l.probeAt, *m.probeStats)
	}
	m.ended, m.summaryOpen, m.record = e, true, stepLog{}
}

// stepShort names a step in the summary's one line of timings.
var stepShort = map[model.Action]string{
	model.ActInstall: N("install"), model.ActTest: N("test"), model.ActUpgrade: "USR2",
	model.ActDrain: N("drain"), model.ActCommit: "QUIT", model.ActRollback: N("roll back"),
}

// renderSummary draws the summary in width cells, one fact a line.
func (m Model) renderSummary(width int) []string {
	e, s, t, g := m.ended, m.styles, m.tr, m.styles.G
	head := t.T("upgrade committed in %s", seconds(e.took))
	if e.action == model.ActRollback {
		head = t.T("upgrade rolled back in %s", seconds(e.took))
	}
	lines := []string{fitSegs([]seg{{text: t.T("SUMMARY") + "  ", st: s.PanelTitle},
		{text: head, st: s.InfoLine}, {text: g.Sep + t.T("esc closes"), st: s.Muted}}, "", width, g.Ellipsis)}
	labelW := 10
	row := func(label, value string, st interface{ Render(...string) string }) {
		lines = append(lines, s.Label.Render(fitE(label, labelW, g.Ellipsis))+
			st.Render(cutWords(value, width-labelW, g.Ellipsis)))
	}
	// items puts items on as many lines as they need, breaking between them, not inside one.
	items := func(label string, xs []string, st interface{ Render(...string) string }) {
		line := ""
		for _, x := range xs {
			switch {
			case line == "":
				line = x
			case cellWidth(line+g.Sep+x) <= width-labelW:
				line += g.Sep + x
			default:
				row(label, line, st)
				label, line = "", x
			}
		}
		row(label, line, st)
	}
	build := func(ms model.Master, sha string) string {
		text := fmt.Sprintf("%s %d  %s", t.T("master"), ms.PID, orDash(ms.Version))
		if sha != "" {
			text += "  sha256 " + sha[:min(12, len(sha))]
		}
		return text
	}
	if e.kept.PID != 0 {
		note := t.T("serves alone")
		if e.action == model.ActRollback {
			note = t.T("serves again")
		}
		row(t.T("serves"), build(e.kept, e.keptSHA)+g.Sep+note, s.Value)
	}
	if e.hasLeftSide {
		row(t.T("left"), build(e.left, e.leftSHA)+g.Sep+t.T("exited"), s.Value)
	}
	var took []string
	for _, st := range e.steps {
		x := t.T(stepShort[st.action]) + " " + seconds(st.took)
		switch {
		case st.failed:
			x += t.T(" (failed)")
		case st.cut:
			x += t.T(" (unfinished)")
		}
		took = append(took, x)
	}
	items(t.T("steps"), took, s.Value)
	if e.probe != nil {
		p := e.probe
		text := t.T("ok %d, failed %d while the upgrade ran", p.ok, p.failed)
		st := s.InfoLine
		if p.failed > 0 {
			st = s.ErrorLine
			var kinds []string
			for _, k := range traffic.FailureKinds {
				if n := p.kinds[k]; n > 0 {
					kinds = append(kinds, fmt.Sprintf("%s %d", t.T(k), n))
				}
			}
			text += " (" + t.list(kinds) + ")"
		}
		row(t.T("probe"), text, st)
	}
	// A file and what it is for: the path gives way to the explanation.
	file := func(label, path, why string) {
		room := width - labelW - cellWidth(why) - 2
		row(label, t.T("%s: %s", shortenPath(path, max(room, 16), g.Ellipsis), why), s.Value)
	}
	if e.backup != "" {
		file(t.T("backup"), e.backup, t.T("the build that ran before, kept for going back"))
	}
	if e.rejected != "" {
		file(".rejected", e.rejected, t.T("the build rolled back from, kept so it is not lost"))
	}
	if e.auditPath != "" {
		row(t.T("audit log"), shortenPath(e.auditPath, width-labelW, g.Ellipsis), s.Value)
	}
	return lines
}
