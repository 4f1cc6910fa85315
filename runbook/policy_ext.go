package runbook

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// IncidentClass is one class of incident a book recognises (AZ-015 §3.1's
// INC_CONSENSUS, INC_KEY_COMPROMISE, ...), with the procedure that handles
// it when the book has one.
type IncidentClass struct {
	ID      string `yaml:"id"`
	Runbook string `yaml:"runbook"`
	Line    int    `yaml:"-"`
}

// Source names the document a book is written from. With Sections set,
// lint checks that every "§N" a procedure cites is a section of it.
type Source struct {
	ID       string `yaml:"id"`
	Title    string `yaml:"title"`
	Sections int    `yaml:"sections"`
}

// ExternalProcedure is an id in one of the book's procedure families that
// is not a procedure of the shipped books: one kept elsewhere, or a number
// the source reserves (O-701, O-702 in the operations book). Cross-references
// to it are not dangling, and Resolve says where it is.
type ExternalProcedure struct {
	ID     string `yaml:"id"`
	Title  string `yaml:"title"`
	Status string `yaml:"status"`
	Where  string `yaml:"where"`
	Line   int    `yaml:"-"`
}

func (e ExternalProcedure) describe() string {
	s := fmt.Sprintf("%s (%s) is not in the books", e.ID, e.Title)
	if e.Status != "" {
		s += ": " + e.Status
	}
	if e.Where != "" {
		s += "; see " + e.Where
	}
	return s
}

// AuditTrail is the list of what an incident's record must hold for the
// audit trail to be complete (AZ-015 §32), in a form the application layer
// can check against a timeline.
//
//	audit_trail:
//	  source: AZ-015 §32.1
//	  from_severity: SEV_3_HIGH     # applies at this severity and worse
//	  items:
//	    - id: affected-scopes
//	      item: affected scopes
//	      satisfied_by: ["note:scope:"]
type AuditTrail struct {
	Source string `yaml:"source"`
	// FromSeverity is the mildest severity the trail applies to ("" for all).
	FromSeverity string           `yaml:"from_severity"`
	Items        []AuditTrailItem `yaml:"items"`
	Line         int              `yaml:"-"`
	fromLine     int
}

// AuditTrailItem is one thing the record must hold. SatisfiedBy lists the
// entries that satisfy it, each written "TYPE" or "TYPE:ARG" (see Satisfier).
type AuditTrailItem struct {
	ID          string   `yaml:"id"`
	Item        string   `yaml:"item"`
	SatisfiedBy []string `yaml:"satisfied_by"`
	Line        int      `yaml:"-"`
}

// Satisfier is one parsed entry of AuditTrailItem.SatisfiedBy: a ledger
// event type and an optional argument. For an event that carries text
// (note, correction, deviation, status_update, action_item,
// restart_criteria_signed, postmortem_linked) Arg is a prefix the text must
// start with, compared without regard to case ("note:scope:" is a note
// starting "scope:"); for state_changed it is the state moved to, for
// role_assigned the role, for severity_changed the new severity.
type Satisfier struct {
	Type string `json:"type"`
	Arg  string `json:"arg,omitempty"`
}

// Satisfiers parses SatisfiedBy.
func (it AuditTrailItem) Satisfiers() []Satisfier {
	out := make([]Satisfier, 0, len(it.SatisfiedBy))
	for _, s := range it.SatisfiedBy {
		typ, arg, _ := strings.Cut(s, ":")
		out = append(out, Satisfier{Type: typ, Arg: arg})
	}
	return out
}

// LedgerEventTypes are the event types of the ledger (README "Event
// types"): what an audit-trail item may name. Kept here, not imported,
// because this package does not depend on the store.
func LedgerEventTypes() []string {
	return []string{"declared", "severity_changed", "state_changed", "role_assigned", "note",
		"correction", "step_checked", "step_skipped", "step_failed", "status_update",
		"evidence_attached", "verification", "action_item", "action_item_done", "deviation",
		"restart_criteria_signed", "postmortem_linked", "runbook_linked", "approval"}
}

func textEvent(typ string) bool {
	switch typ {
	case "note", "correction", "deviation", "status_update", "action_item", "restart_criteria_signed", "postmortem_linked":
		return true
	}
	return false
}

// AuditTrailFor returns the audit-trail items that apply to an incident of
// the given severity: all of them at FromSeverity and worse, none below it
// or when the book has no audit trail.
func (p *Policy) AuditTrailFor(severity string) []AuditTrailItem {
	t := p.AuditTrail
	if t == nil {
		return nil
	}
	if t.FromSeverity != "" {
		r := p.Rank(severity)
		if r < 0 || r > p.Rank(t.FromSeverity) {
			return nil
		}
	}
	return t.Items
}

// IncidentClass returns the class with the given id.
func (p *Policy) IncidentClass(id string) (IncidentClass, bool) {
	for _, c := range p.IncidentClasses {
		if c.ID == id {
			return c, true
		}
	}
	return IncidentClass{}, false
}

// IncidentClassIDs lists the book's incident classes in book.yaml order.
func (p *Policy) IncidentClassIDs() []string {
	ids := make([]string, len(p.IncidentClasses))
	for i, c := range p.IncidentClasses {
		ids[i] = c.ID
	}
	return ids
}

// CurrentSeverity maps a severity id to the book's current id: itself when
// it is a level of the book, the level it was renamed to when listed under
// that level's formerly (a ledger may hold the old name), else ok is false.
func (p *Policy) CurrentSeverity(id string) (string, bool) {
	if p.KnownSeverity(id) {
		return id, true
	}
	for _, s := range p.Severities {
		if slices.Contains(s.Formerly, id) {
			return s.ID, true
		}
	}
	return "", false
}

var upperID = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)

