package traffic

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/hotdeploy/hotdeploy/model"
)

// ServedBy splits the probe's successful responses by the master whose worker sent them, as
// the instance shows its workers now: oldGen counts the workers of the first master (the only
// one when no upgrade runs), newGen those of the second, unknown the pids the instance does not
// list (workers that have exited). Responses without an X-Worker-Pid header are not counted.
// Use WorkerOwners to keep counting the workers that have exited.
func ServedBy(stats ProbeStats, in model.Instance) (oldGen, newGen, unknown int64) {
	for pid, n := range stats.ByWorker {
		switch masterOf(in, pid) {
		case 0:
			unknown += n
		case in.Masters[0].PID:
			oldGen += n
		default:
			newGen += n
		}
	}
	return oldGen, newGen, unknown
}

// masterOf returns the pid of the master whose worker pid is, 0 if none.
func masterOf(in model.Instance, pid int) int {
	for _, m := range in.Masters {
		for _, c := range m.Children {
			if c.PID == pid && c.Role == model.RoleWorker {
				return m.PID
			}
		}
	}
	return 0
}

// WorkerOwners remembers the master of every worker it was shown (worker pid -> master pid), so
// that responses from workers that have since exited still count for their generation: after
// WINCH the old workers leave, but the requests they served stay the old master's.
type WorkerOwners map[int]int

// workerOwnersMax bounds the memory: beyond it, workers no longer in the instance are forgotten.
const workerOwnersMax = 4096

// Observe records the workers of the instance.
func (w WorkerOwners) Observe(in model.Instance) {
	if len(w) > workerOwnersMax {
		for pid := range w {
			if masterOf(in, pid) == 0 {
				delete(w, pid)
			}
		}
	}
	for _, m := range in.Masters {
		for _, c := range m.Children {
			if c.Role == model.RoleWorker {
				w[c.PID] = m.PID
			}
		}
	}
}

// ServedBy sums the probe's successful responses by master pid; key 0 holds the responses of
// workers never observed.
func (w WorkerOwners) ServedBy(stats ProbeStats) map[int]int64 {
	out := map[int]int64{}
	for pid, n := range stats.ByWorker {
		out[w[pid]] += n
	}
	return out
}

// ProbeSummary is one line about a probe for a log or a terminal: counts, failures by kind,
// latency and the workers that answered.
func ProbeSummary(s ProbeStats) string {
	var b strings.Builder
	mode := ""
	if s.Mode == ModeKeepAlive {
		mode = " (keep-alive)"
	}
	fmt.Fprintf(&b, "probe %s%s: %d ok, %d failed", s.URL, mode, s.OK, s.Failed)
	if s.Failed > 0 {
		var kinds []string
		for _, k := range FailureKinds {
			if n := s.Failures[k]; n > 0 {
				kinds = append(kinds, fmt.Sprintf("%d %s", n, k))
			}
		}
		fmt.Fprintf(&b, " (%s)", strings.Join(kinds, ", "))
	}
	if s.Retried > 0 {
		fmt.Fprintf(&b, "; %d sent again on a fresh connection, %d of them answered", s.Retried, s.RetriedOK)
	}
	if s.OK > 0 {
		fmt.Fprintf(&b, "; latency p50 %s, p99 %s", s.P50.Round(10*time.Microsecond), s.P99.Round(10*time.Microsecond))
	}
	if len(s.ByWorker) > 0 {
		pids := slices.Sorted(maps.Keys(s.ByWorker))
		var parts []string
		for _, pid := range pids {
			parts = append(parts, fmt.Sprintf("%d×%d", pid, s.ByWorker[pid]))
		}
		fmt.Fprintf(&b, "; answered by worker pid×requests %s", strings.Join(parts, " "))
	}
	if s.LastError != "" {
		fmt.Fprintf(&b, "; last failure: %s", s.LastError)
	}
	return b.String()
}
