// Package incident is ic's application layer: the use cases that every
// face of ic (the command line, the console, a served session) calls, and
// the one place where a book's rules meet the ledger. A Service holds the
// ledger (package store), the runbook books (package runbook) and the
// clock; it declares incidents, checks and appends entries, derives an
// incident's standing, walks routines, computes reviews and postmortem
// drafts, and runs sync-committee checks (package verifier).
//
// Nothing here draws on a terminal or parses flags; nothing in store,
// runbook or verifier knows a book's rules.
package incident

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/icconsole/ic/internal/checkpoint"
	"github.com/icconsole/ic/internal/safefile"
	"github.com/icconsole/ic/internal/signers"
	"github.com/icconsole/ic/internal/termsafe"
	"github.com/icconsole/ic/runbook"
	"github.com/icconsole/ic/store"
)

// Kinds of incident record.
const (
	KindIncident = "incident"
	KindRoutine  = "routine"
)

// Service is the application layer over one ledger and one set of books.
type Service struct {
	db    *store.DB
	books *runbook.Catalog
	now   func() time.Time
	// allowed are the keys whose approvals count (nil: none configured).
	allowed *signers.Allowed
	// signer signs checkpoints (nil: none), copied into checkpointDir;
	// warn hears what failed after an entry was recorded (ledger.go).
	signer        *checkpoint.Signer
	checkpointDir string
	warn          func(string)
	// draftOwner keeps drafts apart per principal in a served session
	// ("": the one operator of a local ledger; session.go).
	draftOwner string
	// writes hears of every write in flight (nil: nobody; watch.go).
	writes WriteTracker
}

// New returns a service over db and books; now is the clock (nil: the
// system clock).
func New(db *store.DB, books *runbook.Catalog, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{db: db, books: books, now: now}
}

// Open opens (creating if needed) the ledger at path and returns a service
// over it and books.
func Open(ctx context.Context, path string, books *runbook.Catalog, now func() time.Time) (*Service, error) {
	db, err := store.Open(ctx, path)
	if err != nil {
		return nil, err
	}
	return New(db, books, now), nil
}

// WithClock returns a service over the same ledger and books that reads
// time from now (tests, generators).
func (s *Service) WithClock(now func() time.Time) *Service {
	c := *s
	c.now = now
	return &c
}

// WithAllowedSigners returns a service that accepts approvals signed by
// the keys in allowed (git's allowed-signers file).
func (s *Service) WithAllowedSigners(allowed *signers.Allowed) *Service {
	c := *s
	c.allowed = allowed
	return &c
}

// Close closes the ledger.
func (s *Service) Close() error { return s.db.Close() }

// Books is the runbook catalog in use.
func (s *Service) Books() *runbook.Catalog { return s.books }

// LedgerPath is the ledger's file.
func (s *Service) LedgerPath() string { return s.db.Path() }

// Now is the service's clock, in UTC.
func (s *Service) Now() time.Time { return s.now().UTC() }

func (s *Service) stamp() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

// Policy is the policy of a book.
func (s *Service) Policy(book string) (*runbook.Policy, error) {
	pol, ok := s.books.Policy(book)
	if !ok {
		return nil, refuse("book %q is not loaded, so its rules cannot be applied (check --runbooks)", book)
	}
	return pol, nil
}

// Procedure finds a procedure by id.
func (s *Service) Procedure(id string) (*runbook.Procedure, error) {
	p, ok := s.books.Procedure(id)
	if !ok {
		return nil, fmt.Errorf("no procedure %q (list them with 'ic runbook list')", termsafe.EscapeLine(id))
	}
	return p, nil
}

// Actor is who makes an entry, and how that was established.
type Actor struct {
	Name string
	// Via says how the name was established: ViaLogin, ViaKey,
	// ViaSession or ViaAsserted ("" counts as ViaLogin).
	Via string
	// Key is the SSH key fingerprint (SHA256:...) for ViaKey and ViaSession.
	Key string
	// SessionRole is what a served session's key was granted
	// (RoleObserver, RoleResponder, RoleApprover; session.go): it limits
	// what the session may write. Empty outside a served session.
	SessionRole string
}

