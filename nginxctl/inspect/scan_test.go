package inspect_test

import (
	"math"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/inspect"
	"github.com/hotdeploy/hotdeploy/nginxctl/sandbox"
	"github.com/hotdeploy/hotdeploy/nginxctl/sandbox/sandboxtest"
)

// These tests run a real nginx (sandboxtest.Start fails the test with how to install it when
// there is none) and check what the scanner says against /proc as the test reads it itself.

// statFields returns /proc/PID/stat from field 3 (state) on, so field n is at index n-3.
func statFields(t *testing.T, pid int) []string {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Fatalf("read stat of %d: %v", pid, err)
	}
	s := string(b)
	return strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
}

func statField(t *testing.T, pid, n int) uint64 {
	t.Helper()
	v, err := strconv.ParseUint(statFields(t, pid)[n-3], 10, 64)
	if err != nil {
		t.Fatalf("stat field %d of %d: %v", n, pid, err)
	}
	return v
}

// childrenByWalk lists the children of ppid by walking all of /proc, the slow way the scanner
// avoids: an independent answer to compare with.
func childrenByWalk(t *testing.T, ppid int) []int {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) > 1 && f[1] == strconv.Itoa(ppid) && f[0] != "Z" {
			pids = append(pids, pid)
		}
	}
	sort.Ints(pids)
	return pids
}

// effectiveUser reads the effective uid from /proc/PID/status and names it.
func effectiveUser(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[0] == "Uid:" {
			if u, err := user.LookupId(f[2]); err == nil {
				return u.Username
			}
			return f[2]
		}
	}
	t.Fatalf("no Uid line in /proc/%d/status", pid)
	return ""
}

// traversableDir returns a t.TempDir() that every user can enter, so that nginx started as root
// runs its workers as its default unprivileged user, as on a real server.
func traversableDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for d := dir; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func pidsOf(ps []model.Process) []int {
	var pids []int
	for _, p := range ps {
		pids = append(pids, p.PID)
	}
	sort.Ints(pids)
	return pids
}

func readPid(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read pid file: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("pid file %s: %v", path, err)
	}
	return pid
}

func instanceIn(t *testing.T, snap model.Snapshot, pidFile string) model.Instance {
	t.Helper()
	for _, in := range snap.Instances {
		if in.PidFile == pidFile {
			return in
		}
	}
	var seen []string
	for _, in := range snap.Instances {
		seen = append(seen, in.Key())
	}
	t.Fatalf("no instance with pid file %s among %q", pidFile, seen)
	return model.Instance{}
}

// settledInstance waits until every child the sandbox config asks for runs under its final
// title: the sandbox returns once the first worker serves, and a worker just forked is still
// starting (role unknown) for a moment.
func settledInstance(t *testing.T, sb *sandbox.Sandbox, workers int) model.Instance {
	t.Helper()
	return sandboxtest.WaitFor(t, inspect.NewScanner(), sandboxtest.Instance(t, sb), 10*time.Second,
		"all children started", func(in model.Instance) bool {
			n := roleCount(in.Masters[0].Children)
			return len(in.Masters) == 1 && in.Masters[0].ActiveWorkers() == workers && n[model.RoleUnknown] == 0 &&
				n[model.RoleCacheManager] == 1 && n[model.RoleCacheLoader] == 1
		})
}

func roleCount(ps []model.Process) map[model.Role]int {
	n := map[model.Role]int{}
	for _, p := range ps {
		n[p.Role]++
	}
	return n
}

