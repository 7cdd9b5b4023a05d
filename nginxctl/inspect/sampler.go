package inspect

import (
	"os/user"
	"strconv"
	"time"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/proc"
)

// sampler reads one process at a time (stat, then title, from one proc.Reader) and keeps what
// must persist between reads: the previous CPU sample of each process, so CPU% is the use over
// the last interval; when a worker was first seen draining; and owners, read once a child has
// titled itself (it dropped privileges before). Not safe for concurrent use: the Scanner that
// holds it locks around it.
type sampler struct {
	r         *proc.Reader
	boot      time.Time
	cpu       map[procKey]cpuSample
	draining  map[procKey]time.Time
	users     map[int]string
	owners    map[procKey]string // user of a titled child: it dropped privileges before titling itself
	lastPrune time.Time
	// still holds what a keeping reader last read of each master's child (readChild).
	still   map[int]stillRead
	noSched bool // the kernel reports no scheduler statistics: readChild reads everything
	// seen and kids are what the last refresh read of each process's scheduler figures and
	// each master's children (Scanner.Still).
	seen map[int]proc.Sched
	kids map[int][]int
}

func newSampler() sampler {
	return sampler{r: proc.NewReader(), cpu: map[procKey]cpuSample{}, draining: map[procKey]time.Time{},
		users: map[int]string{}, owners: map[procKey]string{}, still: map[int]stillRead{},
		seen: map[int]proc.Sched{}, kids: map[int][]int{}}
}

// readProc reads one process: stat, title, owner.
func (s *sampler) readProc(pid int, now time.Time) (model.Process, error) {
	p, _, err := s.readFull(pid, now)
	return p, err
}

// readFull is readProc, also returning the stat read.
func (s *sampler) readFull(pid int, now time.Time) (model.Process, proc.Stat, error) {
	st, err := s.r.Stat(pid)
	if err != nil {
		return model.Process{}, st, err
	}
	if st.State == 'Z' {
		return model.Process{}, st, errZombie // exited, not yet reaped: its title is gone
	}
	title, err := s.r.Title(pid)
	if err != nil {
		return model.Process{}, st, err
	}
	role, draining := model.ParseTitle(title)
	p := model.Process{
		PID: pid, PPID: st.PPID, Role: role, ShuttingDown: draining,
		Comm: st.Comm, Title: title, StartTicks: st.StartTicks, ForkedNoExec: st.Flags&proc.PFForkNoExec != 0, Session: st.Session, Pgrp: st.Pgrp,
		Started: s.boot.Add(time.Duration(st.StartTicks) * time.Second / proc.ClockTicks),
		RSS:     st.RSSPages * uint64(pageSize), CPU: -1, Conns: -1,
	}
	key := procKey{pid, st.StartTicks}
	p.User = s.owner(key, role)
	p.CPU = s.cpuShare(key, st.CPUTicks, now)
	if draining {
		since, ok := s.draining[key]
		if !ok {
			since = now
			s.draining[key] = now
		}
		p.DrainingSince = since
	}
	return p, st, nil
}

// cpuShare is a process's CPU share since its previous sample, from its CPU time in ticks; -1
// for its first sample.
func (s *sampler) cpuShare(key procKey, ticks uint64, now time.Time) float64 {
	prev, ok := s.cpu[key]
	switch dt := now.Sub(prev.at); {
	case !ok:
		s.cpu[key] = cpuSample{ticks: ticks, at: now, pct: -1}
		return -1
	case dt < minCPUInterval:
		return prev.pct
	default:
		pct := float64(ticks-prev.ticks) / proc.ClockTicks / dt.Seconds() * 100
		s.cpu[key] = cpuSample{ticks: ticks, at: now, pct: pct}
		return pct
	}
}

// prune forgets samples, and the scanner's master details, of processes not seen for a while.
func (s *Scanner) prune(now time.Time) {
	for _, k := range s.sampler.prune(now) {
		delete(s.masters, k)
	}
}

// prune forgets the samples of processes not seen for a minute, at most every 10 s, and
// returns whose.
func (s *sampler) prune(now time.Time) []procKey {
	if now.Sub(s.lastPrune) < 10*time.Second {
		return nil
	}
	s.lastPrune = now
	s.r.Sweep() // the files of processes not read for 10 s or more
	var gone []procKey
	for pid, l := range s.still {
		if now.Sub(l.at) > fullReadEvery {
			delete(s.still, pid)
		}
	}
	for k, v := range s.cpu {
		if now.Sub(v.at) > time.Minute {
			delete(s.cpu, k)
			delete(s.draining, k)
			delete(s.owners, k)
			gone = append(gone, k)
		}
	}
	return gone
}

// owner returns the user a process runs as. A worker, cache manager or loader titles itself
// only after it switched to the worker user, so its user is read once; a master-titled process
// may be a child about to switch, so it is read every time.
func (s *sampler) owner(key procKey, role model.Role) string {
	if u, ok := s.owners[key]; ok {
		return u
	}
	uid, err := proc.Owner(key.pid)
	if err != nil {
		return ""
	}
	u := s.userName(uid)
	if role == model.RoleWorker || role == model.RoleCacheManager || role == model.RoleCacheLoader {
		s.owners[key] = u
	}
	return u
}

func (s *sampler) userName(uid int) string {
	if n, ok := s.users[uid]; ok {
		return n
	}
	n := strconv.Itoa(uid)
	if u, err := user.LookupId(n); err == nil {
		n = u.Username
	}
	s.users[uid] = n
	return n
}
