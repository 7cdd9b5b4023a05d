package sandbox

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/inspect"
	"github.com/hotdeploy/hotdeploy/nginxctl/proc"
	"golang.org/x/sys/unix"
)

// Stop ends every process of the sandbox and removes the directory unless kept. It rescans
// until the kernel says nothing of the sandbox is left: every instance whose pid file or prefix
// is ours, both masters during an upgrade, their children, processes a dead master left behind
// (by the session of our daemonized masters), anything started with Command, and everything an
// earlier pass saw. Masters get SIGTERM; what is left after a few seconds gets SIGKILL, each by
// its pid and start time.
func (sb *Sandbox) Stop() error {
	seen := map[int]model.Process{}
	termSent := map[int]bool{}
	start := time.Now()
	for {
		for _, p := range sb.processes() {
			if q, ok := seen[p.PID]; !ok || q.StartTicks != p.StartTicks {
				seen[p.PID] = p
			}
		}
		var alive []model.Process
		for _, p := range seen {
			if !proc.Exited(p.PID, p.StartTicks) {
				alive = append(alive, p)
			}
		}
		if len(alive) == 0 {
			break
		}
		elapsed := time.Since(start)
		if elapsed > stopDeadline {
			return fmt.Errorf("sandbox %s: %d processes still run after SIGTERM and SIGKILL: %v", sb.Prefix, len(alive), pidsOf(alive))
		}
		for _, p := range alive {
			switch {
			case elapsed > stopGrace:
				killByRef(p, syscall.SIGKILL)
			case p.Role == model.RoleMaster && !termSent[p.PID]:
				killByRef(p, syscall.SIGTERM)
				termSent[p.PID] = true
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, c := range sb.started {
		if c.Process != nil {
			_ = c.Process.Kill()
			_ = c.Wait()
		}
	}
	if sb.keep {
		return nil
	}
	return sb.removeDir()
}

// stopGrace is how long masters have to end their instance after SIGTERM; stopDeadline bounds
// the whole Stop.
const (
	stopGrace    = 3 * time.Second
	stopDeadline = 15 * time.Second
)

// killByRef signals p if its pid still names the process seen (same start time), whatever its
// title says now: a new master may have titled itself since, and must be ended all the same.
func killByRef(p model.Process, sig syscall.Signal) {
	h, err := proc.Open(p.PID, p.StartTicks)
	if err != nil {
		return // gone
	}
	defer h.Close()
	_ = unix.PidfdSendSignal(h.FD(), sig, nil, 0)
}

func pidsOf(ps []model.Process) []int {
	pids := make([]int, len(ps))
	for i, p := range ps {
		pids[i] = p.PID
	}
	return pids
}

func (sb *Sandbox) removeDir() error {
	if !sb.ownDir || sb.Prefix == "" {
		return nil
	}
	return os.RemoveAll(sb.Prefix)
}

// processes lists the sandbox's nginx processes: every instance whose pid file or prefix is ours,
// with its orphans, and every nginx-family process in the session of a master of ours.
func (sb *Sandbox) processes() []model.Process {
	snap, err := inspect.NewScanner().Scan()
	if err != nil {
		return nil
	}
	var ps []model.Process
	for _, in := range snap.Instances {
		// By prefix too: it comes from -p on the command line, so it is known even when the
		// config that names the pid file is already gone.
		if in.PidFile != sb.PidFile && in.Prefix != sb.Prefix && !sb.sessions[in.Masters[0].Session] {
			continue
		}
		for _, m := range in.Masters {
			sb.noteSession(m.Process)
			ps = append(ps, m.Process)
			ps = append(ps, m.Children...)
		}
		ps = append(ps, in.Orphans...)
	}
	return append(ps, sb.inSessions()...)
}

// noteSession remembers the session of a daemonized master of ours (it leads its session), so
// that processes its generation leaves behind are found even once every master is gone.
func (sb *Sandbox) noteSession(m model.Process) {
	if m.Session != m.PID || m.PID <= 1 {
		return // not daemonized: its session is its parent's, shared with others
	}
	if sb.sessions == nil {
		sb.sessions = map[int]bool{}
	}
	sb.sessions[m.Session] = true
}

// inSessions walks /proc for nginx-family processes in our masters' sessions.
func (sb *Sandbox) inSessions() []model.Process {
	if len(sb.sessions) == 0 {
		return nil
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	r := proc.NewReader()
	var ps []model.Process
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := r.Stat(pid)
		if err != nil || !sb.sessions[st.Session] || !inspect.Families[st.Comm] {
			continue
		}
		ps = append(ps, model.Process{PID: pid, PPID: st.PPID, Comm: st.Comm, StartTicks: st.StartTicks, Session: st.Session})
	}
	return ps
}
