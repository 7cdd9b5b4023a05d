//go:build fleet

package fleettest

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// sandbox is one inventory host: a real nginx, daemonized, run from a copy of the system binary
// inside its own prefix, so that installing a candidate replaces only that copy.
type sandbox struct {
	name    string
	dir     string // everything of this host: prefix, stage dir, audit log
	prefix  string
	binary  string
	pidFile string
	port    int
	url     string
	seen    map[int]string // every process of this sandbox ever seen: pid -> start time
}

const confTmpl = `worker_processes 2;
pid %[1]s/logs/nginx.pid;
error_log %[1]s/logs/error.log notice;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path %[1]s/temp/body;
    proxy_temp_path %[1]s/temp/proxy;
    fastcgi_temp_path %[1]s/temp/fastcgi;
    uwsgi_temp_path %[1]s/temp/uwsgi;
    scgi_temp_path %[1]s/temp/scgi;
    server {
        listen 127.0.0.1:%[2]d;
        root %[1]s/html;
        index index.html;
    }
}
`

// startSandbox starts a sandbox nginx and registers its cleanup, which runs even if the test
// fails: every master and child it recorded is stopped by pid, and the directory removed.
func startSandbox(t *testing.T, name, nginx string) *sandbox {
	t.Helper()
	dir, err := os.MkdirTemp("", "hotdeploy-fleet-"+name+"-")
	if err != nil {
		t.Fatalf("sandbox %s: %v", name, err)
	}
	s := &sandbox{name: name, dir: dir, prefix: filepath.Join(dir, "nginx"), seen: map[int]string{}}
	t.Cleanup(func() {
		if err := s.stop(); err != nil {
			t.Errorf("sandbox %s: %v", name, err)
			return // keep the directory: something of it may still run
		}
		_ = os.RemoveAll(dir)
	})
	// nginx's workers run as nobody: they must reach the page through the temp directory.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"sbin", "conf", "html", "logs", "temp"} {
		if err := os.MkdirAll(filepath.Join(s.prefix, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	s.binary = filepath.Join(s.prefix, "sbin", "nginx")
	s.pidFile = filepath.Join(s.prefix, "logs", "nginx.pid")
	if err := copyFile(nginx, s.binary, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.prefix, "html", "index.html"), []byte("<p>"+name+"</p>\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if s.port, err = freePort(); err != nil {
		t.Fatal(err)
	}
	s.url = fmt.Sprintf("http://127.0.0.1:%d/", s.port)
	conf := filepath.Join(s.prefix, "conf", "nginx.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(confTmpl, s.prefix, s.port)), 0o644); err != nil {
		t.Fatal(err)
	}
	// Absolute argv[0], daemon on: the master forks and the command returns.
	if out, err := exec.Command(s.binary, "-p", s.prefix+"/", "-c", conf).CombinedOutput(); err != nil {
		t.Fatalf("sandbox %s: start nginx: %v: %s", name, err, out)
	}
	pid := s.masterPID(t)
	if err := s.waitServing(10 * time.Second); err != nil {
		t.Fatalf("sandbox %s (master %d): %v", name, pid, err)
	}
	return s
}

// masterPID reads the pid file and records the master.
func (s *sandbox) masterPID(t *testing.T) int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		pid, err := readPid(s.pidFile)
		if err == nil && s.owns(pid) {
			s.record(pid)
			return pid
		}
		if time.Now().After(deadline) {
			t.Fatalf("sandbox %s: no master in %s: %v", s.name, s.pidFile, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *sandbox) waitServing(timeout time.Duration) error {
	c := http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(timeout)
	for {
		resp, err := c.Get(s.url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s does not serve: %v", s.url, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// owns says whether pid is a master of this sandbox: its title names this prefix.
func (s *sandbox) owns(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return err == nil && strings.Contains(string(b), s.prefix)
}

// record remembers a master of this sandbox with its start time, so that cleanup can stop it
// even after it left the pid files, and never signals a recycled pid.
func (s *sandbox) record(pids ...int) {
	for _, pid := range pids {
		if pid <= 0 || !s.owns(pid) {
			continue
		}
		if st, err := startTime(pid); err == nil {
			s.seen[pid] = st
		}
	}
}

// stop ends every process of this sandbox it can find: the masters in the pid files and those
// recorded, and their children, QUIT first, then TERM, then KILL, rescanning until all are gone.
func (s *sandbox) stop() error {
	start := time.Now()
	for {
		for _, f := range []string{s.pidFile, s.pidFile + ".oldbin"} {
			if pid, err := readPid(f); err == nil {
				s.record(pid)
			}
		}
		masters := map[int]bool{}
		for pid := range s.seen {
			masters[pid] = true
		}
		for pid, st := range childrenOf(masters) {
			s.seen[pid] = st
		}
		alive := 0
		sig := syscall.SIGQUIT
		switch waited := time.Since(start); {
		case waited > 10*time.Second:
			sig = syscall.SIGKILL
		case waited > 3*time.Second:
			sig = syscall.SIGTERM
		}
		for pid, st := range s.seen {
			if cur, err := startTime(pid); err != nil || cur != st {
				continue // gone, or the pid was reused
			}
			alive++
			_ = syscall.Kill(pid, sig)
		}
		if alive == 0 {
			return nil
		}
		if time.Since(start) > 20*time.Second {
			return fmt.Errorf("%d processes still alive after 20s (pids %v)", alive, s.seen)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// childrenOf lists the processes whose parent is one of masters, with their start times.
func childrenOf(masters map[int]bool) map[int]string {
	out := map[int]string{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		f, err := procStat(pid)
		if err == nil && len(f) > 19 {
			if ppid, _ := strconv.Atoi(f[1]); masters[ppid] {
				out[pid] = f[19]
			}
		}
	}
	return out
}

// procStat returns the fields of /proc/PID/stat after the command name: state is [0], ppid [1],
// start time [19].
func procStat(pid int) ([]string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, err
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return nil, errors.New("bad stat")
	}
	return strings.Fields(string(b[i+1:])), nil
}

// startTime is field 22 of /proc/PID/stat; a zombie counts as gone.
func startTime(pid int) (string, error) {
	f, err := procStat(pid)
	if err != nil || len(f) < 20 {
		return "", fmt.Errorf("pid %d: gone", pid)
	}
	if f[0] == "Z" {
		return "", fmt.Errorf("pid %d: zombie", pid)
	}
	return f[19], nil
}

func readPid(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
