package runbook

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/icconsole/ic/docs"
)

// TestLintFixture pins every problem of the books in testdata/lint, each
// as the exact path:line: message line `ic runbook lint` prints.
func TestLintFixture(t *testing.T) {
	_, probs := Load(os.DirFS("testdata/lint"), "testdata/lint")
	wantProblems(t, probs, []string{
		`testdata/lint/fixture/F-002.md:5: class INC_THREE is not one of book fixture's incident classes (INC_ONE, INC_TWO)`,
		`testdata/lint/fixture/F-002.md:8: approval for step 1: role "boss" is not one of book fixture's roles (approver, requester)`,
		`testdata/lint/fixture/F-002.md:11: approval for step 2 names no role: add role: with one of the book's roles`,
		`testdata/lint/fixture/F-002.md:13: approval for step 3: count 0 must be at least 1`,
		`testdata/lint/fixture/F-002.md:13: approval for step 3: window "1 day" is not a Go duration such as 30m or 24h`,
		`testdata/lint/fixture/F-002.md:17: approval for step 9: no such step (the procedure has steps 1..4)`,
		`testdata/lint/fixture/F-002.md:20: irreversible step 7: no such step (the procedure has steps 1..4)`,
		`testdata/lint/fixture/F-002.md:24: cross-reference to F-404, which is not a procedure of the books, an old id one of them replaces, or an external procedure of a book.yaml`,
		`testdata/lint/fixture/F-002.md:25: severity SEV_9_HUGE is not one of book fixture's severities (SEV_2_MEDIUM, SEV_1_LOW, SEV_0_INFO)`,
		`testdata/lint/fixture/F-002.md:25: severity SEV_2_MODERATE is the former name of SEV_2_MEDIUM: use SEV_2_MEDIUM`,
		`testdata/lint/fixture/F-002.md:26: DOC-001 §9: DOC-001 has sections §1..§5`,
		`testdata/lint/fixture/F-002.md:26: state STABILISED is not one of book fixture's lifecycle states (DETECTED, STABILIZED, CLOSED)`,
		`testdata/lint/fixture/F-002.md:26: state CONTAINED is not one of book fixture's lifecycle states (DETECTED, STABILIZED, CLOSED)`,
		`testdata/lint/fixture/F-002.md:27: INC_FOUR is not one of book fixture's incident classes (INC_ONE, INC_TWO)`,
		`testdata/lint/fixture/F-002.md:27: RP_PANIC is not one of book fixture's profiles (RP_WATCH, RP_HALT)`,
		`testdata/lint/fixture/F-003.md:7: replaces F-001 v1, but F-001 is now itself at version 1: a citation of F-001 v1 would be ambiguous; raise F-001's version`,
		`testdata/lint/fixture/F-003.md:8: replaces F-009: version must be the whole number (from 1) published under that id`,
		`testdata/lint/fixture/F-003.md:9: replaces F-009 v2: hash must be 64 lower-case hex digits (the sha256 of that file)`,
		`testdata/lint/other/G-001.md:8: severity SEV-4 is not one of book other's severities (SEV-1)`,
	})
}

