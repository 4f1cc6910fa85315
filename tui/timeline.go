package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/icconsole/ic/incident"
	"github.com/icconsole/ic/internal/termsafe"
)

// timelinePage is how many events are read at a time.
const timelinePage = 200

// timeline is the timeline pane: a window of the open incident's entries,
// newest at the bottom. Only the newest page is read at first; scrolling
// up reads older pages on demand, and drawing touches only the rows on
// screen, so a 100,000-event incident scrolls like an empty one.
type timeline struct {
	c             *common
	width, height int
	focused       bool

	incident *incident.Status
	id       string
	events   []incident.Entry // ascending by seq, a contiguous run ending at the newest loaded
	total    int64            // events in the incident
	// offset is how many rows the view is scrolled up from the bottom:
	// the entry at the bottom (the selected one, that enter opens) is the
	// offset-th newest. At 0 the pane follows new entries.
	offset int
	// newer counts entries that arrived while scrolled up.
	newer   int
	loading bool
	utc     bool
}

// detailMsg asks for an entry to be shown whole.
type detailMsg struct{ entry incident.Entry }

// olderLoadedMsg brings an older page of the timeline.
type olderLoadedMsg struct {
	id     string
	events []incident.Entry
	err    error
}

func newTimeline(c *common) timeline { return timeline{c: c} }

func (t *timeline) SetSize(w, h int) { t.width, t.height = w, h }

// load replaces what the pane shows with an incident's newest page.
func (t *timeline) load(st *incident.Status, events []incident.Entry) {
	t.incident, t.id, t.events, t.total, t.offset, t.newer, t.loading = st, st.ID, events, st.Events, 0, 0, false
}

// follow scrolls back to the newest entry, which the pane then follows.
func (t *timeline) follow() { t.offset, t.newer = 0, 0 }

// selected is the entry at the bottom of the pane (false when none).
func (t *timeline) selected() (incident.Entry, bool) {
	i := len(t.events) - 1 - t.offset
	if i < 0 || i >= len(t.events) {
		return incident.Entry{}, false
	}
	return t.events[i], true
}

// setStatus follows the incident's standing (the header's view of it).
func (t *timeline) setStatus(st *incident.Status) { t.incident = st }

func (t *timeline) lastSeq() int64 {
	if len(t.events) == 0 {
		return 0
	}
	return t.events[len(t.events)-1].Seq
}

func (t *timeline) firstSeq() int64 {
	if len(t.events) == 0 {
		return 0
	}
	return t.events[0].Seq
}

// append adds newly polled events (only those after the newest held).
func (t *timeline) append(events []incident.Entry, total int64) {
	last := t.lastSeq()
	for _, e := range events {
		if e.Seq > last {
			t.events = append(t.events, e)
			last = e.Seq
			if t.offset > 0 {
				t.offset++ // keep the rows the reader is looking at in place
				t.newer++
			}
		}
	}
	t.total = total
}

func (t *timeline) prepend(older []incident.Entry) {
	first := t.firstSeq()
	var keep []incident.Entry
	for _, e := range older {
		if first == 0 || e.Seq < first {
			keep = append(keep, e)
		}
	}
	t.events = append(keep, t.events...)
}

// scroll moves the view by delta rows (positive: towards older) and
// returns a command that loads an older page when the view nears the top
// of what is held.
func (t *timeline) scroll(delta int) tea.Cmd {
	rows := t.height
	t.offset = max(0, min(t.offset+delta, len(t.events)-1))
	if t.offset == 0 {
		t.newer = 0
	}
	if t.loading || t.c.svc == nil || t.firstSeq() <= 1 || len(t.events)-t.offset-rows > rows {
		return nil
	}
	t.loading = true
	ctx, svc, id, before := t.c.ctx, t.c.svc, t.id, t.firstSeq()
	return func() tea.Msg {
		events, err := svc.Page(ctx, id, before, timelinePage)
		return olderLoadedMsg{id: id, events: events, err: err}
	}
}

