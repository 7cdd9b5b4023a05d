package traffic_test

import (
	"context"
	"net"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/sandbox"
	"github.com/hotdeploy/hotdeploy/nginxctl/sandbox/sandboxtest"
	"github.com/hotdeploy/hotdeploy/nginxctl/traffic"
	"github.com/hotdeploy/hotdeploy/nginxctl/upgrade/upgradetest"
)

// Connection counting against the refresh budget of DESIGN.md (<= 1 ms per refresh): a sandbox
// with 2 workers holding 1,000 idle keep-alive client connections, opened by 8 loopback client
// goroutines. Each benchmark run sets up its own sandbox and connections (well inside nginx's
// 75 s keepalive_timeout) and checks the count is exact before timing.
//
//	go test -run '^$' -bench ConnCounter -benchmem -count 5 ./nginxctl/

const benchConns = 1000

// connsFixture starts the sandbox and opens the connections; everything ends with the benchmark.
func connsFixture(b *testing.B) (*sandbox.Sandbox, model.Instance) {
	b.Helper()
	sb := sandboxtest.Start(b, sandbox.SandboxOptions{Workers: 2})
	in := upgradetest.Settled(b, sb, 2)
	conns := openIdleConns(b, sb.URL, benchConns)
	b.Cleanup(func() {
		// Reset rather than close: a graceful close leaves 1,000 TIME_WAIT sockets in the
		// kernel's table, which every later dump of this run would walk.
		for _, c := range conns {
			c.(*net.TCPConn).SetLinger(0)
			c.Close()
		}
	})
	return sb, in
}

// wantConns counts until all benchConns connections show, failing the benchmark otherwise.
func wantConns(b *testing.B, cc *traffic.ConnCounter, in model.Instance) {
	b.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		counts, err := cc.Count(in)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for _, c := range counts {
			n += c
		}
		if n == benchConns {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("counted %d connections, %d are open: %v", n, benchConns, counts)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// threadCPU is the CPU time, user and system, of the calling thread.
func threadCPU(b *testing.B) time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_THREAD, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// countLoop times b.N counts, reporting besides the wall time the CPU time of the counting
// thread (the kernel's work on the dump included): on a shared machine, wall time also holds
// the time other processes ran. count gives the counter for each count; between, if set, runs
// untimed after each count.
func countLoop(b *testing.B, count func() *traffic.ConnCounter, in model.Instance, between func()) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ReportAllocs()
	b.ResetTimer()
	var cpu time.Duration
	for i := 0; i < b.N; i++ {
		cc := count()
		start := threadCPU(b)
		if _, err := cc.Count(in); err != nil {
			b.Fatal(err)
		}
		cpu += threadCPU(b) - start
		if between != nil {
			b.StopTimer()
			between()
			b.StartTimer()
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
}

// The steady state: every socket already known, so a count is one filtered socket-table dump
// (MaxShare off: every count dumps).
func BenchmarkConnCounterSteady1000(b *testing.B) {
	_, in := connsFixture(b)
	cc := exactCounter()
	wantConns(b, cc, in)
	countLoop(b, func() *traffic.ConnCounter { return cc }, in, nil)
}

// The steady state with the traffic probe running at 40 requests per second on
// fresh connections, as in the demo: some counts see a connection they must look up.
func BenchmarkConnCounterWithProbe1000(b *testing.B) {
	sb, in := connsFixture(b)
	cc := exactCounter()
	wantConns(b, cc, in)
	p, err := traffic.StartProbe(context.Background(), traffic.ProbeOptions{URL: sb.URL, LoopbackOnly: true, MaxDuration: time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Stop()
	// The dashboard counts every 250 ms; 5 ms keeps the run short while letting connections
	// come and go between counts.
	countLoop(b, func() *traffic.ConnCounter { return cc }, in, func() { time.Sleep(5 * time.Millisecond) })
	if s := p.Stats(); s.Failed > 0 {
		b.Fatalf("probe failures: %v (%s)", s.Failures, s.LastError)
	}
}

// The first count for a set of workers: every descriptor link is read once.
func BenchmarkConnCounterFirstCount1000(b *testing.B) {
	_, in := connsFixture(b)
	wantConns(b, exactCounter(), in)
	countLoop(b, exactCounter, in, nil)
}
