// Package nspawntest boots a real systemd for tests: Debian's systemd and its unmodified
// nginx.service in a systemd-nspawn container, one per test, on a host whose PID 1 need not be
// systemd. Only tests import it; `make test-systemd` builds the root filesystem it boots
// (.ci/systemd-root) and names it in $HOTDEPLOY_SYSTEMD_ROOT.
//
// Every container boots with --volatile=overlay (the root is read-only, changes go to a tmpfs
// and vanish), --private-network (only lo: its nginx on :80 clashes with nothing) and its own
// cgroups; t.Cleanup halts it and removes them. nspawn runs with a parent-death signal, so a
// test binary killed midway takes its containers down with it.
package nspawntest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// RootEnv names the environment variable that holds the root filesystem's path.
const RootEnv = "HOTDEPLOY_SYSTEMD_ROOT"

// helperEnv marks the test binary re-executed to put itself into the container's cgroups and
// then become systemd-nspawn: the cgroup must be joined before nspawn starts, and Go cannot run
// code between fork and exec.
const helperEnv = "HOTDEPLOY_NSPAWN_CGROUPS"

// Main is the body of TestMain in a package whose tests boot containers: it runs the helper when
// the binary was re-executed as one, otherwise holds the root shared (so .ci/systemd-root does
// not remove it meanwhile), runs the tests and removes what the builds left.
func Main(m *testing.M) {
	done := Enter()
	code := m.Run()
	done()
	os.Exit(code)
}

// Enter is Main for a TestMain that does more around m.Run (the fleet tests): call it first.
// It becomes the helper when the binary was re-executed as one (and never returns then), holds
// the root shared, and returns what removes the builds once the tests ran.
func Enter() (done func()) {
	if dirs, ok := os.LookupEnv(helperEnv); ok {
		runHelper(dirs, os.Args[1:])
	}
	if root := os.Getenv(RootEnv); root != "" {
		if f, err := os.OpenFile(filepath.Join(filepath.Dir(root), "use.lock"), os.O_CREATE|os.O_RDONLY, 0o644); err == nil {
			_ = syscall.Flock(int(f.Fd()), syscall.LOCK_SH) // released when the process ends
		}
	}
	return removeBuilds
}

// runHelper joins each cgroup in dirs (a list separated by colons) and execs nspawn with args.
func runHelper(dirs string, args []string) {
	for _, d := range strings.Split(dirs, ":") {
		// "0" moves the writing process itself.
		if err := os.WriteFile(filepath.Join(d, "cgroup.procs"), []byte("0"), 0); err != nil {
			fmt.Fprintf(os.Stderr, "nspawntest helper: join cgroup %s: %v\n", d, err)
			os.Exit(111)
		}
	}
	env := []string{}
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, helperEnv+"=") {
			env = append(env, e)
		}
	}
	err := syscall.Exec(args[0], args, env)
	fmt.Fprintf(os.Stderr, "nspawntest helper: exec %s: %v\n", args[0], err)
	os.Exit(111)
}

// Root returns the root filesystem to boot, skipping the test when none was prepared or when
// not root: the fast `make test` runs without them.
func Root(t testing.TB) string {
	t.Helper()
	root := os.Getenv(RootEnv)
	if root == "" {
		t.Skipf("needs a real systemd: run `make test-systemd` (it sets $%s)", RootEnv)
	}
	if os.Geteuid() != 0 {
		t.Skip("booting a container needs root")
	}
	if _, err := os.Stat(filepath.Join(root, "lib/systemd/system/nginx.service")); err != nil {
		t.Fatalf("$%s=%s holds no Debian root with nginx.service: %v (rebuild it with .ci/systemd-root)", RootEnv, root, err)
	}
	return root
}
