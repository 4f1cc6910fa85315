package runbook

import (
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing"

	"github.com/icconsole/ic/docs"
	"github.com/icconsole/ic/internal/termsafe"

	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/text"
)

// aliasBomb is a "billion laughs": nine levels of nine aliases, 9^9 strings
// once expanded, written in a few hundred bytes.
func aliasBomb(indent string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%sa: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n", indent)
	prev := "a"
	for _, c := range "bcdefghi" {
		fmt.Fprintf(&b, "%s%c: &%c [*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s]\n", indent, c, c, prev, prev, prev, prev, prev, prev, prev, prev, prev)
		prev = string(c)
	}
	return b.String()
}

func manyKeys(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "  k%d: [note]\n", i)
	}
	return b.String()
}

func TestParsePolicyLimits(t *testing.T) {
	nested := "requirements:\n  deep: " + strings.Repeat("[", 70) + strings.Repeat("]", 70) + "\n"
	cases := []struct {
		name, yaml, want string
	}{
		{"over the size limit", goodPolicy + "# " + strings.Repeat("x", MaxPolicySize) + "\n", "book.yaml: file is 65966 bytes, over the 65536-byte limit for a book policy"},
		{"alias bomb", strings.Replace(goodPolicy, "requirements:\n", "requirements:\n"+aliasBomb("  "), 1), "book.yaml:1: YAML too large: more than 20000 nodes once aliases are expanded"},
		{"too many keys", strings.Replace(goodPolicy, "requirements:\n", "requirements:\n"+manyKeys(MaxMappingKeys+1), 1), "book.yaml:24: YAML mapping with 1002 keys, over the limit of 1000"},
		{"too deep", strings.Replace(goodPolicy, "requirements:\n  evidence: [evidence_attached]\n", nested, 1), "YAML nested deeper than 64 levels"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, probs := ParsePolicy("book.yaml", []byte(c.yaml))
			if p != nil {
				t.Error("policy accepted")
			}
			if got := fmt.Sprint(probs); !strings.Contains(got, c.want) {
				t.Errorf("problems = %s\nwant %q", got, c.want)
			}
		})
	}
	// Aliases within the limit are still fine.
	withAlias := strings.Replace(goodPolicy, "  closed: [CLOSED]\n  states: [OPEN, CLOSED]", "  closed: &closed [CLOSED]\n  states: [OPEN, CLOSED]\n  after_close: *closed", 1)
	if p, probs := ParsePolicy("book.yaml", []byte(withAlias)); p == nil || len(probs) != 0 {
		t.Errorf("a policy with a small alias: %v", probs)
	}
}

func TestFrontMatterLimits(t *testing.T) {
	cases := []struct {
		name, file, want string
	}{
		{"alias bomb", strings.Replace(goodProcedure, "version: 1\n", "version: 1\ntriggers: *i\n", 1) + "", ""},
		{"front matter too big", strings.Replace(goodProcedure, "version: 1\n", "version: 1\n# "+strings.Repeat("x ", MaxFrontMatterSize/2)+"\n", 1), ""},
	}
	cases[0].file = strings.Replace(goodProcedure, "version: 1\n", "version: 1\nx:\n"+aliasBomb("  ")+"triggers: *i\n", 1)
	cases[0].want = "T-001.md:2: YAML too large: more than 2000 nodes once aliases are expanded"
	cases[1].file = strings.Replace(goodProcedure, "version: 1\n", "version: 1\n"+strings.Repeat("# "+strings.Repeat("x", 1000)+"\n", 17), 1)
	cases[1].want = "T-001.md:2: front matter is 17"
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, probs := ParseProcedure("b", "T-001.md", []byte(c.file))
			if p != nil {
				t.Error("procedure accepted")
			}
			if got := fmt.Sprint(probs); !strings.Contains(got, c.want) {
				t.Errorf("problems = %s\nwant %q", got, c.want)
			}
		})
	}
}

