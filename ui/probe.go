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

// sparkBlocks draw requests per second, from a few to the most in the window.
var sparkBlocks = []rune("▁▂▃▄▅▆▇█")

// sparkline draws the newest seconds that fit in width: a block per second scaled to the
// busiest second, and seconds with a failed request picked out (x without colour).
func sparkline(s Styles, secs []traffic.ProbeSecond, width int) string {
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
	for _, e := range secs {
		n := e.OK + e.Failed
		switch {
		case e.Failed > 0 && s.Plain:
			b.WriteByte('x')
		case e.Failed > 0:
			b.WriteString(s.Danger.Render(string(sparkBlocks[len(sparkBlocks)-1])))
		case n == 0:
			b.WriteByte(' ')
		default:
			b.WriteRune(sparkBlocks[(n*len(sparkBlocks)-1)/most])
		}
	}
	return b.String()
}

// servedText says which masters answered the probe's requests, by generation.
func servedText(in model.Instance, by map[int]int64) string {
	label := func(pid int) string {
		switch {
		case pid == 0:
			return "unknown"
		case len(in.Masters) == 2 && pid == in.Masters[0].PID:
			return fmt.Sprintf("old %d", pid)
		case len(in.Masters) == 2 && pid == in.Masters[1].PID:
			return fmt.Sprintf("new %d", pid)
		case len(in.Masters) >= 1 && pid == in.Masters[0].PID:
			return fmt.Sprint(pid)
		}
		return fmt.Sprintf("%d (exited)", pid)
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
		return "served by: no answer yet"
	}
	return "served by master " + strings.Join(parts, " · ")
}

// renderProbe is the traffic panel: counts, latency, requests per second, which generation
// served, failures by kind in red, and in the demo the held download.
func (m Model) renderProbe(width int) []string {
	s := m.styles
	title := s.PanelTitle.Render("PROBE ")
	if m.deps.ProbeErr != "" {
		return []string{truncate(title+s.ErrorLine.Render("off: "+m.deps.ProbeErr), width)}
	}
	st := m.probeStats
	if st == nil {
		return []string{truncate(title+s.Muted.Render("starting…"), width)}
	}
	counts := fmt.Sprintf("ok %d  failed %d", st.OK, st.Failed)
	countStyle := s.InfoLine
	if st.Failed > 0 {
		countStyle = s.ErrorLine
	}
	lat := ""
	if st.OK > 0 {
		lat = fmt.Sprintf("  p50 %s  p99 %s", roundLatency(st.P50), roundLatency(st.P99))
	}
	lines := []string{truncate(title+countStyle.Render(counts)+s.Value.Render(lat)+s.Muted.Render("  "+st.URL), width)}
	if st.Failed > 0 {
		var kinds []string
		for _, k := range traffic.FailureKinds {
			if n := st.Failures[k]; n > 0 {
				kinds = append(kinds, fmt.Sprintf("%s %d", k, n))
			}
		}
		lines = append(lines, s.ErrorLine.Render(truncate(strings.Join(kinds, "  ")+": "+st.LastError, width)))
	}
	lines = append(lines, s.Muted.Render("req/s ")+sparkline(s, st.PerSecond, width-6))
	lines = append(lines, s.Value.Render(truncate(servedText(m.inst, m.owners.ServedBy(*st)), width)))
	if st.Stopped != "" {
		lines = append(lines, s.Warning.Render(truncate("probe stopped: "+st.Stopped, width)))
	}
	if l := m.heldLine(); l != "" {
		lines = append(lines, truncate(l, width))
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
