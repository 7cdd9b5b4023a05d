package traffic

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/hotdeploy/hotdeploy/model"
)

// tally is the probe's statistics: it records each request's outcome into counts by kind and
// by phase, per-second buckets, a latency window for percentiles, the workers that answered,
// and a log of recent failures by start time for FailuresSince. It does no I/O and takes no
// lock (the probe holds its own), so it can be table-tested with made-up outcomes.
type tally struct {
	started    time.Time
	ok, failed int64
	failures   map[string]int64
	byWorker   map[int]int64
	firstErr   string
	lastErr    string
	lastWhy    model.Reason
	lat        [latencyWindow]time.Duration
	latN       int
	latPos     int
	p50, p99   time.Duration
	latDirty   bool
	secs       [60]probeBucket
	failLog    []failRecord
	dropped    time.Time // start of the latest counted failure dropped from failLog
	lastOK     time.Time // start of the latest request that was answered 2xx
	phases     []PhaseCounts
	retried    int64
	retriedOK  int64
}

const (
	latencyWindow = 1024
	failLogMax    = 4096
	byWorkerMax   = 256
	// notItemised stands for failures beyond failLogMax whose kinds were not kept.
	notItemised = "more, not itemised"
)

type probeBucket struct {
	sec        int64
	ok, failed int
}

// failRecord is a failure for FailuresSince. An excused one (a keep-alive reset whose retry on
// a fresh connection succeeded) is kept for the record but does not fail the gate.
type failRecord struct {
	start   time.Time
	kind    string
	excused bool
}

// outcome is one request as the probe saw it.
type outcome struct {
	start  time.Time
	lat    time.Duration
	pid    int          // X-Worker-Pid of the response, 0 if none
	status int          // HTTP status, 0 without a response
	kind   string       // "" for a success, else one of FailureKinds
	msg    string       // a failure as a sentence
	why    model.Reason // msg as a code and its arguments, for the dashboard's language
	phase  string       // "" counts as PhaseBefore
	// retried: reset on a reused keep-alive connection, and sent once more on a fresh one;
	// retryOK: that retry was answered 2xx.
	retried, retryOK bool
}

func newTally(started time.Time) *tally {
	return &tally{started: started, failures: map[string]int64{}, byWorker: map[int]int64{}}
}

// phase returns the counts of a phase, adding it (in the order phases begin) if new.
func (t *tally) phase(name string) *PhaseCounts {
	if name == "" {
		name = PhaseBefore
	}
	for i := range t.phases {
		if t.phases[i].Name == name {
			return &t.phases[i]
		}
	}
	t.phases = append(t.phases, PhaseCounts{Name: name})
	return &t.phases[len(t.phases)-1]
}

// record counts one completed request.
func (t *tally) record(o outcome) {
	ph := t.phase(o.phase)
	t.bucket(o.start.Add(o.lat), o.kind == "")
	if o.kind == "" {
		t.ok++
		ph.OK++
		t.answered(o.start)
		t.lat[t.latPos] = o.lat
		t.latPos = (t.latPos + 1) % latencyWindow
		t.latN = min(t.latN+1, latencyWindow)
		t.latDirty = true
		if o.pid > 0 {
			if _, ok := t.byWorker[o.pid]; ok || len(t.byWorker) < byWorkerMax {
				t.byWorker[o.pid]++
			}
		}
		return
	}
	t.failed++
	t.failures[o.kind]++
	switch {
	case o.kind == FailRefused:
		ph.Refused++
	case o.kind == FailReset:
		ph.Reset++
	case o.kind == FailTimeout:
		ph.Timeout++
	case o.kind == FailStatus && o.status >= 500 && o.status < 600:
		ph.HTTP5xx++
	default:
		ph.Other++
	}
	if o.retried {
		t.retried++
		ph.Retried++
		if o.retryOK {
			t.retriedOK++
			ph.RetriedOK++
			t.answered(o.start)
		}
	}
	t.lastErr, t.lastWhy = o.msg, o.why
	if t.firstErr == "" {
		t.firstErr = t.lastErr
	}
	excused := o.retried && o.retryOK
	if len(t.failLog) == failLogMax {
		// Drop the oldest quarter, remembering the latest start among the counted ones.
		for _, f := range t.failLog[:failLogMax/4] {
			if !f.excused && f.start.After(t.dropped) {
				t.dropped = f.start
			}
		}
		t.failLog = slices.Delete(t.failLog, 0, failLogMax/4)
	}
	t.failLog = append(t.failLog, failRecord{start: o.start, kind: o.kind, excused: excused})
}

