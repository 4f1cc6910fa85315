package cli

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/icconsole/ic/incident"
	"github.com/icconsole/ic/runbook"
)

// Completion reads the ledger and the books the command would use. It
// never creates a ledger: with none at the path, an id completes to
// nothing. Each candidate carries a description after a tab, which zsh and
// fish show.

// completionService opens the ledger for completion, if there is one.
func (e *env) completionService() *incident.Service {
	path, err := e.dbPath()
	if err != nil {
		return nil
	}
	if info, err := os.Stat(path); err != nil || !info.Mode().IsRegular() {
		return nil
	}
	svc, err := e.service()
	if err != nil {
		return nil
	}
	return svc
}

// completeIncidents completes an incident id: the short ids, most recent
// first, with severity, state and title.
func (e *env) completeIncidents(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	svc := e.completionService()
	if svc == nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	list, err := svc.List(e.ctx, incident.ListFilter{})
	if err != nil {
		return nil, cobra.ShellCompDirectiveError
	}
	var out []string
	for _, st := range list {
		if hasPrefixFold(st.Short(), toComplete) {
			out = append(out, fmt.Sprintf("%s\t%s %s %s", st.Short(), st.Severity, st.State, oneLine(st.Title)))
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completeProcedures completes a procedure id, of one kind ("" for all).
func (e *env) completeProcedures(kind runbook.Kind) cobra.CompletionFunc {
	return func(_ *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		cat, err := e.books()
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		var out []string
		for _, p := range cat.Filter(runbook.Filter{Kind: kind}) {
			if hasPrefixFold(p.ID, toComplete) {
				out = append(out, p.ID+"\t"+oneLine(p.Title))
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

func (e *env) procedureCompletions(book, toComplete string) []string {
	cat, err := e.books()
	if err != nil {
		return nil
	}
	var out []string
	for _, p := range cat.Filter(runbook.Filter{Book: book}) {
		if hasPrefixFold(p.ID, toComplete) {
			out = append(out, p.ID+"\t"+oneLine(p.Title))
		}
	}
	return out
}

func (e *env) completeBooks(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	cat, err := e.books()
	if err != nil {
		return nil, cobra.ShellCompDirectiveError
	}
	var out []string
	for _, b := range cat.Books() {
		out = append(out, b.ID+"\t"+oneLine(b.Policy.Title))
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// bookSeverities are the levels of a book ("" for the default), worst first.
func (e *env) bookSeverities(book string) []string {
	cat, err := e.books()
	if err != nil {
		return nil
	}
	if book == "" {
		book = cat.DefaultBook()
	}
	b, ok := cat.Book(book)
	if !ok {
		return nil
	}
	var out []string
	for _, id := range b.Policy.SeverityIDs() {
		s, _ := b.Policy.Severity(id)
		out = append(out, id+"\t"+oneLine(s.Meaning))
	}
	return out
}

// incidentPolicy is the status and book policy of an incident reference.
func (e *env) incidentPolicy(ref string) (incident.Status, *runbook.Policy, bool) {
	svc := e.completionService()
	if svc == nil {
		return incident.Status{}, nil, false
	}
	id, err := svc.Resolve(e.ctx, ref)
	if err != nil {
		return incident.Status{}, nil, false
	}
	st, err := svc.Status(e.ctx, id)
	if err != nil {
		return incident.Status{}, nil, false
	}
	pol, err := svc.Policy(st.Book)
	return st, pol, err == nil
}

func (e *env) severityCompletions(ref string) []string {
	st, _, ok := e.incidentPolicy(ref)
	if !ok {
		return e.bookSeverities("")
	}
	return e.bookSeverities(st.Book)
}

// stateCompletions are the states the policy allows from where the
// incident stands.
func (e *env) stateCompletions(ref string) []string {
	st, pol, ok := e.incidentPolicy(ref)
	if !ok {
		return nil
	}
	return pol.NextStates(st.State)
}

func (e *env) roleCompletions(ref string) []string {
	_, pol, ok := e.incidentPolicy(ref)
	if !ok {
		return nil
	}
	var out []string
	for _, r := range pol.Roles {
		out = append(out, r.ID+"\t"+oneLine(r.Name))
	}
	return out
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// oneLine makes a description safe for a completion line.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

// bookClasses are the incident classes of a book ("" for the default).
func (e *env) bookClasses(book string) []string {
	cat, err := e.books()
	if err != nil {
		return nil
	}
	if book == "" {
		book = cat.DefaultBook()
	}
	return incident.Classes(cat, book)
}
