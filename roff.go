package main

import (
	"fmt"
	"strings"
	"unicode"
)

// roff writes man(7) source. Written here rather than with cobra/doc: that package renders
// one page per command through go-md2man and blackfriday (two more modules) and has no place
// for our own sections, while hotdeploy(1) is one page with the keys, phases, exit codes and
// the result schema beside the commands.
type roff struct{ b strings.Builder }

// esc makes text safe for roff: backslashes and hyphens escaped (so flags copy as ASCII
// hyphen-minus), other than ASCII as \[uXXXX] (troff reads bytes, not UTF-8), and a leading
// dot or quote kept from reading as a request.
func esc(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\e`)
		case r == '-':
			b.WriteString(`\-`)
		case r > unicode.MaxASCII:
			fmt.Fprintf(&b, `\[u%04X]`, r)
		default:
			b.WriteRune(r)
		}
	}
	s = b.String()
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}

// macro writes a request line such as .SH "EXIT STATUS".
func (r *roff) macro(name string, args ...string) {
	r.b.WriteString("." + name)
	for _, a := range args {
		fmt.Fprintf(&r.b, " \"%s\"", strings.ReplaceAll(esc(a), `"`, `\(dq`))
	}
	r.b.WriteString("\n")
}

// line writes one line of already formatted roff (escape its text with esc).
func (r *roff) line(s string) { r.b.WriteString(s + "\n") }

// text writes prose: paragraphs split at blank lines are filled; a paragraph whose lines are
// all indented (an example) is kept as typed.
func (r *roff) text(s string) {
	for i, para := range strings.Split(strings.Trim(s, "\n"), "\n\n") {
		if i > 0 {
			r.macro("PP")
		}
		lines := strings.Split(para, "\n")
		literal := true
		for _, l := range lines {
			literal = literal && strings.HasPrefix(l, "  ")
		}
		if literal {
			r.macro("RS", "4")
			r.macro("nf")
		}
		for _, l := range lines {
			if literal {
				l = strings.TrimPrefix(l, "  ")
			}
			r.line(esc(l))
		}
		if literal {
			r.macro("fi")
			r.macro("RE")
		}
	}
}

// item writes a tagged paragraph: a bold tag, then its description.
func (r *roff) item(tag, desc string) {
	r.macro("TP")
	r.line(`\fB` + esc(tag) + `\fR`)
	r.line(esc(desc))
}

func bold(s string) string   { return `\fB` + esc(s) + `\fR` }
func italic(s string) string { return `\fI` + esc(s) + `\fR` }
