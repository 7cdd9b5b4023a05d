package main

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/charmbracelet/bubbles/key"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/upgrade"
	"github.com/hotdeploy/hotdeploy/ui"
)

// The man page's tables come from what the code holds, so they cannot drift from it: the keys
// from ui's KeyMap, the phases from model, the exit codes from nginxctl's constants, the result
// schema from upgrade.Result. Only the sentences are written here, and the tests fail when one
// is missing for a phase or a result field.

// phaseDocs says what each phase of model.Phase means to the operator.
var phaseDocs = map[string]string{
	"idle":         "One master serves. An upgrade may start.",
	"new-starting": "SIGUSR2 was accepted; the new master is not serving yet (the pid file may be renamed to .oldbin).",
	"both-serving": "The new master serves and the old one still has accepting workers: drain them, or roll back.",
	"old-draining": "The old workers were told to stop (SIGWINCH) and finish their requests.",
	"old-drained":  "The old master has no children but the new master: commit, or roll back.",
}

// resultDocs describes the fields of the final result object of upgrade and rollback, the
// ones DESIGN.md announces included, so a field the engine adds finds its sentence here.
var resultDocs = map[string]string{
	"result":     "What became of nginx: committed, drained (--stop-after drain), rolled-back, refused, failed, unchanged (already runs that build) or checked (--dry-run).",
	"exit_code":  "The exit code, the verdict.",
	"old_pid":    "The master that served before.",
	"new_pid":    "The master started from the new binary (0 if none was).",
	"phase":      "The phase nginx was left in (see PHASES).",
	"error":      "Why it failed or was refused, one line.",
	"log":        "The lines of nginx's error log that explain a failure.",
	"warnings":   "Sentences worth reading even when it succeeded.",
	"elapsed_ms": "Milliseconds from start to result.",
	"instance":   "The instance as last seen, as status --json prints it.",
	"old_build":  "The running build before: path, sha256, version.",
	"new_build":  "The candidate build: path, sha256, version.",
	"backup":     "Where the binary that ran before was kept.",
	"rejected":   "Where a candidate that failed was kept, if it was.",
	"ended":      "Orphans of a dead master that were ended: pid, role, signal.",
	"systemd":    "The systemd unit running nginx and whether its MainPID is right; null without one.",
	"probe":      "The traffic probe's counts per phase and kind of failure; null without --probe.",
}

// exitDocs are the exit codes of the headless commands, from nginxctl's constants.
var exitDocs = []struct {
	code int
	doc  string
}{
	{upgrade.ExitDone, "Done."},
	{upgrade.ExitRolledBack, "Failed and rolled back: the old binary serves."},
	{upgrade.ExitRefused, "Refused or bad input: nothing changed. The reason is one line on stderr (and, with --json, the refused result object on stdout)."},
	{upgrade.ExitNeedsHuman, "Failed and needs a human: the state is printed; nginx was left as it is."},
}

// modelPhases lists every phase model knows, in order, by its name.
func modelPhases() []string {
	var names []string
	for p := model.Phase(0); ; p++ {
		if _, err := model.ParsePhase(p.String()); err != nil {
			return names
		}
		names = append(names, p.String())
	}
}

// dashboardKeys is every binding of the dashboard's KeyMap, keys and what they do: in the
// order of its full help, then any binding the full help leaves out (esc closing a panel).
func dashboardKeys() [][2]string {
	km := ui.DefaultKeyMap()
	bindings := slices.Concat(km.FullHelp()...)
	v := reflect.ValueOf(km)
	for i := range v.NumField() {
		if b, ok := v.Field(i).Interface().(key.Binding); ok {
			bindings = append(bindings, b)
		}
	}
	var keys [][2]string
	seen := map[[2]string]bool{}
	for _, b := range bindings {
		k := [2]string{b.Help().Key, b.Help().Desc}
		if k[0] != "" && !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	return keys
}

// jsonField is one field of a JSON object: its name and its JSON type.
type jsonField struct{ name, typ string }

// jsonFields lists the JSON fields of a struct type, embedded structs flattened.
func jsonFields(t reflect.Type) []jsonField {
	var fs []jsonField
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case name == "-" || !f.IsExported():
		case f.Anonymous && name == "":
			fs = append(fs, jsonFields(f.Type)...)
		default:
			if name == "" {
				name = f.Name
			}
			fs = append(fs, jsonField{name, jsonType(f.Type)})
		}
	}
	return fs
}

