package tui

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/icconsole/ic/incident"
	"github.com/icconsole/ic/internal/termsafe"
	"github.com/icconsole/ic/render"
	"github.com/icconsole/ic/verifier"
)

type syncDoneMsg struct {
	source  int
	outcome incident.SyncReport
	err     error
}

type syncState struct {
	running bool
	ran     bool
	at      time.Time
	outcome incident.SyncReport
	err     error // the source itself is wrong (bad URL or root)
}

// syncPanel is the sync-committee side panel: the last check per source.
type syncPanel struct {
	c             *common
	width, height int
	focused       bool
	now           time.Time

	sources []incident.SyncSource
	state   []syncState
	cursor  int
	visible bool
	spinner spinner.Model
	// every re-runs the checks this often (0: on open and on r only);
	// scheduled is set once the first run is scheduled.
	every     time.Duration
	scheduled bool
	// save keeps sources entered with c for the next start.
	save func(beacons []string, checkpoint string) (string, error)
}

type (
	// syncNowMsg runs every configured check (the periodic run).
	syncNowMsg struct{}
	// syncSavedMsg says where sources entered with c were kept.
	syncSavedMsg struct {
		path string
		err  error
	}
)

func newSyncPanel(c *common, opts Options) syncPanel {
	sp := spinner.New()
	sp.Spinner = spinner.Line
	sp.Style = c.styles.Plain
	return syncPanel{c: c, sources: opts.Sync, state: make([]syncState, len(opts.Sync)), spinner: sp, every: opts.SyncEvery, save: opts.SaveSync,
		scheduled: opts.SyncEvery > 0 && len(opts.Sync) > 0}
}

// start runs the checks when the console opens, if they are to run every
// so often.
func (p *syncPanel) start() tea.Cmd {
	if p.every <= 0 || len(p.sources) == 0 {
		return nil
	}
	return emitNow(syncNowMsg{})
}

// opened runs the checks the first time the panel is shown.
func (p *syncPanel) opened() tea.Cmd {
	if p.scheduled || len(p.sources) == 0 {
		return nil
	}
	p.scheduled = true
	return p.runAll()
}

// runAll starts every source's check.
func (p *syncPanel) runAll() tea.Cmd {
	var cmds []tea.Cmd
	for i := range p.sources {
		cmds = append(cmds, p.runSource(i))
	}
	return tea.Batch(cmds...)
}

// configured replaces the online source with beacons and checkpoint
// entered in the panel, runs it, and keeps it for the next start.
func (p *syncPanel) configured(beacons, checkpoint string) tea.Cmd {
	src := incident.SyncSource{Beacons: beacons, Checkpoint: checkpoint}
	for _, s := range p.sources {
		src.StrictKeys = src.StrictKeys || s.StrictKeys
	}
	i := slices.IndexFunc(p.sources, func(s incident.SyncSource) bool { return !s.Offline() })
	if i < 0 {
		p.sources = append(p.sources, src)
		p.state = append(p.state, syncState{})
		i = len(p.sources) - 1
	} else {
		p.sources[i], p.state[i] = src, syncState{}
	}
	p.cursor, p.scheduled = i, true
	cmds := []tea.Cmd{p.runSource(i)}
	if p.save != nil {
		save := p.save
		list := strings.Split(beacons, ",")
		cmds = append(cmds, func() tea.Msg {
			path, err := save(list, checkpoint)
			return syncSavedMsg{path: path, err: err}
		})
	}
	return tea.Batch(cmds...)
}

// configForm is the form behind c: beacon URLs and a trusted checkpoint,
// each checked as it is entered.
func (p *syncPanel) configForm() *form {
	st := p.c.styles
	beacons := newTextField(st, "Beacon API URLs, comma-separated, tried in order", "https://beacon-1.example,https://beacon-2.example", false)
	beacons.validate = func(v string) error {
		return incident.SyncSource{Beacons: v, Checkpoint: strings.Repeat("0", 64)}.Validate()
	}
	root := newTextField(st, "Checkpoint: a block root you trust (0x + 64 hex digits), from a source you trust", "0x…", false)
	root.validate = func(v string) error {
		return incident.SyncSource{Beacons: "https://beacon.invalid", Checkpoint: v}.Validate()
	}
	for _, src := range p.sources {
		if !src.Offline() {
			beacons.input.SetValue(src.Beacons)
			root.input.SetValue(src.Checkpoint)
		}
	}
	title := "Sync-committee check: where to ask"
	if p.save != nil {
		title += " (kept in the configuration file)"
	}
	return &form{kind: formSyncSource, title: title, fields: []field{beacons, root}}
}

