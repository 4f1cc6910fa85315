package incident

import (
	"fmt"

	"github.com/icconsole/ic/store"
)

// SeverityChange moves an incident to another of its book's severities.
type SeverityChange struct {
	From   string `json:"from,omitempty"`
	To     string `json:"to"`
	Reason string `json:"reason"`
}

func init() { register[SeverityChange]() }

func (SeverityChange) Kind() string { return "severity_changed" }

func (p SeverityChange) Line() string {
	return fmt.Sprintf("severity %s → %s: %s", p.From, p.To, p.Reason)
}

func (p SeverityChange) check(r *rules) (Payload, error) {
	if !r.pol.KnownSeverity(p.To) {
		return nil, refuse("unknown severity %q for book %s", p.To, r.st.Book)
	}
	if p.To == r.st.Severity {
		return nil, refuse("%s is already %s", r.st.Short(), p.To)
	}
	var err error
	if p.Reason, err = cleanText("reason", p.Reason, MaxTextBytes, true); err != nil {
		return nil, err
	}
	p.From = r.st.Severity
	return p, nil
}

func (p SeverityChange) addTo(d *draft, e store.Event) {
	d.severity = append(d.severity, fmt.Sprintf("%s → %s by %s at %s (%s)", p.From, p.To, e.Actor, e.Time.Format("15:04"), p.Reason))
}

func (p SeverityChange) trailArg() string { return p.To }
