package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/icconsole/ic/internal/termsafe"
	"github.com/icconsole/ic/runbook"
	"github.com/icconsole/ic/store"
	"github.com/icconsole/ic/tui"
)

func incidentCommands() []command {
	return []command{
		{"incident open", "--title T --sev S [--book B] [--class C] [--runbook ID] [--drill] [--key K] [--json]", "declare an incident", cmdIncidentOpen},
		{"incident list", "[--open] [--book B] [--json]", "list incidents, most recent first", cmdIncidentList},
		{"incident show", "ID [--json]", "show an incident's standing: severity, state, next update, what closing needs", cmdIncidentShow},
		{"incident sev", "ID SEVERITY --reason R [--key K] [--json]", "change the severity", appendCommand("incident sev")},
		{"incident state", "ID STATE [--reason R] [--key K] [--json]", "move the incident to another state (only the policy's transitions)", appendCommand("incident state")},
		{"note", "ID TEXT|- [--key K] [--json]", "add a note to the timeline (- reads the text from stdin)", appendCommand("note")},
		{"correct", "ID SEQ TEXT [--key K] [--json]", "append a correction of an earlier entry (the entry itself stays)", appendCommand("correct")},
		{"role", "ID ROLE NAME [--key K] [--json]", "assign a role (one of the book's roles)", appendCommand("role")},
		{"update", "ID TEXT|- [--key K] [--json]", "post a status update (resets the update countdown)", appendCommand("update")},
		{"action", "ID TEXT --owner O [--due YYYY-MM-DD] [--key K] [--json]", "add an action item", appendCommand("action")},
		{"action-done", "ID SEQ [--note TEXT] [--key K] [--json]", "mark the action item at SEQ done", appendCommand("action-done")},
		{"step", "ID PROCEDURE STEP [--skip REASON | --fail NOTE] [--key K] [--json]", "record a procedure step as checked, skipped (with a reason) or failed (with a note)", appendCommand("step")},
		{"runbook-link", "ID PROCEDURE [--key K] [--json]", "record the procedure being followed (id, version and hash)", appendCommand("runbook-link")},
		{"deviation", "ID TEXT [--key K] [--json]", "record a deviation from the procedure", appendCommand("deviation")},
		{"restart-criteria", "ID TEXT [--key K] [--json]", "sign the restart criteria: the evidence that recovery is real", appendCommand("restart-criteria")},
		{"postmortem", "ID URL [--key K] [--json]", "link the postmortem", appendCommand("postmortem")},
		{"evidence", "ID FILE [--label L] [--key K] [--json]", "attach a file as evidence (bytes kept in the ledger, up to 16 MiB)", cmdEvidence},
		{"timeline", "ID [--type T] [--since TIME] [--until TIME] [--utc] [--json]", "print an incident's timeline", cmdTimeline},
		{"verify", "[ID] [--json]", "check the ledger: every hash chain, the append-only triggers, SQLite's quick_check", cmdVerify},
		{"export", "ID --format jsonl|md [--type T] [--since TIME] [-o FILE]", "export the timeline (JSONL) or a postmortem draft (Markdown)", cmdExport},
		{"backup", "FILE [--json]", "write a verified online backup of the ledger", cmdBackup},
		{"restore", "FILE --pre-restore-backup FILE --yes", "replace the ledger with a verified backup, after backing up the current one", cmdRestore},
	}
}

// openLedger opens the database and the rules of the loaded books.
func (a *app) openLedger() (*store.Ledger, error) {
	cat, err := a.loadCatalog()
	if err != nil {
		return nil, err
	}
	path, err := a.dbPath()
	if err != nil {
		return nil, err
	}
	db, err := store.Open(a.ctx, path)
	if err != nil {
		return nil, err
	}
	a.closers = append(a.closers, db.Close)
	l := store.NewLedger(db, tui.Policies(cat))
	if os.Getenv("IC_NOW") != "" {
		l = l.WithClock(a.now)
	}
	return l, nil
}

// ledgerAndIncident opens the ledger and resolves an incident reference.
func (a *app) ledgerAndIncident(ref string) (*store.Ledger, string, error) {
	l, err := a.openLedger()
	if err != nil {
		return nil, "", err
	}
	id, err := l.Resolve(a.ctx, ref)
	return l, id, err
}

