package cli

import (
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/icconsole/ic/internal/safefile"
	"github.com/icconsole/ic/internal/termsafe"
	"github.com/icconsole/ic/render"
	"github.com/icconsole/ic/runbook"
)

func (e *env) runbookCommand() *cobra.Command {
	c := group("runbook", "read and check the runbook books",
		"Read and check the runbook books: the embedded ones, or a folder given with --runbooks.", "books",
		e.runbookList(), e.runbookShow(), e.runbookLint())
	return c
}

func (e *env) runbookList() *cobra.Command {
	var book, kind, class, search string
	var asJSON bool
	c := &cobra.Command{
		Use:   "list",
		Short: "list the procedures of the runbook books",
		Long:  "List the procedures of the runbook books, filtered by book, kind, class or words in their text.",
		Example: `  ic runbook list
  ic runbook list --kind routine --book ops
  ic runbook list --search "key compromise" --json`,
		Args: argsBetween(0, 0),
		RunE: func(c *cobra.Command, _ []string) error {
			switch runbook.Kind(kind) {
			case "", runbook.Incident, runbook.Routine, runbook.Reference:
			default:
				return usageError{msg: fmt.Sprintf("unknown kind %q: use incident, routine or reference", kind), cmd: c.CommandPath()}
			}
			cat, err := e.books()
			if err != nil {
				return err
			}
			if book != "" {
				if _, ok := cat.Book(book); !ok {
					return fmt.Errorf("no book %q (books: %s)", termsafe.EscapeLine(book), bookIDs(cat))
				}
			}
			procs := cat.Filter(runbook.Filter{Book: book, Kind: runbook.Kind(kind), Class: class, Query: search})
			if asJSON {
				out := make([]runbook.Listing, 0, len(procs))
				for _, p := range procs {
					out = append(out, p.Listing())
				}
				return e.printJSON(out)
			}
			if len(procs) == 0 {
				fmt.Fprintln(e.stdout, "no procedure matches")
				return nil
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tKIND\tSEVERITY\tVER\tBOOK\tTITLE")
			for _, p := range procs {
				sev := p.Severity
				if sev == "" {
					sev = "-"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", termsafe.EscapeLine(p.ID), p.Kind, termsafe.EscapeLine(sev), p.Version, p.Book, termsafe.EscapeLine(p.Title))
			}
			return tw.Flush()
		},
	}
	f := c.Flags()
	f.StringVar(&book, "book", "", "only procedures of book `B`")
	f.StringVar(&kind, "kind", "", "only procedures of this `kind` (incident, routine, reference)")
	f.StringVar(&class, "class", "", "only procedures of class `C`")
	f.StringVar(&search, "search", "", "only procedures whose id, title, triggers or text contain all the words of `TEXT`")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	_ = c.RegisterFlagCompletionFunc("book", e.completeBooks)
	_ = c.RegisterFlagCompletionFunc("kind", cobra.FixedCompletions([]string{"incident", "routine", "reference"}, cobra.ShellCompDirectiveNoFileComp))
	return c
}

func bookIDs(cat *runbook.Catalog) string {
	var ids []string
	for _, b := range cat.Books() {
		ids = append(ids, b.ID)
	}
	return strings.Join(ids, ", ")
}

func (e *env) runbookShow() *cobra.Command {
	var plain, asJSON bool
	var width, version int
	c := &cobra.Command{
		Use:   "show ID",
		Short: "show one procedure (rendered in a terminal, plain text otherwise)",
		Long:  "Show one procedure: rendered with colour in a terminal, as plain text (no escape codes at all) when stdout is not a terminal, NO_COLOR is set, or --plain is given. --json prints its metadata and parsed steps. A procedure that was renumbered is found by its old id (with --version, the version a ledger cites), and a note on stderr says where it went.",
		Example: `  ic runbook show O-020
  ic runbook show O-020 --plain --width 72
  ic runbook show TPAF-001 --json
  ic runbook show O-104 --version 2     # a ledger cites O-104 v2: where it went`,
		Args:              argsBetween(1, 1),
		ValidArgsFunction: e.completeProcedures(""),
		RunE: func(c *cobra.Command, args []string) error {
			fsys, label, err := e.runbookFS()
			if err != nil {
				return err
			}
			// The whole catalog is read: a renumbered procedure's old id is
			// known only from the front matter of the one that replaced it.
			p, note, ok, probs := runbook.FindResolved(fsys, label, args[0], version)
			for _, prob := range probs {
				fmt.Fprintf(e.stderr, "ic: warning: %s\n", termsafe.EscapeLine(prob.String()))
			}
			if !ok {
				if note != "" {
					return fmt.Errorf("%s", termsafe.EscapeLine(note))
				}
				return fmt.Errorf("no procedure %q (list them with 'ic runbook list')", termsafe.EscapeLine(args[0]))
			}
			if note != "" {
				fmt.Fprintf(e.stderr, "ic: note: %s\n", termsafe.EscapeLine(note))
			}
			if asJSON {
				return e.printJSON(p)
			}
			theme := render.PlainTheme
			w := width
			if !plain && e.stdoutTerminal() && os.Getenv("NO_COLOR") == "" {
				theme = render.DetectTheme()
				if w == 0 {
					w = e.width()
				}
			}
			if w <= 0 {
				w = 80
			}
			out, err := render.Markdown(p.Body, w, theme)
			if err != nil {
				return fmt.Errorf("%s: %w", p.Path, err)
			}
			header := fmt.Sprintf("%s v%d (%s, book %s) sha256:%s", p.ID, p.Version, p.Kind, p.Book, p.Hash[:12])
			fmt.Fprintln(e.stdout, termsafe.EscapeLine(header))
			_, err = fmt.Fprint(e.stdout, out)
			return err
		},
	}
	f := c.Flags()
	f.BoolVar(&plain, "plain", false, "plain text without colour or escape codes (the default when stdout is not a terminal or NO_COLOR is set)")
	f.IntVar(&width, "width", 0, "wrap at `N` columns (default: the terminal's width, or 80)")
	f.BoolVar(&asJSON, "json", false, "print the procedure's metadata and parsed steps as JSON")
	f.IntVar(&version, "version", 0, "the version `N` a ledger entry cites: a renumbered procedure is found by its old id and version")
	return c
}

func (e *env) runbookLint() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "lint [DIR]",
		Short: "check a folder of books (default: the books in use); problems as path:line: message",
		Long:  "Check a folder of runbook books (default: the books in use) and print every problem as path:line: message. Exits 1 if there is any.",
		Example: `  ic runbook lint
  ic runbook lint ./my-books --json`,
		Args: argsBetween(0, 1),
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return nil, cobra.ShellCompDirectiveFilterDirs
		},
		RunE: func(c *cobra.Command, args []string) error {
			fsys, label, err := e.runbookFS()
			if err != nil && len(args) == 0 {
				return err
			}
			if len(args) == 1 {
				info, err := os.Stat(args[0])
				if err != nil || !info.IsDir() {
					return fmt.Errorf("lint %s: not a readable folder", args[0])
				}
				d, err := safefile.OpenDir(args[0])
				if err != nil {
					return fmt.Errorf("lint %s: %w", args[0], err)
				}
				defer d.Close()
				fsys, label = d, strings.TrimSuffix(args[0], "/")
			}
			cat, probs := runbook.LoadContext(e.ctx, fsys, label)
			if asJSON {
				if probs == nil {
					probs = []runbook.Problem{}
				}
				if err := e.printJSON(probs); err != nil {
					return err
				}
			} else {
				for _, p := range probs {
					fmt.Fprintln(e.stdout, termsafe.EscapeLine(p.String()))
				}
			}
			if len(probs) > 0 {
				fmt.Fprintf(e.stderr, "%d problem(s) in %s\n", len(probs), label)
			}
			if runbook.HasErrors(probs) {
				return errSilent
			}
			if !asJSON && len(probs) == 0 {
				n := len(cat.Filter(runbook.Filter{}))
				fmt.Fprintf(e.stdout, "%s: %d book(s), %d procedure(s), no problems\n", label, len(cat.Books()), n)
			}
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print the problems as JSON")
	return c
}
