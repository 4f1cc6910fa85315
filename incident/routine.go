package incident

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/icconsole/ic/runbook"
	"github.com/icconsole/ic/store"
)

// A routine run is an incident of kind "routine": its own append-only,
// hash-chained timeline, declared citing the procedure it walks, at the
// book's mildest severity, with no status cadence and no close
// requirements. Each step is recorded as step_checked, step_skipped (with
// a reason) or step_failed (with a note).

// StartRoutine declares a run of the routine procedure id.
func (s *Service) StartRoutine(ctx context.Context, id string, by Actor, key string) (Status, *runbook.Procedure, error) {
	p, err := s.Procedure(id)
	if err != nil {
		return Status{}, nil, err
	}
	if p.Kind != runbook.Routine {
		article := map[runbook.Kind]string{runbook.Incident: "an incident", runbook.Reference: "a reference"}[p.Kind]
		return Status{}, nil, refuse("%s is %s procedure, not a routine: declare an incident with it instead", p.ID, article)
	}
	pol, err := s.Policy(p.Book)
	if err != nil {
		return Status{}, nil, err
	}
	ref := Ref(p)
	sevs := pol.SeverityIDs() // worst first
	st, _, err := s.Declare(ctx, Declaration{Book: p.Book, Title: p.ID + " " + p.Title, Severity: sevs[len(sevs)-1],
		Kind: KindRoutine, Runbook: &ref, By: by, Key: key})
	return st, p, err
}

// RunSummary is one routine run at a glance.
type RunSummary struct {
	Run     string    `json:"run"`
	Started time.Time `json:"started"`
	Actor   string    `json:"actor"`
	Version int       `json:"version"`
	Done    int       `json:"done"`
	Skipped int       `json:"skipped"`
	Failed  int       `json:"failed"`
	// Steps says how each recorded step stands by its latest record:
	// "checked", "skipped" or "failed", by step number.
	Steps map[int]string `json:"steps,omitempty"`
}

// RoutineRuns lists the newest runs of a procedure, most recent first.
func (s *Service) RoutineRuns(ctx context.Context, procedure string, limit int) ([]RunSummary, error) {
	firsts, err := s.db.Declarations(ctx, KindRoutine, "$.runbook.id", procedure, limit)
	if err != nil {
		return nil, err
	}
	out := []RunSummary{}
	checked, skipped, failed := (StepChecked{}).Kind(), (StepSkipped{}).Kind(), (StepFailed{}).Kind()
	for _, first := range firsts {
		r := RunSummary{Run: first.Incident, Started: first.Time, Actor: first.Actor}
		if d, ok := Decode(first).Payload.(Declared); ok && d.Runbook != nil {
			r.Version = d.Runbook.Version
		}
		// Count each step once, by its latest record.
		last := map[string]string{}
		err := s.db.Fields(ctx, r.Run, []string{checked, skipped, failed}, []string{"$.step"}, func(f store.Field) error {
			last[f.Value] = f.Type
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("routine run %s: %w", ShortID(r.Run), err)
		}
		r.Steps = map[int]string{}
		for step, t := range last {
			n, _ := strconv.Atoi(step)
			switch t {
			case checked:
				r.Done++
				r.Steps[n] = "checked"
			case skipped:
				r.Skipped++
				r.Steps[n] = "skipped"
			case failed:
				r.Failed++
				r.Steps[n] = "failed"
			}
		}
		out = append(out, r)
	}
	return out, nil
}
