package tui

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textarea"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/icconsole/ic/incident"
	"github.com/icconsole/ic/internal/termsafe"
)

// noteRows is how many rows the note takes while it is being written: it
// wraps and scrolls inside them, the cursor always in view.
const noteRows = 3

// noteLine is the scratch note at the bottom: what is typed there becomes
// a note on the timeline of the incident it was typed for. It is saved as
// that incident's draft whenever typing pauses (the draft typed with no
// incident open has a file of its own), so a crash, a closed terminal or
// a switch to another incident never loses it, and it never lands on
// another incident's timeline.
type noteLine struct {
	c     *common
	width int

	input   textarea.Model
	editing bool
	// owner is the incident the text was typed for ("" for none).
	owner     string
	draftGen  int
	draftSent string
}

type (
	// draftTickMsg fires after a pause in typing; gen says which pause.
	draftTickMsg  struct{ gen int }
	draftSavedMsg struct{ err error }
	// noteFailedMsg gives back a note that could not be appended.
	noteFailedMsg struct {
		incident string
		text     string
		err      error
	}
)

func newNoteLine(c *common, draft string) noteLine {
	t := textarea.New()
	// "note> " on the first row only; the rows it wraps onto line up under it.
	t.SetPromptFunc(6, func(line int) string {
		if line == 0 {
			return "note> "
		}
		return "      "
	})
	t.Placeholder = "type a note; enter adds it to the timeline, alt+enter a new line"
	t.ShowLineNumbers = false
	t.CharLimit = incident.MaxTextBytes
	t.MaxHeight = noteRows
	t.SetHeight(noteRows)
	t.Cursor.SetMode(cursor.CursorStatic)
	t.KeyMap.InsertNewline = key.NewBinding(key.WithKeys("alt+enter", "ctrl+j"), key.WithHelp("alt+enter", "new line"))
	st := textarea.Style{Base: c.styles.Plain, CursorLine: c.styles.Plain, CursorLineNumber: c.styles.Plain, EndOfBuffer: c.styles.Plain,
		LineNumber: c.styles.Muted, Placeholder: c.styles.Muted, Prompt: c.styles.Plain, Text: c.styles.Plain}
	t.FocusedStyle, t.BlurredStyle = st, st
	t.SetValue(draft)
	return noteLine{c: c, input: t, draftSent: draft}
}

func (n *noteLine) SetSize(w, _ int) {
	n.width = w
	n.input.SetWidth(max(10, w))
}

// Height is how many rows the note takes now.
func (n *noteLine) Height() int {
	if n.editing {
		return noteRows
	}
	return 1
}

// text is what is on the note line.
func (n *noteLine) text() string { return n.input.Value() }

// capturing reports whether keys go to the note being typed.
func (n *noteLine) capturing() bool { return n.editing }

// edit starts typing on the note line.
func (n *noteLine) edit() tea.Cmd {
	n.editing = true
	return n.input.Focus()
}

// switchTo makes the note the one for incident id: what was typed for
// another incident is saved as that one's draft and leaves the line; the
// new incident's draft comes back. Text typed with no incident open goes
// with the first incident opened.
func (n *noteLine) switchTo(id, draft string) tea.Cmd {
	if n.owner == id {
		if n.input.Value() == "" && draft != "" {
			n.input.SetValue(draft)
			n.draftSent = draft
		}
		return nil
	}
	var cmds []tea.Cmd
	text := n.input.Value()
	switch {
	case n.owner == "" && text != "":
		// Typed before any incident: it belongs to this one now.
		if draft != "" {
			text = draft + "\n" + text
		}
		cmds = append(cmds, n.removeDraft(""))
		n.owner = id
		n.input.SetValue(text)
		n.draftSent = ""
		cmds = append(cmds, n.saveDraft(id, text))
		return tea.Batch(cmds...)
	case text != "":
		cmds = append(cmds, n.saveDraft(n.owner, text))
		n.c.post(statusMsg{text: fmt.Sprintf("the note typed for %s is kept as its draft", incident.ShortID(n.owner))})
	}
	n.owner = id
	n.input.SetValue(draft)
	n.draftSent = draft
	n.editing = false
	n.input.Blur()
	return tea.Batch(cmds...)
}