func TestLongLinesAreRefused(t *testing.T) {
	long := strings.Replace(goodProcedure, "1. Pause.", "1. Pause "+strings.Repeat("[a](", 600)+".", 1)
	p, probs := ParseProcedure("b", "T-001.md", []byte(long))
	if p != nil || len(probs) != 1 || probs[0].String() != "T-001.md:11: line is 2410 bytes, over the 2048-byte limit for one line: wrap it" {
		t.Errorf("ParseProcedure(long line) = %v, %v", p, probs)
	}
	atLimit := strings.Replace(goodProcedure, "1. Pause.", "1. "+strings.Repeat("x", MaxLineSize-3), 1)
	if p, probs := ParseProcedure("b", "T-001.md", []byte(atLimit)); p == nil || len(probs) != 0 {
		t.Errorf("a line at the limit: %v", probs)
	}
}

// depth is the deepest nesting of lists and block quotes in a Markdown text,
// as goldmark parses it.
func depth(body []byte) int {
	doc := markdown.Parser().Parse(text.NewReader(body))
	deepest := 0
	var walk func(n ast.Node, d int)
	walk = func(n ast.Node, d int) {
		if n.Kind() == ast.KindList || n.Kind() == ast.KindBlockquote {
			d++
		}
		deepest = max(deepest, d)
		for c := n.FirstChild(); c != nil; c = c.NextSibling() {
			walk(c, d)
		}
	}
	walk(doc, 0)
	return deepest
}

func TestDeepNestingIsShownFlatWithAWarning(t *testing.T) {
	stair := func(marker string) string {
		var b strings.Builder
		for i := range 40 {
			b.WriteString(strings.Repeat("  ", i) + marker + " item\n")
		}
		return b.String()
	}
	cases := []struct {
		name, body string
		line, more int
	}{
		{"quotes on one line", strings.Repeat("> ", 1000) + "deep\n", 11, 0},
		{"list markers on one line", strings.Repeat("- ", 1000) + "deep\n", 11, 0},
		{"ordered markers", strings.Repeat("1. ", 600) + "deep\n", 11, 0},
		{"quotes and lists", strings.Repeat("> - ", 500) + "deep\n", 11, 0},
		{"a stair of lists", stair("-"), 11 + 16, 40 - 17},
		{"many deep lines", strings.Repeat(strings.Repeat("> ", 20)+"x\n", 50), 11, 49},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			file := strings.Replace(goodProcedure, "## Immediate actions\n", "## Immediate actions\n"+c.body, 1)
			if depth([]byte(file)) <= MaxNesting {
				t.Fatalf("the test input is not deep enough: %d", depth([]byte(file)))
			}
			p, probs := ParseProcedure("b", "T-001.md", []byte(file))
			if p == nil {
				t.Fatalf("procedure refused: %v", probs)
			}
			want := fmt.Sprintf("T-001.md:%d: warning: lists and block quotes nested deeper than 16 levels are shown flat", c.line)
			if c.more > 0 {
				want += fmt.Sprintf(" (this line and %d more)", c.more)
			}
			if len(probs) != 1 || probs[0].String() != want || !probs[0].Warning {
				t.Errorf("problems = %v\nwant %q", probs, want)
			}
			if d := depth(p.Body); d > MaxNesting {
				t.Errorf("the body as rendered still nests %d deep", d)
			}
			if !strings.Contains(string(p.Body), "deep") && !strings.Contains(string(p.Body), "item") && !strings.Contains(string(p.Body), "x") {
				t.Error("the text of the deep lines was lost")
			}
			if HasErrors(probs) {
				t.Error("a warning counted as an error")
			}
		})
	}
	// Deep indentation without markers is code or continuation: untouched.
	code := strings.Replace(goodProcedure, "## Immediate actions\n", "## Immediate actions\n```\n"+strings.Repeat(" ", 80)+"indented: code\n```\n", 1)
	if p, probs := ParseProcedure("b", "T-001.md", []byte(code)); len(probs) != 0 || !strings.Contains(string(p.Body), strings.Repeat(" ", 80)+"indented") {
		t.Errorf("deeply indented code was changed: %v", probs)
	}
}

