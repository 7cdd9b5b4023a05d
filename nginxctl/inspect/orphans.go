package inspect

import (
	"sort"
	"time"

	"github.com/hotdeploy/hotdeploy/model"
)

// A generation is all its processes. When a master dies (SIGKILL, OOM, a crash), the kernel
// reparents its workers, cache manager and loader, and the workers go on accepting on the
// sockets they inherited: they do not exit once idle. So an instance keeps them, as Orphans,
// until they are gone, and a rollback ends them.

// groupKey is what ties a process to the instance it was born in: nginx never changes its
// process group or session after the first master daemonized, so the new master, its workers,
// and whatever a dead master leaves behind keep them.
type groupKey struct{ pgrp, session int }

func groupOf(p model.Process) groupKey { return groupKey{p.Pgrp, p.Session} }

// adoptOrphans gives each instance the nginx processes of its group whose parent is not a
// master, and returns a note for the ones no instance claims.
func adoptOrphans(instances []model.Instance, byParent map[int][]model.Process, isMaster map[int]bool) []model.Reason {
	bySession := map[groupKey]*model.Instance{}
	for i := range instances {
		if g := groupOf(instances[i].Masters[0].Process); g.pgrp > 1 {
			bySession[g] = &instances[i]
		}
	}
	var unclaimed []int
	for ppid, ps := range byParent {
		if isMaster[ppid] {
			continue
		}
		for _, p := range ps {
			if p.Role == model.RoleMaster {
				continue // a master of its own: it roots an instance
			}
			if in := bySession[groupOf(p)]; in != nil {
				in.Orphans = append(in.Orphans, p)
			} else {
				unclaimed = append(unclaimed, p.PID)
			}
		}
	}
	for i := range instances {
		sortByPID(instances[i].Orphans)
	}
	if len(unclaimed) == 0 {
		return nil
	}
	sort.Ints(unclaimed)
	return []model.Reason{model.Because("%d nginx processes have no master and belong to no running instance (pids %v): "+
		"workers among them still accept connections; end them by pid if they are not wanted", len(unclaimed), unclaimed)}
}

// carryOrphans keeps in in what prev knew and in lost without the kernel saying it exited: a
// child of a master that is no longer anyone's child here (its master died) but still runs
// with the same start time. It is how a refresh, which reads only the masters' children, still
// sees the workers a killed new master left behind.
func (s *Scanner) carryOrphans(prev model.Instance, in *model.Instance, now time.Time) {
	present := map[int]bool{}
	for _, m := range in.Masters {
		present[m.PID] = true
		for _, c := range m.Children {
			present[c.PID] = true
		}
	}
	candidates := append([]model.Process(nil), prev.Orphans...)
	for _, m := range prev.Masters {
		candidates = append(candidates, m.Children...)
	}
	for _, c := range candidates {
		if present[c.PID] {
			continue
		}
		p, err := s.readProc(c.PID, now)
		if err != nil || p.StartTicks != c.StartTicks || realMaster(p) {
			continue // exited, recycled, or a master standing alone
		}
		if p.Role == model.RoleMaster {
			p.Role = model.RoleUnknown // forked, not titled yet: see settle
		}
		if s.hasMaster(p, now) {
			continue
		}
		p.Generation = c.Generation
		present[p.PID] = true
		in.Orphans = append(in.Orphans, p)
	}
	sortByPID(in.Orphans)
}

// hasMaster tells whether p's parent is a live nginx-family master, of this instance or of
// another one (nginx started with daemon off by one shell shares its group with others).
func (s *Scanner) hasMaster(p model.Process, now time.Time) bool {
	if p.PPID <= 1 {
		return false
	}
	parent, err := s.readProc(p.PPID, now)
	return err == nil && parent.Role == model.RoleMaster && Families[parent.Comm]
}

func sortByPID(ps []model.Process) {
	sort.Slice(ps, func(i, j int) bool { return ps[i].PID < ps[j].PID })
}

// adoptGroup walks the process table for nginx processes of in's group that are not in its
// tree: what a dead master left behind, found without knowing its children beforehand (a
// status or rollback run after the fact). It reads only the comm of other processes.
func (s *Scanner) adoptGroup(in *model.Instance, now time.Time) error {
	g := groupOf(in.Masters[0].Process)
	if g.pgrp <= 1 {
		return nil
	}
	pids, err := s.familyPids(now)
	if err != nil {
		return err
	}
	present := map[int]bool{}
	for _, m := range in.Masters {
		present[m.PID] = true
		for _, c := range m.Children {
			present[c.PID] = true
		}
	}
	for _, o := range in.Orphans {
		present[o.PID] = true
	}
	for _, pid := range pids {
		if present[pid] {
			continue
		}
		p, err := s.readProc(pid, now)
		if err != nil || groupOf(p) != g || realMaster(p) || s.hasMaster(p, now) {
			continue
		}
		if p.Role == model.RoleMaster {
			p.Role = model.RoleUnknown
		}
		in.Orphans = append(in.Orphans, p)
	}
	sortByPID(in.Orphans)
	return nil
}

// realMaster tells a master from a child still carrying its master's title: a master either
// exec'd its binary (the new master of an upgrade) or leads the session it created when it
// daemonized; a freshly forked worker did neither.
func realMaster(p model.Process) bool {
	return p.Role == model.RoleMaster && (!p.ForkedNoExec || p.Session == p.PID)
}

// Leftovers returns the processes of in's generations that still run with no master for a
// parent, for when every master of in may be gone (a refresh has nothing left to read from):
// the orphans in carries, the children its masters had when it was read, and any other nginx
// process of the first master's process group and session. Each is checked against the kernel
// now (same pid and start time, not a master of its own, no live master for a parent).
func (s *Scanner) Leftovers(in model.Instance) []model.Process {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(in.Masters) == 0 {
		return nil
	}
	now := s.now()
	candidates := append([]model.Process(nil), in.Orphans...)
	for _, m := range in.Masters {
		candidates = append(candidates, m.Children...)
	}
	out := model.Instance{Masters: []model.Master{{Process: in.Masters[0].Process}}}
	seen := map[int]bool{}
	for _, c := range candidates {
		if seen[c.PID] {
			continue
		}
		seen[c.PID] = true
		p, err := s.readProc(c.PID, now)
		if err != nil || p.StartTicks != c.StartTicks || realMaster(p) || s.hasMaster(p, now) {
			continue
		}
		if p.Role == model.RoleMaster {
			p.Role = model.RoleUnknown // forked, not titled yet
		}
		p.Generation = c.Generation
		out.Orphans = append(out.Orphans, p)
	}
	// The masters themselves must not count as present: a pid of a dead master may have been
	// reused by an nginx process of the group, which is then a leftover like any other.
	out.Masters[0].PID = 0
	if err := s.adoptGroup(&out, now); err != nil {
		sortByPID(out.Orphans)
	}
	return out.Orphans
}
