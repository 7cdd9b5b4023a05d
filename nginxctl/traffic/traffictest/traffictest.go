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
