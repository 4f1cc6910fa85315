package cli

import (
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/muesli/termenv"

	"github.com/icconsole/ic/render"
)

// backgroundTimeout bounds how long the console waits for the terminal to
// say its background colour. Terminals answer in a few milliseconds, an
// SSH session in a round trip; one that does not answer costs this once,
// at start, and IC_THEME or the configuration's theme skips the question.
const backgroundTimeout = 500 * time.Millisecond

// consoleTheme decides the console's colours once, before it starts. The
// colour profile comes from the environment (NO_COLOR, TERM); the
// background from IC_THEME, else the configuration's theme, else
// COLORFGBG, else by asking the terminal (OSC 11) with a short timeout,
// and only when there are colours to choose between. Plain commands never
// come here: they never ask the terminal anything.
func consoleTheme(configured string, in, out *os.File) render.Theme {
	t := render.Theme{Profile: termenv.NewOutput(out).EnvColorProfile(), Dark: true}
	for _, v := range []string{os.Getenv("IC_THEME"), configured} {
		switch strings.ToLower(v) {
		case "light":
			t.Dark = false
			return t
		case "dark":
			return t
		}
	}
	if dark, ok := darkFromCOLORFGBG(os.Getenv("COLORFGBG")); ok {
		t.Dark = dark
		return t
	}
	if t.Profile == termenv.Ascii || os.Getenv("TERM") == "dumb" {
		return t // no colour: the background does not matter
	}
	if dark, ok := queryBackground(in, out, backgroundTimeout); ok {
		t.Dark = dark
	}
	return t
}

// darkFromCOLORFGBG reads the "fg;bg" variable some terminals set; the
// background colours 7 and 15 (white) mean a light terminal.
func darkFromCOLORFGBG(v string) (dark, ok bool) {
	if v == "" {
		return false, false
	}
	parts := strings.Split(v, ";")
	bg, err := strconv.Atoi(parts[len(parts)-1])
	if err != nil {
		return false, false
	}
	return bg != 7 && bg != 15, true
}

// darkFromOSC11 reads a terminal's answer to OSC 11 ("ESC ] 11 ;
// rgb:RRRR/GGGG/BBBB" then BEL or ESC \), each component one to four hex
// digits; the background is dark when its luminance is under one half.
func darkFromOSC11(answer string) (dark, ok bool) {
	_, rgb, found := strings.Cut(answer, "rgb:")
	if !found {
		return false, false
	}
	rgb = strings.TrimRight(rgb, "\a\x1b\\")
	parts := strings.Split(rgb, "/")
	if len(parts) != 3 {
		return false, false
	}
	var c [3]float64
	for i, p := range parts {
		if len(p) == 0 || len(p) > 4 {
			return false, false
		}
		v, err := strconv.ParseUint(p, 16, 16)
		if err != nil {
			return false, false
		}
		c[i] = float64(v) / float64(uint64(1)<<(4*len(p))-1)
	}
	return 0.2126*c[0]+0.7152*c[1]+0.0722*c[2] < 0.5, true
}