// How an actor's name was established.
const (
	ViaLogin    = "login"    // the operating-system account that ran ic
	ViaKey      = "key"      // an SSH signature, checked against the allowed signers
	ViaSession  = "session"  // an authenticated served session (its key)
	ViaAsserted = "asserted" // a name given with --actor for someone else: a scribe transcribing
)

// Identity is the canonical form the ledger keeps of how the actor was
// established ("login", "asserted", "key:SHA256:...", "session:SHA256:...").
func (a Actor) Identity() string {
	switch a.Via {
	case ViaKey, ViaSession:
		return a.Via + ":" + a.Key
	case ViaAsserted:
		return store.IdentityAsserted
	}
	return store.IdentityLogin
}

// ActorOf reads how an entry's actor was established back from the ledger.
func ActorOf(e store.Event) Actor {
	a := Actor{Name: e.Actor, Via: ViaAsserted}
	switch id := e.Identity; {
	case id == store.IdentityLogin:
		a.Via = ViaLogin
	case strings.HasPrefix(id, ViaKey+":"):
		a.Via, a.Key = ViaKey, strings.TrimPrefix(id, ViaKey+":")
	case strings.HasPrefix(id, ViaSession+":"):
		a.Via, a.Key = ViaSession, strings.TrimPrefix(id, ViaSession+":")
	}
	return a
}

// Label is how the actor is shown: the name, marked when it was only
// asserted or proven by a key ("alice (asserted)", "bob (key)").
func (a Actor) Label() string {
	switch a.Via {
	case ViaAsserted, ViaKey, ViaSession:
		return a.Name + " (" + a.Via + ")"
	}
	return a.Name
}

// ProcedureRef cites a procedure exactly: id, version and content hash.
type ProcedureRef struct {
	ID      string `json:"id"`
	Version int    `json:"version"`
	Hash    string `json:"hash"`
}

// Ref cites p.
func Ref(p *runbook.Procedure) ProcedureRef {
	return ProcedureRef{ID: p.ID, Version: p.Version, Hash: p.Hash}
}

// Classes are the incident classes of a book in books: its
// incident_classes list, or, for a book without one, the classes its
// procedures name.
func Classes(books *runbook.Catalog, book string) []string {
	b, ok := books.Book(book)
	if !ok {
		return nil
	}
	if ids := b.Policy.IncidentClassIDs(); len(ids) > 0 {
		return ids
	}
	var out []string
	for _, p := range books.Filter(runbook.Filter{Book: book}) {
		for _, c := range p.Classes {
			if !slices.Contains(out, c) {
				out = append(out, c)
			}
		}
	}
	slices.Sort(out)
	return out
}

// ShortID is how an incident id is shown: "INC-" and six hex digits.
func ShortID(id string) string { return store.ShortID(id) }

// NewKey returns a fresh idempotency key.
func NewKey() string { return store.NewKey() }

// Resolve turns a short id or prefix into the full incident id.
func (s *Service) Resolve(ctx context.Context, ref string) (string, error) {
	return s.db.ResolveID(ctx, ref)
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
	// Kind is KindIncident (default) or KindRoutine for a routine run.
	Kind string
	By   Actor
	Key  string
}

