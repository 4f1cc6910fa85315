package serve

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/icconsole/ic/incident"
	"github.com/icconsole/ic/tui"
)

// liveEvery is the least time between two updates of the ledger sent to
// one console. A console redraws its whole screen for each, and twenty
// people writing at once would otherwise have every console redraw for
// every entry; entries that arrive meanwhile go in the next update.
const liveEvery = 100 * time.Millisecond

// maxPending is how many entries wait for one slow session before the
// server stops keeping them: that session then gets the incident's
// standing only and reads what it missed itself.
const maxPending = 2000

// person is one SSH session: a console or a command.
type person struct {
	id      uint64
	grant   Grant
	console bool
	// end closes the SSH session (the connection's channel).
	end func()
	// lastInput is when the client last sent a byte (unix nanoseconds).
	lastInput atomic.Int64

	mu       sync.Mutex
	program  *tea.Program
	incident string
	// What waits to be sent to the console, in order: what moved per
	// incident, who else is here, a notice.
	pending  map[string]*live
	order    []string
	presence *tui.PresenceMsg
	notice   *tui.NoticeMsg
	// why is said to the client when the server ends the session.
	why  string
	wake chan struct{}
	done chan struct{}
}

// live is what moved on one incident and waits to be sent.
type live struct {
	msg tui.LiveMsg
	// dropped: too many entries waited; the console reads them itself.
	dropped bool
}

func (p *person) touch() { p.lastInput.Store(time.Now().UnixNano()) }

// kick wakes the person's sender.
func (p *person) kick() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// hub is every session of a server, who is where, and the one watcher of
// the ledger that tells the consoles what moved.
type hub struct {
	svc   *incident.Service
	every time.Duration
	log   func(format string, args ...any)

	mu     sync.Mutex
	people map[uint64]*person
	nextID uint64
	// sent is, per incident a console shows, the last seq fanned out.
	sent map[string]int64
	// nudge wakes the watcher at once (a write in this server ended).
	nudge chan struct{}
}

func newHub(svc *incident.Service, every time.Duration, log func(string, ...any)) *hub {
	return &hub{svc: svc, every: every, log: log, people: map[uint64]*person{}, sent: map[string]int64{}, nudge: make(chan struct{}, 1)}
}

// errTooMany refuses a session over the per-key limit.
type errTooMany struct {
	principal, fingerprint string
	limit                  int
}

func (e errTooMany) Error() string {
	return fmt.Sprintf("ic serve: %s's key %s already has %d session(s) open, the limit per key: close one first", e.principal, e.fingerprint, e.limit)
}

// join adds a session of g, refused beyond limit sessions a key (0: no
// limit). Only consoles are shown to the others: a script's command
// comes and goes in a moment, and announcing each would redraw every
// console for nothing.
func (h *hub) join(g Grant, console bool, end func(), limit int) (*person, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, p := range h.people {
		if p.grant.Fingerprint == g.Fingerprint {
			n++
		}
	}
	if limit > 0 && n >= limit {
		return nil, errTooMany{g.Principal, g.Fingerprint, limit}
	}
	h.nextID++
	p := &person{id: h.nextID, grant: g, console: console, end: end, pending: map[string]*live{},
		wake: make(chan struct{}, 1), done: make(chan struct{})}
	p.touch()
	h.people[p.id] = p
	if console {
		h.presenceLocked()
	}
	return p, nil
}

// leave removes a session.
func (h *hub) leave(p *person) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.people, p.id)
	close(p.done)
	if p.console {
		h.presenceLocked()
	}
}

// attach gives a console's program to its sender, which runs until the
// session leaves: it is the only goroutine that waits on the program, so
// a console that does not read holds up no one else.
func (h *hub) attach(p *person, prog *tea.Program) {
	p.mu.Lock()
	p.program = prog
	p.mu.Unlock()
	go p.send()
	p.kick()
}

