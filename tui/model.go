// Package tui is ic's full-screen console, built on bubbletea v1. It shows
// the runbook library and reader, walks checklists, keeps the incident's
// timeline on screen and appends to it, and runs sync-committee checks in a
// side panel. Each pane is its own component (common.go) with Update, View,
// SetSize and its help keys; the root model here routes messages to them
// and lays them out (view.go). Everything slow (the ledger, BLS, HTTP,
// rendering Markdown, the draft file) runs in tea.Cmd functions and comes
// back as typed messages, so Update and View never block.
package tui

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/ssh"

	"github.com/icconsole/ic/incident"
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
	// SyncEvery re-runs the sync checks this often while the console is
	// open (0: on open and on r only).
	SyncEvery time.Duration
	// SaveSync keeps beacon URLs and a checkpoint entered in the sync
	// panel for the next start (in the configuration file, whose path it
	// returns); nil: they last for this run only.
	SaveSync func(beacons []string, checkpoint string) (path string, err error)
	// Now is the clock (tests fix it).
	Now func() time.Time
	// SessionKey is the key a served session logged in with: approvals
	// made in this console are proven by it (nil: signed with a key file
	// or the ssh-agent's key, as "ic approve" does).
	SessionKey ssh.PublicKey
	// Live is set by a served console: the server's watcher sends
	// LiveMsg when the ledger moves (live.go), so the console does not
	// read the ledger on its clock tick.
	Live bool
	// Opened is told, in a command, the incident the console shows (full
	// id): a server shows the others who is where. Nil: nobody asks.
	Opened func(id string)

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

// pane names a pane that can take focus.
type pane int

const (
	libraryPane pane = iota
	readerPane
	stepsPane
	timelinePane
	syncPane
)

var paneNames = []string{"Library", "Runbook", "Steps", "Timeline", "Sync"}

// Model is the console's root model: it holds the panes, routes messages
// to them and lays them out.
type Model struct {
	c    *common
	opts Options
	help help.Model

	width, height int
	now           time.Time
	mode          mode
	focus         pane

	header   header
	library  library
	reader   reader
	steps    stepper
	timeline timeline
	sync     syncPanel
	note     noteLine
	review   review
	// form is the open form, drawn over the panes (nil: none).
	form *form
	// detail is the entry shown whole, drawn over the panes (nil: none).
	detail *detail

	incident *incident.Status
	polling  bool
	// resumed is how many incidents were open when the console came back
	// to the latest of them.
	resumed int
	// fromRun is the routine run a failure declaration comes from.
	fromRun string

	confirmQuit bool
	status      string
	statusErr   bool
	// others are the other people on a served console's server.
	others []Presence
	// repoll: the server sent entries past a gap while a read was under
	// way; the console reads again when that read is back (live.go).
	repoll bool
}

// Requests the panes post to the root (common.post).
type (
	statusMsg struct {
		text string
		err  bool
	}
	openFormMsg struct{ form *form }
	focusMsg    struct{ pane pane }
	modeMsg     struct{ mode mode }
)

// New builds the console model. It does no I/O.
func New(opts Options) Model {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.after == nil {
		opts.after = tea.Tick
	}
	if opts.Context == nil {
		opts.Context = context.Background()
	}
	styles, keys := NewStyles(opts.Theme), NewKeyMap()
	c := &common{
		ctx: opts.Context, svc: opts.Service, catalog: opts.Catalog, styles: &styles, keys: &keys,
		theme: opts.Theme, actor: opts.Actor, after: opts.after, sessionKey: opts.SessionKey,
		writer: &writer{ctx: opts.Context, svc: opts.Service, actor: opts.Actor},
	}
	m := Model{
		c:        c,
		opts:     opts,
		help:     help.New(),
		width:    80,
		height:   24,
		now:      opts.Now(),
		header:   header{c: c},
		library:  newLibrary(c, opts.Book),
		reader:   newReader(c),
		steps:    newStepper(c),
		timeline: newTimeline(c),
		sync:     newSyncPanel(c, opts),
		note:     newNoteLine(c, opts.Draft),
		review:   newReview(c),
	}
	// Every help style comes from our renderer: bubbles' defaults use
	// adaptive colours, which would query the terminal's background.
	m.help.Styles = help.Styles{
		Ellipsis: styles.Help, ShortKey: styles.Title, ShortDesc: styles.Help, ShortSeparator: styles.Help,
		FullKey: styles.Title, FullDesc: styles.Help, FullSeparator: styles.Help,
	}
	if opts.Review {
		m.mode = reviewMode
	}
	if opts.Draft != "" {
		m.status = "restored the note you were typing (n to continue, enter to add it)"
	}
	m.tick(m.now)
	m.layout()
	return m
}

