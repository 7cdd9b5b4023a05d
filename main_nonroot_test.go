package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/hotdeploy/hotdeploy/nginxctl/sandbox"
	"github.com/hotdeploy/hotdeploy/nginxctl/sandbox/sandboxtest"
)

// TestStatusAsNonRootSaysWhatIsHidden runs the built binary as nobody against a root-owned
// nginx: /proc/PID/exe and cwd of the master are unreadable then, and status must say so, and
// that it cannot tell whether the binary on disk runs, instead of claiming it does.
func TestStatusAsNonRootSaysWhatIsHidden(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test starts nginx as root and runs hotdeploy as nobody: run it as root")
	}
	sb := sandboxtest.Start(t, sandbox.SandboxOptions{Workers: 1})
	master, err := os.ReadFile(sb.PidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid := strings.TrimSpace(string(master))

	// A directory nobody can enter, for the binary.
	dir, err := os.MkdirTemp("", "hotdeploy-nonroot-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "hotdeploy")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	cmd := exec.Command(bin, "status")
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("status as nobody: %v\n%s", err, out)
	}
	text := string(out)
	for _, want := range []string{"master " + pid, "hidden: /proc/" + pid + "/exe (permission denied)",
		"cannot tell whether it runs: not root"} {
		if !strings.Contains(text, want) {
			t.Errorf("status as nobody lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "master "+pid+"  current  nginx/") {
		t.Errorf("a version was claimed for a binary nobody cannot read:\n%s", text)
	}
}