// recordExtraLines copies source lines of the fields validated in
// validateExtras from the YAML tree.
func recordExtraLines(root *yaml.Node, p *Policy) {
	if len(root.Content) == 0 {
		return
	}
	top := root.Content[0]
	setLines(mappingValue(top, "incident_classes"), len(p.IncidentClasses), func(i int) *int { return &p.IncidentClasses[i].Line })
	setLines(mappingValue(top, "external"), len(p.External), func(i int) *int { return &p.External[i].Line })
	setLines(mappingValue(top, "deadlines"), len(p.Deadlines), func(i int) *int { return &p.Deadlines[i].Line })
	if n := mappingValue(top, "audit_trail"); n != nil && p.AuditTrail != nil {
		p.AuditTrail.Line, p.AuditTrail.fromLine = n.Line, n.Line
		if f := mappingValue(n, "from_severity"); f != nil {
			p.AuditTrail.fromLine = f.Line
		}
		setLines(mappingValue(n, "items"), len(p.AuditTrail.Items), func(i int) *int { return &p.AuditTrail.Items[i].Line })
	}
}

// validateExtras checks the parts of a policy beyond severities and the
// lifecycle: renamed severities, incident classes, terms, the source, the
// external procedures and the audit trail.
func (p *Policy) validateExtras(path string) []Problem {
	var probs []Problem
	bad := reporter(path, &probs)
	for _, s := range p.Severities {
		for _, old := range s.Formerly {
			if p.KnownSeverity(old) {
				bad(s.Line, "severity %s: former name %s is also a current severity", s.ID, old)
			}
		}
	}
	seen := map[string]bool{}
	for _, c := range p.IncidentClasses {
		switch {
		case c.ID == "":
			bad(c.Line, "incident class without an id")
		case !upperID.MatchString(c.ID):
			bad(c.Line, "incident class %q: write ids in capitals, digits and underscores (INC_CONSENSUS)", c.ID)
		case seen[c.ID]:
			bad(c.Line, "incident class %s is listed twice", c.ID)
		}
		seen[c.ID] = true
	}
	for _, name := range sortedKeys(p.Terms) {
		ids := p.Terms[name]
		if len(ids) == 0 {
			bad(1, "terms %s is empty", name)
		}
		dup := map[string]bool{}
		for _, id := range ids {
			if !upperID.MatchString(id) {
				bad(1, "terms %s: %q is not an id in capitals, digits and underscores", name, id)
			}
			if dup[id] {
				bad(1, "terms %s: %s is listed twice", name, id)
			}
			dup[id] = true
		}
	}
	if p.Source != nil && p.Source.Sections < 0 {
		bad(1, "source sections must be the number of top-level sections (§1..§N)")
	}
	ext := map[string]bool{}
	for _, e := range p.External {
		checkEntry(bad, ext, "external procedure", "an id and a title", e.Line, e.ID, e.Title)
	}
	if t := p.AuditTrail; t != nil {
		if t.FromSeverity != "" && !p.KnownSeverity(t.FromSeverity) {
			bad(t.fromLine, "audit_trail from_severity %q is not one of the severities (%s)", t.FromSeverity, strings.Join(p.SeverityIDs(), ", "))
		}
		if len(t.Items) == 0 {
			bad(t.Line, "audit_trail has no items")
		}
		ids := map[string]bool{}
		for _, it := range t.Items {
			checkEntry(bad, ids, "audit_trail item", "an id and an item (what the record must hold)", it.Line, it.ID, it.Item)
			if len(it.SatisfiedBy) == 0 {
				bad(it.Line, "audit_trail item %s: satisfied_by is empty: name the ledger entries that satisfy it", it.ID)
			}
			for _, s := range it.Satisfiers() {
				if msg := p.checkSatisfier(s); msg != "" {
					bad(it.Line, "audit_trail item %s: %s", it.ID, msg)
				}
			}
		}
	}
	return probs
}

// checkEntry reports an entry of a policy list (what names it) that lacks
// its id or its text (needs says what it must have), and an id already
// in seen, which it then adds.
func checkEntry(bad func(line int, format string, args ...any), seen map[string]bool, what, needs string, line int, id, text string) {
	if id == "" || strings.TrimSpace(text) == "" {
		bad(line, "%s needs %s", what, needs)
	}
	if seen[id] {
		bad(line, "%s %s is listed twice", what, id)
	}
	seen[id] = true
}

func (p *Policy) checkSatisfier(s Satisfier) string {
	if !slices.Contains(LedgerEventTypes(), s.Type) {
		return fmt.Sprintf("%q is not a ledger event type (%s)", s.Type, strings.Join(LedgerEventTypes(), ", "))
	}
	if s.Arg == "" {
		return ""
	}
	switch {
	case s.Type == "state_changed" && !p.KnownState(s.Arg):
		return fmt.Sprintf("state_changed:%s names a state that is not in the lifecycle", s.Arg)
	case s.Type == "role_assigned" && !p.KnownRole(s.Arg):
		return fmt.Sprintf("role_assigned:%s names a role that is not one of the book's (%s)", s.Arg, strings.Join(p.RoleIDs(), ", "))
	case s.Type == "severity_changed" && !p.KnownSeverity(s.Arg):
		return fmt.Sprintf("severity_changed:%s names a severity that is not one of the book's", s.Arg)
	case s.Type != "state_changed" && s.Type != "role_assigned" && s.Type != "severity_changed" && !textEvent(s.Type):
		return fmt.Sprintf("%s:%s: a %s entry carries no text to match", s.Type, s.Arg, s.Type)
	}
	return ""
}

// nodeContent is n's children, nil for a nil node.
func nodeContent(n *yaml.Node) []*yaml.Node {
	if n == nil {
		return nil
	}
	return n.Content
}
