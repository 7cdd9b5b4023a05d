package sandbox

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/hotdeploy/hotdeploy/assets"
	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/inspect"
)

// SandboxOptions shape a sandbox nginx.
type SandboxOptions struct {
	Dir     string // where to build the prefix; empty: a new temporary directory, removed by Stop
	Port    int    // loopback port; 0: one the kernel picks
	Workers int    // worker_processes; default 2
	Binary  string // nginx to copy into the prefix; empty: FindNginx
	// Main is extra text for the main context of nginx.conf.
	Main string
	// Keep leaves the directory in place on Stop.
	Keep bool
}

// Sandbox is a real nginx running from a private prefix on a loopback port: the demo runs on it
// and so do the tests.
type Sandbox struct {
	Prefix   string
	Binary   string // absolute path of the binary copy inside the prefix
	Conf     string
	PidFile  string
	ErrorLog string
	Port     int
	URL      string
	Workers  int // worker_processes
	keep     bool
	ownDir   bool
	started  []*exec.Cmd
	sessions map[int]bool // of our daemonized masters: see noteSession
}

// nginxPaths are where FindNginx looks after $PATH.
var nginxPaths = []string{"/usr/sbin/nginx", "/usr/local/nginx/sbin/nginx", "/usr/local/sbin/nginx"}

// ErrNoNginx says nginx is not installed, and how to install it.
var ErrNoNginx = errors.New("no nginx binary found in $PATH, /usr/sbin or /usr/local/nginx/sbin: " +
	"install it (Debian/Ubuntu: sudo apt-get install nginx-light)")

// FindNginx returns the absolute path of the installed nginx.
func FindNginx() (string, error) {
	if p, err := exec.LookPath("nginx"); err == nil {
		if abs, err := filepath.Abs(p); err == nil {
			return abs, nil
		}
	}
	for _, p := range nginxPaths {
		if err := inspect.CheckExecutable(p); err == nil {
			return p, nil
		}
	}
	return "", ErrNoNginx
}

// PrepareSandbox builds the prefix (binary copy, config, page) without starting nginx.
func PrepareSandbox(opt SandboxOptions) (*Sandbox, error) {
	src := opt.Binary
	if src == "" {
		var err error
		if src, err = FindNginx(); err != nil {
			return nil, err
		}
	}
	if opt.Workers <= 0 {
		opt.Workers = 2
	}
	port, err := pickPort(opt.Port)
	if err != nil {
		return nil, err
	}
	sb := &Sandbox{Port: port, URL: fmt.Sprintf("http://127.0.0.1:%d/", port), Workers: opt.Workers, keep: opt.Keep}
	if opt.Dir == "" {
		if opt.Dir, err = os.MkdirTemp("", "hotdeploy-sandbox-"); err != nil {
			return nil, err
		}
		sb.ownDir = true
		// Workers run as nobody when we are root: let them reach the page and the cache.
		if err := os.Chmod(opt.Dir, 0o755); err != nil {
			return nil, err
		}
	}
	if sb.Prefix, err = filepath.Abs(opt.Dir); err != nil {
		return nil, err
	}
	sb.Binary = filepath.Join(sb.Prefix, "sbin", "nginx")
	sb.Conf = filepath.Join(sb.Prefix, "conf", "nginx.conf")
	sb.PidFile = filepath.Join(sb.Prefix, "logs", "nginx.pid")
	sb.ErrorLog = filepath.Join(sb.Prefix, "logs", "error.log")
	if err := sb.write(src, opt); err != nil {
		sb.removeDir()
		return nil, err
	}
	return sb, nil
}

