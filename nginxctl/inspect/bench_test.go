package inspect_test

import (
	"errors"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shirou/gopsutil/v3/process"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/inspect"
	"github.com/hotdeploy/hotdeploy/nginxctl/sandbox"
	"github.com/hotdeploy/hotdeploy/nginxctl/sandbox/sandboxtest"
)

// Benchmarks for the budgets of DESIGN.md: a full discovery scan of a host with 2,000 processes
// in <= 25 ms, and a refresh of a known 16-worker instance in <= 1 ms of CPU, whatever the host
// runs. Both run on a host loaded with 2,000 extra processes that the benchmark starts itself.
//
//	go test -run '^$' -bench . -benchmem -count 5 ./nginxctl/

const extraProcesses = 2000

// sleepers are the extra processes, shared by every benchmark of the run and ended by TestMain.
var sleepers struct {
	sync.Mutex
	cmds []*exec.Cmd
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	stopSleepers()
	os.Exit(code)
}

// loadHost makes sure 2,000 extra processes run: `sleep` started with an argument list (no
// shell), each with a death signal so none outlives a crashed benchmark binary, and a sleep
// length that ends them anyway.
func loadHost(b *testing.B) {
	b.Helper()
	sleepers.Lock()
	defer sleepers.Unlock()
	if sleepers.err != nil {
		b.Fatal(sleepers.err)
	}
	if len(sleepers.cmds) == 0 {
		sleep, err := exec.LookPath("sleep")
		if err != nil {
			b.Fatalf("the benchmark needs sleep(1): %v", err)
		}
		for i := 0; i < extraProcesses; i++ {
			c := exec.Command(sleep, "900")
			c.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
			if err := c.Start(); err != nil {
				sleepers.err = err
				b.Fatalf("start extra process %d: %v", i, err)
			}
			sleepers.cmds = append(sleepers.cmds, c)
		}
	}
	// Every one of them must still be there, or the figures are not for a loaded host.
	for _, c := range sleepers.cmds {
		if err := syscall.Kill(c.Process.Pid, 0); err != nil {
			b.Fatalf("extra process %d is gone: %v", c.Process.Pid, err)
		}
	}
}

// stopSleepers ends each extra process by its own pid and reaps it.
func stopSleepers() {
	sleepers.Lock()
	defer sleepers.Unlock()
	for _, c := range sleepers.cmds {
		_ = c.Process.Kill()
	}
	for _, c := range sleepers.cmds {
		_ = c.Wait()
	}
	sleepers.cmds = nil
}

func processCount(b *testing.B) int {
	b.Helper()
	pids, err := process.Pids()
	if err != nil {
		b.Fatal(err)
	}
	return len(pids)
}

// cpuTime is the CPU this process has used, user and system: the refresh budget is CPU, and
// the scan's cost is mostly system time in /proc.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// measure runs op b.N times and reports CPU per op beside the wall time.
func measure(b *testing.B, op func()) {
	b.ReportAllocs()
	b.ResetTimer()
	start := cpuTime(b)
	for i := 0; i < b.N; i++ {
		op()
	}
	b.StopTimer()
	b.ReportMetric(float64(cpuTime(b)-start)/float64(b.N), "cpu-ns/op")
}

func hasInstance(snap model.Snapshot, pidFile string) bool {
	for _, in := range snap.Instances {
		if in.PidFile == pidFile {
			return true
		}
	}
	return false
}

