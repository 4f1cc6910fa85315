// Package store is ic's incident ledger: incidents and their append-only,
// hash-chained timelines in a SQLite file. Every change to an incident is
// an event appended after the previous one; nothing is ever updated or
// deleted. The ledger applies each book's policy (severities, lifecycle,
// close requirements, status-update cadence) through the small Policy
// interface, so it never imports the runbook package.
package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/icconsole/ic/internal/termsafe"
)

// Policy is what the ledger needs from a book's rules.
type Policy interface {
	KnownSeverity(id string) bool
	KnownState(state string) bool
	InitialState() string
	ClosingState() string
	// ContainedState ends "time to contain" in reports ("" when unset).
	ContainedState() string
	Allows(from, to string) bool
	NextStates(from string) []string
	IsClosed(state string) bool
	AllowedAfterClose(eventType string) bool
	// CloseRequirements maps each requirement's name to the event types
	// that satisfy it, for incidents at this severity.
	CloseRequirements(severity string) map[string][]string
	UpdateCadence(severity string) time.Duration
}

// Limits on what one entry may hold.
const (
	MaxTextBytes     = 64 << 10 // a note, update, reason: 64 KiB
	MaxTitleBytes    = 512
	MaxEvidenceBytes = 16 << 20 // evidence kept in the ledger: 16 MiB a file
	maxRetries       = 200
)

// ErrRefused wraps every refusal by the rules (bad input, forbidden
// transition, closed incident): nothing was appended.
var ErrRefused = errors.New("refused")

func refuse(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrRefused, fmt.Sprintf(format, args...))
}

// Ledger applies the books' rules on top of the database.
type Ledger struct {
	db       *DB
	policies func(book string) (Policy, bool)
	now      func() time.Time
}

// NewLedger wraps db; policies returns the policy of a book by id.
func NewLedger(db *DB, policies func(book string) (Policy, bool)) *Ledger {
	return &Ledger{db: db, policies: policies, now: time.Now}
}

// WithClock returns a ledger that reads time from now (tests, generators).
func (l *Ledger) WithClock(now func() time.Time) *Ledger {
	c := *l
	c.now = now
	return &c
}

// DB is the database underneath.
func (l *Ledger) DB() *DB { return l.db }

func (l *Ledger) policy(book string) (Policy, error) {
	p, ok := l.policies(book)
	if !ok {
		return nil, refuse("book %q is not loaded, so its rules cannot be applied (check --runbooks)", book)
	}
	return p, nil
}

func (l *Ledger) stamp() time.Time { return l.now().UTC().Truncate(time.Millisecond) }

// NewKey returns a fresh idempotency key.
func NewKey() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Declaration is what an operator says when declaring an incident.
type Declaration struct {
	Book     string
	Title    string
	Severity string
	Class    string
	// Runbook cites the procedure that opened the incident, if any.
	Runbook *ProcedureRef
	Drill   bool
	// FromRun is the routine run whose failed step this incident comes
	// from (full id), if any.
	FromRun string
	// Kind is "incident" (default) or "routine" for a routine run.
	Kind  string
	Actor string
	Key   string
}

// ProcedureRef cites a procedure exactly: id, version and content hash.
type ProcedureRef struct {
	ID      string `json:"id"`
	Version int    `json:"version"`
	Hash    string `json:"hash"`
}

