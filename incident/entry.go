package incident

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/icconsole/ic/store"
)

// Payload is the body of one kind of timeline entry. Each kind is declared
// once, in its own file (entry_*.go): the payload type, how it is checked
// against the incident before it is appended, the one line a timeline shows
// for it, and what it adds to a postmortem draft. Adding a kind is that
// file and its test.
type Payload interface {
	// Kind is the entry type as stored ("note").
	Kind() string
	// Line is the entry as one line of a timeline. Ledger text is stored
	// escaped, so it is safe to print.
	Line() string
	// check applies the book's rules to the payload against the incident
	// as it stands and returns the payload as it will be stored.
	check(r *rules) (Payload, error)
}

// postmortemPart is a payload that adds to a section of the postmortem
// draft beyond its timeline row.
type postmortemPart interface {
	addTo(d *draft, e store.Event)
}

// kinds maps each entry type to the decoder of its stored payload. It is
// written only by register, from the init functions of the entry_*.go
// files, and read-only once the package is initialised.
var kinds = map[string]func([]byte) (Payload, error){}

// register declares an entry kind by its payload type.
func register[P Payload]() {
	var zero P
	name := zero.Kind()
	if _, dup := kinds[name]; dup {
		panic("incident: entry kind " + name + " registered twice")
	}
	kinds[name] = func(raw []byte) (Payload, error) {
		var p P
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, err
		}
		return p, nil
	}
}

// Kinds lists every entry type, sorted.
func Kinds() []string {
	out := make([]string, 0, len(kinds))
	for k := range kinds {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// KnownKind reports whether t is an entry type.
func KnownKind(t string) bool { _, ok := kinds[t]; return ok }

// Entry is one timeline entry: the stored event and its payload, decoded.
type Entry struct {
	store.Event
	Payload Payload `json:"-"`
}

// Decode reads an event's payload. A payload that cannot be read (a
// type this version does not know, or bytes that are not its JSON) is
// kept as unreadable, which says so on the timeline rather than hiding
// the entry.
func Decode(e store.Event) Entry {
	dec, ok := kinds[e.Type]
	if !ok {
		return Entry{Event: e, Payload: unreadable{kind: e.Type, raw: e.Payload, err: "unknown entry type"}}
	}
	p, err := dec(e.Payload)
	if err != nil {
		return Entry{Event: e, Payload: unreadable{kind: e.Type, raw: e.Payload, err: err.Error()}}
	}
	return Entry{Event: e, Payload: p}
}

// DecodeAll decodes events in order.
func DecodeAll(events []store.Event) []Entry {
	out := make([]Entry, len(events))
	for i, e := range events {
		out[i] = Decode(e)
	}
	return out
}

// Line is the entry as one row of a timeline: newlines are shown as ⏎ so
// one entry stays on one row.
func (e Entry) Line() string {
	return strings.ReplaceAll(strings.ReplaceAll(e.Payload.Line(), "\r", ""), "\n", " ⏎ ")
}

// Who is the entry's actor as shown: the name, marked when it was only
// asserted ("alice (asserted)") or proven by a key ("bob (key)").
func (e Entry) Who() string { return ActorOf(e.Event).Label() }

// Readable reports whether the entry's payload decoded as its kind.
func (e Entry) Readable() bool {
	_, bad := e.Payload.(unreadable)
	return !bad
}

// Describe is Decode(e).Line().
func Describe(e store.Event) string { return Decode(e).Line() }

// unreadable stands in for a payload that could not be decoded.
type unreadable struct {
	kind, err string
	raw       []byte
}

func (u unreadable) Kind() string { return u.kind }
func (u unreadable) Line() string {
	return fmt.Sprintf("(%s entry not readable: %s) %s", u.kind, u.err, string(u.raw))
}
func (u unreadable) check(*rules) (Payload, error) {
	return nil, refuse("%s is not an entry type this ic knows", u.kind)
}