func (n *noteLine) saveDraft(id, text string) tea.Cmd {
	if !n.c.ledger() {
		return nil
	}
	d := n.c.svc.DraftFor(id)
	return func() tea.Msg { return draftSavedMsg{d.Save(text)} }
}

func (n *noteLine) removeDraft(id string) tea.Cmd {
	if !n.c.ledger() {
		return nil
	}
	d := n.c.svc.DraftFor(id)
	return func() tea.Msg { return draftSavedMsg{d.Remove()} }
}

func (n *noteLine) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case draftTickMsg:
		if msg.gen != n.draftGen || n.input.Value() == n.draftSent {
			return nil
		}
		n.draftSent = n.input.Value()
		return n.saveDraft(n.owner, n.input.Value())
	case draftSavedMsg:
		if msg.err != nil {
			n.c.post(statusMsg{text: fmt.Sprintf("saving the draft note: %v (the text is still on screen)", msg.err), err: true})
		}
	case appendedMsg:
		if msg.clearNote && msg.err == nil {
			if msg.incident == n.owner {
				n.draftSent = ""
			}
			return n.removeDraft(msg.incident)
		}
	case noteFailedMsg:
		if n.input.Value() == "" && n.owner == msg.incident {
			n.input.SetValue(msg.text)
		}
		n.c.post(statusMsg{text: fmt.Sprintf("note not added, the text is back on the note line: %v", msg.err), err: true})
		return n.saveDraft(msg.incident, msg.text)
	case tea.KeyMsg:
		if !n.editing {
			return nil
		}
		k := n.c.keys
		switch {
		case key.Matches(msg, k.Cancel):
			n.editing = false
			n.input.Blur()
			if n.input.Value() != "" {
				n.c.post(statusMsg{text: "note kept as a draft (n to continue)"})
			}
			return nil
		case key.Matches(msg, k.Submit):
			return n.commit()
		}
		var cmd tea.Cmd
		n.input, cmd = n.input.Update(msg)
		n.draftGen++
		gen := n.draftGen
		return tea.Batch(cmd, n.c.after(400*time.Millisecond, func(time.Time) tea.Msg { return draftTickMsg{gen} }))
	}
	return nil
}

// commit appends the note to its incident, after any append still in
// flight; without an incident the text stays as a draft.
func (n *noteLine) commit() tea.Cmd {
	text := n.input.Value()
	if strings.TrimSpace(text) == "" {
		n.c.post(statusMsg{text: "empty note: nothing to add"})
		return nil
	}
	w := n.c.writer
	if w.incident == "" || n.owner != w.incident {
		n.c.post(statusMsg{text: "no open incident: the note is kept as a draft; declare (D) or open (o) one, then press enter again"})
		n.editing = false
		n.input.Blur()
		return n.saveDraft(n.owner, text)
	}
	ctx, svc, id, actor, key := w.ctx, w.svc, w.incident, w.actor, incident.NewKey()
	n.input.SetValue("")
	n.editing = false
	n.input.Blur()
	return w.enqueue(func() tea.Msg {
		ev, err := svc.Append(ctx, id, actor, key, incident.Note{Text: text})
		if err != nil {
			// Nothing was written: give the text back so it is not lost.
			return noteFailedMsg{incident: id, text: text, err: err}
		}
		return appendedMsg{incident: id, event: ev, what: "note", clearNote: true}
	})
}

func (n *noteLine) ShortHelp() []key.Binding {
	k := n.c.keys
	return []key.Binding{k.Submit, n.input.KeyMap.InsertNewline, k.Cancel}
}

func (n *noteLine) FullHelp() [][]key.Binding { return [][]key.Binding{n.ShortHelp()} }

func (n *noteLine) View() string {
	st := n.c.styles
	if n.editing {
		return n.input.View()
	}
	if v := n.input.Value(); v != "" {
		return st.Muted.Render(truncate("draft: "+termsafe.EscapeLine(strings.ReplaceAll(v, "\n", " ⏎ "))+"  (n to continue)", n.width))
	}
	return st.Muted.Render(truncate("n or : writes a note to the timeline", n.width))
}
