package ui

import (
	"strconv"
	"strings"
	"time"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/inspect"
)

// column of the process table. drop orders which columns go first on a narrow screen (0: never).
type column struct {
	name  string
	key   string // STATE and USER take the spare width
	width int
	right bool
	drop  int
	cell  func(r tableRow) string
}

// tableRow is one process with what the table needs to draw it.
type tableRow struct {
	p       *model.Process // nil for a summary line
	master  *model.Master
	branch  string
	now     time.Time
	summary string // a "… N more" line instead of a process
	warn    bool   // the summary says something is wrong (a dead master's processes run)
	// replaced: the master's binary on disk is another build (see exeReplaced).
	replaced bool
}

func processColumns(t translator, showConns bool) []column {
	// Chinese labels take two cells a character: the columns that hold them are wider.
	roleW, genW, stateW := 15, 3, 14
	if t.zh() {
		roleW, genW, stateW = 16, 4, 16
	}
	cols := []column{
		{name: "PID", width: 7, cell: func(r tableRow) string { return strconv.Itoa(r.p.PID) }},
		{name: "PPID", width: 7, drop: 2, cell: func(r tableRow) string { return strconv.Itoa(r.p.PPID) }},
		{name: t.T("ROLE"), width: roleW, cell: func(r tableRow) string { return r.branch + t.T(r.p.Role.String()) }},
		{name: t.T("GEN"), width: genW, cell: func(r tableRow) string { return genLabel(t, r.p.Generation) }},
		{name: t.T("STATE"), width: stateW, key: "STATE", cell: func(r tableRow) string { return stateText(t, r) }},
		{name: t.T("USER"), width: 8, drop: 1, key: "USER", cell: func(r tableRow) string { return orDash(r.p.User) }},
		{name: t.T("UP"), width: 6, drop: 6, cell: func(r tableRow) string { return inspect.Uptime(r.now, r.p.Started) }},
		{name: "CPU%", width: 5, right: true, drop: 3, cell: func(r tableRow) string { return cpuText(r.p.CPU) }},
		{name: "RSS", width: 6, right: true, drop: 4, cell: func(r tableRow) string { return bytesHuman(r.p.RSS) }},
	}
	if showConns {
		cols = append(cols, column{name: t.T("CONNS"), width: 5, right: true, drop: 5, cell: func(r tableRow) string {
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
		if cols[i].key == "USER" || cols[i].key == "STATE" {
			add := min(spare, 6)
			cols[i].width += add
			spare -= add
		}
	}
	return cols
}

func genLabel(t translator, g model.Generation) string {
	switch g {
	case model.GenOld:
		return t.T("old")
	case model.GenNew:
		return t.T("new")
	}
	return t.T("cur")
}

func stateText(t translator, r tableRow) string {
	p := r.p
	switch {
	case r.master != nil && r.replaced:
		return t.T("exe replaced")
	case r.master != nil:
		return t.T("running")
	case p.ShuttingDown:
		return t.T("draining %s", inspect.Uptime(r.now, p.DrainingSince))
	case p.Role == model.RoleWorker:
		return t.T("accepting")
	}
	return t.T("running")
}

// exeReplaced tells whether the table marks a master's binary as replaced: the file it was
// started from is no longer the one it runs. A file that holds the very bytes it runs (a
// rollback restored them) is not a replacement the operator must act on.
func exeReplaced(in model.Instance, i int) bool {
	ms := in.Masters[i]
	return ms.ExeReplaced && !(i == 0 && in.BinarySameBytes)
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

// summarize names what a summary line stands for: "└ … 3 more: 1 worker, cache-manager, ...".
func summarize(t translator, g Glyphs, rest []model.Process, n int) string {
	return g.TreeEnd + g.Ellipsis + " " + t.T("%d more: %s", n, rolesOf(t, rest))
}

// rolesOf names processes by role, workers first: "2 workers (1 draining), cache-manager".
func rolesOf(t translator, ps []model.Process) string {
	var workers, draining int
	var others []string
	for _, p := range ps {
		switch {
		case p.Role != model.RoleWorker:
			others = append(others, t.T(p.Role.String()))
		case p.ShuttingDown:
			draining++
			workers++
		default:
			workers++
		}
	}
	parts := others
	if workers > 0 {
		w := t.T("%d workers", workers)
		if workers == 1 {
			w = t.T("1 worker")
		}
		if draining > 0 {
			w += t.T(" (%d draining)", draining)
		}
		parts = append([]string{w}, others...)
	}
	return t.list(parts)
}

// renderTable draws the process table in width x height cells (header row included).
func renderTable(s *Styles, t translator, in model.Instance, now time.Time, width, height int) string {
	showConns := false
	for _, m := range in.Masters {
		for _, c := range m.Children {
			showConns = showConns || c.Conns >= 0
		}
	}
	cols := layoutColumns(processColumns(t, showConns), width)
	var b strings.Builder
	b.Grow((height + 1) * (width + 32))
	head := make([]string, len(cols))
	for i, c := range cols {
		head[i] = cellText(c, c.name, s.G.Ellipsis)
	}
	b.WriteString(s.TableHeader.Render(strings.Join(head, " ")))
	for _, r := range tableRows(t, s.G, in, now, height-1) {
		b.WriteByte('\n')
		if r.summary != "" {
			st := s.Muted
			if r.warn {
				st = s.Warning
			}
			b.WriteString(st.Render(fitE(cutWords(r.summary, width, s.G.Ellipsis), width, s.G.Ellipsis)))
			continue
		}
		writeRow(&b, s, cols, r)
	}
	return b.String()
}

func cellText(c column, text, ell string) string {
	if c.right {
		return fitLeft(text, c.width)
	}
	return fitE(text, c.width, ell)
}

// writeRow draws one process: the row in its generation's colour, and the state cell picked
// out when it needs attention (draining, replaced binary).
func writeRow(b *strings.Builder, s *Styles, cols []column, r tableRow) {
	row := s.rows[rowKey{gen: r.p.Generation, master: r.master != nil}]
	special := 0
	switch {
	case r.master != nil && r.replaced:
		special = 2
	case r.p.ShuttingDown:
		special = 1
	}
	b.WriteString(row.pre)
	for i, c := range cols {
		if i > 0 {
			b.WriteByte(' ')
		}
		text := cellText(c, c.cell(r), s.G.Ellipsis)
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
