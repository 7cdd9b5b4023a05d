package ui

import (
	"fmt"
	"os"
	"path/filepath"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/sandbox"
)

// The demo's failure scenarios, for trainers: each sets the sandbox up to fail one way, and the
// guide says what it rehearses (assets/narration/scenario-<name>.txt).
const (
	scenarioBrokenConfig = "broken-config"  // nginx.conf broken after start: the preflight refuses
	scenarioCrashOnStart = "crash-on-start" // the candidate passes -v/-t, its master exits at once
	scenarioHeldDownload = "held-download"  // a slow download held on an old worker from the start
)

// Scenarios lists the names `hotdeploy demo --scenario` accepts besides none.
var Scenarios = []string{scenarioBrokenConfig, scenarioCrashOnStart, scenarioHeldDownload}

// ParseScenario checks a --scenario value; "" and "none" are the plain demo.
func ParseScenario(name string) (string, error) {
	if name == "" || name == "none" {
		return "", nil
	}
	for _, s := range Scenarios {
		if s == name {
			return s, nil
		}
	}
	return "", fmt.Errorf("unknown scenario %q (want none, %s, %s or %s)", name, Scenarios[0], Scenarios[1], Scenarios[2])
}

// brokenLine is what broken-config appends to the sandbox's nginx.conf: a directive nginx does
// not know, so that `nginx -t` fails with nginx's own error naming the file and line.
const brokenLine = "\n# added by hotdeploy demo --scenario broken-config after nginx started\nhotdeploy_demo_broken_directive on;\n"

// prepareScenario sets the sandbox up for a scenario and returns the candidate to offer.
func prepareScenario(name string, sb *sandbox.Sandbox, candidate string) (string, error) {
	switch name {
	case scenarioBrokenConfig:
		f, err := os.OpenFile(sb.Conf, os.O_WRONLY|os.O_APPEND, 0)
		if err == nil {
			_, err = f.WriteString(brokenLine)
			err = closeJoin(f, err)
		}
		if err != nil {
			return "", fmt.Errorf("demo: break %s for the scenario: %w", sb.Conf, err)
		}
	case scenarioCrashOnStart:
		return stageCrashingCandidate(sb)
	}
	return candidate, nil
}

// stageCrashingCandidate puts a copy of this hotdeploy binary at <prefix>/candidate/nginx with
// the trailer that makes it act as a crashing nginx (candidate.go), beside a private copy of the
// real nginx it answers -v and -t with.
func stageCrashingCandidate(sb *sandbox.Sandbox) (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("demo: find the hotdeploy binary to stage the crashing candidate: %w", err)
	}
	dir := filepath.Join(sb.Prefix, "candidate")
	real, path := filepath.Join(dir, "nginx.real"), filepath.Join(dir, "nginx")
	if err = os.MkdirAll(dir, 0o755); err == nil {
		err = sandbox.CopyFile(sb.Binary, real, 0o755)
	}
	if err == nil {
		err = sandbox.CopyFile(self, path, 0o755)
	}
	if err == nil {
		var f *os.File
		if f, err = os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0); err == nil {
			_, err = f.WriteString(demoCandidate{mode: scenarioCrashOnStart, nginx: real, errorLog: sb.ErrorLog}.trailer())
			err = closeJoin(f, err)
		}
	}
	if err != nil {
		return "", fmt.Errorf("demo: stage the crashing candidate: %w", err)
	}
	return path, nil
}

// startScenario does what a scenario does once the dashboard sees the sandbox: held-download
// opens its download on a worker of the running master.
func (m Model) startScenario() (Model, tea.Cmd) {
	if m.scenario != scenarioHeldDownload || m.scenarioStarted || !m.hasInst || m.inst.Old().ActiveWorkers() == 0 ||
		m.inst.Phase != model.PhaseIdle {
		return m, nil
	}
	m.scenarioStarted = true
	return m.onHold()
}
