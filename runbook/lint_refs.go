package runbook

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// The checks in this file read a procedure's text the way a responder
// would and fail where the text names something its books do not have: a
// procedure id that leads nowhere, a section of the source document that
// does not exist, a severity, lifecycle state or incident class the book
// does not define. Each is reported as path:line: message.

var (
	// sectionRef is "§N" with an optional document id before it ("AZ-015 §24").
	sectionRef = regexp.MustCompile(`(?:\b([A-Z][A-Z0-9]*-[0-9]+)\s+)?§\s?([0-9]+)`)
)

// checkAgainstPolicy checks what a procedure names in its front matter
// against its book's policy: approval roles and incident classes.
func checkAgainstPolicy(p *Procedure, pol *Policy) []Problem {
	probs := checkApprovalRoles(p, pol)
	if len(pol.IncidentClasses) > 0 {
		for _, c := range p.Classes {
			if upperID.MatchString(c) && !slices.ContainsFunc(pol.IncidentClasses, func(ic IncidentClass) bool { return ic.ID == c }) {
				probs = append(probs, Problem{Path: p.Path, Line: p.Line("classes"), Msg: fmt.Sprintf(
					"class %s is not one of book %s's incident classes (%s)", c, pol.ID, strings.Join(pol.IncidentClassIDs(), ", "))})
			}
		}
	}
	return probs
}

// idFamily is the part of a procedure id before its first "-" ("O",
// "RB", "TPAF").
func idFamily(id string) string {
	f, _, _ := strings.Cut(id, "-")
	return f
}

// checkReferences runs the text checks over every procedure of the catalog.
func (c *Catalog) checkReferences() []Problem {
	var probs []Problem
	families := map[string]bool{}
	sources := map[string]int{}
	stateBooks := map[string][]string{}
	for id := range c.byID {
		families[idFamily(id)] = true
	}
	for id := range c.replaced {
		families[idFamily(id)] = true
	}
	for _, b := range c.books {
		for _, e := range b.Policy.External {
			families[idFamily(e.ID)] = true
		}
		if s := b.Policy.Source; s != nil && s.ID != "" && s.Sections > 0 {
			sources[s.ID] = s.Sections
		}
		for _, s := range b.Policy.Lifecycle.States {
			stateBooks[s] = append(stateBooks[s], b.ID)
		}
	}
	known := func(id string) bool {
		_, proc := c.byID[id]
		_, old := c.replaced[id]
		_, ext := c.external[id]
		return proc || old || ext
	}
	for _, b := range c.books {
		pol := b.Policy
		for _, cls := range pol.IncidentClasses {
			if cls.Runbook != "" && !slices.ContainsFunc(b.Procedures, func(p *Procedure) bool { return p.ID == cls.Runbook }) {
				probs = append(probs, Problem{Path: b.PolicyPath, Line: cls.Line, Msg: fmt.Sprintf(
					"incident class %s names runbook %s, which is not a procedure of this book", cls.ID, cls.Runbook)})
			}
		}
		v := newVocabulary(pol, stateBooks)
		for _, p := range b.Procedures {
			linked := map[int][]string{} // links are checked by index already
			for _, l := range p.Links {
				linked[l.Line] = append(linked[l.Line], l.Target)
			}
			forTextLines(p, func(line int, text string) {
				var seen map[string]bool // one problem per word and line
				report := func(key, format string, args ...any) {
					if seen == nil {
						seen = map[string]bool{}
					}
					if !seen[key] {
						seen[key] = true
						probs = append(probs, Problem{Path: p.Path, Line: line, Msg: fmt.Sprintf(format, args...)})
					}
				}
				forProcedureRefs(text, func(id string) {
					if families[idFamily(id)] && !known(id) && !slices.Contains(linked[line], id) {
						report(id, "cross-reference to %s, which is not a procedure of the books, an old id one of them replaces, or an external procedure of a book.yaml", id)
					}
				})
				// The cheap tests before the patterns keep lint fast: most
				// lines hold no § and no severity.
				if strings.Contains(text, "§") {
					for _, m := range sectionRef.FindAllStringSubmatch(text, -1) {
						src := m[1]
						if src == "" && pol.Source != nil {
							src = pol.Source.ID
						}
						n, _ := strconv.Atoi(m[2])
						if max, ok := sources[src]; ok && (n < 1 || n > max) {
							report(src+"§"+m[2], "%s §%d: %s has sections §1..§%d", src, n, src, max)
						}
					}
				}
				if v.severityFind != nil && v.mayHoldSeverity(text) {
					for _, w := range v.severityFind.FindAllString(text, -1) {
						if msg := v.checkSeverity(w); msg != "" {
							report(w, "%s", msg)
						}
					}
				}
				forCapsWords(text, func(w string) {
					if msg := v.check(w); msg != "" {
						report(w, "%s", msg)
					}
				})
			})
		}
	}
	return probs
}

