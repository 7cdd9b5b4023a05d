package ui

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/language"
	"golang.org/x/text/message/catalog"

	"github.com/hotdeploy/hotdeploy/assets"
)

// The screen's words go through a message catalogue (golang.org/x/text/message/catalog): the key
// of a message is its English printf format, as x/text/message has it, so the English screen
// needs no table and a missing translation shows English rather than nothing. The translations
// live in assets/i18n/<lang>.json, one object of English format → translated format.
//
// Only the lookup goes through the catalogue; the formatting is fmt's. x/text's message.Printer
// formats numbers for the locale, and a pid printed as "12,345" would be a different number to
// an operator who copies it into kill or ps.

// translator renders the screen's messages in one language.
type translator struct {
	lang Lang
	tag  language.Tag
	cat  catalog.Catalog
}

// catalogues holds the translations, built once from the embedded files.
var catalogues = sync.OnceValues(func() (*catalog.Builder, error) {
	b := catalog.NewBuilder(catalog.Fallback(language.English))
	raw, err := assets.FS.ReadFile("i18n/zh-CN.json")
	if err != nil {
		return b, fmt.Errorf("read the zh-CN catalogue: %w", err)
	}
	var msgs map[string]string
	if err := json.Unmarshal(raw, &msgs); err != nil {
		return b, fmt.Errorf("parse the zh-CN catalogue: %w", err)
	}
	for key, text := range msgs {
		if err := b.SetString(language.SimplifiedChinese, key, text); err != nil {
			return b, fmt.Errorf("catalogue entry %q: %w", key, err)
		}
	}
	return b, nil
})

// newTranslator returns the translator for a language; an unknown one is English.
func newTranslator(l Lang) translator {
	b, _ := catalogues() // a broken catalogue shows English: TestCatalogue fails on it
	t := translator{lang: LangEnglish, tag: language.English, cat: b}
	if l == LangChinese {
		t.lang, t.tag = LangChinese, language.SimplifiedChinese
	}
	return t
}

// capture is a catalogue renderer that keeps the format instead of printing it.
type capture struct{ text string }

func (c *capture) Render(s string)     { c.text += s }
func (c *capture) Arg(int) interface{} { return nil }

// formats keeps each format the catalogue gave, by language and English format: a frame asks
// for a few dozen every second, and a catalogue lookup was a sixth of a Chinese frame's cost.
var formats sync.Map // formatKey → string

type formatKey struct {
	tag     language.Tag
	english string
}

// format returns the translated format for an English one, or the English one.
func (t translator) format(english string) string {
	if t.lang == LangEnglish || t.cat == nil {
		return english
	}
	key := formatKey{t.tag, english}
	if f, ok := formats.Load(key); ok {
		return f.(string)
	}
	f := english
	c := &capture{}
	if err := t.cat.Context(t.tag, c).Execute(english); err == nil && c.text != "" {
		f = c.text
	}
	formats.Store(key, f)
	return f
}

// T renders a message: the translation of the English format, formatted with args. A %w (a
// reason that wraps an error) is formatted as %v: the screen wants the sentence, not the chain.
func (t translator) T(english string, args ...any) string {
	f := t.format(english)
	if len(args) == 0 {
		return f
	}
	if strings.Contains(f, "%w") {
		f = strings.ReplaceAll(f, "%w", "%v")
	}
	if !t.zh() {
		return fmt.Sprintf(f, args...)
	}
	marked := make([]any, len(args))
	for i, a := range args {
		marked[i] = argMarks{a}
	}
	return spaceArgs(fmt.Sprintf(f, marked...))
}

// In Chinese text a Latin word is set off from the Han characters beside it by a space (旧
// master 排空中). The catalogue's sentences do so around their own Latin words; an argument
// (a step's name, a role, a path) is marked while the sentence is formatted, and spaceArgs adds
// the space where its ends meet Han characters.
const (
	argOpen  = '\uE000' // private-use runes, never in a message
	argClose = '\uE001'
)

// argMarks formats its value as the directive asks, between argOpen and argClose.
type argMarks struct{ v any }

func (a argMarks) Format(f fmt.State, verb rune) {
	fmt.Fprintf(f, "%c"+fmt.FormatString(f, verb)+"%c", argOpen, a.v, argClose)
}

// spaceArgs removes the marks, with a space where an argument's end is a Latin letter and Han
// is on the other side.
func spaceArgs(s string) string {
	if !strings.ContainsRune(s, argOpen) {
		return s
	}
	rs := []rune(s)
	var b strings.Builder
	b.Grow(len(s))
	// neighbour is the rune beside the marks at i, walking by step, marks skipped.
	neighbour := func(i, step int) rune {
		for i += step; i >= 0 && i < len(rs); i += step {
			if rs[i] != argOpen && rs[i] != argClose {
				return rs[i]
			}
		}
		return 0
	}
	for i, r := range rs {
		if r != argOpen && r != argClose {
			b.WriteRune(r)
			continue
		}
		before, after := neighbour(i, -1), neighbour(i, 1)
		meet := latin(before) && unicode.Is(unicode.Han, after) || unicode.Is(unicode.Han, before) && latin(after)
		if meet && !strings.HasSuffix(b.String(), " ") {
			b.WriteByte(' ')
		}
	}
	return b.String()
}

func latin(r rune) bool { return r < utf8.RuneSelf && unicode.IsLetter(r) }

// N marks a message kept in a variable (a table of labels) for the catalogue test; it returns
// the English text, which is translated where it is drawn.
func N(english string) string { return english }

// zh tells whether the screen is in Chinese: a few layouts differ besides the words (glyphs
// whose width East Asian terminals disagree on, the separator between fields).
func (t translator) zh() bool { return t.lang == LangChinese }

// list joins items the way the language does: "a, b" or "a、b".
func (t translator) list(items []string) string {
	if t.zh() {
		return strings.Join(items, "、")
	}
	return strings.Join(items, ", ")
}
