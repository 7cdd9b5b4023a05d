package proc

import (
	"os/exec"
	"testing"

	"golang.org/x/sys/unix"
)

func openFeed(t *testing.T) *ExecFeed {
	t.Helper()
	f, err := OpenExecFeed()
	if err != nil {
		t.Skipf("the process connector is not available here (root in the initial network namespace only): %v", err)
	}
	t.Cleanup(f.Close)
	return f
}

// runTrue runs /bin/true n times, one after another, and returns their pids.
func runTrue(t *testing.T, n int) []int {
	t.Helper()
	pids := make([]int, 0, n)
	for i := 0; i < n; i++ {
		c := exec.Command("true")
		if err := c.Run(); err != nil {
			t.Fatal(err)
		}
		pids = append(pids, c.Process.Pid)
	}
	return pids
}

// Drain hands on every fork, exec and exit, however many datagrams are queued: more than one
// batch of them here.
func TestDrainSeesEveryProcessInBatches(t *testing.T) {
	f := openFeed(t)
	_ = f.Drain(func(FeedEvent, int) {})
	pids := runTrue(t, 3*batchSlots)
	seen := map[int][3]bool{}
	if err := f.Drain(func(ev FeedEvent, pid int) {
		s := seen[pid]
		s[ev] = true
		seen[pid] = s
	}); err != nil {
		t.Fatal(err)
	}
	for _, pid := range pids {
		if s := seen[pid]; !s[FeedForked] || !s[FeedChanged] || !s[FeedExited] {
			t.Fatalf("process %d: forked %v, exec'd %v, exited %v; want all three", pid, s[FeedForked], s[FeedChanged], s[FeedExited])
		}
	}
}

// When the socket's buffer overflowed, Drain says events were lost; with room again, the feed
// goes on.
func TestDrainReportsLostEvents(t *testing.T) {
	f := openFeed(t)
	if err := unix.SetsockoptInt(f.conn.fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 0); err != nil { // the kernel's minimum
		t.Fatal(err)
	}
	_ = f.Drain(func(FeedEvent, int) {})
	runTrue(t, 100)
	if err := f.Drain(func(FeedEvent, int) {}); err != ErrFeedLost {
		t.Fatalf("Drain after 300 events into a minimal buffer: %v, want ErrFeedLost", err)
	}
	if err := unix.SetsockoptInt(f.conn.fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 1<<20); err != nil {
		t.Fatal(err)
	}
	pid := runTrue(t, 1)[0]
	exited := false
	if err := f.Drain(func(ev FeedEvent, p int) { exited = exited || ev == FeedExited && p == pid }); err != nil || !exited {
		t.Fatalf("after the loss: err %v, exit of %d seen %v", err, pid, exited)
	}
}
