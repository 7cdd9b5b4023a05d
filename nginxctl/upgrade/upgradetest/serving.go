package upgradetest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/audit"
	"github.com/hotdeploy/hotdeploy/nginxctl/inspect"
	"github.com/hotdeploy/hotdeploy/nginxctl/sandbox"
	"github.com/hotdeploy/hotdeploy/nginxctl/sandbox/sandboxtest"
)

// CheckOldServes checks that nothing was lost after a rollback or a refusal: master is the only
// master of the sandbox, it has exactly workers accepting workers (plus, when draining > 0, that
// many old workers still shutting down behind held connections), the pid file names it, no
// .oldbin is left, and a request is answered by one of its workers. It waits up to 10 s for
// the workers to settle and returns the instance.
func CheckOldServes(t testing.TB, sb *sandbox.Sandbox, master, workers, draining int, how string) model.Instance {
	t.Helper()
	sc := inspect.NewScanner()
	in := sandboxtest.Instance(t, sb)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		cur, err := sc.Refresh(in)
		if err == nil {
			in = cur
		}
		if len(in.Masters) == 1 && in.Masters[0].PID == master && len(in.Masters[0].Workers()) == workers+draining {
			break
		}
		if time.Now().After(deadline) {
			var ms []string
			for _, m := range in.Masters {
				ms = append(ms, fmt.Sprintf("master %d with %d workers (%d accepting)", m.PID, len(m.Workers()), m.ActiveWorkers()))
			}
			t.Fatalf("%s: want the old master %d alone with %d workers; after 10s: %s (refresh error %v)",
				how, master, workers+draining, strings.Join(ms, ", "), err)
		}
	}
	m := in.Masters[0]
	if got := m.ActiveWorkers(); got != workers {
		t.Errorf("%s: old master %d has %d accepting workers, want worker_processes = %d: %+v", how, m.PID, got, workers, m.Workers())
	}
	if in.PidFilePID != master || in.OldbinPID != 0 {
		t.Errorf("%s: %s names %d and .oldbin %d, want the old master %d and no .oldbin", how, sb.PidFile, in.PidFilePID, in.OldbinPID, master)
	}
	pid := ServedBy(t, sb)
	if p, ok := in.Find(pid); !ok || p.Role != model.RoleWorker || p.PPID != master {
		t.Errorf("%s: a request was answered by pid %d, not by a worker of the old master %d", how, pid, master)
	}
	return in
}

// ServedBy makes one request on a fresh connection and returns the pid of the worker that
// answered (the sandbox adds X-Worker-Pid).
func ServedBy(t testing.TB, sb *sandbox.Sandbox) int {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	resp, err := c.Get(sb.URL)
	if err != nil {
		t.Fatalf("GET %s: %v", sb.URL, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", sb.URL, resp.Status)
	}
	pid, err := strconv.Atoi(resp.Header.Get("X-Worker-Pid"))
	if err != nil {
		t.Fatalf("X-Worker-Pid %q: %v", resp.Header.Get("X-Worker-Pid"), err)
	}
	return pid
}

// Load starts a bounded loopback request loop against the sandbox (4 clients, a fresh
// connection per request, at most 200,000 requests or one minute) and returns a func that stops
// it and checks it saw successes and not one failure. Cleanup stops it too.
func Load(t testing.TB, sb *sandbox.Sandbox) func(how string) {
	t.Helper()
	l := sandboxtest.StartLoad(sb.URL, 4, 200000, time.Minute)
	t.Cleanup(l.Stop) // Stop is idempotent
	// Let the loop get going on the old generation first.
	for deadline := time.Now().Add(10 * time.Second); l.OK.Load()+l.Failed.Load() < 20 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	return func(how string) {
		t.Helper()
		l.Stop()
		ok, failed := l.OK.Load(), l.Failed.Load()
		t.Logf("%s: %d requests answered, %d failed", how, ok, failed)
		if failed != 0 || ok == 0 {
			t.Errorf("%s: %d requests failed, %d succeeded; want zero failures and some successes: %v", how, failed, ok, l.Errors)
		}
	}
}

// AuditEntries reads an audit log; every line must be one JSON object. A missing log has none.
func AuditEntries(t testing.TB, path string) []audit.Entry {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var es []audit.Entry
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if line == "" {
			continue
		}
		var e audit.Entry
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("audit line %q: %v", line, err)
		}
		es = append(es, e)
	}
	return es
}

// Signals lists the audit log's signals as "SIGNAME pid result".
func Signals(t testing.TB, path string) []string {
	t.Helper()
	var out []string
	for _, e := range AuditEntries(t, path) {
		if e.Signal != "" {
			out = append(out, fmt.Sprintf("%s %d %s", e.Signal, e.PID, e.Result))
		}
	}
	return out
}

// Sent formats one expected line of Signals.
func Sent(signal string, pid int) string { return signal + " " + strconv.Itoa(pid) + " sent" }

// HoldSlow opens a download of /slow.bin (rate-limited by the sandbox), reads its first byte and
// keeps the connection open, so the worker serving it drains for as long as the test wants.
// It returns that worker's pid and a func that closes the connection (cleanup closes it too).
func HoldSlow(t testing.TB, sb *sandbox.Sandbox) (int, func()) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(sb.Port)), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if err := conn.SetDeadline(time.Now().Add(2 * time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(conn, "GET /slow.bin HTTP/1.1\r\nHost: sandbox\r\nConnection: close\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(resp.Body, make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(resp.Header.Get("X-Worker-Pid"))
	if err != nil {
		t.Fatalf("X-Worker-Pid %q: %v", resp.Header.Get("X-Worker-Pid"), err)
	}
	return pid, func() { conn.Close() }
}

// Settled waits until the sandbox's master runs all its workers (sandboxtest.Start returns as
// soon as one serves) and returns the instance, so a test can compare worker pids later.
func Settled(t testing.TB, sb *sandbox.Sandbox, workers int) model.Instance {
	t.Helper()
	return sandboxtest.WaitFor(t, inspect.NewScanner(), sandboxtest.Instance(t, sb), 10*time.Second,
		fmt.Sprintf("%d running workers", workers), func(in model.Instance) bool {
			return len(in.Masters) == 1 && in.Masters[0].ActiveWorkers() == workers && len(in.Masters[0].Workers()) == workers
		})
}

// RefusingAddr returns a loopback address that refuses connections for the whole test: a
// socket bound to the port without listening holds it, so no other test's server can take the
// port in the meantime (a port that was merely free a moment ago can be).
func RefusingAddr(t testing.TB) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return "127.0.0.1:" + strconv.Itoa(sa.(*syscall.SockaddrInet4).Port)
}
