package ui

import (
	"strings"
	"unicode/utf8"
)

// wrap breaks plain text into lines of at most width cells: at spaces, and between Chinese
// characters, which are written without spaces. A word longer than a line (a path) breaks after a
// slash where it can, else where the line ends.
func wrap(text string, width int) []string {
	if width < 1 {
		width = 1
	}
	if cellWidth(text) <= width && !strings.Contains(text, "\n") {
		return []string{text}
	}
	var lines []string
	for _, para := range strings.Split(text, "\n") {
		lines = append(lines, wrapLine(para, width)...)
	}
	return lines
}

// wrapToken is a word, or one Chinese character with the punctuation that closes it.
type wrapToken struct {
	text       string
	w          int
	spaceFirst bool
}

// closing is punctuation that must not start a line.
const closing = "，。：；、）」！？,.:;)!?"

func tokenize(s string) []wrapToken {
	var toks []wrapToken
	space := false
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == ' ':
			space = true
			i += size
		case !space && len(toks) > 0 && strings.ContainsRune(closing, r):
			t := &toks[len(toks)-1] // closing punctuation stays with the character before it
			t.text, t.w = t.text+string(r), t.w+runeCells(r)
			i += size
		case runeCells(r) > 1:
			toks = append(toks, wrapToken{text: string(r), w: runeCells(r), spaceFirst: space})
			space = false
			i += size
		default:
			j := i
			for j < len(s) {
				r2, sz := utf8.DecodeRuneInString(s[j:])
				if r2 == ' ' || runeCells(r2) > 1 {
					break
				}
				j += sz
			}
			toks = append(toks, wrapToken{text: s[i:j], w: cellWidth(s[i:j]), spaceFirst: space})
			space = false
			i = j
		}
	}
	return toks
}

func wrapLine(s string, width int) []string {
	var lines []string
	var cur strings.Builder
	curW := 0
	flush := func() {
		lines = append(lines, cur.String())
		cur.Reset()
		curW = 0
	}
	for _, t := range tokenize(s) {
		gap := 0
		if t.spaceFirst && curW > 0 {
			gap = 1
		}
		if curW+gap+t.w <= width {
			if gap == 1 {
				cur.WriteByte(' ')
			}
			cur.WriteString(t.text)
			curW += gap + t.w
			continue
		}
		if curW > 0 {
			flush()
		}
		text := t.text
		for cellWidth(text) > width {
			head := splitAt(text, width)
			lines = append(lines, head)
			text = text[len(head):]
		}
		cur.WriteString(text)
		curW = cellWidth(text)
	}
	if curW > 0 || len(lines) == 0 {
		flush()
	}
	return lines
}

// splitAt returns the longest head of a word that fits in width cells, ending after a slash when
// one is in its second half.
func splitAt(s string, width int) string {
	w, end, slash := 0, 0, -1
	for i, r := range s {
		rw := runeCells(r)
		if w+rw > width {
			break
		}
		w += rw
		end = i + utf8.RuneLen(r)
		if r == '/' || r == '-' {
			slash = end
		}
	}
	if end == 0 {
		_, size := utf8.DecodeRuneInString(s)
		return s[:size]
	}
	if slash > end/2 {
		return s[:slash]
	}
	return s[:end]
}

// wrapCut wraps text into at most n lines of width cells: when it needs more, the last line is
// the rest of the text cut at a word, with ell.
func wrapCut(text string, width, n int, ell string) []string {
	lines := wrap(text, width)
	if n < 1 || len(lines) <= n {
		return lines
	}
	rest := text
	for _, l := range lines[:n-1] {
		rest = afterLine(rest, l)
	}
	rest = strings.Join(strings.Fields(strings.ReplaceAll(rest, "\n", " ")), " ")
	return append(lines[:n-1:n-1], cutWords(rest, width, ell))
}

// afterLine is what is left of text once the line wrap made of its start is taken off: wrap
// only drops and collapses spaces, so each of the line's other runes is found in turn.
func afterLine(text, line string) string {
	i := 0
	for _, r := range line {
		if r == ' ' {
			continue
		}
		for i < len(text) && (text[i] == ' ' || text[i] == '\n') {
			i++
		}
		if strings.HasPrefix(text[i:], string(r)) {
			i += utf8.RuneLen(r)
		}
	}
	return strings.TrimLeft(text[i:], " \n")
}
