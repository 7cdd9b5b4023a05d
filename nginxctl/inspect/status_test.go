package inspect_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hotdeploy/hotdeploy/nginxctl/inspect"
	"github.com/hotdeploy/hotdeploy/nginxctl/sandbox"
	"github.com/hotdeploy/hotdeploy/nginxctl/sandbox/sandboxtest"
	"github.com/hotdeploy/hotdeploy/nginxctl/upgrade/upgradetest"
)

// The `status --json` document as a script reads it: only the names DESIGN.md promises.
type jsonStatus struct {
	Instances []jsonInstance `json:"instances"`
}

type jsonInstance struct {
	PidFile       string       `json:"pid_file"`
	Conf          string       `json:"conf"`
	Phase         string       `json:"phase"`
	Binary        string       `json:"binary"`
	BinaryDiffers bool         `json:"binary_differs"`
	PidFilePID    int          `json:"pid_file_pid"`
	OldbinPID     int          `json:"oldbin_pid"`
	Masters       []jsonMaster `json:"masters"`
}

type jsonMaster struct {
	PID         int         `json:"pid"`
	PPID        int         `json:"ppid"`
	Generation  string      `json:"generation"`
	Exe         string      `json:"exe"`
	ExeReplaced bool        `json:"exe_replaced"`
	StartTicks  uint64      `json:"start_ticks"`
	Children    []jsonChild `json:"children"`
}

type jsonChild struct {
	PID           int    `json:"pid"`
	Role          string `json:"role"`
	Generation    string `json:"generation"`
	ShuttingDown  bool   `json:"shutting_down"`
	DrainingSince string `json:"draining_since"`
}

func (m jsonMaster) child(pid int) (jsonChild, bool) {
	for _, c := range m.Children {
		if c.PID == pid {
			return c, true
		}
	}
	return jsonChild{}, false
}

func (m jsonMaster) activeWorkers() int {
	n := 0
	for _, c := range m.Children {
		if c.Role == "worker" && !c.ShuttingDown {
			n++
		}
	}
	return n
}

// required are the keys DESIGN.md lists for status --json, by level.
var required = map[string][]string{
	"instance": {"pid_file", "conf", "phase", "masters"},
	"master":   {"pid", "generation", "exe", "exe_replaced", "start_ticks", "children"},
	"child":    {"pid", "role", "shutting_down"},
}

// checkKeys fails when the document lacks a key that scripts rely on.
func checkKeys(t *testing.T, doc []byte) {
	t.Helper()
	var raw struct {
		Instances []map[string]json.RawMessage `json:"instances"`
	}
	if err := json.Unmarshal(doc, &raw); err != nil || raw.Instances == nil {
		t.Fatalf("status --json is not a document with instances: %v: %s", err, doc)
	}
	has := func(level string, obj map[string]json.RawMessage) {
		for _, k := range required[level] {
			if _, ok := obj[k]; !ok {
				t.Fatalf("status --json: %s lacks %q: %s", level, k, doc)
			}
		}
	}
	for _, in := range raw.Instances {
		has("instance", in)
		var ms []map[string]json.RawMessage
		if err := json.Unmarshal(in["masters"], &ms); err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			has("master", m)
			var cs []map[string]json.RawMessage
			if err := json.Unmarshal(m["children"], &cs); err != nil {
				t.Fatal(err)
			}
			for _, c := range cs {
				has("child", c)
			}
		}
	}
}

// statusJSON does what `hotdeploy status --json --pidfile P` does, with a new scanner each time
// as each run of the command has, and decodes the document.
func statusJSON(t *testing.T, pidFile string) (jsonInstance, error) {
	t.Helper()
	snap, err := inspect.NewScanner().Resolve(inspect.Target{PidFile: pidFile})
	if err != nil {
		return jsonInstance{}, err
	}
	var buf bytes.Buffer
	if err := inspect.WriteStatusJSON(&buf, snap); err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(buf.Bytes(), []byte("\n")); n != 1 {
		t.Fatalf("status --json printed %d lines, want one object on one line", n)
	}
	checkKeys(t, buf.Bytes())
	var doc jsonStatus
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Instances) != 1 {
		t.Fatalf("status --pidfile %s: %d instances, want 1", pidFile, len(doc.Instances))
	}
	for _, m := range doc.Instances[0].Masters {
		for _, c := range m.Children {
			if c.Role == "master" {
				t.Errorf("status: child %d of master %d has the role master (a worker before it renamed itself?)", c.PID, m.PID)
			}
		}
	}
	return doc.Instances[0], nil
}

