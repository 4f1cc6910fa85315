package runbook

import (
	"io/fs"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/icconsole/ic/docs"
	"github.com/icconsole/ic/internal/termsafe"
)

const goodPolicy = `id: test
title: Test book
first_response: T-001
worst: first
severities:
  - id: SEV-1
    update_every: 15m
    requires: [evidence]
  - id: SEV-2
    update_every: 1h
triage:
  questions:
    - ask: Is anyone harmed?
      if_yes: SEV-1
  otherwise: SEV-2
lifecycle:
  initial: OPEN
  closing: CLOSED
  closed: [CLOSED]
  states: [OPEN, CLOSED]
  transitions:
    OPEN: [CLOSED]
requirements:
  evidence: [evidence_attached]
`

const goodProcedure = `---
id: T-001
title: First response
kind: incident
severity: SEV-1
version: 1
---
# T-001

## Immediate actions
1. Pause.
2. Assess, then read [T-002](T-002.md).
`

const goodRoutine = `---
id: T-002
title: Daily
kind: routine
version: 2
reviewed: 2026-01-02
---
## Steps
- [ ] Look at the dashboards
`

func book(files map[string]string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for name, body := range files {
		fsys["b/"+name] = &fstest.MapFile{Data: []byte(body)}
	}
	return fsys
}

// problemLines is each problem as the path:line: message line lint prints.
func problemLines(probs []Problem) []string {
	var out []string
	for _, p := range probs {
		out = append(out, p.String())
	}
	return out
}

