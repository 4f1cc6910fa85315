package tui

import "github.com/charmbracelet/bubbles/key"

// KeyMap is every key the console answers to, with its help text.
type KeyMap struct {
	Up, Down     key.Binding
	PageUp       key.Binding
	PageDown     key.Binding
	Open         key.Binding
	Back         key.Binding
	Filter       key.Binding
	SwitchBook   key.Binding
	Help         key.Binding
	Quit         key.Binding
	ForceQuit    key.Binding
	FilterAccept key.Binding
	FilterCancel key.Binding
}

// NewKeyMap returns the console's key bindings.
func NewKeyMap() KeyMap {
	return KeyMap{
		Up:           key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:         key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		PageUp:       key.NewBinding(key.WithKeys("pgup", "b"), key.WithHelp("pgup", "scroll up")),
		PageDown:     key.NewBinding(key.WithKeys("pgdown", " "), key.WithHelp("pgdn", "scroll down")),
		Open:         key.NewBinding(key.WithKeys("enter", "right", "l"), key.WithHelp("enter", "read")),
		Back:         key.NewBinding(key.WithKeys("esc", "left", "h"), key.WithHelp("esc", "back")),
		Filter:       key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		SwitchBook:   key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "next book")),
		Help:         key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "all keys")),
		Quit:         key.NewBinding(key.WithKeys("q"), key.WithHelp("q", "quit")),
		ForceQuit:    key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "quit")),
		FilterAccept: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "keep filter")),
		FilterCancel: key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "clear filter")),
	}
}

// ShortHelp is the help bar for the library (help.KeyMap).
func (k KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Up, k.Down, k.Open, k.Filter, k.SwitchBook, k.Help, k.Quit}
}

// FullHelp is the "?" screen (help.KeyMap).
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.PageDown},
		{k.Open, k.Back, k.Filter, k.SwitchBook},
		{k.Help, k.Quit, k.ForceQuit},
	}
}
