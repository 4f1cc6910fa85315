package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// MonthlyInput says which month to review and what the books know that
// the ledger does not.
type MonthlyInput struct {
	Month time.Time // any time in the month, UTC
	Book  string    // "" for every book
	// DailyRoutines are the ids of the daily-check procedures: runs of
	// them are counted against working days.
	DailyRoutines []string
	Now           time.Time
}

// Monthly is the monthly review, computed from the ledger. Drills are
// counted apart and left out of every other figure.
type Monthly struct {
	Month         string           `json:"month"`
	Book          string           `json:"book,omitempty"`
	Incidents     int              `json:"incidents"`
	Drills        int              `json:"drills"`
	BySeverity    []SeverityCount  `json:"by_severity"`
	TimeToContain Durations        `json:"time_to_contain"`
	TimeToClose   Durations        `json:"time_to_close"`
	OverCadence   []CadenceMiss    `json:"over_update_cadence"`
	OpenActions   []OpenAction     `json:"open_action_items"`
	NoPostmortem  []IncidentRef    `json:"without_postmortem"`
	Procedures    []ProcedureUse   `json:"procedures_used"`
	Stale         []StaleProcedure `json:"procedures_not_reviewed_180d"`
	Routine       RoutineRunCounts `json:"routine_runs"`
	Generated     time.Time        `json:"generated_at"`
}

// SeverityCount is the number of incidents at one level.
type SeverityCount struct {
	Severity string `json:"severity"`
	Count    int    `json:"count"`
}

// Durations summarises a set of durations.
type Durations struct {
	N        int     `json:"n"`
	MedianS  float64 `json:"median_seconds"`
	WorstS   float64 `json:"worst_seconds"`
	WorstRef string  `json:"worst_incident,omitempty"`
}

// CadenceMiss is an incident whose status updates came later than its
// severity's cadence.
type CadenceMiss struct {
	Incident string  `json:"incident"`
	Severity string  `json:"severity"`
	Cadence  string  `json:"cadence"`
	Misses   int     `json:"misses"`
	WorstS   float64 `json:"worst_overrun_seconds"`
}

// OpenAction is an action item not yet done.
type OpenAction struct {
	Incident string `json:"incident"`
	Seq      int64  `json:"seq"`
	Text     string `json:"text"`
	Owner    string `json:"owner"`
	Due      string `json:"due,omitempty"`
	AgeDays  int    `json:"age_days"`
	Stale    bool   `json:"older_than_30_days"`
}

// IncidentRef names an incident in a report.
type IncidentRef struct {
	Incident string `json:"incident"`
	Title    string `json:"title"`
	Severity string `json:"severity"`
	State    string `json:"state"`
}

// ProcedureUse counts how often a procedure was followed.
type ProcedureUse struct {
	ID        string `json:"id"`
	Incidents int    `json:"incidents"`
}

// StaleProcedure is a procedure whose `reviewed` date is over 180 days old.
type StaleProcedure struct {
	ID       string `json:"id"`
	Reviewed string `json:"reviewed"`
	AgeDays  int    `json:"age_days"`
}

// RoutineRunCounts compares daily-check runs with working days.
type RoutineRunCounts struct {
	Runs         int      `json:"runs"`
	DailyDone    int      `json:"daily_check_days_done"`
	WorkingDays  int      `json:"working_days_expected"`
	MissingDates []string `json:"days_without_daily_check"`
}

