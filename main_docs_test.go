package main

import (
	"bytes"
	"fmt"
	"os/exec"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/charmbracelet/bubbles/key"

	"github.com/hotdeploy/hotdeploy/nginxctl/sandbox"
	"github.com/hotdeploy/hotdeploy/nginxctl/sandbox/sandboxtest"
	"github.com/hotdeploy/hotdeploy/nginxctl/upgrade"
	"github.com/hotdeploy/hotdeploy/ui"
)

// TestCompletionScripts: completion bash|zsh|fish print each shell's script, registered for
// the hotdeploy command.
func TestCompletionScripts(t *testing.T) {
	for shell, want := range map[string]string{
		"bash": "complete -o default -F __start_hotdeploy hotdeploy",
		"zsh":  "#compdef hotdeploy",
		"fish": "complete -c hotdeploy ",
	} {
		code, out, errOut := runCLI(t, "completion", shell)
		if code != 0 || errOut != "" || !strings.Contains(out, want) || !strings.Contains(out, "__complete") {
			t.Errorf("completion %s: exit %d, stderr %q, %d bytes without %q", shell, code, errOut, len(out), want)
		}
	}
}

// complete asks what the scripts ask at each Tab (cobra's hidden __complete) and returns the
// candidates and the directive line.
func complete(t *testing.T, words ...string) ([]string, string) {
	t.Helper()
	code, out, _ := runCLI(t, append([]string{"__complete"}, words...)...)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) == 0 {
		t.Fatalf("__complete %q: exit %d, %q", words, code, out)
	}
	return lines[:len(lines)-1], lines[len(lines)-1]
}

// TestCompletionCandidates: `hotdeploy up` completes to upgrade, `audit v` to verify; --pid to
// the masters running now with their titles (a sandbox master among them); --pidfile,
// --new-binary and --audit-log to files; --since to nothing.
func TestCompletionCandidates(t *testing.T) {
	if got, dir := complete(t, "up"); len(got) != 1 || !strings.HasPrefix(got[0], "upgrade\t") || dir != ":4" {
		t.Errorf("hotdeploy up<Tab>: %q %s; want upgrade alone, no files (:4)", got, dir)
	}
	if got, _ := complete(t, ""); len(got) != len(commandNames(t)) || strings.Contains(strings.Join(got, "\n"), "man\t") {
		t.Errorf("hotdeploy <Tab>: %q; want the %d commands, not the hidden man", got, len(commandNames(t)))
	}
	for _, words := range [][]string{{"upgrade", "--pidfile", ""}, {"upgrade", "--new-binary", ""}, {"status", "--pidfile", ""},
		{"--new-binary", ""}, {"rollback", "--audit-log", ""}, {"audit", "--audit-log", ""}, {"audit", "verify", "--audit-log", ""}} {
		if got, dir := complete(t, words...); len(got) != 0 || dir != ":0" {
			t.Errorf("%q<Tab>: %q %s; want file completion (:0)", words, got, dir)
		}
	}
	if got, dir := complete(t, "audit", "v"); len(got) != 1 || !strings.HasPrefix(got[0], "verify\t") || dir != ":4" {
		t.Errorf("hotdeploy audit v<Tab>: %q %s; want verify alone, no files (:4)", got, dir)
	}
	if got, dir := complete(t, "audit", "--since", ""); len(got) != 0 || dir != ":4" {
		t.Errorf("hotdeploy audit --since <Tab>: %q %s; want nothing, no files (:4)", got, dir)
	}
	sb := sandboxtest.Start(t, sandbox.SandboxOptions{Workers: 1})
	master := sandboxtest.Instance(t, sb).Masters[0]
	want := fmt.Sprintf("%d\t%s", master.PID, master.Title)
	for _, cmd := range []string{"status", "upgrade", "rollback", ""} {
		words := []string{cmd, "--pid", ""}
		if cmd == "" {
			words = words[1:]
		}
		got, dir := complete(t, words...)
		if !strings.Contains(strings.Join(got, "\n"), want) || dir != ":4" {
			t.Errorf("%q<Tab>: %q %s; want %q among them, no files (:4)", words, got, dir, want)
		}
		for _, g := range got {
			if pid, title, _ := strings.Cut(g, "\t"); pid == "" || title == "" || strings.Trim(pid, "0123456789") != "" {
				t.Errorf("--pid candidate %q is not PID<tab>title", g)
			}
		}
	}
	if !strings.HasPrefix(master.Title, "nginx: master process") {
		t.Errorf("sandbox master title %q", master.Title)
	}
}

