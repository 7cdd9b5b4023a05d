package chaostest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hotdeploy/hotdeploy/nginxctl/inspect"
	"github.com/hotdeploy/hotdeploy/nginxctl/proc"
	"github.com/hotdeploy/hotdeploy/nginxctl/sandbox"
	"github.com/hotdeploy/hotdeploy/nginxctl/sandbox/sandboxtest"
)

// target is a sandbox nginx a case acts on, named by its pid file, with its own audit log.
type target struct {
	t     testing.TB
	sb    *sandbox.Sandbox
	audit string
	sums  *sumCache
}

// newTarget starts a sandbox with 2 workers and waits until they all run.
func newTarget(t testing.TB) *target {
	t.Helper()
	sb := sandboxtest.Start(t, sandbox.SandboxOptions{Workers: 2})
	tg := &target{t: t, sb: sb, audit: filepath.Join(t.TempDir(), "audit.log"), sums: newSumCache()}
	tg.settled()
	return tg
}

// hdArgs is a headless command aimed at the sandbox by its pid file, with the target's audit log.
func (tg *target) hdArgs(cmd string, extra ...string) []string {
	return append([]string{cmd, "--pidfile", tg.sb.PidFile, "--audit-log", tg.audit}, extra...)
}

// truth is what the kernel and the pid files say of the instance, read without hotdeploy's
// inspect: the master nginx.pid names, its children, and a request's answer.
type truth struct {
	pidFile, oldbin int      // what nginx.pid and nginx.pid.oldbin hold (0: no file)
	master          procKey  // the live master nginx.pid names (zero: none)
	workers         []int    // its children titled as accepting workers
	draining        []int    // its children titled as workers shutting down
	others          []int    // its other children (cache processes, a new master)
	servedBy        int      // the pid that answered a request (0: none answered)
	serveErr        string   // why no request was answered
	binarySHA       string   // sha256 of the file at the binary's path
	runningSHA      string   // sha256 of /proc/<master>/exe
	strays          []string // temporary files hotdeploy left beside the binary
}

// read takes the truth now.
func (tg *target) read() truth {
	var tr truth
	tr.pidFile, _ = inspect.ReadPidFile(tg.sb.PidFile)
	tr.oldbin, _ = inspect.ReadPidFile(tg.sb.PidFile + ".oldbin")
	if tr.pidFile > 0 {
		if k, err := statKey(tr.pidFile); err == nil {
			tr.master = k
			tr.runningSHA, _ = tg.sums.of(fmt.Sprintf("/proc/%d/exe", k.pid), k)
		}
	}
	r := proc.NewReader()
	if tr.master.pid > 0 {
		kids, _ := r.Children(tr.master.pid)
		for _, c := range kids {
			title, _ := r.Title(c)
			switch {
			case strings.HasSuffix(title, "worker process is shutting down"):
				tr.draining = append(tr.draining, c)
			case strings.HasSuffix(title, "worker process"):
				tr.workers = append(tr.workers, c)
			default:
				tr.others = append(tr.others, c)
			}
		}
	}
	tr.binarySHA, _ = tg.sums.of(tg.sb.Binary, procKey{})
	tr.servedBy, tr.serveErr = tg.served()
	ents, _ := os.ReadDir(filepath.Dir(tg.sb.Binary))
	for _, e := range ents {
		if strings.Contains(e.Name(), ".hotdeploy-") {
			tr.strays = append(tr.strays, e.Name())
		}
	}
	return tr
}

// serves says whether the master the pid file names is alone (no .oldbin), runs workers of
// worker_processes that accept, and answered a request with one of them.
func (tr truth) serves(workers int) error {
	switch {
	case tr.master.pid == 0:
		return fmt.Errorf("no live master: nginx.pid holds %d", tr.pidFile)
	case tr.oldbin != 0:
		return fmt.Errorf("nginx.pid.oldbin still names %d", tr.oldbin)
	case len(tr.workers) != workers:
		return fmt.Errorf("master %d runs %d accepting workers %v, want %d", tr.master.pid, len(tr.workers), tr.workers, workers)
	case tr.servedBy == 0:
		return fmt.Errorf("no request was answered: %s", tr.serveErr)
	}
	for _, w := range tr.workers {
		if w == tr.servedBy {
			return nil
		}
	}
	return fmt.Errorf("a request was answered by pid %d, not by a worker of master %d %v", tr.servedBy, tr.master.pid, tr.workers)
}

