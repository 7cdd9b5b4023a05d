package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/hotdeploy/hotdeploy/nginxctl/inspect"
	"github.com/hotdeploy/hotdeploy/nginxctl/upgrade"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// exitError carries an exit code with the error that caused it.
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return e.err.Error() }
func (e exitError) Unwrap() error { return e.err }

// badInput marks a refusal before anything changed: exit 2.
func badInput(err error) error { return exitError{code: upgrade.ExitRefused, err: err} }

func badInputf(format string, args ...any) error { return badInput(fmt.Errorf(format, args...)) }

// exitCode maps what a command returned to the process's exit code: 0 done, 1 failed (rolled
// back), 2 refused or bad input, 3 needs a human. Headless commands set code themselves.
func exitCode(err error, code int) int {
	var ee exitError
	switch {
	case err == nil:
		return code
	case errors.As(err, &ee):
		return ee.code
	case errors.Is(err, inspect.ErrBadTarget):
		return upgrade.ExitRefused
	}
	return 1
}

// report prints the one line on stderr; a refused `upgrade` or `rollback` that asked for
// --json also gets the refused result object on stdout, since scripts read only stdout.
func (a *app) report(cmd *cobra.Command, args []string, err error) {
	msg := strings.ReplaceAll(strings.TrimSpace(err.Error()), "\n", " ")
	fmt.Fprintln(a.stderr, "hotdeploy:", msg)
	if cmd != nil && cmd.Annotations[annJSONRefusal] != "" && exitCode(err, 0) == upgrade.ExitRefused && wantsJSON(cmd, args) {
		_ = json.NewEncoder(a.stdout).Encode(upgrade.Result{Result: "refused", Error: msg})
	}
}

// annJSONRefusal marks the commands whose refusals also print a result object with --json.
const annJSONRefusal = "json-refusal"

// wantsJSON tells whether --json was asked for, even when parsing stopped at an earlier error
// and never reached it.
func wantsJSON(cmd *cobra.Command, args []string) bool {
	if f := cmd.Flags().Lookup("json"); f != nil && f.Changed && f.Value.String() == "true" {
		return true
	}
	for _, a := range args {
		if a == "--" {
			break
		}
		if a == "--json" {
			return true
		}
		if v, ok := strings.CutPrefix(a, "--json="); ok {
			b, err := strconv.ParseBool(v)
			return err == nil && b
		}
	}
	return false
}

// flagError turns pflag's errors into one line that names the flag and what would be good.
func flagError(cmd *cobra.Command, err error) error {
	var (
		notExist *pflag.NotExistError
		invalid  *pflag.InvalidValueError
		noValue  *pflag.ValueRequiredError
	)
	switch {
	case errors.As(err, &invalid):
		if cause := errors.Unwrap(invalid); cause != nil && invalid.GetFlag().Value.Type() != "bool" {
			return badInput(cause) // our values say it all, with the flag's name and an example
		}
		return badInputf("--%s %s: want true or false", invalid.GetFlag().Name, shown(invalid.GetValue()))
	case errors.As(err, &noValue):
		f := noValue.GetFlag()
		return badInputf("--%s needs a %s after it (see %s --help)", f.Name, f.Value.Type(), cmd.CommandPath())
	case errors.As(err, &notExist):
		if !cmd.HasParent() && cmd.Flags().NArg() > 0 {
			// `hotdeploy upgarde --yes`: the typo is the news, not the flag it made unknown
			return unknownCommand(cmd, cmd.Flags().Arg(0))
		}
		name := notExist.GetSpecifiedName()
		if s := notExist.GetSpecifiedShortnames(); s != "" {
			return badInputf("unknown flag -%s for %q (see %s --help)", name[:1], cmd.CommandPath(), cmd.CommandPath())
		}
		if near := nearestFlag(cmd, name); near != "" {
			return badInputf("unknown flag --%s for %q: did you mean --%s?", name, cmd.CommandPath(), near)
		}
		return badInputf("unknown flag --%s for %q (see %s --help)", name, cmd.CommandPath(), cmd.CommandPath())
	}
	return badInput(err)
}

// nearestFlag returns the flag of cmd whose name is closest to a mistyped one, if any is close:
// at most two edits away, or the start of a longer name.
func nearestFlag(cmd *cobra.Command, typed string) string {
	best, bestD := "", 3
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		d := editDistance(typed, f.Name)
		if len(typed) >= 3 && strings.HasPrefix(f.Name, typed) {
			d = min(d, 1)
		}
		if d < bestD {
			best, bestD = f.Name, d
		}
	})
	return best
}

// editDistance is the Levenshtein distance between two short words.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// noArgs refuses a stray argument to a command that takes none.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return badInputf("unexpected argument %q: %s takes none (see %s --help)", args[0], cmd.CommandPath(), cmd.CommandPath())
	}
	return nil
}

// unknownCommand names a word that is no command, with the nearest one when there is one.
func unknownCommand(root *cobra.Command, word string) error {
	if s := root.SuggestionsFor(word); len(s) > 0 {
		return badInputf("unknown command %q: did you mean %q? (hotdeploy --help lists the commands)", word, s[0])
	}
	var names []string
	for _, c := range root.Commands() {
		if c.IsAvailableCommand() {
			names = append(names, c.Name())
		}
	}
	slices.Sort(names)
	return badInputf("unknown command %q: want %s (hotdeploy --help says more)", word, orList(names))
}
