package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/icconsole/ic/incident"
	"github.com/icconsole/ic/internal/termsafe"
	"github.com/icconsole/ic/render"
)

func (e *env) incidentCommand() *cobra.Command {
	c := group("incident", "declare, list and show incidents; change severity and state",
		"Declare, list and show incidents, and change their severity and state.", "respond",
		e.incidentOpen(), e.incidentList(), e.incidentShow(), e.incidentPreflight())
	for _, s := range []entrySpec{severityEntry(), stateEntry()} {
		sub := e.entryCommand(s)
		sub.GroupID = ""
		c.AddCommand(sub)
	}
	return c
}

func (e *env) incidentOpen() *cobra.Command {
	var title, sev, book, class, rb, key string
	var drill, asJSON bool
	c := &cobra.Command{
		Use:   "open --title T --sev S",
		Short: "declare an incident",
		Long:  "Declare an incident: a title, a severity of the book's policy, and optionally the procedure that opened it. The first-response checklist of the book comes next.",
		Example: `  ic incident open --title "payments API returning 500s" --sev SEV-1
  ic incident open --title "wrong proofs served" --sev SEV-1 --runbook O-101
  ic incident open --book genesis-mesh --title "restore drill" --sev P2 --drill`,
		Args: argsBetween(0, 0),
		RunE: func(c *cobra.Command, _ []string) error {
			if title == "" || sev == "" {
				return usageError{msg: "--title and --sev are required", cmd: c.CommandPath()}
			}
			cat, err := e.books()
			if err != nil {
				return err
			}
			if book == "" {
				book = e.defaultBook(cat.DefaultBook())
			}
			b, ok := cat.Book(book)
			if !ok {
				return fmt.Errorf("no book %q (books: %s)", termsafe.EscapeLine(book), bookIDs(cat))
			}
			var ref *incident.ProcedureRef
			if rb != "" {
				p, err := e.procedure(rb)
				if err != nil {
					return err
				}
				r := incident.Ref(p)
				ref = &r
			}
			svc, err := e.service()
			if err != nil {
				return err
			}
			st, entry, err := svc.Declare(e.ctx, incident.Declaration{Book: b.ID, Title: title, Severity: sev, Class: class, Runbook: ref, Drill: drill, By: e.by(), Key: key})
			if err != nil {
				return err
			}
			if asJSON {
				return e.printJSON(struct {
					incident.Status
					Event any `json:"event"`
				}{st, entry.Event})
			}
			fmt.Fprintf(e.stdout, "%s declared: %s %s %q (book %s)\n", st.Short(), st.Severity, st.State, st.Title, st.Book)
			if !st.UpdateDue.IsZero() {
				fmt.Fprintf(e.stdout, "next status update due %s\n", st.UpdateDue.Local().Format("15:04 MST"))
			}
			fmt.Fprintf(e.stdout, "first response: ic runbook show %s\n", b.Policy.FirstResponse)
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&title, "title", "", "title `T`: what is wrong, in a few words (required)")
	f.StringVar(&sev, "sev", "", "severity `S`, one of the book's levels (required)")
	f.StringVar(&book, "book", "", "book `B` whose policy applies (default: the configuration's book, else ops)")
	f.StringVar(&class, "class", "", "incident class `C`, one of the book's classes")
	f.StringVar(&rb, "runbook", "", "procedure `ID` that opened it (cited by id, version and hash)")
	f.BoolVar(&drill, "drill", false, "this is a drill (counted apart in reviews)")
	f.StringVar(&key, "key", "", "idempotency `KEY`: a retry with the same key never declares twice")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	_ = c.RegisterFlagCompletionFunc("book", e.completeBooks)
	_ = c.RegisterFlagCompletionFunc("runbook", func(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		return e.procedureCompletions(book, toComplete), cobra.ShellCompDirectiveNoFileComp
	})
	_ = c.RegisterFlagCompletionFunc("sev", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return e.bookSeverities(book), cobra.ShellCompDirectiveNoFileComp
	})
	_ = c.RegisterFlagCompletionFunc("class", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return e.bookClasses(book), cobra.ShellCompDirectiveNoFileComp
	})
	return c
}