// settled waits (up to 10 s) until the master runs all its workers, and returns the truth.
func (tg *target) settled() truth {
	tg.t.Helper()
	var tr truth
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		tr = tg.read()
		if tr.serves(tg.sb.Workers) == nil && len(tr.draining) == 0 {
			return tr
		}
		if time.Now().After(deadline) {
			tg.t.Fatalf("the sandbox does not settle: %v", tr.serves(tg.sb.Workers))
		}
	}
}

// awaitServes waits up to 10 s for the truth to show master serving alone with its workers (a
// rollback's workers, a commit's old master, may take a moment after the verdict), then
// returns it with what still differs.
func (tg *target) awaitServes(master int) (truth, error) {
	var tr truth
	var err error
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		tr = tg.read()
		err = tr.serves(tg.sb.Workers)
		if err == nil && tr.master.pid != master {
			err = fmt.Errorf("master %d serves, not %d", tr.master.pid, master)
		}
		if err == nil || time.Now().After(deadline) {
			return tr, err
		}
	}
}

// served makes one request on a fresh connection and returns the pid of the worker that
// answered (the sandbox adds X-Worker-Pid).
func (tg *target) served() (int, string) {
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	resp, err := c.Get(tg.sb.URL)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return 0, resp.Status
	}
	pid, err := strconv.Atoi(resp.Header.Get("X-Worker-Pid"))
	if err != nil {
		return 0, "no X-Worker-Pid"
	}
	return pid, ""
}

// builds returns, for every build a file holds, one file that holds it: the binary, its
// backups (.old, .old.<sha12>), what a rollback took off its path (.rejected and its kept
// copies), and the binaries the live masters run (/proc/PID/exe).
func (tg *target) builds(masters ...procKey) map[string]string {
	have := map[string]string{}
	dir, base := filepath.Dir(tg.sb.Binary), filepath.Base(tg.sb.Binary)
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		n := e.Name()
		if n != base && !strings.HasPrefix(n, base+".old") && !strings.HasPrefix(n, base+".rejected") {
			continue
		}
		p := filepath.Join(dir, n)
		if sum, err := tg.sums.of(p, procKey{}); err == nil {
			have[sum] = p
		}
	}
	for _, m := range masters {
		if m.pid == 0 || proc.Exited(m.pid, m.start) {
			continue
		}
		if sum, err := tg.sums.of(fmt.Sprintf("/proc/%d/exe", m.pid), m); err == nil {
			have[sum] = fmt.Sprintf("/proc/%d/exe", m.pid)
		}
	}
	return have
}

// lost returns the builds of before that after no longer holds, by sha256 and where they were.
func lost(before, after map[string]string) []string {
	var out []string
	for sum, where := range before {
		if _, ok := after[sum]; !ok {
			out = append(out, fmt.Sprintf("build %.12s (was in %s)", sum, where))
		}
	}
	sort.Strings(out)
	return out
}

// sumCache hashes each file once: by device, inode, size and change time, or for /proc/PID/exe
// by the process (whose executable cannot change).
type sumCache struct{ m map[string]string }

func newSumCache() *sumCache { return &sumCache{m: map[string]string{}} }

func (c *sumCache) of(path string, owner procKey) (string, error) {
	var key string
	if owner.pid != 0 {
		key = fmt.Sprintf("proc %d %d", owner.pid, owner.start)
	} else {
		var st syscall.Stat_t
		if err := syscall.Stat(path, &st); err != nil {
			return "", err
		}
		key = fmt.Sprintf("file %d %d %d %d.%d", st.Dev, st.Ino, st.Size, st.Ctim.Sec, st.Ctim.Nsec)
	}
	if sum, ok := c.m[key]; ok {
		return sum, nil
	}
	sum, err := fileSHA256(path)
	if err != nil {
		return "", err
	}
	c.m[key] = sum
	return sum, nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
