package inspect

import (
	"strings"
)

// MasterArgs are the command-line options of a running master that matter for an upgrade.
type MasterArgs struct {
	Argv0      string
	Prefix     string // -p
	Conf       string // -c
	ErrorLog   string // -e
	Directives string // -g, all of them joined
}

// argvFromTitle recovers the argv of a master from its title, "<family>: master process <argv
// joined by spaces>". Quoting is lost, so an argument with spaces (the -g directives) comes back
// split; ParseMasterArgs joins it again.
//
// Angie puts its version and configuration generation first and the argv in brackets:
// "angie: master process v1.11.3 #1 [/usr/sbin/angie -c /etc/angie/angie.conf]" (the closing
// bracket is missing when the argv filled its 2 KB buffer).
func argvFromTitle(title string) []string {
	_, rest, ok := strings.Cut(title, ": master process")
	if !ok {
		return nil
	}
	if i := strings.Index(rest, " ["); i >= 0 && strings.HasPrefix(strings.TrimSpace(rest), "v") {
		rest = strings.TrimSuffix(rest[i+2:], "]")
	}
	return strings.Fields(rest)
}

// ParseMasterArgs reads nginx's own options out of argv. An option's value may be attached
// ("-c/etc/nginx.conf") or the next word; -g takes words up to the next option, since its
// directives contain spaces.
func ParseMasterArgs(argv []string) MasterArgs {
	var a MasterArgs
	if len(argv) == 0 {
		return a
	}
	a.Argv0 = argv[0]
	var g []string
	for i := 1; i < len(argv); i++ {
		w := argv[i]
		if len(w) < 2 || w[0] != '-' {
			continue
		}
		flag, val := w[1], w[2:]
		if strings.IndexByte("pceg", flag) < 0 {
			continue
		}
		if val == "" && i+1 < len(argv) {
			i++
			val = argv[i]
		}
		switch flag {
		case 'p':
			a.Prefix = val
		case 'c':
			a.Conf = val
		case 'e':
			a.ErrorLog = val
		case 'g':
			words := []string{val}
			for i+1 < len(argv) && !isOption(argv[i+1]) {
				i++
				words = append(words, argv[i])
			}
			g = append(g, strings.Join(words, " "))
		}
	}
	a.Directives = strings.Join(g, " ")
	return a
}

func isOption(w string) bool {
	return len(w) >= 2 && w[0] == '-' && strings.IndexByte("?hvVtTqspceg", w[1]) >= 0
}

// MainDirective returns the value of the last top-level directive name in the config at conf,
// with the -g directives applied after it, as nginx would read it; "" when it is not set.
func MainDirective(conf, directives, name string) string {
	return lastArg(mainDirectives(conf, directives), name)
}
