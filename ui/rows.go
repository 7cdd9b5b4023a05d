package ui

import (
	"time"

	"github.com/hotdeploy/hotdeploy/model"
)

// tableRows lists the processes master by master. When they do not fit in limit rows, each master
// keeps its own row and a share of its children, and a summary line stands for the rest.
func tableRows(t translator, g Glyphs, in model.Instance, now time.Time, limit int) []tableRow {
	need := 0
	for _, m := range in.Masters {
		need += 1 + len(m.Children)
	}
	// A dead master's processes, still running (they may still serve): a line that says so, and
	// each of them. They keep their rows before the masters' children do (these give way to a
	// summary line first); when even that leaves too little, the line alone, with what they are.
	orphanRows := 0
	if n := len(in.Orphans); n > 0 {
		orphanRows = 1 + n
		if need+orphanRows > limit && limit-orphanRows < 2*len(in.Masters) {
			orphanRows = 1
		}
	}
	share := -1
	if need+orphanRows > limit && len(in.Masters) > 0 {
		share = max((limit-orphanRows-2*len(in.Masters))/len(in.Masters), 0)
	}
	rows := make([]tableRow, 0, min(need, limit)+len(in.Masters)+orphanRows)
	for i := range in.Masters {
		m := &in.Masters[i]
		rows = append(rows, tableRow{p: &m.Process, master: m, now: now, replaced: exeReplaced(in, i)})
		kids := m.Children
		hidden := 0
		if share >= 0 && len(kids) > share+1 {
			hidden = len(kids) - share
			kids = kids[:share]
		}
		for j := range kids {
			branch := g.TreeMid
			if j == len(kids)-1 && hidden == 0 {
				branch = g.TreeEnd
			}
			rows = append(rows, tableRow{p: &kids[j], branch: branch, now: now})
		}
		if hidden > 0 {
			rows = append(rows, tableRow{summary: summarize(t, g, m.Children[len(kids):], hidden)})
		}
	}
	if orphanRows > 0 {
		line := t.T("%d processes of a dead master still run (their parent is now pid 1); rollback ends them", len(in.Orphans))
		if orphanRows == 1 {
			line += ": " + rolesOf(t, in.Orphans)
		}
		rows = append(rows, tableRow{summary: line, warn: true})
		for j := range in.Orphans[:orphanRows-1] {
			branch := g.TreeMid
			if j == len(in.Orphans)-1 {
				branch = g.TreeEnd
			}
			rows = append(rows, tableRow{p: &in.Orphans[j], branch: branch, now: now})
		}
	}
	return rows
}
