package store

import (
	"context"
	"encoding/json"
	"strconv"
	"time"
)

// A routine run is an incident of kind "routine": its own append-only,
// hash-chained timeline, declared citing the procedure it walks, at the
// book's mildest severity, with no status cadence and no close
// requirements. Each step is recorded as step_checked, step_skipped (with
// a reason) or step_failed (with a note).

// RunSummary is one routine run at a glance.
type RunSummary struct {
	Run     string    `json:"run"`
	Started time.Time `json:"started"`
	Actor   string    `json:"actor"`
	Version int       `json:"version"`
	Done    int       `json:"done"`
	Skipped int       `json:"skipped"`
	Failed  int       `json:"failed"`
}

// RoutineRuns lists the newest runs of a procedure, most recent first.
func (l *Ledger) RoutineRuns(ctx context.Context, procedure string, limit int) ([]RunSummary, error) {
	rows, err := l.db.sql.QueryContext(ctx, `SELECT i.id, i.declared_at, i.declared_by, e.payload FROM incidents i
		JOIN events e ON e.incident = i.n AND e.seq = 1
		WHERE i.kind = 'routine' AND json_extract(e.payload, '$.runbook.id') = ?
		ORDER BY i.declared_at DESC LIMIT ?`, procedure, limit)
	if err != nil {
		return nil, err
	}
	var out []RunSummary
	for rows.Next() {
		var r RunSummary
		var at int64
		var payload []byte
		if err := rows.Scan(&r.Run, &at, &r.Actor, &payload); err != nil {
			rows.Close()
			return nil, err
		}
		var d DeclaredPayload
		json.Unmarshal(payload, &d)
		if d.Runbook != nil {
			r.Version = d.Runbook.Version
		}
		r.Started = time.UnixMilli(at).UTC()
		out = append(out, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		// Count each step once, by its latest record.
		last := map[int]string{}
		err := l.db.Events(ctx, Range{Incident: out[i].Run, Types: []string{TypeStepChecked, TypeStepSkipped, TypeStepFailed}}, func(e Event) error {
			var s struct {
				Step int `json:"step"`
			}
			json.Unmarshal(e.Payload, &s)
			last[s.Step] = e.Type
			return nil
		})
		if err != nil {
			return nil, err
		}
		for _, t := range last {
			switch t {
			case TypeStepChecked:
				out[i].Done++
			case TypeStepSkipped:
				out[i].Skipped++
			case TypeStepFailed:
				out[i].Failed++
			}
		}
	}
	return out, nil
}

// AuditItem is one line of the audit-trail completeness check (AZ-015
// §32): present or missing, and the event that satisfies it.
type AuditItem struct {
	Name    string `json:"name"`
	Present bool   `json:"present"`
	Seq     int64  `json:"seq,omitempty"`
	By      string `json:"by,omitempty"`
	Detail  string `json:"detail,omitempty"`
}

// Completeness checks an incident's record for what an audit trail must
// hold. Affected scopes are recorded as a note starting "scope:".
func (l *Ledger) Completeness(ctx context.Context, id string) ([]AuditItem, error) {
	st, err := l.Status(ctx, id)
	if err != nil {
		return nil, err
	}
	pol, hasPolicy := l.policies(st.Book)
	items := []AuditItem{
		{Name: "incident id", Present: true, Seq: 1, Detail: st.ID},
		{Name: "timeline", Present: st.Events > 0, Seq: st.Events, Detail: "seq 1.." + strconv.FormatInt(st.Events, 10)},
	}
	find := func(name string, types []string, match func(e Event) (bool, string)) AuditItem {
		it := AuditItem{Name: name}
		l.db.Events(ctx, Range{Incident: id, Types: types}, func(e Event) error {
			if ok, detail := match(e); ok {
				it = AuditItem{Name: name, Present: true, Seq: e.Seq, By: e.Actor, Detail: detail}
				return errStop
			}
			return nil
		})
		return it
	}
	items = append(items, find("who declared the severity", []string{TypeDeclared}, func(e Event) (bool, string) {
		if e.Type == TypeDeclared {
			var d DeclaredPayload
			json.Unmarshal(e.Payload, &d)
			return true, d.Severity
		}
		return false, ""
	}))
	states := func(e Event) (StateChange, bool) {
		var sc StateChange
		if e.Type != TypeStateChanged || json.Unmarshal(e.Payload, &sc) != nil {
			return sc, false
		}
		return sc, true
	}
	items = append(items, find("who set the containment / response profile", []string{TypeStateChanged, TypeRoleAssigned}, func(e Event) (bool, string) {
		sc, ok := states(e)
		if ok && hasPolicy && sc.To == pol.ContainedState() {
			return true, sc.From + " → " + sc.To
		}
		if e.Type == TypeRoleAssigned {
			var r RoleAssignment
			json.Unmarshal(e.Payload, &r)
			return r.Role == "commander", "commander " + r.Name
		}
		return false, ""
	}))
	items = append(items, find("affected scopes", []string{TypeNote}, func(e Event) (bool, string) {
		var n Note
		if e.Type == TypeNote && json.Unmarshal(e.Payload, &n) == nil && len(n.Text) > 6 && (n.Text[:6] == "scope:" || n.Text[:6] == "Scope:") {
			return true, n.Text
		}
		return false, ""
	}))
	items = append(items, find("evidence references", []string{TypeEvidenceAttached, TypeVerification}, func(e Event) (bool, string) {
		return e.Type == TypeEvidenceAttached || e.Type == TypeVerification, Describe(e)
	}))
	items = append(items, find("recovery actions", []string{TypeStateChanged}, func(e Event) (bool, string) {
		sc, ok := states(e)
		if ok && hasPolicy && sc.To != pol.ContainedState() && sc.To != pol.InitialState() && !pol.IsClosed(sc.To) {
			return true, sc.From + " → " + sc.To
		}
		return false, ""
	}))
	items = append(items, find("restart criteria and sign-off", []string{TypeRestartCriteriaSigned}, func(e Event) (bool, string) {
		return e.Type == TypeRestartCriteriaSigned, Describe(e)
	}))
	items = append(items, find("postmortem link", []string{TypePostmortemLinked}, func(e Event) (bool, string) {
		return e.Type == TypePostmortemLinked, Describe(e)
	}))
	return items, nil
}

type stopWalk struct{}

func (stopWalk) Error() string { return "stop" }

var errStop error = stopWalk{}
