package supervisor

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/hotdeploy/hotdeploy/model"
)

// Parent is the parent process of a master as /proc shows it.
type Parent struct {
	PID  int
	Comm string
	// NSPids is the NSpid line of its status: its pid in each pid namespace from ours inward.
	// More than one entry ending in 1 is the PID 1 of a container seen from outside.
	NSPids []int
	// InContainer is true when this process itself runs in a container (PID 1 of our pid
	// namespace carries a container= variable), so our pid 1 is the container's init.
	InContainer bool
}

// Kinds of supervising parents.
const (
	KindSupervisord   = "supervisord"
	KindRunit         = "runsv"
	KindS6            = "s6-supervise"
	KindContainerInit = "container-init"
)

// knownSupervisors maps the comm of a supervising parent to its kind. supervisord is a Python
// script: its comm is the script's name.
var knownSupervisors = map[string]string{
	"supervisord":  KindSupervisord,
	"runsv":        KindRunit,
	"s6-supervise": KindS6,
}

// Supervisor names a parent that restarts or stops the master on its own; the zero value
// means none is known. An upgrade ends the master it started, which such a parent notices.
type Supervisor struct {
	Kind string `json:"kind"`
	PID  int    `json:"pid"`
	Comm string `json:"comm"`
}

// Known reports whether a supervising parent was recognised.
func (s Supervisor) Known() bool { return s.Kind != "" }

func (s Supervisor) String() string { return s.Reason().String() }

// Reason is what String says, as a reason for the dashboard's language.
func (s Supervisor) Reason() model.Reason {
	if s.Kind == KindContainerInit {
		return model.Because("the container's PID 1 (%s, pid %d)", s.Comm, s.PID)
	}
	return model.Because("%s (pid %d)", s.Comm, s.PID)
}

// ClassifyParent names a known supervisor or a container's PID 1; a daemonised master whose
// parent is the host's init (or systemd) gets the zero Supervisor: systemd is found through
// the cgroup instead.
func ClassifyParent(p Parent) Supervisor {
	s := Supervisor{PID: p.PID, Comm: p.Comm}
	if k, ok := knownSupervisors[p.Comm]; ok {
		s.Kind = k
		return s
	}
	n := len(p.NSPids)
	outside := n > 1 && p.NSPids[n-1] == 1
	inside := p.PID == 1 && p.InContainer
	if outside || inside {
		s.Kind = KindContainerInit
		return s
	}
	return Supervisor{}
}

// ParentOf reads the parent of pid from /proc: comm, NSpid, and whether we run in a container.
func ParentOf(pid int) (Parent, error) {
	ppid, _, err := statusFields(pid)
	if err != nil {
		return Parent{}, err
	}
	_, nspids, err := statusFields(ppid)
	if err != nil {
		return Parent{}, err
	}
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", ppid))
	if err != nil {
		return Parent{}, fmt.Errorf("read the name of pid %d, parent of %d: %w", ppid, pid, err)
	}
	return Parent{PID: ppid, Comm: strings.TrimSpace(string(comm)), NSPids: nspids, InContainer: inContainer()}, nil
}

// inContainer tells from the conventions container managers follow: systemd-nspawn and podman
// set container= for PID 1 (unreadable as non-root), Docker and podman leave a file at the root.
func inContainer() bool {
	env, _ := os.ReadFile("/proc/1/environ")
	if bytes.HasPrefix(env, []byte("container=")) || bytes.Contains(env, []byte("\x00container=")) {
		return true
	}
	for _, f := range []string{"/.dockerenv", "/run/.containerenv"} {
		if _, err := os.Stat(f); err == nil {
			return true
		}
	}
	return false
}

// statusFields returns PPid and NSpid from /proc/PID/status.
func statusFields(pid int) (ppid int, nspids []int, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, nil, fmt.Errorf("read the status of pid %d: %w (has it exited?)", pid, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, val, _ := strings.Cut(sc.Text(), ":")
		switch key {
		case "PPid":
			ppid, _ = strconv.Atoi(strings.TrimSpace(val))
		case "NSpid":
			for _, w := range strings.Fields(val) {
				n, _ := strconv.Atoi(w)
				nspids = append(nspids, n)
			}
		}
	}
	return ppid, nspids, sc.Err()
}
