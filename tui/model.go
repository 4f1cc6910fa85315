// Package tui is ic's full-screen console, built on bubbletea v1. It shows
// the runbook library and reader, walks checklists, keeps the incident's
// timeline on screen and appends to it, and runs sync-committee checks in a
// side panel. Everything slow (the ledger, BLS, HTTP, rendering Markdown,
// the draft file) runs in tea.Cmd functions and comes back as typed
// messages, so Update and View never block.
package tui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/spinner"
	"github.com/charmbracelet/bubbles/textinput"
	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/icconsole/ic/incident"
	"github.com/icconsole/ic/internal/termsafe"
	"github.com/icconsole/ic/render"
	"github.com/icconsole/ic/runbook"
)

// Options is what the console needs from its caller.
type Options struct {
	// Context is cancelled when the console ends: every command the
	// console starts (ledger reads and writes, sync checks) stops with it.
	Context context.Context
	Catalog *runbook.Catalog
	// Service is the application layer over the ledger; nil shows the
	// library only.
	Service *incident.Service
	Theme   render.Theme
	Actor   incident.Actor
	// Book is the book shown first ("" for the catalog's default).
	Book string
	// Draft is the note being typed when the console last stopped.
	Draft string
	// Incident opens this incident (full id) at start.
	Incident string
	// Routine starts a run of this routine procedure at start.
	Routine string
	// Review starts in review mode.
	Review bool
	// Sync lists the configured sync-committee check sources.
	Sync []incident.SyncSource
	// Now is the clock (tests fix it).
	Now func() time.Time

	// after schedules a message (tea.Tick); tests replace it so that no
	// command sleeps and they send clock ticks themselves.
	after func(time.Duration, func(time.Time) tea.Msg) tea.Cmd
}

// mode is what the console is for right now.
type mode int

const (
	respondMode mode = iota // the operator during an incident
	reviewMode              // the audit scribe
	routineMode             // a routine walked on a normal day
)

type pane int

const (
	libraryPane pane = iota
	readerPane
	stepsPane
	timelinePane
	syncPane
)

var paneNames = []string{"Library", "Runbook", "Steps", "Timeline", "Sync"}

// wideWidth is the narrowest terminal that shows the panes side by side;
// narrower ones show one pane at a time under tabs.
const wideWidth = 120

const libraryWidth = 34
const sideWidth = 46

// Model is the console's root model.
type Model struct {
	opts   Options
	styles Styles
	keys   KeyMap
	help   help.Model

	width, height int
	now           time.Time

	books []*runbook.Book
	book  int

	filter    textinput.Model
	filtering bool
	items     []*runbook.Procedure
	cursor    int

	focus pane
	shown *runbook.Procedure
	// stepLine is the line of the rendered procedure where the current
	// step starts (-1: not found or not stepping).
	stepLine int
	reader   viewport.Model
	want     renderKey
	cache    map[renderKey]string

	incident *incident.Status
	timeline timeline
	steps    stepper
	polling  bool

	note      textinput.Model
	noting    bool
	draftGen  int
	draftSent string

	form *form

	mode    mode
	review  reviewState
	history []incident.RunSummary
	// fromRun is the routine run a failure declaration comes from.
	fromRun string

	// appending is true while an append is in flight; queue holds the
	// appends waiting for it, in order.
	appending bool
	queue     []tea.Cmd

	sync syncPanel

	confirmQuit bool
	status      string
	statusErr   bool
	utc         bool
}

