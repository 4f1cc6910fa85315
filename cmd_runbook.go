package main

import (
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/icconsole/ic/internal/termsafe"
	"github.com/icconsole/ic/runbook"
	"github.com/icconsole/ic/tui"
)

func runbookCommands() []command {
	return []command{
		{"runbook list", "[--book B] [--kind incident|routine|reference] [--class C] [--search TEXT] [--json]", "list the procedures of the runbook books", cmdRunbookList},
		{"runbook show", "ID [--plain] [--width N] [--json]", "show one procedure (rendered in a terminal, plain text otherwise)", cmdRunbookShow},
		{"runbook lint", "[DIR] [--json]", "check a folder of books (default: the books in use); problems as path:line: message", cmdRunbookLint},
	}
}

// procedureJSON is the shape of a procedure in --json output.
type procedureJSON struct {
	ID       string   `json:"id"`
	Title    string   `json:"title"`
	Kind     string   `json:"kind"`
	Book     string   `json:"book"`
	Severity string   `json:"severity,omitempty"`
	Classes  []string `json:"classes,omitempty"`
	Triggers []string `json:"triggers,omitempty"`
	Version  int      `json:"version"`
	Reviewed string   `json:"reviewed,omitempty"`
	Hash     string   `json:"hash"`
	Steps    int      `json:"steps"`
}

func toProcedureJSON(p *runbook.Procedure) procedureJSON {
	return procedureJSON{
		ID: p.ID, Title: p.Title, Kind: string(p.Kind), Book: p.Book, Severity: p.Severity,
		Classes: p.Classes, Triggers: p.Triggers, Version: p.Version, Reviewed: p.Reviewed,
		Hash: p.Hash, Steps: len(p.Steps),
	}
}

func cmdRunbookList(a *app, args []string) error {
	c := lookupCommand("runbook list")
	fs := a.flagSet(c)
	book := fs.String("book", "", "only procedures of book `B`")
	kind := fs.String("kind", "", "only procedures of this `kind` (incident, routine, reference)")
	class := fs.String("class", "", "only procedures of class `C`")
	search := fs.String("search", "", "only procedures whose id, title, triggers or text contain all the words of `TEXT`")
	asJSON := fs.Bool("json", false, "print JSON")
	_, err := a.parse(fs, c, args, 0, 0)
	if err != nil {
		return helpOK(err)
	}
	switch runbook.Kind(*kind) {
	case "", runbook.Incident, runbook.Routine, runbook.Reference:
	default:
		return usageError{msg: fmt.Sprintf("unknown kind %q: use incident, routine or reference", *kind), usage: c.usage()}
	}
	cat, err := a.loadCatalog()
	if err != nil {
		return err
	}
	if *book != "" {
		if _, ok := cat.Book(*book); !ok {
			return fmt.Errorf("no book %q (books: %s)", *book, bookIDs(cat))
		}
	}
	procs := cat.Filter(runbook.Filter{Book: *book, Kind: runbook.Kind(*kind), Class: *class, Query: *search})
	if *asJSON {
		out := make([]procedureJSON, 0, len(procs))
		for _, p := range procs {
			out = append(out, toProcedureJSON(p))
		}
		return a.printJSON(out)
	}
	if len(procs) == 0 {
		fmt.Fprintln(a.stdout, "no procedure matches")
		return nil
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tSEVERITY\tVER\tBOOK\tTITLE")
	for _, p := range procs {
		sev := p.Severity
		if sev == "" {
			sev = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", termsafe.EscapeLine(p.ID), p.Kind, termsafe.EscapeLine(sev), p.Version, p.Book, termsafe.EscapeLine(p.Title))
	}
	return tw.Flush()
}

func bookIDs(cat *runbook.Catalog) string {
	var ids []string
	for _, b := range cat.Books() {
		ids = append(ids, b.ID)
	}
	return strings.Join(ids, ", ")
}

func cmdRunbookShow(a *app, args []string) error {
	c := lookupCommand("runbook show")
	fs := a.flagSet(c)
	plain := fs.Bool("plain", false, "plain text without colour or escape codes (the default when stdout is not a terminal or NO_COLOR is set)")
	width := fs.Int("width", 0, "wrap at `N` columns (default: the terminal's width, or 80)")
	asJSON := fs.Bool("json", false, "print the procedure's metadata and parsed steps as JSON")
	pos, err := a.parse(fs, c, args, 1, 1)
	if err != nil {
		return helpOK(err)
	}
	fsys, label, err := a.runbookFS()
	if err != nil {
		return err
	}
	p, ok, probs := runbook.Find(fsys, label, pos[0])
	for _, prob := range probs {
		fmt.Fprintf(a.stderr, "ic: warning: %s\n", termsafe.EscapeLine(prob.String()))
	}
	if !ok {
		return fmt.Errorf("no procedure %q (list them with 'ic runbook list')", pos[0])
	}
	if *asJSON {
		return a.printJSON(struct {
			procedureJSON
			Path     string            `json:"path"`
			Sections []runbook.Section `json:"sections"`
			Steps    []runbook.Step    `json:"steps"`
			Links    []runbook.Link    `json:"links,omitempty"`
		}{toProcedureJSON(p), p.Path, p.Sections, p.Steps, p.Links})
	}
	theme := tui.PlainTheme
	w := *width
	if !*plain && a.stdoutIsTerminal() && os.Getenv("NO_COLOR") == "" {
		theme = tui.DetectTheme()
		if w == 0 {
			w = terminalWidth(a.stdout)
		}
	}
	if w <= 0 {
		w = 80
	}
	out, err := tui.RenderMarkdown(p.Body, w, theme)
	if err != nil {
		return fmt.Errorf("%s: %w", p.Path, err)
	}
	header := fmt.Sprintf("%s v%d (%s, book %s) sha256:%s", p.ID, p.Version, p.Kind, p.Book, p.Hash[:12])
	fmt.Fprintln(a.stdout, termsafe.EscapeLine(header))
	_, err = fmt.Fprint(a.stdout, out)
	return err
}

func cmdRunbookLint(a *app, args []string) error {
	c := lookupCommand("runbook lint")
	fs := a.flagSet(c)
	asJSON := fs.Bool("json", false, "print the problems as JSON")
	pos, err := a.parse(fs, c, args, 0, 1)
	if err != nil {
		return helpOK(err)
	}
	fsys, label, err := a.runbookFS()
	if err != nil && len(pos) == 0 {
		return err
	}
	if len(pos) == 1 {
		info, err := os.Stat(pos[0])
		if err != nil || !info.IsDir() {
			return fmt.Errorf("lint %s: not a readable folder", pos[0])
		}
		fsys, label = os.DirFS(pos[0]), strings.TrimSuffix(pos[0], "/")
	}
	cat, probs := runbook.Load(fsys, label)
	if *asJSON {
		if probs == nil {
			probs = []runbook.Problem{}
		}
		if err := a.printJSON(probs); err != nil {
			return err
		}
	} else {
		for _, p := range probs {
			fmt.Fprintln(a.stdout, termsafe.EscapeLine(p.String()))
		}
	}
	if len(probs) > 0 {
		fmt.Fprintf(a.stderr, "%d problem(s) in %s\n", len(probs), label)
		return errSilent
	}
	if !*asJSON {
		n := len(cat.Filter(runbook.Filter{}))
		fmt.Fprintf(a.stdout, "%s: %d book(s), %d procedure(s), no problems\n", label, len(cat.Books()), n)
	}
	return nil
}
