package runbook

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/icconsole/ic/internal/termsafe"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	extast "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/text"
	"go.yaml.in/yaml/v3"
)

// Kind says how a procedure is used.
type Kind string

const (
	// Incident procedures are followed while something is broken; the
	// console borders them red, and each needs numbered steps.
	Incident Kind = "incident"
	// Routine procedures are walked on a normal day; bordered green.
	Routine Kind = "routine"
	// Reference procedures are read, not walked (O-700's return codes).
	Reference Kind = "reference"
)

// Meta is what a procedure's front matter says of it, and its identity:
// what a listing shows.
type Meta struct {
	ID       string   `json:"id"`
	Title    string   `json:"title"`
	Kind     Kind     `json:"kind"`
	Book     string   `json:"book"`
	Severity string   `json:"severity,omitempty"`
	Classes  []string `json:"classes,omitempty"`
	Triggers []string `json:"triggers,omitempty"`
	Version  int      `json:"version"`
	Reviewed string   `json:"reviewed,omitempty"`
	// Hash is the hex sha256 of the file's bytes: with Version, the
	// procedure's identity when a timeline entry cites it.
	Hash string `json:"hash"`
}

// Procedure is one parsed runbook file. Its JSON is what
// `ic runbook show --json` prints.
type Procedure struct {
	Meta
	// Replaces lists the old ids and versions this procedure answers for
	// (replaces.go).
	Replaces []Replacement `json:"replaces,omitempty"`
	Path     string        `json:"path"`

	Sections []Section `json:"sections"`
	Steps    []Step    `json:"steps"`
	// Code is not part of the JSON, which carries the metadata, sections,
	// steps and links; the code is in Body.
	Code  []CodeBlock `json:"-"`
	Links []Link      `json:"links,omitempty"`

	// Body is the Markdown after the front matter, made safe: controls,
	// bidirectional characters and entities that decode to them are visible
	// escapes, and lists or quotes nested past MaxNesting are flattened.
	// Hash is of the file as written.
	Body []byte `json:"-"`

	fieldLines map[string]int
	haystack   string
	bodyLine   int
}

// Listing is a procedure as `ic runbook list --json` prints it: its Meta,
// the number of its steps and the old ids it answers for.
type Listing struct {
	Meta
	Steps    int           `json:"steps"`
	Replaces []Replacement `json:"replaces,omitempty"`
}

// Listing returns p as a listing shows it.
func (p *Procedure) Listing() Listing {
	return Listing{Meta: p.Meta, Steps: len(p.Steps), Replaces: p.Replaces}
}

// Section is a heading and where it starts.
type Section struct {
	Title string `json:"title"`
	Level int    `json:"level"`
	Line  int    `json:"line"`
}

// Step is one item an operator checks off: a top-level numbered list item
// (with everything nested under it) or a task-list item ("- [ ] ...").
// Number counts from 1 across the whole procedure, in document order.
type Step struct {
	Number  int    `json:"number"`
	Section string `json:"section"`
	Text    string `json:"text"`
	Detail  string `json:"detail,omitempty"`
	Task    bool   `json:"task,omitempty"`
	Line    int    `json:"line"`
	// Requires lists earlier steps that must be done before this one may be
	// checked, written as a nested line "Requires steps 3, 4, 5." (a gate).
	Requires []int `json:"requires,omitempty"`
	// Approval, when set, is the approval the step needs before it may be
	// recorded; Irreversible steps may be recorded once, and only after
	// every earlier step (approval.go).
	Approval     *Approval `json:"approval,omitempty"`
	Irreversible bool      `json:"irreversible,omitempty"`
}

// CodeBlock is a fenced or indented code block.
type CodeBlock struct {
	Lang string `json:"lang,omitempty"`
	Text string `json:"text"`
	Line int    `json:"line"`
}

// Link is a Markdown link to another procedure, written as a relative link
// to its file ("O-020.md" or "../ops/O-020.md"); Target is the id.
type Link struct {
	Target string `json:"target"`
	Text   string `json:"text"`
	Line   int    `json:"line"`
}

type frontMatter struct {
	ID       string   `yaml:"id"`
	Title    string   `yaml:"title"`
	Kind     string   `yaml:"kind"`
	Severity string   `yaml:"severity"`
	Classes  []string `yaml:"classes"`
	Triggers []string `yaml:"triggers"`
	Version  int      `yaml:"version"`
	Reviewed string   `yaml:"reviewed"`
}

var knownFrontMatter = map[string]bool{
	"id": true, "title": true, "kind": true, "severity": true, "classes": true,
	"triggers": true, "version": true, "reviewed": true,
	"approvals": true, "irreversible": true, "replaces": true,
}