// New builds the console model. It does no I/O.
func New(opts Options) Model {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.after == nil {
		opts.after = tea.Tick
	}
	f := textinput.New()
	f.Prompt = "/"
	f.Placeholder = "filter by id, title, trigger or text"
	f.Cursor.SetMode(cursor.CursorStatic)
	n := textinput.New()
	n.Prompt = "note> "
	n.Placeholder = "type a note; enter adds it to the timeline"
	n.CharLimit = incident.MaxTextBytes
	n.Cursor.SetMode(cursor.CursorStatic)
	n.SetValue(opts.Draft)
	sp := spinner.New()
	sp.Spinner = spinner.Line
	m := Model{
		opts:   opts,
		styles: NewStyles(opts.Theme),
		keys:   NewKeyMap(),
		help:   help.New(),
		books:  opts.Catalog.Books(),
		filter: f,
		note:   n,
		reader: viewport.New(0, 0),
		cache:  map[renderKey]string{},
		width:  80, height: 24,
		stepLine: -1,
		now:      opts.Now(),
		sync:     newSyncPanel(opts.Sync, sp),
	}
	// Every help style comes from our renderer: bubbles' defaults use
	// adaptive colours, which would query the terminal's background.
	m.help.Styles = help.Styles{
		Ellipsis: m.styles.Help, ShortKey: m.styles.Title, ShortDesc: m.styles.Help, ShortSeparator: m.styles.Help,
		FullKey: m.styles.Title, FullDesc: m.styles.Help, FullSeparator: m.styles.Help,
	}
	want := opts.Book
	if want == "" {
		want = opts.Catalog.DefaultBook()
	}
	for i, b := range m.books {
		if b.ID == want {
			m.book = i
		}
	}
	m.refilter()
	if opts.Review {
		m.mode = reviewMode
	}
	if opts.Draft != "" {
		m.status = "restored the note you were typing (n to continue, enter to add it)"
		m.draftSent = opts.Draft
	}
	return m
}

// Init starts the clock and, when asked, loads the incident to open.
// saveDraft and removeDraft keep the note line's text beside the ledger
// (nothing without a ledger).
func (m *Model) saveDraft(text string) tea.Cmd {
	if m.opts.Service == nil {
		return nil
	}
	return saveDraft(m.opts.Service.Drafts(), text)
}

func (m *Model) removeDraft() tea.Cmd {
	if m.opts.Service == nil {
		return nil
	}
	return removeDraft(m.opts.Service.Drafts())
}

// ctx is the console's context (context.Background when none was given).
func (m *Model) ctx() context.Context {
	if m.opts.Context == nil {
		return context.Background()
	}
	return m.opts.Context
}

func (m Model) Init() tea.Cmd {
	cmds := []tea.Cmd{m.tick()}
	if m.opts.Incident != "" && m.opts.Service != nil {
		cmds = append(cmds, loadIncident(m.ctx(), m.opts.Service, m.opts.Incident))
	}
	if m.opts.Review && m.opts.Service != nil {
		cmds = append(cmds, loadReviewList(m.ctx(), m.opts.Service))
	}
	if p, ok := m.opts.Catalog.Procedure(m.opts.Routine); ok && m.opts.Routine != "" {
		cmds = append(cmds, func() tea.Msg { return startRoutineMsg{p} })
	}
	return tea.Batch(cmds...)
}

// Messages coming back from commands.
type (
	tickMsg     time.Time
	renderedMsg struct {
		key renderKey
		out string
		err error
	}
	incidentLoadedMsg struct {
		status incident.Status
		events []incident.Entry
		steps  map[string]map[int]stepMark
		proc   string
		err    error
	}
	polledMsg struct {
		id     string
		status incident.Status
		events []incident.Entry
		err    error
	}
	olderLoadedMsg struct {
		id     string
		events []incident.Entry
		err    error
	}
	appendedMsg struct {
		event incident.Entry
		what  string
		err   error
		// clearNote is set for a committed note: the draft goes.
		clearNote bool
		// undo takes back a step marked before the append succeeded.
		undo *stepUndo
	}
	declaredMsg struct {
		incident incident.Status
		err      error
	}
	openListMsg struct {
		list []incident.Status
		err  error
	}
	draftTickMsg    struct{ gen int }
	startRoutineMsg struct{ proc *runbook.Procedure }
	draftSavedMsg   struct{ err error }
)

// renderKey identifies one rendering: the same text at the same width
// renders the same, so results are cached by it.
type renderKey struct {
	hash  string
	width int
}

// stepMark is how a step stands on the timeline.
type stepMark int

const (
	stepOpen stepMark = iota
	stepChecked
	stepSkippedMark
	stepFailedMark
)

func (m *Model) tick() tea.Cmd {
	return m.opts.after(time.Second, func(t time.Time) tea.Msg { return tickMsg(t) })
}

