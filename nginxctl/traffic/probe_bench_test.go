package traffic_test

import (
	"context"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hotdeploy/hotdeploy/nginxctl/sandbox"
	"github.com/hotdeploy/hotdeploy/nginxctl/sandbox/sandboxtest"
	"github.com/hotdeploy/hotdeploy/nginxctl/traffic"
)

// The probe's own cost: the client CPU per request (a fresh connection each). The cost of a
// Stats copy is in probe_stats_bench_test.go.
//
//	go test -run '^$' -bench ProbeRequest -benchmem -count 5 ./nginxctl/

func processCPU(b *testing.B) time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// One probe request, end to end, at the highest rate; reported as the test process's CPU
// per request (nginx's side is not counted).
func BenchmarkProbeRequest(b *testing.B) {
	sb := sandboxtest.Start(b, sandbox.SandboxOptions{Workers: 2})
	b.ResetTimer()
	start := processCPU(b)
	p, err := traffic.StartProbe(context.Background(), traffic.ProbeOptions{URL: sb.URL, LoopbackOnly: true, Rate: 1000, MaxRequests: int64(b.N)})
	if err != nil {
		b.Fatal(err)
	}
	<-p.Ended()
	cpu := processCPU(b) - start
	b.StopTimer()
	if s := p.Stats(); s.OK != int64(b.N) {
		b.Fatalf("%s", traffic.ProbeSummary(s))
	}
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
}
