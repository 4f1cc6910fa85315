package incident

import (
	"strings"
	"testing"
)

func TestMarkdownTablesAndLists(t *testing.T) {
	var b strings.Builder
	md := markdown{&b}
	type row struct {
		n    int64
		text string
	}
	cells := func(r row) []any { return []any{r.n, cell(r.text)} }
	table(md, "None.\n", []string{"#", "text"}, []row{{3, "a | b"}, {12, "c"}}, cells)
	table(md, "None.\n", []string{"#", "text"}, nil, cells)
	list(md, "- none\n", []string{"one", "two | three"}, func(s string) string { return s })
	list(md, "- none\n", []string(nil), func(s string) string { return s })
	want := "| # | text |\n|---|---|\n| 3 | a \\| b |\n| 12 | c |\n" +
		"None.\n" +
		"- one\n- two | three\n" +
		"- none\n"
	if b.String() != want {
		t.Errorf("wrote\n%s\nwant\n%s", b.String(), want)
	}
}
