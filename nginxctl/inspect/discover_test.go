package inspect_test

import (
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/inspect"
	"github.com/hotdeploy/hotdeploy/nginxctl/sandbox"
)

// A scanner that follows execs reads the comm of a process only when it is new or exec'd: a
// process it already knew as something else, which then execs nginx under the same pid (a
// supervisor's child running `exec nginx -g 'daemon off;'`), must still be found by the next
// scan, and be gone from the scan after it exits.
func TestFollowingExecsFindsAProcessThatBecomesNginx(t *testing.T) {
	sc := inspect.NewScanner()
	defer sc.Close()
	if !sc.Follow() {
		if os.Geteuid() == 0 {
			t.Skip("the netlink process connector refuses this process (not the initial network namespace): scans read every comm, as TestScanAndRefreshSeeAllFourRoles covers")
		}
		t.Skip("only root may listen to the netlink process connector")
	}
	sb, err := sandbox.PrepareSandbox(sandbox.SandboxOptions{Workers: 1, Main: "daemon off;"})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Stop()
	// bash waits for a line on stdin, then execs nginx in its place: same pid, new comm.
	cmd := exec.Command("/bin/bash", "-c", `read -r _ && exec "$@"`, "bash", sb.Binary, "-p", sb.Prefix, "-c", sb.Conf)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = syscall.Kill(pid, syscall.SIGTERM) // nginx ends its workers on TERM
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}()

	if snap, err := sc.Scan(); err != nil || hasMaster(snap.Instances, pid) {
		t.Fatalf("before its exec, process %d (bash) is an nginx master: %v %+v", pid, err, snap.Instances)
	}
	if _, err := stdin.Write([]byte("go\n")); err != nil {
		t.Fatal(err)
	}
	found := false
	for i := 0; i < 100 && !found; i++ { // nginx titles itself a few ms after its exec
		time.Sleep(50 * time.Millisecond)
		snap, err := sc.Scan()
		if err != nil {
			t.Fatal(err)
		}
		found = hasMaster(snap.Instances, pid)
	}
	if !found {
		t.Fatalf("process %d exec'd nginx, but 100 scans following execs did not find it as a master", pid)
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		t.Fatalf("nginx %d did not exit on SIGTERM", pid)
	}
	exited <- nil // for the deferred clean-up
	if snap, err := sc.Scan(); err != nil || hasMaster(snap.Instances, pid) {
		t.Errorf("after nginx %d exited, a scan still shows it: %v", pid, err)
	}
}

func hasMaster(ins []model.Instance, pid int) bool {
	for _, in := range ins {
		for _, m := range in.Masters {
			if m.PID == pid {
				return true
			}
		}
	}
	return false
}