func (e *env) incidentList() *cobra.Command {
	var open, routines bool
	var book, class string
	var asJSON bool
	c := &cobra.Command{
		Use:   "list",
		Short: "list incidents, most recent first",
		Long:  "List incidents, most recent first, with their severity, state and when the next status update is due. Routine runs are left out unless --routines is given (ic routine history PROCEDURE lists them by procedure).",
		Example: `  ic incident list --open
  ic incident list --book atlas-zero --json
  ic incident list --routines`,
		Args: argsBetween(0, 0),
		RunE: func(c *cobra.Command, _ []string) error {
			svc, err := e.service()
			if err != nil {
				return err
			}
			f := incident.ListFilter{OpenOnly: open, Book: book, Class: class, Kind: incident.KindIncident}
			if routines {
				f.Kind = ""
			}
			list, err := svc.List(e.ctx, f)
			if err != nil {
				return err
			}
			if asJSON {
				return e.printJSON(list)
			}
			if len(list) == 0 {
				if open {
					fmt.Fprintln(e.stdout, "no open incidents")
				} else {
					fmt.Fprintln(e.stdout, "no incidents yet (declare one with 'ic incident open --title T --sev S')")
				}
				return nil
			}
			now := e.now()
			tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSEVERITY\tSTATE\tCLASS\tDECLARED\tEVENTS\tNEXT UPDATE\tDEADLINE\tTITLE")
			for _, s := range list {
				title := termsafe.EscapeLine(s.Title)
				sev := s.Severity
				switch {
				case s.Kind == incident.KindRoutine:
					// A routine run has no severity of its own.
					title, sev = "[routine] "+title, "-"
				case s.Drill:
					title = "[drill] " + title
				}
				class := s.Class
				if class == "" {
					class = "-"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", s.Short(), sev, s.State, termsafe.EscapeLine(class), s.DeclaredAt.Local().Format("2006-01-02 15:04"), s.Events, dueText(s, now), deadlineText(s, now), title)
			}
			return tw.Flush()
		},
	}
	f := c.Flags()
	f.BoolVar(&open, "open", false, "only incidents that are not closed")
	f.StringVar(&book, "book", "", "only incidents of book `B`")
	f.StringVar(&class, "class", "", "only incidents of class `C`")
	f.BoolVar(&routines, "routines", false, "list routine runs too")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	_ = c.RegisterFlagCompletionFunc("book", e.completeBooks)
	return c
}

// deadlineText says when the next deadline of the book falls due, or how
// overdue it is ("-" when none is running).
func deadlineText(s incident.Status, now time.Time) string {
	d, ok := s.NextDeadline()
	if !ok {
		return "-"
	}
	if d.Overdue(now) {
		return d.What + " OVERDUE by " + render.ShortDuration(now.Sub(d.Due))
	}
	return d.What + " due in " + render.ShortDuration(d.Due.Sub(now))
}

// dueText says when the next status update is due, or how overdue it is.
func dueText(s incident.Status, now time.Time) string {
	switch {
	case s.Closed:
		return "-"
	case s.UpdateDue.IsZero():
		return "none"
	case s.Overdue(now):
		return "OVERDUE by " + render.ShortDuration(now.Sub(s.UpdateDue))
	}
	return "in " + render.ShortDuration(s.UpdateDue.Sub(now))
}

func (e *env) incidentShow() *cobra.Command {
	return e.incidentReport(&cobra.Command{
		Use:     "show ID",
		Short:   "show an incident's standing: severity, state, next update, what closing needs",
		Long:    "Show an incident's standing: severity, state, when the next status update and the book's deadlines are due, what closing still needs, and its latest entries.",
		Example: "  ic incident show INC-7f3a9c\n  ic incident show INC-7f3a9c --json",
	}, func(svc *incident.Service, id string) (report, error) {
		st, err := svc.Status(e.ctx, id)
		if err != nil {
			return report{}, err
		}
		recent, err := svc.Page(e.ctx, id, 0, 10)
		if err != nil {
			return report{}, err
		}
		events := make([]any, len(recent))
		for i, r := range recent {
			events[i] = r.Event
		}
		value := struct {
			incident.Status
			Recent []any `json:"recent"`
		}{st, events}
		return report{value: value, text: func(w io.Writer) {
			e.printStatus(w, st, recent)
		}}, nil
	})
}

// printStatus prints an incident's standing and its latest entries.
func (e *env) printStatus(w io.Writer, st incident.Status, recent []incident.Entry) {
	now := e.now()
	fmt.Fprintf(w, "%s  %s\n", st.Short(), termsafe.EscapeLine(st.Title))
	fmt.Fprintf(w, "book       %s%s\n", st.Book, map[bool]string{true: " (drill)"}[st.Drill])
	fmt.Fprintf(w, "severity   %s%s\n", st.Severity, map[bool]string{true: " (worst so far " + st.WorstSeverity + ", whose close requirements apply)"}[st.WorstSeverity != st.Severity])
	if st.Class != "" {
		fmt.Fprintf(w, "class      %s\n", termsafe.EscapeLine(st.Class))
	}
	fmt.Fprintf(w, "state      %s\n", st.State)
	fmt.Fprintf(w, "declared   %s by %s (%s ago)\n", st.DeclaredAt.Local().Format("2006-01-02 15:04:05 MST"), st.DeclaredBy, render.ShortDuration(now.Sub(st.DeclaredAt)))
	fmt.Fprintf(w, "update     %s\n", dueText(st, now))
	for _, d := range st.Deadlines {
		state := "not started"
		switch {
		case d.Done:
			state = fmt.Sprintf("done (seq %d)", d.DoneSeq)
		case d.Overdue(now):
			state = fmt.Sprintf("OVERDUE since %s (%s ago)", d.Due.Local().Format("2006-01-02 15:04 MST"), render.ShortDuration(now.Sub(d.Due)))
		case !d.Due.IsZero():
			state = fmt.Sprintf("due %s (in %s)", d.Due.Local().Format("2006-01-02 15:04 MST"), render.ShortDuration(d.Due.Sub(now)))
		}
		fmt.Fprintf(w, "deadline   %s within %s: %s\n", d.What, d.Within, state)
	}
	fmt.Fprintf(w, "events     %d (head %s)\n", st.Events, st.HeadHash[:12])
	if len(st.Missing) > 0 && !st.Closed {
		fmt.Fprintf(w, "to close   the timeline still needs: %s\n", strings.Join(st.Missing, "; "))
	}
	fmt.Fprintln(w, "\nrecent:")
	printEntries(w, recent, false)
}

// printEntries prints entries one a line: seq, time, actor, type, text.
func printEntries(w io.Writer, entries []incident.Entry, utc bool) {
	if len(entries) == 0 {
		fmt.Fprintln(w, "  (no events)")
		return
	}
	first, last := entries[0].Time.Local(), entries[len(entries)-1].Time.Local()
	layout := "15:04:05"
	if first.YearDay() != last.YearDay() || first.Year() != last.Year() {
		layout = "2006-01-02 15:04:05"
	}
	for _, en := range entries {
		t := en.Time.Local()
		if utc {
			t = en.Time.UTC()
		}
		fmt.Fprintf(w, "%5d  %s  %-10s %-18s %s\n", en.Seq, t.Format(layout), termsafe.EscapeLine(en.Who()), en.Type, termsafe.EscapeLine(en.Line()))
	}
}
