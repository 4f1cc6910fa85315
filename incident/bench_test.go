package incident_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/icconsole/ic/docs"
	"github.com/icconsole/ic/incident"
	"github.com/icconsole/ic/internal/ledgertest"
	"github.com/icconsole/ic/runbook"
)

func shippedBooks(tb testing.TB) *runbook.Catalog {
	tb.Helper()
	cat, probs := runbook.Load(docs.Runbooks(), "docs/runbooks")
	if len(probs) > 0 {
		tb.Fatal(probs)
	}
	return cat
}

// BenchmarkAppendNote appends one note per operation through the
// application layer: the incident's status re-derived, the rules applied,
// one committed, fsynced transaction.
func BenchmarkAppendNote(b *testing.B) {
	ctx := context.Background()
	s, err := incident.Open(ctx, filepath.Join(b.TempDir(), "ic.db"), shippedBooks(b), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	by := incident.Actor{Name: "alice"}
	st, _, err := s.Declare(ctx, incident.Declaration{Book: "ops", Title: "payments down", Severity: "SEV-2", By: by})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := s.Append(ctx, st.ID, by, "", incident.Note{Text: "checked relay 2"}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMonthlyReview1M computes January's review over the 1M-event
// ledger (the generator puts its 1,000 incidents in that month).
func BenchmarkMonthlyReview1M(b *testing.B) {
	month := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s, err := incident.Open(context.Background(), ledgertest.Path(b, 1000, 1000), shippedBooks(b), func() time.Time { return month.AddDate(0, 1, 5) })
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for b.Loop() {
		rep, err := s.MonthlyReview(context.Background(), month, "")
		if err != nil || rep.Incidents+rep.Drills != 1000 {
			b.Fatal(err, rep.Incidents, rep.Drills)
		}
	}
}

// The generator writes what the application layer reads: every entry it
// makes decodes to a known kind.
func TestGeneratedEntriesDecode(t *testing.T) {
	s, err := incident.Open(context.Background(), ledgertest.Path(t, 3, 200), shippedBooks(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	entries, err := s.Entries(context.Background(), incident.Range{})
	if err != nil || len(entries) != 600 {
		t.Fatalf("%d entries, %v", len(entries), err)
	}
	for _, e := range entries {
		if !incident.KnownKind(e.Type) || !e.Readable() {
			t.Fatalf("seq %d of %s: %s decodes as %T (%s)", e.Seq, incident.ShortID(e.Incident), e.Type, e.Payload, e.Line())
		}
	}
}