var markdown = goldmark.New(goldmark.WithExtensions(extension.GFM))

// ParseProcedure parses one procedure file. It returns every problem found
// in the file itself; checks that need the rest of the book (severity in the
// policy, link targets, duplicate ids) are made by Load. The procedure is nil
// when the file cannot be used at all.
func ParseProcedure(book, file string, data []byte) (*Procedure, []Problem) {
	var probs []Problem
	bad := reporter(file, &probs)
	if len(data) > MaxFileSize {
		bad(0, "file is %d bytes, over the %d-byte limit for a procedure", len(data), MaxFileSize)
		return nil, probs
	}
	if !utf8.Valid(data) {
		off := invalidUTF8Offset(data)
		bad(lineAt(data, off), "invalid UTF-8 at byte %d", off)
		return nil, probs
	}
	if long := checkLineLengths(file, data); long != nil {
		return nil, long
	}
	raw, rawLines := rawFindings(file, data)
	probs = append(probs, raw...)

	yml, body, bodyLine, ok := splitFrontMatter(data)
	if !ok {
		bad(1, "no YAML front matter: the file must start with a line \"---\", the fields, and a closing \"---\"")
		return nil, probs
	}
	if len(yml) > MaxFrontMatterSize {
		bad(2, "front matter is %d bytes, over the %d-byte limit", len(yml), MaxFrontMatterSize)
		return nil, probs
	}
	var fm frontMatter
	var node yaml.Node
	if err := yaml.Unmarshal(yml, &node); err != nil {
		return nil, append(probs, yamlProblem(file, 1, err))
	}
	yp, ok := checkYAML(file, &node, 1, MaxFrontMatterNodes, rawLines)
	probs = append(probs, yp...)
	if !ok {
		return nil, probs
	}
	lines := keyLines(&node, 1)
	for _, k := range sortedKeys(lines) {
		if !knownFrontMatter[k] {
			bad(lines[k], "invalid YAML: field %s is not a front matter field (id, title, kind, severity, classes, triggers, version, reviewed, approvals, irreversible, replaces)", k)
		}
	}
	if len(node.Content) > 0 {
		if err := node.Content[0].Decode(&fm); err != nil {
			return nil, append(probs, yamlProblem(file, 1, err))
		}
	}
	p := &Procedure{
		Meta: Meta{
			ID: strings.TrimSpace(fm.ID), Title: strings.TrimSpace(fm.Title), Kind: Kind(fm.Kind),
			Book: book, Severity: fm.Severity, Classes: fm.Classes, Triggers: fm.Triggers,
			Version: fm.Version, Reviewed: fm.Reviewed,
		},
		Path: file, Body: body, fieldLines: lines, bodyLine: bodyLine,
	}
	sum := sha256.Sum256(data)
	p.Hash = hex.EncodeToString(sum[:])
	line := func(key string) int {
		if l, ok := p.fieldLines[key]; ok {
			return l
		}
		return 1
	}
	if p.ID == "" {
		bad(line("id"), "front matter has no id")
	}
	if p.Title == "" {
		bad(line("title"), "front matter has no title")
	}
	switch p.Kind {
	case Incident, Routine, Reference:
	case "":
		bad(line("kind"), "front matter has no kind (incident, routine or reference)")
	default:
		bad(line("kind"), "unknown kind %q: use incident, routine or reference", fm.Kind)
	}
	if p.Version < 1 {
		bad(line("version"), "version must be a whole number from 1 up")
	}
	if p.Reviewed != "" {
		if _, err := time.Parse(time.DateOnly, p.Reviewed); err != nil {
			bad(line("reviewed"), "reviewed %q is not a date in the form YYYY-MM-DD", p.Reviewed)
		}
	}
	// The body is made safe once, here: everything taken from it (steps,
	// headings, code, the text the console renders) is escaped already.
	p.Body = []byte(termsafe.Escape(string(body)))
	if flat, first, n := limitNesting(p.Body); n > 0 {
		p.Body = flat
		msg := fmt.Sprintf("lists and block quotes nested deeper than %d levels are shown flat", MaxNesting)
		if n > 1 {
			msg += fmt.Sprintf(" (this line and %d more)", n-1)
		}
		probs = append(probs, Problem{Path: file, Line: bodyLine + first - 1, Msg: msg, Warning: true})
	}
	p.parseBody(bodyLine)
	for _, st := range p.Steps {
		for _, r := range st.Requires {
			if r < 1 || r >= st.Number {
				bad(st.Line, "step %d requires step %d, which is not an earlier step", st.Number, r)
			}
		}
	}
	if len(node.Content) > 0 {
		probs = append(probs, p.parseStepRules(node.Content[0])...)
		probs = append(probs, p.parseReplaces(node.Content[0])...)
	}
	if p.Kind == Incident && !p.hasNumberedSteps() {
		bad(bodyLine, "incident procedure has no numbered steps: an operator needs an ordered list to follow")
	}
	p.haystack = strings.ToLower(strings.Join(append([]string{p.ID, p.Title, strings.Join(p.Triggers, " "), strings.Join(p.Classes, " ")}, string(p.Body)), "\n"))
	if p.ID == "" || p.Title == "" || p.Version < 1 {
		return nil, probs
	}
	return p, probs
}

