package inspect

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// debianV is `nginx -V` of Debian bookworm's nginx-light, which prints to stderr.
const debianV = `nginx version: nginx/1.22.1
built with OpenSSL 3.0.11 19 Sep 2023
TLS SNI support enabled
configure arguments: --with-cc-opt='-g -O2 -ffile-prefix-map=/build/reproducible-path/nginx-1.22.1=. -fstack-protector-strong -Wformat -Werror=format-security -fPIC -Wdate-time -D_FORTIFY_SOURCE=2' --with-ld-opt='-Wl,-z,relro -Wl,-z,now -fPIC' --prefix=/usr/share/nginx --conf-path=/etc/nginx/nginx.conf --http-log-path=/var/log/nginx/access.log --error-log-path=stderr --lock-path=/var/lock/nginx.lock --pid-path=/run/nginx.pid --modules-path=/usr/lib/nginx/modules --with-compat --with-debug --with-threads
`

func TestParseBuildInfo(t *testing.T) {
	tests := []struct {
		name, out string
		want      buildInfo
	}{
		{"debian", debianV, buildInfo{version: "nginx/1.22.1", prefix: "/usr/share/nginx",
			conf: "/etc/nginx/nginx.conf", pid: "/run/nginx.pid", errorLog: "stderr"}},
		{"angie names its build too", "Angie version: Angie/1.4.0 (nginx/1.25.3)\nbuilt by gcc 12.2.0\n" +
			"configure arguments: --prefix=/etc/angie --conf-path=/etc/angie/angie.conf --error-log-path=/var/log/angie/error.log --pid-path=/run/angie.pid\n",
			buildInfo{version: "Angie/1.4.0", prefix: "/etc/angie", conf: "/etc/angie/angie.conf",
				pid: "/run/angie.pid", errorLog: "/var/log/angie/error.log"}},
		{"built from source with defaults", "nginx version: nginx/1.27.0\nbuilt by gcc 12.2.0 (Debian 12.2.0-14)\nconfigure arguments:\n",
			buildInfo{version: "nginx/1.27.0"}},
		{"openresty", "nginx version: openresty/1.25.3.1\nconfigure arguments: --prefix=/usr/local/openresty/nginx --with-cc-opt=-O2\n",
			buildInfo{version: "openresty/1.25.3.1", prefix: "/usr/local/openresty/nginx"}},
		{"paths outside the configure line are ignored", "nginx version: nginx/1.2.3\nfoo --prefix=/wrong\n",
			buildInfo{version: "nginx/1.2.3"}},
		{"not nginx at all", "usage: something else\n", buildInfo{}},
		{"empty", "", buildInfo{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseBuildInfo(tt.out); got != tt.want {
				t.Errorf("parseBuildInfo\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestBinaryCacheRunsTheRealNginx runs the installed nginx's -V once and keeps the answer for
// that file.
func TestBinaryCacheRunsTheRealNginx(t *testing.T) {
	bin, err := testNginx()
	if err != nil {
		t.Fatalf("these tests need a real nginx: %v", err)
	}
	var c binaryCache
	bi, err := c.info(bin)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(bi.version, "/") || len(c.builds.m) != 1 {
		t.Fatalf("info(%s) = %+v with %d cached; want a version like nginx/1.22.1, cached once", bin, bi, len(c.builds.m))
	}
	again, err := c.info(bin)
	if err != nil || again != bi || len(c.builds.m) != 1 {
		t.Errorf("second info = %+v, %v (%d cached); want the cached %+v", again, err, len(c.builds.m), bi)
	}
	if _, err := c.info(filepath.Join(t.TempDir(), "none")); err == nil {
		t.Error("info of a missing file: want an error")
	}
	script := writeFile(t, "fails.sh", "#!/bin/sh\necho broken >&2\nexit 1\n", 0o755)
	if _, err := c.info(script); err == nil || !strings.Contains(err.Error(), "broken") {
		t.Errorf("info of a failing binary: err %v, want its output in the error", err)
	}
}

func writeFile(t *testing.T, name, text string, perm os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, perm); err != nil { // umask would otherwise decide
		t.Fatal(err)
	}
	return p
}

func TestCheckExecutable(t *testing.T) {
	nginx, err := testNginx()
	if err != nil {
		t.Fatalf("these tests need a real nginx: %v", err)
	}
	elfCopy := filepath.Join(t.TempDir(), "nginx")
	if err := copyFile(nginx, elfCopy); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(elfCopy, link); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, wantErr string
	}{
		{"an ELF copy of nginx", elfCopy, ""},
		{"a symlink to it", link, ""},
		{"missing", filepath.Join(t.TempDir(), "absent"), "no such file"},
		{"a directory", t.TempDir(), "is a directory"},
		{"a fifo", fifo, "not a regular file"},
		{"not executable", writeFile(t, "plain", "\x7fELF", 0o644), "not executable"},
		{"a shell script", writeFile(t, "wrapper", "#!/bin/sh\nexec /usr/sbin/nginx \"$@\"\n", 0o755), "not an ELF"},
		{"a truncated ELF header", writeFile(t, "short", "\x7fELF\x02", 0o755), "not an ELF"},
		{"empty", writeFile(t, "empty", "", 0o755), "not an ELF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckExecutable(tt.path)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("CheckExecutable(%s) = %v, want nil", tt.path, err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("CheckExecutable(%s) = %v, want an error containing %q", tt.path, err, tt.wantErr)
			case err != nil && !strings.Contains(err.Error(), tt.path):
				t.Errorf("error %q does not name the path", err)
			}
		})
	}
}

// testNginx is the host's nginx, which these tests need.
func testNginx() (string, error) {
	if p, err := exec.LookPath("nginx"); err == nil {
		return p, nil
	}
	return "/usr/sbin/nginx", CheckExecutable("/usr/sbin/nginx")
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o755)
}
