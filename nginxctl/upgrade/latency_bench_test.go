package upgrade_test

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/audit"
	"github.com/hotdeploy/hotdeploy/nginxctl/inspect"
	"github.com/hotdeploy/hotdeploy/nginxctl/sandbox"
	"github.com/hotdeploy/hotdeploy/nginxctl/sandbox/sandboxtest"
	"github.com/hotdeploy/hotdeploy/nginxctl/upgrade"
	"github.com/hotdeploy/hotdeploy/nginxctl/upgrade/upgradetest"
)

// observer re-reads the instance every 200 µs on its own scanner and notes when it first sees
// a condition: the moment nginx's action became visible in /proc, give or take 200 µs.
type observer struct {
	seen atomic.Int64 // unix nanoseconds, 0 until seen
	stop chan struct{}
	done chan struct{}
}

func observe(pidFile string, cond func(model.Instance) bool) *observer {
	o := &observer{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(o.done)
		sc := inspect.NewScanner()
		for {
			select {
			case <-o.stop:
				return
			default:
			}
			if snap, err := sc.Resolve(inspect.Target{PidFile: pidFile}); err == nil && cond(snap.Instances[0]) {
				o.seen.Store(time.Now().UnixNano())
				return
			}
			time.Sleep(200 * time.Microsecond)
		}
	}()
	return o
}

// lag is how long after the observer the step returned; 0 when the observer saw it later.
func (o *observer) lag(returned time.Time) time.Duration {
	close(o.stop)
	<-o.done
	seen := o.seen.Load()
	if seen == 0 {
		return 0
	}
	return max(0, returned.Sub(time.Unix(0, seen)))
}

// BenchmarkStepLatency measures how long after nginx acts each step sees it: USR2 until the
// new master serves, WINCH until the old workers are gone, QUIT until the old master is gone,
// as the lag between a 200 µs observer and the step's return (ms per step, mean). Run it with
// -benchtime=20x; the events/ and polling/ sub-benchmarks compare the waker with plain polling.
func BenchmarkStepLatency(b *testing.B) {
	for _, mode := range []struct {
		name     string
		noEvents bool
	}{{"events", false}, {"polling", true}} {
		b.Run(mode.name, func(b *testing.B) {
			sb := sandboxtest.Start(b, sandbox.SandboxOptions{Workers: 2})
			log, err := audit.Open(filepath.Join(b.TempDir(), "audit.log"))
			if err != nil {
				b.Fatal(err)
			}
			r := upgrade.NewRunner(inspect.NewScanner(), log)
			r.NoEvents = mode.noEvents
			var ready, drained, gone time.Duration
			ctx := context.Background()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				// A build of its own each time: the one committed last runs, and an upgrade to
				// the same build is refused.
				cand := upgradetest.Copy(b)
				in := sandboxtest.Instance(b, sb)
				if in, _, err = r.Install(ctx, in, cand); err != nil {
					b.Fatal(err)
				}
				o := observe(sb.PidFile, func(in model.Instance) bool {
					return in.Phase == model.PhaseBothServing && in.New().ActiveWorkers() >= 2
				})
				if in, err = r.Start(ctx, in); err != nil {
					b.Fatal(err)
				}
				ready += o.lag(time.Now())
				o = observe(sb.PidFile, func(in model.Instance) bool { return in.Phase == model.PhaseOldDrained })
				if in, err = r.Drain(ctx, in, true); err != nil {
					b.Fatal(err)
				}
				drained += o.lag(time.Now())
				newPID := in.New().PID
				o = observe(sb.PidFile, func(in model.Instance) bool { return len(in.Masters) == 1 && in.Masters[0].PID == newPID })
				if _, err = r.Commit(ctx, in); err != nil {
					b.Fatal(err)
				}
				gone += o.lag(time.Now())
			}
			n := float64(b.N)
			b.ReportMetric(float64(ready.Microseconds())/n/1000, "ms-ready")
			b.ReportMetric(float64(drained.Microseconds())/n/1000, "ms-drained")
			b.ReportMetric(float64(gone.Microseconds())/n/1000, "ms-gone")
		})
	}
}