func (m *Model) currentBook() *runbook.Book {
	if m.incident != nil {
		if b, ok := m.opts.Catalog.Book(m.incident.Book); ok {
			return b
		}
	}
	if len(m.books) == 0 {
		return nil
	}
	return m.books[m.book]
}

func (m *Model) refilter() {
	m.items = nil
	if len(m.books) > 0 {
		m.items = m.opts.Catalog.Filter(runbook.Filter{Book: m.books[m.book].ID, Query: m.filter.Value()})
	}
	if m.cursor >= len(m.items) {
		m.cursor = max(0, len(m.items)-1)
	}
}

func (m *Model) setStatus(s string) { m.status, m.statusErr = s, false }
func (m *Model) setError(err error) {
	m.status, m.statusErr = err.Error(), true
}

// Update handles one message.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.layout()
		return m, m.renderShown()
	case tickMsg:
		m.now = m.opts.Now()
		cmds := []tea.Cmd{m.tick()}
		if m.steps.pausing && !m.now.Before(m.steps.pauseUntil) {
			cmds = append(cmds, m.endPause(false))
		}
		if m.incident != nil && !m.polling && m.opts.Service != nil {
			m.polling = true
			cmds = append(cmds, poll(m.ctx(), m.opts.Service, m.incident.ID, m.timeline.lastSeq()))
		}
		return m, tea.Batch(cmds...)
	case renderedMsg:
		if msg.err != nil {
			m.setError(msg.err)
			return m, nil
		}
		m.cache[msg.key] = msg.out
		if msg.key == m.want {
			m.reader.SetContent(msg.out)
			m.locateStep()
		}
		return m, nil
	case incidentLoadedMsg:
		if msg.err != nil {
			m.setError(msg.err)
			return m, nil
		}
		st := msg.status
		m.incident = &st
		m.timeline = newTimeline(st.ID, msg.events, st.Events)
		m.steps.marks = msg.steps
		proc := msg.proc
		if b := m.currentBook(); proc == "" && b != nil {
			proc = b.Policy.FirstResponse
		}
		if p, ok := m.opts.Catalog.Procedure(proc); ok {
			m.steps.open(p)
			m.show(p)
		}
		m.setStatus(fmt.Sprintf("%s open: %s", st.Short(), st.Title))
		return m, m.renderShown()
	case polledMsg:
		m.polling = false
		if msg.err != nil {
			m.setError(msg.err)
			return m, nil
		}
		if m.incident == nil || msg.id != m.incident.ID {
			return m, nil
		}
		st := msg.status
		m.incident = &st
		m.timeline.append(msg.events, st.Events)
		m.steps.record(msg.events)
		return m, nil
	case olderLoadedMsg:
		m.timeline.loading = false
		if msg.err != nil {
			m.setError(msg.err)
		} else if m.incident != nil && msg.id == m.incident.ID {
			m.timeline.prepend(msg.events)
		}
		return m, nil
	case appendedMsg:
		next := m.dequeue()
		if msg.err != nil {
			if u := msg.undo; u != nil {
				delete(m.steps.marks[u.hash], u.step)
				m.steps.cursor = m.steps.firstOpen()
			}
			m.setError(msg.err)
			return m, next
		}
		m.setStatus(fmt.Sprintf("#%d %s recorded", msg.event.Seq, msg.what))
		cmds := []tea.Cmd{next}
		if msg.clearNote {
			cmds = append(cmds, m.removeDraft())
			m.draftSent = ""
		}
		if m.incident != nil && !m.polling {
			m.polling = true
			cmds = append(cmds, poll(m.ctx(), m.opts.Service, m.incident.ID, m.timeline.lastSeq()))
		}
		return m, tea.Batch(cmds...)
	case noteFailedMsg:
		next := m.dequeue()
		if m.note.Value() == "" {
			m.note.SetValue(msg.text)
		}
		m.setError(fmt.Errorf("note not added, the text is back on the note line: %w", msg.err))
		return m, tea.Batch(next, m.saveDraft(msg.text))
	case declaredMsg:
		if msg.err != nil {
			m.setError(msg.err)
			return m, nil
		}
		m.steps.startPause(m.now)
		return m, loadIncident(m.ctx(), m.opts.Service, msg.incident.ID)
	case openListMsg:
		if msg.err != nil {
			m.setError(msg.err)
			return m, nil
		}
		if len(msg.list) == 0 {
			m.setStatus("no open incident: press D to declare one")
			return m, nil
		}
		var choices []string
		for _, s := range msg.list {
			choices = append(choices, fmt.Sprintf("%s %s %s", s.Short(), s.Severity, s.Title))
		}
		m.form = &form{kind: formOpen, title: "Open an incident (most recent first)", fields: []field{newChoiceField("incident", choices, 0)}, data: msg.list}
		return m, nil
	case draftTickMsg:
		if msg.gen != m.draftGen || m.note.Value() == m.draftSent {
			return m, nil
		}
		m.draftSent = m.note.Value()
		return m, m.saveDraft(m.note.Value())
	case draftSavedMsg:
		if msg.err != nil {
			m.setError(fmt.Errorf("saving the draft note: %w (the text is still on screen)", msg.err))
		}
		return m, nil
	case syncDoneMsg:
		m.sync.done(msg, m.now)
		m.setStatus("sync check done: " + m.sync.summary(msg.source))
		return m, nil
	case spinner.TickMsg:
		if !m.sync.running() {
			return m, nil
		}
		var cmd tea.Cmd
		m.sync.spinner, cmd = m.sync.spinner.Update(msg)
		return m, cmd
	case reviewListMsg:
		if msg.err != nil {
			m.setError(msg.err)
			return m, nil
		}
		m.review.list = msg.list
		m.review.filterList()
		return m, nil
	case reviewOpenMsg:
		if msg.err != nil {
			m.setError(msg.err)
			return m, nil
		}
		m.reviewOpened(msg)
		return m, nil
	case monthlyMsg:
		if msg.err != nil {
			m.setError(msg.err)
		} else {
			m.review.report, m.review.reportTop = msg.text, 0
			m.setStatus("monthly review " + m.now.Format("2006-01") + " · ↑/↓ scroll · m or esc closes")
		}
		return m, nil
	case exportedMsg:
		if msg.err != nil {
			m.setError(fmt.Errorf("export failed: %w", msg.err))
		} else {
			m.setStatus("exported to " + msg.path)
		}
		return m, nil
	case startRoutineMsg:
		return m.startRun(msg.proc)
	case runStartedMsg:
		if msg.err != nil {
			m.mode = respondMode
			m.setError(msg.err)
			return m, nil
		}
		m.steps.open(msg.proc)
		m.show(msg.proc)
		m.focus = stepsPane
		return m, tea.Batch(loadIncident(m.ctx(), m.opts.Service, msg.run.ID), loadHistory(m.ctx(), m.opts.Service, msg.proc.ID), m.renderShown())
	case historyMsg:
		if msg.err != nil {
			m.setError(msg.err)
		} else {
			m.history = msg.runs
		}
		return m, nil
	case tea.KeyMsg:
		return m.handleKey(msg)
	case tea.MouseMsg:
		return m, nil
	}
	return m, nil
}