// Payloads, one per event type. Text is stored with control characters
// escaped (see cleanText).
type (
	DeclaredPayload struct {
		Book     string        `json:"book"`
		Title    string        `json:"title"`
		Severity string        `json:"severity"`
		State    string        `json:"state"`
		Kind     string        `json:"kind"`
		Class    string        `json:"class,omitempty"`
		Runbook  *ProcedureRef `json:"runbook,omitempty"`
		Drill    bool          `json:"drill,omitempty"`
		FromRun  string        `json:"from_run,omitempty"`
	}
	SeverityChange struct {
		From   string `json:"from,omitempty"`
		To     string `json:"to"`
		Reason string `json:"reason"`
	}
	StateChange struct {
		From   string `json:"from,omitempty"`
		To     string `json:"to"`
		Reason string `json:"reason,omitempty"`
	}
	RoleAssignment struct {
		Role string `json:"role"`
		Name string `json:"name"`
	}
	Note struct {
		Text string `json:"text"`
	}
	Correction struct {
		Corrects int64  `json:"corrects"`
		Text     string `json:"text"`
	}
	StepChecked struct {
		Procedure ProcedureRef `json:"procedure"`
		Step      int          `json:"step"`
		Text      string       `json:"text,omitempty"`
	}
	StepSkipped struct {
		Procedure ProcedureRef `json:"procedure"`
		Step      int          `json:"step"`
		Text      string       `json:"text,omitempty"`
		Reason    string       `json:"reason"`
	}
	// StepFailed is a routine step that was attempted and failed.
	StepFailed struct {
		Procedure ProcedureRef `json:"procedure"`
		Step      int          `json:"step"`
		Text      string       `json:"text,omitempty"`
		Note      string       `json:"note"`
	}
	StatusUpdate struct {
		Text string `json:"text"`
	}
	Evidence struct {
		Name   string `json:"name"`
		Size   int64  `json:"size"`
		SHA256 string `json:"sha256"`
		Label  string `json:"label,omitempty"`
	}
	ActionItem struct {
		Text  string `json:"text"`
		Owner string `json:"owner"`
		Due   string `json:"due,omitempty"`
	}
	ActionItemDone struct {
		Item int64  `json:"item"`
		Note string `json:"note,omitempty"`
	}
	Deviation struct {
		Text string `json:"text"`
	}
	RestartCriteria struct {
		Text string `json:"text"`
	}
	PostmortemLink struct {
		URL  string `json:"url"`
		Text string `json:"text,omitempty"`
	}
	RunbookLink struct {
		Procedure ProcedureRef `json:"procedure"`
	}
	// Verification is a sync-committee check result, as the verifier
	// reports it (the ledger stores the object as given).
	Verification json.RawMessage
)

// EventType maps a payload to its event type.
func EventType(p any) (string, error) {
	switch p.(type) {
	case SeverityChange:
		return TypeSeverityChanged, nil
	case StateChange:
		return TypeStateChanged, nil
	case RoleAssignment:
		return TypeRoleAssigned, nil
	case Note:
		return TypeNote, nil
	case Correction:
		return TypeCorrection, nil
	case StepChecked:
		return TypeStepChecked, nil
	case StepSkipped:
		return TypeStepSkipped, nil
	case StepFailed:
		return TypeStepFailed, nil
	case StatusUpdate:
		return TypeStatusUpdate, nil
	case Evidence:
		return TypeEvidenceAttached, nil
	case ActionItem:
		return TypeActionItem, nil
	case ActionItemDone:
		return TypeActionItemDone, nil
	case Deviation:
		return TypeDeviation, nil
	case RestartCriteria:
		return TypeRestartCriteriaSigned, nil
	case PostmortemLink:
		return TypePostmortemLinked, nil
	case RunbookLink:
		return TypeRunbookLinked, nil
	case Verification:
		return TypeVerification, nil
	}
	return "", fmt.Errorf("no event type for payload %T", p)
}

// cleanText checks a text field and makes it safe to store: it must not be
// empty (when required) or longer than max bytes; control characters and
// invalid UTF-8 are stored escaped (\x1b), never raw, so the text can never
// drive a terminal that shows it later.
func cleanText(field, s string, max int, required bool) (string, error) {
	s = strings.TrimRight(s, "\r\n")
	if required && strings.TrimSpace(s) == "" {
		return "", refuse("%s is empty", field)
	}
	if len(s) > max {
		return "", refuse("%s is %d bytes, over the limit of %d", field, len(s), max)
	}
	return termsafe.Escape(s), nil
}