func jsonType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Pointer:
		return jsonType(t.Elem()) + " or null"
	case reflect.Slice, reflect.Array:
		return "array of " + jsonType(t.Elem())
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return "number"
	}
	return "object"
}

// manTables writes the sections after COMMANDS.
func manTables(r *roff) {
	r.macro("SH", "DASHBOARD KEYS")
	r.line(esc("Keys of actions not allowed now stay visible, dimmed, and say why when pressed; on a screen too narrow for every key they are the first left out. Every signal asks first; the default is No."))
	for _, k := range dashboardKeys() {
		r.item(k[0], k[1])
	}

	r.macro("SH", "PHASES")
	r.line(esc("The phase is derived from the live process tree at every refresh, never remembered, so a dashboard started mid-upgrade shows the truth."))
	for _, p := range modelPhases() {
		r.item(p, phaseDocs[p])
	}

	r.macro("SH", "EXIT STATUS")
	for _, e := range exitDocs {
		r.item(fmt.Sprint(e.code), e.doc)
	}

	r.macro("SH", "JSON RESULT")
	r.line(esc("With --json, upgrade and rollback print one JSON object per event, one per line, then this final object. Fields are added, never renamed."))
	for _, f := range jsonFields(reflect.TypeFor[upgrade.Result]()) {
		r.macro("TP")
		r.line(bold(f.name) + " (" + esc(f.typ) + ")")
		r.line(esc(resultDocs[f.name]))
	}

	r.macro("SH", "FILES")
	r.item("/var/log/hotdeploy/audit.log", "The audit log as root (JSON lines, 0600, directory 0700): time, who (user, login user and uid, sudo user and uid, tty, SSH peer), instance, action, signal, target pid and start time, result, each line chained to the one before by its sha256. Otherwise under $XDG_STATE_HOME/hotdeploy/. --audit-log names another. hotdeploy audit prints it, hotdeploy audit verify checks it. Each entry is also sent to the journal (journalctl -t hotdeploy) or syslog.")
	r.item("/var/log/hotdeploy/audit.log.head", "The hash and sequence number of the log's last line, so that removed last lines or a truncation are caught. Rotate the log with logrotate's create, naming the log itself, never this file.")
	r.item("<binary>.old", "The backup of the running binary, next to it, made before a new one is installed.")
	r.item("/run/hotdeploy/*.lock", "One lock per instance, named after the real path of its pid file, held (flock) by whoever drives it: upgrade, rollback, or the dashboard during an upgrade. Its content names the holder: pid, user, since when, step. Otherwise under $XDG_RUNTIME_DIR/hotdeploy/.")
	r.item("/var/lib/hotdeploy/*.json", "The journal of an upgrade, written atomically as it goes: masters, backup and its sha256, installed sha256, every signal and its result; marked committed or rolled-back at the end. upgrade --resume and rollback read it. Otherwise under $XDG_STATE_HOME/hotdeploy/.")

	r.macro("SH", "ENVIRONMENT")
	r.item("NO_COLOR", "When set, the dashboard uses no colour; state is always shown by a word or glyph too.")
	r.item("HOTDEPLOY_RUNTIME_DIR, HOTDEPLOY_STATE_DIR", "Absolute paths that replace the directories of the driver locks and of the upgrade journals (see FILES).")
	r.item("LC_ALL, LC_MESSAGES, LANG", "The dashboard's language when --lang is not given (zh_* for Chinese). Command-line output and JSON stay English.")

	r.macro("SH", "SEE ALSO")
	r.line(bold("nginx") + "(8), " + bold("systemctl") + "(1)")
}
