// Command proofrun is `make proof`: it starts its own sandbox nginx on loopback ports, puts it
// under load from Debian's wrk (HTTP/1.1, keep-alive) and h2load (HTTP/2, on a second `listen
// ... http2` port) and hotdeploy's own probe in both modes, while the built hotdeploy binary
// upgrades it headless, then upgrades and rolls it back; and prints every client's figures side
// by side. Everything it starts it ends by pid; every run is bounded in time.
//
// It lives under .ci (outside `go test ./...`) and is built from its files:
//
//	go build -o bin/proofrun ./.ci/proofrun/*.go   (the .ci/proof script does this)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/hotdeploy/hotdeploy/nginxctl/sandbox"
	"github.com/hotdeploy/hotdeploy/nginxctl/traffic"
)

type config struct {
	bin      string        // the hotdeploy binary
	duration time.Duration // how long each load generator runs
	conns    int           // wrk's connections
	rate     float64       // each probe's requests per second
}

func main() {
	var c config
	flag.StringVar(&c.bin, "bin", "bin/hotdeploy", "the built hotdeploy binary")
	flag.DurationVar(&c.duration, "d", 6*time.Second, "load duration of each run (1s to 60s)")
	flag.IntVar(&c.conns, "c", 50, "wrk connections")
	flag.Float64Var(&c.rate, "rate", 200, "requests per second of each hotdeploy probe")
	flag.Parse()
	if c.duration < time.Second || c.duration > time.Minute || c.conns < 1 || c.conns > 1000 {
		fmt.Fprintln(os.Stderr, "proof: -d must be 1s to 60s and -c 1 to 1000")
		os.Exit(2)
	}
	// Bounded as a whole: the runs, and the clean-up after them.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(ctx, 4*time.Minute)
	err := prove(ctx, c)
	cancel()
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "proof:", err)
		os.Exit(1)
	}
}

func prove(ctx context.Context, c config) error {
	bin, err := filepath.Abs(c.bin)
	if err != nil {
		return err
	}
	c.bin = bin
	for _, tool := range []string{c.bin, "wrk", "h2load"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s: %w (run `make build` and .ci/proof-deps)", tool, err)
		}
	}
	work, err := os.MkdirTemp("", "hotdeploy-proof-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	if err := os.Chmod(work, 0o755); err != nil { // workers run as nobody under root
		return err
	}
	sb, h2URL, err := startSandbox(filepath.Join(work, "nginx"))
	if err != nil {
		return err
	}
	defer func() {
		if err := sb.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "proof: stop the sandbox:", err)
		}
	}()
	version := nginxVersion(sb.Binary)
	fmt.Printf("== proof: %s, sandbox on %s (HTTP/1.1) and %s (HTTP/2), %d workers\n", version, sb.URL, h2URL, sb.Workers)
	fmt.Printf("   load per run: wrk -t2 -c%d -d%s; h2load -c10 -m10 -D %s; hotdeploy probes, fresh and keep-alive, 4 clients at %g/s each\n",
		c.conns, c.duration, c.duration, c.rate)

	audit := filepath.Join(work, "audit.log")
	target := []string{"--pidfile", sb.PidFile, "--yes", "--json", "--audit-log", audit}
	runs := []struct {
		name  string
		steps func(candidate string) [][]string
	}{
		{"upgrade (USR2, WINCH, QUIT)", func(cand string) [][]string {
			return [][]string{append([]string{"upgrade", "--new-binary", cand, "--probe", sb.URL}, target...)}
		}},
		{"upgrade and rollback (USR2, WINCH; HUP, QUIT to the new master)", func(cand string) [][]string {
			return [][]string{
				append([]string{"upgrade", "--new-binary", cand, "--probe", sb.URL, "--stop-after", "drain"}, target...),
				append([]string{"rollback"}, target...),
			}
		}},
	}
	var failed []string
	for i, r := range runs {
		cand, err := candidate(work, i)
		if err != nil {
			return err
		}
		ok, err := runOnce(ctx, c, sb, h2URL, version, fmt.Sprintf("run %d: %s", i+1, r.name), r.steps(cand))
		if err != nil {
			return err
		}
		if !ok {
			failed = append(failed, r.name)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("hotdeploy did not end as expected in: %s", strings.Join(failed, "; "))
	}
	return nil
}

// startSandbox starts a sandbox nginx with a second, HTTP/2-only port (`listen ... http2`
// without TLS speaks HTTP/2 with prior knowledge, which h2load uses for http:// URLs).
func startSandbox(dir string) (*sandbox.Sandbox, string, error) {
	sb, err := sandbox.PrepareSandbox(sandbox.SandboxOptions{Dir: dir, Workers: 2})
	if err != nil {
		return nil, "", err
	}
	h2, err := freePort()
	if err != nil {
		return nil, "", err
	}
	conf, err := os.ReadFile(sb.Conf)
	if err != nil {
		return nil, "", err
	}
	listen := fmt.Sprintf("listen 127.0.0.1:%d;", sb.Port)
	if !strings.Contains(string(conf), listen) {
		return nil, "", fmt.Errorf("%s has no %q to add the HTTP/2 port beside", sb.Conf, listen)
	}
	conf = []byte(strings.Replace(string(conf), listen, fmt.Sprintf("%s\n        listen 127.0.0.1:%d http2;", listen, h2), 1))
	if err := os.WriteFile(sb.Conf, conf, 0o644); err != nil {
		return nil, "", err
	}
	if err := sb.Start(); err != nil {
		_ = sb.Stop()
		return nil, "", err
	}
	return sb, fmt.Sprintf("http://127.0.0.1:%d/", h2), nil
}

// candidate copies the installed nginx with a marker appended, so that each run installs a
// build that differs from the one running.
func candidate(dir string, n int) (string, error) {
	src, err := sandbox.FindNginx()
	if err != nil {
		return "", err
	}
	dst := filepath.Join(dir, fmt.Sprintf("nginx-candidate-%d", n))
	if err := sandbox.CopyFile(src, dst, 0o755); err != nil {
		return "", err
	}
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return "", err
	}
	_, err = fmt.Fprintf(f, "\nhotdeploy proof candidate %d %d\n", n, time.Now().UnixNano())
	return dst, errors.Join(err, f.Close())
}

func nginxVersion(binary string) string {
	out, _ := exec.Command(binary, "-v").CombinedOutput()
	v := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(string(out)), "nginx version:"))
	if v == "" {
		return "nginx (version unknown)"
	}
	return v
}

// probeOptions are the in-process probes' options: loopback, bounded.
func probeOptions(url, mode string, c config) traffic.ProbeOptions {
	return traffic.ProbeOptions{URL: url, Mode: mode, Clients: 4, Rate: c.rate, LoopbackOnly: true,
		MaxDuration: c.duration + 30*time.Second, MaxRequests: 100000}
}

// freePort returns a loopback port the kernel picked, closed again for nginx to take.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
