package tui

import (
	"fmt"
	"strings"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/icconsole/ic/incident"
	"github.com/icconsole/ic/internal/termsafe"
)

// What a served console (package serve) hears from its server. The
// server runs one watcher over the ledger and sends every session what
// moved, so a served console does not read the ledger on its clock tick
// (Options.Live); it learns who else is connected, and what the server
// has to say (a shutdown).

// LiveMsg says an incident's timeline moved: its standing now and the
// entries after those the server sent before. A console whose newest
// entry is older than the first one here (or than the standing, when the
// server sent no entries because the console fell too far behind) reads
// the gap itself.
type LiveMsg struct {
	Incident string
	Status   incident.Status
	Entries  []incident.Entry
}

// Presence is one person connected to the server.
type Presence struct {
	Name string
	// Role is the session role of their key (observer, responder,
	// approver).
	Role string
	// Incident is the incident their console shows (full id; "" for
	// none).
	Incident string
	// Sessions is how many sessions they have open.
	Sessions int
}

// PresenceMsg lists who else is connected, and on which incident.
type PresenceMsg struct{ Others []Presence }

// NoticeMsg is something the server says to every session (a shutdown):
// it is shown on the status line.
type NoticeMsg struct{ Text string }

// Draft is what is on the note line and not yet on a timeline, and the
// incident it was typed for ("" for none): a server keeps it for the
// principal when the session ends, so a dropped connection loses nothing
// that was typed.
func (m Model) Draft() (incidentID, text string) {
	return m.note.owner, m.note.text()
}

// live applies what the server's watcher saw.
func (m *Model) live(msg LiveMsg) tea.Cmd {
	if m.incident == nil || msg.Incident != m.incident.ID || !m.c.ledger() {
		return nil
	}
	last := m.timeline.lastSeq()
	if (len(msg.Entries) > 0 && msg.Entries[0].Seq > last+1) || (len(msg.Entries) == 0 && msg.Status.Events > last) {
		// The console missed entries (it loaded the incident while they
		// were sent): it reads from what it holds.
		if m.polling {
			// A read is under way, perhaps from before these entries:
			// read again when it is back.
			m.repoll = true
			return nil
		}
		m.polling = true
		return poll(m.c.ctx, m.c.svc, m.incident.ID, m.timeline.lastSeq())
	}
	if msg.Status.Events >= m.incident.Events {
		st := msg.Status
		m.incident = &st
		m.timeline.setStatus(&st)
	}
	m.timeline.append(msg.Entries, max(m.incident.Events, m.timeline.total))
	m.steps.record(msg.Entries)
	return nil
}

// opened tells the server which incident the console shows.
func (m *Model) opened(id string) tea.Cmd {
	tell := m.opts.Opened
	if tell == nil {
		return nil
	}
	return func() tea.Msg {
		tell(id)
		return nil
	}
}

// presenceLine says who else is here and where: "with ann, ben · cat on
// INC-1a2b3c".
func presenceLine(others []Presence, open string) string {
	var here, elsewhere []string
	for _, p := range others {
		name := termsafe.EscapeLine(p.Name)
		if p.Role == incident.RoleObserver {
			name += " (observer)"
		}
		switch {
		case p.Incident != "" && p.Incident == open:
			here = append(here, name)
		case p.Incident != "":
			elsewhere = append(elsewhere, fmt.Sprintf("%s on %s", name, incident.ShortID(p.Incident)))
		default:
			elsewhere = append(elsewhere, name+" idle")
		}
	}
	var parts []string
	if len(here) > 0 {
		parts = append(parts, "with "+strings.Join(here, ", "))
	}
	if len(elsewhere) > 0 {
		parts = append(parts, strings.Join(elsewhere, ", "))
	}
	return strings.Join(parts, " · ")
}
