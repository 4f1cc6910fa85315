package incident

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/icconsole/ic/runbook"
	"github.com/icconsole/ic/store"
)

// Status is an incident's current standing, derived from its timeline.
type Status struct {
	store.Incident
	ShortID  string `json:"short_id"`
	Severity string `json:"severity"`
	// WorstSeverity is the worst severity the incident ever had: its close
	// requirements apply, so a downgrade does not dodge them.
	WorstSeverity string `json:"worst_severity"`
	// Severities is the severity history, oldest first.
	Severities []SeverityPeriod `json:"severity_history"`
	State      string           `json:"state"`
	Class      string           `json:"class,omitempty"`
	Closed     bool             `json:"closed"`
	Events     int64            `json:"events"`
	HeadHash   string           `json:"head_hash"`
	LastAt     time.Time        `json:"last_event_at"`
	// LastUpdate is the last status update (or the declaration).
	LastUpdate time.Time `json:"last_update"`
	// UpdateDue is when the next status update is due (zero: none due).
	UpdateDue time.Time `json:"update_due,omitzero"`
	// Missing lists the close requirements the timeline does not yet hold.
	Missing []string `json:"missing_before_close"`
	// ClosedAt is when the incident reached a closed state (zero while
	// open): the clock of a closed incident stops there.
	ClosedAt time.Time `json:"closed_at,omitzero"`
	// Deadlines are the book's deadlines that apply to the incident.
	Deadlines []DeadlineStatus `json:"deadlines,omitempty"`
}

// NextDeadline is the deadline to show first: the earliest due and not
// done (ok false when none is running).
func (s Status) NextDeadline() (DeadlineStatus, bool) {
	var next DeadlineStatus
	found := false
	for _, d := range s.Deadlines {
		if d.Done || d.Due.IsZero() {
			continue
		}
		if !found || d.Due.Before(next.Due) {
			next, found = d, true
		}
	}
	return next, found
}

// SeverityPeriod is a severity in force from a time on: the declaration,
// then each change.
type SeverityPeriod struct {
	Severity string    `json:"severity"`
	From     time.Time `json:"from"`
	Seq      int64     `json:"seq"`
	Reason   string    `json:"reason,omitempty"`
}

// Overdue reports whether a status update is overdue at now.
func (s Status) Overdue(now time.Time) bool {
	return !s.UpdateDue.IsZero() && now.After(s.UpdateDue)
}

// statusAndPolicy is the incident's Status and the policy of its book,
// whose rules apply to it.
func (s *Service) statusAndPolicy(ctx context.Context, id string) (Status, *runbook.Policy, error) {
	st, err := s.Status(ctx, id)
	if err != nil {
		return Status{}, nil, err
	}
	pol, err := s.Policy(st.Book)
	return st, pol, err
}

