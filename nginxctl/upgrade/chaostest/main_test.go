package chaostest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/hotdeploy/hotdeploy/nginxctl/driver"
)

// The suite runs only when HOTDEPLOY_CHAOS says how much of it: "short" (CI, a few minutes) or
// "full". `go test ./...` (make test) skips it.
const (
	envMode = "HOTDEPLOY_CHAOS"
	envSeed = "HOTDEPLOY_CHAOS_SEED" // reproduce a run's random moments
	envNS   = "HOTDEPLOY_CHAOS_NS"   // set inside the private mount namespace
)

var (
	mode   string // "", short or full
	seed   uint64
	hdBin  string // the hotdeploy binary built for this run
	tally  = &Tally{}
	suiteT = time.Now()
)

// TestMain builds hotdeploy once into a temporary directory and, as root, runs the suite in a
// mount namespace of its own (unshare --mount): the tmpfs and read-only bind mounts of the
// filesystem cases are then seen by this process, the nginx it starts and the hotdeploy it runs,
// and by nothing else on the host, and go away with the namespace even if a clean-up is missed.
func TestMain(m *testing.M) {
	mode = os.Getenv(envMode)
	if mode != "" && mode != "short" && mode != "full" {
		fmt.Fprintf(os.Stderr, "%s=%q: want short or full\n", envMode, mode)
		os.Exit(2)
	}
	if mode == "" {
		os.Exit(m.Run()) // every test skips
	}
	if os.Geteuid() == 0 && os.Getenv(envNS) == "" {
		os.Exit(reexecInNamespace())
	}
	seed = uint64(time.Now().UnixNano())
	if s := os.Getenv(envSeed); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s=%q: want a number\n", envSeed, s)
			os.Exit(2)
		}
		seed = n
	}
	fmt.Printf("chaos| mode %s, seed %d (rerun with %s=%d)\n", mode, seed, envSeed, seed)
	dir, err := os.MkdirTemp("", "hotdeploy-chaos-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// Every hotdeploy this suite runs keeps its locks and journals here, never in the host's
	// /run/hotdeploy and /var/lib/hotdeploy: two drivers of one case see each other, nothing else.
	os.Setenv(driver.EnvRuntimeDir, filepath.Join(dir, "run"))
	os.Setenv(driver.EnvStateDir, filepath.Join(dir, "state"))
	code := 1
	if hdBin, err = buildHotdeploy(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
	} else {
		code = m.Run()
	}
	os.RemoveAll(dir)
	tally.Write(os.Stdout, fmt.Sprintf("chaos %s: counts per case (seed %d, %s)", mode, seed, time.Since(suiteT).Round(time.Second)))
	if code == 0 && !tally.OK() {
		fmt.Println("chaos| a row above failed")
		code = 1
	}
	os.Exit(code)
}

// reexecInNamespace runs this test binary again, with the same arguments, under unshare in a
// private mount namespace, and returns its exit code.
func reexecInNamespace() int {
	args := append([]string{"--mount", "--propagation", "private", "--", os.Args[0]}, os.Args[1:]...)
	cmd := exec.Command("unshare", args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), envNS+"=1")
	if err := cmd.Run(); err != nil {
		if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() >= 0 {
			return ee.ExitCode()
		}
		fmt.Fprintf(os.Stderr, "chaos: run the suite in a private mount namespace (unshare --mount): %v\n", err)
		return 1
	}
	return 0
}

// buildHotdeploy builds the module's command into dir: the headless cases run the real binary,
// so their verdicts are its exit codes and its JSON.
func buildHotdeploy(dir string) (string, error) {
	out := filepath.Join(dir, "hotdeploy")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, ".")
	cmd.Dir = filepath.Join("..", "..", "..") // the module root, from nginxctl/upgrade/chaostest
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build hotdeploy: %v\n%s", err, b)
	}
	return out, nil
}

// needChaos skips a test outside `make chaos` and returns the case's PRNG, seeded from the run's
// seed and the test's name so a case's moments do not depend on which cases ran before it.
func needChaos(t *testing.T) *rand.Rand {
	t.Helper()
	if mode == "" {
		t.Skipf("the chaos suite runs with %s=short or full (make chaos-short, make chaos)", envMode)
	}
	if os.Geteuid() != 0 {
		t.Skip("the chaos suite needs root: mounts, sandboxes that run workers as root, 2,000 processes")
	}
	var h uint64 = 14695981039346656037
	for _, c := range []byte(t.Name()) {
		h = (h ^ uint64(c)) * 1099511628211
	}
	return rand.New(rand.NewPCG(seed, h))
}

// pick returns short in short mode, full otherwise.
func pick(short, full int) int {
	if mode == "full" {
		return full
	}
	return short
}
