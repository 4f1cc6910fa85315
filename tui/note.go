package tui

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/icconsole/ic/incident"
	"github.com/icconsole/ic/internal/termsafe"
)

// noteLine is the scratch line at the bottom: what is typed there becomes
// a note on the timeline. It is saved as a draft whenever typing pauses,
// so a crash or a closed terminal never loses it.
type noteLine struct {
	c     *common
	width int

	input     textinput.Model
	editing   bool
	draftGen  int
	draftSent string
}

type (
	// draftTickMsg fires after a pause in typing; gen says which pause.
	draftTickMsg  struct{ gen int }
	draftSavedMsg struct{ err error }
	// noteFailedMsg gives back a note that could not be appended.
	noteFailedMsg struct {
		text string
		err  error
	}
)

func newNoteLine(c *common, draft string) noteLine {
	n := textinput.New()
	n.Prompt = "note> "
	n.Placeholder = "type a note; enter adds it to the timeline"
	n.CharLimit = incident.MaxTextBytes
	n.Cursor.SetMode(cursor.CursorStatic)
	n.PromptStyle, n.TextStyle, n.PlaceholderStyle = c.styles.Plain, c.styles.Plain, c.styles.Muted
	n.SetValue(draft)
	return noteLine{c: c, input: n, draftSent: draft}
}

func (n *noteLine) SetSize(w, _ int) { n.width = w }

// text is what is on the note line.
func (n *noteLine) text() string { return n.input.Value() }

// capturing reports whether keys go to the note being typed.
func (n *noteLine) capturing() bool { return n.editing }

// edit starts typing on the note line.
func (n *noteLine) edit() tea.Cmd {
	n.editing = true
	return n.input.Focus()
}

func (n *noteLine) saveDraft(text string) tea.Cmd {
	if !n.c.ledger() {
		return nil
	}
	d := n.c.svc.Drafts()
	return func() tea.Msg { return draftSavedMsg{d.Save(text)} }
}

func (n *noteLine) removeDraft() tea.Cmd {
	if !n.c.ledger() {
		return nil
	}
	d := n.c.svc.Drafts()
	return func() tea.Msg { return draftSavedMsg{d.Remove()} }
}

func (n *noteLine) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case draftTickMsg:
		if msg.gen != n.draftGen || n.input.Value() == n.draftSent {
			return nil
		}
		n.draftSent = n.input.Value()
		return n.saveDraft(n.input.Value())
	case draftSavedMsg:
		if msg.err != nil {
			n.c.post(statusMsg{text: fmt.Sprintf("saving the draft note: %v (the text is still on screen)", msg.err), err: true})
		}
	case appendedMsg:
		if msg.clearNote && msg.err == nil {
			n.draftSent = ""
			return n.removeDraft()
		}
	case noteFailedMsg:
		if n.input.Value() == "" {
			n.input.SetValue(msg.text)
		}
		n.c.post(statusMsg{text: fmt.Sprintf("note not added, the text is back on the note line: %v", msg.err), err: true})
		return n.saveDraft(msg.text)
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

// commit appends the note to the open incident, after any append still in
// flight; without an incident the text stays as a draft.
func (n *noteLine) commit() tea.Cmd {
	text := n.input.Value()
	if strings.TrimSpace(text) == "" {
		n.c.post(statusMsg{text: "empty note: nothing to add"})
		return nil
	}
	w := n.c.writer
	if w.incident == "" {
		n.c.post(statusMsg{text: "no open incident: the note is kept as a draft; declare (D) or open (o) one, then press enter again"})
		n.editing = false
		n.input.Blur()
		return n.saveDraft(text)
	}
	ctx, svc, id, actor, key := w.ctx, w.svc, w.incident, w.actor, incident.NewKey()
	n.input.SetValue("")
	n.editing = false
	n.input.Blur()
	return w.enqueue(func() tea.Msg {
		ev, err := svc.Append(ctx, id, actor, key, incident.Note{Text: text})
		if err != nil {
			// Nothing was written: give the text back so it is not lost.
			return noteFailedMsg{text: text, err: err}
		}
		return appendedMsg{incident: id, event: ev, what: "note", clearNote: true}
	})
}

func (n *noteLine) ShortHelp() []key.Binding {
	k := n.c.keys
	return []key.Binding{k.Submit, k.Cancel}
}

func (n *noteLine) FullHelp() [][]key.Binding { return [][]key.Binding{n.ShortHelp()} }

func (n *noteLine) View() string {
	st := n.c.styles
	if n.editing {
		in := n.input
		in.Width = max(10, n.width-8)
		return in.View()
	}
	if v := n.input.Value(); v != "" {
		return st.Muted.Render(truncate("draft: "+termsafe.EscapeLine(v)+"  (n to continue)", n.width))
	}
	return st.Muted.Render(truncate("n or : writes a note to the timeline", n.width))
}