// Declare records a new incident: the incident row and its declared entry,
// in one transaction. Retried with the same key it returns the incident
// declared the first time.
func (s *Service) Declare(ctx context.Context, d Declaration) (Status, Entry, error) {
	defer s.beginWrite()()
	pol, err := s.Policy(d.Book)
	if err != nil {
		return Status{}, Entry{}, err
	}
	title, err := cleanText("title", d.Title, MaxTitleBytes, true)
	if err != nil {
		return Status{}, Entry{}, err
	}
	title = termsafe.EscapeLine(title)
	if err := d.By.mayWrite((Declared{}).Kind()); err != nil {
		return Status{}, Entry{}, err
	}
	actor, err := cleanName("actor", d.By.Name)
	if err != nil {
		return Status{}, Entry{}, err
	}
	if !pol.KnownSeverity(d.Severity) {
		return Status{}, Entry{}, refuse("unknown severity %q for book %s: use one of %s", d.Severity, d.Book, joinIDs(pol.SeverityIDs()))
	}
	if d.Class != "" {
		if classes := Classes(s.books, d.Book); !slices.Contains(classes, d.Class) {
			return Status{}, Entry{}, refuse("%q is not an incident class of book %s; its classes: %s", termsafe.EscapeLine(d.Class), d.Book, joinIDs(classes))
		}
	}
	kind := d.Kind
	if kind == "" {
		kind = KindIncident
	}
	if kind != KindIncident && kind != KindRoutine {
		return Status{}, Entry{}, refuse("unknown kind %q", kind)
	}
	key := d.Key
	if key == "" {
		key = NewKey()
	}
	now := s.stamp()
	payload, err := json.Marshal(Declared{
		Book: d.Book, Title: title, Severity: d.Severity, State: pol.InitialState(),
		IncidentKind: kind, Class: termsafe.EscapeLine(d.Class), Runbook: d.Runbook, Drill: d.Drill, FromRun: d.FromRun,
	})
	if err != nil {
		return Status{}, Entry{}, err
	}
	inc := store.Incident{
		ID:   store.DeclarationID(d.Book, title, d.Severity, now.UnixMilli(), actor, key),
		Book: d.Book, Title: title, Kind: kind, Drill: d.Drill, DeclaredAt: now, DeclaredBy: actor,
	}
	ev := store.Event{Time: now, Actor: actor, Identity: d.By.Identity(), Type: (Declared{}).Kind(), Payload: payload, Key: key}
	inc, ev, _, err = s.db.CreateIncident(ctx, inc, ev)
	if err != nil {
		return Status{}, Entry{}, err
	}
	st, err := s.Status(ctx, inc.ID)
	return st, Decode(ev), err
}

// Append checks payload against the incident's rules and current state
// and appends it. key is the idempotency key ("" makes a new one): a retry
// with the same key and the same entry returns the entry stored the first
// time; the same key with a different entry is refused. When another
// writer appends concurrently the state is re-read and the rules applied
// again, so a check never passes on a stale view.
func (s *Service) Append(ctx context.Context, id string, by Actor, key string, payload Payload) (Entry, error) {
	defer s.beginWrite()()
	if err := by.mayWrite(payload.Kind()); err != nil {
		return Entry{}, err
	}
	actor, err := cleanName("actor", by.Name)
	if err != nil {
		return Entry{}, err
	}
	if key == "" {
		key = NewKey()
	} else if prev, err := s.db.ByKey(ctx, key); err == nil {
		return replay(prev, id, actor, by.Identity(), payload)
	} else if !errors.Is(err, store.ErrNotFound) {
		return Entry{}, err
	}
	for attempt := 0; ; attempt++ {
		st, pol, err := s.statusAndPolicy(ctx, id)
		if err != nil {
			return Entry{}, err
		}
		if st.Closed && !pol.AllowedAfterClose(payload.Kind()) {
			return Entry{}, refuse("%s is %s (closed): a %s cannot be added; allowed after close: %s", st.Short(), st.State, payload.Kind(), allowedAfterClose(pol))
		}
		checked, err := payload.check(&rules{ctx: ctx, svc: s, st: st, pol: pol, by: Actor{Name: actor, Via: by.Via, Key: by.Key, SessionRole: by.SessionRole}, now: s.stamp()})
		if err != nil {
			return Entry{}, err
		}
		body, err := json.Marshal(checked)
		if err != nil {
			return Entry{}, err
		}
		ev := store.Event{Time: s.stamp(), Actor: actor, Identity: by.Identity(), Type: checked.Kind(), Payload: body, Key: key}
		stored, replayed, err := s.db.Append(ctx, id, st.Events, ev)
		if errors.Is(err, store.ErrConflict) && attempt < maxRetries {
			continue
		}
		var reused *store.KeyReusedError
		if errors.As(err, &reused) {
			// Another writer used the key first, with other bytes.
			return replay(reused.Earlier, id, actor, by.Identity(), payload)
		}
		if err != nil {
			return Entry{}, err
		}
		if replayed {
			return replay(stored, id, actor, by.Identity(), payload)
		}
		if sc, ok := checked.(StateChange); ok && sc.To == pol.ClosingState() {
			s.autoCheckpoint(ctx, st.Short()+" closed")
		}
		return Decode(stored), nil
	}
}

