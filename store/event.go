package store

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"time"
)

// DeclaredType is the type of every incident's first event (seq 1): the
// declaration record, written with the incident by CreateIncident.
const DeclaredType = "declared"

// Event is one entry of an incident's timeline. Once appended it never
// changes: Hash covers every other field and PrevHash links it to the event
// before it. Type names the kind of entry and Payload is its JSON; what
// they mean is the application layer's business, not the store's.
type Event struct {
	Incident string          `json:"incident"`
	Seq      int64           `json:"seq"`
	Time     time.Time       `json:"time"`
	Actor    string          `json:"actor"`
	Type     string          `json:"type"`
	Payload  json.RawMessage `json:"payload"`
	PrevHash Hash            `json:"prev_hash"`
	Hash     Hash            `json:"hash"`
	Key      string          `json:"key"`
}

// Hash is a sha256 digest, shown as hex.
type Hash [32]byte

func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// Short is the first 12 hex digits, enough to tell events apart on screen.
func (h Hash) Short() string { return h.String()[:12] }

// MarshalText encodes the hash as hex.
func (h Hash) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText decodes hex.
func (h *Hash) UnmarshalText(b []byte) error {
	if len(b) != 64 {
		return &json.UnmarshalTypeError{Value: "hash of " + strconv.Itoa(len(b)) + " hex digits"}
	}
	_, err := hex.Decode(h[:], b)
	return err
}

// hashDomain starts every event's hash input so it cannot be confused with
// any other sha256 in the system.
const hashDomain = "ic.event.v1"

// ComputeHash is the event hash, documented in the README for auditors:
//
//	sha256( "ic.event.v1" NUL incident NUL seq NUL time_ms NUL actor NUL
//	        type NUL payload NUL hex(prev_hash) )
//
// seq and time_ms in decimal ASCII, time_ms the Unix time in milliseconds,
// payload the stored JSON byte for byte. NUL cannot occur in any field (the
// ledger refuses control characters in ids, actors and types, and JSON
// escapes them), so the encoding is unambiguous.
func ComputeHash(incident string, seq int64, timeMS int64, actor, typ string, payload []byte, prev Hash) Hash {
	var num [20]byte
	h := sha256.New()
	h.Write([]byte(hashDomain))
	h.Write([]byte{0})
	h.Write([]byte(incident))
	h.Write([]byte{0})
	h.Write(strconv.AppendInt(num[:0], seq, 10))
	h.Write([]byte{0})
	h.Write(strconv.AppendInt(num[:0], timeMS, 10))
	h.Write([]byte{0})
	h.Write([]byte(actor))
	h.Write([]byte{0})
	h.Write([]byte(typ))
	h.Write([]byte{0})
	h.Write(payload)
	h.Write([]byte{0})
	var hexPrev [64]byte
	hex.Encode(hexPrev[:], prev[:])
	h.Write(hexPrev[:])
	var out Hash
	h.Sum(out[:0])
	return out
}

// computeHash hashes e as stored.
func (e *Event) computeHash() Hash {
	return ComputeHash(e.Incident, e.Seq, e.Time.UnixMilli(), e.Actor, e.Type, e.Payload, e.PrevHash)
}

// ShortID is how an incident id is shown: "INC-" and six hex digits.
func ShortID(id string) string {
	if len(id) < 6 {
		return "INC-" + id
	}
	return "INC-" + id[:6]
}

// DeclarationID derives an incident id from its canonical declaration
// record (AZ-015 §7.2 in spirit): the same declaration, retried with the
// same idempotency key, gets the same id.
func DeclarationID(book, title, severity string, timeMS int64, actor, key string) string {
	h := sha256.New()
	for _, f := range []string{"ic.declaration.v1", book, title, severity, strconv.FormatInt(timeMS, 10), actor, key} {
		h.Write([]byte(f))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}