func TestApprovalsParsedAndInJSON(t *testing.T) {
	cat, _ := Load(os.DirFS("testdata/lint"), "testdata/lint")
	p, ok := cat.Procedure("F-001")
	if !ok {
		t.Fatal("F-001 not loaded")
	}
	a := p.Steps[1].Approval
	if a == nil || a.Role != "approver" || a.Count != 1 || a.Window != 24*time.Hour {
		t.Fatalf("step 2 approval = %+v, want approver, count 1 (the default), 24h", a)
	}
	if p.Steps[0].Approval != nil || p.Steps[0].Irreversible || !p.Steps[2].Irreversible {
		t.Errorf("step rules on the wrong steps: %+v", p.Steps)
	}
	out, err := json.Marshal(p.Steps)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"approval":{"role":"approver","count":1,"window":"24h"}`, `"number":3,`, `"irreversible":true`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("steps JSON lacks %s:\n%s", want, out)
		}
	}
	if strings.Count(string(out), `"approval"`) != 1 || strings.Count(string(out), `"irreversible"`) != 1 {
		t.Errorf("approval or irreversible on steps without them:\n%s", out)
	}
	var back []Step
	if err := json.Unmarshal(out, &back); err != nil || back[1].Approval.Window != 24*time.Hour {
		t.Errorf("steps JSON does not read back: %v %+v", err, back)
	}
	for d, want := range map[time.Duration]string{24 * time.Hour: "24h", 90 * time.Minute: "1h30m", 45 * time.Second: "45s", 2*time.Hour + 5*time.Second: "2h0m5s"} {
		if got := shortDuration(d); got != want {
			t.Errorf("shortDuration(%v) = %s, want %s", d, got, want)
		}
	}
}

const renumberPolicy = `id: r
first_response: R-104
worst: first
severities:
  - id: SEV-1
lifecycle:
  initial: OPEN
  closing: CLOSED
  closed: [CLOSED]
  states: [OPEN, CLOSED]
  transitions:
    OPEN: [CLOSED]
external:
  - id: R-701
    title: Device runbook
    status: a sketch
    where: the device repository
`

func proc(id, title string, version int, extra string) string {
	return "---\nid: " + id + "\ntitle: " + title + "\nkind: incident\nversion: " + itoa(version) + "\n" + extra + "---\n1. Act.\n"
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// TestResolveRenumbered: a book renumbered the way the operations book was
// (R-104 v2 moved to given to another procedure), an id
// that is gone, an id that went to two procedures, and an external id.
func TestResolveRenumbered(t *testing.T) {
	oldHash := strings.Repeat("ab", 32)
	fsys := book(map[string]string{
		"book.yaml": renumberPolicy,
		"R-104.md":  proc("R-104", "AO process not answering", 3, "replaces:\n  - {id: R-106, version: 1}\n"),
		"R-105.md":  proc("R-105", "Key compromise", 3, "replaces:\n  - {id: R-104, version: 2, hash: "+oldHash+"}\n  - {id: R-050, version: 1}\n"),
		"R-201.md":  proc("R-201", "Daily", 1, "replaces:\n  - {id: R-090, version: 1}\n"),
		"R-202.md":  proc("R-202", "Sweep", 1, "replaces:\n  - {id: R-090, version: 2}\n"),
	})
	cat, probs := Load(fsys, "")
	if len(probs) > 0 {
		t.Fatalf("problems: %v", probs)
	}
	cases := []struct {
		id      string
		version int
		hash    string
		want    string // "" when not ok
		note    string
	}{
		{"R-104", 3, "", "R-104", ""},
		{"R-104", 2, "", "R-105", "R-104 v2 is now R-105 (Key compromise); R-104 is now AO process not answering"},
		{"R-104", 0, oldHash, "R-105", "R-104 v2 is now R-105 (Key compromise); R-104 is now AO process not answering"},
		{"R-104", 3, oldHash, "R-105", "R-104 v2 is now R-105 (Key compromise); R-104 is now AO process not answering"},
		{"R-104", 0, "", "R-104", "R-104 is now AO process not answering; the procedure cited as R-104 v2 is now R-105 (Key compromise)"},
		{"R-104", 7, "", "R-104", "the books hold R-104 v3, not the v7 cited; R-104 is now AO process not answering; the procedure cited as R-104 v2 is now R-105 (Key compromise)"},
		{"R-106", 1, "", "R-104", "R-106 v1 is now R-104 (AO process not answering)"},
		{"R-106", 0, "", "R-104", "R-106 is now R-104 (AO process not answering)"},
		{"R-050", 4, "", "R-105", "R-050 is now R-105 (Key compromise)"},
		{"R-090", 2, "", "R-202", "R-090 v2 is now R-202 (Sweep)"},
		{"R-090", 0, "", "", "R-090 v1 is now R-201 (Daily); R-090 v2 is now R-202 (Sweep): give the version cited"},
		{"R-701", 0, "", "", "R-701 (Device runbook) is not in the books: a sketch; see the device repository"},
		{"R-999", 1, "", "", ""},
	}
	for _, c := range cases {
		p, note, ok := cat.ResolveCited(c.id, c.version, c.hash)
		got := ""
		if ok {
			got = p.ID
		}
		if got != c.want || note != c.note || ok != (c.want != "") {
			t.Errorf("Resolve(%s v%d %.8s) = %q, %q, %v; want %q, %q", c.id, c.version, c.hash, got, note, ok, c.want, c.note)
		}
	}
	if r := cat.Replaced("R-104"); len(r) != 1 || r[0].Version != 2 || r[0].Hash != oldHash {
		t.Errorf("Replaced(R-104) = %+v", r)
	}
	// Found from the files alone, as the CLI does.
	p, note, ok, _ := FindResolved(fsys, "", "R-104", 2)
	if !ok || p.ID != "R-105" || !strings.HasPrefix(note, "R-104 v2 is now R-105") {
		t.Errorf("FindResolved(R-104, 2) = %v, %q, %v", p, note, ok)
	}
}

func TestReplacesConflicts(t *testing.T) {
	fsys := book(map[string]string{
		"book.yaml": renumberPolicy,
		"R-104.md":  proc("R-104", "One", 1, "replaces:\n  - {id: R-050, version: 1}\n"),
		"R-105.md":  proc("R-105", "Two", 1, "replaces:\n  - {id: R-050, version: 1}\n  - {id: R-105, version: 1}\n  - {id: R-051, version: 1, owner: me}\n"),
	})
	_, probs := Load(fsys, "")
	wantProblems(t, probs, []string{
		"b/R-105.md:7: replaces R-050 v1, which R-104 also replaces: a citation must lead to one procedure",
		"b/R-105.md:8: replaces R-105: a procedure cannot replace its own id (older versions of the same id need no entry)",
		"b/R-105.md:9: replaces field owner is not one of id, version, hash",
	})
}

const trailPolicy = `id: t
first_response: T-001
worst: last
severities:
  - id: SEV_1_LOW
  - id: SEV_3_HIGH
  - id: SEV_4_CRITICAL
lifecycle:
  initial: DETECTED
  closing: CLOSED
  closed: [CLOSED]
  states: [DETECTED, STABILIZED, CLOSED]
  transitions:
    DETECTED: [CLOSED]
roles:
  - {id: incident-commander, name: Incident Commander}
audit_trail:
  source: DOC §32
  from_severity: SEV_3_HIGH
  items:
    - id: scopes
      item: affected scopes
      satisfied_by: ["note:scope:"]
    - id: contained
      item: who contained it
      satisfied_by: [state_changed:STABILIZED, role_assigned:incident-commander]
    - id: restart
      item: restart criteria and sign-off
      satisfied_by: [restart_criteria_signed]
`

func TestAuditTrailPolicy(t *testing.T) {
	p, probs := ParsePolicy("book.yaml", []byte(trailPolicy))
	if probs != nil {
		t.Fatal(probs)
	}
	items := p.AuditTrailFor("SEV_4_CRITICAL")
	if len(items) != 3 || items[0].ID != "scopes" || items[0].Line != 21 {
		t.Fatalf("AuditTrailFor(SEV_4) = %+v", items)
	}
	if got := items[1].Satisfiers(); len(got) != 2 || got[0] != (Satisfier{"state_changed", "STABILIZED"}) || got[1] != (Satisfier{"role_assigned", "incident-commander"}) {
		t.Errorf("satisfiers = %+v", got)
	}
	if got := items[0].Satisfiers(); got[0] != (Satisfier{"note", "scope:"}) {
		t.Errorf("note prefix = %+v", got)
	}
	if p.AuditTrailFor("SEV_3_HIGH") == nil || p.AuditTrailFor("SEV_1_LOW") != nil || p.AuditTrailFor("SEV_9") != nil {
		t.Error("the trail applies from SEV_3_HIGH and worse only")
	}
	for _, c := range []struct{ old, new, want string }{
		{`satisfied_by: ["note:scope:"]`, `satisfied_by: [notes]`, `book.yaml:21: audit_trail item scopes: "notes" is not a ledger event type`},
		{`state_changed:STABILIZED`, `state_changed:CALM`, `book.yaml:24: audit_trail item contained: state_changed:CALM names a state that is not in the lifecycle`},
		{`role_assigned:incident-commander`, `role_assigned:boss`, `book.yaml:24: audit_trail item contained: role_assigned:boss names a role that is not one of the book's (incident-commander)`},
		{`[restart_criteria_signed]`, `[runbook_linked:yes]`, `book.yaml:27: audit_trail item restart: runbook_linked:yes: a runbook_linked entry carries no text to match`},
		{`[restart_criteria_signed]`, `[]`, `book.yaml:27: audit_trail item restart: satisfied_by is empty`},
		{`from_severity: SEV_3_HIGH`, `from_severity: SEV_3`, `book.yaml:19: audit_trail from_severity "SEV_3" is not one of the severities`},
		{`    - id: restart`, `    - id: scopes`, `book.yaml:27: audit_trail item scopes is listed twice`},
	} {
		_, probs := ParsePolicy("book.yaml", []byte(strings.Replace(trailPolicy, c.old, c.new, 1)))
		all := problemLines(probs)
		if !strings.Contains(strings.Join(all, "\n"), c.want) {
			t.Errorf("%s -> %s: problems\n%s\nwant %q", c.old, c.new, strings.Join(all, "\n"), c.want)
		}
	}
}