// MonthlyReview computes the review of one month.
func (l *Ledger) MonthlyReview(ctx context.Context, in MonthlyInput) (*Monthly, error) {
	start := time.Date(in.Month.Year(), in.Month.Month(), 1, 0, 0, 0, 0, time.UTC)
	end := start.AddDate(0, 1, 0)
	if in.Now.IsZero() {
		in.Now = l.now().UTC()
	}
	rep := &Monthly{Month: start.Format("2006-01"), Book: in.Book, Generated: in.Now, BySeverity: []SeverityCount{},
		OverCadence: []CadenceMiss{}, OpenActions: []OpenAction{}, NoPostmortem: []IncidentRef{}, Procedures: []ProcedureUse{},
		Stale: []StaleProcedure{}, Routine: RoutineRunCounts{MissingDates: []string{}}}
	q := `SELECT n, id FROM incidents WHERE declared_at >= ? AND declared_at < ?`
	args := []any{start.UnixMilli(), end.UnixMilli()}
	if in.Book != "" {
		q += " AND book = ?"
		args = append(args, in.Book)
	}
	rows, err := l.db.sql.QueryContext(ctx, q+" ORDER BY declared_at", args...)
	if err != nil {
		return nil, err
	}
	var ids []string
	for rows.Next() {
		var n int64
		var id string
		if err := rows.Scan(&n, &id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	rows.Close()

	// Each incident's facts are independent: gather them on every core,
	// then merge in declaration order so the report is the same each time.
	facts := make([]incidentFacts, len(ids))
	var wg sync.WaitGroup
	next := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range next {
				facts[i] = l.gatherFacts(ctx, ids[i], in)
			}
		})
	}
	for i := range ids {
		next <- i
	}
	close(next)
	wg.Wait()

	sevCount := map[string]int{}
	var contain, closeD []time.Duration
	var containRef, closeRef []string
	procIncidents := map[string]map[string]bool{}
	dailyDays := map[string]bool{}
	for _, f := range facts {
		if f.err != nil {
			return nil, f.err
		}
		st := f.status
		switch {
		case st.Kind == "routine":
			rep.Routine.Runs++
			if f.dailyRun {
				dailyDays[st.DeclaredAt.Format(time.DateOnly)] = true
			}
			continue
		case st.Drill:
			rep.Drills++
			continue
		}
		rep.Incidents++
		sevCount[st.Severity]++
		if f.contain > 0 {
			contain, containRef = append(contain, f.contain), append(containRef, st.Short())
		}
		if f.close > 0 {
			closeD, closeRef = append(closeD, f.close), append(closeRef, st.Short())
		}
		if f.miss != nil {
			rep.OverCadence = append(rep.OverCadence, *f.miss)
		}
		if !f.postmortem {
			rep.NoPostmortem = append(rep.NoPostmortem, IncidentRef{Incident: st.Short(), Title: st.Title, Severity: st.Severity, State: st.State})
		}
		rep.OpenActions = append(rep.OpenActions, f.actions...)
		for _, p := range f.procedures {
			if procIncidents[p] == nil {
				procIncidents[p] = map[string]bool{}
			}
			procIncidents[p][st.ID] = true
		}
	}
	for sev, n := range sevCount {
		rep.BySeverity = append(rep.BySeverity, SeverityCount{Severity: sev, Count: n})
	}
	sort.Slice(rep.BySeverity, func(i, j int) bool { return rep.BySeverity[i].Severity < rep.BySeverity[j].Severity })
	rep.TimeToContain = summarise(contain, containRef)
	rep.TimeToClose = summarise(closeD, closeRef)
	for id, incs := range procIncidents {
		rep.Procedures = append(rep.Procedures, ProcedureUse{ID: id, Incidents: len(incs)})
	}
	sort.Slice(rep.Procedures, func(i, j int) bool {
		if rep.Procedures[i].Incidents != rep.Procedures[j].Incidents {
			return rep.Procedures[i].Incidents > rep.Procedures[j].Incidents
		}
		return rep.Procedures[i].ID < rep.Procedures[j].ID
	})
	for d := start; d.Before(end) && !d.After(in.Now); d = d.AddDate(0, 0, 1) {
		if d.Weekday() == time.Saturday || d.Weekday() == time.Sunday {
			continue
		}
		rep.Routine.WorkingDays++
		if dailyDays[d.Format(time.DateOnly)] {
			rep.Routine.DailyDone++
		} else {
			rep.Routine.MissingDates = append(rep.Routine.MissingDates, d.Format(time.DateOnly))
		}
	}
	return rep, nil
}

// incidentFacts is what the monthly review needs from one incident.
type incidentFacts struct {
	status         Status
	contain, close time.Duration
	miss           *CadenceMiss
	postmortem     bool
	actions        []OpenAction
	procedures     []string
	dailyRun       bool
	err            error
}

