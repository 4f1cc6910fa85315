package incident

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/icconsole/ic/runbook"
	"github.com/icconsole/ic/store"
)

// testBooks is the small policy in testdata/books: SEV-1 worst, SEV-1
// needs evidence, recovery and review before CLOSED.
func testBooks(t testing.TB) *runbook.Catalog {
	t.Helper()
	cat, probs := runbook.Load(os.DirFS("testdata/books"), "testdata/books")
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	return cat
}

func openTest(t testing.TB, now func() time.Time) *Service {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "ic.db"), testBooks(t), now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var alice = Actor{Name: "alice"}

func declare(t testing.TB, s *Service, sev string) Status {
	t.Helper()
	st, _, err := s.Declare(context.Background(), Declaration{Book: "ops", Title: "payments down", Severity: sev, By: alice})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestDeclareAppendStatus(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)
	s := openTest(t, func() time.Time { return now })
	inc := declare(t, s, "SEV-1")
	if !strings.HasPrefix(inc.Short(), "INC-") || len(inc.Short()) != 10 {
		t.Errorf("short id %q", inc.Short())
	}
	for i := range 3 {
		if _, err := s.Append(ctx, inc.ID, alice, "", Note{Text: fmt.Sprintf("note %d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	st, err := s.Status(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if st.Events != 4 || st.Severity != "SEV-1" || st.State != "OPEN" || st.Closed {
		t.Errorf("status = %+v", st)
	}
	if want := now.Add(15 * time.Minute); !st.UpdateDue.Equal(want) {
		t.Errorf("update due %v, want %v", st.UpdateDue, want)
	}
	now = now.Add(20 * time.Minute)
	if !st.Overdue(now) {
		t.Error("status update not overdue 20 minutes in")
	}
	if _, err := s.Append(ctx, inc.ID, Actor{Name: "bob"}, "", StatusUpdate{Text: "still down"}); err != nil {
		t.Fatal(err)
	}
	st, _ = s.Status(ctx, inc.ID)
	if want := now.Add(15 * time.Minute); !st.UpdateDue.Equal(want) || st.Overdue(now) {
		t.Errorf("after an update, due %v (want %v)", st.UpdateDue, want)
	}
	rep, err := s.Verify(ctx, "")
	if err != nil || !rep.OK() || rep.Events != 5 || rep.Incidents != 1 {
		t.Fatalf("verify = %+v, %v", rep, err)
	}
	if got, err := s.Resolve(ctx, inc.Short()); err != nil || got != inc.ID {
		t.Errorf("Resolve(%s) = %s, %v", inc.Short(), got, err)
	}
}

func TestIdempotentRetry(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, nil)
	inc := declare(t, s, "SEV-2")
	a, err := s.Append(ctx, inc.ID, alice, "key-1", Note{Text: "once\n"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Append(ctx, inc.ID, alice, "key-1", Note{Text: "once\n"})
	if err != nil || b.Seq != a.Seq || b.Hash != a.Hash {
		t.Fatalf("retry gave %+v, %v; want the first entry back", b, err)
	}
	if st, _ := s.Status(ctx, inc.ID); st.Events != 2 {
		t.Errorf("events = %d after a retried append, want 2", st.Events)
	}
	for _, p := range []Payload{StatusUpdate{Text: "other"}, Note{Text: "other text"}} {
		_, err := s.Append(ctx, inc.ID, alice, "key-1", p)
		if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), inc.Short()+" seq 2 (note)") {
			t.Errorf("reusing a key for %#v: %v, want a refusal naming seq 2", p, err)
		}
	}
	// A severity change retried after it landed: the stored entry has a
	// "from" the request did not carry, and the change is already made.
	sev := SeverityChange{To: "SEV-1", Reason: "customers harmed"}
	first, err := s.Append(ctx, inc.ID, alice, "key-sev", sev)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := s.Append(ctx, inc.ID, alice, "key-sev", sev); err != nil || again.Seq != first.Seq {
		t.Errorf("retried severity change: %+v, %v", again, err)
	}
	d := Declaration{Book: "ops", Title: "t", Severity: "SEV-2", By: Actor{Name: "a"}, Key: "decl-1"}
	i1, _, _ := s.Declare(ctx, d)
	i2, _, _ := s.Declare(ctx, d)
	if i1.ID != i2.ID {
		t.Errorf("a retried declaration made a second incident")
	}
}

func TestLifecycleRules(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, nil)
	inc := declare(t, s, "SEV-1")
	refused := func(p Payload, want string) {
		t.Helper()
		_, err := s.Append(ctx, inc.ID, alice, "", p)
		if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), want) {
			t.Errorf("%T: err = %v, want refusal containing %q", p, err, want)
		}
	}
	refused(StateChange{To: "NOWHERE"}, `unknown state "NOWHERE"`)
	refused(SeverityChange{To: "SEV-9", Reason: "x"}, `unknown severity "SEV-9"`)
	refused(SeverityChange{To: "SEV-2"}, "reason is empty")
	refused(Note{Text: "  "}, "note is empty")
	refused(Note{Text: strings.Repeat("x", MaxTextBytes+1)}, "over the limit")
	refused(Correction{Corrects: 99, Text: "x"}, "no event 99")
	refused(ActionItemDone{Item: 1}, "no action item at seq 1")
	refused(StateChange{To: "CLOSED"}, "cannot close yet: the timeline has no evidence (one of: evidence_attached, verification); no recovery (one of: restart_criteria_signed); no review")
	if _, err := s.AttachEvidence(ctx, inc.ID, alice, "", "log.txt", "", []byte("log")); err != nil {
		t.Fatal(err)
	}
	refused(StateChange{To: "CLOSED"}, "no recovery")
	for _, p := range []Payload{RestartCriteria{Text: "fix deployed, 30 min clean"}, PostmortemLink{URL: "https://wiki/pm/1"}, StateChange{To: "CONTAINED"}} {
		if _, err := s.Append(ctx, inc.ID, alice, "", p); err != nil {
			t.Fatal(err)
		}
	}
	refused(StateChange{To: "OPEN"}, "cannot move from CONTAINED to OPEN: the policy of book ops allows only CLOSED")
	if _, err := s.Append(ctx, inc.ID, alice, "", StateChange{To: "CLOSED"}); err != nil {
		t.Fatal(err)
	}
	refused(Note{Text: "late"}, "is CLOSED (closed): a note cannot be added; allowed after close: correction, postmortem_linked")
	if _, err := s.Append(ctx, inc.ID, alice, "", Correction{Corrects: 2, Text: "the log was from node 2"}); err != nil {
		t.Errorf("correction after close: %v", err)
	}
	st, _ := s.Status(ctx, inc.ID)
	if !st.Closed || !st.UpdateDue.IsZero() || len(st.Missing) != 0 {
		t.Errorf("closed status = %+v", st)
	}
}

