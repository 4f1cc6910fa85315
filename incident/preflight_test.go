package incident

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/icconsole/ic/runbook"
	"github.com/icconsole/ic/verifier"
)

// The close preflight names what the policy still needs in plain words,
// and follows the timeline as the needs are met.
func TestClosePreflightInPlainWords(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, nil)
	inc := declare(t, s, "SEV-1")
	plan, err := s.ClosePreflight(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if plan.Ready() || !plan.Direct || len(plan.Needs) != 3 {
		t.Fatalf("plan %+v", plan)
	}
	want := []string{
		"evidence: a file attached as evidence, or a sync-committee check result",
		"recovery: the restart criteria, signed",
		"review: a link to the postmortem",
	}
	for i, w := range want {
		if plan.Needs[i].Words != w {
			t.Errorf("need %d: %q, want %q", i, plan.Needs[i].Words, w)
		}
	}
	for _, p := range []Payload{RestartCriteria{Text: "error rate at baseline 30m"}, PostmortemLink{URL: "https://wiki.example/pm/1"}} {
		if _, err := s.Append(ctx, inc.ID, alice, "", p); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.AttachEvidence(ctx, inc.ID, alice, "", "error.log", "", []byte("500s")); err != nil {
		t.Fatal(err)
	}
	if plan, _ = s.ClosePreflight(ctx, inc.ID); !plan.Ready() {
		t.Errorf("all needs met, plan %+v", plan)
	}
}

// A closed incident's clock stops when it closed.
func TestStatusClosedAt(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)
	s := openTest(t, func() time.Time { return at })
	inc := declare(t, s, "SEV-2")
	at = at.Add(40 * time.Minute)
	if _, err := s.Append(ctx, inc.ID, alice, "", StateChange{To: "CLOSED"}); err != nil {
		t.Fatal(err)
	}
	at = at.Add(time.Hour)
	if _, err := s.Append(ctx, inc.ID, alice, "", PostmortemLink{URL: "https://wiki.example/pm/2"}); err != nil {
		t.Fatal(err)
	}
	st, err := s.Status(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Closed || st.ClosedAt.Sub(st.DeclaredAt) != 40*time.Minute {
		t.Errorf("closed %v at %v, declared %v", st.Closed, st.ClosedAt, st.DeclaredAt)
	}
}

// A check that failed before any result says why, not "period 0 slot 0".
func TestFailedSyncCheckLine(t *testing.T) {
	v, err := NewVerification(verifier.Result{Source: "online", Classification: verifier.ClassEnvironmentDeny, Code: verifier.Invalid, Error: "beacon-1: 403 Host not in allowlist"})
	if err != nil {
		t.Fatal(err)
	}
	if got := v.Line(); strings.Contains(got, "slot 0") || !strings.Contains(got, "failed: environment_deny: beacon-1: 403 Host not in allowlist") {
		t.Errorf("line %q", got)
	}
}

// Drafts are kept per incident, apart from the one typed with none open.
func TestDraftForIncident(t *testing.T) {
	s := openTest(t, nil)
	a, b := declare(t, s, "SEV-1"), declare(t, s, "SEV-2")
	if err := s.DraftFor(a.ID).Save("for a"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.DraftFor(b.ID).Read(); got != "" {
		t.Errorf("b's draft holds %q", got)
	}
	if got, _ := s.DraftFor(a.ID).Read(); got != "for a" {
		t.Errorf("a's draft holds %q", got)
	}
	if got, _ := s.Drafts().Read(); got != "" {
		t.Errorf("the unattached draft holds %q", got)
	}
	if p := s.DraftFor("../../etc/passwd").Path(); p != s.Drafts().Path() {
		t.Errorf("a bad id gets draft file %s", p)
	}
	if filepath.Dir(s.DraftFor(a.ID).Path()) != s.LedgerPath()+".drafts" {
		t.Errorf("draft at %s", s.DraftFor(a.ID).Path())
	}
}

// Steps that the record already shows done are found, each citing its
// entry; steps no rule recognises never are.
func TestProveSteps(t *testing.T) {
	cat, probs := runbook.Load(os.DirFS("../docs/runbooks"), "docs/runbooks")
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	o020, _ := cat.Procedure("O-020")
	o101, _ := cat.Procedure("O-101")
	roles, probs := runbook.ParseProcedure("ops", "X-001.md", []byte("---\nid: X-001\ntitle: Roles\nkind: incident\nversion: 1\n---\n## Steps\n1. Read the alert.\n2. Name the incident commander and record the scribe.\n"))
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	entries := []Entry{
		{Payload: Declared{Severity: "SEV-1"}},
		{Payload: Note{Text: "looking"}},
		{Payload: RunbookLink{Procedure: Ref(o101)}},
		{Payload: RoleAssignment{Role: "commander", Name: "alice"}},
	}
	for i := range entries {
		entries[i].Seq = int64(i + 1)
		entries[i].Type = entries[i].Payload.Kind()
	}
	got := ProveSteps(o020, entries)
	// Step 2 (assess the severity) by the declaration; step 4 (open the
	// specific runbook) by the link; evidence item 8 (the severity
	// assessment and who made it) and exit criteria 9 (severity declared)
	// and 11 (runbook linked) likewise.
	want := map[int]int64{2: 1, 4: 3, 8: 1, 9: 1, 11: 3}
	if len(got) != len(want) {
		t.Errorf("proven %v, want steps %v", got, want)
	}
	for n, seq := range want {
		if got[n].Seq != seq {
			t.Errorf("O-020 step %d proven by #%d, want #%d (%v)", n, got[n].Seq, seq, got)
		}
	}
	// A step naming a commander and a scribe needs both: one is not enough.
	if p, ok := ProveSteps(roles, entries)[2]; ok {
		t.Errorf("step 2 proven by %v with no scribe named", p)
	}
	// A link to O-020 itself does not prove "open the specific runbook".
	self := []Entry{{Event: entries[2].Event, Payload: RunbookLink{Procedure: Ref(o020)}}}
	if _, ok := ProveSteps(o020, self)[4]; ok {
		t.Errorf("O-020 step 4 proven by a link to O-020")
	}
}
