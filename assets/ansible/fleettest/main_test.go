//go:build fleet

package fleettest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hotdeploy/hotdeploy/nginxctl/supervisor/nspawntest"
)

// env is what every fleet test shares, set up once by TestMain.
var env struct {
	nginx      string // the system nginx that the sandboxes copy
	bin        string // bin/hotdeploy, the binary in the .deb
	deb        string // the hotdeploy .deb the role installs
	ansibleDir string // assets/ansible: the playbook and the role
	logDir     string // where each playbook run's output is kept (FLEET_LOG_DIR), or ""
}

// TestMain checks what the tests need, builds the stand-in .deb when no HOTDEPLOY_DEB is given,
// and afterwards removes the hotdeploy package again when it was not installed before.
func TestMain(m *testing.M) {
	// First: the container harness re-executes this binary as its cgroup helper.
	removeBuilds := nspawntest.Enter()
	tmp, err := os.MkdirTemp("", "hotdeploy-fleet-main-")
	if err == nil {
		err = setup(tmp)
	}
	code := 1
	var installedBefore bool
	if err == nil {
		installedBefore, err = checkPackage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "fleet tests:", err)
	} else {
		code = m.Run()
		if !installedBefore {
			if err := purgePackage(); err != nil {
				fmt.Fprintln(os.Stderr, "fleet tests:", err)
				code = 1
			}
		}
	}
	if tmp != "" {
		_ = os.RemoveAll(tmp)
	}
	removeBuilds()
	os.Exit(code)
}

func setup(tmp string) error {
	if os.Geteuid() != 0 {
		return errors.New("run as root: the role installs a .deb and signals nginx masters")
	}
	for _, tool := range []string{"ansible-playbook", "dpkg-deb", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is missing: run `make deps-fleet` (installs Debian's ansible-core)", tool)
		}
	}
	var err error
	if env.nginx, err = findNginx(); err != nil {
		return err
	}
	env.bin = os.Getenv("HOTDEPLOY_BIN")
	if env.bin == "" {
		env.bin = filepath.Join(repoRoot, "bin", "hotdeploy")
	}
	if env.bin, err = filepath.Abs(env.bin); err != nil {
		return err
	}
	if _, err := os.Stat(env.bin); err != nil {
		return fmt.Errorf("%s: %w: run `make build` first", env.bin, err)
	}
	if env.ansibleDir, err = filepath.Abs(".."); err != nil {
		return err
	}
	if env.logDir = os.Getenv("FLEET_LOG_DIR"); env.logDir != "" {
		if err := os.MkdirAll(env.logDir, 0o755); err != nil {
			return err
		}
	}
	// The release .deb when the build made one, else the stand-in.
	if env.deb = os.Getenv("HOTDEPLOY_DEB"); env.deb == "" {
		env.deb, _, err = standInDeb(env.bin, tmp)
		return err
	}
	return nil
}

// checkPackage refuses to run over a hotdeploy that the tests did not put there: the role would
// replace it with the package under test.
func checkPackage() (installed bool, err error) {
	out, qerr := exec.Command("dpkg-query", "-W", "-f", "${Status}|${Version}", "hotdeploy").Output()
	status, version, _ := strings.Cut(string(out), "|")
	installed = qerr == nil && strings.HasSuffix(status, " installed")
	switch {
	case installed && os.Getenv("HOTDEPLOY_DEB") == "" && !strings.HasPrefix(version, "0.0.0~fleettest"):
		return installed, fmt.Errorf("hotdeploy %s is installed on this machine and the test would replace it "+
			"with its stand-in package: remove it (apt-get purge hotdeploy) or set HOTDEPLOY_DEB", version)
	case !installed:
		if _, err := os.Stat("/usr/bin/hotdeploy"); err == nil {
			return false, errors.New("/usr/bin/hotdeploy exists but no package owns it: the .deb would overwrite it; move it away first")
		}
	}
	// A stand-in left by an interrupted run is removed at the end like a fresh one.
	return installed && !strings.HasPrefix(version, "0.0.0~fleettest"), nil
}

func purgePackage() error {
	if st, _ := exec.Command("dpkg-query", "-W", "-f", "${Status}", "hotdeploy").Output(); !strings.HasSuffix(string(st), " installed") {
		return nil // no test installed it (only the container test ran, say)
	}
	out, err := exec.Command("apt-get", "-y", "-q", "-o", "DPkg::Lock::Timeout=120", "purge", "hotdeploy").CombinedOutput()
	if err != nil {
		return fmt.Errorf("remove the hotdeploy package the tests installed: %v: %s", err, out)
	}
	return nil
}
