package cli

import (
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/icconsole/ic/incident"
	"github.com/icconsole/ic/internal/termsafe"
	"github.com/icconsole/ic/runbook"
)

func (e *env) reviewCommand() *cobra.Command {
	return group("review", "reviews computed from the ledger",
		"Reviews computed from the ledger.", "review", e.reviewMonthly(), e.reviewTrail())
}

func (e *env) reviewMonthly() *cobra.Command {
	var month, book, format string
	c := &cobra.Command{
		Use:   "monthly",
		Short: "the monthly review, computed from the ledger (drills counted apart)",
		Long:  "The monthly review, computed from the ledger: incidents by severity, time to contain and to close, status updates later than their cadence, open action items, incidents without a postmortem, procedures used and not reviewed in 180 days, routine runs and daily checks. Drills are counted apart and left out of every figure. --format md is the report kept in the build journal; json is the same for tools.",
		Example: `  ic review monthly
  ic review monthly --month 2026-10 --book ops --format json`,
		Args: argsBetween(0, 0),
		RunE: func(c *cobra.Command, _ []string) error {
			if format != "md" && format != "json" {
				return usageError{msg: "--format must be md or json", cmd: c.CommandPath()}
			}
			m := e.now()
			if month != "" {
				var err error
				if m, err = time.Parse("2006-01", month); err != nil {
					return usageError{msg: fmt.Sprintf("--month %q is not YYYY-MM", termsafe.EscapeLine(month)), cmd: c.CommandPath()}
				}
			}
			svc, err := e.readService()
			if err != nil {
				return err
			}
			if book != "" {
				if _, ok := svc.Books().Book(book); !ok {
					return fmt.Errorf("no book %q (books: %s)", termsafe.EscapeLine(book), bookIDs(svc.Books()))
				}
			}
			rep, err := svc.MonthlyReview(e.ctx, m, book)
			if err != nil {
				return err
			}
			if format == "json" {
				return e.printJSON(rep)
			}
			return rep.WriteMarkdown(e.stdout)
		},
	}
	f := c.Flags()
	f.StringVar(&month, "month", "", "the month to review, `YYYY-MM` (default: the current month)")
	f.StringVar(&book, "book", "", "only incidents of book `B`")
	f.StringVar(&format, "format", "md", "md (for the build journal) or json")
	_ = c.RegisterFlagCompletionFunc("book", e.completeBooks)
	_ = c.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"md", "json"}, cobra.ShellCompDirectiveNoFileComp))
	return c
}

// routineCommand is "ic routine PROCEDURE" (the console walking one
// routine) and holds the routine commands for scripts.
func (e *env) routineCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "routine PROCEDURE",
		Short: "walk a routine procedure in the console, recording each step (needs a terminal)",
		Long:  "Open the console on a new run of a routine procedure (the daily check, a deployment, a sweep) and walk it top to bottom: space done, s skipped (with a reason), f failed (with a note). A run is its own append-only, hash-chained timeline. 'ic routine start' and 'ic step' do the same from scripts.",
		Example: `  ic routine O-201
  ic routine history O-201`,
		GroupID: "review",
		Args: func(c *cobra.Command, args []string) error {
			if len(args) > 1 {
				if s := c.SuggestionsFor(args[0]); len(s) > 0 {
					return usageError{msg: fmt.Sprintf("unknown command %q (did you mean %q?)", "routine "+args[0], "routine "+s[0]), cmd: c.CommandPath()}
				}
			}
			return argsBetween(0, 1)(c, args)
		},
		ValidArgsFunction: e.completeProcedures(runbook.Routine),
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				c.HelpFunc()(c, nil)
				return nil
			}
			cat, err := e.books()
			if err != nil {
				return err
			}
			if _, ok := cat.Procedure(args[0]); !ok {
				msg := fmt.Sprintf("no procedure %q (list them with 'ic runbook list --kind routine')", termsafe.EscapeLine(args[0]))
				if s := c.SuggestionsFor(args[0]); len(s) > 0 {
					msg += fmt.Sprintf("; or did you mean 'ic routine %s'?", s[0])
				}
				return errors.New(msg)
			}
			return e.openConsole(consoleFlags{}, consoleMode{routine: args[0]})
		},
	}
	c.SuggestionsMinimumDistance = 2
	c.AddCommand(e.routineStart(), e.routineHistory())
	return c
}