func (l *Ledger) gatherFacts(ctx context.Context, id string, in MonthlyInput) (f incidentFacts) {
	st, err := l.Status(ctx, id)
	if err != nil {
		return incidentFacts{err: err}
	}
	f.status = st
	if st.Kind == "routine" {
		f.dailyRun = l.isDailyRun(ctx, st, in.DailyRoutines)
		return f
	}
	if st.Drill {
		return f
	}
	pol, hasPolicy := l.policies(st.Book)
	var containedAt, closedAt time.Time
	var updates []time.Time
	// Only times for the updates and the target state of each change:
	// the update payloads are not read (there can be thousands).
	f.err = l.db.timesAndStates(ctx, id, func(typ string, t time.Time, to string) {
		if typ == TypeStatusUpdate {
			updates = append(updates, t)
			return
		}
		if hasPolicy && to == pol.ContainedState() && containedAt.IsZero() {
			containedAt = t
		}
		if hasPolicy && to == pol.ClosingState() && closedAt.IsZero() {
			closedAt = t
		}
	})
	if f.err != nil {
		return f
	}
	if !containedAt.IsZero() {
		f.contain = containedAt.Sub(st.DeclaredAt)
	}
	if !closedAt.IsZero() {
		f.close = closedAt.Sub(st.DeclaredAt)
	}
	if hasPolicy {
		f.miss = cadenceMisses(st, pol.UpdateCadence(st.Severity), updates, closedAt, in.Now)
	}
	latest, err := l.db.LatestSeqs(ctx, id)
	if err != nil {
		return incidentFacts{err: err}
	}
	_, f.postmortem = latest[TypePostmortemLinked]
	if f.err = l.openActions(ctx, st, in.Now, &f.actions); f.err != nil {
		return f
	}
	procs := map[string]map[string]bool{}
	f.err = l.proceduresUsed(ctx, id, procs)
	for p := range procs {
		f.procedures = append(f.procedures, p)
	}
	return f
}

// timesAndStates walks an incident's status updates and state changes in
// order, giving each one's time and, for a state change, the new state.
func (d *DB) timesAndStates(ctx context.Context, id string, fn func(typ string, t time.Time, to string)) error {
	rows, err := d.sql.QueryContext(ctx, `SELECT e.type, e.time, CASE WHEN e.type = 'state_changed' THEN json_extract(e.payload, '$.to') END
		FROM events e WHERE `+byID+` AND e.type IN ('state_changed', 'status_update') ORDER BY e.seq`, id)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var typ string
		var ms int64
		var to sql.NullString
		if err := rows.Scan(&typ, &ms, &to); err != nil {
			return err
		}
		fn(typ, time.UnixMilli(ms).UTC(), to.String)
	}
	return rows.Err()
}

// cadenceMisses measures each gap between status updates (from the
// declaration, until closed or now) against the cadence.
func cadenceMisses(st Status, cadence time.Duration, updates []time.Time, closedAt, now time.Time) *CadenceMiss {
	if cadence <= 0 {
		return nil
	}
	until := now
	if !closedAt.IsZero() {
		until = closedAt
	}
	marks := append([]time.Time{st.DeclaredAt}, updates...)
	marks = append(marks, until)
	miss := CadenceMiss{Incident: st.Short(), Severity: st.Severity, Cadence: human(cadence.Seconds())}
	for i := 1; i < len(marks); i++ {
		if gap := marks[i].Sub(marks[i-1]); gap > cadence {
			miss.Misses++
			miss.WorstS = max(miss.WorstS, (gap - cadence).Seconds())
		}
	}
	if miss.Misses == 0 {
		return nil
	}
	return &miss
}

func (l *Ledger) openActions(ctx context.Context, st Status, now time.Time, out *[]OpenAction) error {
	done := map[int64]bool{}
	var items []Event
	err := l.db.Events(ctx, Range{Incident: st.ID, Types: []string{TypeActionItem, TypeActionItemDone}}, func(e Event) error {
		if e.Type == TypeActionItemDone {
			var d ActionItemDone
			json.Unmarshal(e.Payload, &d)
			done[d.Item] = true
		} else {
			items = append(items, e)
		}
		return nil
	})
	for _, e := range items {
		if done[e.Seq] {
			continue
		}
		var a ActionItem
		json.Unmarshal(e.Payload, &a)
		age := int(now.Sub(e.Time).Hours() / 24)
		*out = append(*out, OpenAction{Incident: st.Short(), Seq: e.Seq, Text: a.Text, Owner: a.Owner, Due: a.Due, AgeDays: age, Stale: age > 30})
	}
	return err
}

// proceduresUsed collects the procedures an incident cites, counted in
// SQLite (step events are numerous).
func (l *Ledger) proceduresUsed(ctx context.Context, id string, into map[string]map[string]bool) error {
	rows, err := l.db.sql.QueryContext(ctx, `SELECT DISTINCT coalesce(json_extract(e.payload, '$.procedure.id'), json_extract(e.payload, '$.runbook.id'))
		FROM events e WHERE `+byID+` AND e.type IN ('step_checked', 'step_skipped', 'step_failed', 'runbook_linked', 'declared')`, id)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var p sql.NullString
		if err := rows.Scan(&p); err != nil {
			return err
		}
		if p.Valid && p.String != "" {
			if into[p.String] == nil {
				into[p.String] = map[string]bool{}
			}
			into[p.String][id] = true
		}
	}
	return rows.Err()
}

