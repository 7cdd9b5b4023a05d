package ui

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hotdeploy/hotdeploy/nginxctl"
)

// Demo runs the dashboard on a sandbox nginx with a candidate binary staged and pre-filled, and
// stops the sandbox when the dashboard ends, however it ends.
func Demo(o DemoOptions) (err error) {
	sb, err := nginxctl.StartSandbox(nginxctl.SandboxOptions{Port: o.Port, Keep: o.Keep})
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	defer func() {
		if serr := sb.Stop(); serr != nil {
			err = errors.Join(err, fmt.Errorf("stop the sandbox: %w", serr))
		}
		if o.Keep {
			fmt.Fprintf(os.Stderr, "hotdeploy demo: sandbox kept in %s (its nginx is stopped)\n", sb.Prefix)
		}
	}()
	candidate, err := stageCandidate(sb)
	if err != nil {
		return err
	}
	return Run(Options{
		Target:    nginxctl.Target{PidFile: sb.PidFile},
		NewBinary: candidate,
		Interval:  defaultInterval,
		AuditLog:  filepath.Join(sb.Prefix, "logs", "audit.log"),
		Probe:     sb.URL,
		demo:      true,
	})
}

// stageCandidate copies the sandbox's nginx to <prefix>/candidate/nginx: a different file with
// the same contents, so installing it makes the binary on disk differ from the running one.
func stageCandidate(sb *nginxctl.Sandbox) (string, error) {
	dir := filepath.Join(sb.Prefix, "candidate")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("demo: stage the candidate binary: %w", err)
	}
	path := filepath.Join(dir, "nginx")
	if err := nginxctl.CopyFile(sb.Binary, path, 0o755); err != nil {
		return "", fmt.Errorf("demo: stage the candidate binary: %w", err)
	}
	return path, nil
}
