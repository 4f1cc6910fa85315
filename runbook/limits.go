package runbook

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/icconsole/ic/internal/safefile"
	"github.com/icconsole/ic/internal/termsafe"
	"go.yaml.in/yaml/v3"
)

// Limits on what a book may hold. The YAML and Markdown parsers are fast on
// normal text and slow on adversarial shapes (aliases that expand a billion
// times, thousands of keys in one mapping, quotes nested a thousand deep, one
// very long line of link or emphasis openers), so each shape is bounded before
// the parser sees it. Every limit is far above what a real book holds: the
// shipped procedures are under 3 KB with lines under 600 bytes and three
// levels of nesting, and the policies hold a few hundred YAML nodes.
const (
	// MaxFileSize is the largest procedure file a book may hold.
	MaxFileSize = safefile.MaxProcedureBytes
	// MaxPolicySize is the largest book.yaml.
	MaxPolicySize = safefile.MaxPolicyBytes
	// MaxPolicyNodes bounds the YAML nodes of a book.yaml, each alias counted
	// as everything it expands to (a "billion laughs" file is refused before
	// it is expanded).
	MaxPolicyNodes = 20000
	// MaxYAMLDepth bounds how deep YAML collections nest.
	MaxYAMLDepth = 64
	// MaxMappingKeys bounds the keys of one YAML mapping: checking them for
	// duplicates takes time that grows with the square of their number.
	MaxMappingKeys = 1000
	// MaxFrontMatterSize and MaxFrontMatterNodes bound a procedure's front
	// matter.
	MaxFrontMatterSize  = 16 << 10
	MaxFrontMatterNodes = 2000
	// MaxLineSize is the longest line of a procedure: inline Markdown
	// (emphasis, links) costs time that grows faster than the line.
	MaxLineSize = 2048
	// MaxNesting is how deep lists and block quotes may nest; deeper content
	// is shown flat, with a warning.
	MaxNesting = 16
)