// Init starts the clock and, when asked, loads the incident to open, the
// review list, or a routine run.
func (m Model) Init() tea.Cmd {
	cmds := []tea.Cmd{m.nextTick()}
	switch {
	case m.opts.Incident != "" && m.c.ledger():
		cmds = append(cmds, loadIncident(m.c.ctx, m.c.svc, m.opts.Incident))
	case m.opts.Routine == "" && !m.opts.Review && m.c.ledger():
		// After a restart the console comes back to the open incident.
		cmds = append(cmds, resumeLatest(m.c.ctx, m.c.svc))
	}
	if m.opts.Review && m.c.ledger() {
		cmds = append(cmds, loadReviewList(m.c.ctx, m.c.svc))
	}
	cmds = append(cmds, m.sync.start())
	if p, ok := m.opts.Catalog.Procedure(m.opts.Routine); ok && m.opts.Routine != "" {
		cmds = append(cmds, func() tea.Msg { return startRoutineMsg{p} })
	}
	return tea.Batch(cmds...)
}

// Messages coming back from commands.
type (
	tickMsg           time.Time
	incidentLoadedMsg struct {
		status incident.Status
		events []incident.Entry
		steps  map[string]map[int]stepMark
		// procs are the procedures followed, in the order they were
		// (the declaration's first).
		procs []string
		// evidence are the entries that can prove steps.
		evidence []incident.Entry
		// draft is what was typed for this incident and not yet added.
		draft string
		err   error
	}
	polledMsg struct {
		id     string
		status incident.Status
		events []incident.Entry
		err    error
	}
	declaredMsg struct {
		incident incident.Status
		err      error
	}
	openListMsg struct {
		list []incident.Status
		err  error
	}
	startRoutineMsg struct{ proc *runbook.Procedure }
	// resumeMsg names the open incidents at start, most recent first.
	resumeMsg struct {
		open []incident.Status
		err  error
	}
)

func (m *Model) nextTick() tea.Cmd {
	return m.c.after(time.Second, func(t time.Time) tea.Msg { return tickMsg(t) })
}

// tick hands the time to the panes that show it.
func (m *Model) tick(now time.Time) tea.Cmd {
	m.now = now
	m.header.now, m.sync.now, m.review.now = now, now, now
	return m.steps.tick(now)
}

// currentBook is the open incident's book, else the library's.
func (m *Model) currentBook() *runbook.Book {
	if m.incident != nil {
		if b, ok := m.opts.Catalog.Book(m.incident.Book); ok {
			return b
		}
	}
	return m.library.currentBook()
}

func (m *Model) setStatus(s string) { m.status, m.statusErr = s, false }
func (m *Model) setError(err error) { m.status, m.statusErr = err.Error(), true }

// Update handles one message, then what the panes asked of the root while
// handling it, in order.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	cmds := []tea.Cmd{m.update(msg)}
	for reqs := m.c.takeOutbox(); len(reqs) > 0; reqs = m.c.takeOutbox() {
		for _, r := range reqs {
			cmds = append(cmds, m.update(r))
		}
	}
	m.reader.markStep(m.steps.proc, m.steps.current())
	return m, tea.Batch(cmds...)
}

