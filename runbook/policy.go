package runbook

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Policy is a book's rules, read from its book.yaml: how bad each severity
// is, how often it needs a status update, which questions select it, which
// lifecycle states exist and how an incident may move between them, what the
// timeline must hold before an incident closes, and which procedure an
// operator walks first. The console carries no organisation's rules in code;
// they all live here.
type Policy struct {
	ID            string `yaml:"id"`
	Title         string `yaml:"title"`
	Description   string `yaml:"description"`
	FirstResponse string `yaml:"first_response"`
	// Worst says which end of Severities is the worst: "first" or "last".
	Worst        string              `yaml:"worst"`
	Severities   []Severity          `yaml:"severities"`
	Triage       Triage              `yaml:"triage"`
	Lifecycle    Lifecycle           `yaml:"lifecycle"`
	Requirements map[string][]string `yaml:"requirements"`
	Roles        []Role              `yaml:"roles"`

	// Fields checked in policy_ext.go.
	IncidentClasses []IncidentClass     `yaml:"incident_classes"`
	Terms           map[string][]string `yaml:"terms"`
	Source          *Source             `yaml:"source"`
	External        []ExternalProcedure `yaml:"external"`
	AuditTrail      *AuditTrail         `yaml:"audit_trail"`

	// Fields checked in policy_rules.go.
	// CloseRequirementsFrom says whose requirements apply at close:
	// "worst" (default: the worst severity the incident ever had) or
	// "current".
	CloseRequirementsFrom string `yaml:"close_requirements_from"`
	// PostmortemLinks says what a postmortem link may be: "https" (an
	// https:// URL, the default) and "evidence" (the name of evidence
	// attached to the incident).
	PostmortemLinks []string   `yaml:"postmortem_links"`
	Deadlines       []Deadline `yaml:"deadlines"`
}

// Severity is one level of a book's severity scheme.
type Severity struct {
	ID      string `yaml:"id"`
	Meaning string `yaml:"meaning"`
	// UpdateEvery is the status-update cadence, a Go duration ("15m", "1h").
	// Empty means no status updates are expected at this level.
	UpdateEvery string `yaml:"update_every"`
	// Requires names entries of Policy.Requirements that the timeline must
	// hold before an incident at this level reaches the closing state.
	Requires []string `yaml:"requires"`
	// Formerly lists names this level had before (a ledger may cite them).
	Formerly []string `yaml:"formerly"`
	Line     int      `yaml:"-"`
	cadence  time.Duration
}

// Cadence is the parsed UpdateEvery (zero when none is expected).
func (s Severity) Cadence() time.Duration { return s.cadence }

// Triage is the ordered list of yes/no questions that suggest a severity: the
// first question answered yes decides; when all are answered no, Otherwise.
type Triage struct {
	Questions []TriageQuestion `yaml:"questions"`
	Otherwise string           `yaml:"otherwise"`
}

// TriageQuestion is one yes/no question and the severity a yes selects.
type TriageQuestion struct {
	Ask   string `yaml:"ask"`
	IfYes string `yaml:"if_yes"`
	Line  int    `yaml:"-"`
}

// Lifecycle is a book's incident state machine.
type Lifecycle struct {
	// Initial is the state of a newly declared incident.
	Initial string `yaml:"initial"`
	// Contained is the state that ends "time to contain" in reports.
	Contained string `yaml:"contained"`
	// Closing is the state guarded by the severity's requirements.
	Closing string `yaml:"closing"`
	// Closed lists the states in which an incident counts as closed
	// (Closing and anything after it, such as a postmortem state).
	Closed []string `yaml:"closed"`
	States []string `yaml:"states"`
	// Transitions maps a state to the states it may move to.
	Transitions map[string][]string `yaml:"transitions"`
	// AfterClose lists the event types still accepted on a closed incident.
	AfterClose []string `yaml:"after_close"`
	// Requires guards states other than the closing one: the named
	// requirements must be on the timeline before the incident moves to
	// the state (a postmortem state needs its postmortem link).
	Requires map[string][]string `yaml:"requires"`
	Line     int                 `yaml:"-"`
}

// Role is a named responsibility that can be assigned on an incident.
type Role struct {
	ID   string `yaml:"id"`
	Name string `yaml:"name"`
	Duty string `yaml:"duty"`
}

