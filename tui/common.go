package tui

import (
	"context"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/ssh"

	"github.com/icconsole/ic/incident"
	"github.com/icconsole/ic/render"
	"github.com/icconsole/ic/runbook"
)

// component is what every pane of the console is (soft-serve's
// common.Component): a model that handles its own messages, draws itself
// at the size it was given, and names the keys it answers to. The root
// model routes messages to the components and lays them out; a component
// never reaches back into the root. Update changes the component in place
// (the root holds it by value, so a copy of the root is a copy of every
// pane) and returns the commands to run; it does no I/O.
type component interface {
	Update(msg tea.Msg) tea.Cmd
	View() string
	SetSize(width, height int)
	help.KeyMap
}

// common is what every component shares: the console's context and
// dependencies, its styles and keys, and the ledger writer. Everything but
// the writer is fixed once New has run.
type common struct {
	ctx     context.Context
	svc     *incident.Service
	catalog *runbook.Catalog
	styles  *Styles
	keys    *KeyMap
	theme   render.Theme
	actor   incident.Actor
	// sessionKey proves approvals in a served console (nil elsewhere).
	sessionKey ssh.PublicKey
	// after schedules a message (tea.Tick, or nothing in tests).
	after func(time.Duration, func(time.Time) tea.Msg) tea.Cmd
	// writer orders every append the console makes.
	writer *writer
	// outbox holds what components ask of the root (show this procedure,
	// open that form); the root handles it in the same Update, in order.
	outbox []tea.Msg
}

// post asks the root for something only it can do. The root handles the
// request before its Update returns, so requests keep the order of the
// keys that made them.
func (c *common) post(msg tea.Msg) { c.outbox = append(c.outbox, msg) }

// takeOutbox returns the posted requests and empties the outbox.
func (c *common) takeOutbox() []tea.Msg {
	out := c.outbox
	c.outbox = nil
	return out
}

// ledger reports whether the console has a ledger to read and write.
func (c *common) ledger() bool { return c.svc != nil }

// noLedger is what the console says when it was started without one.
const noLedger = "no ledger: the console was started without a database"

// noIncident is what the console says when an action needs an incident.
const noIncident = "no open incident: press D to declare one or o to open one"

// writer appends entries to the open incident in the order the operator
// made them: one append is in flight at a time, the others wait in a
// queue. It is used from Update only (one goroutine), and each command it
// returns captures what it needs before it starts.
type writer struct {
	ctx       context.Context
	svc       *incident.Service
	actor     incident.Actor
	incident  string // the full id of the open incident ("" when none)
	appending bool
	queue     []tea.Cmd
}

// appendedMsg says how an append went.
type appendedMsg struct {
	incident string
	event    incident.Entry
	what     string
	err      error
	// clearNote is set for a committed note: its draft goes.
	clearNote bool
	// undo takes back a step marked before the append succeeded.
	undo *stepUndo
	// form is the form whose submission this was: given back, with what
	// was typed, when the append is refused.
	form *form
}

// append queues payload for the open incident; what names it in the
// status line. It returns nil (and the caller says why) when there is no
// incident.
func (w *writer) append(what string, payload incident.Payload, undo *stepUndo, f *form) tea.Cmd {
	if w.incident == "" || w.svc == nil {
		return nil
	}
	ctx, svc, id, actor, key := w.ctx, w.svc, w.incident, w.actor, incident.NewKey()
	return w.enqueue(func() tea.Msg {
		ev, err := svc.Append(ctx, id, actor, key, payload)
		return appendedMsg{incident: id, event: ev, what: what, err: err, undo: undo, form: f}
	})
}

// enqueue runs cmd now when no append is in flight, else after the ones
// before it. Every queued command answers an appendedMsg or a
// noteFailedMsg, which releases the next (done).
func (w *writer) enqueue(cmd tea.Cmd) tea.Cmd {
	if cmd == nil {
		return nil
	}
	if w.appending {
		w.queue = append(w.queue, cmd)
		return nil
	}
	w.appending = true
	return cmd
}

// done starts the next waiting append, if any.
func (w *writer) done() tea.Cmd {
	w.appending = false
	if len(w.queue) == 0 {
		return nil
	}
	next := w.queue[0]
	w.queue = w.queue[1:]
	w.appending = true
	return next
}

// scrollText moves top, the first line shown of a text, by a line or a
// page of page lines for the scroll keys, and reports whether msg was one
// of them. The text's end bounds top where it is drawn.
func scrollText(top *int, msg tea.KeyMsg, k *KeyMap, page int) bool {
	switch {
	case key.Matches(msg, k.Up):
		*top = max(0, *top-1)
	case key.Matches(msg, k.Down):
		*top++
	case key.Matches(msg, k.PageUp):
		*top = max(0, *top-page)
	case key.Matches(msg, k.PageDown):
		*top += page
	default:
		return false
	}
	return true
}