// Status derives the incident's current severity, state and deadlines:
// one indexed query finds the newest entry of each type, then only the few
// entries that matter are read.
func (s *Service) Status(ctx context.Context, id string) (Status, error) {
	inc, err := s.db.Incident(ctx, id)
	if err != nil {
		return Status{}, err
	}
	st := Status{Incident: inc, ShortID: inc.Short(), Missing: []string{}}
	latest, err := s.db.LatestSeqs(ctx, id)
	if err != nil {
		return st, err
	}
	for _, seq := range latest {
		st.Events = max(st.Events, seq)
	}
	if st.Events == 0 {
		return st, fmt.Errorf("incident %s: %w", inc.Short(), store.ErrNotFound)
	}
	read := func(seq int64, into any) (store.Event, error) {
		e, err := s.db.Event(ctx, id, seq)
		if err == nil && into != nil {
			if err = json.Unmarshal(e.Payload, into); err != nil {
				err = fmt.Errorf("%s seq %d (%s): payload is not readable: %w", inc.Short(), seq, e.Type, err)
			}
		}
		return e, err
	}
	var dp Declared
	if _, err := read(1, &dp); err != nil {
		return st, fmt.Errorf("%s: declaration: %w", inc.Short(), err)
	}
	st.Severity, st.State, st.Class = dp.Severity, dp.State, dp.Class
	st.Severities = []SeverityPeriod{{Severity: dp.Severity, From: inc.DeclaredAt, Seq: 1}}
	if _, ok := latest[(SeverityChange{}).Kind()]; ok {
		err := s.Timeline(ctx, Range{Incident: id, Types: []string{(SeverityChange{}).Kind()}}, func(e Entry) error {
			p, ok := e.Payload.(SeverityChange)
			if !ok {
				return fmt.Errorf("%s seq %d (%s): payload is not readable", inc.Short(), e.Seq, e.Type)
			}
			st.Severities = append(st.Severities, SeverityPeriod{Severity: p.To, From: e.Time, Seq: e.Seq, Reason: p.Reason})
			return nil
		})
		if err != nil {
			return st, err
		}
		st.Severity = st.Severities[len(st.Severities)-1].Severity
	}
	st.WorstSeverity = st.Severity
	var stateAt time.Time
	if seq, ok := latest[(StateChange{}).Kind()]; ok {
		var p StateChange
		e, err := read(seq, &p)
		if err != nil {
			return st, err
		}
		st.State, stateAt = p.To, e.Time
	}
	st.LastUpdate = inc.DeclaredAt
	if seq, ok := latest[(StatusUpdate{}).Kind()]; ok {
		e, err := read(seq, nil)
		if err != nil {
			return st, err
		}
		st.LastUpdate = e.Time
	}
	head, err := read(st.Events, nil)
	if err != nil {
		return st, err
	}
	st.HeadHash, st.LastAt = head.Hash.String(), head.Time
	pol, ok := s.books.Policy(inc.Book)
	if !ok {
		return st, nil // the rules are unknown; report what the record says
	}
	st.WorstSeverity = worstSeverity(pol, st.Severities)
	st.Closed = pol.IsClosed(st.State)
	if st.Closed {
		st.ClosedAt = stateAt
		if stateAt.IsZero() {
			st.ClosedAt = inc.DeclaredAt // declared in a closed state
		}
	}
	if len(pol.Deadlines) > 0 {
		if st.Deadlines, err = s.deadlines(ctx, st, pol, latest); err != nil {
			return st, err
		}
	}
	if st.Kind == KindRoutine {
		return st, nil // a routine run has no status cadence and no close requirements
	}
	if c := pol.UpdateCadence(st.Severity); c > 0 && !st.Closed {
		st.UpdateDue = st.LastUpdate.Add(c)
	}
	basis := st.WorstSeverity
	if !pol.RequirementsFromWorst() {
		basis = st.Severity
	}
	st.Missing = missingFrom(pol.CloseRequirements(basis), latest)
	return st, nil
}

// missingFrom lists, sorted, the requirements none of whose entry types
// is on a timeline whose newest entry of each type latest gives.
func missingFrom(reqs map[string][]string, latest map[string]int64) []string {
	names := make([]string, 0, len(reqs))
	for name := range reqs {
		names = append(names, name)
	}
	sort.Strings(names)
	missing := []string{}
	for _, name := range names {
		if !slices.ContainsFunc(reqs[name], func(t string) bool { _, has := latest[t]; return has }) {
			missing = append(missing, fmt.Sprintf("%s (one of: %s)", name, strings.Join(reqs[name], ", ")))
		}
	}
	return missing
}

// missing lists the requirements an incident's timeline does not hold.
func (s *Service) missing(ctx context.Context, id string, reqs map[string][]string) ([]string, error) {
	latest, err := s.db.LatestSeqs(ctx, id)
	if err != nil {
		return nil, err
	}
	return missingFrom(reqs, latest), nil
}

// ListFilter selects incidents for List.
type ListFilter struct {
	OpenOnly bool
	Book     string
	Class    string
	// Kind is KindIncident, KindRoutine, or "" for both.
	Kind string
}

// List returns the status of every incident f selects, most recent first.
func (s *Service) List(ctx context.Context, f ListFilter) ([]Status, error) {
	incs, err := s.db.Incidents(ctx)
	if err != nil {
		return nil, err
	}
	out := []Status{}
	for _, inc := range incs {
		if (f.Book != "" && inc.Book != f.Book) || (f.Kind != "" && inc.Kind != f.Kind) {
			continue
		}
		st, err := s.Status(ctx, inc.ID)
		if err != nil {
			return nil, err
		}
		if (f.OpenOnly && st.Closed) || (f.Class != "" && st.Class != f.Class) {
			continue
		}
		out = append(out, st)
	}
	return out, nil
}

// worstSeverity is the worst of the severities an incident has had, by the
// policy's order (a level the policy does not know counts as mildest).
func worstSeverity(pol *runbook.Policy, history []SeverityPeriod) string {
	worst := history[0].Severity
	for _, p := range history[1:] {
		if r := pol.Rank(p.Severity); r >= 0 && (pol.Rank(worst) < 0 || r < pol.Rank(worst)) {
			worst = p.Severity
		}
	}
	return worst
}
