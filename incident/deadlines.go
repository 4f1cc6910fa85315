package incident

import (
	"context"
	"slices"
	"time"

	"github.com/icconsole/ic/runbook"
	"github.com/icconsole/ic/store"
)

// DeadlineStatus is where an incident stands against one of its book's
// deadlines (a postmortem within 5 business days of closing, a meeting
// within 48 hours of a failed run).
type DeadlineStatus struct {
	ID     string `json:"id"`
	What   string `json:"what"`
	Source string `json:"source,omitempty"`
	Within string `json:"within"`
	// Due is when it is due; zero until what starts it has happened.
	Due     time.Time `json:"due,omitzero"`
	Done    bool      `json:"done"`
	DoneSeq int64     `json:"done_seq,omitempty"`
}

// Overdue reports whether the deadline passed undone at now.
func (d DeadlineStatus) Overdue(now time.Time) bool {
	return !d.Done && !d.Due.IsZero() && now.After(d.Due)
}

// deadlines works out an incident's deadlines from its record: what
// started each one and whether an entry that meets it is there.
func (s *Service) deadlines(ctx context.Context, st Status, pol *runbook.Policy, latest map[string]int64) ([]DeadlineStatus, error) {
	var out []DeadlineStatus
	for _, d := range pol.Deadlines {
		if !d.Applies(st.Kind, st.WorstSeverity) {
			continue
		}
		ds := DeadlineStatus{ID: d.ID, What: d.What, Source: d.Source, Within: d.Span().String()}
		start, err := s.deadlineStart(ctx, st, pol, d.From, latest)
		if err != nil {
			return nil, err
		}
		if !start.IsZero() {
			ds.Due = d.Span().After(start)
		}
		for _, t := range d.DoneBy {
			if seq, ok := latest[t]; ok && seq > ds.DoneSeq {
				ds.Done, ds.DoneSeq = true, seq
			}
		}
		out = append(out, ds)
	}
	return out, nil
}

// deadlineStart is when what starts a deadline happened (zero: not yet).
func (s *Service) deadlineStart(ctx context.Context, st Status, pol *runbook.Policy, from string, latest map[string]int64) (time.Time, error) {
	switch from {
	case "declared":
		return st.DeclaredAt, nil
	case "step_failed":
		if _, ok := latest[(StepFailed{}).Kind()]; !ok {
			return time.Time{}, nil
		}
		var first time.Time
		err := s.db.Fields(ctx, st.ID, []string{(StepFailed{}).Kind()}, []string{"$.step"}, func(f store.Field) error {
			if first.IsZero() {
				first = f.Time
			}
			return nil
		})
		return first, err
	case "closed":
		if !st.Closed {
			return time.Time{}, nil
		}
		var at time.Time
		err := s.db.Fields(ctx, st.ID, []string{(StateChange{}).Kind()}, []string{"$.to"}, func(f store.Field) error {
			if at.IsZero() && slices.Contains(pol.Lifecycle.Closed, f.Value) {
				at = f.Time
			}
			return nil
		})
		return at, err
	}
	return time.Time{}, nil
}
