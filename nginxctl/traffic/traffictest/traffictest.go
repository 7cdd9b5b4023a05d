// Package traffictest starts bounded probes for tests and checks what they saw. Only tests
// import it.
package traffictest

import (
	"context"
	"testing"
	"time"

	"github.com/hotdeploy/hotdeploy/nginxctl/traffic"
)

// StartProbe starts a probe (200 requests a second and at most two minutes unless o says
// otherwise) that stops when the test ends.
func StartProbe(t testing.TB, o traffic.ProbeOptions) *traffic.Probe {
	t.Helper()
	if o.Rate == 0 {
		o.Rate = 200
	}
	if o.MaxDuration == 0 {
		o.MaxDuration = 2 * time.Minute
	}
	p, err := traffic.StartProbe(context.Background(), o)
	if err != nil {
		t.Fatalf("StartProbe(%+v): %v", o, err)
	}
	t.Cleanup(p.Stop)
	return p
}

// CheckZeroFailures fails the test unless the probe saw no failed request.
func CheckZeroFailures(t testing.TB, s traffic.ProbeStats) {
	t.Helper()
	if s.Failed != 0 || len(s.Failures) != 0 || s.LastError != "" {
		t.Errorf("want zero failed requests: %s", traffic.ProbeSummary(s))
	}
}

// CheckAccounting fails the test unless the probe's phases add up to its totals: every request
// whose outcome is known counted once, in one phase, as ok or by one failure kind.
func CheckAccounting(t testing.TB, s traffic.ProbeStats) {
	t.Helper()
	var ok, failed, retried, retriedOK int64
	for _, c := range s.Phases {
		ok, failed, retried, retriedOK = ok+c.OK, failed+c.Failed(), retried+c.Retried, retriedOK+c.RetriedOK
	}
	var byKind int64
	for _, n := range s.Failures {
		byKind += n
	}
	if ok != s.OK || failed != s.Failed || byKind != s.Failed || retried != s.Retried || retriedOK != s.RetriedOK || retriedOK > retried {
		t.Errorf("probe accounting: phases add up to %d ok, %d failed, %d retried (%d ok); totals %d ok, %d failed (%d by kind), %d retried (%d ok)",
			ok, failed, retried, retriedOK, s.OK, s.Failed, byKind, s.Retried, s.RetriedOK)
	}
}