func (sb *Sandbox) write(src string, opt SandboxOptions) error {
	for _, d := range []string{"sbin", "conf", "logs", "html", "cache", "temp"} {
		if err := os.MkdirAll(filepath.Join(sb.Prefix, d), 0o755); err != nil {
			return err
		}
	}
	if err := CopyFile(src, sb.Binary, 0o755); err != nil {
		return fmt.Errorf("copy %s into the sandbox: %w", src, err)
	}
	tmpl, err := template.ParseFS(assets.FS, "sandbox/nginx.conf.tmpl")
	if err != nil {
		return err
	}
	var conf bytes.Buffer
	err = tmpl.Execute(&conf, map[string]any{
		"Prefix": sb.Prefix, "Port": sb.Port, "Workers": opt.Workers, "Main": opt.Main,
		"User": sandboxUser(sb.Prefix), "SlowRate": "2k",
	})
	if err != nil {
		return err
	}
	if err := os.WriteFile(sb.Conf, conf.Bytes(), 0o644); err != nil {
		return err
	}
	page, err := assets.FS.ReadFile("sandbox/index.html")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(sb.Prefix, "html", "index.html"), page, 0o644); err != nil {
		return err
	}
	// 512 KiB at 2 KiB/s: a download that lasts minutes unless the client hangs up.
	return os.WriteFile(filepath.Join(sb.Prefix, "html", "slow.bin"), bytes.Repeat([]byte("hotdeploy\n"), 52429), 0o644)
}

// sandboxUser picks the worker user: as root, nginx runs workers as nobody, which cannot enter
// a private test directory; there they run as root instead. Otherwise nginx keeps our user.
func sandboxUser(prefix string) string {
	if os.Geteuid() != 0 {
		return ""
	}
	for d := prefix; d != "/" && d != "."; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err != nil || st.Mode().Perm()&0o001 == 0 {
			return "root"
		}
	}
	return ""
}

// pickPort returns port if it is free on 127.0.0.1, or a free one the kernel picks for 0.
func pickPort(port int) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return 0, fmt.Errorf("port %d on 127.0.0.1 is in use: pick another with --port", port)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// StartSandbox prepares a sandbox and starts nginx in it, daemonized, by its absolute path.
// It returns once the master wrote its pid file and all workers run.
func StartSandbox(opt SandboxOptions) (*Sandbox, error) {
	sb, err := PrepareSandbox(opt)
	if err != nil {
		return nil, err
	}
	if err := sb.Start(); err != nil {
		_ = sb.Stop()
		return nil, err
	}
	return sb, nil
}

// Start runs the sandbox nginx daemonized and waits until it serves.
func (sb *Sandbox) Start() error {
	var out bytes.Buffer
	cmd := exec.Command(sb.Binary, "-p", sb.Prefix, "-c", sb.Conf)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("start sandbox nginx: %v: %s", err, strings.TrimSpace(out.String()))
	}
	_, err := sb.WaitServing(10 * time.Second)
	return err
}

// Command returns an unstarted nginx command on the sandbox's prefix and config, for callers
// that start it their own way (daemon off, a relative argv[0]). Stop ends it too.
func (sb *Sandbox) Command(extra ...string) *exec.Cmd {
	cmd := exec.Command(sb.Binary, append([]string{"-p", sb.Prefix, "-c", sb.Conf}, extra...)...)
	sb.started = append(sb.started, cmd)
	return cmd
}

// WaitServing waits until the pid file names a master whose workers all run.
func (sb *Sandbox) WaitServing(timeout time.Duration) (model.Instance, error) {
	sc := inspect.NewScanner()
	deadline := time.Now().Add(timeout)
	var lastErr error
	for time.Now().Before(deadline) {
		pid, err := inspect.ReadPidFile(sb.PidFile)
		if err == nil {
			in, err := sc.InstanceOf(pid)
			if err == nil {
				sb.noteSession(in.Masters[0].Process)
			}
			if err == nil && in.PidFilePID == pid && len(in.Masters) == 1 && in.Masters[0].ActiveWorkers() == sb.Workers {
				return in, nil
			}
			lastErr = err
		} else {
			lastErr = err
		}
		time.Sleep(10 * time.Millisecond)
	}
	return model.Instance{}, fmt.Errorf("sandbox nginx did not serve within %s: %v; error log: %s",
		timeout, lastErr, inspect.TailFile(sb.ErrorLog, 3))
}

// CopyFile copies src to dst with mode perm, replacing dst.
func CopyFile(src, dst string, perm os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