func (m *Model) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.layout()
		return m.reader.render()
	case tickMsg:
		cmds := []tea.Cmd{m.nextTick(), m.tick(m.opts.Now())}
		if m.incident != nil && !m.polling && m.c.ledger() && !m.opts.Live {
			m.polling = true
			cmds = append(cmds, poll(m.c.ctx, m.c.svc, m.incident.ID, m.timeline.lastSeq()))
		}
		return tea.Batch(cmds...)
	case LiveMsg:
		return m.live(msg)
	case PresenceMsg:
		m.others = msg.Others
		return nil
	case NoticeMsg:
		m.status, m.statusErr = msg.Text, true
		return nil
	case statusMsg:
		m.status, m.statusErr = msg.text, msg.err
		return nil
	case resumeMsg:
		if msg.err != nil {
			m.setError(msg.err)
			return nil
		}
		if len(msg.open) == 0 || m.incident != nil {
			return nil
		}
		cmd := loadIncident(m.c.ctx, m.c.svc, msg.open[0].ID)
		if len(msg.open) > 1 {
			m.resumed = len(msg.open)
		}
		return cmd
	case preflightMsg:
		if m.incident == nil {
			return nil
		}
		if b := m.currentBook(); b != nil {
			if plan := incident.PlanClose(b.Policy, *m.incident); len(plan.Needs) > 0 {
				m.showPreflight(plan)
			}
		}
		return nil
	case detailMsg:
		m.detail = newDetail(m.c, msg.entry)
		m.layout()
		return m.detail.load()
	case fixesMsg:
		if m.detail != nil {
			return m.detail.Update(msg)
		}
		return nil
	case correctMsg:
		m.detail = nil
		return m.openCorrection(strconv.FormatInt(msg.seq, 10))
	case actionDoneMsg:
		m.detail = nil
		m.form = &form{kind: formActionDone, title: fmt.Sprintf("Action item #%d done", msg.seq), data: msg.seq,
			fields: []field{newTextField(m.c.styles, "How was it done? (optional)", "alert added: PR 1234", true)}}
		return m.form.focus()
	case syncNowMsg:
		return m.sync.Update(msg)
	case openFormMsg:
		m.form = msg.form
		return m.form.focus()
	case focusMsg:
		m.focus = msg.pane
		return nil
	case modeMsg:
		m.mode = msg.mode
		if msg.mode == respondMode {
			m.setStatus("back to respond mode")
		}
		m.layout()
		return nil
	case readMsg:
		m.reader.show(msg.proc)
		m.focus = readerPane
		return m.reader.render()
	case followMsg:
		return m.follow(msg.proc)
	case renderedMsg:
		if msg.err != nil {
			m.setError(msg.err)
		}
		return m.reader.Update(msg)
	case incidentLoadedMsg:
		return m.incidentLoaded(msg)
	case polledMsg:
		m.polling = false
		if msg.err != nil {
			m.setError(msg.err)
			return nil
		}
		if m.incident == nil || msg.id != m.incident.ID {
			return nil
		}
		st := msg.status
		m.incident = &st
		m.timeline.setStatus(&st)
		m.timeline.append(msg.events, st.Events)
		m.steps.record(msg.events)
		if m.repoll {
			m.repoll, m.polling = false, true
			return poll(m.c.ctx, m.c.svc, m.incident.ID, m.timeline.lastSeq())
		}
		return nil
	case olderLoadedMsg:
		if msg.err != nil {
			m.setError(msg.err)
		}
		return m.timeline.Update(msg)
	case appendedMsg:
		return m.appended(msg)
	case noteFailedMsg:
		return tea.Batch(m.c.writer.done(), m.note.Update(msg))
	case declaredMsg:
		if msg.err != nil {
			m.setError(msg.err)
			return nil
		}
		m.steps.startPause(m.now)
		return loadIncident(m.c.ctx, m.c.svc, msg.incident.ID)
	case openListMsg:
		return m.openList(msg)
	case draftTickMsg, draftSavedMsg:
		return m.note.Update(msg)
	case syncDoneMsg:
		return m.sync.Update(msg)
	case syncSavedMsg:
		return m.sync.Update(msg)
	case spinner.TickMsg:
		return m.sync.Update(msg)
	case reviewListMsg, reviewOpenMsg, monthlyMsg, exportedMsg:
		return m.review.Update(msg)
	case startRoutineMsg:
		return m.startRun(msg.proc)
	case runStartedMsg:
		if msg.err != nil {
			m.mode = respondMode
			m.setError(msg.err)
			return nil
		}
		m.steps.open(msg.proc)
		m.reader.show(msg.proc)
		m.focus = stepsPane
		return tea.Batch(loadIncident(m.c.ctx, m.c.svc, msg.run.ID), loadHistory(m.c.ctx, m.c.svc, msg.proc.ID), m.reader.render())
	case historyMsg:
		if msg.err != nil {
			m.setError(msg.err)
		} else if p := m.steps.top(); p != nil && p.ID == msg.proc {
			m.steps.history = msg.runs
		}
		return nil
	case tea.KeyMsg:
		return m.key(msg)
	}
	return nil
}

