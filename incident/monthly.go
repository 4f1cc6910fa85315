package incident

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/icconsole/ic/runbook"

	"github.com/icconsole/ic/store"
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
	BySeverity    []SeverityCount  `json:"by_worst_severity"`
	TimeToContain Durations        `json:"time_to_contain"`
	TimeToClose   Durations        `json:"time_to_close"`
	OverCadence   []CadenceMiss    `json:"over_update_cadence"`
	Downgrades    []Downgrade      `json:"downgrades"`
	Deadlines     []DeadlineMiss   `json:"deadlines_missed"`
	DrillFigures  DrillFacts       `json:"drill_figures"`
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

// Downgrade is a severity change to a milder level, with its reason: the
// review shows them, since a downgrade changes what closing requires only
// if the policy says so.
type Downgrade struct {
	Incident string    `json:"incident"`
	Seq      int64     `json:"seq"`
	At       time.Time `json:"at"`
	From     string    `json:"from"`
	To       string    `json:"to"`
	Reason   string    `json:"reason"`
}

// DrillFacts are a month's drills measured on their own.
type DrillFacts struct {
	TimeToContain Durations   `json:"time_to_contain"`
	Skipped       []DrillNote `json:"steps_skipped"`
	Deviations    []DrillNote `json:"deviations"`
}

// DrillNote is one skipped step (with its reason) or deviation of a drill.
type DrillNote struct {
	Incident string `json:"incident"`
	Seq      int64  `json:"seq"`
	What     string `json:"what"`
}

// drillFacts reads a drill's skipped steps and deviations.
func (s *Service) drillFacts(ctx context.Context, st Status) (DrillFacts, error) {
	var d DrillFacts
	err := s.Timeline(ctx, Range{Incident: st.ID, Types: []string{(StepSkipped{}).Kind(), (Deviation{}).Kind()}}, func(e Entry) error {
		switch p := e.Payload.(type) {
		case StepSkipped:
			d.Skipped = append(d.Skipped, DrillNote{Incident: st.Short(), Seq: e.Seq, What: fmt.Sprintf("%s step %d: %s", p.Procedure.ID, p.Step, p.Reason)})
		case Deviation:
			d.Deviations = append(d.Deviations, DrillNote{Incident: st.Short(), Seq: e.Seq, What: p.Text})
		}
		return nil
	})
	return d, err
}

// DeadlineMiss is a book deadline an incident met late, or has not met
// and is past.
type DeadlineMiss struct {
	Incident string    `json:"incident"`
	What     string    `json:"what"`
	Within   string    `json:"within"`
	Due      time.Time `json:"due"`
	Done     bool      `json:"done"`
	LateS    float64   `json:"late_seconds"`
}

// deadlineMisses lists the deadlines an incident missed: met after they
// were due, or still open past due at now.
func (s *Service) deadlineMisses(ctx context.Context, st Status, now time.Time) ([]DeadlineMiss, error) {
	var out []DeadlineMiss
	for _, d := range st.Deadlines {
		if d.Due.IsZero() {
			continue
		}
		at := now
		if d.Done {
			e, err := s.db.Event(ctx, st.ID, d.DoneSeq)
			if err != nil {
				return nil, err
			}
			at = e.Time
		}
		if at.After(d.Due) {
			out = append(out, DeadlineMiss{Incident: st.Short(), What: d.What, Within: d.Within, Due: d.Due, Done: d.Done, LateS: at.Sub(d.Due).Seconds()})
		}
	}
	return out, nil
}