// cleanName is cleanText for one-line names (actors, roles, owners).
func cleanName(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", refuse("%s is empty", field)
	}
	if len(s) > 200 {
		return "", refuse("%s is over 200 bytes", field)
	}
	if !utf8.ValidString(s) || termsafe.NeedsEscape(s) || strings.ContainsAny(s, "\n\r\t") {
		return "", refuse("%s %q holds control characters or invalid UTF-8", field, termsafe.EscapeLine(s))
	}
	return s, nil
}

// Declare records a new incident: the incident row and its declared event,
// in one transaction. Retried with the same key it returns the incident
// declared the first time.
func (l *Ledger) Declare(ctx context.Context, d Declaration) (Incident, Event, error) {
	pol, err := l.policy(d.Book)
	if err != nil {
		return Incident{}, Event{}, err
	}
	title, err := cleanText("title", d.Title, MaxTitleBytes, true)
	if err != nil {
		return Incident{}, Event{}, err
	}
	title = termsafe.EscapeLine(title)
	actor, err := cleanName("actor", d.Actor)
	if err != nil {
		return Incident{}, Event{}, err
	}
	if !pol.KnownSeverity(d.Severity) {
		return Incident{}, Event{}, refuse("unknown severity %q for book %s", d.Severity, d.Book)
	}
	kind := d.Kind
	if kind == "" {
		kind = "incident"
	}
	if kind != "incident" && kind != "routine" {
		return Incident{}, Event{}, refuse("unknown kind %q", kind)
	}
	key := d.Key
	if key == "" {
		key = NewKey()
	}
	now := l.stamp()
	payload, err := json.Marshal(DeclaredPayload{
		Book: d.Book, Title: title, Severity: d.Severity, State: pol.InitialState(),
		Kind: kind, Class: termsafe.EscapeLine(d.Class), Runbook: d.Runbook, Drill: d.Drill, FromRun: d.FromRun,
	})
	if err != nil {
		return Incident{}, Event{}, err
	}
	inc := Incident{
		ID:   declarationID(d.Book, title, d.Severity, now.UnixMilli(), actor, key),
		Book: d.Book, Title: title, Kind: kind, Drill: d.Drill, DeclaredAt: now, DeclaredBy: actor,
	}
	ev := Event{Time: now, Actor: actor, Type: TypeDeclared, Payload: payload, Key: key}
	inc, ev, _, err = l.db.CreateIncident(ctx, inc, ev)
	return inc, ev, err
}

// Status is an incident's current standing, derived from its timeline.
type Status struct {
	Incident
	Severity string    `json:"severity"`
	State    string    `json:"state"`
	Closed   bool      `json:"closed"`
	Events   int64     `json:"events"`
	HeadHash string    `json:"head_hash"`
	LastAt   time.Time `json:"last_event_at"`
	// LastUpdate is the last status update (or the declaration).
	LastUpdate time.Time `json:"last_update"`
	// UpdateDue is when the next status update is due (zero: none due).
	UpdateDue time.Time `json:"update_due,omitzero"`
	// Missing lists the close requirements the timeline does not yet hold.
	Missing []string `json:"missing_before_close"`
}

// Overdue reports whether a status update is overdue at now.
func (s Status) Overdue(now time.Time) bool {
	return !s.UpdateDue.IsZero() && now.After(s.UpdateDue)
}