// manSection returns the text of a man page section (.SH or .SS) up to the next one.
func manSection(page, heading string) string {
	_, rest, ok := strings.Cut(page, heading+"\n")
	if !ok {
		return ""
	}
	if i := strings.Index(rest, "\n.S"); i >= 0 {
		return rest[:i+1]
	}
	return rest
}

// TestManPageCoversEverything: the man page has a section per command listing each of its
// flags, and every key of ui's KeyMap, every phase of model, every exit code and every field
// of the result object, each with its sentence. It renders without a groff warning.
func TestManPageCoversEverything(t *testing.T) {
	code, page, errOut := runCLI(t, "man")
	if code != 0 || errOut != "" || !strings.HasPrefix(page, `.TH "HOTDEPLOY" "1"`) {
		t.Fatalf("man: exit %d, stderr %q, %.80q", code, errOut, page)
	}
	root := (&app{}).rootCmd()
	for _, c := range manCommands(root) {
		heading := `.SS "` + c.CommandPath() + `"`
		if c == root {
			heading = `.SS "hotdeploy (the dashboard)"`
		}
		sec := manSection(page, heading)
		if sec == "" {
			t.Errorf("no section %s", heading)
		}
		for _, f := range manFlags(c) {
			if !strings.Contains(sec, esc("--"+f.Name)) || !strings.Contains(sec, esc(f.Usage)) {
				t.Errorf("%s: the man page lacks --%s with its sentence", c.CommandPath(), f.Name)
			}
		}
	}
	if !strings.Contains(page, esc("--help")) {
		t.Errorf("the man page does not say every command takes --help")
	}

	keys := manSection(page, `.SH "DASHBOARD KEYS"`)
	km := reflect.ValueOf(ui.DefaultKeyMap())
	for i := range km.NumField() {
		if b, ok := km.Field(i).Interface().(key.Binding); ok && !strings.Contains(keys, ".TP\n"+bold(b.Help().Key)+"\n"+esc(b.Help().Desc)+"\n") {
			t.Errorf("DASHBOARD KEYS lacks KeyMap.%s (%q: %q): is it in KeyMap.FullHelp?", km.Type().Field(i).Name, b.Help().Key, b.Help().Desc)
		}
	}
	phases := manSection(page, `.SH "PHASES"`)
	if len(modelPhases()) < 5 {
		t.Errorf("model phases %v", modelPhases())
	}
	for _, p := range modelPhases() {
		if phaseDocs[p] == "" || !strings.Contains(phases, ".TP\n"+bold(p)+"\n"+esc(phaseDocs[p])) {
			t.Errorf("PHASES lacks %q with its sentence: add it to phaseDocs", p)
		}
	}
	exits := manSection(page, `.SH "EXIT STATUS"`)
	for _, c := range []int{upgrade.ExitDone, upgrade.ExitRolledBack, upgrade.ExitRefused, upgrade.ExitNeedsHuman} {
		if !strings.Contains(exits, ".TP\n"+bold(strconv.Itoa(c))+"\n") {
			t.Errorf("EXIT STATUS lacks %d", c)
		}
	}
	schema := manSection(page, `.SH "JSON RESULT"`)
	for _, f := range jsonFields(reflect.TypeFor[upgrade.Result]()) {
		if resultDocs[f.name] == "" || !strings.Contains(schema, bold(f.name)+" ("+esc(f.typ)+")\n"+esc(resultDocs[f.name])) {
			t.Errorf("JSON RESULT lacks %q (%s) with its sentence: add it to resultDocs", f.name, f.typ)
		}
	}

	groff := exec.Command("groff", "-man", "-Tutf8", "-ww", "-z")
	groff.Stdin = strings.NewReader(page)
	var warn bytes.Buffer
	groff.Stderr = &warn
	if err := groff.Run(); err != nil || warn.Len() > 0 {
		t.Errorf("groff -man -ww: %v\n%s", err, warn.String())
	}
}