// checkTree compares one view of the sandbox with /proc as the test reads it: roles of the four
// kinds, parent, owner, start ticks, RSS and the draining flag.
func checkTree(t *testing.T, how string, in model.Instance, sb *sandbox.Sandbox, masterPID int, started time.Time) {
	t.Helper()
	if len(in.Masters) != 1 {
		t.Fatalf("%s: %d masters, want 1", how, len(in.Masters))
	}
	m := in.Masters[0]
	if m.PID != masterPID || m.Role != model.RoleMaster || m.Generation != model.GenCurrent || m.Comm != "nginx" {
		t.Errorf("%s: master %d %s %s %q, want %d master current nginx", how, m.PID, m.Role, m.Generation, m.Comm, masterPID)
	}
	if got := roleCount(m.Children); len(got) != 3 || got[model.RoleWorker] != 2 ||
		got[model.RoleCacheManager] != 1 || got[model.RoleCacheLoader] != 1 {
		t.Errorf("%s: children by role %v, want 2 workers, a cache manager and a cache loader", how, got)
	}
	if got, want := pidsOf(m.Children), childrenByWalk(t, masterPID); !equalInts(got, want) {
		t.Errorf("%s: children %v, but /proc says the master's children are %v", how, got, want)
	}
	for _, p := range append([]model.Process{m.Process}, m.Children...) {
		if want := effectiveUser(t, p.PID); p.User != want {
			t.Errorf("%s: pid %d (%s) runs as %q, /proc/%d/status says %q", how, p.PID, p.Role, p.User, p.PID, want)
		}
		if want := statField(t, p.PID, 22); p.StartTicks != want || p.StartTicks == 0 {
			t.Errorf("%s: pid %d start ticks %d, /proc says %d", how, p.PID, p.StartTicks, want)
		}
		if p.Started.Before(started.Add(-2*time.Second)) || p.Started.After(time.Now().Add(2*time.Second)) {
			t.Errorf("%s: pid %d started at %s, but the sandbox started at %s", how, p.PID, p.Started, started)
		}
		if p.RSS == 0 || p.RSS%uint64(os.Getpagesize()) != 0 {
			t.Errorf("%s: pid %d RSS %d bytes, want a positive number of pages", how, p.PID, p.RSS)
		}
		if p.ShuttingDown || !p.DrainingSince.IsZero() {
			t.Errorf("%s: pid %d (%s) is shutting down in an idle sandbox", how, p.PID, p.Role)
		}
		if p.PID != masterPID && p.PPID != masterPID {
			t.Errorf("%s: child %d has parent %d, want %d", how, p.PID, p.PPID, masterPID)
		}
	}
	if in.Phase != model.PhaseIdle || in.PidFile != sb.PidFile || in.PidFilePID != masterPID || in.OldbinPID != 0 ||
		in.Conf != sb.Conf || in.ErrorLog != sb.ErrorLog || in.Binary != sb.Binary || in.BinaryDiffers || m.ExeReplaced || m.Exe != sb.Binary {
		t.Errorf("%s: instance details %+v", how, in)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// checkCPU: no CPU% on a first sample, a finite share >= 0 on later ones. (Over a few
// milliseconds one 10 ms tick is a large share, so there is no upper bound to check here; the
// exact value is checked with a controlled clock in scan_internal_test.go.)
func checkCPU(t *testing.T, how string, in model.Instance, first bool) {
	t.Helper()
	for _, m := range in.Masters {
		for _, p := range append([]model.Process{m.Process}, m.Children...) {
			switch {
			case first && p.CPU != -1:
				t.Errorf("%s: pid %d CPU %v on the first sample, want -1 (unknown)", how, p.PID, p.CPU)
			case !first && (p.CPU < 0 || math.IsNaN(p.CPU) || math.IsInf(p.CPU, 0)):
				t.Errorf("%s: pid %d CPU %v on a later sample, want a share >= 0", how, p.PID, p.CPU)
			}
		}
	}
}

func TestScanAndRefreshSeeAllFourRoles(t *testing.T) {
	started := time.Now()
	sb := sandboxtest.Start(t, sandbox.SandboxOptions{Workers: 2, Dir: traversableDir(t)})
	masterPID := readPid(t, sb.PidFile)
	settledInstance(t, sb, 2)
	if os.Geteuid() == 0 && effectiveUser(t, masterPID) == effectiveUser(t, childrenByWalk(t, masterPID)[0]) {
		t.Fatalf("as root, the sandbox's workers should run as nginx's unprivileged default user, not as the master's")
	}

	sc := inspect.NewScanner()
	snap, err := sc.Scan()
	if err != nil {
		t.Fatal(err)
	}
	in := instanceIn(t, snap, sb.PidFile)
	checkTree(t, "scan", in, sb, masterPID, started)
	checkCPU(t, "scan", in, true)

	// Some work for the workers between two samples a dashboard interval apart (a share is
	// computed over 200 ms at least).
	client := &http.Client{Timeout: 5 * time.Second}
	for i := 0; i < 20; i++ {
		resp, err := client.Get(sb.URL)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		resp.Body.Close()
	}
	time.Sleep(250 * time.Millisecond)

	again, err := sc.Refresh(in)
	if err != nil {
		t.Fatal(err)
	}
	checkTree(t, "refresh", again, sb, masterPID, started)
	checkCPU(t, "refresh after scan", again, false)
	time.Sleep(250 * time.Millisecond)
	if snap, err = sc.Scan(); err != nil {
		t.Fatal(err)
	}
	checkCPU(t, "second scan", instanceIn(t, snap, sb.PidFile), false)

	// A new scanner has no previous sample: CPU is unknown again, not a lifetime average.
	fresh, err := inspect.NewScanner().Refresh(in)
	if err != nil {
		t.Fatal(err)
	}
	checkTree(t, "refresh by a new scanner", fresh, sb, masterPID, started)
	checkCPU(t, "refresh by a new scanner", fresh, true)

	byMaster, err := sc.InstanceOf(masterPID)
	if err != nil {
		t.Fatal(err)
	}
	checkTree(t, "instance of the master pid", byMaster, sb, masterPID, started)
	worker := in.Masters[0].Workers()[0].PID
	if _, err := sc.InstanceOf(worker); err == nil || !strings.Contains(err.Error(), "not an nginx master") {
		t.Errorf("InstanceOf(worker %d) = %v, want it refused as not a master", worker, err)
	}
}

// TestKilledWorkerIsReplaced kills one worker with SIGKILL (by its own pid) and refreshes at the
// dashboard's pace until the master's replacement shows: the dead pid gone, a new one in its place.
func TestKilledWorkerIsReplaced(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.SandboxOptions{Workers: 2})
	sc := inspect.NewScanner()
	in := settledInstance(t, sb, 2)
	before := in.Masters[0].Workers()
	if len(before) != 2 {
		t.Fatalf("%d workers, want 2", len(before))
	}
	victim := before[0]
	if statField(t, victim.PID, 22) != victim.StartTicks {
		t.Fatalf("worker %d is not the process the scanner saw", victim.PID)
	}
	if err := syscall.Kill(victim.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	const interval, refreshes = 250 * time.Millisecond, 40
	for i := 1; ; i++ {
		time.Sleep(interval)
		cur, err := sc.Refresh(in)
		if err != nil {
			t.Fatalf("refresh %d: %v", i, err)
		}
		ws := cur.Masters[0].Workers()
		_, deadSeen := cur.Find(victim.PID)
		var fresh []int
		for _, w := range ws {
			if w.PID != before[1].PID && w.PID != victim.PID && !w.ShuttingDown {
				fresh = append(fresh, w.PID)
			}
		}
		if !deadSeen && len(ws) == 2 && len(fresh) == 1 {
			if _, ok := cur.Find(before[1].PID); !ok {
				t.Errorf("the worker that was not killed (%d) disappeared", before[1].PID)
			}
			if cur.Phase != model.PhaseIdle || cur.Masters[0].PID != in.Masters[0].PID {
				t.Errorf("after the respawn: phase %s, master %d", cur.Phase, cur.Masters[0].PID)
			}
			t.Logf("worker %d replaced by %d, seen on refresh %d", victim.PID, fresh[0], i)
			return
		}
		if i == refreshes {
			t.Fatalf("after %d refreshes: workers %v (killed %d), error log: %s", i, pidsOf(ws), victim.PID,
				inspect.TailFile(sb.ErrorLog, 3))
		}
	}
}