func cmdIncidentOpen(a *app, args []string) error {
	c := lookupCommand("incident open")
	fs := a.flagSet(c)
	title := fs.String("title", "", "what is wrong, in a few words")
	sev := fs.String("sev", "", "severity, one of the book's levels")
	book := fs.String("book", "", "the book whose policy applies (default: ops)")
	class := fs.String("class", "", "incident class (e.g. key-compromise)")
	rb := fs.String("runbook", "", "the procedure that opened it (cited by id, version and hash)")
	drill := fs.Bool("drill", false, "this is a drill (counted apart in reviews)")
	key := fs.String("key", "", "idempotency key: a retry with the same key never declares twice")
	asJSON := fs.Bool("json", false, "print JSON")
	_, err := a.parse(fs, c, args, 0, 0)
	if err != nil {
		return helpOK(err)
	}
	if *title == "" || *sev == "" {
		return usageError{msg: "--title and --sev are required", usage: c.usage()}
	}
	cat, err := a.loadCatalog()
	if err != nil {
		return err
	}
	if *book == "" {
		*book = cat.DefaultBook()
	}
	b, ok := cat.Book(*book)
	if !ok {
		return fmt.Errorf("no book %q (books: %s)", *book, bookIDs(cat))
	}
	if !b.Policy.KnownSeverity(*sev) {
		return fmt.Errorf("unknown severity %q for book %s: use one of %s", *sev, b.ID, strings.Join(b.Policy.SeverityIDs(), ", "))
	}
	var ref *store.ProcedureRef
	if *rb != "" {
		p, ok := cat.Procedure(*rb)
		if !ok {
			return fmt.Errorf("no procedure %q (list them with 'ic runbook list')", *rb)
		}
		ref = &store.ProcedureRef{ID: p.ID, Version: p.Version, Hash: p.Hash}
	}
	l, err := a.openLedger()
	if err != nil {
		return err
	}
	inc, ev, err := l.Declare(a.ctx, store.Declaration{Book: b.ID, Title: *title, Severity: *sev, Class: *class, Runbook: ref, Drill: *drill, Actor: a.actor(), Key: *key})
	if err != nil {
		return err
	}
	st, err := l.Status(a.ctx, inc.ID)
	if err != nil {
		return err
	}
	if *asJSON {
		return a.printJSON(struct {
			store.Status
			Short string      `json:"short_id"`
			Event store.Event `json:"event"`
		}{st, inc.Short(), ev})
	}
	fmt.Fprintf(a.stdout, "%s declared: %s %s %q (book %s)\n", inc.Short(), st.Severity, st.State, inc.Title, inc.Book)
	if !st.UpdateDue.IsZero() {
		fmt.Fprintf(a.stdout, "next status update due %s\n", st.UpdateDue.Local().Format("15:04 MST"))
	}
	fmt.Fprintf(a.stdout, "first response: ic runbook show %s\n", b.Policy.FirstResponse)
	return nil
}

