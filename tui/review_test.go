package tui

import (
	"context"
	"fmt"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest"

	"github.com/icconsole/ic/incident"
)

// reviewLedger records three incidents with fixed keys and clock: a closed
// SEV-1 with a correction, a drill, and an open SEV-2.
func reviewLedger(t *testing.T, opts Options) {
	t.Helper()
	ctx := context.Background()
	l := opts.Service
	at := fixedNow.Add(-48 * time.Hour)
	clock := func() time.Time { return at }
	lc := l.WithClock(clock)
	step := func(d time.Duration) { at = at.Add(d) }
	a, _, err := lc.Declare(ctx, incident.Declaration{Book: "ops", Title: "payments API returning 500s", Severity: "SEV-1", By: incident.Actor{Name: "alice"}, Key: "rv-a"})
	if err != nil {
		t.Fatal(err)
	}
	appendAll := func(id string, ps ...incident.Payload) {
		for _, p := range ps {
			step(5 * time.Minute)
			if _, err := lc.Append(ctx, id, incident.Actor{Name: "alice"}, "", p); err != nil {
				t.Fatal(err)
			}
		}
	}
	appendAll(a.ID,
		incident.Note{Text: "relay 2 restarted"},
		incident.Note{Text: "scope: payments API, EU region"},
		incident.RoleAssignment{Role: "commander", Name: "alice"},
		incident.StateChange{To: "CONTAINED", Reason: "traffic drained"},
		incident.Correction{Corrects: 2, Text: "it was relay 3"},
		incident.Evidence{Name: "error.log", Size: 26, SHA256: "12f27762783e5c0e1f5b3d8a3c1a0e5b1c4b2a6d9e8f7a6b5c4d3e2f1a0b9c8d"},
		incident.StateChange{To: "RECOVERING"},
		incident.RestartCriteria{Text: "error rate at baseline for 30 minutes"},
		incident.PostmortemLink{URL: "https://wiki.example/pm/1"},
		incident.StateChange{To: "MONITORING"},
		incident.StateChange{To: "CLOSED"},
	)
	step(time.Hour)
	if _, _, err := lc.Declare(ctx, incident.Declaration{Book: "ops", Title: "quarterly key drill", Severity: "SEV-1", Drill: true, By: incident.Actor{Name: "bob"}, Key: "rv-drill"}); err != nil {
		t.Fatal(err)
	}
	step(time.Hour)
	b, _, err := lc.Declare(ctx, incident.Declaration{Book: "ops", Title: "audit relay slow", Severity: "SEV-2", By: incident.Actor{Name: "carol"}, Key: "rv-b"})
	if err != nil {
		t.Fatal(err)
	}
	appendAll(b.ID, incident.Note{Text: "queue at 12k"})
}

func runGolden(t *testing.T, opts Options, w, h int, steps func(tm *teatest.TestModel)) {
	t.Helper()
	tm := teatest.NewTestModel(t, New(opts), teatest.WithInitialTermSize(w, h))
	steps(tm)
	tm.Send(tea.KeyMsg{Type: tea.KeyCtrlC})
	final := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second))
	golden.RequireEqual(t, []byte(incidentID.ReplaceAllString(final.View(), "INC-XXXXXX")))
}

func key1(r rune) tea.KeyMsg { return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}} }

// TestReviewGolden: the scribe's list, then one incident with its chain
// status, audit-trail completeness and a filtered timeline.
func TestReviewGolden(t *testing.T) {
	for _, sz := range []struct{ w, h int }{{80, 24}, {120, 40}} {
		name := fmt.Sprintf("%dx%d", sz.w, sz.h)
		t.Run("list/"+name, func(t *testing.T) {
			opts := testOptions(t)
			reviewLedger(t, opts)
			opts.Review = true
			runGolden(t, opts, sz.w, sz.h, func(tm *teatest.TestModel) {
				waitFor(t, tm, "[drill]")
			})
		})
		t.Run("incident/"+name, func(t *testing.T) {
			opts := testOptions(t)
			reviewLedger(t, opts)
			opts.Review = true
			runGolden(t, opts, sz.w, sz.h, func(tm *teatest.TestModel) {
				waitFor(t, tm, "[drill]")
				tm.Send(key1('j'))
				tm.Send(key1('j'))
				tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
				waitFor(t, tm, "Audit trail")
				tm.Send(key1('/'))
				typeText(tm, "note")
				tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
				tm.Send(key1('#'))
				waitFor(t, tm, "Timeline 2 of 12")
			})
		})
	}
}

// TestRoutineGolden walks TPAF-001 and tries the irreversible step before
// its confirmations: the console refuses and says which are missing.
func TestRoutineGolden(t *testing.T) {
	for _, sz := range []struct{ w, h int }{{80, 24}, {120, 40}} {
		t.Run(fmt.Sprintf("%dx%d", sz.w, sz.h), func(t *testing.T) {
			opts := testOptions(t)
			opts.Routine = "TPAF-001"
			runGolden(t, opts, sz.w, sz.h, func(tm *teatest.TestModel) {
				waitFor(t, tm, "ROUTINE RUN")
				tm.Send(tea.KeyMsg{Type: tea.KeySpace, Runes: []rune{' '}})
				waitFor(t, tm, "step 1 recorded")
				tm.Send(tea.KeyMsg{Type: tea.KeySpace, Runes: []rune{' '}})
				waitFor(t, tm, "step 2 recorded")
				for range 15 {
					tm.Send(key1('j'))
				}
				tm.Send(tea.KeyMsg{Type: tea.KeySpace, Runes: []rune{' '}})
				waitFor(t, tm, "step 18 needs step(s) 11 16 17 done first")
			})
			ev := events(t, opts.Service)
			if len(ev) != 3 || ev[0].Type != (incident.Declared{}).Kind() || ev[2].Type != (incident.StepChecked{}).Kind() {
				t.Errorf("the refused step was recorded: %d events", len(ev))
			}
		})
	}
}
