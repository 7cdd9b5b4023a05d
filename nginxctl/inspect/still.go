package inspect

import (
	"time"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/proc"
)

// fullReadEvery bounds how long readChild answers from what it last read: what can change in a
// process that does not run (its resident memory, as the kernel reclaims pages) is at most this
// old on screen.
const fullReadEvery = 5 * time.Second

// stillRead is a child's last full read, with its scheduler figures then.
type stillRead struct {
	sched proc.Sched
	p     model.Process
	ticks uint64 // CPU time then, in ticks
	at    time.Time
}

// readChild reads a child a master lists: a worker, cache manager or loader, or a new master.
// With a keeping reader (the dashboard, four times a second), it first reads the child's
// scheduler figures, one small read, and when they did not move since the last full read, the
// child has not run since: its title, state and CPU time are as they were, and the stat and
// cmdline reads are skipped. An idle worker then costs one read instead of two. A master-titled
// child (a new master, which may exec or switch users) is always read in full, and so is every
// child once in fullReadEvery.
//
// Its parent is the one thing that moves without the child running: the kernel reparents it
// when its master dies. Callers read the master first (a dead master lists nothing), and the
// children a master no longer lists are read in full (readChildren).
func (s *sampler) readChild(pid int, now time.Time) (model.Process, error) {
	if !s.r.Keeping() || s.noSched {
		return s.readProc(pid, now)
	}
	sc, err := s.r.Sched(pid)
	if err == nil && sc.Known() {
		s.seen[pid] = sc
	}
	if err != nil || !sc.Known() {
		delete(s.still, pid)
		if err == nil {
			s.noSched = true
		}
		return s.readProc(pid, now)
	}
	if l, ok := s.still[pid]; ok && l.sched == sc && now.Sub(l.at) < fullReadEvery {
		p := l.p
		p.CPU = s.cpuShare(procKey{pid, p.StartTicks}, l.ticks, now)
		return p, nil
	}
	delete(s.still, pid)
	p, st, err := s.readFull(pid, now)
	if err != nil || p.Role == model.RoleMaster || p.Role == model.RoleUnknown {
		return p, err
	}
	s.still[pid] = stillRead{sched: sc, p: p, ticks: st.CPUTicks, at: now}
	return p, nil
}

// noteMaster records a master's scheduler figures at a refresh, for Still.
func (s *sampler) noteMaster(pid int) {
	if !s.r.Keeping() || s.noSched {
		return
	}
	if sc, err := s.r.Sched(pid); err == nil && sc.Known() {
		s.seen[pid] = sc
	}
}

// noteChildren records the children of a master a refresh read, for Still: those its list named
// and those kept although the list missed them.
func (s *sampler) noteChildren(pid int, kids []int) {
	if s.r.Keeping() {
		s.kids[pid] = kids
	}
}

// Still tells whether a refresh of in now would read what the last one read: no master or child
// of it ran since (their scheduler figures did not move). Nothing nginx does (a title, a worker's
// exit or connection, a line in the error log, a pid file written, a new master forked) happens
// without one of them running, so the dashboard checks this four times a second with a few reads
// that need no wake-up of the Go scheduler (see proc's rawPread), and refreshes in full only when
// it says no, or every few seconds.
//
// The children checked are those the last refresh noted, without listing them again: a master's
// list only changes when it forks (it ran; its figures were noted before its list was read) or
// when a child exits (the child ran, or its figures are gone) or is reparented (its master died).
// It says no whenever it cannot tell: a kernel without scheduler statistics, a scanner that keeps
// no files, a master whose children the last refresh did not list, an instance with orphans
// (their exits are not its children's).
func (s *Scanner) Still(in model.Instance) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.r.Keeping() || s.noSched || len(in.Masters) == 0 || len(in.Orphans) > 0 {
		return false
	}
	for _, m := range in.Masters {
		kids, ok := s.kids[m.PID]
		if !ok || !s.ranNot(m.PID) {
			return false
		}
		for _, k := range kids {
			if !s.ranNot(k) {
				return false
			}
		}
	}
	return true
}

// ranNot tells whether pid's scheduler figures are those the last refresh saw.
func (s *Scanner) ranNot(pid int) bool {
	was, ok := s.seen[pid]
	if !ok {
		return false
	}
	sc, err := s.r.Sched(pid)
	return err == nil && sc == was
}