func (m Model) handleKey(msg tea.KeyMsg) (tea.Model, tea.Cmd) {
	k := m.keys
	if m.confirmQuit {
		switch {
		case key.Matches(msg, k.ConfirmQuit), key.Matches(msg, k.ForceQuit):
			return m, tea.Quit
		case key.Matches(msg, k.CancelQuit):
			m.confirmQuit = false
		}
		return m, nil
	}
	if key.Matches(msg, k.ForceQuit) {
		return m.quit()
	}
	if m.form != nil {
		if key.Matches(msg, k.Cancel) {
			m.form = nil
			m.setStatus("cancelled")
			return m, nil
		}
		done, cmd := m.form.update(msg, k)
		if done {
			f := m.form
			m.form = nil
			return m.submit(f)
		}
		return m, cmd
	}
	if m.noting {
		switch {
		case key.Matches(msg, k.Cancel):
			m.noting = false
			m.note.Blur()
			if m.note.Value() != "" {
				m.setStatus("note kept as a draft (n to continue)")
			}
			return m, nil
		case key.Matches(msg, k.Submit):
			return m.commitNote()
		}
		var cmd tea.Cmd
		m.note, cmd = m.note.Update(msg)
		m.draftGen++
		gen := m.draftGen
		return m, tea.Batch(cmd, m.opts.after(400*time.Millisecond, func(time.Time) tea.Msg { return draftTickMsg{gen} }))
	}
	if m.mode == reviewMode {
		return m.reviewKey(msg)
	}
	if m.filtering {
		switch {
		case key.Matches(msg, k.FilterCancel):
			m.filtering = false
			m.filter.Blur()
			m.filter.SetValue("")
			m.refilter()
		case key.Matches(msg, k.FilterAccept):
			m.filtering = false
			m.filter.Blur()
		default:
			var cmd tea.Cmd
			m.filter, cmd = m.filter.Update(msg)
			m.refilter()
			return m, cmd
		}
		return m, nil
	}
	switch {
	case key.Matches(msg, k.Quit):
		return m.quit()
	case key.Matches(msg, k.Help):
		m.help.ShowAll = !m.help.ShowAll
		m.layout()
		return m, nil
	case key.Matches(msg, k.NextPane):
		m.focus = m.nextPane()
		return m, nil
	case key.Matches(msg, k.Note):
		m.noting = true
		return m, m.note.Focus()
	case key.Matches(msg, k.Declare):
		return m.startDeclare()
	case key.Matches(msg, k.Review):
		if m.opts.Service == nil {
			m.setStatus("no ledger: the console was started without a database")
			return m, nil
		}
		m.mode = reviewMode
		m.review.open = nil
		return m, loadReviewList(m.ctx(), m.opts.Service)
	case key.Matches(msg, k.Routine):
		p := m.shown
		if m.focus == libraryPane && len(m.items) > 0 {
			p = m.items[m.cursor]
		}
		if p == nil {
			m.setStatus("select a routine (green) in the library, then W")
			return m, nil
		}
		return m.startRun(p)
	case key.Matches(msg, k.OpenIncident):
		if m.opts.Service == nil {
			m.setStatus("no ledger: the console was started without a database")
			return m, nil
		}
		return m, listOpen(m.ctx(), m.opts.Service)
	case key.Matches(msg, k.UTC):
		m.utc = !m.utc
		return m, nil
	case key.Matches(msg, k.SyncPanel):
		m.sync.visible = !m.sync.visible
		if m.sync.visible {
			m.focus = syncPane
		} else if m.focus == syncPane {
			m.focus = timelinePane
		}
		m.layout()
		return m, m.renderShown()
	case key.Matches(msg, k.Severity), key.Matches(msg, k.State), key.Matches(msg, k.Role),
		key.Matches(msg, k.Update), key.Matches(msg, k.Evidence), key.Matches(msg, k.Action):
		return m.startIncidentForm(msg)
	}
	switch m.focus {
	case libraryPane:
		return m.libraryKey(msg)
	case readerPane:
		if key.Matches(msg, k.Back) {
			m.focus = libraryPane
			return m, nil
		}
		if key.Matches(msg, k.Link) {
			return m.linkShown()
		}
		var cmd tea.Cmd
		m.reader, cmd = m.reader.Update(msg)
		return m, cmd
	case stepsPane:
		return m.stepsKey(msg)
	case timelinePane:
		return m.timelineKey(msg)
	case syncPane:
		return m.syncKey(msg)
	}
	return m, nil
}

