package traffic

import "time"

// tallyProbe is a probe that sends nothing: tests feed its tally with recordLocked.
func tallyProbe(o ProbeOptions) *Probe {
	_ = probeDefaults(&o)
	return &Probe{opts: o, t: newTally(time.Now()), inflight: map[uint64]time.Time{}, changed: make(chan struct{}),
		interval: time.Duration(float64(time.Second) / o.Rate), cancel: func() {}}
}

// recordLocked records a request as the probe would after sending it (the old probe's entry
// point, kept for the tests that feed outcomes by error and status).
func (p *Probe) recordLocked(start time.Time, lat time.Duration, pid, status int, err error) {
	o := outcome{start: start, lat: lat, pid: pid, status: status, kind: classify(err, status), phase: p.phase}
	if o.kind != "" {
		o.why = describeFailure(p.opts.URL, o.kind, status, err, p.opts.Timeout)
		o.msg = o.why.String()
	}
	p.t.record(o)
}