// replay answers a retry whose idempotency key is already in the ledger:
// the stored entry if the retry asks for the same entry, else a refusal
// naming the entry the key was used for.
func replay(prev store.Event, id, actor, identity string, payload Payload) (Entry, error) {
	if prev.Incident == id && prev.Type == payload.Kind() && prev.Actor == actor && sameIdentity(prev.Identity, identity) && sameRequest(prev.Payload, payload) {
		return Decode(prev), nil
	}
	return Entry{}, refuse("idempotency key %q was already used for %s seq %d (%s) with other content: use a new key", prev.Key, ShortID(prev.Incident), prev.Seq, prev.Type)
}

// sameIdentity compares identities, an empty stored one (written before
// identities were recorded) counting as asserted.
func sameIdentity(stored, asked string) bool {
	if stored == "" {
		stored = store.IdentityAsserted
	}
	return stored == asked
}

// sameRequest reports whether a retried payload asks for what was stored:
// every field the request sets equals the stored field once stored text
// escaping is applied. Fields the ledger fills in itself (a change's
// "from") are not in the request.
func sameRequest(stored []byte, payload Payload) bool {
	req, err := json.Marshal(payload)
	if err != nil {
		return false
	}
	var want, have map[string]any
	if json.Unmarshal(req, &want) != nil || json.Unmarshal(stored, &have) != nil {
		return false
	}
	for k, v := range want {
		if !sameValue(v, have[k]) {
			return false
		}
	}
	return true
}

func sameValue(want, have any) bool {
	switch w := want.(type) {
	case string:
		h, ok := have.(string)
		return ok && slices.Contains(storedForms(w), h)
	case map[string]any:
		h, ok := have.(map[string]any)
		if !ok {
			return false
		}
		for k, v := range w {
			if !sameValue(v, h[k]) {
				return false
			}
		}
		return true
	default:
		wb, _ := json.Marshal(want)
		hb, _ := json.Marshal(have)
		return string(wb) == string(hb)
	}
}

// storedForms are the forms a requested text can take once stored: as
// given, or trimmed and escaped the way cleanText and cleanName store it.
func storedForms(s string) []string {
	var out []string
	for _, t := range []string{s, strings.TrimRight(s, "\r\n"), strings.TrimSpace(s)} {
		out = append(out, t, termsafe.Escape(t), termsafe.EscapeLine(t))
	}
	return out
}

func joinIDs(ids []string) string { return strings.Join(ids, ", ") }

// AttachEvidence stores the bytes of a file in the ledger and appends an
// evidence entry citing their sha256.
func (s *Service) AttachEvidence(ctx context.Context, id string, by Actor, key, name, label string, data []byte) (Entry, error) {
	if len(data) > MaxEvidenceBytes {
		return Entry{}, refuse("evidence %s is %d bytes, over the limit of %d (keep it elsewhere and attach its sha256 in a note)", name, len(data), MaxEvidenceBytes)
	}
	if err := by.mayWrite((Evidence{}).Kind()); err != nil {
		return Entry{}, err // before the bytes are stored: a refused writer leaves no blob
	}
	sum := sha256.Sum256(data)
	st, pol, err := s.statusAndPolicy(ctx, id)
	if err != nil {
		return Entry{}, err
	}
	if st.Closed && !pol.AllowedAfterClose((Evidence{}).Kind()) {
		return Entry{}, refuse("%s is %s (closed): evidence cannot be attached", st.Short(), st.State)
	}
	ev, err := Evidence{Name: name, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:]), Label: label}.clean()
	if err != nil {
		return Entry{}, err
	}
	if err := s.db.PutBlob(ctx, sum, data); err != nil {
		return Entry{}, err
	}
	return s.Append(ctx, id, by, key, ev)
}

