package incident

import (
	"fmt"
	"io"
	"strings"
)

// markdown writes the Markdown documents ic makes from the record: the
// monthly review and the postmortem draft.
type markdown struct{ w io.Writer }

// p writes as fmt.Fprintf does.
func (m markdown) p(format string, args ...any) { fmt.Fprintf(m.w, format, args...) }

// header writes a table's header row of cols and the line under it.
func (m markdown) header(cols ...string) {
	m.p("| %s |\n|%s\n", strings.Join(cols, " | "), strings.Repeat("---|", len(cols)))
}

// row writes a table row, each cell as fmt.Sprint writes it: text that may
// hold a pipe goes through cell first.
func (m markdown) row(cells ...any) {
	s := make([]string, len(cells))
	for i, c := range cells {
		s[i] = fmt.Sprint(c)
	}
	m.p("| %s |\n", strings.Join(s, " | "))
}

// cell escapes the pipes in s, which would end a table cell.
func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// table writes a table of cols with a row of cells for each item, or none
// when there is no item.
func table[T any](m markdown, none string, cols []string, items []T, cells func(T) []any) {
	if len(items) == 0 {
		m.p("%s", none)
		return
	}
	m.header(cols...)
	for _, it := range items {
		m.row(cells(it)...)
	}
}

// list writes a "- " line for each item, or none when there is no item.
func list[T any](m markdown, none string, items []T, line func(T) string) {
	if len(items) == 0 {
		m.p("%s", none)
	}
	for _, it := range items {
		m.p("- %s\n", line(it))
	}
}
