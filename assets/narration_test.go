package assets

import (
	"strings"
	"testing"

	"golang.org/x/text/width"

	"github.com/hotdeploy/hotdeploy/model"
)

// narrationKeys are every text the guide can ask for.
func narrationKeys() []string {
	keys := append([]string(nil), NarrationPhases...)
	for _, a := range model.Actions {
		keys = append(keys, a.String()+".before", a.String()+".after")
	}
	keys = append(keys, "test.failed", "upgrade.failed")
	for _, s := range []string{"broken-config", "crash-on-start", "held-download"} {
		keys = append(keys, "scenario-"+s)
	}
	return keys
}

// Every action, phase and scenario has its narration in every language: a one-sentence short
// form and a long form of two or three plain sentences.
func TestNarrationCoversEveryStepAndPhase(t *testing.T) {
	for lang := range NarrationLangs {
		for _, k := range narrationKeys() {
			text, ok := NarrationIn(lang, k)
			if !ok {
				t.Errorf("%s: no narration %s", lang, k)
				continue
			}
			checkNarration(t, lang, k, text)
		}
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

func checkNarration(t *testing.T, lang, name string, text Text) {
	t.Helper()
	if text.Short == "" || text.Long == "" {
		t.Errorf("%s %s: short %q, long %q: both forms are needed", lang, name, text.Short, text.Long)
		return
	}
	for _, s := range []string{text.Short, text.Long} {
		if strings.Contains(s, "\n") || strings.Contains(s, "  ") || strings.Contains(s, "， ") || strings.Contains(s, "。 ") {
			t.Errorf("%s %s: line breaks or double spaces left in %q", lang, name, s)
		}
		// The Chinese screen draws no glyph whose width terminals disagree on.
		for _, r := range s {
			if lang == "zh-CN" && width.LookupRune(r).Kind() == width.EastAsianAmbiguous {
				t.Errorf("%s %s: ambiguous-width %q in %q", lang, name, r, s)
			}
		}
	}
	if lang != "en" {
		return
	}
	if n := strings.Count(text.Long, ". ") + 1; n < 2 || n > 3 || !strings.HasSuffix(text.Long, ".") {
		t.Errorf("%s: %d sentences (want two or three, ending with a period): %q", name, n, text.Long)
	}
	if strings.Count(text.Short, ". ") > 0 || len(text.Short) > 100 {
		t.Errorf("%s: the short form is one sentence of at most 100 characters: %q", name, text.Short)
	}
	// The label before a text says "Next:" or "Just done:" already, and the probe's figures are
	// shown beside it: a text that claims them could contradict them.
	if strings.HasPrefix(text.Long, "Next") || strings.Contains(text.Long, "no failure") {
		t.Errorf("%s: starts with Next, or claims the probe's result: %q", name, text.Long)
	}
}

// The facts the audience should take away are said where they happen: the signal and the pid
// files, in both languages.
func TestNarrationNamesSignalsAndPidFiles(t *testing.T) {
	for step, words := range map[string][]string{
		"upgrade":  {"SIGUSR2", "nginx.pid.oldbin"},
		"drain":    {"SIGWINCH"},
		"commit":   {"SIGQUIT", "nginx.pid.oldbin"},
		"rollback": {"SIGHUP", "SIGQUIT", "nginx.pid"},
		"install":  {"nginx.old"},
		"test":     {"-t", "-p, -c and -g"},
	} {
		for lang := range NarrationLangs {
			before, _ := NarrationIn(lang, step+".before")
			after, _ := NarrationIn(lang, step+".after")
			all := words
			if lang == "en" && step != "test" {
				all = append(all, "probe")
			}
			for _, w := range all {
				if !strings.Contains(before.Long+" "+after.Long, w) {
					t.Errorf("%s %s: the narration does not mention %q", lang, step, w)
				}
			}
		}
	}
	if b, a := Narration("drain"); !strings.Contains(b+a, "shutting down") {
		t.Error("drain: the narration does not say the workers are shutting down")
	}
}
