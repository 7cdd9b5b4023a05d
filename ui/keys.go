package ui

import (
	"github.com/charmbracelet/bubbles/key"

	"github.com/hotdeploy/hotdeploy/model"
)

// KeyMap is every key of the dashboard (the contract in DESIGN.md). The help texts are English
// formats of the catalogue; the footer and the help translate them where they draw them.
type KeyMap struct {
	Install, Test, Upgrade, Drain, Commit, Rollback key.Binding

	Confirm, Cancel key.Binding
	Up, Down, Pick  key.Binding
	Select, Close   key.Binding
	Help, Quit      key.Binding
	Hold, Narrate   key.Binding
	Rescan          key.Binding
	// The error log (and the help, while it is open) scrolls; End follows the tail again.
	Older, Newer, PageUp, PageDown, Follow key.Binding
}

// DefaultKeyMap returns the dashboard's keys.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Install:  key.NewBinding(key.WithKeys("i"), key.WithHelp("i", N("install"))),
		Test:     key.NewBinding(key.WithKeys("t"), key.WithHelp("t", N("test"))),
		Upgrade:  key.NewBinding(key.WithKeys("u"), key.WithHelp("u", N("start new"))),
		Drain:    key.NewBinding(key.WithKeys("w"), key.WithHelp("w", N("drain old"))),
		Commit:   key.NewBinding(key.WithKeys("c"), key.WithHelp("c", N("commit"))),
		Rollback: key.NewBinding(key.WithKeys("r"), key.WithHelp("r", N("rollback"))),
		Confirm:  key.NewBinding(key.WithKeys("y"), key.WithHelp("y", N("yes"))),
		Cancel:   key.NewBinding(key.WithKeys("n", "esc"), key.WithHelp("n/esc", N("no, cancel"))),
		Up:       key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", N("up"))),
		Down:     key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", N("down"))),
		Pick:     key.NewBinding(key.WithKeys("p"), key.WithHelp("p", N("instances")), key.WithDisabled()),
		Select:   key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", N("select"))),
		Close:    key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", N("close"))),
		Help:     key.NewBinding(key.WithKeys("?"), key.WithHelp("?", N("help"))),
		Quit:     key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", N("quit"))),
		Hold:     key.NewBinding(key.WithKeys("l"), key.WithHelp("l", N("hold")), key.WithDisabled()),
		Narrate:  key.NewBinding(key.WithKeys("g"), key.WithHelp("g", N("guide")), key.WithDisabled()),
		Rescan:   key.NewBinding(key.WithKeys("s"), key.WithHelp("s", N("rescan"))),
		Older:    key.NewBinding(key.WithKeys("["), key.WithHelp("[", N("older log"))),
		Newer:    key.NewBinding(key.WithKeys("]"), key.WithHelp("]", N("newer log"))),
		PageUp:   key.NewBinding(key.WithKeys("pgup"), key.WithHelp("PgUp", N("page up"))),
		PageDown: key.NewBinding(key.WithKeys("pgdown"), key.WithHelp("PgDn", N("page down"))),
		Follow:   key.NewBinding(key.WithKeys("end"), key.WithHelp("End", N("follow the tail"))),
	}
}

// action returns the binding of an action.
func (k *KeyMap) action(a model.Action) *key.Binding {
	switch a {
	case model.ActInstall:
		return &k.Install
	case model.ActTest:
		return &k.Test
	case model.ActUpgrade:
		return &k.Upgrade
	case model.ActDrain:
		return &k.Drain
	case model.ActCommit:
		return &k.Commit
	}
	return &k.Rollback
}

// actionFor tells which action a key press asks for, whether or not its binding is shown now:
// a hidden or refused key still gets its reason on press.
func (k KeyMap) actionFor(pressed string) (model.Action, bool) {
	for _, a := range model.Actions {
		for _, s := range k.action(a).Keys() {
			if s == pressed {
				return a, true
			}
		}
	}
	return 0, false
}

// ShortHelp is the footer: the upgrade keys in the order they are used, then the demo's keys,
// rescan and the picker, then help and quit.
func (k KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Install, k.Test, k.Upgrade, k.Drain, k.Commit, k.Rollback,
		k.Hold, k.Narrate, k.Rescan, k.Pick, k.Help, k.Quit}
}

// FullHelp groups the keys for `?`.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Install, k.Test, k.Upgrade, k.Drain, k.Commit, k.Rollback},
		{k.Confirm, k.Cancel},
		{k.Hold, k.Narrate, k.Rescan, k.Pick, k.Older, k.Newer, k.PageUp, k.PageDown, k.Follow, k.Help, k.Quit},
	}
}