func (e *env) routineStart() *cobra.Command {
	var key string
	var asJSON bool
	c := &cobra.Command{
		Use:   "start PROCEDURE",
		Short: "start a run of a routine procedure (its own hash-chained timeline)",
		Long:  "Start a run of a routine procedure; then record each step with 'ic step RUN PROCEDURE N [--skip REASON | --fail NOTE]'.",
		Example: `  ic routine start O-201
  ic step INC-1b2c3d O-201 1`,
		Args:              argsBetween(1, 1),
		ValidArgsFunction: e.completeProcedures(runbook.Routine),
		RunE: func(c *cobra.Command, args []string) error {
			svc, err := e.service()
			if err != nil {
				return err
			}
			run, p, err := svc.StartRoutine(e.ctx, args[0], e.by(), key)
			if err != nil {
				return err
			}
			if asJSON {
				return e.printJSON(struct {
					Run   string `json:"run"`
					Short string `json:"short_id"`
					Steps int    `json:"steps"`
				}{run.ID, run.Short(), len(p.Steps)})
			}
			fmt.Fprintf(e.stdout, "%s: run of %s v%d started, %d steps; record each with 'ic step %s %s N [--skip REASON | --fail NOTE]'\n", run.Short(), p.ID, p.Version, len(p.Steps), run.Short(), p.ID)
			return nil
		},
	}
	c.Flags().StringVar(&key, "key", "", "idempotency `KEY`")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

func (e *env) routineHistory() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:               "history PROCEDURE",
		Short:             "the last 30 runs of a routine procedure, at a glance",
		Long:              "The last 30 runs of a routine procedure: when, by whom, and each step done (✓), skipped (-), failed (✗) or not recorded (·).",
		Example:           "  ic routine history O-201",
		Args:              argsBetween(1, 1),
		ValidArgsFunction: e.completeProcedures(runbook.Routine),
		RunE: func(c *cobra.Command, args []string) error {
			svc, err := e.service()
			if err != nil {
				return err
			}
			p, err := svc.Procedure(args[0])
			if err != nil {
				return err
			}
			runs, err := svc.RoutineRuns(e.ctx, p.ID, 30)
			if err != nil {
				return err
			}
			if asJSON {
				return e.printJSON(runs)
			}
			if len(runs) == 0 {
				fmt.Fprintf(e.stdout, "no run of %s yet (start one with 'ic routine start %s')\n", p.ID, p.ID)
				return nil
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintf(tw, "RUN\tSTARTED\tBY\tRESULT\t\n")
			for _, r := range runs {
				bar := strings.Repeat("✓", r.Done) + strings.Repeat("-", r.Skipped) + strings.Repeat("✗", r.Failed) +
					strings.Repeat("·", max(0, len(p.Steps)-r.Done-r.Skipped-r.Failed))
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d/%d done, %d skipped, %d failed\n", incident.ShortID(r.Run), r.Started.Local().Format("2006-01-02 15:04"), termsafe.EscapeLine(r.Actor), bar, r.Done, len(p.Steps), r.Skipped, r.Failed)
			}
			return tw.Flush()
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

func (e *env) reviewTrail() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "trail ID",
		Short: "the audit-trail completeness of an incident: each item the book requires, present (with its seq) or missing",
		Long:  "Check an incident's record against what its book says an audit trail must hold (AZ-015 §32 for atlas-zero; the book's list, or else its close requirements, for the others), at the worst severity the incident had. Each item is present, with the entry that satisfies it, or missing, with what would satisfy it. Exits 1 when anything is missing.",
		Example: `  ic review trail INC-7f3a9c
  ic review trail INC-7f3a9c --json`,
		Args:              argsBetween(1, 1),
		ValidArgsFunction: e.completeIncidents,
		RunE: func(c *cobra.Command, args []string) error {
			svc, id, err := e.readIncident(args[0])
			if err != nil {
				return err
			}
			t, err := svc.Completeness(e.ctx, id)
			if err != nil {
				return err
			}
			if asJSON {
				if err := e.printJSON(t); err != nil {
					return err
				}
			} else {
				fmt.Fprintf(e.stdout, "%s audit trail (%s; book %s at %s)\n", t.Incident, termsafe.EscapeLine(t.Source), t.Book, t.Severity)
				tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
				for _, it := range t.Items {
					if it.Present {
						fmt.Fprintf(tw, "present\t%s\tseq %d by %s\t%s\n", termsafe.EscapeLine(it.Name), it.Seq, termsafe.EscapeLine(it.By), termsafe.EscapeLine(truncateText(it.Detail, 60)))
					} else {
						fmt.Fprintf(tw, "MISSING\t%s\t\t(one of: %s)\n", termsafe.EscapeLine(it.Name), strings.Join(it.SatisfiedBy, ", "))
					}
				}
				if err := tw.Flush(); err != nil {
					return err
				}
				if len(t.Items) == 0 {
					fmt.Fprintln(e.stdout, "the book requires nothing of this incident's audit trail at its severity")
				}
				fmt.Fprintf(e.stdout, "%d of %d item(s) present\n", len(t.Items)-t.Missing(), len(t.Items))
			}
			if !t.Complete {
				return errSilent
			}
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

// truncateText cuts s to n runes with an ellipsis.
func truncateText(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
