package runbook

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Deadline is something the record must hold within a time after an event:
// a blameless postmortem within 5 business days of closing a SEV-1 or
// SEV-2 (the AVS playbook), a post-mortem meeting within 48 hours of a
// failed run (Helix TPAF §9).
//
//	deadlines:
//	  - id: postmortem
//	    what: blameless postmortem
//	    severities: [SEV-1, SEV-2]   # the worst severity the incident had; empty: all
//	    kinds: [incident]            # incident, routine; empty: incident
//	    from: closed                 # declared | closed | step_failed
//	    within: 5 business days      # "48h", "3 days", "5 business days"
//	    done_by: [postmortem_linked] # entry types that meet it
//	    source: seed 003, Postmortems
type Deadline struct {
	ID         string   `yaml:"id"`
	What       string   `yaml:"what"`
	Severities []string `yaml:"severities"`
	Kinds      []string `yaml:"kinds"`
	From       string   `yaml:"from"`
	Within     string   `yaml:"within"`
	DoneBy     []string `yaml:"done_by"`
	Source     string   `yaml:"source"`
	Line       int      `yaml:"-"`

	span Span
}

// Span is a deadline's length: a duration, or a number of business days
// (Monday to Friday).
type Span struct {
	Duration     time.Duration
	BusinessDays int
}

// After is the deadline for something that starts at t.
func (s Span) After(t time.Time) time.Time {
	if s.BusinessDays == 0 {
		return t.Add(s.Duration)
	}
	d, left := t, s.BusinessDays
	for left > 0 {
		d = d.AddDate(0, 0, 1)
		if wd := d.Weekday(); wd != time.Saturday && wd != time.Sunday {
			left--
		}
	}
	return d
}

func (s Span) String() string {
	if s.BusinessDays > 0 {
		return strconv.Itoa(s.BusinessDays) + " business days"
	}
	return s.Duration.String()
}

// Span is the parsed Within.
func (d Deadline) Span() Span { return d.span }

// Applies reports whether the deadline applies to an incident of kind at
// its worst severity.
func (d Deadline) Applies(kind, worstSeverity string) bool {
	kinds := d.Kinds
	if len(kinds) == 0 {
		kinds = []string{"incident"}
	}
	return slices.Contains(kinds, kind) && (len(d.Severities) == 0 || slices.Contains(d.Severities, worstSeverity))
}

// parseSpan reads "48h", "3 days", "5 business days".
func parseSpan(s string) (Span, error) {
	f := strings.Fields(strings.ToLower(s))
	switch {
	case len(f) == 1:
		d, err := time.ParseDuration(f[0])
		if err != nil || d <= 0 {
			return Span{}, fmt.Errorf("%q is not a duration such as 48h", s)
		}
		return Span{Duration: d}, nil
	case len(f) == 2 && (f[1] == "days" || f[1] == "day"):
		n, err := strconv.Atoi(f[0])
		if err != nil || n <= 0 {
			return Span{}, fmt.Errorf("%q: the number of days is not a positive whole number", s)
		}
		return Span{Duration: time.Duration(n) * 24 * time.Hour}, nil
	case len(f) == 3 && f[1] == "business" && (f[2] == "days" || f[2] == "day"):
		n, err := strconv.Atoi(f[0])
		if err != nil || n <= 0 {
			return Span{}, fmt.Errorf("%q: the number of days is not a positive whole number", s)
		}
		return Span{BusinessDays: n}, nil
	}
	return Span{}, fmt.Errorf("%q is not a span such as 48h, 3 days or 5 business days", s)
}

// StateRequirements maps each requirement a state needs (other than the
// closing state, which Severity.Requires guards) to the event types that
// satisfy it.
func (p *Policy) StateRequirements(state string) map[string][]string {
	names := p.Lifecycle.Requires[state]
	if len(names) == 0 {
		return nil
	}
	out := make(map[string][]string, len(names))
	for _, n := range names {
		out[n] = p.Requirements[n]
	}
	return out
}

// PostmortemLinkAllowed reports whether kind ("https" or "evidence") is an
// accepted postmortem link.
func (p *Policy) PostmortemLinkAllowed(kind string) bool {
	if len(p.PostmortemLinks) == 0 {
		return kind == "https"
	}
	return slices.Contains(p.PostmortemLinks, kind)
}

// RequirementsFromWorst reports whether close requirements follow the
// worst severity the incident had (the default) rather than the current.
func (p *Policy) RequirementsFromWorst() bool { return p.CloseRequirementsFrom != "current" }

var deadlineStarts = []string{"declared", "closed", "step_failed"}

// validateRules checks the fields above.
func (p *Policy) validateRules(path string) []Problem {
	var probs []Problem
	bad := reporter(path, &probs)
	switch p.CloseRequirementsFrom {
	case "", "worst", "current":
	default:
		bad(1, "close_requirements_from is %q: use worst (the worst severity an incident had) or current", p.CloseRequirementsFrom)
	}
	for _, k := range p.PostmortemLinks {
		if k != "https" && k != "evidence" {
			bad(1, "postmortem_links: %q is not a kind of link; use https, evidence", k)
		}
	}
	for _, state := range sortedKeys(p.Lifecycle.Requires) {
		if !p.KnownState(state) {
			bad(p.Lifecycle.Line, "lifecycle requires: %q is not a state of the lifecycle", state)
		}
		for _, r := range p.Lifecycle.Requires[state] {
			if _, ok := p.Requirements[r]; !ok {
				bad(p.Lifecycle.Line, "lifecycle requires: state %s requires %q, which is not defined under requirements", state, r)
			}
		}
	}
	ids := map[string]bool{}
	for i := range p.Deadlines {
		d := &p.Deadlines[i]
		if d.ID == "" || ids[d.ID] {
			bad(d.Line, "deadline %q: every deadline needs an id of its own", d.ID)
		}
		ids[d.ID] = true
		span, err := parseSpan(d.Within)
		if err != nil {
			bad(d.Line, "deadline %s: within %v", d.ID, err)
		}
		d.span = span
		if !slices.Contains(deadlineStarts, d.From) {
			bad(d.Line, "deadline %s: from %q; use one of %s", d.ID, d.From, strings.Join(deadlineStarts, ", "))
		}
		if len(d.DoneBy) == 0 {
			bad(d.Line, "deadline %s: done_by names no entry type that meets it", d.ID)
		}
		for _, s := range d.Severities {
			if !p.KnownSeverity(s) {
				bad(d.Line, "deadline %s: %q is not a severity of this book", d.ID, s)
			}
		}
		for _, k := range d.Kinds {
			if k != "incident" && k != "routine" {
				bad(d.Line, "deadline %s: kind %q; use incident, routine", d.ID, k)
			}
		}
	}
	return probs
}