func TestPolicyExtrasProblems(t *testing.T) {
	for _, c := range []struct{ add, want string }{
		{"incident_classes:\n  - {id: inc_lower}\n", `book.yaml:31: incident class "inc_lower": write ids in capitals`},
		{"incident_classes:\n  - {id: INC_A}\n  - {id: INC_A}\n", `book.yaml:32: incident class INC_A is listed twice`},
		{"terms:\n  profiles: []\n", `book.yaml:1: terms profiles is empty`},
		{"external:\n  - {id: R-1}\n", `book.yaml:31: external procedure needs an id and a title`},
	} {
		_, probs := ParsePolicy("book.yaml", []byte(trailPolicy+c.add))
		all := problemLines(probs)
		if !strings.Contains(strings.Join(all, "\n"), c.want) {
			t.Errorf("%q: problems\n%s\nwant %q", c.add, strings.Join(all, "\n"), c.want)
		}
	}
	p, _ := ParsePolicy("book.yaml", []byte(strings.Replace(trailPolicy, "  - id: SEV_3_HIGH\n", "  - id: SEV_3_HIGH\n    formerly: [SEV_3_SEVERE]\n", 1)))
	if now, ok := p.CurrentSeverity("SEV_3_SEVERE"); !ok || now != "SEV_3_HIGH" {
		t.Errorf("CurrentSeverity(SEV_3_SEVERE) = %s, %v", now, ok)
	}
	if _, ok := p.CurrentSeverity("SEV_2_MEDIUM"); ok {
		t.Error("CurrentSeverity accepted an unknown id")
	}
}

