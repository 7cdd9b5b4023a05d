//go:build fleet

package fleettest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// repoRoot is where `make build` leaves bin/hotdeploy, seen from this package's directory.
const repoRoot = "../../.."

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s to %s: %w", src, dst, err)
	}
	return out.Close()
}

func sha256File(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func mustSHA(t *testing.T, path string) string {
	t.Helper()
	sum, err := sha256File(path)
	if err != nil {
		t.Fatalf("sha256 of %s: %v", path, err)
	}
	return sum
}

// exeSHA is the sha256 of the binary a process runs, read through /proc/PID/exe (still
// readable when the file on disk was replaced).
func exeSHA(t *testing.T, pid int) string {
	t.Helper()
	return mustSHA(t, fmt.Sprintf("/proc/%d/exe", pid))
}

// markedCopy writes a candidate that runs exactly like nginx but has other bytes: the binary
// with a marker appended (the ELF loader ignores trailing data).
func markedCopy(t *testing.T, nginx, dst, marker string) string {
	t.Helper()
	if err := copyFile(nginx, dst, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(dst, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fmt.Fprintf(f, "\nhotdeploy fleet test candidate %s\n", marker); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return dst
}

// fakeNginx builds testdata/fakenginx in the given mode: "die" passes -v and -t and exits 1 as
// the new master; "badconf" fails the config test.
func fakeNginx(t *testing.T, nginx, dir, mode string) string {
	t.Helper()
	out := filepath.Join(dir, "nginx-"+mode)
	cmd := exec.Command("go", "build", "-o", out,
		"-ldflags", "-X main.realNginx="+nginx+" -X main.mode="+mode, "./testdata/fakenginx")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the %s candidate: %v: %s", mode, err, b)
	}
	return out
}

// nginxVersion is what `nginx -v` prints after "nginx version: ", e.g. nginx/1.22.1.
func nginxVersion(t *testing.T, nginx string) string {
	t.Helper()
	b, err := exec.Command(nginx, "-v").CombinedOutput()
	if err != nil {
		t.Fatalf("%s -v: %v: %s", nginx, err, b)
	}
	return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(string(b)), "nginx version:"))
}

func findNginx() (string, error) {
	for _, p := range []string{"/usr/sbin/nginx", "/usr/local/nginx/sbin/nginx"} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	p, err := exec.LookPath("nginx")
	if err != nil {
		return "", fmt.Errorf("no nginx: install nginx-light (make deps)")
	}
	return filepath.Abs(p)
}
