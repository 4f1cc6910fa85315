package tui

import (
	"github.com/icconsole/ic/runbook"
	"github.com/icconsole/ic/store"
)

// Policies adapts a runbook catalog to the ledger's policy lookup: the
// ledger applies each book's rules without importing the runbook package.
func Policies(cat *runbook.Catalog) func(book string) (store.Policy, bool) {
	return func(book string) (store.Policy, bool) {
		b, ok := cat.Book(book)
		if !ok {
			return nil, false
		}
		return b.Policy, true
	}
}
