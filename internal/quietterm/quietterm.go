// Package quietterm keeps ic from querying the terminal when it starts.
//
// bubbletea v1 asks the terminal for its background colour in a package
// init function (tea_init.go: lipgloss.HasDarkBackground on os.Stdout),
// so every binary that links it writes ESC]11;? and ESC[6n to its
// terminal before main runs, and waits up to five seconds where nothing
// answers (a serial console, some SSH multiplexers, CI with a pty): every
// plain command, "ic version" included. Nothing in main can stop it.
//
// This package's init tells lipgloss's default renderer that the
// background is known, so that query returns at once without touching
// the terminal. It must run before bubbletea's init, and Go initialises
// packages in the order of their import paths wherever dependencies leave
// a choice (the language specification, "Package initialization"). Hence
// this module's path: "early.invalid/..." sorts before
// "github.com/charmbracelet/bubbletea", and like bubbletea it depends only
// on lipgloss, so it is always initialised first. (".invalid" is the
// top-level domain reserved never to resolve: the module lives in this
// repository and is never fetched; go.mod replaces it with this folder.)
//
// The console decides the real background once, before it starts (IC_THEME,
// the configuration, COLORFGBG, or a short query), and sets it on the
// default renderer then. A test runs ic under a terminal that never
// answers and checks that no query is written (termquery_pty_test.go).
package quietterm

import "github.com/charmbracelet/lipgloss"

func init() {
	// Dark until the console says otherwise; plain commands never ask.
	lipgloss.SetHasDarkBackground(true)
}