// ParsePolicy decodes and validates a book.yaml. Every problem found is
// returned, each with the line it concerns. The Policy is nil when it cannot
// be used; characters that are not allowed in its text (controls,
// bidirectional overrides, entities that decode to them) are problems too, but
// they are escaped in the decoded values and the Policy is still returned.
func ParsePolicy(path string, data []byte) (*Policy, []Problem) {
	if len(data) > MaxPolicySize {
		return nil, []Problem{{Path: path, Msg: fmt.Sprintf("file is %d bytes, over the %d-byte limit for a book policy", len(data), MaxPolicySize)}}
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, []Problem{yamlProblem(path, 0, err)}
	}
	probs, rawLines := rawFindings(path, data)
	yp, ok := checkYAML(path, &root, 0, MaxPolicyNodes, rawLines)
	probs = append(probs, yp...)
	if !ok {
		return nil, probs
	}
	// Decode twice: from the text with unknown fields refused (yaml.v3
	// offers that only to a Decoder), and from the checked tree, whose
	// strings are escaped. The tree is bounded above, so neither can blow up.
	var strict Policy
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&strict); err != nil {
		return nil, append(probs, yamlProblem(path, 0, err))
	}
	var p Policy
	if err := root.Decode(&p); err != nil {
		return nil, append(probs, yamlProblem(path, 0, err))
	}
	recordLines(&root, &p)
	recordExtraLines(&root, &p)
	if v := p.validate(path); len(v) > 0 {
		return nil, append(probs, v...)
	}
	return &p, probs
}

// recordLines copies source lines from the YAML tree into the decoded policy
// so validation errors can point at them.
func recordLines(root *yaml.Node, p *Policy) {
	if len(root.Content) == 0 {
		return
	}
	top := root.Content[0]
	setLines(mappingValue(top, "severities"), len(p.Severities), func(i int) *int { return &p.Severities[i].Line })
	setLines(mappingValue(mappingValue(top, "triage"), "questions"), len(p.Triage.Questions), func(i int) *int { return &p.Triage.Questions[i].Line })
	if lc := mappingValue(top, "lifecycle"); lc != nil {
		p.Lifecycle.Line = lc.Line
	}
}

// setLines sets the line of each of the first count items decoded from the
// YAML list n (nil: none) to the line its entry starts on.
func setLines(n *yaml.Node, count int, line func(i int) *int) {
	for i, c := range nodeContent(n) {
		if i < count {
			*line(i) = c.Line
		}
	}
}

func (p *Policy) validate(path string) []Problem {
	var probs []Problem
	bad := reporter(path, &probs)
	lcLine := p.Lifecycle.Line
	if p.FirstResponse == "" {
		bad(1, "first_response is missing: name the procedure an operator walks first (e.g. O-020)")
	}
	if p.Worst != "first" && p.Worst != "last" {
		bad(1, "worst is %q: say which end of severities is the worst, \"first\" or \"last\"", p.Worst)
	}
	if len(p.Severities) == 0 {
		bad(1, "severities is empty: a book needs at least one severity level")
	}
	seen := map[string]bool{}
	for i := range p.Severities {
		s := &p.Severities[i]
		if s.ID == "" {
			bad(s.Line, "severity without an id")
			continue
		}
		if seen[s.ID] {
			bad(s.Line, "severity %s is listed twice", s.ID)
		}
		seen[s.ID] = true
		if s.UpdateEvery != "" {
			d, err := time.ParseDuration(s.UpdateEvery)
			if err != nil || d <= 0 {
				bad(s.Line, "severity %s: update_every %q is not a positive duration such as 15m or 1h", s.ID, s.UpdateEvery)
			}
			s.cadence = d
		}
		for _, r := range s.Requires {
			if _, ok := p.Requirements[r]; !ok {
				bad(s.Line, "severity %s requires %q, which is not defined under requirements", s.ID, r)
			}
		}
	}
	for _, q := range p.Triage.Questions {
		if strings.TrimSpace(q.Ask) == "" {
			bad(q.Line, "triage question without text (ask)")
		}
		if !seen[q.IfYes] {
			bad(q.Line, "triage question %q selects unknown severity %q", q.Ask, q.IfYes)
		}
	}
	if p.Triage.Otherwise != "" && !seen[p.Triage.Otherwise] {
		bad(lcLine, "triage otherwise is unknown severity %q", p.Triage.Otherwise)
	}
	lc := p.Lifecycle
	states := map[string]bool{}
	for _, s := range lc.States {
		states[s] = true
	}
	if len(lc.States) == 0 {
		bad(lcLine, "lifecycle states is empty")
	}
	named := []struct{ field, state string }{
		{"initial", lc.Initial}, {"closing", lc.Closing}, {"contained", lc.Contained},
	}
	for _, n := range named {
		if n.state == "" && n.field != "contained" {
			bad(lcLine, "lifecycle %s state is missing", n.field)
		} else if n.state != "" && !states[n.state] {
			bad(lcLine, "lifecycle %s state %q is not one of the states", n.field, n.state)
		}
	}
	for _, s := range lc.Closed {
		if !states[s] {
			bad(lcLine, "lifecycle closed state %q is not one of the states", s)
		}
	}
	if lc.Closing != "" && !slices.Contains(lc.Closed, lc.Closing) {
		bad(lcLine, "lifecycle closing state %q must be listed under closed", lc.Closing)
	}
	for _, from := range sortedKeys(lc.Transitions) {
		if !states[from] {
			bad(lcLine, "transition from unknown state %q", from)
		}
		for _, to := range lc.Transitions[from] {
			if !states[to] {
				bad(lcLine, "transition %s -> %s: unknown state %q", from, to, to)
			}
		}
	}
	probs = append(probs, p.validateExtras(path)...)
	probs = append(probs, p.validateRules(path)...)
	return probs
}

