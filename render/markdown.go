// Package render turns text for people: procedures rendered from Markdown
// with glamour (or as plain text where escape codes must not go), the
// colour theme decided once from the environment, and short durations.
package render

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/glamour"
	"github.com/charmbracelet/glamour/styles"
	"github.com/muesli/termenv"

	"github.com/icconsole/ic/internal/termsafe"
)

// MaxReadWidth caps the width a document is wrapped to: long lines are
// hard to follow, wide terminals or not.
const MaxReadWidth = 120

// Theme is how text is coloured, decided once before the console starts so
// nothing ever queries the terminal while it runs.
type Theme struct {
	// Profile is the colour profile (termenv.Ascii under NO_COLOR or
	// without a terminal).
	Profile termenv.Profile
	// Dark is true for a dark terminal background.
	Dark bool
}

// PlainTheme is for output that is not a terminal: no escape codes at all.
var PlainTheme = Theme{Profile: termenv.Ascii, Dark: true}

// glamourStyle names the glamour style for a theme.
func (t Theme) glamourStyle() string {
	switch {
	case t.Profile == termenv.Ascii:
		return styles.NoTTYStyle
	case t.Dark:
		return styles.DarkStyle
	default:
		return styles.LightStyle
	}
}

// Markdown renders a procedure's Markdown at the given width. Control
// characters in the source are escaped first, so the result holds no
// escape sequence the document itself supplied. It is slow (tens of
// milliseconds for a long document): call it from a tea.Cmd, never from
// Update or View.
func Markdown(src []byte, width int, theme Theme) (string, error) {
	if width > MaxReadWidth {
		width = MaxReadWidth
	}
	if width < 20 {
		width = 20
	}
	r, err := glamour.NewTermRenderer(
		glamour.WithStandardStyle(theme.glamourStyle()),
		glamour.WithColorProfile(theme.Profile),
		glamour.WithWordWrap(width),
		glamour.WithEmoji(),
	)
	if err != nil {
		return "", fmt.Errorf("markdown renderer: %w", err)
	}
	out, err := r.Render(termsafe.Escape(string(reflow(src))))
	if err != nil {
		return "", fmt.Errorf("rendering markdown: %w", err)
	}
	if theme.Profile == termenv.Ascii {
		out = trimTrailingSpace(out)
	}
	return out, nil
}

// trimTrailingSpace drops the padding glamour adds to fill each line, which
// only gets in the way when the output goes to a file or a pipe.
func trimTrailingSpace(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Trim(strings.Join(lines, "\n"), "\n") + "\n"
}
