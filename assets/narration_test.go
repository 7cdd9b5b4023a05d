package assets

import (
	"strings"
	"testing"

	"github.com/hotdeploy/hotdeploy/model"
)

// Every action and every phase of the model has its narration, two or three plain sentences
// each, and each step's texts name what the audience should watch.
func TestNarrationCoversEveryStepAndPhase(t *testing.T) {
	for _, a := range model.Actions {
		before, after := Narration(a.String())
		for _, text := range []string{before, after} {
			checkNarration(t, a.String(), text)
		}
	}
	for p := model.PhaseIdle; p <= model.PhaseOldDrained; p++ {
		checkNarration(t, p.String(), PhaseNarration(p.String()))
	}
	if len(NarrationSteps) != len(model.Actions) {
		t.Errorf("NarrationSteps %v, model actions %v", NarrationSteps, model.Actions)
	}
	for i, p := range NarrationPhases {
		if p != model.Phase(i).String() {
			t.Errorf("NarrationPhases[%d] = %q, model says %q", i, p, model.Phase(i))
		}
	}
	if b, a := Narration("nonsense"); b != "" || a != "" || PhaseNarration("nonsense") != "" {
		t.Error("an unknown name must give empty texts")
	}
}

func checkNarration(t *testing.T, name, text string) {
	t.Helper()
	if text == "" {
		t.Errorf("%s: no narration", name)
		return
	}
	if n := strings.Count(text, ". ") + 1; n < 2 || n > 3 || !strings.HasSuffix(text, ".") {
		t.Errorf("%s: %d sentences (want two or three, ending with a period): %q", name, n, text)
	}
	if strings.Contains(text, "\n") || strings.Contains(text, "  ") {
		t.Errorf("%s: line breaks or double spaces left in %q", name, text)
	}
}

// The facts the audience should take away are said where they happen: the signal and the pid
// files.
func TestNarrationNamesSignalsAndPidFiles(t *testing.T) {
	for step, words := range map[string][]string{
		"upgrade":  {"SIGUSR2", "nginx.pid.oldbin", "probe"},
		"drain":    {"SIGWINCH", "shutting down", "probe"},
		"commit":   {"SIGQUIT", "nginx.pid.oldbin", "probe"},
		"rollback": {"SIGHUP", "SIGQUIT", "nginx.pid", "probe"},
		"install":  {"nginx.old", "probe"},
		"test":     {"-t", "-p, -c and -g"},
	} {
		before, after := Narration(step)
		for _, w := range words {
			if !strings.Contains(before+" "+after, w) {
				t.Errorf("%s: the narration does not mention %q", step, w)
			}
		}
	}
}