func cmdIncidentList(a *app, args []string) error {
	c := lookupCommand("incident list")
	fs := a.flagSet(c)
	open := fs.Bool("open", false, "only incidents that are not closed")
	book := fs.String("book", "", "only incidents of book `B`")
	asJSON := fs.Bool("json", false, "print JSON")
	_, err := a.parse(fs, c, args, 0, 0)
	if err != nil {
		return helpOK(err)
	}
	l, err := a.openLedger()
	if err != nil {
		return err
	}
	list, err := l.Summaries(a.ctx, *open, *book)
	if err != nil {
		return err
	}
	if *asJSON {
		return a.printJSON(list)
	}
	if len(list) == 0 {
		if *open {
			fmt.Fprintln(a.stdout, "no open incidents")
		} else {
			fmt.Fprintln(a.stdout, "no incidents yet (declare one with 'ic incident open --title T --sev S')")
		}
		return nil
	}
	now := time.Now()
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSEVERITY\tSTATE\tDECLARED\tEVENTS\tNEXT UPDATE\tTITLE")
	for _, s := range list {
		title := termsafe.EscapeLine(s.Title)
		if s.Drill {
			title = "[drill] " + title
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", s.Short(), s.Severity, s.State, s.DeclaredAt.Local().Format("2006-01-02 15:04"), s.Events, dueText(s, now), title)
	}
	return tw.Flush()
}

// dueText says when the next status update is due, or how overdue it is.
func dueText(s store.Status, now time.Time) string {
	switch {
	case s.Closed:
		return "-"
	case s.UpdateDue.IsZero():
		return "none"
	case s.Overdue(now):
		return "OVERDUE by " + tui.ShortDuration(now.Sub(s.UpdateDue))
	}
	return "in " + tui.ShortDuration(s.UpdateDue.Sub(now))
}

func cmdIncidentShow(a *app, args []string) error {
	c := lookupCommand("incident show")
	fs := a.flagSet(c)
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := a.parse(fs, c, args, 1, 1)
	if err != nil {
		return helpOK(err)
	}
	l, id, err := a.ledgerAndIncident(pos[0])
	if err != nil {
		return err
	}
	st, err := l.Status(a.ctx, id)
	if err != nil {
		return err
	}
	recent, err := l.DB().Page(a.ctx, id, 0, 10)
	if err != nil {
		return err
	}
	if *asJSON {
		return a.printJSON(struct {
			store.Status
			Short  string        `json:"short_id"`
			Recent []store.Event `json:"recent"`
		}{st, st.Short(), recent})
	}
	now := time.Now()
	w := a.stdout
	fmt.Fprintf(w, "%s  %s\n", st.Short(), termsafe.EscapeLine(st.Title))
	fmt.Fprintf(w, "book       %s%s\n", st.Book, map[bool]string{true: " (drill)"}[st.Drill])
	fmt.Fprintf(w, "severity   %s\n", st.Severity)
	fmt.Fprintf(w, "state      %s\n", st.State)
	fmt.Fprintf(w, "declared   %s by %s (%s ago)\n", st.DeclaredAt.Local().Format("2006-01-02 15:04:05 MST"), st.DeclaredBy, tui.ShortDuration(now.Sub(st.DeclaredAt)))
	fmt.Fprintf(w, "update     %s\n", dueText(st, now))
	fmt.Fprintf(w, "events     %d (head %s)\n", st.Events, st.HeadHash[:12])
	if len(st.Missing) > 0 && !st.Closed {
		fmt.Fprintf(w, "to close   the timeline still needs: %s\n", strings.Join(st.Missing, "; "))
	}
	fmt.Fprintln(w, "\nrecent:")
	printEvents(w, recent, false)
	return nil
}

func printEvents(w io.Writer, events []store.Event, utc bool) {
	if len(events) == 0 {
		fmt.Fprintln(w, "  (no events)")
		return
	}
	spansDays := events[0].Time.Local().YearDay() != events[len(events)-1].Time.Local().YearDay() || events[0].Time.Year() != events[len(events)-1].Time.Year()
	layout := "15:04:05"
	if spansDays {
		layout = "2006-01-02 15:04:05"
	}
	for _, e := range events {
		t := e.Time.Local()
		if utc {
			t = e.Time.UTC()
		}
		fmt.Fprintf(w, "%5d  %s  %-10s %-18s %s\n", e.Seq, t.Format(layout), termsafe.EscapeLine(e.Actor), e.Type, termsafe.EscapeLine(store.Describe(e)))
	}
}

// payloadBuilder defines one appending command: it registers its own flags
// and returns a function that builds the payload from the positional
// arguments (after the incident id).
type payloadBuilder struct {
	name   string
	min    int
	max    int
	flags  func(fs *flag.FlagSet) func(a *app, pos []string) (any, error)
	hidden bool
}

// appendCommand turns the payload builder of the command named builder into
// the command: parse, resolve the
// incident, build, append with the idempotency key, print the new entry.
func appendCommand(builder string) func(a *app, args []string) error {
	return func(a *app, args []string) error {
		b := payloadBuilders()[builder]
		c := lookupCommand(builder)
		fs := a.flagSet(c)
		key := fs.String("key", "", "idempotency key: a retry with the same key never appends twice")
		asJSON := fs.Bool("json", false, "print the appended event as JSON")
		build := b.flags(fs)
		pos, err := a.parse(fs, c, args, b.min+1, b.max+1)
		if err != nil {
			return helpOK(err)
		}
		payload, err := build(a, pos[1:])
		if err != nil {
			return err
		}
		l, id, err := a.ledgerAndIncident(pos[0])
		if err != nil {
			return err
		}
		ev, err := l.Append(a.ctx, id, a.actor(), *key, payload)
		if err != nil {
			return err
		}
		return a.printAppended(l, ev, *asJSON)
	}
}

func (a *app) printAppended(l *store.Ledger, ev store.Event, asJSON bool) error {
	if asJSON {
		return a.printJSON(ev)
	}
	fmt.Fprintf(a.stdout, "%s #%d %s: %s (hash %s)\n", store.ShortID(ev.Incident), ev.Seq, ev.Type, termsafe.EscapeLine(store.Describe(ev)), ev.Hash.Short())
	if ev.Type == store.TypeStatusUpdate || ev.Type == store.TypeSeverityChanged {
		if st, err := l.Status(a.ctx, ev.Incident); err == nil && !st.UpdateDue.IsZero() {
			fmt.Fprintf(a.stdout, "next status update due %s\n", st.UpdateDue.Local().Format("15:04 MST"))
		}
	}
	return nil
}

// readText returns arg, or all of stdin when arg is "-".
func (a *app) readText(arg string) (string, error) {
	if arg != "-" {
		return arg, nil
	}
	b, err := io.ReadAll(io.LimitReader(a.stdin, store.MaxTextBytes+1))
	if err != nil {
		return "", fmt.Errorf("reading the text from stdin: %w", err)
	}
	return string(b), nil
}

func textPayload(name string, make func(string) any) payloadBuilder {
	return payloadBuilder{name: name, min: 1, max: 1, flags: func(*flag.FlagSet) func(*app, []string) (any, error) {
		return func(a *app, pos []string) (any, error) {
			t, err := a.readText(pos[0])
			return make(t), err
		}
	}}
}

// payloadBuilders holds the appending commands' builders, by name.
func payloadBuilders() map[string]payloadBuilder {
	return map[string]payloadBuilder{
		"note":             textPayload("note", func(s string) any { return store.Note{Text: s} }),
		"update":           textPayload("update", func(s string) any { return store.StatusUpdate{Text: s} }),
		"deviation":        textPayload("deviation", func(s string) any { return store.Deviation{Text: s} }),
		"restart-criteria": textPayload("restart-criteria", func(s string) any { return store.RestartCriteria{Text: s} }),
		"postmortem":       textPayload("postmortem", func(s string) any { return store.PostmortemLink{URL: s} }),

		"incident sev": payloadBuilder{name: "incident sev", min: 1, max: 1, flags: func(fs *flag.FlagSet) func(*app, []string) (any, error) {
			reason := fs.String("reason", "", "why the severity changes (required)")
			return func(_ *app, pos []string) (any, error) {
				return store.SeverityChange{To: pos[0], Reason: *reason}, nil
			}
		}},
		"incident state": payloadBuilder{name: "incident state", min: 1, max: 1, flags: func(fs *flag.FlagSet) func(*app, []string) (any, error) {
			reason := fs.String("reason", "", "why")
			return func(_ *app, pos []string) (any, error) {
				return store.StateChange{To: pos[0], Reason: *reason}, nil
			}
		}},
		"correct": payloadBuilder{name: "correct", min: 2, max: 2, flags: func(*flag.FlagSet) func(*app, []string) (any, error) {
			return func(a *app, pos []string) (any, error) {
				seq, err := strconv.ParseInt(pos[0], 10, 64)
				if err != nil || seq < 1 {
					return nil, usageError{msg: fmt.Sprintf("SEQ %q is not an entry number (see 'ic timeline ID')", pos[0]), usage: lookupCommand("correct").usage()}
				}
				t, err := a.readText(pos[1])
				return store.Correction{Corrects: seq, Text: t}, err
			}
		}},
		"role": payloadBuilder{name: "role", min: 2, max: 2, flags: func(*flag.FlagSet) func(*app, []string) (any, error) {
			return func(a *app, pos []string) (any, error) {
				return store.RoleAssignment{Role: pos[0], Name: pos[1]}, nil
			}
		}},
		"action": payloadBuilder{name: "action", min: 1, max: 1, flags: func(fs *flag.FlagSet) func(*app, []string) (any, error) {
			owner := fs.String("owner", "", "who owns the item (required)")
			due := fs.String("due", "", "due date, YYYY-MM-DD")
			return func(a *app, pos []string) (any, error) {
				if *owner == "" {
					return nil, usageError{msg: "--owner is required: every action item has an owner", usage: lookupCommand("action").usage()}
				}
				t, err := a.readText(pos[0])
				return store.ActionItem{Text: t, Owner: *owner, Due: *due}, err
			}
		}},
		"action-done": payloadBuilder{name: "action-done", min: 1, max: 1, flags: func(fs *flag.FlagSet) func(*app, []string) (any, error) {
			note := fs.String("note", "", "what was done")
			return func(a *app, pos []string) (any, error) {
				seq, err := strconv.ParseInt(pos[0], 10, 64)
				if err != nil || seq < 1 {
					return nil, usageError{msg: fmt.Sprintf("SEQ %q is not an entry number", pos[0]), usage: lookupCommand("action-done").usage()}
				}
				return store.ActionItemDone{Item: seq, Note: *note}, nil
			}
		}},
		"step": payloadBuilder{name: "step", min: 2, max: 2, flags: func(fs *flag.FlagSet) func(*app, []string) (any, error) {
			skip := fs.String("skip", "", "record the step as skipped, for this `REASON`")
			fail := fs.String("fail", "", "record the step as failed, with this `NOTE` (routine runs)")
			return func(a *app, pos []string) (any, error) {
				p, err := a.procedure(pos[0])
				if err != nil {
					return nil, err
				}
				n, err := strconv.Atoi(pos[1])
				if err != nil || n < 1 || n > len(p.Steps) {
					return nil, fmt.Errorf("%s has steps 1..%d; %q is not one of them", p.ID, len(p.Steps), pos[1])
				}
				ref := store.ProcedureRef{ID: p.ID, Version: p.Version, Hash: p.Hash}
				text := p.Steps[n-1].Text
				if *skip != "" && *fail != "" {
					return nil, usageError{msg: "a step is skipped or failed, not both", usage: lookupCommand("step").usage()}
				}
				if *skip != "" {
					return store.StepSkipped{Procedure: ref, Step: n, Text: text, Reason: *skip}, nil
				}
				if *fail != "" {
					return store.StepFailed{Procedure: ref, Step: n, Text: text, Note: *fail}, nil
				}
				return store.StepChecked{Procedure: ref, Step: n, Text: text}, nil
			}
		}},
		"runbook-link": payloadBuilder{name: "runbook-link", min: 1, max: 1, flags: func(*flag.FlagSet) func(*app, []string) (any, error) {
			return func(a *app, pos []string) (any, error) {
				p, err := a.procedure(pos[0])
				if err != nil {
					return nil, err
				}
				return store.RunbookLink{Procedure: store.ProcedureRef{ID: p.ID, Version: p.Version, Hash: p.Hash}}, nil
			}
		}},
	}
}

func (a *app) procedure(id string) (*runbook.Procedure, error) {
	cat, err := a.loadCatalog()
	if err != nil {
		return nil, err
	}
	p, ok := cat.Procedure(id)
	if !ok {
		return nil, fmt.Errorf("no procedure %q (list them with 'ic runbook list')", id)
	}
	return p, nil
}

func cmdEvidence(a *app, args []string) error {
	c := lookupCommand("evidence")
	fs := a.flagSet(c)
	label := fs.String("label", "", "what the file shows")
	key := fs.String("key", "", "idempotency key")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := a.parse(fs, c, args, 2, 2)
	if err != nil {
		return helpOK(err)
	}
	info, err := os.Stat(pos[1])
	if err != nil {
		return fmt.Errorf("evidence file %s: %w", pos[1], err)
	}
	if info.IsDir() {
		return fmt.Errorf("evidence file %s is a folder: attach files one by one (or an archive)", pos[1])
	}
	if info.Size() > store.MaxEvidenceBytes {
		return fmt.Errorf("evidence file %s is %d bytes, over the %d-byte limit: keep it elsewhere and record its sha256 in a note", pos[1], info.Size(), store.MaxEvidenceBytes)
	}
	data, err := os.ReadFile(pos[1])
	if err != nil {
		return fmt.Errorf("evidence file %s: %w", pos[1], err)
	}
	l, id, err := a.ledgerAndIncident(pos[0])
	if err != nil {
		return err
	}
	ev, err := l.AttachEvidence(a.ctx, id, a.actor(), *key, filepath.Base(pos[1]), *label, data)
	if err != nil {
		return err
	}
	return a.printAppended(l, ev, *asJSON)
}

// parseTime accepts RFC 3339, a date, "2006-01-02T15:04" (local time), or a
// duration meaning that long ago ("90m", "2h").
func parseTime(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04", time.DateOnly} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("time %q: use RFC 3339 (2026-11-22T03:00:00Z), a date, or a duration ago (90m)", s)
}

// rangeFlags adds --type, --since and --until and returns a function that
// builds the Range from them.
func rangeFlags(fs *flag.FlagSet) func(id string) (store.Range, error) {
	var types stringList
	fs.Var(&types, "type", "only events of type `T` (repeatable, or comma-separated)")
	since := fs.String("since", "", "only events at or after `TIME` (RFC 3339, date, or a duration ago such as 2h)")
	until := fs.String("until", "", "only events before `TIME`")
	return func(id string) (store.Range, error) {
		r := store.Range{Incident: id, Types: types}
		for _, t := range types {
			if !store.IsTypeKnown(t) {
				return r, usageError{msg: fmt.Sprintf("unknown event type %q: use one of %s", t, strings.Join(store.EventTypes, ", "))}
			}
		}
		now := time.Now()
		var err error
		if *since != "" {
			if r.Since, err = parseTime(*since, now); err != nil {
				return r, usageError{msg: err.Error()}
			}
		}
		if *until != "" {
			if r.Until, err = parseTime(*until, now); err != nil {
				return r, usageError{msg: err.Error()}
			}
		}
		return r, nil
	}
}

type stringList []string

func (s *stringList) String() string { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" && !slices.Contains(*s, p) {
			*s = append(*s, p)
		}
	}
	return nil
}

