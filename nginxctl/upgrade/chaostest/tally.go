// Package chaostest is the chaos suite the project runs on itself (`make chaos`, and `make
// chaos-short` in CI): bounded loops of hostile situations against real sandbox nginx, each case
// counting its tries, the outcomes that were as intended, the verdicts that contradicted what
// /proc and the disk showed, the processes it recorded that were left running, and the builds
// whose bytes no file held any more. A case passes only when every try went as intended and
// nothing leaked or got lost. The suite itself is in the _test.go files; this file is the
// counting, shared with the one case that must live in package upgrade (its test hook).
package chaostest

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
)

// Outcome is what one try of a case came to.
type Outcome struct {
	// Intended: the verdict (exit code and result) and the state were the ones the case
	// expects for this try.
	Intended bool
	// Wrong counts verdicts that contradict the truth: a result that claims what /proc or the
	// disk do not show, a panic, a hang, a changed instance that was not named.
	Wrong int
	// Leaked counts processes the try recorded (by pid and start time) that still run though
	// they belong to no generation that should be left.
	Leaked int
	// Lost counts builds (by sha256) held by some file before the try and by none after.
	Lost int
	// Class splits a case's tries where the moment of a fault decides what is intended
	// ("before commit", "after commit"): the try counts in the case's row and in a row of
	// its class. Empty for one class.
	Class string
}

// Row is the counts of one case (or one class of a case).
type Row struct {
	Case                                 string
	Tries, Intended, Wrong, Leaked, Lost int
	// Min is the fewest tries the case must make to count as run.
	Min int
}

// OK tells whether the row passes: enough tries, all as intended, nothing wrong, leaked or lost.
func (r Row) OK() bool {
	return r.Tries >= r.Min && r.Intended == r.Tries && r.Wrong == 0 && r.Leaked == 0 && r.Lost == 0
}

// Tally collects the rows of a run, in the order cases first report.
type Tally struct {
	mu   sync.Mutex
	rows []*Row
}

// row returns the row of name, made with min on first use.
func (t *Tally) row(name string, min int) *Row {
	for _, r := range t.rows {
		if r.Case == name {
			r.Min = max(r.Min, min)
			return r
		}
	}
	r := &Row{Case: name, Min: min}
	t.rows = append(t.rows, r)
	return r
}

// Expect declares a case (or a class of one) and the fewest tries it must make, so that a case
// that never ran a try shows in the table and fails.
func (t *Tally) Expect(name string, min int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.row(name, min)
}

// Add counts one try of case name, and fails tb (without stopping it) when the try was not as
// intended, so the test's log says which try and why next to the table's counts.
func (t *Tally) Add(tb testing.TB, name string, o Outcome, detail string) {
	tb.Helper()
	t.mu.Lock()
	count := func(r *Row) {
		r.Tries++
		if o.Intended {
			r.Intended++
		}
		r.Wrong += o.Wrong
		r.Leaked += o.Leaked
		r.Lost += o.Lost
	}
	r := t.row(name, 0)
	count(r)
	try := r.Tries
	if o.Class != "" {
		name += " (" + o.Class + ")"
		count(t.row(name, 0))
	}
	t.mu.Unlock()
	if !o.Intended || o.Wrong+o.Leaked+o.Lost > 0 {
		tb.Errorf("%s, try %d: intended=%v wrong=%d leaked=%d lost=%d: %s", name, try, o.Intended, o.Wrong, o.Leaked, o.Lost, detail)
	}
}

// Rows returns a copy of the rows.
func (t *Tally) Rows() []Row {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]Row, len(t.rows))
	for i, r := range t.rows {
		out[i] = *r
	}
	return out
}

// OK tells whether every row passes.
func (t *Tally) OK() bool {
	for _, r := range t.Rows() {
		if !r.OK() {
			return false
		}
	}
	return true
}

// Write prints the table. Every line starts with "chaos| " so that make can pick the table out
// of go test's output.
func (t *Tally) Write(w io.Writer, title string) {
	rows := t.Rows()
	width := len("case")
	for _, r := range rows {
		width = max(width, len(r.Case))
	}
	line := func(format string, args ...any) { fmt.Fprintf(w, "chaos| "+format+"\n", args...) }
	line("%s", title)
	line("%-*s %6s %8s %5s %6s %4s %5s  %s", width, "case", "tries", "intended", "wrong", "leaked", "lost", "min", "verdict")
	line("%s", strings.Repeat("-", width+48))
	for _, r := range rows {
		verdict := "ok"
		switch {
		case r.Tries < r.Min:
			verdict = fmt.Sprintf("FAIL (fewer than %d tries)", r.Min)
		case !r.OK():
			verdict = "FAIL"
		}
		line("%-*s %6d %8d %5d %6d %4d %5d  %s", width, r.Case, r.Tries, r.Intended, r.Wrong, r.Leaked, r.Lost, r.Min, verdict)
	}
}
