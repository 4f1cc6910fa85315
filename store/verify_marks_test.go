package store

import (
	"context"
	"path/filepath"
	"testing"
)

// TestVerifyMarksTheIncidentsItWasAskedAbout: a verify that reads every
// event names the incidents holding an event a mark selects (by type, and
// by payload bytes when given); an
// incident verify marks only within its incident.
func TestVerifyMarksTheIncidentsItWasAskedAbout(t *testing.T) {
	ctx := context.Background()
	l := openTest(t, filepath.Join(t.TempDir(), "ic.db"))
	plain, withStep, withApproval := declare(t, l, "SEV-1"), declare(t, l, "SEV-2"), declare(t, l, "SEV-3")
	for _, ev := range []struct{ id, typ, payload string }{
		{plain.ID, "note", `{"text":"TPAF-001 mentioned in a note"}`},
		{plain.ID, "step_checked", `{"procedure":{"id":"O-020"},"step":1}`},
		{withStep.ID, "step_checked", `{"procedure":{"id":"TPAF-001"},"step":3}`},
		{withApproval.ID, "approval", `{"step":10}`},
	} {
		if _, err := l.append(ctx, ev.id, "alice", ev.typ, []byte(ev.payload)); err != nil {
			t.Fatal(err)
		}
	}
	marks := func() []Mark {
		return []Mark{{Type: "approval"}, {Type: "step_checked", Contains: []string{`"TPAF-001"`}}}
	}
	for _, o := range []VerifyOptions{{Full: true, Marks: marks}, {Incident: withStep.ID, Marks: marks}} {
		rep, err := l.db.VerifyWith(ctx, o)
		if err != nil || !rep.OK() {
			t.Fatalf("%s verify: %v %v", rep.Mode, err, rep.Problems)
		}
		want := map[string]bool{withStep.ID: true, withApproval.ID: true}
		if o.Incident != "" {
			want = map[string]bool{withStep.ID: true}
		}
		if !rep.MarksRead || len(rep.Marked) != len(want) {
			t.Errorf("%s verify marked %v (read %v), want %v", rep.Mode, rep.Marked, rep.MarksRead, want)
		}
		for id := range want {
			if !rep.Marked[id] {
				t.Errorf("%s verify did not mark %s", rep.Mode, ShortID(id))
			}
		}
	}
}
