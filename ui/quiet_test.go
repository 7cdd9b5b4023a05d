package ui

import (
	"sync"
	"testing"
	"time"

	"github.com/hotdeploy/hotdeploy/model"
)

// countingSource counts refreshes, and after changeAfter of them (0: never) shows next instead.
type countingSource struct {
	*fakeSource
	mu          sync.Mutex
	reads       int
	changeAfter int
	next        model.Instance
}

func (c *countingSource) Refresh(in model.Instance) (model.Instance, error) {
	c.mu.Lock()
	c.reads++
	if c.changeAfter > 0 && c.reads == c.changeAfter {
		c.fakeSource.set(c.next)
	}
	c.mu.Unlock()
	return c.fakeSource.Refresh(in)
}

func (c *countingSource) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reads
}

func quietModel(t *testing.T, in model.Instance) (Model, *countingSource) {
	t.Helper()
	m, src, _ := newModel(t, Options{Interval: time.Millisecond}, in)
	cs := &countingSource{fakeSource: src}
	m.deps.Source = cs
	return m, cs
}

// While nothing changes, the quiet loop reads at every interval but hands one reading a second
// to the screen: the renders are what an idle dashboard spends its CPU on.
func TestQuietRefreshRendersOnceASecondWhileNothingChanges(t *testing.T) {
	m, src := quietModel(t, idleInstance())
	cmd := m.tick()
	start := time.Now()
	msg, ok := cmd().(refreshMsg)
	took := time.Since(start)
	if !ok {
		t.Fatalf("the quiet loop handed %T, want a refresh", msg)
	}
	if took < quietFor {
		t.Errorf("an unchanged instance was handed on after %s, before %s", took, quietFor)
	}
	if n := src.count(); n < 2 {
		t.Errorf("the loop read %d times in %s at a 1 ms interval, want it to keep reading", n, took)
	}
}

// A reading that differs is handed on at once: a step's effect shows within one refresh.
func TestQuietRefreshHandsOnAChangeAtOnce(t *testing.T) {
	m, src := quietModel(t, bothServingInstance())
	src.changeAfter, src.next = 3, oldDrainingInstance()
	msg, ok := m.tick()().(refreshMsg)
	if !ok {
		t.Fatalf("the quiet loop handed %T, want a refresh", msg)
	}
	if msg.in.Phase != model.PhaseOldDraining || src.count() != 3 {
		t.Errorf("handed phase %s after %d reads, want old-draining after 3", msg.in.Phase, src.count())
	}
}

// A kick (a step just changed nginx) ends the quiet loop: it hands nothing more, and the kicked
// loop reads on its own.
func TestKickEndsTheQuietLoop(t *testing.T) {
	m, src := quietModel(t, idleInstance())
	cmd := m.tick()
	done := make(chan any, 1)
	go func() { done <- cmd() }()
	for src.count() == 0 {
		time.Sleep(time.Millisecond)
	}
	m.kick()
	select {
	case msg := <-done:
		if msg != nil {
			t.Errorf("the replaced loop handed %T, want nothing", msg)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the replaced quiet loop did not end")
	}
}

// While a step runs, reads are not coalesced: the footer's elapsed time moves at each.
func TestNoQuietLoopWhileAStepRuns(t *testing.T) {
	m, src := quietModel(t, idleInstance())
	m.busy = &running{action: model.ActUpgrade, cancel: func() {}}
	if _, ok := m.tick()().(refreshMsg); !ok || src.count() != 1 {
		t.Errorf("with a step running, one tick read %d times", src.count())
	}
}

// stillSource is a countingSource that says, as the Scanner's Still does, whether a refresh
// would read anything new: still until stillUntil checks (0: always still).
type stillSource struct {
	*countingSource
	checks, stillUntil int
}

// RefreshStill counts as a full refresh: it reads everything but the connection counts.
func (s *stillSource) RefreshStill(in model.Instance) (model.Instance, error) {
	return s.Refresh(in)
}

func (s *stillSource) Still(model.Instance) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checks++
	return s.stillUntil == 0 || s.checks < s.stillUntil
}

// While the source says nginx did not run, the quiet loop skips the full refresh until the
// once-a-second one; the moment it says otherwise, the loop refreshes and hands a change on.
func TestQuietRefreshSkipsFullReadsWhileStill(t *testing.T) {
	m, cs := quietModel(t, idleInstance())
	ss := &stillSource{countingSource: cs}
	m.deps.Source = ss
	if _, ok := m.tick()().(refreshMsg); !ok {
		t.Fatal("the quiet loop handed no refresh after a second")
	}
	if n, checks := cs.count(), ss.checks; n != 1 || checks < 2 {
		t.Errorf("while still: %d full refreshes and %d checks in a second, want 1 (the second's) and many", n, checks)
	}

	// After a recent full read, the second's message is the same reading, every CPU share at
	// zero (none of its processes ran), without a read.
	busy := idleInstance()
	busy.Masters[0].Children[0].CPU = 12.5
	m, cs = quietModel(t, busy)
	m.deps.Source = &stillSource{countingSource: cs}
	m.fullAt = time.Now()
	msg, ok := m.tick()().(refreshMsg)
	if !ok || !msg.still || cs.count() != 0 {
		t.Fatalf("handed %T (still %v) after %d full refreshes, want the still reading after none", msg, msg.still, cs.count())
	}
	if cpu := msg.in.Masters[0].Children[0].CPU; cpu != 0 || m.inst.Masters[0].Children[0].CPU != 12.5 {
		t.Errorf("still reading: CPU %v, want 0; the screen's instance now says %v, want it untouched (12.5)",
			cpu, m.inst.Masters[0].Children[0].CPU)
	}

	m, cs = quietModel(t, bothServingInstance())
	cs.changeAfter, cs.next = 1, oldDrainingInstance()
	ss = &stillSource{countingSource: cs, stillUntil: 3}
	m.deps.Source = ss
	start := time.Now()
	msg, ok = m.tick()().(refreshMsg)
	if !ok || msg.in.Phase != model.PhaseOldDraining {
		t.Fatalf("handed %T (%v) once the check said nginx ran, want the old-draining reading", msg, ok)
	}
	if took := time.Since(start); took >= quietFor || cs.count() != 1 || ss.checks != 3 {
		t.Errorf("handed after %s, %d full refreshes, %d checks; want it before %s, after 1 refresh and 3 checks",
			took, cs.count(), ss.checks, quietFor)
	}

	// A source that cannot tell gets no check: every read is full.
	m, _ = quietModel(t, idleInstance())
	if m.stillCheck() != nil {
		t.Fatal("a source without Still got a check")
	}
}

// A refresh after a still-check keeps each worker's connection count, by pid and start: a
// worker that is another process under the same pid keeps its own.
func TestCarryConnsKeepsCountsOfTheSameProcesses(t *testing.T) {
	prev := idleInstance()
	prev.Masters[0].Children[0].Conns = 5
	cur := idleInstance()
	cur.Masters[0].Children[0].Conns = -1
	cur.Masters[0].Children[1].Conns = -1
	cur.Masters[0].Children[1].StartTicks++ // the pid was reused
	carryConns(prev, &cur)
	if got := cur.Masters[0].Children[0].Conns; got != 5 {
		t.Errorf("same worker: %d connections, want 5", got)
	}
	if got := cur.Masters[0].Children[1].Conns; got != -1 {
		t.Errorf("another process under a known pid: %d connections, want -1 (unknown)", got)
	}
}
