package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// DeclaredType is the type of every incident's first event (seq 1): the
// declaration record, written with the incident by CreateIncident.
const DeclaredType = "declared"

// Event is one entry of an incident's timeline. Once appended it never
// changes: Hash covers every other field but Key and LogIndex, and
// PrevHash links it to the event before it. Type names the kind of entry
// and Payload is its JSON; what they mean is the application layer's
// business, not the store's.
type Event struct {
	Incident string    `json:"incident"`
	Seq      int64     `json:"seq"`
	Time     time.Time `json:"time"`
	Actor    string    `json:"actor"`
	// Identity says how Actor was established (see ValidIdentity); empty
	// only on events written before identities were recorded (hash v1).
	Identity string          `json:"identity,omitempty"`
	Type     string          `json:"type"`
	Payload  json.RawMessage `json:"payload"`
	PrevHash Hash            `json:"prev_hash"`
	Hash     Hash            `json:"hash"`
	Key      string          `json:"key"`
	// LogIndex is the event's leaf in the ledger's Merkle log.
	LogIndex int64 `json:"log_index"`
}

// HashVersion is 1 for events without an identity, 2 for the rest.
func (e Event) HashVersion() int {
	if e.Identity == "" {
		return 1
	}
	return 2
}

// Identities: how the actor of an entry was established. The application
// layer decides; the store records the string and hashes it.
const (
	// IdentityLogin: the operating-system account that ran ic.
	IdentityLogin = "login"
	// IdentityAsserted: a name given and not proven (a scribe writing for
	// someone, or a caller that said nothing about it).
	IdentityAsserted = "asserted"
)

// ValidIdentity checks the canonical form of an identity: "login",
// "asserted", "key:SHA256:<fingerprint>" (an SSH key) or
// "session:SHA256:<fingerprint>" (a served session), the fingerprint as
// ssh-keygen prints it (unpadded base64 of a sha256).
func ValidIdentity(s string) error {
	switch s {
	case IdentityLogin, IdentityAsserted:
		return nil
	}
	for _, prefix := range []string{"key:SHA256:", "session:SHA256:"} {
		fp, ok := strings.CutPrefix(s, prefix)
		if !ok {
			continue
		}
		if b, err := base64.RawStdEncoding.DecodeString(fp); err == nil && len(b) == sha256.Size {
			return nil
		}
		return fmt.Errorf("identity %q: the fingerprint is not an unpadded base64 sha256 (as ssh-keygen -l prints it)", s)
	}
	return fmt.Errorf("identity %q: want login, asserted, key:SHA256:<fingerprint> or session:SHA256:<fingerprint>", s)
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
	h := sha256.New()
	h.Write([]byte(hashDomain))
	h.Write([]byte{0})
	h.Write([]byte(incident))
	h.Write([]byte{0})
	writeMiddle(h, seq, timeMS, actor, "", typ, payload)
	h.Write([]byte{0})
	var hexPrev [64]byte
	hex.Encode(hexPrev[:], prev[:])
	h.Write(hexPrev[:])
	var out Hash
	h.Sum(out[:0])
	return out
}

// hashDomainV2 starts the hash of an event that records its identity.
const hashDomainV2 = "ic.event.v2"

// ComputeHashV2 is the hash of events that record how the actor was
// established, documented in the README beside v1:
//
//	sha256( "ic.event.v2" NUL incident NUL seq NUL time_ms NUL actor NUL
//	        identity NUL type NUL payload NUL hex(prev_hash) )
func ComputeHashV2(incident string, seq int64, timeMS int64, actor, identity, typ string, payload []byte, prev Hash) Hash {
	h := sha256.New()
	h.Write([]byte(hashDomainV2))
	h.Write([]byte{0})
	h.Write([]byte(incident))
	h.Write([]byte{0})
	writeMiddle(h, seq, timeMS, actor, identity, typ, payload)
	h.Write([]byte{0})
	var hexPrev [64]byte
	hex.Encode(hexPrev[:], prev[:])
	h.Write(hexPrev[:])
	var out Hash
	h.Sum(out[:0])
	return out
}

// writeMiddle writes the fields between the incident and the previous
// hash; identity is left out when empty (v1).
func writeMiddle(h interface{ Write([]byte) (int, error) }, seq, timeMS int64, actor, identity, typ string, payload []byte) {
	var num [20]byte
	h.Write(strconv.AppendInt(num[:0], seq, 10))
	h.Write([]byte{0})
	h.Write(strconv.AppendInt(num[:0], timeMS, 10))
	h.Write([]byte{0})
	h.Write([]byte(actor))
	h.Write([]byte{0})
	if identity != "" {
		h.Write([]byte(identity))
		h.Write([]byte{0})
	}
	h.Write([]byte(typ))
	h.Write([]byte{0})
	h.Write(payload)
}

// computeHash hashes e as stored, with the formula of its version.
func (e *Event) computeHash() Hash {
	if e.Identity == "" {
		return ComputeHash(e.Incident, e.Seq, e.Time.UnixMilli(), e.Actor, e.Type, e.Payload, e.PrevHash)
	}
	return ComputeHashV2(e.Incident, e.Seq, e.Time.UnixMilli(), e.Actor, e.Identity, e.Type, e.Payload, e.PrevHash)
}

// KeyReusedError is returned when an idempotency key comes back with an
// entry that is not byte for byte the one first written with it: a retry
// must repeat the request exactly. Nothing was written.
type KeyReusedError struct {
	Key string
	// Earlier is the entry first written with Key.
	Earlier Event
	// Differs names the first field that differs: incident, type, actor,
	// identity, payload, or an incident column for a declaration.
	Differs string
}

func (e *KeyReusedError) Error() string {
	return fmt.Sprintf("idempotency key %q was already used for %s seq %d (%s) with a different %s: nothing was written; a retry must repeat the entry exactly, a new entry needs a new key",
		e.Key, ShortID(e.Earlier.Incident), e.Earlier.Seq, e.Earlier.Type, e.Differs)
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

// sameEntry says which field of ev (a retry) differs from the earlier
// entry, or "" when it is the same entry.
func sameEntry(earlier Event, incident string, ev Event) string {
	switch {
	case earlier.Incident != incident:
		return "incident"
	case earlier.Type != ev.Type:
		return "type"
	case earlier.Actor != ev.Actor:
		return "actor"
	case earlier.Identity != ev.Identity:
		return "identity"
	case !bytes.Equal(earlier.Payload, ev.Payload):
		return "payload"
	}
	return ""
}
