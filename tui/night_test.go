package tui

// Tests for what a first responder hit at 80x24 (issue 13). Each drives the
// console with keys and looks only at the screen and the ledger, so each
// runs, and fails, against the console before the fix as well.

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/icconsole/ic/incident"
)

// cmdMsgs runs cmd the way bubbletea would and returns the messages it
// produces (batches flattened).
func cmdMsgs(cmd tea.Cmd) []tea.Msg {
	if cmd == nil {
		return nil
	}
	switch out := cmd().(type) {
	case nil:
		return nil
	case tea.BatchMsg:
		var msgs []tea.Msg
		for _, c := range out {
			msgs = append(msgs, cmdMsgs(c)...)
		}
		return msgs
	default:
		return []tea.Msg{out}
	}
}

// startConsole is a console as ic starts it: New, Init's commands run,
// then the terminal's size.
func startConsole(t *testing.T, opts Options, w, h int) tea.Model {
	t.Helper()
	m := tea.Model(New(opts))
	return drive(t, m, append(cmdMsgs(m.Init()), size(w, h))...)
}

func special(t tea.KeyType) tea.Msg { return tea.KeyMsg{Type: t} }

func mustContain(t *testing.T, view string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(view, w) {
			t.Errorf("screen lacks %q:\n%s", w, view)
		}
	}
}

func mustNotContain(t *testing.T, view string, nots ...string) {
	t.Helper()
	for _, w := range nots {
		if strings.Contains(view, w) {
			t.Errorf("screen shows %q:\n%s", w, view)
		}
	}
}

// lastEntry is the newest entry of the ledger.
func lastEntry(t *testing.T, svc *incident.Service) incident.Entry {
	t.Helper()
	ev := events(t, svc)
	return ev[len(ev)-1]
}