// TestScannersMatchTheirPatterns: lint scans words by hand for speed; the
// hand scanners must find what these regular expressions find, on samples
// and on every line of the shipped books.
func TestScannersMatchTheirPatterns(t *testing.T) {
	procRef := regexp.MustCompile(`\b[A-Z][A-Z0-9]*(?:-[A-Z][A-Z0-9]*)*-[0-9]+\b`)
	capsWord := regexp.MustCompile(`\b[A-Z][A-Z0-9_]*[A-Z0-9]\b`)
	lines := []string{
		"See O-105, RB-CONSENSUS-001's steps, O-101..O-108 and (O-107.md).",
		"E-301 K-002 AZ-015 §24 SEV-1 SEV_2_MEDIUM INC_* RP_HALT_SCOPED x-O-105 O-105-x o-105 O-1NN",
		"RB-TRIAGE-001 TRIAGE-x x-DETECTED STABILISED Paxiom MUST _A A_ é-O-1 A1-2 1A-3 éDETECTED ÉO-105",
	}
	cat := shipped(t)
	for _, p := range cat.Filter(Filter{}) {
		forTextLines(p, func(_ int, text string) { lines = append(lines, text) })
	}
	for _, l := range lines {
		var refs []string
		forProcedureRefs(l, func(id string) { refs = append(refs, id) })
		if want := procRef.FindAllString(l, -1); !slices.Equal(refs, want) {
			t.Errorf("%q: ids %q, pattern finds %q", l, refs, want)
		}
		var words []string
		forCapsWords(l, func(w string) { words = append(words, w) })
		var want []string
		for _, ix := range capsWord.FindAllStringIndex(l, -1) {
			if (ix[0] == 0 || l[ix[0]-1] != '-') && (ix[1] == len(l) || l[ix[1]] != '-') {
				want = append(want, l[ix[0]:ix[1]])
			}
		}
		if !slices.Equal(words, want) {
			t.Errorf("%q: words %q, pattern finds %q", l, words, want)
		}
	}
}

