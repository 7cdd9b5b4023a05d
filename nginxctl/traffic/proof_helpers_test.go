package traffic_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hotdeploy/hotdeploy/nginxctl/audit"
	"github.com/hotdeploy/hotdeploy/nginxctl/inspect"
	"github.com/hotdeploy/hotdeploy/nginxctl/sandbox"
	"github.com/hotdeploy/hotdeploy/nginxctl/upgrade"
	"github.com/hotdeploy/hotdeploy/nginxctl/upgrade/upgradetest"
)

// Helpers shared by the probe, hold and connection-count tests.

// connsRunner returns a step runner on its own scanner and a private audit log.
func connsRunner(t testing.TB) (*upgrade.Runner, *inspect.Scanner) {
	t.Helper()
	audit, err := audit.Open(filepath.Join(t.TempDir(), "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	sc := inspect.NewScanner()
	return upgrade.NewRunner(sc, audit), sc
}

// freeLoopbackPort returns a loopback address that refuses connections for the whole test
// (upgradetest.RefusingAddr).
func freeLoopbackPort(t *testing.T) string {
	t.Helper()
	return upgradetest.RefusingAddr(t)
}

// sandboxAddLocation adds a location to the sandbox's server block before nginx starts.
func sandboxAddLocation(t *testing.T, sb *sandbox.Sandbox, location string) {
	t.Helper()
	conf, err := os.ReadFile(sb.Conf)
	if err != nil {
		t.Fatal(err)
	}
	const anchor = "location = /slow.bin {"
	if !strings.Contains(string(conf), anchor) {
		t.Fatalf("%s has no %q to put the location before", sb.Conf, anchor)
	}
	conf = []byte(strings.Replace(string(conf), anchor, location+"\n        "+anchor, 1))
	if err := os.WriteFile(sb.Conf, conf, 0o644); err != nil {
		t.Fatal(err)
	}
}