func cmdTimeline(a *app, args []string) error {
	c := lookupCommand("timeline")
	fs := a.flagSet(c)
	mkRange := rangeFlags(fs)
	utc := fs.Bool("utc", false, "show times in UTC (default: local time)")
	asJSON := fs.Bool("json", false, "print JSON lines, one event each (the export format)")
	pos, err := a.parse(fs, c, args, 1, 1)
	if err != nil {
		return helpOK(err)
	}
	l, id, err := a.ledgerAndIncident(pos[0])
	if err != nil {
		return err
	}
	r, err := mkRange(id)
	if err != nil {
		return err
	}
	if *asJSON {
		_, err := l.DB().ExportJSONL(a.ctx, a.stdout, r)
		return err
	}
	var events []store.Event
	if err := l.DB().Events(a.ctx, r, func(e store.Event) error {
		events = append(events, e)
		return nil
	}); err != nil {
		return err
	}
	printEvents(a.stdout, events, *utc)
	return nil
}

func cmdVerify(a *app, args []string) error {
	c := lookupCommand("verify")
	fs := a.flagSet(c)
	asJSON := fs.Bool("json", false, "print the report as JSON")
	pos, err := a.parse(fs, c, args, 0, 1)
	if err != nil {
		return helpOK(err)
	}
	l, err := a.openLedger()
	if err != nil {
		return err
	}
	id := ""
	if len(pos) == 1 {
		if id, err = l.Resolve(a.ctx, pos[0]); err != nil {
			return err
		}
	}
	rep, err := l.DB().Verify(a.ctx, id)
	if err != nil {
		return err
	}
	if *asJSON {
		if err := a.printJSON(struct {
			store.Report
			OK     bool   `json:"ok"`
			Ledger string `json:"ledger"`
		}{rep, rep.OK(), l.DB().Path()}); err != nil {
			return err
		}
	} else {
		for _, p := range rep.Problems {
			fmt.Fprintln(a.stdout, "FAIL", termsafe.EscapeLine(p.String()))
		}
		status := "verified"
		if !rep.OK() {
			status = fmt.Sprintf("%d problem(s)", len(rep.Problems))
		}
		fmt.Fprintf(a.stdout, "ledger %s: %d incident(s), %d event(s), %s (chains, triggers, quick_check) in %s\n", l.DB().Path(), rep.Incidents, rep.Events, status, rep.Took.Round(time.Millisecond))
		if id != "" && rep.OK() {
			fmt.Fprintf(a.stdout, "%s head %s\n", store.ShortID(id), rep.Heads[id])
		}
	}
	if !rep.OK() {
		return errSilent
	}
	return nil
}