func (m Model) quit() (tea.Model, tea.Cmd) {
	if m.note.Value() != "" || (m.form != nil && m.form.dirty()) {
		m.confirmQuit = true
		return m, nil
	}
	return m, tea.Quit
}

func (m *Model) wide() bool { return m.width >= wideWidth }

// panes lists the panes that can take focus now.
func (m *Model) panes() []pane {
	ps := []pane{libraryPane, readerPane, stepsPane, timelinePane}
	if m.sync.visible {
		ps = append(ps, syncPane)
	}
	return ps
}

func (m *Model) nextPane() pane {
	ps := m.panes()
	for i, p := range ps {
		if p == m.focus {
			return ps[(i+1)%len(ps)]
		}
	}
	return ps[0]
}

func (m Model) libraryKey(msg tea.KeyMsg) (tea.Model, tea.Cmd) {
	k := m.keys
	switch {
	case key.Matches(msg, k.Filter):
		m.filtering = true
		return m, m.filter.Focus()
	case key.Matches(msg, k.NextBook):
		if len(m.books) > 0 {
			m.book = (m.book + 1) % len(m.books)
			m.cursor = 0
			m.refilter()
		}
	case key.Matches(msg, k.Up):
		if m.cursor > 0 {
			m.cursor--
		}
	case key.Matches(msg, k.Down):
		if m.cursor < len(m.items)-1 {
			m.cursor++
		}
	case key.Matches(msg, k.Open):
		if len(m.items) > 0 {
			m.show(m.items[m.cursor])
			m.focus = readerPane
			return m, m.renderShown()
		}
	case key.Matches(msg, k.Link):
		if len(m.items) > 0 {
			m.show(m.items[m.cursor])
			return m.linkShown()
		}
	}
	return m, nil
}

