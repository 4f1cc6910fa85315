package serve

import (
	"strconv"
	"strings"

	"github.com/muesli/termenv"

	"github.com/icconsole/ic/render"
)

// sessionTheme decides a session's colours once, from what its client
// sent: the pty's TERM, and the variables an ssh client passes (SendEnv
// NO_COLOR, COLORTERM, IC_THEME, COLORFGBG). Like a local console it never
// asks the terminal: wish's MakeRenderer queries the background colour
// and waits up to two seconds for a terminal that does not answer, and
// the answer could leak into what the operator types.
func sessionTheme(term string, environ []string) render.Theme {
	env := func(k string) string {
		for _, kv := range environ {
			if v, ok := strings.CutPrefix(kv, k+"="); ok {
				return v
			}
		}
		return ""
	}
	t := render.Theme{Profile: termenv.ANSI, Dark: true}
	colorterm := strings.ToLower(env("COLORTERM"))
	switch {
	case env("NO_COLOR") != "", term == "", term == "dumb":
		t.Profile = termenv.Ascii
	case colorterm == "truecolor" || colorterm == "24bit":
		t.Profile = termenv.TrueColor
	case strings.Contains(term, "256color"):
		t.Profile = termenv.ANSI256
	}
	switch strings.ToLower(env("IC_THEME")) {
	case "light":
		t.Dark = false
	case "dark":
	default:
		// "fg;bg": a white background (7 or 15) is a light terminal.
		if v := env("COLORFGBG"); v != "" {
			parts := strings.Split(v, ";")
			if bg, err := strconv.Atoi(parts[len(parts)-1]); err == nil && (bg == 7 || bg == 15) {
				t.Dark = false
			}
		}
	}
	return t
}
