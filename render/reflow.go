package render

import (
	"bytes"
	"slices"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/text"
)

// edit replaces src[from:to] with with.
type edit struct {
	from, to int
	with     string
}

// reflow prepares a procedure's Markdown for glamour, which keeps the
// source's line breaks inside list items and then wraps again at the
// width (orphan words on lines of their own) and shows a link as its text
// followed by its target ("O-900 O-900.md"). Soft line breaks become
// spaces, so glamour wraps each paragraph once, at the width it is given;
// a link to another procedure in the book (a relative .md target) becomes
// its text. Code blocks and everything else are left as written.
func reflow(src []byte) []byte {
	doc := goldmark.New().Parser().Parse(text.NewReader(src))
	var edits []edit
	var last *ast.Text // the text node before the one being visited
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *ast.CodeBlock, *ast.FencedCodeBlock, *ast.HTMLBlock:
			last = nil
			return ast.WalkSkipChildren, nil
		case *ast.Link:
			dest := string(n.Destination)
			if !strings.Contains(dest, "://") && strings.HasSuffix(strings.ToLower(dest), ".md") {
				if e, ok := linkToText(src, n); ok {
					edits = append(edits, e)
				}
			}
		case *ast.Text:
			if last != nil && last.SoftLineBreak() {
				if e, ok := joinBreak(src, last.Segment.Stop, n.Segment.Start); ok {
					edits = append(edits, e)
				}
			}
			last = n
		}
		return ast.WalkContinue, nil
	})
	if len(edits) == 0 {
		return src
	}
	slices.SortFunc(edits, func(a, b edit) int { return b.from - a.from })
	out := append([]byte(nil), src...)
	prev := len(out) + 1
	for _, e := range edits {
		if e.to > prev {
			continue // overlaps an edit already made (a break inside a link's text)
		}
		out = append(out[:e.from], append([]byte(e.with), out[e.to:]...)...)
		prev = e.from
	}
	return out
}

// linkToText finds the source of an inline link "[text](dest)" and
// returns the edit that leaves its text alone.
func linkToText(src []byte, n *ast.Link) (edit, bool) {
	first, ok := n.FirstChild().(*ast.Text)
	lastChild, ok2 := n.LastChild().(*ast.Text)
	if !ok || !ok2 {
		return edit{}, false
	}
	open, end := first.Segment.Start-1, lastChild.Segment.Stop
	if open < 0 || src[open] != '[' {
		return edit{}, false
	}
	tail := "](" + string(n.Destination) + ")"
	if !bytes.HasPrefix(src[end:], []byte(tail)) {
		return edit{}, false
	}
	return edit{from: open, to: end + len(tail), with: string(src[first.Segment.Start:end])}, true
}

// joinBreak is the edit that turns the line break after from (and the
// next line's indentation) into one space. The next text may start after
// a marker (a code span's backtick, an emphasis star), so only the break
// and the spaces around it are replaced.
func joinBreak(src []byte, from, next int) (edit, bool) {
	if from >= next || next > len(src) {
		return edit{}, false
	}
	nl := bytes.IndexByte(src[from:next], '\n')
	if nl < 0 || len(bytes.TrimSpace(src[from:from+nl])) != 0 {
		return edit{}, false
	}
	to := from + nl + 1
	for to < next && (src[to] == ' ' || src[to] == '\t') {
		to++
	}
	if bytes.IndexByte(src[to:next], '\n') >= 0 {
		return edit{}, false
	}
	return edit{from: from, to: to, with: " "}, true
}
