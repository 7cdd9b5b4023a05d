package inspect

import (
	"os"
	"testing"
	"time"

	"github.com/hotdeploy/hotdeploy/nginxctl/proc"
)

// TestCPUPercentIsTheShareOverTheLastInterval samples this test process twice with a clock the
// test moves by exactly two seconds, and burns CPU in between: CPU% must be the tick delta over
// those two seconds (not a lifetime average), bracketed by the test's own reads of the counters.
func TestCPUPercentIsTheShareOverTheLastInterval(t *testing.T) {
	s := NewScanner()
	clock := time.Unix(1_800_000_000, 0)
	s.now = func() time.Time { return clock }
	pid := os.Getpid()
	r := proc.NewReader()
	ticks := func() uint64 {
		t.Helper()
		st, err := r.Stat(pid)
		if err != nil {
			t.Fatal(err)
		}
		return st.CPUTicks
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
