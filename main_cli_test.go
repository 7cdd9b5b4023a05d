package main

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/hotdeploy/hotdeploy/nginxctl/upgrade/upgradetest"
)

// These tests drive the command line as an operator or a script would, through run().

// commandNames is every command an operator may type, by its name under the root.
func commandNames(t *testing.T) []string {
	t.Helper()
	var names []string
	for _, c := range manCommands((&app{}).rootCmd()) {
		if c.HasParent() {
			names = append(names, c.Name())
		}
	}
	if len(names) < 7 {
		t.Fatalf("only %v commands", names)
	}
	return names
}

// TestHelpEveryForm: --help, -h, help, help CMD, CMD --help, CMD -h print the command's usage
// on stdout, each flag with its sentence, nothing on stderr, exit 0.
func TestHelpEveryForm(t *testing.T) {
	root := (&app{}).rootCmd()
	forms := [][]string{{"--help"}, {"-h"}, {"help"}}
	for _, name := range commandNames(t) {
		forms = append(forms, []string{"help", name}, []string{name, "--help"}, []string{name, "-h"})
	}
	for _, args := range forms {
		code, out, errOut := runCLI(t, args...)
		if code != 0 || errOut != "" || !strings.Contains(out, "Usage:") {
			t.Errorf("hotdeploy %s: exit %d, stderr %q, stdout %q; want usage, exit 0", strings.Join(args, " "), code, errOut, out)
			continue
		}
		cmd := root // --help, -h, help
		if len(args) == 2 {
			name := args[0] // CMD --help, CMD -h
			if name == "help" && !strings.HasPrefix(args[1], "-") {
				name = args[1] // help CMD
			}
			var err error
			if cmd, _, err = root.Find([]string{name}); err != nil {
				t.Fatal(err)
			}
		}
		cmd.Flags().VisitAll(func(f *pflag.Flag) {
			if !f.Hidden && (!strings.Contains(out, "--"+f.Name) || !strings.Contains(out, f.Usage)) {
				t.Errorf("hotdeploy %s: no --%s with its sentence %q", strings.Join(args, " "), f.Name, f.Usage)
			}
		})
	}
}