func (p *syncPanel) SetSize(w, h int) { p.width, p.height = w, h }

func (p *syncPanel) running() bool {
	for _, s := range p.state {
		if s.running {
			return true
		}
	}
	return false
}

func (p *syncPanel) done(msg syncDoneMsg, now time.Time) {
	if msg.source < len(p.state) {
		p.state[msg.source] = syncState{ran: true, at: now, outcome: msg.outcome, err: msg.err}
	}
}

// summary says in a few words how source i's last run went.
func (p *syncPanel) summary(i int) string {
	out := p.state[i].outcome
	if p.state[i].err != nil {
		return "not checked: " + p.state[i].err.Error()
	}
	return out.Summary()
}

// run starts the selected source's check.
func (p *syncPanel) run() tea.Cmd {
	if len(p.sources) == 0 {
		return nil
	}
	return p.runSource(p.cursor)
}

// runSource starts source i's check, unless it is running.
func (p *syncPanel) runSource(i int) tea.Cmd {
	if p.state[i].running {
		return nil
	}
	p.state[i].running = true
	src, ctx := p.sources[i], p.c.ctx
	return tea.Batch(p.spinner.Tick, func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		rep, err := incident.CheckSync(ctx, src)
		return syncDoneMsg{source: i, outcome: rep, err: err}
	})
}

func (p *syncPanel) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case syncNowMsg:
		return tea.Batch(p.runAll(), p.c.after(p.every, func(time.Time) tea.Msg { return syncNowMsg{} }))
	case syncSavedMsg:
		if msg.err != nil {
			p.c.post(statusMsg{text: fmt.Sprintf("the sources are used now but were not kept: %v", msg.err), err: true})
		} else {
			p.c.post(statusMsg{text: "sync sources kept in " + msg.path})
		}
	case syncDoneMsg:
		p.done(msg, p.now)
		p.c.post(statusMsg{text: "sync check done: " + p.summary(msg.source)})
	case spinner.TickMsg:
		if !p.running() {
			return nil
		}
		var cmd tea.Cmd
		p.spinner, cmd = p.spinner.Update(msg)
		return cmd
	case tea.KeyMsg:
		k := p.c.keys
		switch {
		case key.Matches(msg, k.Up):
			if p.cursor > 0 {
				p.cursor--
			}
		case key.Matches(msg, k.Down):
			if p.cursor < len(p.sources)-1 {
				p.cursor++
			}
		case key.Matches(msg, k.SyncRun):
			if len(p.sources) == 0 {
				p.c.post(statusMsg{text: "no source to check: press c to give beacon URLs and a trusted checkpoint"})
				return nil
			}
			if cmd := p.run(); cmd != nil {
				p.c.post(statusMsg{text: "checking " + sourceName(p.sources[p.cursor]) + "…"})
				return cmd
			}
			p.c.post(statusMsg{text: "already checking " + sourceName(p.sources[p.cursor])})
		case key.Matches(msg, k.SyncConfigure):
			p.c.post(openFormMsg{p.configForm()})
		case key.Matches(msg, k.SyncAppend):
			return p.appendResult()
		}
	}
	return nil
}

// appendResult adds the selected source's last results to the incident as
// verification events.
func (p *syncPanel) appendResult() tea.Cmd {
	if len(p.sources) == 0 || !p.state[p.cursor].ran {
		p.c.post(statusMsg{text: "no result yet: r runs the check"})
		return nil
	}
	w := p.c.writer
	if w.incident == "" {
		p.c.post(statusMsg{text: "no open incident to add the result to"})
		return nil
	}
	if p.state[p.cursor].err != nil {
		p.c.post(statusMsg{text: "the last run checked nothing: " + p.state[p.cursor].err.Error()})
		return nil
	}
	rep := p.state[p.cursor].outcome
	ctx, svc, id, actor := w.ctx, w.svc, w.incident, w.actor
	return w.enqueue(func() tea.Msg {
		if err := svc.RecordSync(ctx, id, actor, &rep); err != nil {
			return appendedMsg{incident: id, err: err}
		}
		ev, err := svc.Entry(ctx, id, rep.Appended)
		return appendedMsg{incident: id, event: ev, what: fmt.Sprintf("a sync-committee check (%d period(s))", len(rep.Periods)), err: err}
	})
}

