package chaostest

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hotdeploy/hotdeploy/nginxctl/inspect"
	"github.com/hotdeploy/hotdeploy/nginxctl/proc"
	"golang.org/x/sys/unix"
)

// procKey names one process for good: a recycled pid gets a later start time.
type procKey struct {
	pid   int
	start uint64
}

// sighting is a process a try saw, and under whom.
type sighting struct {
	procKey
	ppid  int
	title string
	first time.Duration // since the recording started
}

// recorder records every process of a generation a try sees, from the kernel's view (the
// children lists of /proc), not from any classification: the masters named by the pid files,
// the old master of the try, and every descendant of theirs down two levels (the new master is
// a child of the old one, its workers grandchildren). It polls in the background while a try
// runs, and on demand at each step.
type recorder struct {
	pidFile string
	roots   []int // masters known to the try: their subtrees are walked on every pass
	mu      sync.Mutex
	seen    map[procKey]sighting
	t0      time.Time
	stop    chan struct{}
	done    chan struct{}
	r       *proc.Reader
}

// newRecorder starts recording the instance of pidFile, whose master is root, every interval.
func newRecorder(pidFile string, root int, interval time.Duration) *recorder {
	rec := &recorder{pidFile: pidFile, roots: []int{root}, seen: map[procKey]sighting{}, t0: time.Now(),
		stop: make(chan struct{}), done: make(chan struct{}), r: proc.NewReader()}
	rec.pass()
	go func() {
		defer close(rec.done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-rec.stop:
				rec.pass()
				return
			case <-tick.C:
				rec.pass()
			}
		}
	}()
	return rec
}

// finish stops the background polling after one last pass.
func (rec *recorder) finish() {
	select {
	case <-rec.stop:
	default:
		close(rec.stop)
	}
	<-rec.done
}

// pass records the subtrees of the roots and of whatever the pid files name now.
func (rec *recorder) pass() {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	roots := append([]int{}, rec.roots...)
	for _, f := range []string{rec.pidFile, rec.pidFile + ".oldbin"} {
		if pid, err := inspect.ReadPidFile(f); err == nil {
			roots = append(roots, pid)
		}
	}
	for _, pid := range roots {
		rec.walk(pid, 0, 0)
	}
}

// walk records pid and its descendants down to depth 2.
func (rec *recorder) walk(pid, depth, parent int) {
	st, err := rec.r.Stat(pid)
	if err != nil || st.State == 'Z' {
		return
	}
	if depth > 0 && st.PPID != parent {
		return
	}
	if !inspect.Families[st.Comm] {
		return // a pid file naming something that is not nginx: not ours to record
	}
	k := procKey{pid, st.StartTicks}
	if _, ok := rec.seen[k]; !ok {
		title, _ := rec.r.Title(pid)
		rec.seen[k] = sighting{procKey: k, ppid: st.PPID, title: title, first: time.Since(rec.t0)}
	}
	if depth == 2 {
		return
	}
	kids, err := rec.r.Children(pid)
	if err != nil {
		return
	}
	for _, c := range kids {
		rec.walk(c, depth+1, pid)
	}
}

// all returns what was seen.
func (rec *recorder) all() []sighting {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	out := make([]sighting, 0, len(rec.seen))
	for _, s := range rec.seen {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].first < out[j].first })
	return out
}

// childrenOf returns the processes seen whose parent was pid at the time, oldest first.
func (rec *recorder) childrenOf(pid int) []sighting {
	var out []sighting
	for _, s := range rec.all() {
		if s.ppid == pid {
			out = append(out, s)
		}
	}
	return out
}

// leaks returns the recorded processes that still run though they belong to no generation that
// should be left: anything but the masters in keep and their children of now. Each one found is
// ended (SIGKILL through a pidfd, by pid and start time) so that the next try starts clean.
func (rec *recorder) leaks(keep ...int) []string {
	kept := map[int]bool{}
	for _, k := range keep {
		if k > 0 {
			kept[k] = true
		}
	}
	var out []string
	r := proc.NewReader()
	for _, s := range rec.all() {
		if proc.Exited(s.pid, s.start) {
			continue
		}
		if kept[s.pid] {
			continue
		}
		if st, err := r.Stat(s.pid); err == nil && st.StartTicks == s.start && kept[st.PPID] {
			continue
		}
		title, _ := r.Title(s.pid)
		out = append(out, fmt.Sprintf("pid %d %q (first seen as %q under %d, %s into the try)", s.pid, title, s.title, s.ppid, s.first.Round(time.Millisecond)))
		endByRef(s.procKey)
	}
	return out
}

// endByRef sends SIGKILL to the process k names, if the pid still names it, and waits (up to 5 s)
// for the kernel to say it exited.
func endByRef(k procKey) {
	h, err := proc.Open(k.pid, k.start)
	if err != nil {
		return
	}
	defer h.Close()
	_ = unix.PidfdSendSignal(h.FD(), syscall.SIGKILL, nil, 0)
	for deadline := time.Now().Add(5 * time.Second); !h.Exited() && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
}

// killNow sends sig to pid if it still started at start, through a pidfd; it returns when the
// signal was sent, or why it was not.
func killNow(k procKey, sig syscall.Signal) error {
	h, err := proc.Open(k.pid, k.start)
	if err != nil {
		return err
	}
	defer h.Close()
	return unix.PidfdSendSignal(h.FD(), sig, nil, 0)
}

// statKey returns pid's identity now.
func statKey(pid int) (procKey, error) {
	st, err := proc.NewReader().Stat(pid)
	if err != nil {
		return procKey{}, err
	}
	if st.State == 'Z' {
		return procKey{}, fmt.Errorf("pid %d is a zombie", pid)
	}
	return procKey{pid, st.StartTicks}, nil
}

// joinLines is for messages.
func joinLines(ss []string) string { return strings.Join(ss, "; ") }
