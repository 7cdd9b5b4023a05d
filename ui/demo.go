package ui

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/hotdeploy/hotdeploy/nginxctl/inspect"
	"github.com/hotdeploy/hotdeploy/nginxctl/sandbox"
)

// Demo runs the dashboard on a sandbox nginx with a candidate binary staged and pre-filled, and
// stops the sandbox when the dashboard ends, however it ends: itself when it returns (q, a
// hang-up, SIGTERM, a panic bubbletea recovers), else its guard (sandbox.Guard), a second process
// that stops the sandbox once this one is gone, even killed by SIGKILL.
//
// A scenario (DemoOptions.Scenario) sets the sandbox up to fail one way, for trainers; the guide
// says which, in the screen's language.
func Demo(o DemoOptions) (err error) {
	scenario, err := ParseScenario(o.Scenario)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	sb, err := sandbox.StartSandbox(sandbox.SandboxOptions{Port: o.Port, Keep: o.Keep})
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	release := func() {}
	if o.GuardExe != "" {
		if release, err = sb.Guard(o.GuardExe); err != nil {
			_ = sb.Stop()
			return fmt.Errorf("demo: %w", err)
		}
	}
	defer func() {
		if serr := sb.Stop(); serr != nil {
			// The guard tries again once this process has ended.
			err = errors.Join(err, fmt.Errorf("stop the sandbox: %w", serr))
		} else {
			release()
		}
		if o.Keep {
			fmt.Fprintf(os.Stderr, "hotdeploy demo: sandbox kept in %s (its nginx is stopped)\n", sb.Prefix)
		}
	}()
	candidate, err := stageCandidate(sb)
	if err == nil {
		candidate, err = prepareScenario(scenario, sb, candidate)
	}
	if err != nil {
		return err
	}
	return Run(Options{
		Target:    inspect.Target{PidFile: sb.PidFile},
		NewBinary: candidate,
		Interval:  defaultInterval,
		AuditLog:  filepath.Join(sb.Prefix, "logs", "audit.log"),
		Probe:     sb.URL,
		Lang:      o.Lang,
		demo:      true,
		scenario:  scenario,
		restage:   func() error { return appendMarker(candidate) },
	})
}

// stageCandidate copies the sandbox's nginx to <prefix>/candidate/nginx with a one-line marker
// appended past its ELF segments (the loader never reads it): the same nginx, but bytes of its
// own, so the dashboard shows a new build on disk once it is installed rather than a copy of
// the running one.
func stageCandidate(sb *sandbox.Sandbox) (string, error) {
	dir := filepath.Join(sb.Prefix, "candidate")
	path := filepath.Join(dir, "nginx")
	err := os.MkdirAll(dir, 0o755)
	if err == nil {
		err = sandbox.CopyFile(sb.Binary, path, 0o755)
	}
	if err == nil {
		err = appendMarker(path)
	}
	if err != nil {
		return "", fmt.Errorf("demo: stage the candidate binary: %w", err)
	}
	return path, nil
}

func appendMarker(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(f, "\nhotdeploy demo candidate %d\n", time.Now().UnixNano())
	return closeJoin(f, err)
}

// closeJoin closes a file written to and joins its error to the write's.
func closeJoin(f *os.File, err error) error { return errors.Join(err, f.Close()) }
