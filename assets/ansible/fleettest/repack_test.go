//go:build fleet

package fleettest

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// repacked is an nginx package rebuilt from the one installed in a root filesystem: the same
// files and maintainer scripts, the binary with a marker appended, the version bumped.
type repacked struct {
	deb        string // the .deb file
	oldVersion string
	version    string
	binarySHA  string // sha256 of the binary the package installs
}

// repackNginx rebuilds the package that owns /usr/sbin/nginx in root (Debian bookworm: "nginx",
// which nginx-light depends on with "<< VERSION.1~") from its installed files, as dpkg-repack
// would, so no network and no download is needed. The new version sorts right after the
// installed one and before VERSION.1~, so the packages that pin it stay satisfied.
func repackNginx(t *testing.T, root, dir string) repacked {
	t.Helper()
	admin := filepath.Join(root, "var/lib/dpkg")
	owner := strings.TrimSpace(dpkgQuery(t, admin, "-S", "/usr/sbin/nginx"))
	pkg, _, _ := strings.Cut(owner, ":")
	old := dpkgQuery(t, admin, "-W", "-f=${Version}", pkg)
	r := repacked{oldVersion: old, version: old + "+hotdeploy1"}
	if err := exec.Command("dpkg", "--compare-versions", r.version, "gt", old).Run(); err != nil {
		t.Fatalf("%s does not sort after %s", r.version, old)
	}

	stage := filepath.Join(dir, "repack")
	if err := os.MkdirAll(filepath.Join(stage, "DEBIAN"), 0o755); err != nil {
		t.Fatal(err)
	}
	list, err := os.ReadFile(filepath.Join(admin, "info", pkg+".list"))
	if err != nil {
		t.Fatalf("files of %s: %v", pkg, err)
	}
	var sums []string
	for _, p := range strings.Split(strings.TrimSpace(string(list)), "\n") {
		if p == "/." {
			continue
		}
		if sum := copyEntry(t, filepath.Join(root, p), filepath.Join(stage, p)); sum != "" {
			sums = append(sums, sum+"  "+strings.TrimPrefix(p, "/"))
		}
	}
	bin := filepath.Join(stage, "usr/sbin/nginx")
	f, err := os.OpenFile(bin, os.O_APPEND|os.O_WRONLY, 0)
	if err == nil {
		_, err = fmt.Fprintf(f, "\nhotdeploy fleet test: nginx repacked as %s\n", r.version)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	r.binarySHA = mustSHA(t, bin)
	// md5sums again for the changed binary, as dpkg --verify would read them.
	for i, s := range sums {
		if strings.HasSuffix(s, "  usr/sbin/nginx") {
			sums[i] = md5File(t, bin) + "  usr/sbin/nginx"
		}
	}
	sort.Strings(sums)
	writeFile(t, filepath.Join(stage, "DEBIAN/md5sums"), strings.Join(sums, "\n")+"\n", 0o644)
	writeFile(t, filepath.Join(stage, "DEBIAN/control"), controlFor(t, admin, pkg, r.version), 0o644)
	for _, s := range []string{"preinst", "postinst", "prerm", "postrm", "triggers", "config", "templates"} {
		src := filepath.Join(admin, "info", pkg+"."+s)
		if _, err := os.Stat(src); err == nil {
			mode := os.FileMode(0o755)
			if s == "triggers" || s == "templates" {
				mode = 0o644
			}
			if err := copyFile(src, filepath.Join(stage, "DEBIAN", s), mode); err != nil {
				t.Fatal(err)
			}
		}
	}
	r.deb = filepath.Join(dir, fmt.Sprintf("%s_%s_repacked.deb", pkg, r.version))
	if out, err := exec.Command("dpkg-deb", "--root-owner-group", "-b", stage, r.deb).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb -b: %v: %s", err, out)
	}
	t.Logf("repacked %s %s as %s (binary sha256 %.12s)", pkg, old, r.version, r.binarySHA)
	return r
}

// controlFor is the installed package's control data with another version: dpkg's status
// fields that belong to the installation (Status, Conffiles) left out.
func controlFor(t *testing.T, admin, pkg, version string) string {
	t.Helper()
	var out []string
	skip := false
	for _, l := range strings.Split(strings.TrimRight(dpkgQuery(t, admin, "-s", pkg), "\n"), "\n") {
		if strings.HasPrefix(l, " ") {
			if !skip {
				out = append(out, l)
			}
			continue
		}
		name, _, _ := strings.Cut(l, ":")
		skip = name == "Status" || name == "Conffiles"
		switch {
		case skip:
		case name == "Version":
			out = append(out, "Version: "+version)
		default:
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n") + "\n"
}

// copyEntry copies one path of the package (directory, file or symlink) and returns the md5
// of a regular file, "" otherwise.
func copyEntry(t *testing.T, src, dst string) string {
	t.Helper()
	fi, err := os.Lstat(src)
	if err != nil {
		t.Fatalf("package file %s: %v", src, err)
	}
	switch {
	case fi.IsDir():
		if err := os.MkdirAll(dst, fi.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	case fi.Mode()&os.ModeSymlink != 0:
		target, err := os.Readlink(src)
		if err == nil {
			err = os.Symlink(target, dst)
		}
		if err != nil {
			t.Fatal(err)
		}
	default:
		if err := copyFile(src, dst, fi.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
		return md5File(t, dst)
	}
	return ""
}

func dpkgQuery(t *testing.T, admin string, args ...string) string {
	t.Helper()
	out, err := exec.Command("dpkg-query", append([]string{"--admindir=" + admin}, args...)...).Output()
	if err != nil {
		t.Fatalf("dpkg-query --admindir=%s %s: %v", admin, strings.Join(args, " "), err)
	}
	return string(out)
}

func md5File(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := md5.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}
