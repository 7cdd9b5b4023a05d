// Package supervisor tells who looks after an nginx master besides the operator: the systemd
// unit whose cgroup holds it and what systemd believes about it (through `systemctl show`, no
// D-Bus), or a supervising parent such as supervisord, runsv, s6-supervise or a container's
// PID 1. An upgrade that ignores the supervisor can leave it tracking a dead pid, so the checks
// here say before and after each step whether systemd will follow, with the command that fixes
// it when it will not.
package supervisor

import (
	"fmt"
	"os"
	"strings"
)

// Placement is where a process sits in the cgroup tree, and the systemd unit that owns it.
type Placement struct {
	// Cgroup is the path read from /proc/PID/cgroup (unified line, or name=systemd on hybrid
	// hosts whose unified line does not name a unit).
	Cgroup string
	// Unit is the last path component when it names a service ("nginx.service"), else "".
	Unit string
	// Prefix is what precedes the first slice, e.g. "/machine-x/payload" seen from outside a
	// container. Non-empty means the unit belongs to another systemd (a container's), so
	// `systemctl show` here would ask the wrong manager.
	Prefix string
}

// ParseCgroup reads the content of /proc/PID/cgroup. The unified ("0::") line wins when it names
// a service; on hybrid hosts systemd also tracks services in the name=systemd hierarchy, which
// is then used. A process in no service gets a Placement with an empty Unit.
func ParseCgroup(content string) Placement {
	var unified, named string
	haveUnified := false
	for _, line := range strings.Split(content, "\n") {
		id, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		controllers, path, ok := strings.Cut(rest, ":")
		if !ok {
			continue
		}
		switch {
		case id == "0" && controllers == "":
			unified, haveUnified = path, true
		case controllers == "name=systemd":
			named = path
		}
	}
	if p := placementOf(unified); p.Unit != "" || (haveUnified && named == "") {
		return p
	}
	if named != "" {
		return placementOf(named)
	}
	return placementOf(unified)
}

func placementOf(path string) Placement {
	p := Placement{Cgroup: path}
	parts := strings.Split(strings.Trim(path, "/"), "/")
	last := parts[len(parts)-1]
	if !strings.HasSuffix(last, ".service") || last == ".service" {
		return p
	}
	p.Unit = last
	before := parts[:len(parts)-1]
	for i, c := range before {
		if strings.HasSuffix(c, ".slice") {
			before = before[:i]
			break
		}
	}
	if len(before) > 0 {
		p.Prefix = "/" + strings.Join(before, "/")
	}
	return p
}

// UnitOf reads /proc/PID/cgroup. Seen from inside a container's cgroup namespace the path has
// no prefix; seen from the host it has one (see Placement.Prefix).
func UnitOf(pid int) (Placement, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return Placement{}, fmt.Errorf("read the cgroup of pid %d: %w (has it exited?)", pid, err)
	}
	return ParseCgroup(string(b)), nil
}
