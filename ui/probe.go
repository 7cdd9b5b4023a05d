package ui

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/traffic"
)

// ProbeSource is the traffic probe as the dashboard reads it; traffic.Probe is one.
type ProbeSource interface {
	Stats() traffic.ProbeStats
}

// sparkline draws the newest seconds that fit in width: a block per second scaled to the
// busiest second, and seconds with a failed request picked out (x without colour).
func sparkline(s *Styles, secs []traffic.ProbeSecond, width int) string {
	if width <= 0 {
		return ""
	}
	if n := len(secs); n > 1 && secs[n-1].OK+secs[n-1].Failed < secs[n-2].OK+secs[n-2].Failed {
		secs = secs[:n-1] // the current second is still filling up
	}
	if len(secs) > width {
		secs = secs[len(secs)-width:]
	}
	most := 1
	for _, e := range secs {
		most = max(most, e.OK+e.Failed)
	}
	var b strings.Builder
	blocks := s.G.Spark
	for _, e := range secs {
		n := e.OK + e.Failed
		switch {
		case e.Failed > 0 && s.Plain:
			b.WriteString(s.G.SparkFail)
		case e.Failed > 0:
			b.WriteString(s.Danger.Render(string(blocks[len(blocks)-1])))
		case n == 0:
			b.WriteByte(' ')
		default:
			b.WriteRune(blocks[(n*len(blocks)-1)/most])
		}
	}
	return b.String()
}

// servedText says which masters answered the probe's requests, by generation.
func servedText(t translator, sep string, in model.Instance, by map[int]int64) string {
	label := func(pid int) string {
		switch {
		case pid == 0:
			return t.T("unknown")
		case len(in.Masters) == 2 && pid == in.Masters[0].PID:
			return t.T("old %d", pid)
		case len(in.Masters) == 2 && pid == in.Masters[1].PID:
			return t.T("new %d", pid)
		case len(in.Masters) >= 1 && pid == in.Masters[0].PID:
			return fmt.Sprint(pid)
		}
		return t.T("%d (exited)", pid)
	}
	// The masters of the instance first, old before new; then those that have exited.
	order := make([]int, 0, len(by))
	for _, ms := range in.Masters {
		if _, ok := by[ms.PID]; ok {
			order = append(order, ms.PID)
		}
	}
	for _, pid := range slices.Sorted(maps.Keys(by)) {
		if _, live := in.Find(pid); !live && pid != 0 {
			order = append(order, pid)
		}
	}
	var parts []string
	for _, pid := range order {
		parts = append(parts, fmt.Sprintf("%s %d", label(pid), by[pid]))
	}
	if by[0] > 0 {
		parts = append(parts, fmt.Sprintf("%s %d", label(0), by[0]))
	}
	if len(parts) == 0 {
		return t.T("served by: no answer yet")
	}
	return t.T("served by master %s", strings.Join(parts, sep))
}

// renderProbe is the traffic panel: counts, latency, requests per second, which generation
// served, failures by kind in red, and in the demo the held download. compact leaves out the
// requests per second, for the guide: never the failures or who answered.
func (m Model) renderProbe(width int, compact bool) []string {
	s, t, g := m.styles, m.tr, m.styles.G
	title := seg{text: t.T("PROBE") + " ", st: s.PanelTitle}
	if m.deps.ProbeErr != "" {
		// Why the probe is off is a failure to show whole: it wraps, up to three lines.
		lines := wrapCut(title.text+t.T("off: %s", m.say(m.deps.ProbeErrWhy, m.deps.ProbeErr)), width, 3, g.Ellipsis)
		for i := range lines {
			lines[i] = s.ErrorLine.Render(lines[i])
		}
		return lines
	}
	st := m.probeStats
	if st == nil {
		return []string{fitSegs([]seg{title, {text: t.T("starting") + g.Ellipsis, st: s.Muted}}, "", width, g.Ellipsis)}
	}
	countStyle := s.InfoLine
	if st.Failed > 0 {
		countStyle = s.ErrorLine
	}
	// Each figure is shown whole or left out: a latency cut inside its unit would read as
	// another number.
	segs := []seg{title, {text: t.T("ok %d  failed %d", st.OK, st.Failed), st: countStyle}}
	if st.OK > 0 {
		p50, p99 := seg{text: "  p50 " + roundLatency(st.P50), st: s.Value}, seg{text: "  p99 " + roundLatency(st.P99), st: s.Value}
		if cellWidth(title.text+segs[1].text+p50.text+p99.text) > width {
			p50.text = "" // the tail matters more than the median
		}
		segs = append(segs, p50, p99)
	}
	segs = append(segs, seg{text: "  " + st.URL, st: s.Muted})
	lines := []string{fitSegs(segs, "", width, g.Ellipsis)}
	if st.Failed > 0 {
		var kinds []string
		for _, k := range traffic.FailureKinds {
			if n := st.Failures[k]; n > 0 {
				kinds = append(kinds, fmt.Sprintf("%s %d", t.T(k), n))
			}
		}
		whyText := strings.Join(kinds, "  ") + ": " + m.say(st.LastErrorWhy, st.LastError)
		why := wrap(whyText, width)
		if compact && len(why) > 1 {
			why = wrapCut(whyText, width, 1, g.Ellipsis)
		}
		for _, l := range why {
			lines = append(lines, s.ErrorLine.Render(l))
		}
	}
	if !compact {
		lines = append(lines, s.Muted.Render(t.T("req/s")+" ")+sparkline(s, st.PerSecond, width-cellWidth(t.T("req/s"))-1))
	}
	served := servedText(t, g.Sep, m.inst, m.owners.ServedBy(*st))
	lines = append(lines, s.Value.Render(cutWords(served, width, g.Ellipsis)))
	if st.Stopped != "" {
		lines = append(lines, s.Warning.Render(cutWords(t.T("probe stopped: %s", st.Stopped), width, g.Ellipsis)))
	}
	if m.held != nil || !compact {
		held := m.heldLines(width, compact)
		if compact && len(held) > 1 {
			held = held[:1]
		}
		lines = append(lines, held...)
	}
	return lines
}

func roundLatency(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d < time.Second:
		return d.Round(10 * time.Microsecond).String()
	}
	return d.Round(time.Millisecond).String()
}