func cmdExport(a *app, args []string) error {
	c := lookupCommand("export")
	fs := a.flagSet(c)
	format := fs.String("format", "", "jsonl (every field needed to recompute the chain) or md (postmortem draft)")
	mkRange := rangeFlags(fs)
	out := fs.String("o", "", "write to `FILE` instead of stdout (refuses to overwrite)")
	pos, err := a.parse(fs, c, args, 1, 1)
	if err != nil {
		return helpOK(err)
	}
	if *format != "jsonl" && *format != "md" {
		return usageError{msg: "--format must be jsonl or md", usage: c.usage()}
	}
	l, id, err := a.ledgerAndIncident(pos[0])
	if err != nil {
		return err
	}
	r, err := mkRange(id)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if *format == "jsonl" {
		_, err = l.DB().ExportJSONL(a.ctx, &buf, r)
	} else {
		err = l.WritePostmortem(a.ctx, &buf, id)
	}
	if err != nil {
		return err
	}
	if *out == "" {
		_, err = a.stdout.Write(buf.Bytes())
		return err
	}
	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("export: %s exists; choose a new file name", *out)
		}
		return fmt.Errorf("export: %w", err)
	}
	if _, err := f.Write(buf.Bytes()); err != nil {
		f.Close()
		return fmt.Errorf("export %s: %w", *out, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("export %s: %w", *out, err)
	}
	fmt.Fprintf(a.stderr, "exported %s to %s (%d bytes)\n", store.ShortID(id), *out, buf.Len())
	return nil
}