// TestEveryFlagHasASentence: each flag's description starts with a capital and ends with a
// full stop, so --help and the man page read as sentences.
func TestEveryFlagHasASentence(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.Flags().VisitAll(func(f *pflag.Flag) {
			u := f.Usage
			if u == "" || !unicode.IsUpper(rune(u[0])) || !strings.HasSuffix(u, ".") {
				t.Errorf("%s --%s: %q is not a sentence", c.CommandPath(), f.Name, u)
			}
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk((&app{}).rootCmd())
}

// TestBadCommandLines: an unknown command (with the nearest suggested), an unknown flag, a bad
// value, a stray argument: exactly one line on stderr naming it, nothing on stdout, exit 2.
func TestBadCommandLines(t *testing.T) {
	tests := []struct {
		args []string
		want string // the whole line after "hotdeploy: ", or a part of it
	}{
		{[]string{"stats"}, `unknown command "stats": did you mean "status"?`},
		{[]string{"upgarde", "--yes"}, `unknown command "upgarde": did you mean "upgrade"?`},
		{[]string{"frobnicate"}, `unknown command "frobnicate": want completion, demo, rollback, status, upgrade or version`},
		{[]string{"help", "rolback"}, `did you mean "rollback"?`},
		{[]string{"status", "--jsn"}, `unknown flag --jsn for "hotdeploy status": did you mean --json?`},
		{[]string{"version", "--bogus"}, `unknown flag --bogus for "hotdeploy version"`},
		{[]string{"--bogus"}, `unknown flag --bogus for "hotdeploy"`},
		{[]string{"status", "-x"}, `unknown flag -x for "hotdeploy status"`},
		{[]string{"upgrade", "--ready-timeout", "3"}, "--ready-timeout 3: want a duration such as 10s"},
		{[]string{"upgrade", "--drain-timeout=soon"}, "--drain-timeout soon: want a duration such as 60s"},
		{[]string{"upgrade", "--ready-timeout", "-1s"}, "--ready-timeout -1s: want a positive duration such as 10s"},
		{[]string{"--interval", "1ms"}, "--interval 1ms is too short: want 10ms or more, such as 250ms"},
		{[]string{"upgrade", "--stop-after", "commit"}, `--stop-after commit: want "drain"`},
		{[]string{"upgrade", "--stop-after"}, "--stop-after needs a step after it"},
		{[]string{"upgrade", "--yes=maybe"}, "--yes maybe: want true or false"},
		{[]string{"demo", "--port", "70000"}, "--port 70000 is not a port: want 1 to 65535, such as 8080"},
		{[]string{"demo", "--lang", "fr"}, `--lang fr: want "en" or "zh-CN"`},
		{[]string{"demo", "--scenario", "meteor"}, `--scenario meteor: want "none", "broken-config", "crash-on-start" or "held-download"`},
		{[]string{"demo", "--scenario", "broken-config"}, "--scenario broken-config is not yet supported"},
		{[]string{"upgrade", "--new-binary", ""}, `--new-binary "": empty path`},
		{[]string{"upgrade", "--probe="}, `--probe "": empty url`},
		{[]string{"status", "extra"}, `unexpected argument "extra": hotdeploy status takes none`},
		{[]string{"version", "now"}, `unexpected argument "now"`},
		{[]string{"--version", "now"}, `unknown command "now"`},
		{[]string{"demo", "now"}, `unexpected argument "now"`},
		{[]string{"man", "now"}, `unexpected argument "now"`},
		{[]string{"rollback", "--yes", "now"}, `unexpected argument "now"`},
		{[]string{"completion"}, "completion needs a shell: want bash, zsh or fish"},
		{[]string{"completion", "tcsh"}, "completion tcsh: want bash, zsh or fish"},
		{[]string{"completion", "bash", "zsh"}, `unexpected argument "zsh"`},
		{[]string{"upgrade", "--dry-run", "--resume"}, "give --dry-run or --resume, not both"},
		{[]string{"upgrade", "--resume", "--yes", "--new-binary", "/tmp/nginx-1.26"}, "--resume goes on with the build the upgrade journal names: leave --new-binary out"},
	}
	for _, tt := range tests {
		code, out, errOut := runCLI(t, tt.args...)
		if code != 2 || out != "" || strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, "hotdeploy: ") ||
			!strings.Contains(errOut, tt.want) {
			t.Errorf("hotdeploy %s: exit %d, stdout %q, stderr %q; want exit 2 and one line with %q",
				strings.Join(tt.args, " "), code, out, errOut, tt.want)
		}
	}
}

// TestVersionForms: --version and version print the same line, hotdeploy VERSION (commit SHA).
func TestVersionForms(t *testing.T) {
	want := regexp.MustCompile(`^hotdeploy \S+ \(commit ([0-9a-f]{7,}|unknown)\)\n$`)
	_, first, _ := runCLI(t, "--version")
	for _, args := range [][]string{{"--version"}, {"version"}} {
		code, out, errOut := runCLI(t, args...)
		if code != 0 || errOut != "" || !want.MatchString(out) || out != first {
			t.Errorf("hotdeploy %s: exit %d, %q (stderr %q); want %q, the same for both forms", args[0], code, out, errOut, want)
		}
	}
}

// TestVersionInjected builds the binary as the Makefile and goreleaser do (-X main.version,
// -X main.commit) and runs both forms.
func TestVersionInjected(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "hotdeploy")
	build := exec.Command("go", "build", "-ldflags", "-X main.version=v9.8.7 -X main.commit=abc1234", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, arg := range []string{"--version", "version"} {
		out, err := exec.Command(bin, arg).Output()
		if err != nil || string(out) != "hotdeploy v9.8.7 (commit abc1234)\n" {
			t.Errorf("hotdeploy %s: %v, %q", arg, err, out)
		}
	}
}

// TestStrictTargets: an explicit empty target (--pid 0, --pid -1, --pidfile "") is a script's
// unset variable, never "discover": every command refuses it (exit 2, one line naming the flag)
// before discovery. A sandbox nginx runs meanwhile, so a command that did discover would find
// it; the sandbox is checked untouched, and no signal is in the audit log.
func TestStrictTargets(t *testing.T) {
	c := newCLITarget(t)
	self := strconv.Itoa(c.master)
	cand := upgradetest.Copy(t)
	bad := []struct {
		flags []string
		want  string
	}{
		{[]string{"--pid", "0"}, "--pid 0 is not a pid"},
		{[]string{"--pid=0"}, "--pid 0 is not a pid"},
		{[]string{"--pid", "-1"}, "--pid -1 is not a pid"},
		{[]string{"--pid", ""}, `--pid "": want the pid of an nginx master`},
		{[]string{"--pidfile", ""}, `--pidfile "": empty path`},
		{[]string{"--pidfile="}, `--pidfile "": empty path`},
		{[]string{"--pid", self, "--pidfile", c.sb.PidFile}, "give --pid or --pidfile, not both"},
		{[]string{"--pidfile", c.sb.PidFile, "--pid", self}, "give --pid or --pidfile, not both"},
	}
	commands := [][]string{
		{"status", "--json"},
		{"upgrade", "--new-binary", cand, "--yes", "--audit-log", c.audit},
		{"rollback", "--yes", "--audit-log", c.audit},
		{"--read-only", "--audit-log", c.audit}, // the dashboard: refused before the screen opens
	}
	for _, cmd := range commands {
		for _, b := range bad {
			args := append(append([]string{}, cmd...), b.flags...)
			code, out, errOut := runCLI(t, args...)
			if code != 2 || out != "" || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, b.want) {
				t.Errorf("hotdeploy %s: exit %d, stdout %q, stderr %q; want exit 2, one line %q",
					strings.Join(args, " "), code, out, errOut, b.want)
			}
		}
	}
	c.checkUntouched("strict targets")
}