// waitStatus polls statusJSON until cond holds: at most 2,000 polls and 20 s.
func waitStatus(t *testing.T, pidFile, what string, cond func(jsonInstance) bool) jsonInstance {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var last jsonInstance
	var lastErr error
	for i := 0; i < 2000 && time.Now().Before(deadline); i++ {
		in, err := statusJSON(t, pidFile)
		if err == nil && cond(in) {
			return in
		}
		if err == nil {
			last = in
		}
		lastErr = err
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("status never showed %s; last phase %q, masters %+v, last error %v", what, last.Phase, last.Masters, lastErr)
	return last
}

// replaceBinary installs a fresh copy of the binary at path the way an upgrade does: a temporary
// file in the same directory renamed over it (writing into a running binary fails with ETXTBSY).
func replaceBinary(t *testing.T, path string) {
	t.Helper()
	tmp := path + ".new"
	if err := sandbox.CopyFile(path, tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	// Another build: the same binary with a marker past its ELF segments.
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_APPEND, 0)
	if err == nil {
		_, err = f.WriteString("\nhotdeploy test build\n")
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// TestStatusJSONNewStarting holds the new master back for 1.5 s after USR2 (a candidate that
// waits before it execs nginx), so `status --json` must report new-starting: nginx.pid was
// renamed to nginx.pid.oldbin, and no second master serves yet.
func TestStatusJSONNewStarting(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.SandboxOptions{Workers: 1})
	oldPID := readPid(t, sb.PidFile)
	settledInstance(t, sb, 1)
	slow := upgradetest.Wrapper(t, upgradetest.SlowAsNew)
	tmp := sb.Binary + ".new"
	if err := sandbox.CopyFile(slow, tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, sb.Binary); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(oldPID, syscall.SIGUSR2); err != nil {
		t.Fatal(err)
	}
	starting := waitStatus(t, sb.PidFile, "new-starting", func(in jsonInstance) bool { return in.Phase == "new-starting" })
	if starting.OldbinPID != oldPID || starting.Masters[0].PID != oldPID {
		t.Errorf("new-starting: oldbin_pid %d, first master %d; want both %d", starting.OldbinPID, starting.Masters[0].PID, oldPID)
	}
	both := waitStatus(t, sb.PidFile, "both-serving", func(in jsonInstance) bool { return in.Phase == "both-serving" })
	if len(both.Masters) != 2 || both.Masters[1].Generation != "new" || both.PidFilePID != both.Masters[1].PID {
		t.Errorf("both-serving after the slow start: %+v", both)
	}
}

// TestStatusJSONThroughUpgrade drives a real upgrade by hand, with signals the test sends itself
// to the pids it read, and checks what `status --json` says at each phase.
func TestStatusJSONThroughUpgrade(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.SandboxOptions{Workers: 2})
	oldPID := readPid(t, sb.PidFile)
	settledInstance(t, sb, 2)

	idle, err := statusJSON(t, sb.PidFile)
	if err != nil {
		t.Fatal(err)
	}
	if idle.Phase != "idle" || len(idle.Masters) != 1 || idle.PidFile != sb.PidFile || idle.Conf != sb.Conf ||
		idle.PidFilePID != oldPID || idle.BinaryDiffers {
		t.Fatalf("idle status: %+v", idle)
	}
	om := idle.Masters[0]
	if om.PID != oldPID || om.Generation != "current" || om.Exe != sb.Binary || om.ExeReplaced ||
		om.StartTicks != statField(t, oldPID, 22) || len(om.Children) != 4 {
		t.Fatalf("idle master: %+v", om)
	}
	roles := map[string]int{}
	for _, c := range om.Children {
		roles[c.Role]++
		if c.Generation != "current" || c.ShuttingDown {
			t.Errorf("idle child: %+v", c)
		}
	}
	if roles["worker"] != 2 || roles["cache-manager"] != 1 || roles["cache-loader"] != 1 {
		t.Errorf("idle roles %v", roles)
	}

	held, release := upgradetest.HoldSlow(t, sb)
	if c, ok := om.child(held); !ok || c.Role != "worker" {
		t.Fatalf("the slow download is served by pid %d, not one of the old workers %+v", held, om.Children)
	}

	replaceBinary(t, sb.Binary)
	replaced, err := statusJSON(t, sb.PidFile)
	if err != nil {
		t.Fatal(err)
	}
	if replaced.Phase != "idle" || !replaced.BinaryDiffers || !replaced.Masters[0].ExeReplaced {
		t.Fatalf("after replacing the binary: phase %s, binary_differs %v, exe_replaced %v",
			replaced.Phase, replaced.BinaryDiffers, replaced.Masters[0].ExeReplaced)
	}

	// USR2: the new master starts as a child of the old one.
	if err := syscall.Kill(oldPID, syscall.SIGUSR2); err != nil {
		t.Fatal(err)
	}
	first := waitStatus(t, sb.PidFile, "a second master", func(in jsonInstance) bool { return len(in.Masters) == 2 })
	t.Logf("first status with two masters: phase %s", first.Phase)
	if first.Phase != "new-starting" && first.Phase != "both-serving" {
		t.Errorf("first status with two masters: phase %q, want new-starting or both-serving", first.Phase)
	}
	// both-serving starts with the first new worker; wait for all of them.
	both := waitStatus(t, sb.PidFile, "both-serving with 2 new workers", func(in jsonInstance) bool {
		return in.Phase == "both-serving" && in.Masters[1].activeWorkers() == 2
	})
	old, nw := both.Masters[0], both.Masters[1]
	newPID := nw.PID
	if old.PID != oldPID || old.Generation != "old" || !old.ExeReplaced || old.StartTicks != om.StartTicks {
		t.Errorf("both-serving: old master %+v", old)
	}
	if nw.Generation != "new" || nw.PPID != oldPID || nw.ExeReplaced || nw.Exe != sb.Binary {
		t.Errorf("both-serving: new master %+v, want a child of %d running the new file", nw, oldPID)
	}
	if both.PidFilePID != newPID || both.OldbinPID != oldPID {
		t.Errorf("both-serving: pid file names %d, .oldbin %d; want %d and %d", both.PidFilePID, both.OldbinPID, newPID, oldPID)
	}
	for _, m := range both.Masters {
		for _, c := range m.Children {
			if c.Generation != m.Generation || c.ShuttingDown {
				t.Errorf("both-serving: child %+v of the %s master", c, m.Generation)
			}
		}
	}
	if old.activeWorkers() != 2 {
		t.Errorf("both-serving: old master has %d active workers, want 2", old.activeWorkers())
	}

	// WINCH: the old workers shut down; the one with the slow download stays until it ends.
	if err := syscall.Kill(oldPID, syscall.SIGWINCH); err != nil {
		t.Fatal(err)
	}
	draining := waitStatus(t, sb.PidFile, "old-draining down to the held worker", func(in jsonInstance) bool {
		return in.Phase == "old-draining" && len(in.Masters) == 2 && len(in.Masters[0].Children) == 1
	})
	c := draining.Masters[0].Children[0]
	if c.PID != held || c.Role != "worker" || !c.ShuttingDown || c.Generation != "old" || c.DrainingSince == "" {
		t.Errorf("old-draining: the old master's last child is %+v, want worker %d shutting down since some time", c, held)
	}
	if draining.Masters[0].PID != oldPID || draining.Masters[1].PID != newPID || draining.Masters[1].activeWorkers() != 2 {
		t.Errorf("old-draining: masters %+v", draining.Masters)
	}
	// A long-lived scanner (the dashboard's) stamps when it first saw the worker draining and
	// keeps that time on later refreshes.
	sc := inspect.NewScanner()
	live := sandboxtest.Instance(t, sb)
	var since time.Time
	for i := 0; i < 3; i++ {
		cur, err := sc.Refresh(live)
		if err != nil {
			t.Fatal(err)
		}
		p, ok := cur.Find(held)
		if !ok || !p.ShuttingDown || p.DrainingSince.IsZero() || i > 0 && !p.DrainingSince.Equal(since) {
			t.Fatalf("refresh %d: held worker %+v (found %v), want draining since %s", i, p, ok, since)
		}
		since = p.DrainingSince
	}

	release()
	drained := waitStatus(t, sb.PidFile, "old-drained", func(in jsonInstance) bool { return in.Phase == "old-drained" })
	if len(drained.Masters) != 2 || drained.Masters[0].PID != oldPID || len(drained.Masters[0].Children) != 0 ||
		drained.Masters[1].PID != newPID || drained.Masters[1].activeWorkers() != 2 {
		t.Errorf("old-drained: masters %+v", drained.Masters)
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", held)); err == nil {
		t.Errorf("the drained worker %d still exists", held)
	}
}

// TestResolveRejectsBadTargets: each bad --pid / --pidfile is an ErrBadTarget with a one-line
// message naming the problem.
func TestResolveRejectsBadTargets(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.SandboxOptions{Workers: 1})
	settledInstance(t, sb, 1)
	dir := t.TempDir()
	pidFile := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	dead := deadPID(t)
	worker := sandboxtest.Instance(t, sb).Masters[0].Workers()[0].PID
	self := os.Getpid()
	tests := []struct {
		name   string
		target inspect.Target
		want   []string
	}{
		{"pid of this test", inspect.Target{PID: self}, []string{strconv.Itoa(self), "not an nginx master"}},
		{"pid of a worker", inspect.Target{PID: worker}, []string{strconv.Itoa(worker), "not an nginx master", "worker process"}},
		{"dead pid", inspect.Target{PID: dead}, []string{strconv.Itoa(dead), "not running"}},
		{"missing pid file", inspect.Target{PidFile: filepath.Join(dir, "absent.pid")}, []string{"absent.pid", "does not exist"}},
		{"empty pid file", inspect.Target{PidFile: pidFile("empty.pid", "")}, []string{"empty.pid", "empty"}},
		{"blank pid file", inspect.Target{PidFile: pidFile("blank.pid", " \n\n")}, []string{"blank.pid", "empty"}},
		{"garbage", inspect.Target{PidFile: pidFile("junk.pid", "12ab\nmore\n")}, []string{"junk.pid", "does not hold a pid", "12ab"}},
		{"negative", inspect.Target{PidFile: pidFile("neg.pid", "-5\n")}, []string{"neg.pid", "does not hold a pid"}},
		{"pid file of a dead pid", inspect.Target{PidFile: pidFile("dead.pid", strconv.Itoa(dead)+"\n")},
			[]string{"dead.pid", strconv.Itoa(dead), "not running"}},
		{"pid file of a live foreign process", inspect.Target{PidFile: pidFile("self.pid", strconv.Itoa(self))},
			[]string{"self.pid", strconv.Itoa(self), "not an nginx master"}},
		{"pid file is a directory", inspect.Target{PidFile: dir}, []string{dir}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap, err := inspect.NewScanner().Resolve(tt.target)
			if err == nil {
				t.Fatalf("Resolve(%+v) = %d instances, want an error", tt.target, len(snap.Instances))
			}
			msg := err.Error()
			if !errors.Is(err, inspect.ErrBadTarget) || strings.Contains(msg, "\n") || strings.HasPrefix(msg, "bad target") {
				t.Errorf("Resolve(%+v) = %q; want a one-line ErrBadTarget", tt.target, msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("Resolve(%+v) = %q; want it to mention %q", tt.target, msg, w)
				}
			}
		})
	}
}

// TestResolveFollowsOldbin: from SIGUSR2 until the new master writes nginx.pid, only
// nginx.pid.oldbin exists; status by the usual pid file must still find the instance. The window
// is milliseconds long, so the test makes it by renaming the file as nginx does.
func TestResolveFollowsOldbin(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.SandboxOptions{Workers: 1})
	master := readPid(t, sb.PidFile)
	if err := os.Rename(sb.PidFile, sb.PidFile+".oldbin"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Rename(sb.PidFile+".oldbin", sb.PidFile) })
	snap, err := inspect.NewScanner().Resolve(inspect.Target{PidFile: sb.PidFile})
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Instances) != 1 || snap.Instances[0].Masters[0].PID != master || snap.Instances[0].OldbinPID != master {
		t.Errorf("Resolve by the renamed pid file: %+v", snap.Instances)
	}
}

// deadPID returns the pid of a process that ran and was reaped. Pids are recycled only after the
// kernel wrapped around pid_max, which does not happen within a test.
func deadPID(t *testing.T) int {
	t.Helper()
	p, err := os.StartProcess("/bin/true", []string{"true"}, &os.ProcAttr{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Wait(); err != nil {
		t.Fatal(err)
	}
	return p.Pid
}
