package runbook

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/icconsole/ic/internal/termsafe"
	"go.yaml.in/yaml/v3"
)

// Problem is one thing wrong with a runbook file, located by path and line
// (line 0 when the whole file is concerned). A warning is a problem ic has
// worked around (content nested too deep is shown flat); lint reports it, and
// it need not fail a build of the books.
type Problem struct {
	Path    string `json:"path"`
	Line    int    `json:"line"`
	Msg     string `json:"message"`
	Warning bool   `json:"warning,omitempty"`
}

func (p Problem) String() string {
	msg := p.Msg
	if p.Warning {
		msg = "warning: " + msg
	}
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", p.Path, p.Line, msg)
	}
	return fmt.Sprintf("%s: %s", p.Path, msg)
}

// HasErrors reports whether any of probs is more than a warning.
func HasErrors(probs []Problem) bool {
	for _, p := range probs {
		if !p.Warning {
			return true
		}
	}
	return false
}

// reporter returns the function that adds to *probs a problem at a line
// of path, its message made as fmt.Sprintf makes it.
func reporter(path string, probs *[]Problem) func(line int, format string, args ...any) {
	return func(line int, format string, args ...any) {
		*probs = append(*probs, Problem{Path: path, Line: line, Msg: fmt.Sprintf(format, args...)})
	}
}

var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// yamlProblems turns a yaml.v3 error into problems with file lines; offset is
// the file line just before the YAML text starts (front matter begins on
// line 2 of a procedure file).
func yamlProblem(path string, offset int, err error) Problem {
	msgs := []string{err.Error()}
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	}
	line, msg := 0, strings.TrimPrefix(msgs[0], "yaml: ")
	if m := yamlLine.FindStringSubmatch(msgs[0]); m != nil {
		n, _ := strconv.Atoi(m[1])
		line, msg = n+offset, m[2]
	}
	if len(msgs) > 1 {
		msg += fmt.Sprintf(" (and %d more)", len(msgs)-1)
	}
	if line == 0 {
		line = offset + 1
	}
	// yaml.v3 quotes the offending text, which may hold anything.
	return Problem{Path: path, Line: line, Msg: "invalid YAML: " + termsafe.EscapeLine(msg)}
}