// incidentLoaded makes a loaded incident the open one.
func (m *Model) incidentLoaded(msg incidentLoadedMsg) tea.Cmd {
	if msg.err != nil {
		m.setError(msg.err)
		return nil
	}
	st := msg.status
	same := m.incident != nil && m.incident.ID == st.ID
	m.incident = &st
	m.c.writer.incident = st.ID
	m.timeline.load(&st, msg.events)
	pausing, from, until := m.steps.pausing, m.steps.pauseFrom, m.steps.pauseUntil
	m.steps.reset(msg.steps, msg.evidence, st.Kind == incident.KindRoutine)
	if same || len(msg.events) <= 1 {
		// The pause started by the declaration goes on.
		m.steps.pausing, m.steps.pauseFrom, m.steps.pauseUntil = pausing, from, until
	}
	procs := msg.procs
	if b := m.currentBook(); len(procs) == 0 && b != nil {
		procs = []string{b.Policy.FirstResponse}
	}
	for _, id := range procs {
		if p, ok := m.opts.Catalog.Procedure(id); ok {
			m.steps.open(p)
		}
	}
	m.steps.advance()
	if p := m.steps.top(); p != nil {
		m.reader.show(p)
	}
	m.setStatus(fmt.Sprintf("%s open: %s", st.Short(), st.Title))
	if m.resumed > 1 {
		m.setStatus(fmt.Sprintf("%s open: %s · %d incidents are open: o switches", st.Short(), st.Title, m.resumed))
		m.resumed = 0
	}
	return tea.Batch(m.reader.render(), m.note.switchTo(st.ID, msg.draft), m.opened(st.ID))
}

// appended reports an append and starts the next one.
func (m *Model) appended(msg appendedMsg) tea.Cmd {
	cmds := []tea.Cmd{m.c.writer.done(), m.steps.Update(msg), m.note.Update(msg)}
	if msg.err != nil {
		m.setError(msg.err)
		if msg.form != nil && m.form == nil {
			// Refused: the form comes back with everything typed.
			m.form = msg.form
			cmds = append(cmds, m.form.reopen(msg.err.Error()))
		}
		return tea.Batch(cmds...)
	}
	m.setStatus(fmt.Sprintf("#%d %s recorded", msg.event.Seq, msg.what))
	if m.incident != nil && msg.incident == m.incident.ID {
		// What the operator just recorded is in view.
		m.timeline.follow()
	}
	if m.steps.routine && m.steps.top() != nil && m.c.ledger() {
		cmds = append(cmds, loadHistory(m.c.ctx, m.c.svc, m.steps.top().ID))
	}
	if m.incident != nil && !m.polling && m.c.ledger() && !m.opts.Live {
		m.polling = true
		cmds = append(cmds, poll(m.c.ctx, m.c.svc, m.incident.ID, m.timeline.lastSeq()))
	}
	return tea.Batch(cmds...)
}

