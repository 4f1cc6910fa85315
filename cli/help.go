package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/charmbracelet/x/ansi"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// help prints a command's help: the same text whether asked as
// "ic help X" or "ic X --help", wrapped at word boundaries to the
// terminal's width.
func (e *env) help(c *cobra.Command) {
	w := e.stdout
	width := min(e.width(), 100)
	if !c.HasParent() {
		e.rootHelp(c, width)
		return
	}
	fmt.Fprintf(w, "usage: %s\n\n", c.UseLine())
	long := c.Long
	if long == "" {
		long = c.Short
	}
	fmt.Fprintln(w, wrap(long, width, ""))
	if c.HasAvailableSubCommands() {
		fmt.Fprintln(w, "\ncommands:")
		listCommands(w, c, width)
	}
	if c.Example != "" {
		fmt.Fprintf(w, "\nexamples:\n%s\n", c.Example)
	}
	if local := c.LocalNonPersistentFlags(); local.HasAvailableFlags() {
		fmt.Fprintf(w, "\nflags:\n%s", flagUsages(local, width))
	}
	if global := c.InheritedFlags(); global.HasAvailableFlags() {
		fmt.Fprintf(w, "\nglobal flags:\n%s", flagUsages(global, width))
	}
}

func (e *env) rootHelp(c *cobra.Command, width int) {
	w := e.stdout
	fmt.Fprintf(w, "ic — the incident console\n\nusage: ic [--db FILE] [--runbooks DIR] [--actor NAME] [COMMAND [ARGS]]\n\n")
	fmt.Fprintln(w, wrap("With no command, in a terminal, ic opens the full-screen console:", width, ""))
	fmt.Fprintln(w, "  ic [--incident ID] [--review] [--beacon URLS --checkpoint ROOT]")
	fmt.Fprintln(w, "     [--sync-bootstrap FILE --sync-update FILE]")
	fmt.Fprintln(w, "\ncommands:")
	listCommands(w, c, width)
	fmt.Fprintf(w, "\nglobal flags (accepted by every command):\n%s", flagUsages(c.PersistentFlags(), width))
	fmt.Fprintf(w, "\nconsole flags:\n%s", flagUsages(c.LocalNonPersistentFlags(), width))
	fmt.Fprintln(w, "\n"+wrap("exit codes: 0 ok, 1 the operation failed, 2 usage error, 130 interrupted (128 + the signal for another signal)", width, ""))
	fmt.Fprintln(w, wrap("'ic help COMMAND' or 'ic COMMAND --help' shows a command's flags and examples; 'ic completion bash|zsh|fish' prints shell completion.", width, ""))
}

// listCommands lists the runnable commands below c, by group for ic
// itself: the command and its arguments, and what it does, wrapped into a
// second column.
func listCommands(w io.Writer, c *cobra.Command, width int) {
	type row struct{ use, short string }
	var rows func(c *cobra.Command) []row
	rows = func(c *cobra.Command) []row {
		var out []row
		if c.Name() == "completion" {
			return []row{{"completion bash|zsh|fish", "print the shell completion script (completes commands, incident ids, procedures, severities and states)"}}
		}
		if c.Runnable() && c.HasParent() && !strings.HasSuffix(c.Use, " COMMAND") {
			use := strings.TrimPrefix(c.CommandPath(), "ic ")
			if _, rest, ok := strings.Cut(c.Use, " "); ok {
				use = strings.TrimSpace(use + " " + positionalUse(rest))
			}
			out = append(out, row{use, c.Short})
		}
		for _, sub := range c.Commands() {
			if sub.IsAvailableCommand() && sub.Name() != "help" {
				out = append(out, rows(sub)...)
			}
		}
		return out
	}
	type section struct {
		title string
		rows  []row
	}
	var sections []section
	if c.HasParent() {
		var rs []row
		for _, sub := range c.Commands() {
			if sub.IsAvailableCommand() && sub.Name() != "help" {
				rs = append(rs, rows(sub)...)
			}
		}
		sections = append(sections, section{"", rs})
	} else {
		for _, g := range append(c.Groups(), &cobra.Group{Title: "Other:"}) {
			var rs []row
			for _, sub := range c.Commands() {
				if sub.GroupID == g.ID && sub.IsAvailableCommand() && sub.Name() != "help" {
					rs = append(rs, rows(sub)...)
				}
			}
			sections = append(sections, section{g.Title, rs})
		}
	}
	col := 0
	for _, sec := range sections {
		for _, r := range sec.rows {
			col = max(col, len(r.use))
		}
	}
	col = min(col, 28)
	for _, sec := range sections {
		if sec.title != "" {
			fmt.Fprintf(w, "  %s\n", sec.title)
		}
		for _, r := range sec.rows {
			indent := strings.Repeat(" ", col+6)
			if len(r.use) > col {
				fmt.Fprintf(w, "    %s\n%s\n", r.use, wrap(r.short, width, indent))
				continue
			}
			text := strings.TrimPrefix(wrap(r.short, width, indent), indent)
			fmt.Fprintf(w, "    %-*s  %s\n", col, r.use, text)
		}
	}
}

// positionalUse keeps the positional arguments of a usage line, dropping
// flags and their values: "FILE --pre-restore-backup FILE --yes" is "FILE".
func positionalUse(use string) string {
	var out []string
	words := strings.Fields(use)
	for i := 0; i < len(words); i++ {
		if strings.HasPrefix(words[i], "-") {
			if i+1 < len(words) && !strings.HasPrefix(words[i+1], "-") && isPlaceholder(words[i+1]) {
				i++
			}
			continue
		}
		out = append(out, words[i])
	}
	return strings.Join(out, " ")
}

// isPlaceholder reports whether a usage word stands for a value (FILE, T,
// jsonl|md) rather than being an argument of its own.
func isPlaceholder(w string) bool {
	return strings.Contains(w, "|") || strings.ToUpper(w) == w
}

// flagUsages lists flags wrapped to width.
func flagUsages(fs *pflag.FlagSet, width int) string {
	return fs.FlagUsagesWrapped(width)
}

// wrap breaks s at spaces so that no line is wider than width, keeping
// paragraphs and their leading spaces, each line after indent. A word
// longer than a line stays whole.
func wrap(s string, width int, indent string) string {
	var out []string
	for _, para := range strings.Split(strings.TrimSpace(s), "\n") {
		if strings.TrimSpace(para) == "" {
			out = append(out, "")
			continue
		}
		lead := indent + para[:len(para)-len(strings.TrimLeft(para, " "))]
		line := lead
		for _, word := range strings.Fields(para) {
			if line != lead && ansi.StringWidth(line)+1+ansi.StringWidth(word) > width {
				out = append(out, line)
				line = lead
			}
			if line != lead {
				line += " "
			}
			line += word
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}