// downgrades lists an incident's changes to a milder severity.
func downgrades(st Status, pol *runbook.Policy) []Downgrade {
	var out []Downgrade
	for i := 1; i < len(st.Severities); i++ {
		from, to := st.Severities[i-1], st.Severities[i]
		if pol.Rank(to.Severity) > pol.Rank(from.Severity) {
			out = append(out, Downgrade{Incident: st.Short(), Seq: to.Seq, At: to.From, From: from.Severity, To: to.Severity, Reason: to.Reason})
		}
	}
	return out
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
func (s *Service) monthlyFromLedger(ctx context.Context, in MonthlyInput) (*Monthly, error) {
	start := time.Date(in.Month.Year(), in.Month.Month(), 1, 0, 0, 0, 0, time.UTC)
	end := start.AddDate(0, 1, 0)
	if in.Now.IsZero() {
		in.Now = s.Now()
	}
	rep := &Monthly{Month: start.Format("2006-01"), Book: in.Book, Generated: in.Now, BySeverity: []SeverityCount{},
		OverCadence: []CadenceMiss{}, Downgrades: []Downgrade{}, Deadlines: []DeadlineMiss{}, DrillFigures: DrillFacts{Skipped: []DrillNote{}, Deviations: []DrillNote{}}, OpenActions: []OpenAction{}, NoPostmortem: []IncidentRef{}, Procedures: []ProcedureUse{},
		Stale: []StaleProcedure{}, Routine: RoutineRunCounts{MissingDates: []string{}}}
	ids, err := s.db.IncidentsDeclared(ctx, start, end, in.Book)
	if err != nil {
		return nil, err
	}

	// Each incident's facts are independent: gather them on every core,
	// then merge in declaration order so the report is the same each time.
	facts := make([]incidentFacts, len(ids))
	var wg sync.WaitGroup
	next := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range next {
				facts[i] = s.gatherFacts(ctx, ids[i], in)
			}
		})
	}
	for i := range ids {
		next <- i
	}
	close(next)
	wg.Wait()

	sevCount := map[string]int{}
	var contain, closeD, drillContain []time.Duration
	var drillRef []string
	var containRef, closeRef []string
	procIncidents := map[string]map[string]bool{}
	dailyDays := map[string]bool{}
	for _, f := range facts {
		if f.err != nil {
			return nil, f.err
		}
		st := f.status
		switch {
		case st.Kind == KindRoutine:
			rep.Routine.Runs++
			if f.dailyRun {
				dailyDays[st.DeclaredAt.Format(time.DateOnly)] = true
			}
			continue
		case st.Drill:
			rep.Drills++
			if f.contain > 0 {
				drillContain, drillRef = append(drillContain, f.contain), append(drillRef, st.Short())
			}
			rep.DrillFigures.Skipped = append(rep.DrillFigures.Skipped, f.drill.Skipped...)
			rep.DrillFigures.Deviations = append(rep.DrillFigures.Deviations, f.drill.Deviations...)
			continue
		}
		rep.Incidents++
		sevCount[st.WorstSeverity]++ // a downgraded SEV-1 was a SEV-1 incident
		if f.contain > 0 {
			contain, containRef = append(contain, f.contain), append(containRef, st.Short())
		}
		if f.close > 0 {
			closeD, closeRef = append(closeD, f.close), append(closeRef, st.Short())
		}
		if f.miss != nil {
			rep.OverCadence = append(rep.OverCadence, *f.miss)
		}
		rep.Downgrades = append(rep.Downgrades, f.downgrades...)
		rep.Deadlines = append(rep.Deadlines, f.deadlines...)
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
	rep.DrillFigures.TimeToContain = summarise(drillContain, drillRef)
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
	downgrades     []Downgrade
	deadlines      []DeadlineMiss
	drill          DrillFacts
	postmortem     bool
	actions        []OpenAction
	procedures     []string
	dailyRun       bool
	err            error
}