// BenchmarkLintText measures the text checks alone (cross-references,
// sections, severities, states, classes) over the shipped books.
func BenchmarkLintText(b *testing.B) {
	c, probs := Load(docs.Runbooks(), "")
	if len(probs) > 0 {
		b.Fatal(probs)
	}
	b.ReportAllocs()
	for b.Loop() {
		if probs := c.checkReferences(); len(probs) > 0 {
			b.Fatal(probs)
		}
	}
}

// TestFrontMatterListShapes: approvals and replaces are both lists of
// mappings with known keys; each misshapen form is reported at its line,
// and the entries around it are still read.
func TestFrontMatterListShapes(t *testing.T) {
	fsys := book(map[string]string{
		"book.yaml": renumberPolicy,
		"R-104.md":  proc("R-104", "Lists", 1, "approvals: {step: 1}\nreplaces: R-050\n"),
		"R-105.md": proc("R-105", "Entries", 1, "approvals:\n  - just text\n  - {step: x}\n  - {step: 1, role: ic, window: 1h, colour: red}\n"+
			"replaces:\n  - just text\n  - {id: R-050, version: two}\n  - {id: R-051, version: 1, owner: me}\n"),
	})
	cat, probs := Load(fsys, "")
	wantProblems(t, probs, []string{
		"b/R-104.md:6: approvals must be a list of {step, role, count, window}",
		"b/R-104.md:7: replaces must be a list of {id, version, hash}",
		"b/R-105.md:7: approval entry must be a mapping with step, role, count and window",
		"b/R-105.md:8: invalid YAML: cannot unmarshal !!str `x` into int",
		"b/R-105.md:9: approval field colour is not one of step, role, count, window",
		`b/R-105.md:9: approval for step 1: role "ic" is not one of book r's roles ()`,
		"b/R-105.md:11: replaces entry must be a mapping with id, version and (optionally) hash",
		"b/R-105.md:12: invalid YAML: cannot unmarshal !!str `two` into int",
		"b/R-105.md:13: replaces field owner is not one of id, version, hash",
	})
	p, _ := cat.Procedure("R-105")
	if a := p.Steps[0].Approval; a == nil || a.Role != "ic" || len(p.Replaces) != 1 || p.Replaces[0].ID != "R-051" {
		t.Errorf("the well-formed entries were not kept: approval %+v, replaces %+v", a, p.Replaces)
	}
}