func (p *Procedure) hasNumberedSteps() bool {
	return slices.ContainsFunc(p.Steps, func(s Step) bool { return !s.Task })
}

// Line returns the line of a front-matter key in the file (1 if absent).
func (p *Procedure) Line(key string) int {
	if l, ok := p.fieldLines[key]; ok {
		return l
	}
	return 1
}

// Matches reports whether the free-text query (case-insensitive, all words
// must appear) is found in the id, title, triggers, classes or body.
func (p *Procedure) Matches(query string) bool {
	for _, w := range strings.Fields(strings.ToLower(query)) {
		if !strings.Contains(p.haystack, w) {
			return false
		}
	}
	return true
}

// splitFrontMatter separates "---\n<yaml>\n---\n<body>"; bodyLine is the
// file line on which the body starts.
func splitFrontMatter(data []byte) (yml, body []byte, bodyLine int, ok bool) {
	rest, found := bytes.CutPrefix(data, []byte("---\n"))
	if !found {
		if rest, found = bytes.CutPrefix(data, []byte("---\r\n")); !found {
			return nil, nil, 0, false
		}
	}
	line := 2
	for off := 0; off < len(rest); {
		end := bytes.IndexByte(rest[off:], '\n')
		next := len(rest)
		if end >= 0 {
			next = off + end + 1
		}
		if l := bytes.TrimRight(rest[off:next], "\r\n"); string(l) == "---" {
			return rest[:off], rest[next:], line + 1, true
		}
		off = next
		line++
	}
	return nil, nil, 0, false
}

// keyLines maps each top-level key of a YAML mapping to its file line.
func keyLines(root *yaml.Node, offset int) map[string]int {
	out := map[string]int{}
	if len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return out
	}
	m := root.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		out[m.Content[i].Value] = m.Content[i].Line + offset
	}
	return out
}

// parseBody walks the goldmark AST of the body and fills in sections, steps,
// code blocks and procedure links.
func (p *Procedure) parseBody(bodyLine int) {
	src := p.Body
	doc := markdown.Parser().Parse(text.NewReader(src))
	starts := lineStarts(src)
	lineOf := func(off int) int {
		i, _ := slices.BinarySearch(starts, off+1)
		return bodyLine + i - 1
	}
	section := ""
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *ast.Heading:
			section = inlineText(n, src)
			p.Sections = append(p.Sections, Section{Title: section, Level: n.Level, Line: lineOf(blockStart(n))})
		case *ast.List:
			if n.Parent() != doc {
				break
			}
			for item := n.FirstChild(); item != nil; item = item.NextSibling() {
				if n.IsOrdered() {
					p.addStep(item, section, false, src, lineOf)
				} else if isTask(item) {
					p.addStep(item, section, true, src, lineOf)
				}
			}
		case *ast.FencedCodeBlock:
			p.Code = append(p.Code, CodeBlock{Lang: string(n.Language(src)), Text: blockText(n, src), Line: lineOf(blockStart(n)) - 1})
		case *ast.CodeBlock:
			p.Code = append(p.Code, CodeBlock{Text: blockText(n, src), Line: lineOf(blockStart(n))})
		case *ast.Link:
			if id, ok := procedureLinkTarget(string(n.Destination)); ok {
				p.Links = append(p.Links, Link{Target: id, Text: inlineText(n, src), Line: lineOf(inlineStart(n))})
			}
		}
		return ast.WalkContinue, nil
	})
}

func (p *Procedure) addStep(item ast.Node, section string, task bool, src []byte, lineOf func(int) int) {
	var head string
	var detail []string
	for c := item.FirstChild(); c != nil; c = c.NextSibling() {
		txt := nodeText(c, src)
		if head == "" && (c.Kind() == ast.KindParagraph || c.Kind() == ast.KindTextBlock) {
			head = txt
			continue
		}
		if txt != "" {
			detail = append(detail, txt)
		}
	}
	step := Step{
		Number: len(p.Steps) + 1, Section: section, Text: head,
		Detail: strings.Join(detail, "\n"), Task: task, Line: lineOf(blockStart(item)),
	}
	for _, l := range strings.Split(step.Detail, "\n") {
		if m := gateLine.FindStringSubmatch(l); m != nil {
			for _, n := range stepNumber.FindAllString(m[1], -1) {
				v, _ := strconv.Atoi(n)
				step.Requires = append(step.Requires, v)
			}
		}
	}
	p.Steps = append(p.Steps, step)
}