func TestControlCharactersAreStoredEscaped(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, nil)
	inc := declare(t, s, "SEV-2")
	e, err := s.Append(ctx, inc.ID, alice, "", Note{Text: "copy \x1b]52;c;aGk=\x07 done \xff"})
	if err != nil {
		t.Fatal(err)
	}
	n, _ := e.Payload.(Note)
	if n.Text != `copy \x1b]52;c;aGk=\x07 done \xff` || strings.ContainsRune(string(e.Event.Payload), 0x1b) {
		t.Errorf("stored %q (payload %q)", n.Text, e.Event.Payload)
	}
	if _, err := s.Append(ctx, inc.ID, Actor{Name: "al\x1bice"}, "", Note{Text: "x"}); !errors.Is(err, ErrRefused) {
		t.Errorf("actor with ESC accepted: %v", err)
	}
}

func TestRoutineRuns(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, nil)
	run, p, err := s.StartRoutine(ctx, "T-201", alice, "")
	if err != nil {
		t.Fatal(err)
	}
	if run.Kind != KindRoutine || run.Severity != "SEV-2" {
		t.Errorf("run declared as %s at %s, want a routine at the mildest severity", run.Kind, run.Severity)
	}
	ref := Ref(p)
	for _, pl := range []Payload{StepChecked{Procedure: ref, Step: 1}, StepFailed{Procedure: ref, Step: 2, Note: "no dashboard"}, StepChecked{Procedure: ref, Step: 2}} {
		if _, err := s.Append(ctx, run.ID, alice, "", pl); err != nil {
			t.Fatal(err)
		}
	}
	runs, err := s.RoutineRuns(ctx, "T-201", 30)
	if err != nil || len(runs) != 1 || runs[0].Done != 2 || runs[0].Failed != 0 || runs[0].Version != 1 {
		t.Errorf("runs = %+v, %v; want one run, both steps done by their latest record", runs, err)
	}
	if _, _, err := s.StartRoutine(ctx, "T-001", alice, ""); !errors.Is(err, ErrRefused) {
		t.Errorf("an incident procedure started as a routine: %v", err)
	}
}

func TestUnreadablePayloadIsShownNotHidden(t *testing.T) {
	e := Decode(store.Event{Type: "note", Payload: []byte(`{"text": 42}`)})
	if e.Readable() || !strings.Contains(e.Line(), "note entry not readable") || !strings.Contains(e.Line(), `{"text": 42}`) {
		t.Errorf("a broken note reads %q", e.Line())
	}
	e = Decode(store.Event{Type: "from_the_future", Payload: []byte(`{}`)})
	if e.Readable() || !strings.Contains(e.Line(), "unknown entry type") {
		t.Errorf("an unknown kind reads %q", e.Line())
	}
	if e := Decode(store.Event{Type: "note", Payload: []byte(`{"text":"ok"}`)}); !e.Readable() || e.Line() != "ok" {
		t.Errorf("a good note reads %q", e.Line())
	}
}

// Limits apply to what is stored: a note just under 64 KiB whose control
// characters grow when escaped is refused, not stored over the limit; an
// evidence label has a limit of its own.
func TestLimitsApplyToStoredBytes(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, nil)
	inc := declare(t, s, "SEV-2")
	text := strings.Repeat("\x1b", MaxTextBytes/2) // 32 KiB raw, 128 KiB escaped
	if _, err := s.Append(ctx, inc.ID, alice, "", Note{Text: text}); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "once its control characters are escaped") {
		t.Errorf("a note that grows past the limit when escaped: %v", err)
	}
	if _, err := s.AttachEvidence(ctx, inc.ID, alice, "", "log.txt", strings.Repeat("l", MaxLabelBytes+1), []byte("x")); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "evidence label") {
		t.Errorf("a label over its limit: %v", err)
	}
	if _, err := s.db.Blob(ctx, sha256.Sum256([]byte("x"))); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a refused attachment left its bytes in the ledger: %v", err)
	}
}