// Severity returns the level with the given id.
func (p *Policy) Severity(id string) (Severity, bool) {
	for _, s := range p.Severities {
		if s.ID == id {
			return s, true
		}
	}
	return Severity{}, false
}

// Rank places a severity on a common scale: 0 is the book's worst level,
// larger is milder, -1 is unknown. Code compares ranks, never raw ids, so a
// scheme where SEV_5 is worst reads the same as one where SEV-1 is.
func (p *Policy) Rank(id string) int {
	for i, s := range p.Severities {
		if s.ID == id {
			if p.Worst == "last" {
				return len(p.Severities) - 1 - i
			}
			return i
		}
	}
	return -1
}

// SeverityIDs lists the levels from worst to mildest.
func (p *Policy) SeverityIDs() []string {
	ids := make([]string, len(p.Severities))
	for _, s := range p.Severities {
		ids[p.Rank(s.ID)] = s.ID
	}
	return ids
}

// SuggestSeverity applies the triage questions to answers (one per question,
// in order; missing answers count as no) and returns the suggested level.
func (p *Policy) SuggestSeverity(answers []bool) string {
	for i, q := range p.Triage.Questions {
		if i < len(answers) && answers[i] {
			return q.IfYes
		}
	}
	if p.Triage.Otherwise != "" {
		return p.Triage.Otherwise
	}
	ids := p.SeverityIDs()
	return ids[len(ids)-1]
}

// The methods below let the ledger apply this policy without importing this
// package (it declares the interface it needs).

// KnownSeverity reports whether id is one of the book's levels.
func (p *Policy) KnownSeverity(id string) bool { return p.Rank(id) >= 0 }

// KnownState reports whether state is one of the lifecycle states.
func (p *Policy) KnownState(state string) bool { return slices.Contains(p.Lifecycle.States, state) }

// InitialState is the state of a newly declared incident.
func (p *Policy) InitialState() string { return p.Lifecycle.Initial }

// ClosingState is the state guarded by the close requirements.
func (p *Policy) ClosingState() string { return p.Lifecycle.Closing }

// ContainedState is the state that ends "time to contain" ("" when unset).
func (p *Policy) ContainedState() string { return p.Lifecycle.Contained }

// Allows reports whether the policy lets an incident move from one state to
// another.
func (p *Policy) Allows(from, to string) bool {
	return slices.Contains(p.Lifecycle.Transitions[from], to)
}

// NextStates lists the states an incident in state from may move to.
func (p *Policy) NextStates(from string) []string { return p.Lifecycle.Transitions[from] }

// IsClosed reports whether state counts as closed.
func (p *Policy) IsClosed(state string) bool { return slices.Contains(p.Lifecycle.Closed, state) }

// AllowedAfterClose reports whether an event of this type may still be
// appended once the incident is closed.
func (p *Policy) AllowedAfterClose(eventType string) bool {
	return slices.Contains(p.Lifecycle.AfterClose, eventType)
}

// CloseRequirements returns, for a severity, each required entry's name and
// the event types that satisfy it.
func (p *Policy) CloseRequirements(severity string) map[string][]string {
	s, ok := p.Severity(severity)
	if !ok || len(s.Requires) == 0 {
		return nil
	}
	out := make(map[string][]string, len(s.Requires))
	for _, r := range s.Requires {
		out[r] = p.Requirements[r]
	}
	return out
}

// UpdateCadence is the status-update interval for a severity (0: none).
func (p *Policy) UpdateCadence(severity string) time.Duration {
	s, _ := p.Severity(severity)
	return s.cadence
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