func cmdBackup(a *app, args []string) error {
	c := lookupCommand("backup")
	fs := a.flagSet(c)
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := a.parse(fs, c, args, 1, 1)
	if err != nil {
		return helpOK(err)
	}
	l, err := a.openLedger()
	if err != nil {
		return err
	}
	rep, err := l.DB().Backup(a.ctx, pos[0])
	if err != nil {
		return err
	}
	if *asJSON {
		return a.printJSON(struct {
			File      string `json:"file"`
			Incidents int    `json:"incidents"`
			Events    int64  `json:"events"`
			Verified  bool   `json:"verified"`
		}{pos[0], rep.Incidents, rep.Events, rep.OK()})
	}
	fmt.Fprintf(a.stdout, "backup %s: %d incident(s), %d event(s), verified (quick_check and every chain)\n", pos[0], rep.Incidents, rep.Events)
	return nil
}

func cmdRestore(a *app, args []string) error {
	c := lookupCommand("restore")
	fs := a.flagSet(c)
	pre := fs.String("pre-restore-backup", "", "where the current ledger is backed up first (`FILE`, must not exist)")
	yes := fs.Bool("yes", false, "confirm: the ledger's contents are replaced by the backup")
	pos, err := a.parse(fs, c, args, 1, 1)
	if err != nil {
		return helpOK(err)
	}
	if *pre == "" {
		return usageError{msg: "restore needs --pre-restore-backup FILE: the current ledger is saved there before anything is replaced", usage: c.usage()}
	}
	if !*yes {
		return usageError{msg: "restore replaces the ledger's contents: add --yes to confirm", usage: c.usage()}
	}
	l, err := a.openLedger()
	if err != nil {
		return err
	}
	rep, err := l.DB().Restore(a.ctx, pos[0], *pre)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "restored %s from %s: %d incident(s), %d event(s), verified; the previous ledger is in %s\n", l.DB().Path(), pos[0], rep.Incidents, rep.Events, *pre)
	return nil
}
