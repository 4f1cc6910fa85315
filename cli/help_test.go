package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
	"github.com/spf13/cobra"
)

// Every command's help has examples, reads the same however it is asked
// for, and no line is wider than 80 columns (the width used when stdout is
// not a terminal).
func TestEveryCommandsHelp(t *testing.T) {
	e := &env{}
	var paths [][]string
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		for _, sub := range c.Commands() {
			if !sub.IsAvailableCommand() || sub.Name() == "help" || sub.Name() == "completion" {
				continue
			}
			p := append(append([]string(nil), path...), sub.Name())
			paths = append(paths, p)
			walk(sub, p)
		}
	}
	walk(e.rootCommand(), nil)
	if len(paths) < 30 {
		t.Fatalf("found %d commands, fewer than the README lists", len(paths))
	}
	help := func(args ...string) string {
		var out, errOut bytes.Buffer
		if code := Main(args, nil, &out, &errOut); code != 0 {
			t.Fatalf("ic %s: exit %d: %s", strings.Join(args, " "), code, errOut.String())
		}
		return out.String()
	}
	for _, p := range append(paths, nil) {
		text := help(append([]string{"help"}, p...)...)
		if p != nil {
			if again := help(append(p, "--help")...); again != text {
				t.Errorf("ic help %s and ic %s --help differ", strings.Join(p, " "), strings.Join(p, " "))
			}
			if !strings.Contains(text, "\nexamples:\n  ic ") {
				t.Errorf("ic help %s has no examples", strings.Join(p, " "))
			}
		}
		for _, line := range strings.Split(text, "\n") {
			if w := ansi.StringWidth(line); w > 80 {
				t.Errorf("ic help %s: a line of %d columns: %q", strings.Join(p, " "), w, line)
			}
		}
	}
}