func declared(t *testing.T, svc *incident.Service, title, sev string) incident.Status {
	t.Helper()
	st, _, err := svc.Declare(context.Background(), incident.Declaration{Book: "ops", Title: title, Severity: sev, By: incident.Actor{Name: "bob"}})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// 1. A half-typed note stays with the incident it was typed for: switching
// to another incident neither posts it there nor loses it.
func TestNoteDraftStaysWithItsIncident(t *testing.T) {
	opts := testOptions(t)
	a := declared(t, opts.Service, "payments down", "SEV-1")
	b := declared(t, opts.Service, "audit relay slow", "SEV-2")
	opts.Incident = a.ID
	m := startConsole(t, opts, 80, 24)
	m = drive(t, m, append(keys("nrelay 2 looks wedged"), special(tea.KeyEsc))...)
	// Another incident is opened.
	m = drive(t, m, loadIncident(context.Background(), opts.Service, b.ID)())
	mustNotContain(t, m.View(), "relay 2 looks wedged")
	m = drive(t, m, append(keys("nqueue at 12k"), special(tea.KeyEnter))...)
	if last := lastEntry(t, opts.Service); last.Incident != b.ID || last.Line() != "queue at 12k" {
		t.Errorf("the note on %s is %q on %s", b.Short(), last.Line(), incident.ShortID(last.Incident))
	}
	// Back on the first incident, its draft is there, and a restart keeps it.
	m = drive(t, m, loadIncident(context.Background(), opts.Service, a.ID)())
	mustContain(t, m.View(), "draft: relay 2 looks wedged")
	m2 := startConsole(t, opts, 80, 24)
	mustContain(t, m2.View(), "draft: relay 2 looks wedged")
}

// 2. A due date that is not a date is said at once, and nothing typed is
// lost: fixed in place, the action item is recorded whole.
func TestActionItemKeepsWhatWasTypedOnABadDueDate(t *testing.T) {
	opts := testOptions(t)
	m := declare(t, drive(t, New(opts), size(80, 24)), "payments down", "nnnn")
	m = drive(t, m, keys("Iadd an alert on 5xx rate\nalice\nnext friday\n")...)
	view := m.View()
	mustContain(t, view, "not YYYY-MM-DD", "next friday")
	if last := lastEntry(t, opts.Service); last.Type == (incident.ActionItem{}).Kind() {
		t.Fatalf("an action item with a bad due date was recorded: %s", last.Line())
	}
	for range len("next friday") {
		m = drive(t, m, special(tea.KeyBackspace))
	}
	drive(t, m, keys("2026-12-04\n")...)
	if last := lastEntry(t, opts.Service); last.Line() != "action item for alice: add an alert on 5xx rate (due 2026-12-04)" {
		t.Errorf("recorded %s: %s", last.Type, last.Line())
	}
}

// 3. After a restart the console comes back to the open incident instead
// of saying there is none.
func TestRestartComesBackToTheOpenIncident(t *testing.T) {
	opts := testOptions(t)
	st := declared(t, opts.Service, "payments down", "SEV-1")
	m := startConsole(t, opts, 80, 24)
	view := m.View()
	mustNotContain(t, view, "no open incident")
	mustContain(t, view, st.Short(), "payments down")
}

// 4. W asks before it starts a run, and routine runs are not incidents:
// the o picker and the review list leave them out.
func TestRoutineRunAsksFirstAndIsNotOfferedAsAnIncident(t *testing.T) {
	opts := testOptions(t)
	declared(t, opts.Service, "payments down", "SEV-1")
	m := drive(t, New(opts), size(80, 24))
	m = drive(t, m, keys("/O-201\nW")...)
	mustContain(t, m.View(), "Start a run of O-201")
	if n := len(events(t, opts.Service)); n != 1 {
		t.Fatalf("W started a run without asking: %d entries", n)
	}
	m = drive(t, m, keys("y")...)
	if runs, _ := opts.Service.List(context.Background(), incident.ListFilter{Kind: incident.KindRoutine}); len(runs) != 1 {
		t.Fatalf("y did not start the run: %d runs", len(runs))
	}
	m = drive(t, m, keys("o")...)
	view := m.View()
	mustContain(t, view, "Open an incident", "SEV-1 payments down")
	mustNotContain(t, view, "SEV-3 O-201")
	m = drive(t, m, special(tea.KeyEsc))
	m = drive(t, m, keys("R")...)
	view = m.View()
	mustContain(t, view, "1 of 1 incidents")
	mustNotContain(t, view, "Daily health check")
}

// 5. A closed incident's clock stops when it closed.
func TestClosedIncidentClockStops(t *testing.T) {
	opts := testOptions(t)
	at := fixedNow
	svc := opts.Service.WithClock(func() time.Time { return at })
	st, _, err := svc.Declare(context.Background(), incident.Declaration{Book: "ops", Title: "minor glitch", Severity: "SEV-3", By: incident.Actor{Name: "bob"}})
	if err != nil {
		t.Fatal(err)
	}
	at = at.Add(40 * time.Minute)
	if _, err := svc.Append(context.Background(), st.ID, incident.Actor{Name: "bob"}, "", incident.StateChange{To: "CLOSED"}); err != nil {
		t.Fatal(err)
	}
	opts.Incident = st.ID
	opts.Now = func() time.Time { return fixedNow.Add(3 * time.Hour) }
	m := startConsole(t, opts, 80, 24)
	m = drive(t, m, tickMsg(fixedNow.Add(3*time.Hour)))
	view := m.View()
	mustContain(t, view, "⏱ 40m00s")
	mustNotContain(t, view, "⏱ 3h")
}

// 6. Following a runbook from O-020 keeps O-020's unfinished steps below
// it, records the link once however often L is pressed, and ticks the
// steps the record already proves.
func TestFollowingARunbookStacksItAboveFirstResponse(t *testing.T) {
	opts := testOptions(t)
	m := declare(t, drive(t, New(opts), size(120, 40)), "wrong proofs served", "ynnn")
	m = drive(t, m, keys("x")...)
	m = drive(t, m, special(tea.KeyTab), special(tea.KeyTab)) // timeline, then the library
	m = drive(t, m, keys("jLL")...)
	links := 0
	for _, e := range events(t, opts.Service) {
		if e.Type == (incident.RunbookLink{}).Kind() {
			links++
		}
	}
	if links != 1 {
		t.Errorf("L pressed twice wrote %d runbook links, want 1", links)
	}
	mustContain(t, m.View(), "O-101 Service producing wrong outputs")
	// Below O-101's steps, the steps of O-020 still open; not step 2
	// (assess severity: the declaration shows it) nor step 4 (open the
	// specific runbook: the link just recorded shows it).
	m = drive(t, m, keys(strings.Repeat("j", 14))...)
	view := m.View()
	mustContain(t, view, "O-020 still open", "3. For a SEV-1, stop the harm")
	mustNotContain(t, view, "2. Assess severity", "4. Open the specific runbook")
}

// 7. Every action of the command line has a key: restart criteria,
// postmortem link, deviation, correction.
func TestEveryEntryTheCLIRecordsHasAKey(t *testing.T) {
	opts := testOptions(t)
	m := declare(t, drive(t, New(opts), size(80, 24)), "payments down", "ynnn")
	for _, c := range []struct {
		keys, kind, line string
	}{
		{"Cerror rate at baseline for 30 minutes\n", "restart_criteria_signed", "error rate at baseline"},
		{"Phttps://wiki.example/pm/1\n\n", "postmortem_linked", "https://wiki.example/pm/1"},
		{"Xskipped the freeze: wallet already empty\n", "deviation", "skipped the freeze"},
		{"K1\nit was relay 3\n", "correction", "correction of #1: it was relay 3"},
	} {
		m = drive(t, m, keys(c.keys)...)
		last := lastEntry(t, opts.Service)
		if last.Type != c.kind || !strings.Contains(last.Line(), c.line) {
			t.Errorf("%q recorded %s: %s, want %s", c.keys, last.Type, last.Line(), c.kind)
		}
	}
}

// 7. Choosing the closing state lists what the policy still needs, in plain
// words with the key for each, before any reason is asked; that key then
// records it.
func TestClosePreflightComesBeforeTheReason(t *testing.T) {
	opts := testOptions(t)
	m := declare(t, drive(t, New(opts), size(80, 24)), "payments down", "ynnn")
	m = drive(t, m, keys("T")...)
	m = drive(t, m, special(tea.KeyRight), special(tea.KeyRight), special(tea.KeyEnter))
	view := m.View()
	mustContain(t, view, "a file attached as evidence (E)", "the restart criteria, signed (C)", "a link to the postmortem (P)")
	mustNotContain(t, view, "Why?", "evidence_attached", "restart_criteria_signed")
	drive(t, m, keys("Cerror rate at baseline for 30 minutes\n")...)
	if last := lastEntry(t, opts.Service); last.Type != (incident.RestartCriteria{}).Kind() {
		t.Errorf("C from the preflight recorded %s", last.Type)
	}
}

// 8. A long note stays readable while it is typed (it wraps, the end with
// the cursor in view) and in full afterwards: enter on its timeline row
// shows all of it, its hash, and the correction pointing at it.
func TestLongNoteWrapsAndTheEntryDetailShowsItWhole(t *testing.T) {
	opts := testOptions(t)
	m := declare(t, drive(t, New(opts), size(80, 24)), "payments down", "nnnn")
	long := "relay 2 restarted at 03:04 after the queue passed 12k; the consumer on node 7 is still behind and the alert threshold should be lowered to 8k END"
	m = drive(t, m, append(keys("n"), keys(long)...)...)
	mustContain(t, m.View(), "lowered to 8k", "END") // wrapped, the end in view
	m = drive(t, m, special(tea.KeyEnter))
	seq := lastEntry(t, opts.Service).Seq
	if _, err := opts.Service.Append(context.Background(), lastEntry(t, opts.Service).Incident, incident.Actor{Name: "bob"}, "", incident.Correction{Corrects: seq, Text: "it was 03:05"}); err != nil {
		t.Fatal(err)
	}
	m = drive(t, m, tickMsg(fixedNow))
	// The timeline tab, the note's row (one up from the correction), enter.
	for range 4 {
		m = drive(t, m, special(tea.KeyTab))
		if strings.Contains(m.View(), "[Timeline]") {
			break
		}
	}
	m = drive(t, m, special(tea.KeyUp), special(tea.KeyEnter))
	view := m.View()
	mustContain(t, view, "lowered to 8k END", lastEntry(t, opts.Service).PrevHash.String()[:40], "it was 03:05")
}

// 9. After scrolling the timeline up, what the operator records next is in
// view, and newer entries below are announced.
func TestTimelineFollowsAgainAfterScrollingUp(t *testing.T) {
	opts := testOptions(t)
	m := declare(t, drive(t, New(opts), size(80, 24)), "payments down", "nnnn")
	m = drive(t, m, keys("x")...)
	for range 4 {
		m = drive(t, m, special(tea.KeyTab))
		if strings.Contains(m.View(), "[Timeline]") {
			break
		}
	}
	m = drive(t, m, special(tea.KeyUp))
	m = drive(t, m, keys("nthe newest observation\n")...)
	m = drive(t, m, tickMsg(fixedNow))
	mustContain(t, m.View(), "the newest observation")
}

// 10. The sync panel with no source says so and how to give one, instead
// of doing nothing on r.
func TestSyncPanelNotConfiguredSaysPressC(t *testing.T) {
	opts := testOptions(t)
	m := drive(t, New(opts), size(80, 24))
	m = drive(t, m, keys("vr")...)
	mustContain(t, m.View(), "not configured — press c")
	m = drive(t, m, keys("c")...)
	mustContain(t, m.View(), "Beacon API URLs")
}

// 10. A configured sync panel checks on open and then every sync.every;
// a check that failed before any result is recorded as a failure, not as
// "period 0 slot 0".
func TestSyncPanelRunsOnOpenAndEveryInterval(t *testing.T) {
	beacon := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "upstream is down", http.StatusServiceUnavailable)
	}))
	defer beacon.Close()
	opts := testOptions(t)
	opts.Sync = []incident.SyncSource{{Beacons: beacon.URL, Checkpoint: "0x" + strings.Repeat("ab", 32), Timeout: 2 * time.Second}}
	opts.SyncEvery = 10 * time.Minute
	var scheduled []time.Duration
	opts.after = func(d time.Duration, f func(time.Time) tea.Msg) tea.Cmd {
		scheduled = append(scheduled, d)
		return nil
	}
	m := startConsole(t, opts, 120, 40)
	m = declare(t, m, "proofs wrong", "nnnn")
	m = drive(t, m, keys("v")...)
	view := m.View()
	mustContain(t, view, "FAILED upstream_outage")
	found := false
	for _, d := range scheduled {
		found = found || d == 10*time.Minute
	}
	if !found {
		t.Errorf("no re-check scheduled every 10m: %v", scheduled)
	}
	drive(t, m, keys("e")...)
	last := lastEntry(t, opts.Service)
	if last.Type != (incident.Verification{}).Kind() || strings.Contains(last.Line(), "slot 0") || !strings.Contains(last.Line(), "failed") {
		t.Errorf("the failed check was recorded as %q", last.Line())
	}
}

