package assets

import (
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/width"
)

// The guided demo's narration: for each step, a text said while it is about to happen
// (narration/<step>.before.txt) and one once it is done (<step>.after.txt); for each phase, a text
// about where the instance stands (narration/<phase>.txt); for each failure scenario of the demo,
// what it rehearses (narration/scenario-<name>.txt), and texts for a step that failed or was
// refused (<step>.failed.txt). English texts sit in narration/, Chinese ones in narration/zh-CN/.
//
// A file holds a one-sentence short form, a blank line, then the long form of two or three
// sentences: a small screen shows the short one. Trainers edit the files; the line breaks within
// a form are only for editing, the UI wraps the text to its panel.

// NarrationSteps are the steps that have narration, by the names model.Action uses.
var NarrationSteps = []string{"install", "test", "upgrade", "drain", "commit", "rollback"}

// NarrationPhases are the phases that have narration, by the names model.Phase uses.
var NarrationPhases = []string{"idle", "new-starting", "both-serving", "old-draining", "old-drained"}

// NarrationLangs are the languages narration is written in: the directory of each under
// narration/ ("" for English).
var NarrationLangs = map[string]string{"en": "", "zh-CN": "zh-CN"}

// Text is one narration: the short form and the long form.
type Text struct{ Short, Long string }

var narration = sync.OnceValue(func() map[string]map[string]Text {
	all := map[string]map[string]Text{}
	for lang, dir := range NarrationLangs {
		path := "narration"
		if dir != "" {
			path += "/" + dir
		}
		texts := map[string]Text{}
		entries, _ := FS.ReadDir(path)
		for _, e := range entries {
			name, ok := strings.CutSuffix(e.Name(), ".txt")
			if !ok || e.IsDir() {
				continue
			}
			if b, err := FS.ReadFile(path + "/" + e.Name()); err == nil {
				texts[name] = parseNarration(string(b))
			}
		}
		all[lang] = texts
	}
	return all
})

// parseNarration splits a file into its short and long forms, each on one line.
func parseNarration(s string) Text {
	short, long, ok := strings.Cut(strings.TrimSpace(s), "\n\n")
	if !ok {
		long, short = short, ""
	}
	return Text{Short: oneLine(short), Long: oneLine(long)}
}

// oneLine joins a form's lines with a space, but not where Chinese text, written without
// spaces, continues (joinsTight).
func oneLine(s string) string {
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		line = strings.Join(strings.Fields(line), " ")
		if line == "" {
			continue
		}
		if b.Len() > 0 {
			last, _ := utf8.DecodeLastRuneInString(b.String())
			first, _ := utf8.DecodeRuneInString(line)
			if !joinsTight(last, first) {
				b.WriteByte(' ')
			}
		}
		b.WriteString(line)
	}
	return b.String()
}

// joinsTight tells whether two lines meet without a space: between Chinese characters, and
// after or before full-width punctuation.
func joinsTight(last, first rune) bool {
	return (wide(last) && (wide(first) || unicode.IsPunct(last))) || (wide(first) && unicode.IsPunct(first))
}

// wide tells whether a rune is a Chinese character or full-width punctuation.
func wide(r rune) bool {
	k := width.LookupRune(r).Kind()
	return k == width.EastAsianWide || k == width.EastAsianFullwidth
}

// NarrationIn returns the narration of a key (install.before, old-draining, …) in a language
// (en or zh-CN); ok is false when there is none.
func NarrationIn(lang, key string) (Text, bool) {
	t, ok := narration()[lang][key]
	return t, ok
}

// Narration returns what the guided demo says in English about a step (install, test, upgrade,
// drain, commit, rollback): before, while it is about to happen; after, once it is done. An
// unknown step gives empty texts.
func Narration(step string) (before, after string) {
	t := narration()["en"]
	return t[step+".before"].Long, t[step+".after"].Long
}

// PhaseNarration returns what the guided demo says in English about a phase (idle,
// new-starting, both-serving, old-draining, old-drained); empty for an unknown one.
func PhaseNarration(phase string) string {
	return narration()["en"][phase].Long
}
