package tui

import (
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"

	"github.com/icconsole/ic/incident"
	"github.com/icconsole/ic/internal/termsafe"
	"github.com/icconsole/ic/render"
	"github.com/icconsole/ic/runbook"
)

// header is the two lines at the top: the incident's short id, severity
// (coloured by how bad its book says it is), state, time since declaration
// and the countdown to the next status update; its title below.
type header struct {
	c     *common
	width int
	now   time.Time

	mode     mode
	incident *incident.Status
	// book is the incident's book, or the library's when no incident is
	// open.
	book *runbook.Book
	// others are who else is on a served console's server (live.go).
	others []Presence
}

func (h *header) SetSize(w, _ int) { h.width = w }

// Height is how many rows the header takes.
func (h *header) Height() int { return 2 }

func (h *header) View() string {
	st := h.c.styles
	w := h.width
	if h.mode == reviewMode {
		return spread(st.Header.Render("ic review"), st.HeaderMuted.Render("audit scribe · read-only"), w) + "\n" +
			st.Muted.Render(truncate("enter open · / filter · O sort · m monthly · # seq/hash · J/M export · esc back", w))
	}
	in := h.incident
	if in != nil && in.Kind == incident.KindRoutine {
		line1 := strings.Join([]string{st.Header.Render(in.Short()), st.RoutineMark.Render("ROUTINE RUN"), "⏱ " + render.ShortDuration(h.now.Sub(in.DeclaredAt))}, "  ")
		return line1 + "\n" + st.Title.Render(truncateWords(termsafe.EscapeLine(in.Title), w))
	}
	if in == nil {
		name := "no book loaded"
		if h.book != nil {
			name = h.book.Policy.Title
		}
		left := st.Header.Render("ic") + " " + truncate(termsafe.EscapeLine(name), w-22)
		line1 := spread(left, st.HeaderMuted.Render("no open incident"), w)
		if len(h.others) > 0 {
			return line1 + "\n" + st.Muted.Render(truncate(presenceLine(h.others, ""), w))
		}
		return line1 + "\n" + st.Muted.Render(truncate("D declare · o open an incident · / filter the library · ? all keys", w))
	}
	rank := 3
	if h.book != nil {
		if r := h.book.Policy.Rank(in.Severity); r >= 0 && r < 3 {
			rank = r
		}
	}
	sev := st.Severity[rank].Render(" " + in.Severity + " ")
	segments := []string{
		st.Header.Render(in.Short()),
		sev,
		st.Title.Render(in.State),
		"⏱ " + render.ShortDuration(h.elapsed()),
		h.countdown(),
		h.deadline(),
	}
	if in.WorstSeverity != "" && in.WorstSeverity != in.Severity {
		segments = append(segments, st.Muted.Render("was "+in.WorstSeverity))
	}
	if in.Class != "" {
		segments = append(segments, st.Muted.Render(termsafe.EscapeLine(in.Class)))
	}
	if in.Drill {
		segments = append(segments, st.Muted.Render("DRILL"))
	}
	line1 := ""
	for _, s := range segments {
		if s == "" {
			continue
		}
		next := s
		if line1 != "" {
			next = line1 + "  " + s
		}
		if lipgloss.Width(next) > w {
			break // drop whole segments, never cut one mid-word
		}
		line1 = next
	}
	title := truncateWords(termsafe.EscapeLine(in.Title), w)
	if len(h.others) > 0 {
		// Who else is here takes at most half the line; the title keeps the rest.
		who := truncate(presenceLine(h.others, in.ID), w/2)
		title = truncateWords(termsafe.EscapeLine(in.Title), max(1, w-lipgloss.Width(who)-2))
		return line1 + "\n" + spread(st.Title.Render(title), st.Muted.Render(who), w)
	}
	return line1 + "\n" + st.Title.Render(title)
}

// elapsed is the incident's age, stopped when it closed.
func (h *header) elapsed() time.Duration {
	in := h.incident
	if in.Closed && !in.ClosedAt.IsZero() {
		return in.ClosedAt.Sub(in.DeclaredAt)
	}
	return h.now.Sub(in.DeclaredAt)
}

// countdown says when the next status update is due, red when overdue.
func (h *header) countdown() string {
	in, st := h.incident, h.c.styles
	switch {
	case in.Closed:
		return st.Muted.Render("closed")
	case in.UpdateDue.IsZero():
		return st.Muted.Render("no update cadence")
	case in.Overdue(h.now):
		return st.Overdue.Render(" UPDATE OVERDUE " + render.ShortDuration(h.now.Sub(in.UpdateDue)) + " ")
	}
	return "update in " + render.ShortDuration(in.UpdateDue.Sub(h.now))
}

// deadline says when the next of the book's deadlines falls due (a
// postmortem within 5 business days), red when it has passed.
func (h *header) deadline() string {
	d, ok := h.incident.NextDeadline()
	if !ok {
		return ""
	}
	st := h.c.styles
	if d.Overdue(h.now) {
		return st.Overdue.Render(" " + termsafe.EscapeLine(d.What) + " OVERDUE " + render.ShortDuration(h.now.Sub(d.Due)) + " ")
	}
	return termsafe.EscapeLine(d.What) + " due in " + render.ShortDuration(d.Due.Sub(h.now))
}