func (m *Model) openList(msg openListMsg) tea.Cmd {
	if msg.err != nil {
		m.setError(msg.err)
		return nil
	}
	if len(msg.list) == 0 {
		m.setStatus("no open incident: press D to declare one")
		return nil
	}
	var choices []string
	for _, s := range msg.list {
		choices = append(choices, fmt.Sprintf("%s %s %s", s.Short(), s.Severity, s.Title))
	}
	m.form = &form{kind: formOpen, title: "Open an incident (most recent first)", fields: []field{newChoiceField("incident", choices, 0)}, data: msg.list}
	return nil
}

// key routes a key: to the quit question, a form, whatever is being
// typed, then the console's own keys, then the focused pane.
func (m *Model) key(msg tea.KeyMsg) tea.Cmd {
	k := m.c.keys
	if m.confirmQuit {
		switch {
		case key.Matches(msg, k.ConfirmQuit), key.Matches(msg, k.ForceQuit):
			return tea.Quit
		case key.Matches(msg, k.CancelQuit):
			m.confirmQuit = false
		}
		return nil
	}
	if key.Matches(msg, k.ForceQuit) {
		return m.quit()
	}
	if m.form != nil && m.form.kind == formPreflight {
		f := m.form
		for _, b := range f.keys {
			if key.Matches(msg, b) {
				m.form = nil
				if key.Matches(msg, k.SyncPanel) {
					break
				}
				return m.startIncidentForm(msg)
			}
		}
		if m.form == nil {
			m.sync.visible = true
			m.focus = syncPane
			m.layout()
			return m.sync.opened()
		}
		if key.Matches(msg, k.Cancel) || key.Matches(msg, k.Submit) {
			m.form = nil
			return m.submit(f)
		}
		return nil
	}
	if m.form != nil {
		if key.Matches(msg, k.Cancel) {
			m.form = nil
			m.setStatus("cancelled")
			return nil
		}
		done, cmd := m.form.update(msg, k)
		if done {
			f := m.form
			m.form = nil
			return m.submit(f)
		}
		return cmd
	}
	if m.note.capturing() {
		return m.note.Update(msg)
	}
	if m.detail != nil {
		if key.Matches(msg, k.Back) || key.Matches(msg, k.Detail) {
			m.detail = nil
			return nil
		}
		if key.Matches(msg, k.Quit) {
			return m.quit()
		}
		return m.detail.Update(msg)
	}
	if m.mode == reviewMode {
		switch {
		case m.review.capturing():
		case key.Matches(msg, k.Quit):
			return m.quit()
		case key.Matches(msg, k.Help):
			m.help.ShowAll = !m.help.ShowAll
			m.layout()
			return nil
		}
		return m.review.Update(msg)
	}
	if m.library.capturing() {
		return m.library.Update(msg)
	}
	switch {
	case key.Matches(msg, k.Quit):
		return m.quit()
	case key.Matches(msg, k.Help):
		m.help.ShowAll = !m.help.ShowAll
		m.layout()
		return nil
	case key.Matches(msg, k.NextPane):
		m.focus = m.nextPane()
		return nil
	case key.Matches(msg, k.Note):
		return m.note.edit()
	case key.Matches(msg, k.Declare):
		return m.startDeclare()
	case key.Matches(msg, k.Review):
		if !m.c.ledger() {
			m.setStatus(noLedger)
			return nil
		}
		m.mode = reviewMode
		m.review.open = nil
		m.layout()
		return loadReviewList(m.c.ctx, m.c.svc)
	case key.Matches(msg, k.Routine):
		p := m.reader.shown
		if m.focus == libraryPane && m.library.selected() != nil {
			p = m.library.selected()
		}
		if p == nil {
			m.setStatus("select a routine (green) in the library, then W")
			return nil
		}
		return m.confirmRun(p)
	case key.Matches(msg, k.OpenIncident):
		if !m.c.ledger() {
			m.setStatus(noLedger)
			return nil
		}
		return listOpen(m.c.ctx, m.c.svc)
	case key.Matches(msg, k.UTC):
		m.timeline.utc = !m.timeline.utc
		return nil
	case key.Matches(msg, k.SyncPanel):
		m.sync.visible = !m.sync.visible
		var cmd tea.Cmd
		if m.sync.visible {
			m.focus = syncPane
			cmd = m.sync.opened()
		} else if m.focus == syncPane {
			m.focus = timelinePane
		}
		m.layout()
		return tea.Batch(cmd, m.reader.render())
	case key.Matches(msg, k.Severity), key.Matches(msg, k.State), key.Matches(msg, k.Role),
		key.Matches(msg, k.Update), key.Matches(msg, k.Evidence), key.Matches(msg, k.Action),
		key.Matches(msg, k.Restart), key.Matches(msg, k.Postmortem), key.Matches(msg, k.Deviation), key.Matches(msg, k.Correct):
		return m.startIncidentForm(msg)
	}
	return m.focused().Update(msg)
}

