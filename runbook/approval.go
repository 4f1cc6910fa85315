package runbook

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Approval says that a step may be recorded only while enough valid
// approvals from holders of a role exist. The runbook only declares the
// rule; the application layer checks signatures, identities and windows.
//
// In front matter:
//
//	approvals:
//	  - step: 4          # the step number (Step.Number)
//	    role: approver   # one of the book's role ids (required)
//	    count: 1         # approvers needed (default 1)
//	    window: 24h      # how long an approval stays valid (Go duration, required)
type Approval struct {
	Role  string `json:"role"`
	Count int    `json:"count"`
	// Window is how long an approval stays valid after it is given.
	Window time.Duration `json:"-"`
	// Line is the front-matter line of the approval entry.
	Line int `json:"-"`
}

type approvalJSON struct {
	Role   string `json:"role"`
	Count  int    `json:"count"`
	Window string `json:"window"`
}

// MarshalJSON writes the window as a short Go duration ("24h", "1h30m").
func (a Approval) MarshalJSON() ([]byte, error) {
	return json.Marshal(approvalJSON{Role: a.Role, Count: a.Count, Window: shortDuration(a.Window)})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (a *Approval) UnmarshalJSON(data []byte) error {
	var j approvalJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return err
	}
	d, err := time.ParseDuration(j.Window)
	if err != nil {
		return fmt.Errorf("approval window %q: %w", j.Window, err)
	}
	*a = Approval{Role: j.Role, Count: j.Count, Window: d}
	return nil
}

// shortDuration drops the zero minutes and seconds time.Duration.String
// writes ("24h0m0s" -> "24h").
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// approvalEntry is one item of the approvals list as written.
type approvalEntry struct {
	Step   int    `yaml:"step"`
	Role   string `yaml:"role"`
	Count  *int   `yaml:"count"`
	Window string `yaml:"window"`
}

var approvalList = entryList{field: "approvals", entry: "approval", keys: []string{"step", "role", "count", "window"}, holds: "step, role, count and window"}

// parseStepRules reads the approvals and irreversible fields of the front
// matter (top is its mapping node) and attaches them to the parsed steps.
// Whether the role exists is checked against the book's policy by Load.
func (p *Procedure) parseStepRules(top *yaml.Node) []Problem {
	var probs []Problem
	bad := reporter(p.Path, &probs)
	stepRange := func() string {
		if len(p.Steps) == 0 {
			return "the procedure has no steps"
		}
		return fmt.Sprintf("the procedure has steps 1..%d", len(p.Steps))
	}
	if n := mappingValue(top, "approvals"); n != nil {
		eachEntry(p.Path, n, approvalList, &probs, func(e approvalEntry, line int) {
			if e.Step < 1 || e.Step > len(p.Steps) {
				bad(line, "approval for step %d: no such step (%s)", e.Step, stepRange())
				return
			}
			a := Approval{Role: strings.TrimSpace(e.Role), Count: 1, Line: line}
			if a.Role == "" {
				bad(line, "approval for step %d names no role: add role: with one of the book's roles", e.Step)
			}
			if e.Count != nil {
				a.Count = *e.Count
				if a.Count < 1 {
					bad(line, "approval for step %d: count %d must be at least 1", e.Step, a.Count)
				}
			}
			switch d, err := time.ParseDuration(e.Window); {
			case strings.TrimSpace(e.Window) == "":
				bad(line, "approval for step %d has no window: say how long an approval stays valid (for example 24h)", e.Step)
			case err != nil:
				bad(line, "approval for step %d: window %q is not a Go duration such as 30m or 24h", e.Step, e.Window)
			case d <= 0:
				bad(line, "approval for step %d: window %s must be longer than zero", e.Step, e.Window)
			default:
				a.Window = d
			}
			st := &p.Steps[e.Step-1]
			if st.Approval != nil {
				bad(line, "step %d has two approval entries (the first is on line %d)", e.Step, st.Approval.Line)
				return
			}
			st.Approval = &a
		})
	}
	if n := mappingValue(top, "irreversible"); n != nil {
		var steps []int
		if err := n.Decode(&steps); err != nil {
			bad(n.Line+1, "irreversible must be a list of step numbers, such as [6]")
		}
		for _, s := range steps {
			if s < 1 || s > len(p.Steps) {
				bad(n.Line+1, "irreversible step %d: no such step (%s)", s, stepRange())
				continue
			}
			if p.Steps[s-1].Irreversible {
				bad(n.Line+1, "irreversible step %d is listed twice", s)
			}
			p.Steps[s-1].Irreversible = true
		}
	}
	return probs
}

// checkApprovalRoles reports approvals whose role is not one of the book's.
func checkApprovalRoles(p *Procedure, pol *Policy) []Problem {
	var probs []Problem
	for _, st := range p.Steps {
		if st.Approval == nil || st.Approval.Role == "" || pol.KnownRole(st.Approval.Role) {
			continue
		}
		probs = append(probs, Problem{Path: p.Path, Line: st.Approval.Line, Msg: fmt.Sprintf(
			"approval for step %d: role %q is not one of book %s's roles (%s)",
			st.Number, st.Approval.Role, pol.ID, strings.Join(pol.RoleIDs(), ", "))})
	}
	return probs
}

// KnownRole reports whether id is one of the book's role ids.
func (p *Policy) KnownRole(id string) bool {
	return slices.ContainsFunc(p.Roles, func(r Role) bool { return r.ID == id })
}

// RoleIDs lists the book's role ids in the order of book.yaml.
func (p *Policy) RoleIDs() []string {
	ids := make([]string, len(p.Roles))
	for i, r := range p.Roles {
		ids[i] = r.ID
	}
	return ids
}

// entryList is a front-matter field written as a list of mappings
// (approvals, replaces), named for the messages about how it is written.
type entryList struct {
	field string   // the field: "approvals"
	entry string   // one entry, in messages: "approval"
	keys  []string // the keys an entry may have
	holds string   // what an entry holds, in words: "step, role, count and window"
}

// eachEntry decodes each entry of the list n into a T and calls fn with it
// and its file line. A value that is not a list, an entry that is not a
// mapping, a key that is not one of l.keys and an entry that does not
// decode are added to *probs at path (the entry is then passed over).
func eachEntry[T any](path string, n *yaml.Node, l entryList, probs *[]Problem, fn func(e T, line int)) {
	bad := reporter(path, probs)
	if n.Kind != yaml.SequenceNode {
		bad(n.Line+1, "%s must be a list of {%s}", l.field, strings.Join(l.keys, ", "))
		return
	}
	for _, item := range n.Content {
		line := item.Line + 1
		if item.Kind != yaml.MappingNode {
			bad(line, "%s entry must be a mapping with %s", l.entry, l.holds)
			continue
		}
		for i := 0; i+1 < len(item.Content); i += 2 {
			if k := item.Content[i]; !slices.Contains(l.keys, k.Value) {
				bad(k.Line+1, "%s field %s is not one of %s", l.entry, k.Value, strings.Join(l.keys, ", "))
			}
		}
		var e T
		if err := item.Decode(&e); err != nil {
			*probs = append(*probs, yamlProblem(path, 1, err))
			continue
		}
		fn(e, line)
	}
}

// mappingValue returns the value node of key in mapping m (nil if absent).
func mappingValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}
