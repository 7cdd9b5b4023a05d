package chaostest

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/hotdeploy/hotdeploy/nginxctl/inspect"
	"github.com/hotdeploy/hotdeploy/nginxctl/proc"
)

// view is an instance as masters and their children, with the phase: what `status --json` says,
// or what the kernel says (procView), so the two can be compared.
type view struct {
	masters  map[int][]int // master pid: its children's pids, sorted (another master not among them)
	order    []int         // masters, old first
	phase    string
	accepted map[int]int // master pid: how many of its workers accept
}

func (v view) String() string {
	var parts []string
	for _, m := range v.order {
		parts = append(parts, fmt.Sprintf("%d%v", m, v.masters[m]))
	}
	return fmt.Sprintf("%s: %s", v.phase, strings.Join(parts, " "))
}

func (v view) equal(w view) bool {
	if v.phase != w.phase || !slices.Equal(v.order, w.order) {
		return false
	}
	for m, kids := range v.masters {
		if !slices.Equal(kids, w.masters[m]) {
			return false
		}
	}
	return true
}

// statusView reads `status --json` output.
func statusView(out string) (view, error) {
	var doc struct {
		Instances []struct {
			Phase   string `json:"phase"`
			Masters []struct {
				PID      int `json:"pid"`
				Children []struct {
					PID int `json:"pid"`
				} `json:"children"`
			} `json:"masters"`
		} `json:"instances"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		return view{}, fmt.Errorf("status --json: %v: %q", err, clip(out, 300))
	}
	if len(doc.Instances) != 1 {
		return view{}, fmt.Errorf("status --json lists %d instances, want the one named", len(doc.Instances))
	}
	in := doc.Instances[0]
	v := view{masters: map[int][]int{}, phase: in.Phase}
	for _, m := range in.Masters {
		v.order = append(v.order, m.PID)
		kids := []int{}
		for _, c := range m.Children {
			kids = append(kids, c.PID)
		}
		sort.Ints(kids)
		v.masters[m.PID] = kids
	}
	return v, nil
}

// procView reads the instance from /proc alone: the old master of the try if it lives, the
// master nginx.pid names, a child of the old master that exec'd (the new master), each with its
// children; the phase by DESIGN.md's rules from the titles and the pid files.
func procView(pidFile string, old procKey) view {
	r := proc.NewReader()
	v := view{masters: map[int][]int{}, accepted: map[int]int{}}
	live := func(pid int) bool {
		st, err := r.Stat(pid)
		return err == nil && st.State != 'Z' && inspect.Families[st.Comm]
	}
	add := func(pid int) {
		if _, ok := v.masters[pid]; !ok && live(pid) {
			v.masters[pid] = nil
			v.order = append(v.order, pid)
		}
	}
	pidPID, _ := inspect.ReadPidFile(pidFile)
	oldbin, _ := inspect.ReadPidFile(pidFile + ".oldbin")
	if !proc.Exited(old.pid, old.start) {
		add(old.pid)
		kids, _ := r.Children(old.pid)
		for _, c := range kids {
			if st, err := r.Stat(c); err == nil && st.Flags&proc.PFForkNoExec == 0 && st.State != 'Z' {
				add(c) // exec'd: the new master (a worker is forked and never execs)
			}
		}
	}
	if pidPID > 0 {
		add(pidPID)
	}
	for _, m := range v.order {
		kids, _ := r.Children(m)
		list := []int{}
		for _, c := range kids {
			if _, isMaster := v.masters[c]; isMaster {
				continue
			}
			st, err := r.Stat(c)
			if err != nil || st.State == 'Z' {
				continue
			}
			list = append(list, c)
			if title, _ := r.Title(c); strings.HasSuffix(title, "worker process") {
				v.accepted[m]++
			}
		}
		sort.Ints(list)
		v.masters[m] = list
	}
	switch {
	case len(v.order) == 1 && oldbin == v.order[0]:
		v.phase = "new-starting"
	case len(v.order) < 2:
		v.phase = "idle"
	case pidPID != v.order[1] || v.accepted[v.order[1]] == 0:
		v.phase = "new-starting"
	case len(v.masters[v.order[0]]) == 0:
		v.phase = "old-drained"
	case v.accepted[v.order[0]] > 0:
		v.phase = "both-serving"
	default:
		v.phase = "old-draining"
	}
	return v
}

// compareStatus runs `status --json` until it and /proc agree, reading /proc before and after
// each run so that a moving tree is not held against it; it returns the disagreement that
// outlasted 3 s ("" when they agree).
func (tg *target) compareStatus(t testingT, old procKey) string {
	var last string
	for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		before := procView(tg.sb.PidFile, old)
		r := hd(t, hdOpts{timeout: 30 * time.Second}, "status", "--pidfile", tg.sb.PidFile, "--json")
		after := procView(tg.sb.PidFile, old)
		switch st, err := statusView(r.stdout); {
		case r.timedOut || r.panicked() || r.code != 0:
			last = "status: " + r.String()
		case err != nil:
			last = err.Error()
		case !before.equal(after):
			last = fmt.Sprintf("the tree moved while status ran (%s, then %s)", before, after)
		case !st.equal(before):
			last = fmt.Sprintf("status says %s, /proc says %s", st, before)
		default:
			return ""
		}
		if time.Now().After(deadline) {
			return last
		}
	}
}