func (p *person) send() {
	var lastLive time.Time
	for {
		select {
		case <-p.done:
			return
		case <-p.wake:
		}
		p.mu.Lock()
		if len(p.order) > 0 {
			if wait := time.Until(lastLive.Add(liveEvery)); wait > 0 {
				p.mu.Unlock()
				select {
				case <-p.done:
					return
				case <-time.After(wait):
				}
				p.mu.Lock()
			}
			lastLive = time.Now()
		}
		prog := p.program
		var msgs []tea.Msg
		if p.presence != nil {
			msgs = append(msgs, *p.presence)
			p.presence = nil
		}
		for _, id := range p.order {
			msgs = append(msgs, p.pending[id].msg)
		}
		p.pending, p.order = map[string]*live{}, nil
		if p.notice != nil {
			msgs = append(msgs, *p.notice)
			p.notice = nil
		}
		p.mu.Unlock()
		for _, m := range msgs {
			prog.Send(m) // returns at once once the program has ended
		}
	}
}

// setIncident records the incident a console shows, and starts following
// it from its head.
func (h *hub) setIncident(ctx context.Context, p *person, id string) {
	head, err := h.svc.HeadSeq(ctx, id)
	h.mu.Lock()
	defer h.mu.Unlock()
	p.mu.Lock()
	p.incident = id
	p.mu.Unlock()
	if _, ok := h.sent[id]; !ok && err == nil {
		h.sent[id] = head
	}
	h.presenceLocked()
}

// presenceLocked tells every console who else is connected (h.mu held).
func (h *hub) presenceLocked() {
	type where struct{ name, role, incident string }
	for _, p := range h.people {
		if !p.console {
			continue
		}
		count := map[where]int{}
		var order []where
		for _, o := range h.people {
			if o.id == p.id || !o.console {
				continue
			}
			o.mu.Lock()
			w := where{o.grant.Principal, o.grant.Role, o.incident}
			o.mu.Unlock()
			if count[w] == 0 {
				order = append(order, w)
			}
			count[w]++
		}
		slices.SortFunc(order, func(a, b where) int {
			return cmp.Or(strings.Compare(a.name, b.name), strings.Compare(a.incident, b.incident))
		})
		msg := tui.PresenceMsg{}
		for _, w := range order {
			msg.Others = append(msg.Others, tui.Presence{Name: w.name, Role: w.role, Incident: w.incident, Sessions: count[w]})
		}
		p.mu.Lock()
		p.presence = &msg
		p.mu.Unlock()
		p.kick()
	}
}

// noticeAll says text to every console.
func (h *hub) noticeAll(text string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, p := range h.people {
		if p.console {
			p.mu.Lock()
			p.notice = &tui.NoticeMsg{Text: text}
			p.mu.Unlock()
			p.kick()
		}
	}
}

// watch is the one reader that follows the ledger for every console: a
// one-row read of the log's size each tick (or at once after a write of
// this server), and, when it grew, the new entries of each incident a
// console shows, read once and sent to each console on it. It also ends
// the sessions idle for longer than idle (0: never).
func (h *hub) watch(ctx context.Context, idle time.Duration) {
	tick := time.NewTicker(h.every)
	defer tick.Stop()
	var size uint64
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			h.reap(idle)
		case <-h.nudge:
		}
		n, err := h.svc.LedgerSize(ctx)
		if err != nil {
			if !failing && ctx.Err() == nil {
				h.log("watching the ledger: %v (retrying)", err)
			}
			failing = true
			continue
		}
		failing = false
		if n == size {
			continue
		}
		if err := h.fanOut(ctx); err != nil {
			if ctx.Err() == nil {
				h.log("reading what moved: %v (retrying)", err)
			}
			continue // size stays: the next tick reads it again
		}
		size = n
	}
}

// fanOut reads what moved on each incident a console shows and queues it
// for the consoles on it.
func (h *hub) fanOut(ctx context.Context) error {
	h.mu.Lock()
	watched := map[string][]*person{}
	for _, p := range h.people {
		p.mu.Lock()
		if p.console && p.incident != "" {
			watched[p.incident] = append(watched[p.incident], p)
		}
		p.mu.Unlock()
	}
	for id := range h.sent {
		if _, ok := watched[id]; !ok {
			delete(h.sent, id)
		}
	}
	last := map[string]int64{}
	for id := range watched {
		last[id] = h.sent[id]
	}
	h.mu.Unlock()
	var failed error
	for id, people := range watched {
		head, err := h.svc.HeadSeq(ctx, id)
		if err == nil && head <= last[id] {
			continue
		}
		var st incident.Status
		var entries []incident.Entry
		if err == nil {
			st, err = h.svc.Status(ctx, id)
		}
		if err == nil {
			entries, err = h.svc.Entries(ctx, incident.Range{Incident: id, AfterSeq: last[id]})
		}
		if err != nil {
			failed = fmt.Errorf("%s: %w", incident.ShortID(id), err)
			continue
		}
		if len(entries) == 0 {
			continue
		}
		h.mu.Lock()
		if h.sent[id] < entries[len(entries)-1].Seq {
			h.sent[id] = entries[len(entries)-1].Seq
		}
		h.mu.Unlock()
		for _, p := range people {
			p.queue(id, st, entries)
		}
	}
	return failed
}

