package traffic

import (
	"slices"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

func ok(ms int, phase string) outcome {
	return outcome{start: at(ms), lat: time.Millisecond, pid: 101, status: 200, phase: phase}
}

func fail(ms int, phase, kind string, status int) outcome {
	return outcome{start: at(ms), lat: time.Millisecond, status: status, kind: kind, msg: kind + " happened", phase: phase}
}

// Outcomes land in the phase they were sent in, by kind; the phases keep the order they began
// in and add up to the totals.
func TestTallyCountsByPhaseAndKind(t *testing.T) {
	for _, c := range []struct {
		name string
		in   []outcome
		want []PhaseCounts
	}{
		{"nothing", nil, nil},
		{"before any mark", []outcome{ok(0, ""), ok(1, "")},
			[]PhaseCounts{{Name: PhaseBefore, OK: 2}}},
		{"each kind", []outcome{
			ok(0, "usr2"), fail(1, "usr2", FailRefused, 0), fail(2, "usr2", FailReset, 0),
			fail(3, "winch", FailTimeout, 0), fail(4, "winch", FailStatus, 502), fail(5, "winch", FailStatus, 404),
			fail(6, "quit", FailOther, 0), ok(7, "quit"),
		}, []PhaseCounts{
			{Name: "usr2", OK: 1, Refused: 1, Reset: 1},
			{Name: "winch", Timeout: 1, HTTP5xx: 1, Other: 1},
			{Name: "quit", OK: 1, Other: 1},
		}},
		{"a phase met again keeps its place", []outcome{ok(0, "usr2"), ok(1, "winch"), fail(2, "usr2", FailReset, 0)},
			[]PhaseCounts{{Name: "usr2", OK: 1, Reset: 1}, {Name: "winch", OK: 1}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ty := newTally(t0)
			for _, o := range c.in {
				ty.record(o)
			}
			var s ProbeStats
			ty.fill(&s, at(10))
			if !slices.Equal(s.Phases, c.want) {
				t.Errorf("phases %+v, want %+v", s.Phases, c.want)
			}
			var okSum, failSum int64
			for _, p := range s.Phases {
				okSum += p.OK
				failSum += p.Failed()
			}
			if okSum != s.OK || failSum != s.Failed || s.OK+s.Failed != int64(len(c.in)) {
				t.Errorf("phases add up to %d ok, %d failed; totals %d ok, %d failed, %d recorded", okSum, failSum, s.OK, s.Failed, len(c.in))
			}
		})
	}
}

// A keep-alive reset that was retried still counts as a reset; retried and retried_ok say what a
// retrying client would have seen, and only a successful retry excuses it from the gate.
func TestTallyRetryAccounting(t *testing.T) {
	reset := func(ms int, retried, retryOK bool) outcome {
		o := fail(ms, "winch", FailReset, 0)
		o.retried, o.retryOK = retried, retryOK
		return o
	}
	for _, c := range []struct {
		name                     string
		in                       []outcome
		reset, retried, retryOK  int64
		gateFailures, excused    int64
		evidenceAt, noEvidenceAt int
	}{
		{"not retried", []outcome{reset(1, false, false)}, 1, 0, 0, 1, 0, -1, 1},
		{"retried, ok", []outcome{reset(1, true, true)}, 1, 1, 1, 0, 1, 1, 2},
		{"retried, failed again", []outcome{reset(1, true, false)}, 1, 1, 0, 1, 0, -1, 1},
		{"mixed", []outcome{reset(1, true, true), reset(2, true, false), reset(3, true, true), ok(4, "winch")}, 3, 3, 2, 1, 2, 4, 5},
	} {
		t.Run(c.name, func(t *testing.T) {
			ty := newTally(t0)
			for _, o := range c.in {
				ty.record(o)
			}
			var s ProbeStats
			ty.fill(&s, at(10))
			w := s.PhaseCountsOf("winch")
			if w.Reset != c.reset || w.Retried != c.retried || w.RetriedOK != c.retryOK || s.Retried != c.retried || s.RetriedOK != c.retryOK {
				t.Errorf("winch %+v, totals retried %d ok %d; want reset %d retried %d retried_ok %d", w, s.Retried, s.RetriedOK, c.reset, c.retried, c.retryOK)
			}
			if s.Failures[FailReset] != c.reset || s.Failed != c.reset {
				t.Errorf("failures %v (failed %d): a retried reset is still a failure", s.Failures, s.Failed)
			}
			counts, n, excused := ty.failuresSince(t0)
			if n != c.gateFailures || excused != c.excused || counts[FailReset] != c.gateFailures {
				t.Errorf("failuresSince: %v, %d counted, %d excused; want %d counted, %d excused", counts, n, excused, c.gateFailures, c.excused)
			}
			if c.evidenceAt >= 0 && ty.lastOK.Before(at(c.evidenceAt)) {
				t.Errorf("last answered request started %s, want at or after %s", ty.lastOK, at(c.evidenceAt))
			}
			if !ty.lastOK.Before(at(c.noEvidenceAt)) {
				t.Errorf("last answered request started %s, want before %s", ty.lastOK, at(c.noEvidenceAt))
			}
		})
	}
}

func TestTallyPercentiles(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		var out []time.Duration
		for _, x := range v {
			out = append(out, time.Duration(x)*time.Millisecond)
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = 100 - i // 100 .. 1, unsorted
	}
	for _, c := range []struct {
		name     string
		lat      []time.Duration
		p50, p99 time.Duration
	}{
		{"none", nil, 0, 0},
		{"one", ms(7), 7 * time.Millisecond, 7 * time.Millisecond},
		{"two", ms(9, 1), 1 * time.Millisecond, 9 * time.Millisecond},
		{"one to a hundred", ms(hundred...), 50 * time.Millisecond, 99 * time.Millisecond},
	} {
		ty := newTally(t0)
		for i, l := range c.lat {
			o := ok(i, "")
			o.lat = l
			ty.record(o)
		}
		var s ProbeStats
		ty.fill(&s, at(0))
		if s.P50 != c.p50 || s.P99 != c.p99 {
			t.Errorf("%s: p50 %s p99 %s, want %s %s", c.name, s.P50, s.P99, c.p50, c.p99)
		}
	}
	// Only successes have a latency worth showing; the window keeps the latest.
	ty := newTally(t0)
	ty.record(fail(0, "", FailTimeout, 0))
	for i := 0; i < latencyWindow+10; i++ {
		o := ok(i, "")
		o.lat = time.Duration(i) * time.Microsecond
		ty.record(o)
	}
	var s ProbeStats
	ty.fill(&s, at(0))
	if s.P50 < 10*time.Microsecond || ty.latN != latencyWindow {
		t.Errorf("window: p50 %s over %d latencies; the first 10 should have left", s.P50, ty.latN)
	}
}

// Each request counts in the second it completed; seconds without one are there, as zero.
func TestTallyPerSecond(t *testing.T) {
	ty := newTally(t0)
	ty.record(ok(100, ""))
	ty.record(fail(900, "", FailRefused, 0))
	ty.record(ok(2500, ""))
	o := ok(2999, "")
	o.lat = 2 * time.Millisecond // completes in the next second
	ty.record(o)
	var s ProbeStats
	ty.fill(&s, at(3500))
	want := []ProbeSecond{{t0, 1, 1}, {t0.Add(time.Second), 0, 0}, {t0.Add(2 * time.Second), 1, 0}, {t0.Add(3 * time.Second), 1, 0}}
	if len(s.PerSecond) != len(want) {
		t.Fatalf("PerSecond %v, want %v", s.PerSecond, want)
	}
	for i := range want {
		if !s.PerSecond[i].At.Equal(want[i].At) || s.PerSecond[i].OK != want[i].OK || s.PerSecond[i].Failed != want[i].Failed {
			t.Errorf("second %d: %+v, want %+v", i, s.PerSecond[i], want[i])
		}
	}
	// After more than a minute only the last 60 seconds are kept.
	ty.fill(&s, at(600_000))
	if len(s.PerSecond) != 60 || s.PerSecond[59].OK != 0 {
		t.Errorf("ten minutes later: %d seconds", len(s.PerSecond))
	}
}

// failuresSince counts by the start of each request, and the first and last failures are
// described.
func TestTallyFailuresSince(t *testing.T) {
	ty := newTally(t0)
	ty.record(fail(1, "", FailRefused, 0))
	ty.record(ok(2, ""))
	ty.record(fail(3, "", FailTimeout, 0))
	ty.record(fail(4, "", FailStatus, 503))
	for _, c := range []struct {
		since int
		n     int64
		says  string
	}{
		{0, 3, "3 requests failed (1 refused, 1 timeout, 1 non-2xx)"},
		{2, 2, "2 requests failed (1 timeout, 1 non-2xx)"},
		{4, 1, "1 request failed (1 non-2xx)"},
		{5, 0, ""},
	} {
		counts, n, _ := ty.failuresSince(at(c.since))
		if n != c.n || (n > 0 && failureSummary(counts, n) != c.says) {
			t.Errorf("since %d: %d, %q; want %d, %q", c.since, n, failureSummary(counts, n), c.n, c.says)
		}
	}
	var s ProbeStats
	ty.fill(&s, at(5))
	if !strings.HasPrefix(s.FirstError, FailRefused) || !strings.HasPrefix(s.LastError, FailStatus) {
		t.Errorf("first %q, last %q", s.FirstError, s.LastError)
	}
}
