package proc

import "bytes"

// Sched is /proc/PID/schedstat: how long the process's main thread ran, in nanoseconds, and how
// many times it was put on a CPU. Both move whenever it runs at all, so an unchanged Sched
// means the process did nothing since: its title, state and counters are as they were.
type Sched struct {
	RunNS  uint64
	Slices uint64
}

// Known tells whether s holds figures. A kernel without scheduler statistics reports zeros,
// which would make every process look as if it never ran.
func (s Sched) Known() bool { return s.RunNS != 0 }

// Sched reads /proc/<pid>/schedstat, through the kept files of a keeping Reader.
func (r *Reader) Sched(pid int) (Sched, error) {
	b, err := r.readKept(pid, "schedstat")
	if err != nil {
		return Sched{}, err
	}
	return parseSched(b)
}

// parseSched reads "run_ns wait_ns slices".
func parseSched(b []byte) (Sched, error) {
	var f [3][]byte
	for i := range f {
		b = bytes.TrimLeft(b, " ")
		end := bytes.IndexAny(b, " \n")
		if end < 0 {
			end = len(b)
		}
		f[i], b = b[:end], b[end:]
	}
	run, ok1 := parseInt(f[0])
	slices, ok2 := parseInt(f[2])
	if !ok1 || !ok2 {
		return Sched{}, errBadStat
	}
	return Sched{RunNS: run, Slices: slices}, nil
}
