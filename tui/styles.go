package tui

import (
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/icconsole/ic/render"
)

// Styles holds every style the console draws with. Incident red and routine
// green live here and nowhere else.
type Styles struct {
	// Plain is text with no style of its own (drawn by the theme's
	// renderer, never the default one, which would query the terminal).
	Plain         lipgloss.Style
	Header        lipgloss.Style
	HeaderMuted   lipgloss.Style
	Title         lipgloss.Style
	Muted         lipgloss.Style
	Selected      lipgloss.Style
	IncidentMark  lipgloss.Style
	RoutineMark   lipgloss.Style
	ReferenceMark lipgloss.Style
	IncidentFrame lipgloss.Style
	RoutineFrame  lipgloss.Style
	PlainFrame    lipgloss.Style
	FocusFrame    lipgloss.Style
	Status        lipgloss.Style
	Error         lipgloss.Style
	OK            lipgloss.Style
	Overdue       lipgloss.Style
	Help          lipgloss.Style
	Tab           lipgloss.Style
	ActiveTab     lipgloss.Style
	StepCurrent   lipgloss.Style
	StepDone      lipgloss.Style
	StepSkipped   lipgloss.Style
	// Severity colours by rank: [0] is the book's worst level.
	Severity [4]lipgloss.Style
}

// NewStyles builds the styles for a theme. Under termenv.Ascii the colours
// drop out and the borders and text markers stay, so the console still reads
// without colour.
func NewStyles(theme render.Theme) Styles {
	r := lipgloss.NewRenderer(nil, termenv.WithProfile(theme.Profile))
	r.SetColorProfile(theme.Profile)
	r.SetHasDarkBackground(theme.Dark)
	red := lipgloss.Color("1")
	green := lipgloss.Color("2")
	yellow := lipgloss.Color("3")
	muted := lipgloss.Color("8")
	fg := lipgloss.Color("15")
	if !theme.Dark {
		fg = lipgloss.Color("0")
		muted = lipgloss.Color("242")
	}
	frame := func(c lipgloss.TerminalColor) lipgloss.Style {
		return r.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(c)
	}
	return Styles{
		Plain:         r.NewStyle(),
		Header:        r.NewStyle().Bold(true).Foreground(fg),
		HeaderMuted:   r.NewStyle().Foreground(muted),
		Title:         r.NewStyle().Bold(true),
		Muted:         r.NewStyle().Foreground(muted),
		Selected:      r.NewStyle().Reverse(true),
		IncidentMark:  r.NewStyle().Foreground(red).Bold(true),
		RoutineMark:   r.NewStyle().Foreground(green).Bold(true),
		ReferenceMark: r.NewStyle().Foreground(muted),
		IncidentFrame: frame(red),
		RoutineFrame:  frame(green),
		PlainFrame:    frame(muted),
		FocusFrame:    frame(fg),
		Status:        r.NewStyle().Foreground(muted),
		Error:         r.NewStyle().Foreground(red).Bold(true),
		OK:            r.NewStyle().Foreground(green),
		Overdue:       r.NewStyle().Foreground(red).Bold(true).Reverse(true),
		Help:          r.NewStyle().Foreground(muted),
		Tab:           r.NewStyle().Foreground(muted).Padding(0, 1),
		ActiveTab:     r.NewStyle().Bold(true).Underline(true).Padding(0, 1),
		StepCurrent:   r.NewStyle().Bold(true).Reverse(true),
		StepDone:      r.NewStyle().Foreground(green),
		StepSkipped:   r.NewStyle().Foreground(yellow),
		Severity: [4]lipgloss.Style{
			r.NewStyle().Bold(true).Foreground(lipgloss.Color("15")).Background(red),
			r.NewStyle().Bold(true).Foreground(red),
			r.NewStyle().Bold(true).Foreground(yellow),
			r.NewStyle().Foreground(muted),
		},
	}
}