// wantProblems fails t unless probs are want, as lint prints them, in
// that order.
func wantProblems(t *testing.T, probs []Problem, want []string) {
	t.Helper()
	if got := problemLines(probs); !slices.Equal(got, want) {
		t.Errorf("problems:\n%s\n\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestLoadGoodBook(t *testing.T) {
	cat, probs := Load(book(map[string]string{"book.yaml": goodPolicy, "T-001.md": goodProcedure, "T-002.md": goodRoutine}), "")
	if len(probs) != 0 {
		t.Fatalf("problems in a good book: %v", probs)
	}
	p, ok := cat.Procedure("T-001")
	if !ok {
		t.Fatal("T-001 not found")
	}
	if p.Book != "test" || p.Kind != Incident || p.Version != 1 || len(p.Hash) != 64 {
		t.Errorf("T-001 = book %q kind %q version %d hash %q", p.Book, p.Kind, p.Version, p.Hash)
	}
	if len(p.Steps) != 2 || p.Steps[1].Text != "Assess, then read T-002." || p.Steps[1].Line != 12 {
		t.Errorf("steps = %+v", p.Steps)
	}
	if len(p.Links) != 1 || p.Links[0].Target != "T-002" || p.Links[0].Line != 12 {
		t.Errorf("links = %+v", p.Links)
	}
	r, _ := cat.Procedure("T-002")
	if len(r.Steps) != 1 || !r.Steps[0].Task || r.Steps[0].Section != "Steps" {
		t.Errorf("routine steps = %+v", r.Steps)
	}
	if got := cat.Filter(Filter{Kind: Routine}); len(got) != 1 || got[0].ID != "T-002" {
		t.Errorf("Filter(routine) = %v", got)
	}
	if got := cat.Filter(Filter{Query: "DASHBOARDS"}); len(got) != 1 || got[0].ID != "T-002" {
		t.Errorf("Filter(query) = %v", got)
	}
}

func TestLintProblems(t *testing.T) {
	replace := func(old, new string) string { return strings.Replace(goodProcedure, old, new, 1) }
	cases := []struct {
		name  string
		files map[string]string
		want  string // "path:line: message" fragment
	}{
		{"invalid front matter", map[string]string{"T-009.md": "---\nid: [unclosed\n---\n"}, "b/T-009.md:2: invalid YAML"},
		{"unknown field", map[string]string{"T-009.md": replace("version: 1", "version: 1\nowner: me")}, "b/T-009.md:7: invalid YAML: field owner is not a front matter field"},
		{"no front matter", map[string]string{"T-009.md": "# just text\n"}, "b/T-009.md:1: no YAML front matter"},
		{"missing id", map[string]string{"T-009.md": replace("id: T-001\n", "")}, "b/T-009.md:1: front matter has no id"},
		{"duplicate id", map[string]string{"T-003.md": replace("[T-002](T-002.md)", "x")}, "b/T-003.md:2: duplicate id T-001"},
		{"unknown kind", map[string]string{"T-009.md": replace("kind: incident", "kind: chore")}, "b/T-009.md:4: unknown kind \"chore\""},
		{"severity not in policy", map[string]string{"T-009.md": replace("severity: SEV-1", "severity: SEV-9")}, "b/T-009.md:5: severity \"SEV-9\" is not in book test's policy"},
		{"no numbered steps", map[string]string{"T-009.md": replace("1. Pause.\n2. Assess, then read [T-002](T-002.md).", "- Pause.")}, "incident procedure has no numbered steps"},
		{"unknown link", map[string]string{"T-009.md": strings.NewReplacer("T-002.md", "T-404.md", "id: T-001", "id: T-009").Replace(goodProcedure)}, "b/T-009.md:12: link to unknown procedure T-404"},
		{"too big", map[string]string{"T-009.md": goodProcedure + strings.Repeat("x", MaxFileSize)}, "b/T-009.md: file is"},
		{"invalid utf8", map[string]string{"T-009.md": replace("Pause.", "Pa\xffuse.")}, "b/T-009.md:11: invalid UTF-8"},
		{"control characters", map[string]string{"T-009.md": replace("Pause.", "Pause \x1b]0;owned\x07.")}, "b/T-009.md:11: control character U+001B"},
		{"bad gate", map[string]string{"T-009.md": replace("2. Assess", "2. Go\n   - Requires steps 5.\n3. Assess")}, "step 2 requires step 5"},
		{"bad reviewed date", map[string]string{"T-009.md": replace("version: 1", "version: 1\nreviewed: last week")}, "reviewed \"last week\" is not a date"},
		{"file name mismatch", map[string]string{"T-009.md": replace("id: T-001", "id: T-010")}, "id T-010 does not match the file name T-009.md"},
		{"policy unknown state", map[string]string{"book.yaml": strings.Replace(goodPolicy, "OPEN: [CLOSED]", "OPEN: [GONE]", 1)}, "transition OPEN -> GONE: unknown state"},
		{"policy bad cadence", map[string]string{"book.yaml": strings.Replace(goodPolicy, "update_every: 15m", "update_every: often", 1)}, "b/book.yaml:6: severity SEV-1: update_every \"often\""},
		{"policy missing first response", map[string]string{"book.yaml": strings.Replace(goodPolicy, "T-001", "T-404", 1)}, "first_response procedure T-404 is not in this book"},
		{"policy unknown requirement", map[string]string{"book.yaml": strings.Replace(goodPolicy, "requires: [evidence]", "requires: [prayer]", 1)}, "requires \"prayer\""},
		{"policy bad worst", map[string]string{"book.yaml": strings.Replace(goodPolicy, "worst: first", "worst: top", 1)}, "worst is \"top\""},
		{"policy triage unknown severity", map[string]string{"book.yaml": strings.Replace(goodPolicy, "if_yes: SEV-1", "if_yes: SEV-7", 1)}, "selects unknown severity \"SEV-7\""},
		{"policy invalid yaml", map[string]string{"book.yaml": "id: [\n"}, "b/book.yaml:1: invalid YAML"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			files := map[string]string{"book.yaml": goodPolicy, "T-001.md": goodProcedure, "T-002.md": goodRoutine}
			for k, v := range c.files {
				files[k] = v
			}
			cat, probs := Load(book(files), "")
			all := problemLines(probs)
			joined := strings.Join(all, "\n")
			if !strings.Contains(joined, c.want) {
				t.Fatalf("problems:\n%s\nwant one containing %q", joined, c.want)
			}
			// The good files still load unless the policy itself is broken.
			if _, bookBad := c.files["book.yaml"]; !bookBad {
				if _, ok := cat.Procedure("T-002"); !ok {
					t.Errorf("the good routine T-002 was not loaded next to the bad file")
				}
			}
		})
	}
}

func TestPolicySeverityOrder(t *testing.T) {
	lastWorst := strings.Replace(goodPolicy, "worst: first", "worst: last", 1)
	for _, c := range []struct {
		yaml      string
		worst     string
		suggestNo string
	}{{goodPolicy, "SEV-1", "SEV-2"}, {lastWorst, "SEV-2", "SEV-2"}} {
		p, probs := ParsePolicy("book.yaml", []byte(c.yaml))
		if probs != nil {
			t.Fatal(probs)
		}
		if got := p.SeverityIDs()[0]; got != c.worst {
			t.Errorf("worst = %s, want %s", got, c.worst)
		}
		if got := p.SuggestSeverity([]bool{false}); got != c.suggestNo {
			t.Errorf("SuggestSeverity(no) = %s, want %s", got, c.suggestNo)
		}
		if got := p.SuggestSeverity([]bool{true}); got != "SEV-1" {
			t.Errorf("SuggestSeverity(yes) = %s", got)
		}
		if p.UpdateCadence("SEV-1").Minutes() != 15 {
			t.Errorf("cadence = %v", p.UpdateCadence("SEV-1"))
		}
		if !p.Allows("OPEN", "CLOSED") || p.Allows("CLOSED", "OPEN") {
			t.Error("transitions not applied")
		}
	}
}

// TestShippedLibraryIsClean keeps `ic runbook lint docs/runbooks` clean.
func TestShippedLibraryIsClean(t *testing.T) {
	cat, probs := Load(docs.Runbooks(), "docs/runbooks")
	for _, p := range probs {
		t.Error(p)
	}
	want := map[string]int{"ops": 17, "atlas-zero": 29, "genesis-mesh": 6, "avs-operator": 15, "helix-tpaf": 10}
	for id, n := range want {
		b, ok := cat.Book(id)
		if !ok {
			t.Errorf("book %s missing", id)
			continue
		}
		if len(b.Procedures) != n {
			t.Errorf("book %s has %d procedures, want %d", id, len(b.Procedures), n)
		}
	}
	ops, _ := cat.Book("ops")
	if ops.Policy.FirstResponse != "O-020" || ops.Policy.UpdateCadence("SEV-1").Minutes() != 15 {
		t.Errorf("ops policy: first response %s", ops.Policy.FirstResponse)
	}
	az, _ := cat.Book("atlas-zero")
	if az.Policy.SeverityIDs()[0] != "SEV_5_SYSTEMIC" {
		t.Errorf("atlas-zero worst severity = %s", az.Policy.SeverityIDs()[0])
	}
	gate, _ := cat.Procedure("TPAF-001")
	if got := gate.Steps[17].Requires; len(got) != 3 || got[0] != 11 || got[1] != 16 || got[2] != 17 {
		t.Errorf("TPAF-001 step 18 gate = %v, want [11 16 17]", got)
	}
}

func BenchmarkLoadShippedLibrary(b *testing.B) {
	fsys := docs.Runbooks()
	for b.Loop() {
		if _, probs := Load(fsys, ""); len(probs) > 0 {
			b.Fatal(probs)
		}
	}
}

func FuzzParseProcedure(f *testing.F) {
	f.Add([]byte(goodProcedure))
	f.Add([]byte(goodRoutine))
	f.Add([]byte("---\n---\n"))
	f.Add([]byte("---\nid: x\n---\n1. a\n   - Requires steps 1, 99.\n"))
	f.Add([]byte("---\nid: x\ntitle: t\nkind: routine\nversion: 1\napprovals:\n  - {step: 1, role: r, count: 2, window: 24h}\nirreversible: [1]\nreplaces:\n  - {id: y, version: 1}\n---\n1. a\n"))
	f.Add([]byte("---\nid: x\ntitle: \"\\e[2J\"\nversion: 1\n---\n# &#x1b;]0;t&#7;\n1. &#155;2J \u202e\n" + strings.Repeat("> ", 40) + "x\n"))
	f.Add([]byte("---\nid: x\ntitle: t\nversion: 1\n---\n" + strings.Repeat("- ", 30) + "x\n" + strings.Repeat("  ", 20) + "1. y\n"))
	shipped, _ := fs.Glob(docs.Runbooks(), "ops/*.md")
	for _, name := range shipped[:min(3, len(shipped))] {
		data, _ := fs.ReadFile(docs.Runbooks(), name)
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, _ := ParseProcedure("fuzz", "f.md", data)
		if p == nil {
			return
		}
		if p.ID == "" || len(p.Hash) != 64 {
			t.Fatalf("accepted a procedure without id or hash: %+v", p)
		}
		texts := slices.Concat([]string{p.ID, p.Title, p.Severity, p.Reviewed, string(p.Kind), string(p.Body)}, p.Classes, p.Triggers)
		for _, s := range p.Sections {
			texts = append(texts, s.Title)
		}
		for _, s := range p.Steps {
			texts = append(texts, s.Text, s.Detail, s.Section)
		}
		for _, c := range p.Code {
			texts = append(texts, c.Text, c.Lang)
		}
		for _, l := range p.Links {
			texts = append(texts, l.Target, l.Text)
		}
		for _, s := range texts {
			if termsafe.NeedsEscape(s) {
				t.Fatalf("text %q from a procedure is not escaped", s)
			}
		}
		if d := depth(p.Body); d > MaxNesting {
			t.Fatalf("body nests %d deep, over %d", d, MaxNesting)
		}
	})
}

func TestFind(t *testing.T) {
	files := map[string]string{"book.yaml": goodPolicy, "T-001.md": goodProcedure, "T-002.md": goodRoutine,
		"misnamed.md": strings.NewReplacer("id: T-002", "id: T-005", "T-002 ", "").Replace(goodRoutine)}
	fsys := book(files)
	p, ok, _ := Find(fsys, "", "T-002")
	if !ok || p.ID != "T-002" || p.Book != "test" || p.Version != 2 {
		t.Fatalf("Find(T-002) = %+v, %v", p, ok)
	}
	// Not found by file name: the full load still finds it.
	if p, ok, _ := Find(fsys, "", "T-005"); !ok || p.Path != "b/misnamed.md" {
		t.Errorf("Find(T-005) = %v, %v", p, ok)
	}
	if _, ok, _ := Find(fsys, "", "../T-001"); ok {
		t.Error("Find accepted a path as an id")
	}
	if _, ok, _ := Find(fsys, "", "T-404"); ok {
		t.Error("Find found a procedure that does not exist")
	}
}