// BenchmarkScan compares the discovery scan with gopsutil's naive way (every process, then its
// command line) on the same loaded host in the same run.
func BenchmarkScan(b *testing.B) {
	sb := sandboxtest.Start(b, sandbox.SandboxOptions{Workers: 2})
	loadHost(b)
	procs := processCount(b)
	if procs < extraProcesses {
		b.Fatalf("%d processes on the host, want at least %d", procs, extraProcesses)
	}
	b.Run("hotdeploy", func(b *testing.B) {
		sc := inspect.NewScanner()
		snap, err := sc.Scan() // the first scan runs nginx -V once: details are cached
		if err != nil || !hasInstance(snap, sb.PidFile) {
			b.Fatalf("scan did not find the sandbox: %v", err)
		}
		var scanErr error
		measure(b, func() {
			if _, err := sc.Scan(); err != nil {
				scanErr = err
			}
		})
		if scanErr != nil {
			b.Fatal(scanErr)
		}
		b.ReportMetric(float64(procs), "procs")
	})
	b.Run("hotdeploy-following-execs", func(b *testing.B) {
		// The dashboard's scans: after the first, only new or exec'd processes are read.
		sc := inspect.NewScanner()
		defer sc.Close()
		if !sc.Follow() {
			b.Skip("the netlink process connector is not available here (root, initial network namespace)")
		}
		if snap, err := sc.Scan(); err != nil || !hasInstance(snap, sb.PidFile) {
			b.Fatalf("scan did not find the sandbox: %v", err)
		}
		var scanErr error
		measure(b, func() {
			snap, err := sc.Scan()
			if err != nil {
				scanErr = err
			} else if !hasInstance(snap, sb.PidFile) {
				scanErr = errors.New("a scan following execs lost the sandbox")
			}
		})
		if scanErr != nil {
			b.Fatal(scanErr)
		}
	})
	b.Run("gopsutil-naive", func(b *testing.B) {
		found := 0
		measure(b, func() {
			ps, err := process.Processes()
			if err != nil {
				b.Fatal(err)
			}
			found = 0
			for _, p := range ps {
				if cmd, err := p.Cmdline(); err == nil && len(cmd) > 0 {
					found++
				}
			}
		})
		if found < extraProcesses {
			b.Fatalf("naive scan read %d command lines, want at least %d", found, extraProcesses)
		}
		b.ReportMetric(float64(procs), "procs")
	})
}

// BenchmarkRefresh refreshes a known 16-worker instance on the loaded host: it must read that
// instance's processes only.
func BenchmarkRefresh(b *testing.B) {
	sb := sandboxtest.Start(b, sandbox.SandboxOptions{Workers: 16})
	loadHost(b)
	sc := inspect.NewScanner()
	master, err := os.ReadFile(sb.PidFile)
	if err != nil {
		b.Fatal(err)
	}
	pid, err := strconv.Atoi(string(master[:len(master)-1]))
	if err != nil {
		b.Fatal(err)
	}
	in, err := sc.InstanceOf(pid)
	if err != nil {
		b.Fatal(err)
	}
	// The sandbox returns once its first worker serves; the others follow.
	in = sandboxtest.WaitFor(b, sc, in, 10*time.Second, "16 workers", func(in model.Instance) bool {
		return in.Masters[0].ActiveWorkers() == 16
	})
	for _, follow := range []bool{false, true} {
		name := "opening"
		if follow {
			name = "following" // the dashboard's scanner: files kept open
			sc.Follow()
		}
		b.Run(name, func(b *testing.B) {
			var refreshErr error
			measure(b, func() {
				cur, err := sc.Refresh(in)
				if err != nil {
					refreshErr = err
					return
				}
				in = cur
			})
			if refreshErr != nil {
				b.Fatal(refreshErr)
			}
			if n := len(in.Masters[0].Workers()); n != 16 || in.Phase != model.PhaseIdle {
				b.Fatalf("after the benchmark: %d workers, phase %s", n, in.Phase)
			}
			b.ReportMetric(float64(len(in.Masters[0].Children)+1), "procs/refresh")
		})
	}
	// What the dashboard's quiet loop does between full refreshes: ask whether anything ran.
	b.Run("still-check", func(b *testing.B) {
		cur, err := sc.Refresh(in)
		if err != nil {
			b.Fatal(err)
		}
		still := 0
		measure(b, func() {
			if sc.Still(cur) {
				still++
			}
		})
		if still == 0 {
			b.Fatal("Still never said an idle nginx was still: the benchmark measured full refreshes' checks only")
		}
	})
	sc.Close()
}
