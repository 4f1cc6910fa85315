package tui

import (
	"context"
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/icconsole/ic/incident"
	"github.com/icconsole/ic/internal/termsafe"
)

// detail shows one timeline entry whole: its seq, time, actor, type, the
// whole text however long, its hash and the previous one, and the
// corrections that point at it. It is drawn over the panes; c corrects the
// entry, d closes an action item.
type detail struct {
	c             *common
	width, height int

	entry incident.Entry
	fixes []incident.Entry
	// loaded is set once the corrections have been read.
	loaded bool
	top    int
}

// fixesMsg brings the corrections of an entry.
type fixesMsg struct {
	incident string
	seq      int64
	fixes    []incident.Entry
	err      error
}

func newDetail(c *common, e incident.Entry) *detail { return &detail{c: c, entry: e} }

func (d *detail) SetSize(w, h int) { d.width, d.height = w, h }

// load reads the corrections that point at the entry.
func (d *detail) load() tea.Cmd {
	if !d.c.ledger() {
		return nil
	}
	ctx, svc, id, seq := d.c.ctx, d.c.svc, d.entry.Incident, d.entry.Seq
	return func() tea.Msg { return loadFixes(ctx, svc, id, seq) }
}

func loadFixes(ctx context.Context, svc *incident.Service, id string, seq int64) fixesMsg {
	var fixes []incident.Entry
	err := svc.Timeline(ctx, incident.Range{Incident: id, Types: []string{(incident.Correction{}).Kind()}}, func(e incident.Entry) error {
		if c, ok := e.Payload.(incident.Correction); ok && c.Corrects == seq {
			fixes = append(fixes, e)
		}
		return nil
	})
	return fixesMsg{incident: id, seq: seq, fixes: fixes, err: err}
}

func (d *detail) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case fixesMsg:
		if msg.incident == d.entry.Incident && msg.seq == d.entry.Seq {
			d.fixes, d.loaded = msg.fixes, true
			if msg.err != nil {
				d.c.post(statusMsg{text: msg.err.Error(), err: true})
			}
		}
	case tea.KeyMsg:
		k := d.c.keys
		if scrollText(&d.top, msg, k, d.height) {
			return nil
		}
		switch {
		case key.Matches(msg, k.CorrectThis):
			d.c.post(correctMsg{seq: d.entry.Seq})
		case key.Matches(msg, k.ActionDone):
			if _, ok := d.entry.Payload.(incident.ActionItem); ok {
				d.c.post(actionDoneMsg{seq: d.entry.Seq})
			}
		}
	}
	return nil
}

// Requests the detail view makes of the root.
type (
	correctMsg    struct{ seq int64 }
	actionDoneMsg struct{ seq int64 }
)

func (d *detail) ShortHelp() []key.Binding {
	k := d.c.keys
	out := []key.Binding{k.Back, k.CorrectThis}
	if _, ok := d.entry.Payload.(incident.ActionItem); ok {
		out = append(out, k.ActionDone)
	}
	return append(out, k.Up, k.Down)
}

func (d *detail) FullHelp() [][]key.Binding { return [][]key.Binding{d.ShortHelp()} }

// text is the entry's whole text: a note as it was typed (newlines
// kept), any other entry as its timeline line.
func (d *detail) text() string {
	switch p := d.entry.Payload.(type) {
	case incident.Note:
		return p.Text
	case incident.StatusUpdate:
		return "status update: " + p.Text
	case incident.Correction:
		return fmt.Sprintf("correction of #%d:\n%s", p.Corrects, p.Text)
	}
	return d.entry.Payload.Line()
}

func (d *detail) View() string {
	st := d.c.styles
	w := d.width
	e := d.entry
	lines := []string{
		st.Title.Render(truncate(fmt.Sprintf("#%d %s", e.Seq, e.Type), w)),
		truncate(fmt.Sprintf("%s · %s · %s (%s)", termsafe.EscapeLine(e.Actor), identityWords(e), e.Time.Local().Format("2006-01-02 15:04:05"), e.Time.UTC().Format("15:04:05 UTC")), w),
		st.Muted.Render(truncate("sha256 "+e.Hash.String(), w)),
		st.Muted.Render(truncate("prev   "+e.PrevHash.String(), w)),
		"",
	}
	for _, para := range strings.Split(termsafe.Escape(d.text()), "\n") {
		lines = append(lines, strings.Split(wrap(para, w), "\n")...)
	}
	lines = append(lines, "")
	switch {
	case !d.loaded:
		lines = append(lines, st.Muted.Render("reading corrections…"))
	case len(d.fixes) == 0:
		for _, l := range strings.Split(wrap("No correction points at this entry. c corrects it (the entry itself stays as written).", w), "\n") {
			lines = append(lines, st.Muted.Render(l))
		}
	default:
		lines = append(lines, st.Title.Render(fmt.Sprintf("Corrected %d time(s):", len(d.fixes))))
		for _, f := range d.fixes {
			c, _ := f.Payload.(incident.Correction)
			head := fmt.Sprintf("↳ #%d by %s at %s: ", f.Seq, termsafe.EscapeLine(f.Actor), f.Time.Local().Format("15:04:05"))
			lines = append(lines, strings.Split(wrap(head+termsafe.EscapeLine(c.Text), w), "\n")...)
		}
	}
	for i := range lines {
		lines[i] = truncate(lines[i], w)
	}
	top := min(d.top, max(0, len(lines)-d.height))
	end := min(len(lines), top+d.height)
	return strings.Join(lines[top:end], "\n")
}

// identityWords says how an entry's actor was established.
func identityWords(e incident.Entry) string {
	a := incident.ActorOf(e.Event)
	switch a.Via {
	case incident.ViaLogin:
		return "the login that ran ic"
	case incident.ViaKey:
		return "SSH key " + a.Key
	case incident.ViaSession:
		return "served session, key " + a.Key
	}
	return "asserted, not proven"
}
