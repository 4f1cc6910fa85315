package incident

import (
	"context"
	"strings"

	"github.com/icconsole/ic/runbook"
)

// AuditItem is one item an incident's audit trail must hold (AZ-015 §32,
// or the close requirements of a book without such a list): present or
// missing, and the entry that satisfies it.
type AuditItem struct {
	ID      string `json:"id"`
	Name    string `json:"item"`
	Present bool   `json:"present"`
	Seq     int64  `json:"seq,omitempty"`
	By      string `json:"by,omitempty"`
	Detail  string `json:"detail,omitempty"`
	// SatisfiedBy says what would satisfy a missing item.
	SatisfiedBy []string `json:"satisfied_by"`
}

// Trail is the audit-trail check of one incident.
type Trail struct {
	Incident string      `json:"incident"`
	Book     string      `json:"book"`
	Severity string      `json:"severity"` // the worst the incident had: its list applies
	Source   string      `json:"source"`
	Items    []AuditItem `json:"items"`
	Complete bool        `json:"complete"`
}

// Missing counts the items the record does not hold.
func (t Trail) Missing() int {
	n := 0
	for _, it := range t.Items {
		if !it.Present {
			n++
		}
	}
	return n
}

// trailArg is a payload with a value an audit-trail item can name: the
// text a note starts with, the state moved to, the role assigned.
type trailArg interface {
	trailArg() string
}

// Completeness checks an incident's record against what its book says an
// audit trail must hold: the book's audit_trail list when it has one (at
// the incident's worst severity), else the close requirements of that
// severity. The first entry that satisfies an item is cited.
func (s *Service) Completeness(ctx context.Context, id string) (Trail, error) {
	st, pol, err := s.statusAndPolicy(ctx, id)
	if err != nil {
		return Trail{}, err
	}
	t := Trail{Incident: st.Short(), Book: st.Book, Severity: st.WorstSeverity, Items: []AuditItem{}}
	items := trailItems(pol, st.WorstSeverity, &t.Source)
	entries, err := s.Entries(ctx, Range{Incident: id})
	if err != nil {
		return Trail{}, err
	}
	for _, it := range items {
		ai := AuditItem{ID: it.ID, Name: it.Item, SatisfiedBy: it.SatisfiedBy}
		sats := it.Satisfiers()
		for _, e := range entries {
			if satisfies(e, sats) {
				ai.Present, ai.Seq, ai.By, ai.Detail = true, e.Seq, e.Actor, e.Line()
				break
			}
		}
		t.Items = append(t.Items, ai)
	}
	t.Complete = t.Missing() == 0
	return t, nil
}

// trailItems are the items that apply at severity: the book's audit trail,
// else one item per close requirement.
func trailItems(pol *runbook.Policy, severity string, source *string) []runbook.AuditTrailItem {
	if pol.AuditTrail != nil {
		*source = pol.AuditTrail.Source
		return pol.AuditTrailFor(severity)
	}
	*source = "close requirements of " + severity
	reqs := pol.CloseRequirements(severity)
	var out []runbook.AuditTrailItem
	for _, name := range sortedNames(reqs) {
		out = append(out, runbook.AuditTrailItem{ID: name, Item: name, SatisfiedBy: reqs[name]})
	}
	return out
}

// satisfies reports whether entry e is one of sats: its type, and its
// argument when the satisfier names one.
func satisfies(e Entry, sats []runbook.Satisfier) bool {
	for _, s := range sats {
		if s.Type != e.Type {
			continue
		}
		if s.Arg == "" {
			return true
		}
		if a, ok := e.Payload.(trailArg); ok {
			v := a.trailArg()
			if strings.HasSuffix(s.Arg, ":") || isTextKind(e.Type) {
				if len(v) >= len(s.Arg) && strings.EqualFold(v[:len(s.Arg)], s.Arg) {
					return true
				}
				continue
			}
			if v == s.Arg {
				return true
			}
		}
	}
	return false
}

// isTextKind reports whether an entry kind's trail argument is free text
// (matched as a prefix) rather than a name (matched whole).
func isTextKind(kind string) bool {
	switch kind {
	case "state_changed", "role_assigned", "severity_changed":
		return false
	}
	return true
}

func sortedNames(m map[string][]string) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	for i := 1; i < len(names); i++ {
		for j := i; j > 0 && names[j] < names[j-1]; j-- {
			names[j], names[j-1] = names[j-1], names[j]
		}
	}
	return names
}
