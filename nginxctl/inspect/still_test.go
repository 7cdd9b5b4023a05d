package inspect_test

import (
	"net"
	"net/http"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/inspect"
	"github.com/hotdeploy/hotdeploy/nginxctl/sandbox"
	"github.com/hotdeploy/hotdeploy/nginxctl/sandbox/sandboxtest"
)

// followingScanner is a scanner as the dashboard holds it: files kept open, Still usable.
func followingScanner(t *testing.T) *inspect.Scanner {
	sc := inspect.NewScanner()
	sc.Follow()
	t.Cleanup(sc.Close)
	return sc
}

// stillAfterRefresh refreshes in until Still says nothing ran since (an idle nginx sleeps; its
// cache manager wakes now and then), and returns the refreshed instance.
func stillAfterRefresh(t *testing.T, sc *inspect.Scanner, in model.Instance) model.Instance {
	t.Helper()
	for i := 0; i < 40; i++ {
		cur, err := sc.Refresh(in)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
		if sc.Still(cur) {
			return cur
		}
		in = cur
	}
	t.Fatal("Still never said an idle nginx was still: the dashboard would refresh in full every time")
	return in
}

func TestStillIsFalseOnceNginxRuns(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.SandboxOptions{Workers: 2})
	sc := followingScanner(t)
	in := stillAfterRefresh(t, sc, settledInstance(t, sb, 2))

	// A request: the worker that accepts it runs.
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(sb.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if sc.Still(in) {
		t.Fatal("Still after a worker served a request")
	}

	// A worker killed: the master runs to reap it and start another.
	in = stillAfterRefresh(t, sc, in)
	victim := in.Masters[0].Workers()[0]
	if err := syscall.Kill(victim.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for sc.Still(in) {
		if time.Now().After(deadline) {
			t.Fatalf("Still 5 s after worker %d was killed", victim.PID)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A keeping scanner skips the stat and cmdline of children that did not run: a worker that
// retitles itself ("is shutting down", on a reload) ran, and must be read again.
func TestFollowingRefreshSeesAWorkerStartDraining(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.SandboxOptions{Workers: 2})
	sc := followingScanner(t)
	in := stillAfterRefresh(t, sc, settledInstance(t, sb, 2))

	// An unfinished request keeps its worker busy past the reload, draining.
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(sb.Port), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n")); err != nil {
		t.Fatal(err)
	}
	in = stillAfterRefresh(t, sc, in)
	if err := syscall.Kill(in.Masters[0].PID, syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	// Within 3.5 s: under the 5 s after which every child is read in full anyway, so a skipped
	// read cannot pass for a done one.
	deadline := time.Now().Add(3500 * time.Millisecond)
	for {
		cur, err := sc.Refresh(in)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range cur.Masters[0].Children {
			if p.ShuttingDown {
				t.Logf("worker %d seen draining: %q", p.PID, p.Title)
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("3.5 s after SIGHUP with a request open, no worker shows as draining: %+v", cur.Masters[0].Children)
		}
		in = cur
		time.Sleep(50 * time.Millisecond)
	}
}

// A keeping scanner reads a pid file again only when its stat moved: a rename to .oldbin and
// back, as USR2 and a rollback do, and a rewrite in place must each be seen at once.
func TestFollowingRefreshFollowsThePidFile(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.SandboxOptions{Workers: 1})
	sc := followingScanner(t)
	in := settledInstance(t, sb, 1)
	master := in.Masters[0].PID
	pidFile := in.PidFile
	refresh := func(what string, pid, oldbin int) {
		t.Helper()
		cur, err := sc.Refresh(in)
		if err != nil {
			t.Fatal(err)
		}
		if cur.PidFilePID != pid || cur.OldbinPID != oldbin {
			t.Fatalf("%s: pid file says %d, .oldbin %d; want %d and %d", what, cur.PidFilePID, cur.OldbinPID, pid, oldbin)
		}
		in = cur
	}
	refresh("at first", master, 0)
	refresh("again", master, 0)
	if err := os.Rename(pidFile, pidFile+".oldbin"); err != nil {
		t.Fatal(err)
	}
	refresh("renamed to .oldbin", 0, master)
	if err := os.Rename(pidFile+".oldbin", pidFile); err != nil {
		t.Fatal(err)
	}
	refresh("renamed back", master, 0)
	// Rewritten in place with another pid of the same length: only the file's times tell. They
	// move by the kernel's file-time tick (a few ms on kernels before 6.13's fine-grained
	// timestamps), so each write comes a tick after the read before it; a rewrite within one
	// tick of a read is seen after fullReadEvery at worst (filecache.go).
	time.Sleep(20 * time.Millisecond)
	other := strconv.Itoa(master + 1)
	if len(other) != len(strconv.Itoa(master)) {
		other = strconv.Itoa(master - 1)
	}
	if err := os.WriteFile(pidFile, []byte(other+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	want, _ := strconv.Atoi(other)
	refresh("rewritten", want, 0)
	time.Sleep(20 * time.Millisecond)
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(master)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	refresh("written back", master, 0)
}