func TestNestingCut(t *testing.T) {
	q := strings.Repeat("> ", MaxNesting)
	for in, want := range map[string]string{
		q + "x":                          q + "x",
		q + "> x":                        q + "x",
		q + "> > > - 1. x\n":             q + "x\n",
		strings.Repeat(" ", 100) + "- x": strings.Repeat(" ", 2*MaxNesting) + "x",
		strings.Repeat(" ", 100) + "x":   strings.Repeat(" ", 100) + "x",
		"- - - x":                        "- - - x",
		"1234567890. x":                  "1234567890. x",
		strings.Repeat("\t", 9) + "- x":  strings.Repeat("\t", 8) + "x",
		"\t\t\t  \t\t\t\t\t\t- x":        "\t\t\t  \t\t\t\t\t" + "x",
	} {
		got, _, _ := limitNesting([]byte(in))
		if string(got) != want {
			t.Errorf("limitNesting(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestBookTextIsEscapedAndReported(t *testing.T) {
	proc := strings.NewReplacer(
		"title: First response", `title: "First \e[2J response"`,
		"severity: SEV-1", "severity: \"SEV-1\"\nclasses: [\"key\\u202ecompromise\", \"\\u009b31m\"]",
		"# T-001", "# T-001 &#x1b;]0;owned&#7;",
		"1. Pause.", "1. Pause &#27;[31m now &#155;2J.",
		"2. Assess", "2. Assess \u202Edesrever",
	).Replace(goodProcedure)
	policy := strings.NewReplacer(
		"title: Test book", `title: "Test \u009b2J book"`,
		"    update_every: 1h", "    update_every: 1h\n    meaning: \"\\e]52;c;aGk=\\a\"",
		"ask: Is anyone harmed?", "ask: Is anyone &#x1B;[8m harmed?",
	).Replace(goodPolicy) + "roles:\n  - {id: commander, name: \"Incident \\u2066Commander\"}\n"
	cat, probs := Load(book(map[string]string{"book.yaml": policy, "T-001.md": proc, "T-002.md": goodRoutine}), "")
	got := fmt.Sprint(probs)
	for _, want := range []string{
		`b/T-001.md:3: control character U+001B in "First \\x1b[2J response" (written as a YAML escape?)`,
		`b/T-001.md:6: bidirectional control U+202E in "key\\u202ecompromise"`,
		`b/T-001.md:9: HTML entity #x1b; for control character U+001B in text`,
		`b/T-001.md:12: HTML entity #27; for control character U+001B in text`,
		`b/T-001.md:13: bidirectional control U+202E in text`,
		`b/book.yaml:2: control character U+009B in "Test \\x9b2J book"`,
		`b/book.yaml:11: control character U+001B in "\\x1b]52;c;aGk=\\x07"`,
		`b/book.yaml:14: HTML entity #x1B; for control character U+001B in text`,
		`b/book.yaml:27: bidirectional control U+2066 in "Incident \\u2066Commander"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("no problem %q in:\n%s", want, strings.ReplaceAll(got, "} {", "}\n{"))
		}
	}
	if !HasErrors(probs) {
		t.Error("unsafe characters are not errors")
	}
	p, ok := cat.Procedure("T-001")
	if !ok {
		t.Fatal("T-001 not loaded: escaped text must not cost the procedure")
	}
	b, _ := cat.Book("test")
	fields := []string{p.Title, p.Classes[0], p.Classes[1], p.Steps[0].Text, p.Steps[1].Text, p.Sections[0].Title, string(p.Body),
		b.Policy.Title, b.Policy.Severities[1].Meaning, b.Policy.Triage.Questions[0].Ask, b.Policy.Roles[0].Name}
	for _, f := range fields {
		for _, bad := range []string{"\x1b", "\u009b", "\u202e", "\u2066", "&#x1b;", "&#27;", "&#155;", "&#x1B;", "\a"} {
			if strings.Contains(f, bad) {
				t.Errorf("%q still holds %q", f, bad)
			}
		}
	}
	if p.Title != `First \x1b[2J response` || p.Steps[0].Text != `Pause \x1b[31m now \x9b2J.` || b.Policy.Roles[0].Name != `Incident \u2066Commander` {
		t.Errorf("escaped text: title %q, step %q, role %q", p.Title, p.Steps[0].Text, b.Policy.Roles[0].Name)
	}
}

func policyStrings(p *Policy) []string {
	out := []string{p.ID, p.Title, p.Description, p.FirstResponse, p.Worst, p.Triage.Otherwise}
	for _, s := range p.Severities {
		out = append(out, s.ID, s.Meaning, s.UpdateEvery)
		out = append(out, s.Requires...)
	}
	for _, q := range p.Triage.Questions {
		out = append(out, q.Ask, q.IfYes)
	}
	lc := p.Lifecycle
	out = append(out, lc.Initial, lc.Contained, lc.Closing)
	out = append(out, slices.Concat(lc.Closed, lc.States, lc.AfterClose)...)
	for from, to := range lc.Transitions {
		out = append(append(out, from), to...)
	}
	for name, types := range p.Requirements {
		out = append(append(out, name), types...)
	}
	for _, r := range p.Roles {
		out = append(out, r.ID, r.Name, r.Duty)
	}
	return out
}

func FuzzParsePolicy(f *testing.F) {
	f.Add([]byte(goodPolicy))
	f.Add([]byte(strings.Replace(goodPolicy, "requirements:\n", "requirements:\n"+aliasBomb("  "), 1)))
	f.Add([]byte(strings.Replace(goodPolicy, "title: Test book", `title: "\e[2J &#x1b; \u202e"`, 1)))
	f.Add([]byte("a: &a [*a]\n"))
	f.Add([]byte("<<: *x\n"))
	shipped, _ := fs.Glob(docs.Runbooks(), "*/"+PolicyFile)
	for _, name := range shipped {
		data, _ := fs.ReadFile(docs.Runbooks(), name)
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, probs := ParsePolicy("book.yaml", data)
		if p == nil {
			if len(probs) == 0 {
				t.Fatal("policy refused without a problem")
			}
			return
		}
		for _, s := range policyStrings(p) {
			if termsafe.NeedsEscape(s) {
				t.Fatalf("policy string %q is not escaped", s)
			}
		}
		if len(p.SeverityIDs()) != len(p.Severities) {
			t.Fatalf("severity ids %v for %d severities", p.SeverityIDs(), len(p.Severities))
		}
	})
}

func TestRawFindingsOnePerLineFiveLinesAtMost(t *testing.T) {
	body := strings.Repeat("x &#27; \x1b \u202e\n", 7)
	p, probs := ParseProcedure("b", "T-001.md", []byte(strings.Replace(goodProcedure, "## Immediate actions\n", "## Immediate actions\n"+body, 1)))
	if p == nil || len(probs) != 5 {
		t.Fatalf("problems = %v", probs)
	}
	for i, pr := range probs {
		if pr.Line != 11+i {
			t.Errorf("problem %d on line %d, want %d", i, pr.Line, 11+i)
		}
	}
	if !strings.HasSuffix(probs[4].Msg, "(and more after it)") {
		t.Errorf("last problem = %q", probs[4].Msg)
	}
}

// yaml.v3 quotes the offending value in its errors; the problem must not
// carry it raw.
func TestYAMLErrorsAreEscaped(t *testing.T) {
	_, probs := ParsePolicy("book.yaml", []byte("severities: \"\\e[2J\u202e\"\n"))
	if len(probs) == 0 || termsafe.NeedsEscape(probs[len(probs)-1].Msg) || !strings.Contains(probs[len(probs)-1].Msg, `\x1b[2J\u202e`) {
		t.Errorf("problems = %q", probs)
	}
}