// queue merges what moved into what waits for the person.
func (p *person) queue(id string, st incident.Status, entries []incident.Entry) {
	p.mu.Lock()
	l, ok := p.pending[id]
	if !ok {
		l = &live{msg: tui.LiveMsg{Incident: id}}
		p.pending[id] = l
		p.order = append(p.order, id)
	}
	l.msg.Status = st
	if !l.dropped {
		l.msg.Entries = append(l.msg.Entries, entries...)
	}
	if len(l.msg.Entries) > maxPending {
		// Too far behind: the console reads the gap itself when it
		// catches up (no entries, and a newer standing).
		l.msg.Entries, l.dropped = nil, true
	}
	p.mu.Unlock()
	p.kick()
}

// reap ends the sessions idle for longer than idle.
func (h *hub) reap(idle time.Duration) {
	if idle <= 0 {
		return
	}
	cutoff := time.Now().Add(-idle).UnixNano()
	h.mu.Lock()
	var stale []*person
	for _, p := range h.people {
		if p.lastInput.Load() < cutoff {
			stale = append(stale, p)
		}
	}
	h.mu.Unlock()
	for _, p := range stale {
		p.stop(fmt.Sprintf("idle for %s: the session is closed (what you typed is kept as a draft)", idle))
	}
}

// stop ends a session, saying why.
func (p *person) stop(why string) {
	p.mu.Lock()
	if p.why == "" {
		p.why = why
	}
	prog := p.program
	p.mu.Unlock()
	if prog != nil {
		// Not waited for: a console whose client stopped reading may
		// take its time, and the drain closes it at its deadline.
		go prog.Quit()
		return
	}
	p.end()
}

// reason is why the server ended the session ("" if it did not).
func (p *person) reason() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.why
}

// count is how many sessions are open.
func (h *hub) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.people)
}

// each calls fn with every session.
func (h *hub) each(fn func(*person)) {
	h.mu.Lock()
	people := make([]*person, 0, len(h.people))
	for _, p := range h.people {
		people = append(people, p)
	}
	h.mu.Unlock()
	for _, p := range people {
		fn(p)
	}
}

// writes counts the ledger writes in flight (incident.WriteTracker): a
// draining server waits for them, and each one that ends wakes the
// watcher, so the others see it without waiting for the tick. The
// server's writes take turns (turn): twenty people appending to one
// timeline at once would otherwise race, and every loser re-reads the
// incident and re-applies the rules before trying again.
type writes struct {
	turn  sync.Mutex
	mu    sync.Mutex
	n     int
	idle  chan struct{} // closed while n == 0
	nudge chan struct{}
}

func newWrites(nudge chan struct{}) *writes {
	w := &writes{idle: make(chan struct{}), nudge: nudge}
	close(w.idle)
	return w
}

func (w *writes) Begin() {
	w.mu.Lock()
	if w.n == 0 {
		w.idle = make(chan struct{})
	}
	w.n++
	w.mu.Unlock()
	w.turn.Lock()
}

func (w *writes) End() {
	w.turn.Unlock()
	w.mu.Lock()
	w.n--
	if w.n == 0 {
		close(w.idle)
	}
	w.mu.Unlock()
	select {
	case w.nudge <- struct{}{}:
	default:
	}
}

// wait returns once no write is in flight, or when ctx ends (false).
func (w *writes) wait(ctx context.Context) bool {
	w.mu.Lock()
	idle := w.idle
	w.mu.Unlock()
	select {
	case <-idle:
		return true
	case <-ctx.Done():
		return false
	}
}
