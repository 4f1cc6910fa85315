package incident

import (
	"context"
	"fmt"
	"strings"

	"github.com/icconsole/ic/runbook"
)

// ClosePlan says, before anyone types a reason, whether an incident may
// close now and, if not, what its book's policy still needs, in plain
// words. The console lists it with the key that records each need; the
// command line with the command.
type ClosePlan struct {
	Incident string `json:"incident"`
	Severity string `json:"severity"`
	State    string `json:"state"`
	// Closing is the policy's closing state.
	Closing string `json:"closing_state"`
	// Direct is true when the policy allows the move from State to
	// Closing in one step; Next lists the states it allows instead.
	Direct bool     `json:"direct"`
	Next   []string `json:"next_states"`
	// Needs lists the requirements the timeline does not hold yet.
	Needs  []Need `json:"needs"`
	Closed bool   `json:"closed"`
}

// Need is one requirement of the policy the timeline does not yet hold.
type Need struct {
	// Requirement is the policy's name for it ("evidence").
	Requirement string `json:"requirement"`
	// Kinds are the entry types any one of which satisfies it.
	Kinds []string `json:"kinds"`
	// Words says it for a tired reader: "evidence: a file attached as
	// evidence, or a sync-committee check result".
	Words string `json:"words"`
}

// Ready reports whether the incident may move to its closing state now.
func (p ClosePlan) Ready() bool { return !p.Closed && p.Direct && len(p.Needs) == 0 }

// kindWords says what an entry type is, for the close preflight.
var kindWords = map[string]string{
	"evidence_attached":       "a file attached as evidence",
	"verification":            "a sync-committee check result",
	"restart_criteria_signed": "the restart criteria, signed",
	"postmortem_linked":       "a link to the postmortem",
	"status_update":           "a status update",
	"role_assigned":           "a role assigned",
	"deviation":               "a deviation recorded",
	"note":                    "a note",
	"action_item":             "an action item",
}

// KindWords says what an entry type is in plain words ("a link to the
// postmortem"); a type without words of its own is named as it is stored.
func KindWords(kind string) string {
	if w, ok := kindWords[kind]; ok {
		return w
	}
	return "a " + strings.ReplaceAll(kind, "_", " ") + " entry"
}

// PlanClose computes the close preflight from an incident's status (its
// Missing list, as Status derives it) and its book's policy. It does no
// I/O, so the console calls it as the operator presses keys.
func PlanClose(pol *runbook.Policy, st Status) ClosePlan {
	p := ClosePlan{Incident: st.ID, Severity: st.Severity, State: st.State, Closing: pol.ClosingState(), Closed: st.Closed, Needs: []Need{}}
	p.Direct = pol.Allows(st.State, p.Closing)
	if !p.Direct {
		p.Next = pol.NextStates(st.State)
	}
	reqs := pol.CloseRequirements(st.Severity)
	for _, m := range st.Missing {
		// Status names each missing requirement first: "evidence (one of: …)".
		name, _, _ := strings.Cut(m, " (")
		kinds := reqs[name]
		var words []string
		for _, k := range kinds {
			words = append(words, KindWords(k))
		}
		p.Needs = append(p.Needs, Need{Requirement: name, Kinds: kinds, Words: fmt.Sprintf("%s: %s", name, strings.Join(words, ", or "))})
	}
	return p
}

// ClosePreflight is PlanClose for the incident id as the ledger holds it now.
func (s *Service) ClosePreflight(ctx context.Context, id string) (ClosePlan, error) {
	st, pol, err := s.statusAndPolicy(ctx, id)
	if err != nil {
		return ClosePlan{}, err
	}
	return PlanClose(pol, st), nil
}
