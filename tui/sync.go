package tui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/icconsole/ic/incident"
	"github.com/icconsole/ic/internal/termsafe"
	"github.com/icconsole/ic/render"
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

// syncPanel shows the last check per source.
type syncPanel struct {
	sources []incident.SyncSource
	state   []syncState
	cursor  int
	visible bool
	spinner spinner.Model
}

func newSyncPanel(sources []incident.SyncSource, sp spinner.Model) syncPanel {
	return syncPanel{sources: sources, state: make([]syncState, len(sources)), spinner: sp}
}

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
	if out.Error != "" && len(out.Results) == 0 {
		return fmt.Sprintf("failed (%s)", out.Class)
	}
	return fmt.Sprintf("%d/%d verified", out.Verified(), len(out.Results))
}

// run starts the selected source's check, within ctx.
func (p *syncPanel) run(ctx context.Context) tea.Cmd {
	if len(p.sources) == 0 || p.state[p.cursor].running {
		return nil
	}
	i := p.cursor
	p.state[i].running = true
	src := p.sources[i]
	return tea.Batch(p.spinner.Tick, func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		rep, err := incident.CheckSync(ctx, src)
		return syncDoneMsg{source: i, outcome: rep, err: err}
	})
}

func (m Model) syncKey(msg tea.KeyMsg) (tea.Model, tea.Cmd) {
	k := m.keys
	p := &m.sync
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
		if cmd := p.run(m.ctx()); cmd != nil {
			m.setStatus("checking " + p.sources[p.cursor].Name() + "…")
			return m, cmd
		}
	case key.Matches(msg, k.SyncAppend):
		return m.appendSync()
	}
	return m, nil
}

// appendSync adds the selected source's last results to the incident as
// verification events.
func (m Model) appendSync() (tea.Model, tea.Cmd) {
	p := &m.sync
	if len(p.sources) == 0 || !p.state[p.cursor].ran {
		m.setStatus("no result yet: r runs the check")
		return m, nil
	}
	if m.incident == nil {
		m.setStatus("no open incident to add the result to")
		return m, nil
	}
	if p.state[p.cursor].err != nil {
		m.setStatus("the last run checked nothing: " + p.state[p.cursor].err.Error())
		return m, nil
	}
	rep := p.state[p.cursor].outcome
	ctx, l, id, actor := m.ctx(), m.opts.Service, m.incident.ID, m.opts.Actor
	return m, m.enqueue(func() tea.Msg {
		err := l.RecordSync(ctx, id, actor, &rep)
		if err != nil || len(rep.Appended) == 0 {
			return appendedMsg{err: err}
		}
		ev, err := l.Entry(ctx, id, rep.Appended[len(rep.Appended)-1])
		return appendedMsg{event: ev, what: fmt.Sprintf("%d sync-committee result(s)", len(rep.Appended)), err: err}
	})
}

func (m Model) syncView(width, height int) string {
	p := &m.sync
	st := m.styles
	lines := []string{st.Title.Render("Sync-committee checks")}
	if len(p.sources) == 0 {
		lines = append(lines, st.Muted.Render(wrap("No source configured. Start ic with --beacon URLS --checkpoint ROOT (or IC_BEACON, IC_CHECKPOINT), or --sync-bootstrap FILE --sync-update FILE.", width)))
		return strings.Join(lines, "\n")
	}
	for i, src := range p.sources {
		s := p.state[i]
		mark := " "
		if i == p.cursor {
			mark = "›"
		}
		head := mark + truncate(termsafe.EscapeLine(src.Name()), width-2)
		lines = append(lines, st.Title.Render(head))
		switch {
		case s.running:
			lines = append(lines, "  "+p.spinner.View()+" checking…")
		case !s.ran:
			lines = append(lines, st.Muted.Render("  not run yet: r runs it"))
		default:
			lines = append(lines, m.syncOutcomeLines(s, width)...)
		}
	}
	lines = append(lines, st.Muted.Render("r re-run · e add to incident · ↑/↓ source"))
	if len(lines) > height {
		lines = lines[:height]
	}
	return strings.Join(lines, "\n")
}

func (m Model) syncOutcomeLines(s syncState, width int) []string {
	st := m.styles
	var lines []string
	ago := render.ShortDuration(m.now.Sub(s.at))
	for _, a := range s.outcome.Attempts {
		lines = append(lines, st.Muted.Render(truncate("  ✗ "+termsafe.EscapeLine(a.Endpoint+": "+string(a.Classification)), width)))
	}
	if s.err != nil {
		lines = append(lines, st.Error.Render(truncate("  NOT CHECKED", width)))
		lines = append(lines, st.Muted.Render(truncate("  "+termsafe.EscapeLine(s.err.Error()), width)))
		return lines
	}
	if s.outcome.Error != "" && len(s.outcome.Results) == 0 {
		lines = append(lines, st.Error.Render(truncate(fmt.Sprintf("  FAILED %s", s.outcome.Class), width)))
		lines = append(lines, st.Muted.Render(truncate("  "+termsafe.EscapeLine(s.outcome.Error), width)))
		return lines
	}
	ok := s.outcome.Verified()
	if n := len(s.outcome.Results); n > 0 {
		r := s.outcome.Results[n-1]
		verdict := st.OK.Render(fmt.Sprintf("  %d/%d verified", ok, n))
		if ok != n {
			verdict = st.Error.Render(fmt.Sprintf("  %d/%d verified", ok, n))
		}
		lines = append(lines, verdict+st.Muted.Render(" · "+ago+" ago"))
		lines = append(lines, truncate(fmt.Sprintf("  last: period %d slot %d %s", r.Period, r.Slot, r.Fork), width))
		lines = append(lines, truncate(fmt.Sprintf("  participants %d/512 · code %d %s", r.Participants, r.Code, r.Classification), width))
	}
	return lines
}