func (m *Model) show(p *runbook.Procedure) {
	if m.shown != p {
		m.shown = p
		m.reader.GotoTop()
	}
}

// linkShown records that the incident follows the shown procedure and
// opens it in the stepper.
func (m Model) linkShown() (tea.Model, tea.Cmd) {
	if m.shown == nil {
		return m, nil
	}
	m.steps.open(m.shown)
	if m.incident == nil {
		m.setStatus("walking " + m.shown.ID + " without an incident: declare one (D) to record the steps")
		m.focus = stepsPane
		return m, nil
	}
	m.focus = stepsPane
	p := m.shown
	return m, m.appendCmd("runbook link", incident.RunbookLink{Procedure: incident.Ref(p)})
}

// appendCmd appends payload to the open incident, after any append still
// in flight: entries land in the order the operator made them.
func (m *Model) appendCmd(what string, payload incident.Payload) tea.Cmd {
	return m.enqueue(m.rawAppend(what, payload, nil))
}

// rawAppend is the command that appends payload (nil without an incident).
func (m *Model) rawAppend(what string, payload incident.Payload, undo *stepUndo) tea.Cmd {
	if m.incident == nil || m.opts.Service == nil {
		m.setStatus("no open incident: press D to declare one or o to open one")
		return nil
	}
	ctx, l, id, actor, key := m.ctx(), m.opts.Service, m.incident.ID, m.opts.Actor, incident.NewKey()
	return func() tea.Msg {
		ev, err := l.Append(ctx, id, actor, key, payload)
		return appendedMsg{event: ev, what: what, err: err, undo: undo}
	}
}

// enqueue runs cmd now when no append is in flight, else after the ones
// before it. Every queued command answers appendedMsg or noteFailedMsg,
// which releases the next.
func (m *Model) enqueue(cmd tea.Cmd) tea.Cmd {
	if cmd == nil {
		return nil
	}
	if m.appending {
		m.queue = append(m.queue, cmd)
		return nil
	}
	m.appending = true
	return cmd
}

// dequeue starts the next waiting append, if any.
func (m *Model) dequeue() tea.Cmd {
	m.appending = false
	if len(m.queue) == 0 {
		return nil
	}
	next := m.queue[0]
	m.queue = m.queue[1:]
	m.appending = true
	return next
}

func (m Model) commitNote() (tea.Model, tea.Cmd) {
	text := m.note.Value()
	if strings.TrimSpace(text) == "" {
		m.setStatus("empty note: nothing to add")
		return m, nil
	}
	if m.incident == nil {
		m.setStatus("no open incident: the note is kept as a draft; declare (D) or open (o) one, then press enter again")
		m.noting = false
		m.note.Blur()
		return m, m.saveDraft(text)
	}
	ctx, l, id, actor, key := m.ctx(), m.opts.Service, m.incident.ID, m.opts.Actor, incident.NewKey()
	m.note.SetValue("")
	m.noting = false
	m.note.Blur()
	return m, m.enqueue(func() tea.Msg {
		ev, err := l.Append(ctx, id, actor, key, incident.Note{Text: text})
		if err != nil {
			// Nothing was written: give the text back so it is not lost.
			return noteFailedMsg{text: text, err: err}
		}
		return appendedMsg{event: ev, what: "note", clearNote: true}
	})
}