// forTextLines calls fn with the file line and text of each line of the
// procedure's body outside fenced code blocks (commands are not prose).
func forTextLines(p *Procedure, fn func(line int, text string)) {
	fence := ""
	rest := string(p.Body)
	for i := 0; rest != ""; i++ {
		var raw string
		raw, rest, _ = strings.Cut(rest, "\n")
		l := strings.TrimSpace(raw)
		if fence != "" {
			if strings.HasPrefix(l, fence) {
				fence = ""
			}
			continue
		}
		if strings.HasPrefix(l, "```") || strings.HasPrefix(l, "~~~") {
			fence = l[:3]
			continue
		}
		fn(p.bodyLine+i, raw)
	}
}

// forCapsWords calls fn with each word in capitals (a letter first, then
// capitals, digits or underscores, ending in a capital or digit) that may
// name a state, class or term. Words joined to a neighbour by a hyphen are
// segments of an id (TRIAGE in RB-TRIAGE-001) and are skipped.
func forCapsWords(text string, fn func(w string)) {
	wordByte := func(c byte) bool {
		return c == '_' || c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
	}
	for i := 0; i < len(text); {
		if !wordByte(text[i]) {
			i++
			continue
		}
		j := i
		caps := true
		for j < len(text) && wordByte(text[j]) {
			c := text[j]
			if !(c == '_' || c >= '0' && c <= '9' || c >= 'A' && c <= 'Z') {
				caps = false
			}
			j++
		}
		last := text[j-1]
		if caps && j-i >= 2 && text[i] >= 'A' && text[i] <= 'Z' && last != '_' &&
			(i == 0 || text[i-1] != '-') && (j == len(text) || text[j] != '-') {
			fn(text[i:j])
		}
		i = j
	}
}

// forProcedureRefs calls fn with each word of text shaped like a
// procedure id: segments in capitals and digits, each starting with a
// capital, joined by hyphens and ending in a hyphen and digits (O-105,
// RB-CONSENSUS-001). Only ids of families that name procedures are
// checked by the caller; E-301 or AZ-015 pass through. It scans by hand
// because a regular expression over every line was most of lint's time.
func forProcedureRefs(text string, fn func(id string)) {
	isWord := func(c byte) bool {
		return c == '_' || c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
	}
	capsSeg := func(seg string) bool {
		if seg == "" || seg[0] < 'A' || seg[0] > 'Z' {
			return false
		}
		for i := 1; i < len(seg); i++ {
			if c := seg[i]; !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
				return false
			}
		}
		return true
	}
	digitSeg := func(seg string) bool {
		if seg == "" {
			return false
		}
		for i := 0; i < len(seg); i++ {
			if seg[i] < '0' || seg[i] > '9' {
				return false
			}
		}
		return true
	}
	for i := 0; i < len(text); {
		if !isWord(text[i]) && text[i] != '-' {
			i++
			continue
		}
		j := i
		for j < len(text) && (isWord(text[j]) || text[j] == '-') {
			j++
		}
		if strings.IndexByte(text[i:j], '-') < 0 {
			i = j
			continue // an id has a hyphen
		}
		segs := strings.Split(text[i:j], "-")
		for a := 0; a < len(segs); {
			b := a
			for b < len(segs) && capsSeg(segs[b]) {
				b++
			}
			if b > a && b < len(segs) && digitSeg(segs[b]) {
				fn(strings.Join(segs[a:b+1], "-"))
				a = b + 1
				continue
			}
			a++
		}
		i = j
	}
}

// mayHoldSeverity reports whether text holds one of the book's severity
// prefixes followed by a digit.
func (v *vocabulary) mayHoldSeverity(text string) bool {
	for _, p := range v.severityPrefixes {
		for off := 0; ; {
			i := strings.Index(text[off:], p)
			if i < 0 {
				break
			}
			if k := off + i + len(p); k < len(text) && text[k] >= '0' && text[k] <= '9' {
				return true
			}
			off += i + 1
		}
	}
	return false
}

// vocabulary is what one book's text may name in capitals.
type vocabulary struct {
	pol *Policy
	// severityFind finds words shaped like the book's severity ids
	// (SEV_3_HIGH: SEV_, digits, _WORDs; SEV-1: SEV-, digits); nil when
	// the ids have no digits.
	severityFind     *regexp.Regexp
	severityPrefixes []string
	// prefixed maps a prefix shared by all ids of a list ("INC_", "RP_")
	// to the list's name and ids.
	prefixed   map[string]termList
	states     []string
	stateBooks map[string][]string
	exact      map[string]bool
}

type termList struct {
	name string
	ids  []string
}

