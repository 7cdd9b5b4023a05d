package proc

import (
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// leaderExitEnv makes the test binary, run again as a child, end its leader thread alone: its
// main thread exits (exit(2), not exit_group) while another thread goes on. /proc/PID/stat,
// which shows the leader, then says zombie while the process lives.
const leaderExitEnv = "HOTDEPLOY_TEST_LEADER_EXITS"

func init() {
	if os.Getenv(leaderExitEnv) != "" {
		runtime.LockOSThread() // main runs on the leader thread, the one to end
	}
}

func TestMain(m *testing.M) {
	if os.Getenv(leaderExitEnv) != "" {
		go func() { // another thread: it outlives the leader for a while
			runtime.LockOSThread()
			time.Sleep(30 * time.Second)
			os.Exit(0)
		}()
		time.Sleep(50 * time.Millisecond)
		unix.RawSyscall(unix.SYS_EXIT, 0, 0, 0) // this thread only
	}
	os.Exit(m.Run())
}

// TestZombieLeaderOfALiveProcessIsNotAnExit: a process whose leader thread is a zombie while
// another of its threads runs has not exited (a multi-threaded program exec'ing nginx passes
// through that state); Exited says so once the whole process has gone, not before.
func TestZombieLeaderOfALiveProcessIsNotAnExit(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), leaderExitEnv+"=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-done
	})
	r := NewReader()
	st, err := r.Stat(pid)
	if err != nil {
		t.Fatal(err)
	}
	start := st.StartTicks
	deadline := time.Now().Add(10 * time.Second)
	for st.State != 'Z' {
		if time.Now().After(deadline) {
			t.Fatalf("the leader of %d never became a zombie (state %c)", pid, st.State)
		}
		time.Sleep(5 * time.Millisecond)
		if st, err = r.Stat(pid); err != nil {
			t.Fatal(err)
		}
	}
	if Exited(pid, start) {
		t.Fatalf("Exited(%d) with its leader a zombie and another thread running", pid)
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	for deadline := time.Now().Add(10 * time.Second); !Exited(pid, start); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d killed, and Exited still says it runs", pid)
		}
	}
}