// 12. At 120 columns the runbook pane takes at least three fifths.
func TestRunbookPaneTakesThreeFifthsAt120(t *testing.T) {
	m := drive(t, New(testOptions(t)), size(120, 40), special(tea.KeyEnter))
	widest := 0
	for _, line := range strings.Split(m.View(), "\n") {
		// Each box's top edge runs from ╭ to the next ╮.
		start := -1
		for i, r := range []rune(line) {
			switch r {
			case '╭':
				start = i
			case '╮':
				if start >= 0 {
					widest = max(widest, i-start+1)
				}
				start = -1
			}
		}
	}
	if widest < 72 {
		t.Errorf("the runbook pane is %d columns wide at 120, want at least 72:\n%s", widest, m.View())
	}
}

// 13. The current step is read whole, sub-points included, and marked
// unmistakably.
func TestCurrentStepShownWholeWithItsSubPoints(t *testing.T) {
	opts := testOptions(t)
	m := declare(t, drive(t, New(opts), size(80, 24)), "payments down", "nnnn")
	m = drive(t, m, keys("x")...)
	view := m.View()
	mustContain(t, view, "▶ [ ] 3. For a SEV-1, stop the harm before looking for the cause.", "The settlement wallet leaking: freeze it before forensics")
}

// 14. At 80 columns the help bar keeps ?, tab, v and q.
func TestHelpBarKeepsTheKeysThatMatterAt80(t *testing.T) {
	opts := testOptions(t)
	m := drive(t, New(opts), size(80, 24))
	check := func(m tea.Model, what string) {
		t.Helper()
		lines := strings.Split(m.View(), "\n")
		help := lines[len(lines)-1]
		for _, k := range []string{"? ", "tab ", "q quit"} {
			if !strings.Contains(help, k) {
				t.Errorf("%s: help bar lacks %q: %q", what, k, help)
			}
		}
	}
	check(m, "library")
	m = declare(t, m, "payments down", "nnnn")
	check(m, "steps")
	m = drive(t, m, special(tea.KeyTab))
	check(m, "timeline")
}