// focused is the pane that has the focus.
func (m *Model) focused() component {
	switch m.focus {
	case readerPane:
		return &m.reader
	case stepsPane:
		return &m.steps
	case timelinePane:
		return &m.timeline
	case syncPane:
		return &m.sync
	}
	return &m.library
}

func (m *Model) quit() tea.Cmd {
	if m.note.text() != "" || (m.form != nil && m.form.dirty()) {
		m.confirmQuit = true
		return nil
	}
	return tea.Quit
}

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

// follow records that the incident follows p and puts it on top of the
// stepper, above the steps still open in the procedures followed before.
// A procedure already followed is only brought back on top: it is on the
// timeline once.
func (m *Model) follow(p *runbook.Procedure) tea.Cmd {
	already := m.steps.walking(p)
	m.reader.show(p)
	m.steps.open(p)
	m.steps.advance()
	m.focus = stepsPane
	if m.incident == nil {
		m.setStatus("walking " + p.ID + " without an incident: declare one (D) to record the steps")
		return m.reader.render()
	}
	if already {
		m.setStatus(p.ID + " is already followed (on the timeline): its steps are on top")
		return m.reader.render()
	}
	return tea.Batch(m.reader.render(), m.c.writer.append("runbook link", incident.RunbookLink{Procedure: incident.Ref(p)}, nil, nil))
}

// Commands that touch the ledger. Each takes what it needs as arguments,
// so the goroutine that runs it never reads the model.

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
		var procs []string
		var evidence []incident.Entry
		types := append(append([]string(nil), stepKinds...), incident.ProofKinds()...)
		err = svc.Timeline(ctx, incident.Range{Incident: id, Types: types}, func(e incident.Entry) error {
			if id := recordStep(marks, e); id != "" && !slices.Contains(procs, id) {
				procs = append(procs, id)
			}
			if isProofKind(e.Type) {
				evidence = append(evidence, e)
			}
			return nil
		})
		if err != nil {
			return incidentLoadedMsg{err: err}
		}
		draft, err := svc.DraftFor(id).Read()
		return incidentLoadedMsg{status: st, events: events, steps: marks, procs: procs, evidence: evidence, draft: draft, err: err}
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

// listOpen lists the open incidents; routine runs are not incidents and
// are not offered.
func listOpen(ctx context.Context, svc *incident.Service) tea.Cmd {
	return func() tea.Msg {
		list, err := svc.List(ctx, incident.ListFilter{OpenOnly: true, Kind: incident.KindIncident})
		return openListMsg{list: list, err: err}
	}
}

// resumeLatest finds the open incidents, most recently active first.
func resumeLatest(ctx context.Context, svc *incident.Service) tea.Cmd {
	return func() tea.Msg {
		list, err := svc.List(ctx, incident.ListFilter{OpenOnly: true, Kind: incident.KindIncident})
		slices.SortStableFunc(list, func(a, b incident.Status) int { return b.LastAt.Compare(a.LastAt) })
		return resumeMsg{open: list, err: err}
	}
}
