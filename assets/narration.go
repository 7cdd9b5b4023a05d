package assets

import (
	"strings"
	"sync"
)

// The guided demo's narration: for each step, a text said while it is about to happen
// (narration/<step>.before.txt) and one once it is done (<step>.after.txt); for each phase, a text
// about where the instance stands (narration/<phase>.txt). Trainers edit the files; the line
// breaks in them are only for editing, the UI wraps the text to its panel.

// NarrationSteps are the steps that have narration, by the names model.Action uses.
var NarrationSteps = []string{"install", "test", "upgrade", "drain", "commit", "rollback"}

// NarrationPhases are the phases that have narration, by the names model.Phase uses.
var NarrationPhases = []string{"idle", "new-starting", "both-serving", "old-draining", "old-drained"}

var narration = sync.OnceValue(func() map[string]string {
	texts := map[string]string{}
	entries, err := FS.ReadDir("narration")
	if err != nil {
		return texts
	}
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".txt")
		if !ok {
			continue
		}
		b, err := FS.ReadFile("narration/" + e.Name())
		if err == nil {
			texts[name] = strings.Join(strings.Fields(string(b)), " ")
		}
	}
	return texts
})

// Narration returns what the guided demo says about a step (install, test, upgrade, drain,
// commit, rollback): before, while it is about to happen; after, once it is done. An unknown
// step gives empty texts.
func Narration(step string) (before, after string) {
	t := narration()
	return t[step+".before"], t[step+".after"]
}

// PhaseNarration returns what the guided demo says about a phase (idle, new-starting,
// both-serving, old-draining, old-drained); empty for an unknown one.
func PhaseNarration(phase string) string {
	return narration()[phase]
}
