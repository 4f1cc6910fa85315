package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/icconsole/ic/internal/termsafe"
	"github.com/icconsole/ic/render"
	"github.com/icconsole/ic/runbook"
)

// reader is the runbook pane: one procedure rendered by glamour, in a red
// (incident) or green (routine) frame, scrolled to the step being walked.
// Rendering runs in a command (glow's pager does the same), cached per
// (content hash, width); a result for a width no longer wanted is kept in
// the cache and not shown.
type reader struct {
	c             *common
	width, height int // outer size, frame included
	focused       bool

	shown    *runbook.Procedure
	viewport viewport.Model
	want     renderKey
	cache    map[renderKey]string
	// step is the text of the step being walked in the shown procedure
	// ("" when none); stepLine is the line of the rendering where it
	// starts (-1: not found).
	step     string
	stepLine int
	// drawn are the last two frames drawn and what each was drawn from
	// (two: opening the note line resizes the pane, and closing it
	// resizes it back). Framing glamour's output is the costliest part
	// of a frame, and a served console redraws on every entry anyone
	// adds. A pointer, so copies of the model share it; only the
	// program's goroutine calls View.
	drawn *[2]drawnFrame
}

// drawnFrame is one frame of the reader and its inputs.
type drawnFrame struct {
	key   frameKey
	frame string
}

// frameKey is everything the reader's frame depends on.
type frameKey struct {
	shown            *runbook.Procedure
	want             renderKey
	rendered         bool
	offset, stepLine int
	width, height    int
	viewportW, viewH int
}

// renderKey identifies one rendering: the same text at the same width
// renders the same, so results are cached by it.
type renderKey struct {
	hash  string
	width int
}

// renderedMsg is a finished rendering.
type renderedMsg struct {
	key renderKey
	out string
	err error
}

func newReader(c *common) reader {
	return reader{c: c, viewport: viewport.New(0, 0), cache: map[renderKey]string{}, stepLine: -1, drawn: &[2]drawnFrame{}}
}

// SetSize sizes the pane; the root then asks for a rendering at the new
// width (render).
func (r *reader) SetSize(w, h int) {
	r.width, r.height = w, h
	r.viewport.Width = max(1, w-4)
	r.viewport.Height = max(1, h-2)
}

// show makes p the shown procedure (scrolled to the top when it changes).
func (r *reader) show(p *runbook.Procedure) {
	if r.shown != p {
		r.shown = p
		r.viewport.GotoTop()
	}
}

// render returns the command that renders the shown procedure at the
// current width, or nil when the cache already holds it.
func (r *reader) render() tea.Cmd {
	if r.shown == nil {
		return nil
	}
	k := renderKey{hash: r.shown.Hash, width: r.viewport.Width}
	r.want = k
	if out, ok := r.cache[k]; ok {
		r.viewport.SetContent(out)
		r.locateStep()
		return nil
	}
	r.viewport.SetContent(r.c.styles.Muted.Render("rendering " + r.shown.ID + "…"))
	body, theme := r.shown.Body, r.c.theme
	return func() tea.Msg {
		out, err := render.Markdown(body, k.width, theme)
		return renderedMsg{key: k, out: out, err: err}
	}
}

// markStep says which step of proc is being walked ("" for none); the
// reader scrolls to it when proc is the shown procedure.
func (r *reader) markStep(proc *runbook.Procedure, step string) {
	if proc != r.shown {
		step = ""
	}
	if step == r.step && r.stepLine >= 0 {
		return
	}
	r.step = step
	r.locateStep()
}

// locateStep finds the current step in the rendered procedure and scrolls
// to it. It reads the whole rendering, so it runs only when the rendering
// or the step changes, never in View.
func (r *reader) locateStep() {
	r.stepLine = -1
	if r.step == "" {
		return
	}
	out, ok := r.cache[r.want]
	if !ok {
		return
	}
	words := strings.Fields(termsafe.Escape(r.step))
	if len(words) > 4 {
		words = words[:4]
	}
	needle := strings.Join(words, " ")
	for i, line := range strings.Split(out, "\n") {
		if strings.Contains(ansi.Strip(line), needle) {
			r.stepLine = i
			r.viewport.SetYOffset(max(0, i-3))
			return
		}
	}
}

// Update takes renderings and, when focused, scroll keys.
func (r *reader) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case renderedMsg:
		if msg.err != nil {
			return nil // the root shows the error
		}
		r.cache[msg.key] = msg.out
		if msg.key == r.want {
			r.viewport.SetContent(msg.out)
			r.locateStep()
		}
		return nil
	case tea.KeyMsg:
		k := r.c.keys
		switch {
		case key.Matches(msg, k.Back):
			r.c.post(focusMsg{libraryPane})
			return nil
		case key.Matches(msg, k.Link):
			if r.shown != nil {
				r.c.post(followMsg{r.shown})
			}
			return nil
		}
		var cmd tea.Cmd
		r.viewport, cmd = r.viewport.Update(msg)
		return cmd
	}
	return nil
}

func (r *reader) ShortHelp() []key.Binding {
	k := r.c.keys
	return []key.Binding{k.ReadingScrollD, k.Link, k.Back}
}

func (r *reader) FullHelp() [][]key.Binding { return [][]key.Binding{r.ShortHelp()} }

// status is the status line's default while the reader is on screen.
func (r *reader) status() string {
	p := r.shown
	if p == nil {
		return ""
	}
	return fmt.Sprintf("%s v%d · %d steps · sha256 %s · %3.0f%%", p.ID, p.Version, len(p.Steps), p.Hash[:12], r.viewport.ScrollPercent()*100)
}

func (r *reader) View() string {
	_, rendered := r.cache[r.want]
	k := frameKey{shown: r.shown, want: r.want, rendered: rendered, offset: r.viewport.YOffset, stepLine: r.stepLine,
		width: r.width, height: r.height, viewportW: r.viewport.Width, viewH: r.viewport.Height}
	if r.drawn == nil {
		return r.draw()
	}
	for _, d := range r.drawn {
		if d.frame != "" && d.key == k {
			return d.frame
		}
	}
	out := r.draw()
	r.drawn[1], r.drawn[0] = r.drawn[0], drawnFrame{key: k, frame: out}
	return out
}

func (r *reader) draw() string {
	st := r.c.styles
	w, h := r.width, r.height
	frame := st.PlainFrame
	content := st.Muted.Render(wrap("Select a procedure in the library and press enter to read it.", max(10, w-4)))
	if r.shown != nil {
		switch r.shown.Kind {
		case runbook.Incident:
			frame = st.IncidentFrame
		case runbook.Routine:
			frame = st.RoutineFrame
		}
		vp := r.viewport
		content = vp.View()
		if r.stepLine >= 0 {
			// Mark the current step's line, when it is on screen.
			if row := r.stepLine - vp.YOffset; row >= 0 && row < vp.Height {
				rows := strings.Split(content, "\n")
				if row < len(rows) {
					// The marker takes the line's first cell (a margin
					// space), styles or not.
					rows[row] = st.Title.Render("▶") + ansi.TruncateLeft(rows[row], 1, "")
				}
				content = strings.Join(rows, "\n")
			}
		}
	}
	return frame.Width(w-2).Height(h-2).MaxHeight(h).Padding(0, 1).Render(content)
}