func (p *syncPanel) ShortHelp() []key.Binding {
	k := p.c.keys
	if len(p.sources) == 0 {
		return []key.Binding{k.SyncConfigure}
	}
	return []key.Binding{k.SyncRun, k.SyncAppend, k.SyncConfigure}
}

func (p *syncPanel) FullHelp() [][]key.Binding { return [][]key.Binding{p.ShortHelp()} }

func (p *syncPanel) View() string {
	st := p.c.styles
	width, height := p.width, p.height
	lines := []string{st.Title.Render("Sync-committee checks")}
	if len(p.sources) == 0 {
		lines = append(lines, st.Error.Render("not configured — press c"))
		lines = append(lines, strings.Split(st.Muted.Render(wrap("c asks for beacon URLs and a block root you trust, and keeps them in the configuration file (sync: in ic config edit; or --beacon/--checkpoint, IC_BEACON/IC_CHECKPOINT).", width)), "\n")...)
		return strings.Join(lines, "\n")
	}
	if p.every > 0 {
		lines = append(lines, st.Muted.Render(truncate("re-checked every "+p.every.String(), width)))
	}
	for i, src := range p.sources {
		s := p.state[i]
		mark := " "
		if i == p.cursor {
			mark = "›"
		}
		head := mark + truncate(termsafe.EscapeLine(sourceName(src)), width-2)
		lines = append(lines, st.Title.Render(head))
		switch {
		case s.running:
			lines = append(lines, "  "+p.spinner.View()+" checking…")
		case !s.ran:
			lines = append(lines, st.Muted.Render("  not run yet: r runs it"))
		default:
			lines = append(lines, p.outcomeLines(s, width)...)
		}
	}
	lines = append(lines, st.Muted.Render(truncate("r re-run · e add to incident · c sources", width)))
	if len(lines) > height {
		lines = lines[:height]
	}
	return strings.Join(lines, "\n")
}

func (p *syncPanel) outcomeLines(s syncState, width int) []string {
	st := p.c.styles
	var lines []string
	if s.err != nil {
		lines = append(lines, st.Error.Render(truncate("  NOT CHECKED", width)))
		lines = append(lines, st.Muted.Render(truncate("  "+termsafe.EscapeLine(s.err.Error()), width)))
		return lines
	}
	out := s.outcome
	for _, pr := range out.Providers {
		if pr.Verdict == verifier.VerdictLied || pr.Verdict == verifier.VerdictFailed {
			lines = append(lines, st.Muted.Render(truncate("  ✗ "+termsafe.EscapeLine(pr.Endpoint+" "+pr.Verdict+": "+pr.Said), width)))
		}
	}
	ago := st.Muted.Render(" · " + render.ShortDuration(p.now.Sub(s.at)) + " ago")
	ok, n := out.Verified(), len(out.Periods)
	if !out.OK {
		lines = append(lines, st.Error.Render(truncate(fmt.Sprintf("  FAILED %s · %d/%d verified", out.Class, ok, n), width))+ago)
		if f := out.Failure; f != nil {
			lines = append(lines, st.Muted.Render(truncate("  "+termsafe.EscapeLine(f.Error), width)))
		}
		return lines
	}
	lines = append(lines, st.OK.Render(fmt.Sprintf("  %d/%d verified", ok, n))+ago)
	r := out.Periods[n-1]
	lines = append(lines, truncate(fmt.Sprintf("  last: period %d slot %d %s", r.Period, r.Slot, r.Fork), width))
	lines = append(lines, truncate(fmt.Sprintf("  participants %d/512 · code %d %s", r.Participants, r.Code, r.Classification), width))
	return lines
}

// emitNow is a command that delivers msg at once.
func emitNow(msg tea.Msg) tea.Cmd { return func() tea.Msg { return msg } }

// sourceName names a source in a narrow pane: light-client files by their
// folder and name, not their whole path; beacons as SyncSource.Name says
// (without credentials).
func sourceName(src incident.SyncSource) string {
	if !src.Offline() {
		return src.Name()
	}
	return "files " + filepath.Join(filepath.Base(filepath.Dir(src.Bootstrap)), filepath.Base(src.Bootstrap))
}