var (
	gateLine   = regexp.MustCompile(`(?i)^(?:- )?requires steps? ([0-9][0-9, and]*)\.?$`)
	stepNumber = regexp.MustCompile(`[0-9]+`)
)

func isTask(item ast.Node) bool {
	first := item.FirstChild()
	if first == nil {
		return false
	}
	_, ok := first.FirstChild().(*extast.TaskCheckBox)
	return ok
}

// procedureLinkTarget recognises a relative link to a procedure file and
// returns the procedure id (the file name without ".md").
func procedureLinkTarget(dest string) (string, bool) {
	if strings.Contains(dest, "://") || strings.HasPrefix(dest, "mailto:") {
		return "", false
	}
	dest, _, _ = strings.Cut(dest, "#")
	if !strings.HasSuffix(dest, ".md") {
		return "", false
	}
	base := strings.TrimSuffix(path.Base(dest), ".md")
	if base == "" || strings.EqualFold(base, "README") {
		return "", false
	}
	return base, true
}

// nodeText renders a block node (and nested lists) as plain text, one line
// per block, nested list items prefixed with "- ".
func nodeText(n ast.Node, src []byte) string {
	switch n.Kind() {
	case ast.KindParagraph, ast.KindTextBlock, ast.KindHeading:
		return inlineText(n, src)
	case ast.KindFencedCodeBlock, ast.KindCodeBlock:
		return blockText(n, src)
	case ast.KindList:
		var lines []string
		for item := n.FirstChild(); item != nil; item = item.NextSibling() {
			var parts []string
			for c := item.FirstChild(); c != nil; c = c.NextSibling() {
				if t := nodeText(c, src); t != "" {
					parts = append(parts, t)
				}
			}
			lines = append(lines, "- "+strings.Join(parts, "\n  "))
		}
		return strings.Join(lines, "\n")
	}
	var parts []string
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		if t := nodeText(c, src); t != "" {
			parts = append(parts, t)
		}
	}
	return strings.Join(parts, "\n")
}

// inlineText concatenates the text of a node's inline children.
func inlineText(n ast.Node, src []byte) string {
	var b strings.Builder
	_ = ast.Walk(n, func(c ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch c := c.(type) {
		case *ast.Text:
			b.Write(c.Segment.Value(src))
			if c.SoftLineBreak() || c.HardLineBreak() {
				b.WriteByte(' ')
			}
		case *ast.String:
			b.Write(c.Value)
		case *ast.AutoLink:
			b.Write(c.URL(src))
			return ast.WalkSkipChildren, nil
		case *extast.TaskCheckBox:
			return ast.WalkSkipChildren, nil
		}
		return ast.WalkContinue, nil
	})
	return strings.TrimSpace(b.String())
}

func blockText(n ast.Node, src []byte) string {
	var b strings.Builder
	lines := n.Lines()
	for i := 0; i < lines.Len(); i++ {
		seg := lines.At(i)
		b.Write(seg.Value(src))
	}
	return strings.TrimRight(b.String(), "\n")
}

// blockStart finds the byte offset where a block begins: its own first line,
// or its first descendant's.
func blockStart(n ast.Node) int {
	for c := n; c != nil; c = c.FirstChild() {
		if c.Type() == ast.TypeBlock && c.Lines().Len() > 0 {
			return c.Lines().At(0).Start
		}
		if t, ok := c.(*ast.Text); ok {
			return t.Segment.Start
		}
	}
	return 0
}

func inlineStart(n ast.Node) int {
	for c := n; c != nil; c = c.FirstChild() {
		if t, ok := c.(*ast.Text); ok {
			return t.Segment.Start
		}
	}
	for c := n.Parent(); c != nil; c = c.Parent() {
		if c.Type() == ast.TypeBlock {
			return blockStart(c)
		}
	}
	return 0
}

func lineStarts(src []byte) []int {
	starts := []int{0}
	for i, c := range src {
		if c == '\n' {
			starts = append(starts, i+1)
		}
	}
	return starts
}

func lineAt(data []byte, off int) int {
	return bytes.Count(data[:off], []byte("\n")) + 1
}

func invalidUTF8Offset(data []byte) int {
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return len(data)
}