// Status derives the incident's current severity, state and deadlines:
// one indexed query finds the newest event of each type, then only the few
// events that matter are read.
func (l *Ledger) Status(ctx context.Context, id string) (Status, error) {
	inc, err := l.db.Incident(ctx, id)
	if err != nil {
		return Status{}, err
	}
	st := Status{Incident: inc, Missing: []string{}}
	latest, err := l.db.LatestSeqs(ctx, id)
	if err != nil {
		return st, err
	}
	for _, seq := range latest {
		st.Events = max(st.Events, seq)
	}
	if st.Events == 0 {
		return st, fmt.Errorf("incident %s: %w", inc.Short(), ErrNotFound)
	}
	read := func(seq int64, into any) (Event, error) {
		e, err := l.db.Event(ctx, id, seq)
		if err == nil && into != nil {
			err = json.Unmarshal(e.Payload, into)
		}
		return e, err
	}
	var dp DeclaredPayload
	if _, err := read(1, &dp); err != nil {
		return st, fmt.Errorf("%s: declaration: %w", inc.Short(), err)
	}
	st.Severity, st.State = dp.Severity, dp.State
	if seq, ok := latest[TypeSeverityChanged]; ok {
		var p SeverityChange
		if _, err := read(seq, &p); err != nil {
			return st, err
		}
		st.Severity = p.To
	}
	if seq, ok := latest[TypeStateChanged]; ok {
		var p StateChange
		if _, err := read(seq, &p); err != nil {
			return st, err
		}
		st.State = p.To
	}
	st.LastUpdate = inc.DeclaredAt
	if seq, ok := latest[TypeStatusUpdate]; ok {
		e, err := read(seq, nil)
		if err != nil {
			return st, err
		}
		st.LastUpdate = e.Time
	}
	head, err := read(st.Events, nil)
	if err != nil {
		return st, err
	}
	st.HeadHash, st.LastAt = head.Hash.String(), head.Time
	pol, ok := l.policies(inc.Book)
	if !ok {
		return st, nil // the rules are unknown; report what the record says
	}
	st.Closed = pol.IsClosed(st.State)
	if st.Kind == "routine" {
		return st, nil // a routine run has no status cadence and no close requirements
	}
	if c := pol.UpdateCadence(st.Severity); c > 0 && !st.Closed {
		st.UpdateDue = st.LastUpdate.Add(c)
	}
	reqs := pol.CloseRequirements(st.Severity)
	names := make([]string, 0, len(reqs))
	for name := range reqs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if !slices.ContainsFunc(reqs[name], func(t string) bool { _, has := latest[t]; return has }) {
			st.Missing = append(st.Missing, fmt.Sprintf("%s (one of: %s)", name, strings.Join(reqs[name], ", ")))
		}
	}
	return st, nil
}

// Append validates payload against the incident's rules and current state
// and appends it. key is the idempotency key ("" makes a new one); a retry
// with the same key returns the event stored the first time. When another
// writer appends concurrently the state is re-read and the rules applied
// again, so a check never passes on a stale view.
func (l *Ledger) Append(ctx context.Context, id, actor, key string, payload any) (Event, error) {
	typ, err := EventType(payload)
	if err != nil {
		return Event{}, err
	}
	actor, err = cleanName("actor", actor)
	if err != nil {
		return Event{}, err
	}
	if key == "" {
		key = NewKey()
	}
	if prev, err := byKey(ctx, l.db.sql, key); err == nil {
		if prev.Incident != id || prev.Type != typ {
			return Event{}, refuse("idempotency key %q was already used for %s seq %d (%s): use a new key", key, ShortID(prev.Incident), prev.Seq, prev.Type)
		}
		return prev, nil
	}
	for attempt := 0; ; attempt++ {
		st, err := l.Status(ctx, id)
		if err != nil {
			return Event{}, err
		}
		body, err := l.validate(ctx, st, typ, payload)
		if err != nil {
			return Event{}, err
		}
		ev := Event{Time: l.stamp(), Actor: actor, Type: typ, Payload: body, Key: key}
		stored, _, err := l.db.Append(ctx, id, st.Events, ev)
		if errors.Is(err, ErrConflict) && attempt < maxRetries {
			continue
		}
		return stored, err
	}
}