var severityShape = regexp.MustCompile(`^([A-Za-z][A-Za-z_-]*?)([0-9]+)((?:_[A-Z][A-Z0-9]*)*)$`)

func newVocabulary(pol *Policy, stateBooks map[string][]string) *vocabulary {
	v := &vocabulary{pol: pol, prefixed: map[string]termList{}, states: pol.Lifecycle.States, stateBooks: stateBooks, exact: map[string]bool{}}
	prefixes, suffixed := []string{}, false
	for _, s := range pol.Severities {
		v.exact[s.ID] = true
		if m := severityShape.FindStringSubmatch(s.ID); m != nil {
			if !slices.Contains(prefixes, m[1]) {
				prefixes = append(prefixes, m[1])
			}
			suffixed = suffixed || m[3] != ""
		}
	}
	if len(prefixes) > 0 {
		alt := make([]string, len(prefixes))
		for i, p := range prefixes {
			alt[i] = regexp.QuoteMeta(p)
		}
		suffix := ""
		if suffixed {
			suffix = `(?:_[A-Z][A-Z0-9]*)*`
		}
		v.severityPrefixes = prefixes
		v.severityFind = regexp.MustCompile(`\b(?:` + strings.Join(alt, "|") + `)[0-9]{1,2}` + suffix + `\b`)
	}
	lists := []termList{{"incident classes", pol.IncidentClassIDs()}}
	for _, name := range sortedKeys(pol.Terms) {
		lists = append(lists, termList{name, pol.Terms[name]})
	}
	for _, l := range lists {
		for _, id := range l.ids {
			v.exact[id] = true
		}
		if p := sharedPrefix(l.ids); p != "" {
			v.prefixed[p] = l
		}
	}
	for _, s := range v.states {
		v.exact[s] = true
	}
	return v
}

// sharedPrefix is the first "_"-ended segment all ids share ("INC_"), or "".
func sharedPrefix(ids []string) string {
	if len(ids) < 2 {
		return ""
	}
	head, _, ok := strings.Cut(ids[0], "_")
	if !ok {
		return ""
	}
	for _, id := range ids[1:] {
		if !strings.HasPrefix(id, head+"_") {
			return ""
		}
	}
	return head + "_"
}

// check returns a problem message when w looks like a severity, state,
// incident class or term of the book and is not one.
func (v *vocabulary) check(w string) string {
	if v.exact[w] {
		return ""
	}
	pol := v.pol
	if v.severityFind != nil && v.severityFind.FindString(w) == w {
		return "" // checkSeverity has seen it
	}
	for prefix, l := range v.prefixed {
		if strings.HasPrefix(w, prefix) && len(w) > len(prefix) {
			return fmt.Sprintf("%s is not one of book %s's %s (%s)", w, pol.ID, l.name, strings.Join(l.ids, ", "))
		}
	}
	if len(w) < 4 || strings.ContainsAny(w, "0123456789") {
		return ""
	}
	if v.stateLike(w) {
		return fmt.Sprintf("state %s is not one of book %s's lifecycle states (%s)", w, pol.ID, strings.Join(v.states, ", "))
	}
	return ""
}

// checkSeverity returns a problem message when w, shaped like one of the
// book's severity ids, is not one.
func (v *vocabulary) checkSeverity(w string) string {
	pol := v.pol
	if pol.KnownSeverity(w) {
		return ""
	}
	if now, ok := pol.CurrentSeverity(w); ok {
		return fmt.Sprintf("severity %s is the former name of %s: use %s", w, now, now)
	}
	// A level written without its name ("SEV_3" in "SEV_3+") is fine when
	// it names exactly one level.
	n := 0
	for _, s := range pol.Severities {
		if strings.HasPrefix(s.ID, w+"_") {
			n++
		}
	}
	if n == 1 {
		return ""
	}
	return fmt.Sprintf("severity %s is not one of book %s's severities (%s)", w, pol.ID, strings.Join(pol.SeverityIDs(), ", "))
}

// stateLike reports whether a capitalised word that is not one of the
// book's states was probably meant as one: it is a state of another book,
// a near miss of one of this book's states, or shares the first segment of
// a multi-word state (POSTMORTEM_DONE).
func (v *vocabulary) stateLike(w string) bool {
	if len(v.stateBooks[w]) > 0 {
		return true
	}
	for _, s := range v.states {
		max := 1
		if len(s) > 6 {
			max = 2
		}
		if d := len(w) - len(s); d <= max && -d <= max && editDistance(w, s) <= max {
			return true
		}
		if head, _, ok := strings.Cut(s, "_"); ok && strings.HasPrefix(w, head+"_") {
			return true
		}
	}
	return false
}

// editDistance is the Levenshtein distance between two short ASCII words.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
