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

// timelinePage is how many events are read at a time.
const timelinePage = 200

// timeline holds a window of an incident's events, newest at the bottom.
// Only the newest page is read at first; scrolling up reads older pages on
// demand, and drawing touches only the rows on screen, so a 100,000-event
// incident scrolls like an empty one.
type timeline struct {
	id     string
	events []incident.Entry // ascending by seq, a contiguous run ending at the newest loaded
	total  int64            // events in the incident
	// offset is how many rows the view is scrolled up from the bottom.
	offset  int
	loading bool
}

func newTimeline(id string, events []incident.Entry, total int64) timeline {
	return timeline{id: id, events: events, total: total}
}

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
func (t *timeline) scroll(ctx context.Context, delta, rows int, l *incident.Service) tea.Cmd {
	t.offset = max(0, min(t.offset+delta, len(t.events)-1))
	if t.loading || l == nil || t.firstSeq() <= 1 || len(t.events)-t.offset-rows > rows {
		return nil
	}
	t.loading = true
	id, before := t.id, t.firstSeq()
	return func() tea.Msg {
		events, err := l.Page(ctx, id, before, timelinePage)
		return olderLoadedMsg{id: id, events: events, err: err}
	}
}

func (m Model) timelineKey(msg tea.KeyMsg) (tea.Model, tea.Cmd) {
	k := m.keys
	rows := m.bodyHeight() - 2
	switch {
	case key.Matches(msg, k.Up):
		return m, m.timeline.scroll(m.ctx(), 1, rows, m.opts.Service)
	case key.Matches(msg, k.Down):
		return m, m.timeline.scroll(m.ctx(), -1, rows, m.opts.Service)
	case key.Matches(msg, k.PageUp):
		return m, m.timeline.scroll(m.ctx(), rows, rows, m.opts.Service)
	case key.Matches(msg, k.PageDown):
		return m, m.timeline.scroll(m.ctx(), -rows, rows, m.opts.Service)
	}
	return m, nil
}

// timelineView draws the rows that fit, newest at the bottom: time, actor,
// what happened. Dates appear when the incident spans days.
func (m Model) timelineView(width, height int) string {
	t := &m.timeline
	st := m.styles
	if m.incident == nil {
		return st.Muted.Render(wrap("No open incident. D declares one; o opens one.", width))
	}
	header := st.Title.Render(fmt.Sprintf("Timeline %d events", t.total))
	if t.offset > 0 {
		header += st.Muted.Render(fmt.Sprintf(" · scrolled %d up", t.offset))
	}
	zone := "local"
	if m.utc {
		zone = "UTC"
	}
	header += st.Muted.Render(" · " + zone)
	rows := height - 1
	end := len(t.events) - t.offset
	start := max(0, end-rows)
	spansDays := m.incident.LastAt.Sub(m.incident.DeclaredAt).Hours() >= 24 ||
		m.incident.LastAt.Local().YearDay() != m.incident.DeclaredAt.Local().YearDay()
	layout := "15:04:05"
	if spansDays {
		layout = "01-02 15:04"
	}
	lines := make([]string, 0, rows+1)
	lines = append(lines, header)
	if start == 0 && t.firstSeq() > 1 {
		lines = append(lines, st.Muted.Render("… loading older events"))
		start++
	}
	// Newest at the bottom: pad above when the incident is short.
	for pad := rows - (end - start); pad > 0 && len(lines) < rows; pad-- {
		lines = append(lines, "")
	}
	for i := start; i < end; i++ {
		e := t.events[i]
		ts := e.Time.Local()
		if m.utc {
			ts = e.Time.UTC()
		}
		line := fmt.Sprintf("%s %-8s %s", ts.Format(layout), truncate(termsafe.EscapeLine(e.Actor), 8), termsafe.EscapeLine(e.Line()))
		lines = append(lines, truncate(line, width))
	}
	return strings.Join(lines, "\n")
}
