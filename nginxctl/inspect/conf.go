package inspect

import (
	"os"
	"path/filepath"
	"strings"
)

// directive is one simple directive of the main (top-level) context of an nginx config.
type directive struct {
	name string
	args []string
}

// mainDirectives returns the top-level directives of the config at path, following top-level
// include directives, then those of the -g string (which nginx applies after the file). Blocks
// (http, events, ...) are skipped: pid, error_log and daemon live at the top.
func mainDirectives(path, g string) []directive {
	var out []directive
	seen := map[string]bool{}
	var load func(file string, depth int)
	load = func(file string, depth int) {
		if depth > 8 || seen[file] {
			return
		}
		seen[file] = true
		b, err := os.ReadFile(file)
		if err != nil {
			return
		}
		for _, d := range topLevel(string(b)) {
			if d.name != "include" || len(d.args) != 1 {
				out = append(out, d)
				continue
			}
			pattern := d.args[0]
			if !filepath.IsAbs(pattern) {
				pattern = filepath.Join(filepath.Dir(path), pattern)
			}
			matches, _ := filepath.Glob(pattern)
			for _, m := range matches {
				load(m, depth+1)
			}
		}
	}
	if path != "" {
		load(path, 0)
	}
	return append(out, topLevel(g)...)
}

// lastArg returns the first argument of the last directive with that name, "" if none.
func lastArg(ds []directive, name string) string {
	v := ""
	for _, d := range ds {
		if d.name == name && len(d.args) > 0 {
			v = d.args[0]
		}
	}
	return v
}

// errorLogLevel is the level of the main error log: the second argument of the top-level
// error_log that nginx opens (the first one), "error" when none is given, nginx's default.
func errorLogLevel(ds []directive) string {
	for _, d := range ds {
		if d.name == "error_log" {
			if len(d.args) > 1 {
				return d.args[1]
			}
			return "error"
		}
	}
	return "error"
}

// topLevel tokenizes nginx config text and keeps the directives at depth 0.
func topLevel(text string) []directive {
	var (
		out   []directive
		words []string
		depth int
	)
	for _, tok := range tokenize(text) {
		switch tok {
		case ";":
			if depth == 0 && len(words) > 0 {
				out = append(out, directive{name: words[0], args: words[1:]})
			}
			words = nil
		case "{":
			depth++
			words = nil
		case "}":
			if depth > 0 {
				depth--
			}
			words = nil
		default:
			words = append(words, tok)
		}
	}
	return out
}

// tokenize splits config text into words and the punctuation ; { }, dropping comments and
// unquoting quoted words. As in nginx's ngx_conf_read_token, a quote or '#' means something only
// at the start of a word, and a backslash escapes \" \' \\ \t \r \n while any other pair is kept as
// written (a regex's "\." stays "\.").
func tokenize(text string) []string {
	var toks []string
	var cur strings.Builder
	inWord := false
	flush := func() {
		if inWord {
			toks = append(toks, cur.String())
			cur.Reset()
			inWord = false
		}
	}
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case c == '#' && !inWord:
			for i < len(text) && text[i] != '\n' {
				i++
			}
		case (c == '"' || c == '\'') && !inWord:
			j := i + 1
			for ; j < len(text) && text[j] != c; j++ {
				if text[j] == '\\' && j+1 < len(text) {
					j++
					writeEscaped(&cur, text[j])
					continue
				}
				cur.WriteByte(text[j])
			}
			inWord = true
			flush()
			i = j
		case c == ';' || c == '{' || c == '}':
			flush()
			toks = append(toks, string(c))
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			flush()
		case c == '\\' && i+1 < len(text):
			i++
			writeEscaped(&cur, text[i])
			inWord = true
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	flush()
	return toks
}

// writeEscaped writes the character that follows a backslash the way nginx unescapes it.
func writeEscaped(b *strings.Builder, c byte) {
	switch c {
	case '"', '\'', '\\':
		b.WriteByte(c)
	case 't':
		b.WriteByte('\t')
	case 'r':
		b.WriteByte('\r')
	case 'n':
		b.WriteByte('\n')
	default:
		b.WriteByte('\\')
		b.WriteByte(c)
	}
}