// isDailyRun reports whether a routine run walked a daily check.
func (l *Ledger) isDailyRun(ctx context.Context, st Status, daily []string) bool {
	declared, err := l.db.Event(ctx, st.ID, 1)
	if err != nil {
		return false
	}
	var d DeclaredPayload
	json.Unmarshal(declared.Payload, &d)
	return d.Runbook != nil && slices.Contains(daily, d.Runbook.ID)
}

func summarise(ds []time.Duration, refs []string) Durations {
	if len(ds) == 0 {
		return Durations{}
	}
	idx := make([]int, len(ds))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return ds[idx[a]] < ds[idx[b]] })
	var median time.Duration
	if n := len(ds); n%2 == 1 {
		median = ds[idx[n/2]]
	} else {
		median = (ds[idx[n/2-1]] + ds[idx[n/2]]) / 2
	}
	worst := idx[len(idx)-1]
	return Durations{N: len(ds), MedianS: median.Seconds(), WorstS: ds[worst].Seconds(), WorstRef: refs[worst]}
}

func human(seconds float64) string {
	d := time.Duration(seconds * float64(time.Second)).Round(time.Minute)
	if d < time.Hour {
		return fmt.Sprintf("%dm", int(d.Minutes()))
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}

// WriteMarkdown writes the report for the build journal.
func (r *Monthly) WriteMarkdown(w io.Writer) error {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	cell := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
	book := "all books"
	if r.Book != "" {
		book = "book " + r.Book
	}
	p("# Monthly review %s (%s)\n\n", r.Month, book)
	p("Computed from the ledger at %s. Drills are counted apart and left out of every figure below.\n\n", r.Generated.Format("2006-01-02 15:04 UTC"))
	p("## Incidents\n\n%d incident(s), %d drill(s).\n\n", r.Incidents, r.Drills)
	if len(r.BySeverity) > 0 {
		p("| severity | incidents |\n|---|---|\n")
		for _, s := range r.BySeverity {
			p("| %s | %d |\n", s.Severity, s.Count)
		}
		p("\n")
	}
	dur := func(name string, d Durations) {
		if d.N == 0 {
			p("- %s: no incident reached it\n", name)
			return
		}
		p("- %s: median %s, worst %s (%s), over %d incident(s)\n", name, human(d.MedianS), human(d.WorstS), d.WorstRef, d.N)
	}
	p("## Response times\n\n")
	dur("Time to contain", r.TimeToContain)
	dur("Time to close", r.TimeToClose)
	p("\n## Status updates over their cadence\n\n")
	if len(r.OverCadence) == 0 {
		p("None: every incident was updated on time.\n")
	} else {
		p("| incident | severity | cadence | late updates | worst overrun |\n|---|---|---|---|---|\n")
		for _, c := range r.OverCadence {
			p("| %s | %s | %s | %d | %s |\n", c.Incident, c.Severity, c.Cadence, c.Misses, human(c.WorstS))
		}
	}
	p("\n## Open action items\n\n")
	if len(r.OpenActions) == 0 {
		p("None open.\n")
	} else {
		p("| incident | # | owner | due | age | item |\n|---|---|---|---|---|---|\n")
		for _, a := range r.OpenActions {
			age := fmt.Sprintf("%d days", a.AgeDays)
			if a.Stale {
				age += " ⚠ over 30 days"
			}
			p("| %s | %d | %s | %s | %s | %s |\n", a.Incident, a.Seq, cell(a.Owner), a.Due, age, cell(a.Text))
		}
	}
	p("\n## Incidents without a postmortem link\n\n")
	if len(r.NoPostmortem) == 0 {
		p("None.\n")
	}
	for _, i := range r.NoPostmortem {
		p("- %s %s %s: %s\n", i.Incident, i.Severity, i.State, i.Title)
	}
	p("\n## Procedures\n\n")
	if len(r.Procedures) == 0 {
		p("No procedure was cited.\n")
	}
	for _, u := range r.Procedures {
		p("- %s: followed in %d incident(s)\n", u.ID, u.Incidents)
	}
	p("\nNot reviewed in 180 days:\n\n")
	if len(r.Stale) == 0 {
		p("- none\n")
	}
	for _, s := range r.Stale {
		p("- %s: last reviewed %s (%d days ago)\n", s.ID, s.Reviewed, s.AgeDays)
	}
	p("\n## Routine runs\n\n%d run(s). Daily checks on %d of %d working day(s).\n", r.Routine.Runs, r.Routine.DailyDone, r.Routine.WorkingDays)
	if len(r.Routine.MissingDates) > 0 {
		p("Working days without a daily check: %s.\n", strings.Join(r.Routine.MissingDates, ", "))
	}
	return nil
}