// 14. The first yes of the triage decides; its questions take y or n, and
// the help says so, not enter.
func TestFirstTriageYesDecides(t *testing.T) {
	opts := testOptions(t)
	m := drive(t, New(opts), size(80, 24))
	m = drive(t, m, keys("Dpayments down\n")...)
	lines := strings.Split(m.View(), "\n")
	if help := lines[len(lines)-1]; strings.Contains(help, "enter") {
		t.Errorf("a yes/no question offers enter: %q", help)
	}
	m = drive(t, m, keys("y")...)
	view := m.View()
	mustContain(t, view, "SEV-1 suggested")
	mustNotContain(t, view, "money or identity", "((", "))")
}

// 14. Review mode is read-only: it offers no note.
func TestReviewOffersNoNote(t *testing.T) {
	opts := testOptions(t)
	opts.Review = true
	m := startConsole(t, opts, 80, 24)
	mustNotContain(t, m.View(), "writes a note")
}

// 14. The last runs show each step's outcome in the procedure's order, and
// are brought up to date after each step.
func TestRoutineHistoryInStepOrderAndRefreshed(t *testing.T) {
	opts := testOptions(t)
	opts.Routine = "O-201"
	m := startConsole(t, opts, 80, 40)
	m = drive(t, m, keys(" snot today\n ")...)
	mustContain(t, m.View(), "✓-✓")
}