// validate applies the rules for one event type to the incident's current
// status and returns the payload as it will be stored.
func (l *Ledger) validate(ctx context.Context, st Status, typ string, payload any) ([]byte, error) {
	pol, err := l.policy(st.Book)
	if err != nil {
		return nil, err
	}
	if st.Closed && !pol.AllowedAfterClose(typ) {
		return nil, refuse("%s is %s (closed): a %s cannot be added; allowed after close: %s", st.Short(), st.State, typ, allowedAfterClose(pol))
	}
	var p any = payload
	switch v := payload.(type) {
	case Note:
		if v.Text, err = cleanText("note", v.Text, MaxTextBytes, true); err != nil {
			return nil, err
		}
		p = v
	case StepFailed:
		if v.Procedure.ID == "" || v.Step < 1 {
			return nil, refuse("a failed step needs a procedure id and a step number")
		}
		if v.Note, err = cleanText("what failed", v.Note, MaxTextBytes, true); err != nil {
			return nil, err
		}
		v.Text = termsafe.EscapeLine(v.Text)
		p = v
	case StatusUpdate:
		if v.Text, err = cleanText("status update", v.Text, MaxTextBytes, true); err != nil {
			return nil, err
		}
		p = v
	case Deviation:
		if v.Text, err = cleanText("deviation", v.Text, MaxTextBytes, true); err != nil {
			return nil, err
		}
		p = v
	case RestartCriteria:
		if v.Text, err = cleanText("restart criteria", v.Text, MaxTextBytes, true); err != nil {
			return nil, err
		}
		p = v
	case SeverityChange:
		if !pol.KnownSeverity(v.To) {
			return nil, refuse("unknown severity %q for book %s", v.To, st.Book)
		}
		if v.To == st.Severity {
			return nil, refuse("%s is already %s", st.Short(), v.To)
		}
		if v.Reason, err = cleanText("reason", v.Reason, MaxTextBytes, true); err != nil {
			return nil, err
		}
		v.From = st.Severity
		p = v
	case StateChange:
		if !pol.KnownState(v.To) {
			return nil, refuse("unknown state %q for book %s; from %s the policy allows: %s", v.To, st.Book, st.State, nextStates(pol, st.State))
		}
		if !pol.Allows(st.State, v.To) {
			return nil, refuse("%s cannot move from %s to %s: the policy of book %s allows only %s", st.Short(), st.State, v.To, st.Book, nextStates(pol, st.State))
		}
		if v.To == pol.ClosingState() && len(st.Missing) > 0 {
			return nil, refuse("%s (%s) cannot close yet: the timeline has no %s. \"Seems fine now\" is not a criterion", st.Short(), st.Severity, strings.Join(st.Missing, "; no "))
		}
		if v.Reason, err = cleanText("reason", v.Reason, MaxTextBytes, false); err != nil {
			return nil, err
		}
		v.From = st.State
		p = v
	case RoleAssignment:
		if v.Role, err = cleanName("role", v.Role); err != nil {
			return nil, err
		}
		if v.Name, err = cleanName("name", v.Name); err != nil {
			return nil, err
		}
		p = v
	case Correction:
		if v.Corrects < 1 || v.Corrects > st.Events {
			return nil, refuse("%s has no event %d to correct (it has %d)", st.Short(), v.Corrects, st.Events)
		}
		if v.Text, err = cleanText("correction", v.Text, MaxTextBytes, true); err != nil {
			return nil, err
		}
		p = v
	case StepChecked:
		if v.Procedure.ID == "" || v.Step < 1 {
			return nil, refuse("a checked step needs a procedure id and a step number")
		}
		v.Text = termsafe.EscapeLine(v.Text)
		p = v
	case StepSkipped:
		if v.Procedure.ID == "" || v.Step < 1 {
			return nil, refuse("a skipped step needs a procedure id and a step number")
		}
		if v.Reason, err = cleanText("reason for the skip", v.Reason, MaxTextBytes, true); err != nil {
			return nil, err
		}
		v.Text = termsafe.EscapeLine(v.Text)
		p = v
	case Evidence:
		if v.Name, err = cleanName("evidence name", v.Name); err != nil {
			return nil, err
		}
		if len(v.SHA256) != 64 {
			return nil, refuse("evidence sha256 must be 64 hex digits")
		}
		v.Label = termsafe.EscapeLine(v.Label)
		p = v
	case ActionItem:
		if v.Text, err = cleanText("action item", v.Text, MaxTextBytes, true); err != nil {
			return nil, err
		}
		if v.Owner, err = cleanName("owner", v.Owner); err != nil {
			return nil, err
		}
		if v.Due != "" {
			if _, err := time.Parse(time.DateOnly, v.Due); err != nil {
				return nil, refuse("due date %q is not YYYY-MM-DD", v.Due)
			}
		}
		p = v
	case ActionItemDone:
		item, err := l.db.Event(ctx, st.ID, v.Item)
		if err != nil || item.Type != TypeActionItem {
			return nil, refuse("%s has no action item at seq %d ('ic timeline %s --type action_item' lists them)", st.Short(), v.Item, st.Short())
		}
		done := false
		l.db.Events(ctx, Range{Incident: st.ID, Types: []string{TypeActionItemDone}}, func(e Event) error {
			var d ActionItemDone
			if json.Unmarshal(e.Payload, &d) == nil && d.Item == v.Item {
				done = true
			}
			return nil
		})
		if done {
			return nil, refuse("action item %d of %s is already done", v.Item, st.Short())
		}
		if v.Note, err = cleanText("note", v.Note, MaxTextBytes, false); err != nil {
			return nil, err
		}
		p = v
	case PostmortemLink:
		if v.URL, err = cleanName("postmortem link", v.URL); err != nil {
			return nil, err
		}
		p = v
	case RunbookLink:
		if v.Procedure.ID == "" {
			return nil, refuse("a runbook link needs a procedure id")
		}
		p = v
	case Verification:
		var obj map[string]any
		if err := json.Unmarshal(v, &obj); err != nil {
			return nil, refuse("verification result is not a JSON object: %v", err)
		}
		return json.Marshal(obj)
	}
	return json.Marshal(p)
}

