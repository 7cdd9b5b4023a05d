// Package nginxctl is the system side of hotdeploy: it finds nginx instances in /proc, reads
// their details, signals them with identity checks, and runs the upgrade steps.
package inspect

import (
	"errors"
	"io/fs"
	"sort"
	"sync"
	"time"

	"github.com/shirou/gopsutil/v3/host"
	"github.com/shirou/gopsutil/v3/process"

	"github.com/hotdeploy/hotdeploy/model"
)

// Families are the comm names of nginx-family binaries. Their titles keep the "<comm>:" prefix,
// so the role parser never hard-codes "nginx:".
var Families = map[string]bool{"nginx": true, "angie": true, "openresty": true, "tengine": true, "freenginx": true}

// errZombie marks a process that exited and waits for its parent to reap it.
var errZombie = errors.New("process exited")

// listPids lists the processes in /proc.
func listPids() ([]int, error) {
	pids, err := process.Pids()
	out := make([]int, len(pids))
	for i, p := range pids {
		out[i] = int(p)
	}
	return out, err
}

// familyPids returns the processes whose comm is an nginx family's, reading the comm of every
// process, or after Follow of those new or changed since the last look.
func (s *Scanner) familyPids(now time.Time) ([]int, error) {
	pids, err := s.table.apply(now, listPids)
	if err != nil {
		return nil, model.Because("list processes: %w", err).Err()
	}
	var fam []int
	for _, pid := range pids {
		if s.table.known(pid) {
			continue
		}
		comm, err := s.r.Comm(pid)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				s.table.gone(pid)
			}
			continue
		}
		if !Families[string(comm)] {
			s.table.other(pid)
			continue
		}
		fam = append(fam, pid)
	}
	return fam, nil
}

// ErrGone is returned by Refresh when no master of the instance is alive any more.
var ErrGone = model.Because("the nginx instance is gone: no master of it is running").Err()

type procKey struct {
	pid   int
	start uint64
}

type cpuSample struct {
	ticks uint64
	at    time.Time
	pct   float64 // the share computed when this sample was taken; -1 for none
}

// minCPUInterval is the shortest interval a CPU share is computed over. The counters move in
// 10 ms ticks, so over a few milliseconds (a read right after a step) one tick would show as
// several hundred percent; a read that comes sooner repeats the last share.
const minCPUInterval = 200 * time.Millisecond

// Scanner discovers nginx instances (Scan) and refreshes known ones (Refresh): it assembles
// processes into instances and completes them with each master's details, which never change
// during its life. Reading one process, with what must persist between reads (CPU samples,
// drain starts, owners), is its sampler's job. Safe for concurrent use.
type Scanner struct {
	mu sync.Mutex
	sampler
	now     func() time.Time
	masters map[procKey]*masterInfo
	bins    binaryCache
	table   table
	// pidFiles holds the pid files a keeping scanner last read (readPidFile).
	pidFiles map[string]pidFileRead
}

// NewScanner prepares a scanner; it reads the boot time once to turn start ticks into times.
func NewScanner() *Scanner {
	s := &Scanner{sampler: newSampler(), now: time.Now, masters: map[procKey]*masterInfo{}}
	if bt, err := host.BootTime(); err == nil {
		s.boot = time.Unix(int64(bt), 0)
	}
	return s
}

// Scan walks the whole process table and returns every nginx-family instance. It reads only
// /proc/PID/comm of processes that are not nginx, and after Follow only of those that are
// new or changed since the scan before.
func (s *Scanner) Scan() (model.Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	pids, err := s.familyPids(now)
	if err != nil {
		return model.Snapshot{}, err
	}
	byParent := map[int][]model.Process{}
	var masters []model.Process
	for _, pid := range pids {
		p, err := s.readProc(pid, now)
		if err != nil {
			continue // exited meanwhile
		}
		if p.Role == model.RoleMaster {
			masters = append(masters, p)
		}
		byParent[p.PPID] = append(byParent[p.PPID], p)
	}
	snap := model.Snapshot{Taken: now}
	isMaster := map[int]bool{}
	for _, m := range masters {
		isMaster[m.PID] = true
	}
	for _, m := range masters {
		if isMaster[m.PPID] {
			continue // a new master: it joins its parent's instance
		}
		in := s.assemble(m, func(pid int) []model.Process { return byParent[pid] })
		snap.Instances = append(snap.Instances, in)
	}
	for _, n := range adoptOrphans(snap.Instances, byParent, isMaster) {
		snap.Note(n)
	}
	sort.Slice(snap.Instances, func(i, j int) bool { return snap.Instances[i].Key() < snap.Instances[j].Key() })
	s.prune(now)
	return snap, nil
}

