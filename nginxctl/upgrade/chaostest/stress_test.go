package chaostest

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"
)

// envRole makes the test binary a helper process instead of a test run: "burn" spins on one CPU.
const envRole = "HOTDEPLOY_CHAOS_ROLE"

// burnMax bounds a burner's life should its test never end it.
const burnMax = 45 * time.Minute

// init runs before TestMain: a burner never reaches the tests.
func init() {
	if os.Getenv(envRole) == "burn" {
		deadline := time.Now().Add(burnMax)
		for n := 0; ; n++ {
			if n%1_000_000 == 0 && time.Now().After(deadline) {
				os.Exit(0)
			}
		}
	}
}

// startBurners starts n processes that each keep one CPU busy, and ends them (by pid) when the
// test ends.
func startBurners(t *testing.T, n int) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		cmd := exec.Command(self)
		cmd.Env = append(os.Environ(), envRole+"=burn")
		if err := cmd.Start(); err != nil {
			t.Fatalf("start a CPU burner: %v", err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	}
}

// startIdle starts n sleeping processes (the host of DESIGN.md's budgets runs 2,000 besides
// nginx) and ends them by pid when the test ends.
func startIdle(t *testing.T, n int) {
	t.Helper()
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Fatalf("the idle processes are sleep(1): %v", err)
	}
	cmds := make([]*exec.Cmd, 0, n)
	t.Cleanup(func() {
		for _, c := range cmds {
			_ = c.Process.Kill()
		}
		for _, c := range cmds {
			_ = c.Wait()
		}
	})
	start := time.Now()
	for i := 0; i < n; i++ {
		c := exec.Command(sleep, fmt.Sprint(int(burnMax.Seconds())))
		if err := c.Start(); err != nil {
			t.Fatalf("start idle process %d of %d: %v", i+1, n, err)
		}
		cmds = append(cmds, c)
	}
	t.Logf("%d idle processes started in %s", n, time.Since(start).Round(time.Millisecond))
}
