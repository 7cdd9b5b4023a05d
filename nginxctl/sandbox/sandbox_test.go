package sandbox_test

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/hotdeploy/hotdeploy/nginxctl/sandbox"
	"github.com/hotdeploy/hotdeploy/nginxctl/sandbox/sandboxtest"
)

// exited tells whether pid is gone or a zombie waiting to be reaped.
func exited(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	s := string(b)
	end := strings.LastIndexByte(s, ')')
	return end > 0 && end+2 < len(s) && s[end+2] == 'Z'
}

// TestSandboxStopEndsNginxWhoseDirectoryIsGone: Stop finds the sandbox's nginx by its -p prefix
// even when the config naming the pid file was removed, so no nginx is left running.
func TestSandboxStopEndsNginxWhoseDirectoryIsGone(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.SandboxOptions{Workers: 1})
	in := sandboxtest.Instance(t, sb)
	pids := []int{in.Masters[0].PID}
	for _, c := range in.Masters[0].Children {
		pids = append(pids, c.PID)
	}
	t.Cleanup(func() { // if Stop failed, end them here rather than leak them
		for _, pid := range pids {
			if !exited(pid) {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	if err := os.RemoveAll(sb.Prefix); err != nil {
		t.Fatal(err)
	}
	if err := sb.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	for _, pid := range pids {
		if !exited(pid) {
			t.Errorf("pid %d of the sandbox still runs after Stop", pid)
		}
	}
}
