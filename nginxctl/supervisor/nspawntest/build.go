package nspawntest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// builds holds the static binaries made for the containers, once per test binary: the
// container has no Go and a different libc, so they are built with CGO_ENABLED=0.
var builds struct {
	sync.Mutex
	dir  string
	bins map[string]string
}

// Hotdeploy returns a static build of the hotdeploy command from this checkout.
func Hotdeploy(t testing.TB) string {
	t.Helper()
	return build(t, "hotdeploy", "build", "-o", "OUT", ".")
}

// TestBinary returns a static test binary of the package at pkg (relative to the module root,
// e.g. "./nginxctl/supervisor"), to run inside a container with -test.run.
func TestBinary(t testing.TB, pkg string) string {
	t.Helper()
	name := strings.ReplaceAll(strings.Trim(pkg, "./"), "/", "-") + ".test"
	return build(t, name, "test", "-c", "-o", "OUT", pkg)
}

func build(t testing.TB, name string, args ...string) string {
	t.Helper()
	builds.Lock()
	defer builds.Unlock()
	if p, ok := builds.bins[name]; ok {
		return p
	}
	if builds.dir == "" {
		d, err := os.MkdirTemp("", "hotdeploy-nspawn-builds-")
		if err != nil {
			t.Fatal(err)
		}
		builds.dir, builds.bins = d, map[string]string{}
	}
	out := filepath.Join(builds.dir, name)
	for i, a := range args {
		if a == "OUT" {
			args[i] = out
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = moduleRoot(t)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=")
	start := time.Now()
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	t.Logf("built %s (CGO_ENABLED=0) in %s", name, time.Since(start).Round(time.Millisecond))
	builds.bins[name] = out
	return out
}

func moduleRoot(t testing.TB) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	gomod := strings.TrimSpace(string(out))
	if err != nil || gomod == "" || gomod == os.DevNull {
		t.Fatalf("find the module root with `go env GOMOD`: %v (%q)", err, gomod)
	}
	return filepath.Dir(gomod)
}

func removeBuilds() {
	builds.Lock()
	defer builds.Unlock()
	if builds.dir != "" {
		os.RemoveAll(builds.dir)
	}
}
