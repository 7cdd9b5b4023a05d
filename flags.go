package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The flag values below check what they are given as they parse it, so a bad value is refused
// by name with a good example before anything is discovered or signalled. They are only Set
// when the flag is given (pflag's Changed), which is what makes `--pid 0` and `--pidfile ""`
// errors instead of "no target": a script's unset variable must never widen the target.

// shown quotes a value only where it would be invisible or ambiguous on one line.
func shown(s string) string {
	if s == "" || strings.ContainsAny(s, " \t\n\"") {
		return strconv.Quote(s)
	}
	return s
}

// pidValue is --pid: a positive process id.
type pidValue struct{ p *int }

func (v pidValue) Type() string { return "pid" }
func (v pidValue) String() string {
	if v.p == nil || *v.p == 0 {
		return ""
	}
	return strconv.Itoa(*v.p)
}
func (v pidValue) Set(s string) error {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("--pid %s: want the pid of an nginx master, such as 1234", shown(s))
	}
	if n <= 0 {
		return fmt.Errorf("--pid %d is not a pid: give an nginx master's pid such as 1234, or leave --pid out to discover", n)
	}
	*v.p = n
	return nil
}

// textValue is a flag that needs a non-empty word: a path, a URL. An empty one is a script's
// unset variable, never a choice.
type textValue struct {
	p       *string
	name    string
	kind    string // path, url: what --help shows after the flag
	example string
}

func (v textValue) Type() string { return v.kind }
func (v textValue) String() string {
	if v.p == nil {
		return ""
	}
	return *v.p
}
func (v textValue) Set(s string) error {
	if strings.TrimSpace(s) == "" {
		return fmt.Errorf("--%s %s: empty %s; want one such as %s, or leave the flag out", v.name, shown(s), v.kind, v.example)
	}
	*v.p = s
	return nil
}

// durationValue is a duration of at least min.
type durationValue struct {
	p       *time.Duration
	name    string
	min     time.Duration
	example string
}

func (v durationValue) Type() string { return "duration" }
func (v durationValue) String() string {
	if v.p == nil || *v.p == 0 { // zero is "not given" (audit --since): no "(default 0s)"
		return ""
	}
	return v.p.String()
}
func (v durationValue) Set(s string) error {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	switch {
	case err != nil:
		return fmt.Errorf("--%s %s: want a duration such as %s", v.name, shown(s), v.example)
	case d <= 0:
		return fmt.Errorf("--%s %s: want a positive duration such as %s", v.name, shown(s), v.example)
	case d < v.min:
		return fmt.Errorf("--%s %s is too short: want %s or more, such as %s", v.name, shown(s), v.min, v.example)
	}
	*v.p = d
	return nil
}

// portValue is a TCP port.
type portValue struct{ p *int }

func (v portValue) Type() string { return "port" }
func (v portValue) String() string {
	if v.p == nil {
		return ""
	}
	return strconv.Itoa(*v.p)
}
func (v portValue) Set(s string) error {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n <= 0 || n > 65535 {
		return fmt.Errorf("--port %s is not a port: want 1 to 65535, such as 8080", shown(s))
	}
	*v.p = n
	return nil
}

// choiceValue is one word of a fixed list.
type choiceValue struct {
	p       *string
	name    string
	kind    string
	choices []string
}

func (v choiceValue) Type() string { return v.kind }
func (v choiceValue) String() string {
	if v.p == nil {
		return ""
	}
	return *v.p
}
func (v choiceValue) Set(s string) error {
	if !slices.Contains(v.choices, s) {
		q := make([]string, len(v.choices))
		for i, c := range v.choices {
			q[i] = strconv.Quote(c)
		}
		return fmt.Errorf("--%s %s: want %s", v.name, shown(s), orList(q))
	}
	*v.p = s
	return nil
}

// orList joins words as "a", "a or b", "a, b or c".
func orList(w []string) string {
	if len(w) <= 1 {
		return strings.Join(w, "")
	}
	return strings.Join(w[:len(w)-1], ", ") + " or " + w[len(w)-1]
}
