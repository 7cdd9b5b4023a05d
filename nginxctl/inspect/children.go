package inspect

import (
	"slices"
	"sort"
	"time"

	"github.com/hotdeploy/hotdeploy/model"
)

// readChildren reads the children of pid from /proc. The kernel's children list can skip a live
// child while a sibling exits, so a child the previous refresh saw (known) and that is still
// there with the same start time is kept even when the list misses it.
func (s *Scanner) readChildren(pid int, now time.Time, known []model.Process) []model.Process {
	pids, err := s.r.Children(pid)
	if err != nil {
		return nil
	}
	s.noteChildren(pid, pids)
	ps := make([]model.Process, 0, len(pids))
	listed := make(map[int]bool, len(pids))
	for _, c := range pids {
		listed[c] = true
		if p, err := s.readChild(c, now); err == nil && p.PPID == pid {
			ps = append(ps, p)
		}
	}
	missed := false
	for _, k := range known {
		if listed[k.PID] {
			continue
		}
		if p, err := s.readProc(k.PID, now); err == nil && p.PPID == pid && p.StartTicks == k.StartTicks {
			ps = append(ps, p)
			missed = true
		}
	}
	if missed {
		all := slices.Clone(pids)
		for _, p := range ps {
			if !listed[p.PID] {
				all = append(all, p.PID)
			}
		}
		s.noteChildren(pid, all)
		sort.Slice(ps, func(i, j int) bool { return ps[i].PID < ps[j].PID })
	}
	return ps
}

// knownChildren maps each master of an instance to the children it had, the new master
// counting as a child of the old one.
func knownChildren(in model.Instance) map[int][]model.Process {
	known := make(map[int][]model.Process, len(in.Masters))
	for _, m := range in.Masters {
		known[m.PID] = m.Children
	}
	if nw := in.New(); nw != nil {
		old := in.Masters[0]
		known[old.PID] = append(slices.Clip(old.Children), nw.Process)
	}
	return known
}