// 14. Names on the timeline are read whole.
func TestTimelineShowsTheActorWhole(t *testing.T) {
	opts := testOptions(t)
	opts.Actor = incident.Actor{Name: "oncall-alice"}
	m := declare(t, drive(t, New(opts), size(80, 24)), "payments down", "nnnn")
	for range 4 {
		m = drive(t, m, special(tea.KeyTab))
		if strings.Contains(m.View(), "[Timeline]") {
			break
		}
	}
	mustContain(t, m.View(), "oncall-alice declared")
}

// The 3 a.m. path: from ic to a declared SEV-1 with O-020 on screen takes
// four keystrokes besides the title (D, enter, y, enter): at most eight.
func TestThreeAMPathToASEV1TakesFewKeys(t *testing.T) {
	opts := testOptions(t)
	m := startConsole(t, opts, 80, 24)
	presses := []tea.Msg{key1('D'), special(tea.KeyEnter), key1('y'), special(tea.KeyEnter)}
	if len(presses) > 8 {
		t.Fatalf("%d keystrokes", len(presses))
	}
	m = drive(t, m, presses[0])
	m = drive(t, m, keys("payments API returning 500s")...)
	m = drive(t, m, presses[1:]...)
	ev := events(t, opts.Service)
	d, _ := ev[0].Payload.(incident.Declared)
	if len(ev) != 1 || d.Severity != "SEV-1" {
		t.Fatalf("after %d keys: %d entries, %+v", len(presses), len(ev), d)
	}
	mustContain(t, m.View(), "SEV-1", "O-020 First Response Discipline", "Pause for 30 seconds")
}