// answered notes that a request started at start got a 2xx answer: evidence for FailuresSince.
func (t *tally) answered(start time.Time) {
	if start.After(t.lastOK) {
		t.lastOK = start
	}
}

// bucket counts a completed request in the second it completed.
func (t *tally) bucket(at time.Time, ok bool) {
	sec := at.Unix()
	b := &t.secs[sec%int64(len(t.secs))]
	if b.sec != sec {
		*b = probeBucket{sec: sec}
	}
	if ok {
		b.ok++
	} else {
		b.failed++
	}
}

// fill copies the counts into s; end is the last second PerSecond covers.
func (t *tally) fill(s *ProbeStats, end time.Time) {
	s.Started, s.OK, s.Failed = t.started, t.ok, t.failed
	s.Failures = make(map[string]int64, len(t.failures))
	for k, v := range t.failures {
		s.Failures[k] = v
	}
	s.ByWorker = make(map[int]int64, len(t.byWorker))
	for k, v := range t.byWorker {
		s.ByWorker[k] = v
	}
	s.Phases = slices.Clone(t.phases)
	s.Retried, s.RetriedOK = t.retried, t.retriedOK
	s.FirstError, s.LastError, s.LastErrorWhy = t.firstErr, t.lastErr, t.lastWhy
	if t.latDirty {
		t.p50, t.p99 = percentiles(t.lat[:t.latN])
		t.latDirty = false
	}
	s.P50, s.P99 = t.p50, t.p99
	last, first := end.Unix(), max(t.started.Unix(), end.Unix()-int64(len(t.secs))+1)
	s.PerSecond = make([]ProbeSecond, 0, max(last-first+1, 0))
	for sec := first; sec <= last; sec++ {
		e := ProbeSecond{At: time.Unix(sec, 0)}
		if b := t.secs[sec%int64(len(t.secs))]; b.sec == sec {
			e.OK, e.Failed = b.ok, b.failed
		}
		s.PerSecond = append(s.PerSecond, e)
	}
}

func percentiles(lat []time.Duration) (p50, p99 time.Duration) {
	if len(lat) == 0 {
		return 0, 0
	}
	s := slices.Clone(lat)
	slices.Sort(s)
	at := func(q float64) time.Duration { return s[int(math.Ceil(q*float64(len(s))))-1] }
	return at(0.50), at(0.99)
}

// failuresSince counts, by kind, the failures of requests started at or after at that are not
// excused, and how many excused ones there were.
func (t *tally) failuresSince(at time.Time) (counts map[string]int64, n, excused int64) {
	counts = map[string]int64{}
	for i := len(t.failLog) - 1; i >= 0; i-- {
		f := t.failLog[i]
		switch {
		case f.start.Before(at):
		case f.excused:
			excused++
		default:
			counts[f.kind]++
			n++
		}
	}
	if !t.dropped.IsZero() && !t.dropped.Before(at) {
		counts[notItemised]++
		n++
	}
	return counts, n, excused
}

func failureSummary(counts map[string]int64, n int64) string {
	var parts []string
	for _, k := range append(slices.Clone(FailureKinds), notItemised) {
		if c := counts[k]; c > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c, k))
		}
	}
	word := "requests"
	if n == 1 {
		word = "request"
	}
	return fmt.Sprintf("%d %s failed (%s)", n, word, strings.Join(parts, ", "))
}