func nextStates(p Policy, from string) string {
	if next := p.NextStates(from); len(next) > 0 {
		return strings.Join(next, ", ")
	}
	return "no further state"
}

func allowedAfterClose(p Policy) string {
	var ok []string
	for _, t := range EventTypes {
		if p.AllowedAfterClose(t) {
			ok = append(ok, t)
		}
	}
	if len(ok) == 0 {
		return "nothing"
	}
	return strings.Join(ok, ", ")
}

// AttachEvidence stores the bytes of a file in the ledger and appends an
// evidence_attached event citing their sha256.
func (l *Ledger) AttachEvidence(ctx context.Context, id, actor, key, name, label string, data []byte) (Event, error) {
	if len(data) > MaxEvidenceBytes {
		return Event{}, refuse("evidence %s is %d bytes, over the limit of %d (keep it elsewhere and attach its sha256 in a note)", name, len(data), MaxEvidenceBytes)
	}
	sum := sha256.Sum256(data)
	st, err := l.Status(ctx, id)
	if err != nil {
		return Event{}, err
	}
	if pol, err := l.policy(st.Book); err != nil {
		return Event{}, err
	} else if st.Closed && !pol.AllowedAfterClose(TypeEvidenceAttached) {
		return Event{}, refuse("%s is %s (closed): evidence cannot be attached", st.Short(), st.State)
	}
	if err := l.db.PutBlob(ctx, sum, data); err != nil {
		return Event{}, err
	}
	return l.Append(ctx, id, actor, key, Evidence{Name: name, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:]), Label: label})
}

// Summaries returns the status of every incident, most recent first;
// openOnly drops closed ones, book filters by book ("" for all).
func (l *Ledger) Summaries(ctx context.Context, openOnly bool, book string) ([]Status, error) {
	incs, err := l.db.Incidents(ctx)
	if err != nil {
		return nil, err
	}
	out := []Status{}
	for _, inc := range incs {
		if book != "" && inc.Book != book {
			continue
		}
		st, err := l.Status(ctx, inc.ID)
		if err != nil {
			return nil, err
		}
		if openOnly && st.Closed {
			continue
		}
		out = append(out, st)
	}
	return out, nil
}

// Resolve turns a short id or prefix into the full incident id.
func (l *Ledger) Resolve(ctx context.Context, ref string) (string, error) {
	return l.db.ResolveID(ctx, ref)
}

// IsTypeKnown reports whether t is an event type.
func IsTypeKnown(t string) bool { return slices.Contains(EventTypes, t) }
