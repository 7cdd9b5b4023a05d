package inspect

import (
	"slices"
	"time"

	"github.com/hotdeploy/hotdeploy/nginxctl/proc"
)

// relist is how often a table kept from the feed is checked against a listing of /proc anyway.
const relist = time.Minute

// table keeps, between the scans of a long-running reader (the dashboard), the host's processes
// and which of them run something other than an nginx-family binary, from the netlink process
// connector: a process appears by fork, its comm changes only when it execs or renames itself,
// and a pid is reused only after its process exited; the connector reports all three. A scan
// then lists no directory and reads /proc/PID/comm only of processes that are new or changed.
// Without the connector (not root, or not in the initial network namespace), or once it lost
// events, a scan lists /proc and reads every comm, as a one-off scan does.
type table struct {
	feed   *proc.ExecFeed
	pids   map[int]bool // every process as of the last scan and the feed since; nil: unknown
	others map[int]bool // of those, the ones known not to be nginx-family
	listed time.Time    // when pids was last taken from /proc
}

// Follow prepares the scanner for a long-running reader that scans and refreshes again and
// again (the dashboard): the files of the processes it reads stay open between reads
// (proc.NewKeepingReader), and where the process connector is available, later scans read only
// the processes that are new or exec'd since the scan before. It reports whether the connector
// is. Close releases both.
func (s *Scanner) Follow() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.r.Keeping() {
		s.r = proc.NewKeepingReader()
	}
	if s.table.feed != nil {
		return true
	}
	f, err := proc.OpenExecFeed()
	if err != nil {
		return false
	}
	s.table = table{feed: f} // what was read before the feed listened is not trusted
	return true
}

// Close stops following execs and closes the files kept open.
func (s *Scanner) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.table.feed != nil {
		s.table.feed.Close()
	}
	s.table = table{}
	s.r.Close()
}

// apply takes in what the feed reported since the last scan. The pids to scan come from the
// table when it is whole, else from list (a listing of /proc).
func (t *table) apply(now time.Time, list func() ([]int, error)) ([]int, error) {
	if t.feed == nil {
		return list()
	}
	err := t.feed.Drain(func(ev proc.FeedEvent, pid int) {
		switch ev {
		case proc.FeedForked:
			if t.pids != nil {
				t.pids[pid] = true
			}
			delete(t.others, pid) // a reused pid, had its exit been missed
		case proc.FeedChanged:
			delete(t.others, pid)
		case proc.FeedExited:
			delete(t.pids, pid)
			delete(t.others, pid)
		}
	})
	if err != nil || t.pids == nil || now.Sub(t.listed) >= relist {
		pids, lerr := list()
		if lerr != nil {
			t.pids, t.others = nil, nil
			return nil, lerr
		}
		if err != nil {
			t.others = nil // lost events: any comm may have changed
		}
		t.pids, t.listed = make(map[int]bool, len(pids)), now
		for _, p := range pids {
			t.pids[p] = true
		}
		if t.others == nil {
			t.others = map[int]bool{}
		}
		return pids, nil
	}
	pids := make([]int, 0, len(t.pids))
	for p := range t.pids {
		pids = append(pids, p)
	}
	slices.Sort(pids)
	return pids, nil
}

// known tells whether pid is known to run something else than nginx.
func (t *table) known(pid int) bool { return t.others[pid] }

// other notes a process of this scan that runs something else.
func (t *table) other(pid int) {
	if t.others != nil {
		t.others[pid] = true
	}
}

// gone notes a process of the table that a scan found exited.
func (t *table) gone(pid int) {
	delete(t.pids, pid)
	delete(t.others, pid)
}
