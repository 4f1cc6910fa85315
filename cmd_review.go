package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/icconsole/ic/internal/termsafe"
	"github.com/icconsole/ic/runbook"
	"github.com/icconsole/ic/store"
	"github.com/icconsole/ic/tui"
)

func reviewCommands() []command {
	return []command{
		{"review monthly", "[--month YYYY-MM] [--book B] [--format md|json]", "the monthly review, computed from the ledger (drills counted apart)", cmdReviewMonthly},
		{"routine start", "PROCEDURE [--key K] [--json]", "start a run of a routine procedure (its own hash-chained timeline)", cmdRoutineStart},
		{"routine history", "PROCEDURE [--json]", "the last 30 runs of a routine procedure, at a glance", cmdRoutineHistory},
		{"routine", "PROCEDURE", "walk a routine procedure in the console, recording each step", cmdRoutine},
	}
}

func cmdReviewMonthly(a *app, args []string) error {
	c := lookupCommand("review monthly")
	fs := a.flagSet(c)
	month := fs.String("month", "", "the month to review, `YYYY-MM` (default: the current month)")
	book := fs.String("book", "", "only incidents of book `B`")
	format := fs.String("format", "md", "md (for the build journal) or json")
	_, err := a.parse(fs, c, args, 0, 0)
	if err != nil {
		return helpOK(err)
	}
	if *format != "md" && *format != "json" {
		return usageError{msg: "--format must be md or json", usage: c.usage()}
	}
	l, err := a.openLedger()
	if err != nil {
		return err
	}
	cat, _ := a.loadCatalog()
	if *book != "" {
		if _, ok := cat.Book(*book); !ok {
			return fmt.Errorf("no book %q (books: %s)", *book, bookIDs(cat))
		}
	}
	now := a.now()
	m := now
	if *month != "" {
		if m, err = time.Parse("2006-01", *month); err != nil {
			return usageError{msg: fmt.Sprintf("--month %q is not YYYY-MM", *month), usage: c.usage()}
		}
	}
	rep, err := tui.MonthlyReview(a.ctx, l, cat, m, *book, now)
	if err != nil {
		return err
	}
	if *format == "json" {
		return a.printJSON(rep)
	}
	return rep.WriteMarkdown(a.stdout)
}

// startRun declares a routine run of procedure id.
func (a *app) startRun(l *store.Ledger, id, key string) (store.Incident, *runbook.Procedure, error) {
	p, err := a.procedure(id)
	if err != nil {
		return store.Incident{}, nil, err
	}
	if p.Kind != runbook.Routine {
		return store.Incident{}, nil, fmt.Errorf("%s is a%s procedure, not a routine: declare an incident with it instead", p.ID, map[runbook.Kind]string{runbook.Incident: "n incident", runbook.Reference: " reference"}[p.Kind])
	}
	cat, _ := a.loadCatalog()
	b, _ := cat.Book(p.Book)
	sevs := b.Policy.SeverityIDs()
	inc, _, err := l.Declare(a.ctx, store.Declaration{Book: p.Book, Title: p.ID + " " + p.Title, Severity: sevs[len(sevs)-1],
		Kind: "routine", Runbook: &store.ProcedureRef{ID: p.ID, Version: p.Version, Hash: p.Hash}, Actor: a.actor(), Key: key})
	return inc, p, err
}

func cmdRoutineStart(a *app, args []string) error {
	c := lookupCommand("routine start")
	fs := a.flagSet(c)
	key := fs.String("key", "", "idempotency key")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := a.parse(fs, c, args, 1, 1)
	if err != nil {
		return helpOK(err)
	}
	l, err := a.openLedger()
	if err != nil {
		return err
	}
	inc, p, err := a.startRun(l, pos[0], *key)
	if err != nil {
		return err
	}
	if *asJSON {
		return a.printJSON(struct {
			Run   string `json:"run"`
			Short string `json:"short_id"`
			Steps int    `json:"steps"`
		}{inc.ID, inc.Short(), len(p.Steps)})
	}
	fmt.Fprintf(a.stdout, "%s: run of %s v%d started, %d steps; record each with 'ic step %s %s N [--skip REASON | --fail NOTE]'\n", inc.Short(), p.ID, p.Version, len(p.Steps), inc.Short(), p.ID)
	return nil
}

func cmdRoutineHistory(a *app, args []string) error {
	c := lookupCommand("routine history")
	fs := a.flagSet(c)
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := a.parse(fs, c, args, 1, 1)
	if err != nil {
		return helpOK(err)
	}
	p, err := a.procedure(pos[0])
	if err != nil {
		return err
	}
	l, err := a.openLedger()
	if err != nil {
		return err
	}
	runs, err := l.RoutineRuns(a.ctx, p.ID, 30)
	if err != nil {
		return err
	}
	if *asJSON {
		if runs == nil {
			runs = []store.RunSummary{}
		}
		return a.printJSON(runs)
	}
	if len(runs) == 0 {
		fmt.Fprintf(a.stdout, "no run of %s yet (start one with 'ic routine start %s')\n", p.ID, p.ID)
		return nil
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "RUN\tSTARTED\tBY\tRESULT\t\n")
	for _, r := range runs {
		bar := ""
		for range r.Done {
			bar += "✓"
		}
		for range r.Skipped {
			bar += "-"
		}
		for range r.Failed {
			bar += "✗"
		}
		for range max(0, len(p.Steps)-r.Done-r.Skipped-r.Failed) {
			bar += "·"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d/%d done, %d skipped, %d failed\n", store.ShortID(r.Run), r.Started.Local().Format("2006-01-02 15:04"), termsafe.EscapeLine(r.Actor), bar, r.Done, len(p.Steps), r.Skipped, r.Failed)
	}
	return tw.Flush()
}

func cmdRoutine(a *app, args []string) error {
	c := lookupCommand("routine")
	fs := a.flagSet(c)
	pos, err := a.parse(fs, c, args, 1, 1)
	if err != nil {
		return helpOK(err)
	}
	if _, err := a.procedure(pos[0]); err != nil {
		return err
	}
	a.console.routine = pos[0]
	return a.openConsole()
}
