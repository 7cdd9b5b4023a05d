package nginxctl

import (
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/hotdeploy/hotdeploy/model"
)

// TestCPUPercentIsTheShareOverTheLastInterval samples this test process twice with a clock the
// test moves by exactly two seconds, and burns CPU in between: CPU% must be the tick delta over
// those two seconds (not a lifetime average), bracketed by the test's own reads of the counters.
func TestCPUPercentIsTheShareOverTheLastInterval(t *testing.T) {
	s := NewScanner()
	clock := time.Unix(1_800_000_000, 0)
	s.now = func() time.Time { return clock }
	pid := os.Getpid()
	r := newProcReader()
	ticks := func() uint64 {
		t.Helper()
		st, err := r.stat(pid)
		if err != nil {
			t.Fatal(err)
		}
		return st.cpuTicks
	}

	before1 := ticks()
	first, err := s.readProc(pid, s.now())
	after1 := ticks()
	if err != nil {
		t.Fatal(err)
	}
	if first.CPU != -1 {
		t.Fatalf("first sample: CPU %v, want -1 (unknown)", first.CPU)
	}

	// Burn at least 10 ticks (100 ms of CPU); the wall-clock bound only keeps the loop finite.
	stop := time.Now().Add(30 * time.Second)
	x := 0
	for ticks() < after1+10 {
		for i := 0; i < 1_000_000; i++ {
			x += i
		}
		if time.Now().After(stop) {
			t.Fatalf("could not burn 10 ticks of CPU in 30 s (x=%d)", x)
		}
	}

	clock = clock.Add(2 * time.Second)
	before2 := ticks()
	second, err := s.readProc(pid, s.now())
	after2 := ticks()
	if err != nil {
		t.Fatal(err)
	}
	// ticks are 1/100 s, so over 2 s, CPU% = ticks / 100 / 2 * 100 = ticks / 2.
	lo, hi := float64(before2-after1)/2, float64(after2-before1)/2
	if second.CPU < lo || second.CPU > hi || second.CPU < 5 {
		t.Errorf("second sample: CPU %.1f%%, want between %.1f%% and %.1f%% (and at least 5%%)", second.CPU, lo, hi)
	}

	// A read right after (a refresh kicked by a step) is too soon for 10 ms ticks to say
	// anything: it repeats the last share instead of dividing one tick by a few milliseconds.
	for _, d := range []time.Duration{0, minCPUInterval / 2} {
		clock = clock.Add(d)
		soon, err := s.readProc(pid, s.now())
		if err != nil {
			t.Fatal(err)
		}
		if soon.CPU != second.CPU {
			t.Errorf("sample %s after the last: CPU %v, want the last share %v again", d, soon.CPU, second.CPU)
		}
	}
	clock = clock.Add(minCPUInterval)
	before4 := ticks()
	fourth, err := s.readProc(pid, s.now())
	after4 := ticks()
	if err != nil {
		t.Fatal(err)
	}
	// Measured from the second sample, 2.5 intervals of the test clock ago.
	secs := (minCPUInterval/2 + minCPUInterval).Seconds()
	if lo, hi := float64(before4-after2)/secs, float64(after4-before2)/secs; fourth.CPU < lo || fourth.CPU > hi {
		t.Errorf("sample after the interval: CPU %.1f%%, want between %.1f%% and %.1f%%", fourth.CPU, lo, hi)
	}
}

// TestMasterTitledChildIsNewMasterOnlyOnceItExeced: right after a master forks a worker, the
// worker still carries the title "master process" until it renames itself. The scanner must not
// take it for the new master of an upgrade, which has exec'd its binary (a worker never does).
// The window lasts microseconds, so the test shows the scanner real processes of a real upgrade
// with the workers' titles as they were at their fork.
func TestMasterTitledChildIsNewMasterOnlyOnceItExeced(t *testing.T) {
	sb, err := StartSandbox(SandboxOptions{Dir: t.TempDir(), Workers: 1})
	if err != nil {
		t.Fatalf("start sandbox nginx: %v", err)
	}
	t.Cleanup(func() {
		if err := sb.Stop(); err != nil {
			t.Errorf("stop sandbox: %v", err)
		}
	})
	oldPID, err := readPidFile(sb.PidFile)
	if err != nil {
		t.Fatal(err)
	}
	s := NewScanner()
	in, err := s.InstanceOf(oldPID)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(oldPID, syscall.SIGUSR2); err != nil {
		t.Fatal(err)
	}
	for i := 0; len(in.Masters) < 2 || in.Masters[1].ActiveWorkers() == 0; i++ {
		if i == 2000 {
			t.Fatalf("no new master with a worker after SIGUSR2; error log: %s", TailFile(sb.ErrorLog, 3))
		}
		time.Sleep(5 * time.Millisecond)
		if in, err = s.Refresh(in); err != nil {
			t.Fatal(err)
		}
	}
	oldWorker, newMaster, newWorker := in.Masters[0].Workers()[0], in.Masters[1].Process, in.Masters[1].Workers()[0]
	for _, c := range []struct {
		p      model.Process
		forked bool
	}{{oldWorker, true}, {newWorker, true}, {newMaster, false}} {
		st, err := s.r.stat(c.p.PID)
		if err != nil {
			t.Fatal(err)
		}
		if got := st.flags&pfForkNoExec != 0; got != c.forked {
			t.Fatalf("%s %d: PF_FORKNOEXEC %v, want %v", c.p.Role, c.p.PID, got, c.forked)
		}
	}

	asJustForked := func(p model.Process) model.Process { p.Role, p.Title = model.RoleMaster, newMaster.Title; return p }
	kids := map[int][]model.Process{
		oldPID:        {asJustForked(oldWorker), newMaster},
		newMaster.PID: {asJustForked(newWorker)},
	}
	got := s.assemble(in.Masters[0].Process, func(pid int) []model.Process {
		return append([]model.Process(nil), kids[pid]...)
	})
	if len(got.Masters) != 2 || got.Masters[1].PID != newMaster.PID {
		t.Fatalf("masters %+v, want old %d then new %d", got.Masters, oldPID, newMaster.PID)
	}
	for _, m := range got.Masters {
		if len(m.Children) != 1 || m.Children[0].Role != model.RoleUnknown {
			t.Errorf("children of %s master %d: %+v, want one still-starting (unknown) process", m.Generation, m.PID, m.Children)
		}
	}
}