// Refresh re-reads one known instance: its masters and their children only, found through
// /proc/PID/task/PID/children, never the whole process table. A new master started by USR2
// shows up as a child of the old one; when the old master is gone, the new one stands alone.
func (s *Scanner) Refresh(prev model.Instance) (model.Instance, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	known := knownChildren(prev)
	clear(s.seen)
	clear(s.kids)
	for i, m := range prev.Masters {
		s.noteMaster(m.PID)
		p, err := s.readProc(m.PID, now)
		if err != nil || p.StartTicks != m.StartTicks || p.Role != model.RoleMaster {
			continue
		}
		in := s.assemble(p, func(pid int) []model.Process { return s.readChildren(pid, now, known[pid]) })
		if i == 0 && s.leftParent(prev, in, now) {
			continue // the old master is exiting: the new master stands alone now
		}
		s.carryOrphans(prev, &in, now)
		s.prune(now)
		return in, nil
	}
	return model.Instance{}, ErrGone
}

// leftParent tells whether in, read from the old master, lost the new master prev had because
// that one left its parent: the kernel reparents it as the old master exits, a moment before the
// old one is gone. It is checked after the old master's children were read, and leaving is for
// good, so a reparenting between the two reads cannot make the new master vanish.
func (s *Scanner) leftParent(prev, in model.Instance, now time.Time) bool {
	nw := prev.New()
	if nw == nil || in.New() != nil {
		return false
	}
	p, err := s.readProc(nw.PID, now)
	return err == nil && p.StartTicks == nw.StartTicks && p.PPID != in.Masters[0].PID
}

// InstanceOf returns the instance a master pid belongs to, without a full scan. The pid may be
// the old or the new master.
func (s *Scanner) InstanceOf(pid int) (model.Instance, error) {
	s.mu.Lock()
	now := s.now()
	p, err := s.readProc(pid, now)
	if err != nil {
		s.mu.Unlock()
		return model.Instance{}, model.Because("pid %d is not running", pid).Err()
	}
	if p.Role != model.RoleMaster || !Families[p.Comm] {
		s.mu.Unlock()
		return model.Instance{}, model.Because("pid %d is not an nginx master (it is %s: %q)", pid, p.Comm, p.Title).Err()
	}
	if parent, err := s.readProc(p.PPID, now); err == nil && parent.Role == model.RoleMaster && parent.Comm == p.Comm {
		p = parent
	}
	s.mu.Unlock()
	in, err := s.Refresh(model.Instance{Masters: []model.Master{{Process: p}}})
	if err != nil {
		return in, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return in, s.adoptGroup(&in, s.now())
}

// assemble builds the instance rooted at master root, with children from kids.
func (s *Scanner) assemble(root model.Process, kids func(pid int) []model.Process) model.Instance {
	old := model.Master{Process: root}
	var nw *model.Master
	for _, c := range settle(kids(root.PID)) {
		if (c.Role == model.RoleMaster || startingMaster(c)) && nw == nil {
			nw = &model.Master{Process: c, Children: settle(kids(c.PID))}
			continue
		}
		old.Children = append(old.Children, c)
	}
	in := model.Instance{Family: root.Comm, Masters: []model.Master{old}}
	if nw != nil {
		in.Masters = append(in.Masters, *nw)
	}
	s.complete(&in)
	return in
}

// settle fixes the role of children that still carry their master's title. A worker keeps the
// title "master process" from its fork until it renames itself, and would read as the new master
// of an upgrade; but that new master exec'd its binary, which a worker never does. So a
// master-titled child that had not exec'd when its title was read is a process still starting:
// role unknown. The flag comes from the stat read made before the title (readProc), never from
// a later read: a child that execs between two reads would otherwise pass with its old title.
func settle(ps []model.Process) []model.Process {
	for i := range ps {
		if ps[i].Role == model.RoleMaster && ps[i].ForkedNoExec {
			ps[i].Role = model.RoleUnknown
		}
	}
	return ps
}

// startingMaster tells whether a child of a master is the new master of an upgrade before it
// titled itself: it exec'd a binary (workers and cache processes never do) and is not titled
// yet, e.g. a new binary that hangs or still loads its config.
func startingMaster(c model.Process) bool {
	return c.Role == model.RoleUnknown && !c.ForkedNoExec
}
