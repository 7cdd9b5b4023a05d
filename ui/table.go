package ui

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/inspect"
)

// column of the process table. drop orders which columns go first on a narrow screen (0: never).
type column struct {
	name  string
	width int
	right bool
	drop  int
	cell  func(r tableRow) string
}

// tableRow is one process with what the table needs to draw it.
type tableRow struct {
	p       model.Process
	master  *model.Master
	branch  string
	now     time.Time
	summary string // a "… N more" line instead of a process
}

func processColumns(showConns bool) []column {
	cols := []column{
		{name: "PID", width: 7, cell: func(r tableRow) string { return strconv.Itoa(r.p.PID) }},
		{name: "PPID", width: 7, drop: 2, cell: func(r tableRow) string { return strconv.Itoa(r.p.PPID) }},
		{name: "ROLE", width: 15, cell: func(r tableRow) string { return r.branch + r.p.Role.String() }},
		{name: "GEN", width: 3, cell: func(r tableRow) string { return genLabel(r.p.Generation) }},
		{name: "STATE", width: 14, cell: stateText},
		{name: "USER", width: 8, drop: 1, cell: func(r tableRow) string { return orDash(r.p.User) }},
		{name: "UP", width: 6, cell: func(r tableRow) string { return inspect.Uptime(r.now, r.p.Started) }},
		{name: "CPU%", width: 5, right: true, drop: 3, cell: func(r tableRow) string { return cpuText(r.p.CPU) }},
		{name: "RSS", width: 6, right: true, drop: 4, cell: func(r tableRow) string { return bytesHuman(r.p.RSS) }},
	}
	if showConns {
		cols = append(cols, column{name: "CONNS", width: 5, right: true, drop: 5, cell: func(r tableRow) string {
			if r.p.Conns < 0 {
				return "-"
			}
			return strconv.Itoa(r.p.Conns)
		}})
	}
	return cols
}

// layoutColumns drops the least needed columns until the table fits, then gives spare width
// to USER and STATE.
func layoutColumns(cols []column, width int) []column {
	total := func(cs []column) int {
		n := len(cs) - 1
		for _, c := range cs {
			n += c.width
		}
		return n
	}
	for total(cols) > width {
		worst := -1
		for i, c := range cols {
			if c.drop > 0 && (worst < 0 || c.drop < cols[worst].drop) {
				worst = i
			}
		}
		if worst < 0 {
			break
		}
		cols = append(cols[:worst:worst], cols[worst+1:]...)
	}
	spare := width - total(cols)
	for i := range cols {
		if spare <= 0 {
			break
		}
		if cols[i].name == "USER" || cols[i].name == "STATE" {
			add := min(spare, 6)
			cols[i].width += add
			spare -= add
		}
	}
	return cols
}

func genLabel(g model.Generation) string {
	switch g {
	case model.GenOld:
		return "old"
	case model.GenNew:
		return "new"
	}
	return "cur"
}

func stateText(r tableRow) string {
	p := r.p
	switch {
	case r.master != nil && r.master.ExeReplaced:
		return "exe replaced"
	case r.master != nil:
		return "running"
	case p.ShuttingDown:
		return "draining " + inspect.Uptime(r.now, p.DrainingSince)
	case p.Role == model.RoleWorker:
		return "accepting"
	}
	return "running"
}

func cpuText(v float64) string {
	if v < 0 {
		return "-"
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// tableRows lists the processes master by master. When they do not fit in limit rows, each master
// keeps its own row and a share of its children, and a summary line stands for the rest.
func tableRows(in model.Instance, now time.Time, limit int) []tableRow {
	need := 0
	for _, m := range in.Masters {
		need += 1 + len(m.Children)
	}
	share := -1
	if need > limit && len(in.Masters) > 0 {
		share = max((limit-2*len(in.Masters))/len(in.Masters), 0)
	}
	var rows []tableRow
	for i := range in.Masters {
		m := &in.Masters[i]
		rows = append(rows, tableRow{p: m.Process, master: m, now: now})
		kids := m.Children
		hidden := 0
		if share >= 0 && len(kids) > share+1 {
			hidden = len(kids) - share
			kids = kids[:share]
		}
		for j, c := range kids {
			branch := "├ "
			if j == len(kids)-1 && hidden == 0 {
				branch = "└ "
			}
			rows = append(rows, tableRow{p: c, branch: branch, now: now})
		}
		if hidden > 0 {
			rows = append(rows, tableRow{summary: summarize(m.Children[len(kids):], hidden)})
		}
	}
	return rows
}

// summarize names what a summary line stands for: "└ … 3 more: 1 worker, cache-manager, ...".
func summarize(rest []model.Process, n int) string {
	var workers, draining int
	var others []string
	for _, p := range rest {
		switch {
		case p.Role != model.RoleWorker:
			others = append(others, p.Role.String())
		case p.ShuttingDown:
			draining++
			workers++
		default:
			workers++
		}
	}
	parts := others
	if workers > 0 {
		w := fmt.Sprintf("%d worker%s", workers, plural(workers))
		if draining > 0 {
			w += fmt.Sprintf(" (%d draining)", draining)
		}
		parts = append([]string{w}, others...)
	}
	return fmt.Sprintf("└ … %d more: %s", n, strings.Join(parts, ", "))
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// renderTable draws the process table in width x height cells (header row included).
func renderTable(s Styles, in model.Instance, now time.Time, width, height int) string {
	showConns := false
	for _, m := range in.Masters {
		for _, c := range m.Children {
			showConns = showConns || c.Conns >= 0
		}
	}
	cols := layoutColumns(processColumns(showConns), width)
	var b strings.Builder
	b.Grow((height + 1) * (width + 32))
	head := make([]string, len(cols))
	for i, c := range cols {
		head[i] = cellText(c, c.name)
	}
	b.WriteString(s.TableHeader.Render(strings.Join(head, " ")))
	for _, r := range tableRows(in, now, height-1) {
		b.WriteByte('\n')
		if r.summary != "" {
			b.WriteString(s.Muted.Render(fit(r.summary, width)))
			continue
		}
		writeRow(&b, s, cols, r)
	}
	return b.String()
}

func cellText(c column, text string) string {
	if c.right {
		return fitLeft(text, c.width)
	}
	return fit(text, c.width)
}

// writeRow draws one process: the row in its generation's colour, and the state cell picked
// out when it needs attention (draining, replaced binary).
func writeRow(b *strings.Builder, s Styles, cols []column, r tableRow) {
	row := s.rows[rowKey{gen: r.p.Generation, master: r.master != nil}]
	special := 0
	switch {
	case r.master != nil && r.master.ExeReplaced:
		special = 2
	case r.p.ShuttingDown:
		special = 1
	}
	b.WriteString(row.pre)
	for i, c := range cols {
		if i > 0 {
			b.WriteByte(' ')
		}
		text := cellText(c, c.cell(r))
		if special != 0 && c.name == "STATE" {
			b.WriteString(row.post)
			s.rows[rowKey{special: special}].wrap(b, text)
			b.WriteString(row.pre)
			continue
		}
		b.WriteString(text)
	}
	b.WriteString(row.post)
}