// noteFailedMsg returns a note that could not be appended to the note line.
type noteFailedMsg struct {
	text string
	err  error
}

// layout sizes the reader for the current terminal.
func (m *Model) layout() {
	w, h := m.readerSize()
	m.reader.Width = max(1, w-4)
	m.reader.Height = max(1, h-2)
}

// renderShown returns the command that renders the shown procedure at the
// current width, or nil when the cache already holds it.
func (m *Model) renderShown() tea.Cmd {
	if m.shown == nil {
		return nil
	}
	k := renderKey{hash: m.shown.Hash, width: m.reader.Width}
	m.want = k
	if out, ok := m.cache[k]; ok {
		m.reader.SetContent(out)
		m.locateStep()
		return nil
	}
	m.reader.SetContent(m.styles.Muted.Render("rendering " + m.shown.ID + "…"))
	body, theme := m.shown.Body, m.opts.Theme
	return func() tea.Msg {
		out, err := render.Markdown(body, k.width, theme)
		return renderedMsg{key: k, out: out, err: err}
	}
}

// locateStep finds the current step in the rendered procedure and scrolls
// the reader to it. It reads the whole rendering, so it runs only when the
// rendering or the step changes, never in View.
func (m *Model) locateStep() {
	m.stepLine = -1
	s := &m.steps
	if s.proc == nil || s.proc != m.shown || s.cursor >= len(s.proc.Steps) {
		return
	}
	out, ok := m.cache[m.want]
	if !ok {
		return
	}
	words := strings.Fields(termsafe.Escape(s.proc.Steps[s.cursor].Text))
	if len(words) > 4 {
		words = words[:4]
	}
	needle := strings.Join(words, " ")
	for i, line := range strings.Split(out, "\n") {
		if strings.Contains(ansi.Strip(line), needle) {
			m.stepLine = i
			m.reader.SetYOffset(max(0, i-3))
			return
		}
	}
}

// Commands that touch the ledger or files. Each takes what it needs as
// arguments, so the goroutine that runs it never reads the model.

func loadIncident(ctx context.Context, svc *incident.Service, id string) tea.Cmd {
	return func() tea.Msg {
		st, err := svc.Status(ctx, id)
		if err != nil {
			return incidentLoadedMsg{err: err}
		}
		events, err := svc.Page(ctx, id, 0, timelinePage)
		if err != nil {
			return incidentLoadedMsg{err: err}
		}
		marks := map[string]map[int]stepMark{}
		proc := ""
		err = svc.Timeline(ctx, incident.Range{Incident: id, Types: stepKinds}, func(e incident.Entry) error {
			if id := recordStep(marks, e); id != "" {
				proc = id
			}
			return nil
		})
		return incidentLoadedMsg{status: st, events: events, steps: marks, proc: proc, err: err}
	}
}

func poll(ctx context.Context, svc *incident.Service, id string, after int64) tea.Cmd {
	return func() tea.Msg {
		head, err := svc.HeadSeq(ctx, id)
		if err != nil {
			return polledMsg{id: id, err: err}
		}
		st, err := svc.Status(ctx, id)
		if err != nil {
			return polledMsg{id: id, err: err}
		}
		var events []incident.Entry
		if head > after {
			events, err = svc.Entries(ctx, incident.Range{Incident: id, AfterSeq: after})
		}
		return polledMsg{id: id, status: st, events: events, err: err}
	}
}

func listOpen(ctx context.Context, svc *incident.Service) tea.Cmd {
	return func() tea.Msg {
		list, err := svc.List(ctx, incident.ListFilter{OpenOnly: true})
		return openListMsg{list: list, err: err}
	}
}

func saveDraft(d incident.Drafts, text string) tea.Cmd {
	return func() tea.Msg { return draftSavedMsg{d.Save(text)} }
}

func removeDraft(d incident.Drafts) tea.Cmd {
	return func() tea.Msg { return draftSavedMsg{d.Remove()} }
}
