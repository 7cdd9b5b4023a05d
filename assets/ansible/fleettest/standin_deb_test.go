//go:build fleet

package fleettest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// standInDeb packs bin/hotdeploy into a minimal .deb that installs /usr/bin/hotdeploy, like the
// release .deb will. It is a stand-in until goreleaser/nfpm builds the real one: then the Makefile
// sets HOTDEPLOY_DEB to that file and this function is no longer called.
func standInDeb(bin, dir string) (deb, version string, err error) {
	sum, err := sha256File(bin)
	if err != nil {
		return "", "", err
	}
	// The version follows the bytes, so that a rebuilt binary is installed again.
	version = "0.0.0~fleettest+" + sum[:12]
	root := filepath.Join(dir, "standin-root")
	if err := os.MkdirAll(filepath.Join(root, "DEBIAN"), 0o755); err != nil {
		return "", "", err
	}
	if err := os.MkdirAll(filepath.Join(root, "usr", "bin"), 0o755); err != nil {
		return "", "", err
	}
	if err := copyFile(bin, filepath.Join(root, "usr", "bin", "hotdeploy"), 0o755); err != nil {
		return "", "", err
	}
	arch, err := exec.Command("dpkg", "--print-architecture").Output()
	if err != nil {
		return "", "", fmt.Errorf("dpkg --print-architecture: %w", err)
	}
	control := fmt.Sprintf("Package: hotdeploy\nVersion: %s\nArchitecture: %s\nMaintainer: hotdeploy fleet test <root@localhost>\n"+
		"Section: admin\nPriority: optional\nDescription: hot upgrade of a running nginx (fleet test stand-in package)\n"+
		" Built by the fleet test from bin/hotdeploy until the release .deb exists.\n",
		version, strings.TrimSpace(string(arch)))
	if err := os.WriteFile(filepath.Join(root, "DEBIAN", "control"), []byte(control), 0o644); err != nil {
		return "", "", err
	}
	deb = filepath.Join(dir, "hotdeploy_"+version+"_standin.deb")
	if out, err := exec.Command("dpkg-deb", "--root-owner-group", "-b", root, deb).CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("dpkg-deb: %v: %s", err, out)
	}
	return deb, version, nil
}