// AttachEvidenceFile attaches the file at path as evidence, named by its
// base name.
func (s *Service) AttachEvidenceFile(ctx context.Context, id string, by Actor, key, path, label string) (Entry, error) {
	// A regular file only (a pipe or a device is refused, never read),
	// at most 16 MiB, and the read stops when ctx is cancelled.
	data, err := safefile.Read(ctx, path, safefile.Evidence)
	if err != nil {
		var tooLarge *safefile.Error
		if errors.As(err, &tooLarge) && errors.Is(err, safefile.ErrTooLarge) {
			return Entry{}, fmt.Errorf("%w: keep it elsewhere and record its sha256 in a note", err)
		}
		return Entry{}, err
	}
	return s.AttachEvidence(ctx, id, by, key, filepath.Base(path), label, data)
}

// Page returns up to limit entries of an incident before seq before (0:
// the newest), oldest first.
func (s *Service) Page(ctx context.Context, id string, before int64, limit int) ([]Entry, error) {
	events, err := s.db.Page(ctx, id, before, limit)
	return DecodeAll(events), err
}

// Range selects entries of one incident.
type Range = store.Range

// Timeline calls fn with each entry r selects, in order.
func (s *Service) Timeline(ctx context.Context, r Range, fn func(Entry) error) error {
	return s.db.Events(ctx, r, func(e store.Event) error { return fn(Decode(e)) })
}

// Entries returns every entry r selects, in order.
func (s *Service) Entries(ctx context.Context, r Range) ([]Entry, error) {
	var out []Entry
	err := s.Timeline(ctx, r, func(e Entry) error {
		out = append(out, e)
		return nil
	})
	return out, err
}

// HeadSeq is the seq of an incident's newest entry.
func (s *Service) HeadSeq(ctx context.Context, id string) (int64, error) {
	h, err := s.db.Head(ctx, id)
	return h.Seq, err
}

// Entry returns one entry by seq.
func (s *Service) Entry(ctx context.Context, id string, seq int64) (Entry, error) {
	e, err := s.db.Event(ctx, id, seq)
	return Decode(e), err
}

// ExportJSONL writes the entries r selects as JSON lines, every field
// needed to recompute the chain without ic.
func (s *Service) ExportJSONL(ctx context.Context, w io.Writer, r Range) (int, error) {
	return s.db.ExportJSONL(ctx, w, r)
}

// Export writes the entries r selects in format "jsonl" (every field
// needed to recompute the chain without ic) or the postmortem draft of
// r's incident in format "md".
func (s *Service) Export(ctx context.Context, w io.Writer, format string, r Range) error {
	switch format {
	case "jsonl":
		_, err := s.db.ExportJSONL(ctx, w, r)
		return err
	case "md":
		return s.WritePostmortem(ctx, w, r.Incident)
	}
	return badArgument("export format %q: use jsonl or md", format)
}

// VerifyReport is what Verify found.
type VerifyReport = store.Report

// Verify checks the whole ledger, or one incident when id is not empty,
// re-reading every record (VerifyWith says what is checked).
func (s *Service) Verify(ctx context.Context, id string) (store.Report, error) {
	return s.VerifyWith(ctx, VerifyOptions{Full: id == "", Incident: id})
}

// Backup writes a verified copy of the ledger to dest, after signing a
// checkpoint (when a key is configured) so the copy holds it.
func (s *Service) Backup(ctx context.Context, dest string) (store.Report, error) {
	if s.signer != nil {
		if _, err := s.db.Checkpoint(ctx, s.signer, s.checkpointDir); err != nil {
			return store.Report{}, fmt.Errorf("backup: signing the checkpoint first: %w", err)
		}
	}
	return s.db.Backup(ctx, dest)
}

// Restore replaces the ledger with the verified backup at src, saving the
// current ledger to preRestore first.
func (s *Service) Restore(ctx context.Context, src, preRestore string) (store.Report, error) {
	return s.db.Restore(ctx, src, preRestore)
}

// actionItemsDone returns the seqs of an incident's action items that are done.
func (s *Service) actionItemsDone(ctx context.Context, id string) (map[int64]bool, error) {
	done := map[int64]bool{}
	err := s.Timeline(ctx, Range{Incident: id, Types: []string{(ActionItemDone{}).Kind()}}, func(e Entry) error {
		if d, ok := e.Payload.(ActionItemDone); ok {
			done[d.Item] = true
		}
		return nil
	})
	return done, err
}
