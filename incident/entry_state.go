package incident

import (
	"fmt"
	"strings"

	"github.com/icconsole/ic/store"
)

// StateChange moves an incident along its book's lifecycle.
type StateChange struct {
	From   string `json:"from,omitempty"`
	To     string `json:"to"`
	Reason string `json:"reason,omitempty"`
}

func init() { register[StateChange]() }

func (StateChange) Kind() string { return "state_changed" }

func (p StateChange) Line() string {
	s := fmt.Sprintf("state %s → %s", p.From, p.To)
	if p.Reason != "" {
		s += ": " + p.Reason
	}
	return s
}

func (p StateChange) check(r *rules) (Payload, error) {
	st, pol := r.st, r.pol
	if !pol.KnownState(p.To) {
		return nil, refuse("unknown state %q for book %s; from %s the policy allows: %s", p.To, st.Book, st.State, nextStates(pol, st.State))
	}
	if !pol.Allows(st.State, p.To) {
		return nil, refuse("%s cannot move from %s to %s: the policy of book %s allows only %s", st.Short(), st.State, p.To, st.Book, nextStates(pol, st.State))
	}
	if p.To == pol.ClosingState() && len(st.Missing) > 0 {
		sev := st.Severity
		if st.WorstSeverity != st.Severity {
			sev = fmt.Sprintf("%s, earlier %s, whose requirements apply", st.Severity, st.WorstSeverity)
		}
		return nil, refuse("%s (%s) cannot close yet: the timeline has no %s. \"Seems fine now\" is not a criterion", st.Short(), sev, strings.Join(st.Missing, "; no "))
	}
	if reqs := pol.StateRequirements(p.To); len(reqs) > 0 {
		missing, err := r.svc.missing(r.ctx, st.ID, reqs)
		if err != nil {
			return nil, err
		}
		if len(missing) > 0 {
			return nil, refuse("%s cannot move to %s yet: the timeline has no %s", st.Short(), p.To, strings.Join(missing, "; no "))
		}
	}
	var err error
	if p.Reason, err = cleanText("reason", p.Reason, MaxTextBytes, false); err != nil {
		return nil, err
	}
	p.From = st.State
	return p, nil
}

func (p StateChange) addTo(d *draft, e store.Event) {
	d.states = append(d.states, fmt.Sprintf("%s at %s by %s", p.To, e.Time.Format("2006-01-02 15:04"), e.Actor))
}

func (p StateChange) trailArg() string { return p.To }