func (t *timeline) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case olderLoadedMsg:
		t.loading = false
		if msg.err == nil && msg.id == t.id {
			t.prepend(msg.events)
		}
	case tea.KeyMsg:
		k := t.c.keys
		page := t.height
		switch {
		case key.Matches(msg, k.Up):
			return t.scroll(1)
		case key.Matches(msg, k.Down):
			return t.scroll(-1)
		case key.Matches(msg, k.PageUp):
			return t.scroll(page)
		case key.Matches(msg, k.PageDown):
			return t.scroll(-page)
		case key.Matches(msg, k.Follow):
			t.follow()
		case key.Matches(msg, k.Detail):
			if e, ok := t.selected(); ok {
				t.c.post(detailMsg{e})
			}
		}
	}
	return nil
}

func (t *timeline) ShortHelp() []key.Binding {
	k := t.c.keys
	if t.offset > 0 {
		return []key.Binding{k.Detail, k.Follow}
	}
	return []key.Binding{k.Detail, k.UTC}
}

func (t *timeline) FullHelp() [][]key.Binding { return [][]key.Binding{t.ShortHelp()} }

// View draws the rows that fit, newest at the bottom: time, actor, what
// happened. Dates appear when the incident spans days. Scrolled up, the
// bottom row is the selected one, and a last line says how many newer
// entries are below.
func (t *timeline) View() string {
	st := t.c.styles
	width, height := t.width, t.height
	if t.incident == nil {
		return st.Muted.Render(wrap("No open incident. D declares one; o opens one.", width))
	}
	header := st.Title.Render(fmt.Sprintf("Timeline %d events", t.total))
	zone := "local"
	if t.utc {
		zone = "UTC"
	}
	header += st.Muted.Render(" · " + zone)
	rows := height - 1
	if t.offset > 0 {
		rows-- // the line that says what is below
	}
	end := len(t.events) - t.offset
	start := max(0, end-rows)
	in := t.incident
	spansDays := in.LastAt.Sub(in.DeclaredAt).Hours() >= 24 || in.LastAt.Local().YearDay() != in.DeclaredAt.Local().YearDay()
	layout := "15:04:05"
	if spansDays {
		layout = "01-02 15:04"
	}
	lines := make([]string, 0, rows+2)
	lines = append(lines, truncate(header, width))
	if start == 0 && t.firstSeq() > 1 {
		lines = append(lines, st.Muted.Render("… loading older events"))
		start++
	}
	// Newest at the bottom: pad above when the incident is short.
	for pad := rows - (end - start); pad > 0 && len(lines) < rows; pad-- {
		lines = append(lines, "")
	}
	// The actor column is as wide as the widest actor on screen, up to a
	// third of the pane: names are read whole.
	aw := 0
	for i := start; i < end; i++ {
		aw = max(aw, lipgloss.Width(termsafe.EscapeLine(t.events[i].Who())))
	}
	aw = min(aw, max(8, width/3))
	for i := start; i < end; i++ {
		e := t.events[i]
		ts := e.Time.Local()
		if t.utc {
			ts = e.Time.UTC()
		}
		actor := truncate(termsafe.EscapeLine(e.Who()), aw)
		line := fmt.Sprintf("%s %s%s %s", ts.Format(layout), actor, strings.Repeat(" ", max(0, aw-lipgloss.Width(actor))), termsafe.EscapeLine(e.Line()))
		if i == end-1 && t.offset > 0 {
			line = "›" + line
			if t.focused {
				lines = append(lines, st.Selected.Render(truncate(line, width)))
				continue
			}
		}
		lines = append(lines, truncate(line, width))
	}
	if t.offset > 0 {
		below := fmt.Sprintf("▼ %d newer below · end follows", t.offset)
		if t.newer > 0 {
			below = fmt.Sprintf("▼ %d newer below (%d new) · end follows", t.offset, t.newer)
		}
		lines = append(lines, st.Title.Render(truncate(below, width)))
	}
	return strings.Join(lines, "\n")
}