func (s *Service) gatherFacts(ctx context.Context, id string, in MonthlyInput) (f incidentFacts) {
	st, err := s.Status(ctx, id)
	if err != nil {
		return incidentFacts{err: err}
	}
	f.status = st
	if st.Kind == KindRoutine {
		f.dailyRun, f.err = s.isDailyRun(ctx, st, in.DailyRoutines)
		return f
	}
	pol, polErr := s.Policy(st.Book)
	hasPolicy := polErr == nil
	var containedAt, closedAt time.Time
	var updates []time.Time
	// Only times for the updates and the target state of each change:
	// the update payloads are not read (there can be thousands).
	statusUpdate, stateChange := (StatusUpdate{}).Kind(), (StateChange{}).Kind()
	f.err = s.db.Fields(ctx, id, []string{stateChange, statusUpdate}, []string{"$.to"}, func(fl store.Field) error {
		if fl.Type == statusUpdate {
			updates = append(updates, fl.Time)
			return nil
		}
		if hasPolicy && fl.Value == pol.ContainedState() && containedAt.IsZero() {
			containedAt = fl.Time
		}
		if hasPolicy && fl.Value == pol.ClosingState() && closedAt.IsZero() {
			closedAt = fl.Time
		}
		return nil
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
	if st.Drill {
		// A drill is measured on its own (AZ-015 §36, the AVS playbook):
		// time to contain, steps skipped and why, deviations.
		f.drill, f.err = s.drillFacts(ctx, st)
		return f
	}
	if hasPolicy {
		f.miss = cadenceMisses(st, pol.UpdateCadence, updates, closedAt, in.Now)
		f.downgrades = downgrades(st, pol)
		if f.deadlines, f.err = s.deadlineMisses(ctx, st, in.Now); f.err != nil {
			return f
		}
	}
	latest, err := s.db.LatestSeqs(ctx, id)
	if err != nil {
		return incidentFacts{err: err}
	}
	_, f.postmortem = latest[(PostmortemLink{}).Kind()]
	if f.err = s.openActions(ctx, st, in.Now, &f.actions); f.err != nil {
		return f
	}
	f.procedures, f.err = s.proceduresUsed(ctx, id)
	return f
}

// cadenceMisses measures each gap between status updates (from the
// declaration, until closed or now) against the cadence of the severity in
// force at each moment: a downgraded incident is judged by the cadence it
// had while it was worse, not by its final severity.
func cadenceMisses(st Status, cadence func(severity string) time.Duration, updates []time.Time, closedAt, now time.Time) *CadenceMiss {
	until := now
	if !closedAt.IsZero() {
		until = closedAt
	}
	marks := append([]time.Time{st.DeclaredAt}, updates...)
	marks = append(marks, until)
	miss := CadenceMiss{Incident: st.Short()}
	var worst time.Duration
	for i := 1; i < len(marks); i++ {
		from, to := marks[i-1], marks[i]
		over, sev := gapOverrun(st.Severities, cadence, from, to)
		if over <= 0 {
			continue
		}
		miss.Misses++
		if over > worst {
			worst, miss.Severity, miss.Cadence = over, sev, human(cadence(sev).Seconds())
		}
	}
	if miss.Misses == 0 {
		return nil
	}
	miss.WorstS = worst.Seconds()
	return &miss
}

// gapOverrun is how long past its due time a gap without status updates
// ran, from an update (or the declaration) at from until to: each severity
// period inside the gap is due at from + its cadence. It returns the
// largest overrun and the severity it was measured against.
func gapOverrun(history []SeverityPeriod, cadence func(string) time.Duration, from, to time.Time) (time.Duration, string) {
	var worst time.Duration
	var sev string
	for i, p := range history {
		start, end := p.From, to
		if i+1 < len(history) {
			end = history[i+1].From
		}
		start, end = maxTime(start, from), minTime(end, to)
		c := cadence(p.Severity)
		if c <= 0 || !end.After(start) {
			continue
		}
		if over := end.Sub(from.Add(c)); over > worst {
			worst, sev = over, p.Severity
		}
	}
	return worst, sev
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func (s *Service) openActions(ctx context.Context, st Status, now time.Time, out *[]OpenAction) error {
	done := map[int64]bool{}
	var items []Entry
	err := s.Timeline(ctx, Range{Incident: st.ID, Types: []string{(ActionItem{}).Kind(), (ActionItemDone{}).Kind()}}, func(e Entry) error {
		switch p := e.Payload.(type) {
		case ActionItemDone:
			done[p.Item] = true
		case ActionItem:
			items = append(items, e)
		}
		return nil
	})
	for _, e := range items {
		if done[e.Seq] {
			continue
		}
		a := e.Payload.(ActionItem)
		age := int(now.Sub(e.Time).Hours() / 24)
		*out = append(*out, OpenAction{Incident: st.Short(), Seq: e.Seq, Text: a.Text, Owner: a.Owner, Due: a.Due, AgeDays: age, Stale: age > 30})
	}
	return err
}

// proceduresUsed lists the procedures an incident cites, read in SQLite
// (step entries are numerous).
func (s *Service) proceduresUsed(ctx context.Context, id string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	types := []string{(StepChecked{}).Kind(), (StepSkipped{}).Kind(), (StepFailed{}).Kind(), (RunbookLink{}).Kind(), (Declared{}).Kind()}
	err := s.db.Fields(ctx, id, types, []string{"$.procedure.id", "$.runbook.id"}, func(f store.Field) error {
		if f.Value != "" && !seen[f.Value] {
			seen[f.Value] = true
			out = append(out, f.Value)
		}
		return nil
	})
	return out, err
}

// isDailyRun reports whether a routine run walked a daily check.
func (s *Service) isDailyRun(ctx context.Context, st Status, daily []string) (bool, error) {
	first, err := s.Entry(ctx, st.ID, 1)
	if err != nil {
		return false, err
	}
	d, ok := first.Payload.(Declared)
	return ok && d.Runbook != nil && slices.Contains(daily, d.Runbook.ID), nil
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
	md := markdown{w}
	p := md.p
	book := "all books"
	if r.Book != "" {
		book = "book " + r.Book
	}
	p("# Monthly review %s (%s)\n\n", r.Month, book)
	p("Computed from the ledger at %s. Drills are counted apart and left out of every figure below.\n\n", r.Generated.Format("2006-01-02 15:04 UTC"))
	p("## Incidents\n\n%d incident(s), %d drill(s).\n\n", r.Incidents, r.Drills)
	if len(r.BySeverity) > 0 {
		table(md, "", []string{"worst severity", "incidents"}, r.BySeverity, func(s SeverityCount) []any { return []any{s.Severity, s.Count} })
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
	p("\n## Drills\n\n")
	if r.Drills == 0 {
		p("No drill this month.\n")
	} else {
		p("%d drill(s), measured apart.\n\n", r.Drills)
		dur("Time to contain", r.DrillFigures.TimeToContain)
		note := func(n DrillNote) string { return fmt.Sprintf("%s #%d %s", n.Incident, n.Seq, n.What) }
		p("\nSteps skipped:\n\n")
		list(md, "- none\n", r.DrillFigures.Skipped, note)
		p("\nDeviations:\n\n")
		list(md, "- none\n", r.DrillFigures.Deviations, note)
	}
	p("\n## Status updates over their cadence\n\n")
	table(md, "None: every incident was updated on time.\n", []string{"incident", "severity", "cadence", "late updates", "worst overrun"}, r.OverCadence,
		func(c CadenceMiss) []any { return []any{c.Incident, c.Severity, c.Cadence, c.Misses, human(c.WorstS)} })
	p("\n## Downgrades\n\n")
	table(md, "None.\n", []string{"incident", "#", "when (UTC)", "from", "to", "reason"}, r.Downgrades,
		func(d Downgrade) []any {
			return []any{d.Incident, d.Seq, d.At.Format("2006-01-02 15:04"), d.From, d.To, cell(d.Reason)}
		})
	p("\n## Deadlines missed\n\n")
	table(md, "None.\n", []string{"incident", "what", "within", "due (UTC)", "late by", "met"}, r.Deadlines, func(d DeadlineMiss) []any {
		return []any{d.Incident, cell(d.What), d.Within, d.Due.Format("2006-01-02 15:04"), human(d.LateS), map[bool]string{true: "yes, late", false: "not yet"}[d.Done]}
	})
	p("\n## Open action items\n\n")
	table(md, "None open.\n", []string{"incident", "#", "owner", "due", "age", "item"}, r.OpenActions, func(a OpenAction) []any {
		age := fmt.Sprintf("%d days", a.AgeDays)
		if a.Stale {
			age += " ⚠ over 30 days"
		}
		return []any{a.Incident, a.Seq, cell(a.Owner), a.Due, age, cell(a.Text)}
	})
	p("\n## Incidents without a postmortem link\n\n")
	list(md, "None.\n", r.NoPostmortem, func(i IncidentRef) string {
		return fmt.Sprintf("%s %s %s: %s", i.Incident, i.Severity, i.State, i.Title)
	})
	p("\n## Procedures\n\n")
	list(md, "No procedure was cited.\n", r.Procedures, func(u ProcedureUse) string { return fmt.Sprintf("%s: followed in %d incident(s)", u.ID, u.Incidents) })
	p("\nNot reviewed in 180 days:\n\n")
	list(md, "- none\n", r.Stale, func(s StaleProcedure) string {
		return fmt.Sprintf("%s: last reviewed %s (%d days ago)", s.ID, s.Reviewed, s.AgeDays)
	})
	p("\n## Routine runs\n\n%d run(s). Daily checks on %d of %d working day(s).\n", r.Routine.Runs, r.Routine.DailyDone, r.Routine.WorkingDays)
	if len(r.Routine.MissingDates) > 0 {
		p("Working days without a daily check: %s.\n", strings.Join(r.Routine.MissingDates, ", "))
	}
	return nil
}
