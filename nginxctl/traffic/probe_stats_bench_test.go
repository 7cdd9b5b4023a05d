package traffic

import (
	"testing"
	"time"
)

// What the dashboard pays for Stats at each refresh, in the worst case: the latency window
// full and changed since the last call (so the percentiles are computed again), 60 seconds of
// history, a few workers and failure kinds.
//
//	go test -run '^$' -bench ProbeStats -benchmem -count 5 ./nginxctl/
func BenchmarkProbeStats(b *testing.B) {
	now := time.Now()
	p := tallyProbe(ProbeOptions{URL: "http://127.0.0.1:8080/"})
	p.t = newTally(now.Add(-10 * time.Minute))
	p.t.failures = map[string]int64{FailRefused: 3, FailTimeout: 1}
	p.t.byWorker = map[int]int64{101: 4000, 102: 4100, 201: 3900, 202: 4000}
	for i := range p.t.lat {
		p.t.lat[i] = time.Duration(i*7919%1024) * time.Microsecond
	}
	p.t.latN = latencyWindow
	for s := now.Unix() - 59; s <= now.Unix(); s++ {
		p.t.secs[s%int64(len(p.t.secs))] = probeBucket{sec: s, ok: 40}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p.t.latDirty = true
		if s := p.Stats(); len(s.PerSecond) != 60 || s.P99 == 0 {
			b.Fatalf("%d seconds, p99 %s", len(s.PerSecond), s.P99)
		}
	}
}