// checkYAML bounds a parsed YAML document before anything decodes it: the
// number of nodes with aliases expanded, and the keys of each mapping. It
// also finds and rewrites, in place, every scalar that holds something
// termsafe would escape (a raw control, a YAML escape such as "\e[2J" or
// "\u009b", a bidirectional override, an entity): the values decoded from
// the tree are then safe to print, and each finding is a problem at its line.
// lineOffset is added to YAML lines (front matter starts on file line 2);
// skipLines holds lines already reported from the raw bytes. ok is false when
// a limit is exceeded; the document must not be decoded then.
func checkYAML(file string, root *yaml.Node, lineOffset, maxNodes int, skipLines map[int]bool) (probs []Problem, ok bool) {
	// Expanded size of each node, computed once per node: an alias costs
	// what its anchor expands to, without walking it again.
	sizes := map[*yaml.Node]int{}
	tooDeep := 0 // line of the first node nested past MaxYAMLDepth
	var size func(n *yaml.Node, depth int) int
	size = func(n *yaml.Node, depth int) int {
		if n == nil {
			return 0
		}
		if s, seen := sizes[n]; seen {
			return s
		}
		if depth > MaxYAMLDepth {
			tooDeep = n.Line
			return maxNodes + 1
		}
		sizes[n] = maxNodes + 1 // a node that contains itself is over any limit
		s := 1
		if n.Kind == yaml.AliasNode {
			s += size(n.Alias, depth+1)
		}
		for _, c := range n.Content {
			if s += size(c, depth+1); s > maxNodes {
				break
			}
		}
		sizes[n] = s
		return s
	}
	if total := size(root, 0); total > maxNodes {
		if tooDeep > 0 {
			return []Problem{{Path: file, Line: tooDeep + lineOffset, Msg: fmt.Sprintf("YAML nested deeper than %d levels (aliases included)", MaxYAMLDepth)}}, false
		}
		return []Problem{{Path: file, Line: lineOffset + 1, Msg: fmt.Sprintf("YAML too large: more than %d nodes once aliases are expanded", maxNodes)}}, false
	}
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.MappingNode && len(n.Content)/2 > MaxMappingKeys && ok {
			probs = append(probs, Problem{Path: file, Line: n.Line + lineOffset, Msg: fmt.Sprintf("YAML mapping with %d keys, over the limit of %d", len(n.Content)/2, MaxMappingKeys)})
			ok = false
		}
		if n.Kind == yaml.ScalarNode && termsafe.NeedsEscape(n.Value) {
			line := n.Line + lineOffset
			if !skipLines[line] {
				f := termsafe.Find(n.Value, 1)[0]
				probs = append(probs, Problem{Path: file, Line: line, Msg: fmt.Sprintf("%s in %q (written as a YAML escape?): terminal control and bidirectional characters are not allowed", f.What, termsafe.EscapeLine(n.Value))})
			}
			n.Value = termsafe.Escape(n.Value)
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	ok = true
	walk(root)
	return probs, ok
}

// rawFindings reports what termsafe would escape in the file's own bytes
// (raw controls, bidirectional characters, entities that decode to them):
// the first on each line, on at most five lines. It returns the lines.
func rawFindings(file string, data []byte) ([]Problem, map[int]bool) {
	const maxLines = 5
	var probs []Problem
	lines := map[int]bool{}
	text := string(data)
	for off := 0; off < len(text); {
		found := termsafe.Find(text[off:], 1)
		if len(found) == 0 {
			break
		}
		at := off + found[0].Offset
		line := lineAt(data, at)
		if len(probs) == maxLines {
			probs[maxLines-1].Msg += " (and more after it)"
			break
		}
		lines[line] = true
		probs = append(probs, Problem{Path: file, Line: line, Msg: found[0].What + " in text: terminal control and bidirectional characters are not allowed (shown escaped)"})
		// On to the next line: one problem a line is enough to find it.
		next := strings.IndexByte(text[at:], '\n')
		if next < 0 {
			break
		}
		off = at + next + 1
	}
	return probs, lines
}

// checkLineLengths refuses a file with a line longer than MaxLineSize, naming
// the first one and how many there are.
func checkLineLengths(file string, data []byte) []Problem {
	first, count, longest := 0, 0, 0
	line := 1
	for off := 0; off < len(data); line++ {
		end := bytes.IndexByte(data[off:], '\n')
		if end < 0 {
			end = len(data) - off
		}
		if end > MaxLineSize {
			if count == 0 {
				first, longest = line, end
			}
			count++
		}
		off += end + 1
	}
	if count == 0 {
		return nil
	}
	msg := fmt.Sprintf("line is %d bytes, over the %d-byte limit for one line: wrap it", longest, MaxLineSize)
	if count > 1 {
		msg += fmt.Sprintf(" (%d lines are over the limit)", count)
	}
	return []Problem{{Path: file, Line: first, Msg: msg}}
}

// limitNesting rewrites the lines of a Markdown body that open lists or block
// quotes deeper than MaxNesting, dropping the markers past the limit so their
// text is shown flat at the deepest allowed level. goldmark (and glamour,
// which renders the body) take time that grows with the square of the depth,
// and more; nothing a person reads is nested this deep. It runs in one pass
// over the body and returns it unchanged when no line is too deep; first is
// the body line (from 1) of the first rewritten line and count how many were.
//
// The depth of a line is estimated from its prefix without parsing: each
// block quote marker and list marker counts one, and each two columns of
// indentation count one (a nested list item needs at least two more). The
// estimate is never below the real depth, so the limit always holds.
func limitNesting(body []byte) (out []byte, first, count int) {
	line := 1
	for off := 0; off < len(body); line++ {
		end := bytes.IndexByte(body[off:], '\n')
		next := len(body)
		if end >= 0 {
			next = off + end + 1
		}
		if cut, rest, deep := nestingCut(body[off:next]); deep {
			if out == nil {
				out = make([]byte, 0, len(body))
				out = append(out, body[:off]...)
			}
			out = append(out, body[off:off+cut]...)
			out = append(out, body[off+rest:next]...)
			if count == 0 {
				first = line
			}
			count++
		} else if out != nil {
			out = append(out, body[off:next]...)
		}
		off = next
	}
	if out == nil {
		return body, 0, 0
	}
	return out, first, count
}

// nestingCut scans a line's container prefix (indentation, ">" and list
// markers). When the prefix goes deeper than MaxNesting, the line keeps
// line[:cut] and continues at line[rest:], the end of the prefix.
func nestingCut(line []byte) (cut, rest int, deep bool) {
	depth2 := 0 // twice the estimated depth: a marker adds 2, a column of indentation 1
	i := 0
	for i < len(line) {
		// Indentation: a tab reaches the next multiple of four columns.
		start, col := i, 0
		for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
			if line[i] == '\t' {
				col += 4 - col%4
			} else {
				col++
			}
			i++
		}
		// Indentation alone opens nothing (deep code stays as it is); it
		// counts once a marker follows it.
		wsCut := -1
		if !deep && depth2+col > 2*MaxNesting {
			// Keep the indentation that reaches the limit exactly.
			wsCut = start
			for c := 0; wsCut < i; wsCut++ {
				if line[wsCut] == '\t' {
					c += 4 - c%4
				} else {
					c++
				}
				if depth2+c > 2*MaxNesting {
					break
				}
			}
		}
		depth2 += col
		n := containerMarker(line[i:])
		if n == 0 {
			break
		}
		if !deep && wsCut >= 0 {
			cut, deep = wsCut, true
		} else if !deep && depth2+2 > 2*MaxNesting {
			cut, deep = i, true
		}
		depth2 += 2
		i += n
	}
	return cut, i, deep
}

// containerMarker returns the length of a block quote marker (">" and one
// optional space) or a list marker ("-", "+", "*", or up to nine digits and
// "." or ")", then one space or the end of the line) at the start of b, or 0.
func containerMarker(b []byte) int {
	if len(b) == 0 {
		return 0
	}
	afterMarker := func(n int) int {
		switch {
		case n == len(b) || b[n] == '\n' || b[n] == '\r':
			return n
		case b[n] == ' ' || b[n] == '\t':
			return n + 1
		}
		return 0
	}
	switch c := b[0]; {
	case c == '>':
		if len(b) > 1 && b[1] == ' ' {
			return 2
		}
		return 1
	case c == '-' || c == '+' || c == '*':
		return afterMarker(1)
	case c >= '0' && c <= '9':
		n := 1
		for n < len(b) && n < 10 && b[n] >= '0' && b[n] <= '9' {
			n++
		}
		if n < len(b) && n <= 9 && (b[n] == '.' || b[n] == ')') {
			return afterMarker(n + 1)
		}
	}
	return 0
}
