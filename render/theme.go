package render

import (
	"os"
	"strconv"
	"strings"

	"github.com/muesli/termenv"
)

// DetectTheme decides the colour profile and background once, from the
// environment only: NO_COLOR and TERM for the profile; IC_THEME (light or
// dark) or else COLORFGBG for the background. It never queries the
// terminal, so start-up cannot stall on a terminal that does not answer.
func DetectTheme() Theme {
	out := termenv.NewOutput(os.Stdout)
	t := Theme{Profile: out.EnvColorProfile(), Dark: true}
	switch strings.ToLower(os.Getenv("IC_THEME")) {
	case "light":
		t.Dark = false
	case "dark":
		t.Dark = true
	default:
		t.Dark = darkFromCOLORFGBG(os.Getenv("COLORFGBG"))
	}
	return t
}

// darkFromCOLORFGBG reads the "fg;bg" variable some terminals set; the
// background colours 7 and 15 (white) mean a light terminal.
func darkFromCOLORFGBG(v string) bool {
	parts := strings.Split(v, ";")
	bg, err := strconv.Atoi(parts[len(parts)-1])
	if v == "" || err != nil {
		return true
	}
	return bg != 7 && bg != 15
}
