package tui

import (
	"context"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/icconsole/ic/incident"
)

// A served console reads nothing on its clock tick: what others write
// comes from the server's watcher as LiveMsg, and a gap is read once.
func TestLiveConsoleFollowsTheWatcher(t *testing.T) {
	opts := testOptions(t)
	opts.Live = true
	var opened []string
	opts.Opened = func(id string) { opened = append(opened, id) }
	m := declare(t, drive(t, New(opts), size(120, 40)), "payments down", "nnnn")
	inc := m.(Model).incident
	if len(opened) == 0 || opened[len(opened)-1] != inc.ID {
		t.Errorf("the server was not told the incident shown: %v", opened)
	}
	ctx := context.Background()
	bob := incident.Actor{Name: "bob"}
	e1, err := opts.Service.Append(ctx, inc.ID, bob, "", incident.Note{Text: "bob is on the bridge"})
	if err != nil {
		t.Fatal(err)
	}
	m = drive(t, m, tickMsg(fixedNow))
	if strings.Contains(m.View(), "bob is on the bridge") {
		t.Fatal("a served console read the ledger on its tick")
	}
	st, _ := opts.Service.Status(ctx, inc.ID)
	m = drive(t, m, LiveMsg{Incident: inc.ID, Status: st, Entries: []incident.Entry{e1}})
	if !strings.Contains(m.View(), "bob is on the bridge") {
		t.Errorf("the watcher's entry did not appear:\n%s", m.View())
	}
	// Two entries later, only the second is sent: the console reads the gap.
	if _, err := opts.Service.Append(ctx, inc.ID, bob, "", incident.Note{Text: "first of two"}); err != nil {
		t.Fatal(err)
	}
	e3, err := opts.Service.Append(ctx, inc.ID, bob, "", incident.Note{Text: "second of two"})
	if err != nil {
		t.Fatal(err)
	}
	st, _ = opts.Service.Status(ctx, inc.ID)
	m = drive(t, m, LiveMsg{Incident: inc.ID, Status: st, Entries: []incident.Entry{e3}})
	v := m.View()
	if !strings.Contains(v, "first of two") || !strings.Contains(v, "second of two") {
		t.Errorf("a gap in what the watcher sent was not read:\n%s", v)
	}
	// Entries past a gap while a read is under way: read again after it.
	if _, err := opts.Service.Append(ctx, inc.ID, bob, "", incident.Note{Text: "third"}); err != nil {
		t.Fatal(err)
	}
	e5, _ := opts.Service.Append(ctx, inc.ID, bob, "", incident.Note{Text: "fourth"})
	st, _ = opts.Service.Status(ctx, inc.ID)
	mm := m.(Model)
	mm.polling = true // a read started before e4 and e5
	m, cmd := tea.Model(mm).Update(LiveMsg{Incident: inc.ID, Status: st, Entries: []incident.Entry{e5}})
	if cmd != nil || !m.(Model).repoll {
		t.Fatal("a gap during a read was not kept for later")
	}
	stale, _ := opts.Service.Status(ctx, inc.ID)
	stale.Events = e3.Seq
	m = drive(t, m, polledMsg{id: inc.ID, status: stale})
	if v := m.View(); !strings.Contains(v, "third") || !strings.Contains(v, "fourth") {
		t.Errorf("the entries past the gap were not read after the read under way:\n%s", v)
	}
	// Entries of another incident are not this console's.
	m = drive(t, m, LiveMsg{Incident: strings.Repeat("0", 64), Status: st, Entries: []incident.Entry{e3}})
	tl := m.(Model).timeline
	if got := tl.lastSeq(); got != e5.Seq {
		t.Errorf("timeline ends at seq %d, want %d", got, e3.Seq)
	}
	// Who else is here, and a notice from the server.
	m = drive(t, m, PresenceMsg{Others: []Presence{{Name: "bob", Role: "responder", Incident: inc.ID}, {Name: "olga", Role: "observer"}}},
		NoticeMsg{Text: "the server is shutting down"})
	v = m.View()
	for _, want := range []string{"with bob", "olga (observer) idle", "the server is shutting down"} {
		if !strings.Contains(v, want) {
			t.Errorf("view lacks %q:\n%s", want, v)
		}
	}
	checkFits(t, v, 120, 40)
	// What is typed is there for the server to keep.
	m = drive(t, m, keys("nhalf typed")...)
	if id, text := m.(Model).Draft(); id != inc.ID || text != "half typed" {
		t.Errorf("Draft() = %q %q", id, text)
	}
}
