package tui

import "github.com/charmbracelet/bubbles/key"

// KeyMap is every key the console answers to, with its help text. The
// help bar shows the ones that work in the current situation.
type KeyMap struct {
	Up, Down       key.Binding
	PageUp         key.Binding
	PageDown       key.Binding
	Open           key.Binding
	Back           key.Binding
	Filter         key.Binding
	NextPane       key.Binding
	NextBook       key.Binding
	Help           key.Binding
	Quit           key.Binding
	ForceQuit      key.Binding
	Declare        key.Binding
	OpenIncident   key.Binding
	Note           key.Binding
	Check          key.Binding
	Skip           key.Binding
	SkipPause      key.Binding
	Link           key.Binding
	Severity       key.Binding
	State          key.Binding
	Role           key.Binding
	Update         key.Binding
	Evidence       key.Binding
	Action         key.Binding
	SyncPanel      key.Binding
	SyncRun        key.Binding
	SyncAppend     key.Binding
	UTC            key.Binding
	Submit         key.Binding
	Cancel         key.Binding
	Yes            key.Binding
	No             key.Binding
	ChoicePrev     key.Binding
	ChoiceNext     key.Binding
	FilterAccept   key.Binding
	FilterCancel   key.Binding
	ConfirmQuit    key.Binding
	CancelQuit     key.Binding
	ReadingScrollU key.Binding
	ReadingScrollD key.Binding
	Review         key.Binding
	Routine        key.Binding
	Fail           key.Binding
	Approve        key.Binding
	Sort           key.Binding
	Hashes         key.Binding
	ExportJSONL    key.Binding
	ExportMarkdown key.Binding
	Monthly        key.Binding
	Restart        key.Binding
	Postmortem     key.Binding
	Deviation      key.Binding
	Correct        key.Binding
	CorrectThis    key.Binding
	ActionDone     key.Binding
	Follow         key.Binding
	SyncConfigure  key.Binding
	Detail         key.Binding
}

// NewKeyMap returns the console's key bindings.
func NewKeyMap() KeyMap {
	b := func(help string, desc string, keys ...string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(help, desc))
	}
	return KeyMap{
		Up:             b("↑/k", "up", "up", "k"),
		Down:           b("↓/j", "down", "down", "j"),
		PageUp:         b("pgup", "page up", "pgup"),
		PageDown:       b("pgdn", "page down", "pgdown"),
		Open:           b("enter", "read", "enter"),
		Back:           b("esc", "back", "esc"),
		Filter:         b("/", "filter", "/"),
		NextPane:       b("tab", "pane", "tab"),
		NextBook:       b("b", "next book", "b"),
		Help:           b("?", "keys", "?"),
		Quit:           b("q", "quit", "q"),
		ForceQuit:      b("ctrl+c", "quit", "ctrl+c"),
		Declare:        b("D", "declare", "D"),
		OpenIncident:   b("o", "open incident", "o"),
		Note:           b("n", "note", "n", ":"),
		Check:          b("space", "check", " "),
		Skip:           b("s", "skip", "s"),
		SkipPause:      b("x", "skip pause", "x"),
		Link:           b("L", "follow", "L"),
		Severity:       b("S", "severity", "S"),
		State:          b("T", "state", "T"),
		Role:           b("A", "assign role", "A"),
		Update:         b("u", "update", "u"),
		Evidence:       b("E", "evidence", "E"),
		Action:         b("I", "action item", "I"),
		SyncPanel:      b("v", "sync", "v"),
		SyncRun:        b("r", "re-run check", "r"),
		SyncAppend:     b("e", "add result to incident", "e"),
		UTC:            b("z", "UTC", "z"),
		Submit:         b("enter", "submit", "enter"),
		Cancel:         b("esc", "cancel", "esc"),
		Yes:            b("y", "yes", "y", "Y"),
		No:             b("n", "no", "n", "N"),
		ChoicePrev:     b("←", "previous", "left", "h"),
		ChoiceNext:     b("→", "next", "right", "l"),
		FilterAccept:   b("enter", "keep filter", "enter"),
		FilterCancel:   b("esc", "clear filter", "esc"),
		ConfirmQuit:    b("y", "quit", "y", "Y"),
		CancelQuit:     b("n/esc", "stay", "n", "N", "esc"),
		ReadingScrollU: b("pgup", "scroll", "pgup", "ctrl+u"),
		ReadingScrollD: b("pgdn", "scroll", "pgdown", "ctrl+d"),
		Review:         b("R", "review mode", "R"),
		Routine:        b("W", "walk routine", "W"),
		Fail:           b("f", "failed", "f"),
		Approve:        b("a", "approve step", "a"),
		Sort:           b("O", "sort by time/duration", "O"),
		Hashes:         b("#", "seq and hash", "#"),
		ExportJSONL:    b("J", "export JSONL", "J"),
		ExportMarkdown: b("M", "export Markdown", "M"),
		Monthly:        b("m", "monthly review", "m"),
		Restart:        b("C", "restart criteria", "C"),
		Postmortem:     b("P", "postmortem link", "P"),
		Deviation:      b("X", "deviation", "X"),
		Correct:        b("K", "correct an entry", "K"),
		CorrectThis:    b("c", "correct this entry", "c"),
		ActionDone:     b("d", "action item done", "d"),
		Follow:         b("end", "follow newest", "end", "G"),
		SyncConfigure:  b("c", "configure sources", "c"),
		Detail:         b("enter", "detail", "enter"),
	}
}

// FullHelp groups every key for the "?" screen.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Declare, k.OpenIncident, k.Note, k.Update, k.Severity, k.State},
		{k.Role, k.Evidence, k.Action, k.Restart, k.Postmortem, k.Deviation, k.Correct},
		{k.Link, k.Check, k.Skip, k.Approve, k.SkipPause, k.Detail, k.CorrectThis, k.ActionDone},
		{k.Up, k.Down, k.PageUp, k.PageDown, k.Open, k.Back, k.Follow},
		{k.NextPane, k.NextBook, k.Filter, k.SyncPanel, k.SyncRun, k.SyncAppend, k.SyncConfigure},
		{k.Review, k.Routine, k.Fail, k.Sort, k.Hashes, k.ExportJSONL, k.ExportMarkdown},
		{k.UTC, k.Help, k.Quit, k.ForceQuit},
	}
}
