package verifier

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/icconsole/ic/internal/redact"
)

// DecodeError says which field of which document was wrong, and how.
type DecodeError struct {
	Doc   string // "bootstrap", "update 3", ...
	Field string // "data.sync_aggregate.sync_committee_bits"
	Msg   string
}

// Error quotes the document's content, redacted: a provider may echo a
// request, credentials included, where JSON should be.
func (e *DecodeError) Error() string {
	if e.Field == "" {
		return redact.Text(fmt.Sprintf("%s: %s", e.Doc, e.Msg))
	}
	return redact.Text(fmt.Sprintf("%s: field %s: %s", e.Doc, e.Field, e.Msg))
}

// The beacon API's JSON shapes (light-client endpoints), as they come.
type (
	jsonHeader struct {
		Slot          string `json:"slot"`
		ProposerIndex string `json:"proposer_index"`
		ParentRoot    string `json:"parent_root"`
		StateRoot     string `json:"state_root"`
		BodyRoot      string `json:"body_root"`
	}
	// jsonLCHeader is a light-client header: {beacon: ...} from Capella on
	// (with execution fields we do not need), and also in the Altair data
	// served today; a bare header is accepted too.
	jsonLCHeader struct {
		Beacon *jsonHeader `json:"beacon"`
		jsonHeader
	}
	jsonCommittee struct {
		Pubkeys         []string `json:"pubkeys"`
		AggregatePubkey string   `json:"aggregate_pubkey"`
	}
	jsonAggregate struct {
		Bits      string `json:"sync_committee_bits"`
		Signature string `json:"sync_committee_signature"`
	}
	jsonBootstrap struct {
		Header          jsonLCHeader   `json:"header"`
		Committee       *jsonCommittee `json:"current_sync_committee"`
		CommitteeBranch []string       `json:"current_sync_committee_branch"`
	}
	jsonUpdate struct {
		AttestedHeader      jsonLCHeader   `json:"attested_header"`
		NextCommittee       *jsonCommittee `json:"next_sync_committee"`
		NextCommitteeBranch []string       `json:"next_sync_committee_branch"`
		FinalizedHeader     *jsonLCHeader  `json:"finalized_header"`
		FinalityBranch      []string       `json:"finality_branch"`
		SyncAggregate       *jsonAggregate `json:"sync_aggregate"`
		SignatureSlot       string         `json:"signature_slot"`
	}
	versioned struct {
		Version string          `json:"version"`
		Data    json.RawMessage `json:"data"`
	}
)

// Bootstrap is a decoded light-client bootstrap.
type Bootstrap struct {
	Version         string
	Header          BeaconBlockHeader
	Committee       SyncCommittee
	CommitteeBranch []Root
}

// Update is a decoded light-client update (also a finality or optimistic
// update, which lack some parts).
type Update struct {
	Version             string
	AttestedHeader      BeaconBlockHeader
	NextCommittee       *SyncCommittee
	NextCommitteeBranch []Root
	FinalizedHeader     *BeaconBlockHeader
	FinalityBranch      []Root
	Bits                [64]byte
	Signature           []byte
	SignatureSlot       uint64
}

// Participants counts the set participation bits (little-endian within
// each byte).
func (u *Update) Participants() int {
	n := 0
	for i := range SyncCommitteeSize {
		if u.Bits[i/8]>>(i%8)&1 == 1 {
			n++
		}
	}
	return n
}

type decoder struct {
	doc string
	err error
}

func (d *decoder) fail(field, format string, args ...any) {
	if d.err == nil {
		d.err = &DecodeError{Doc: d.doc, Field: field, Msg: fmt.Sprintf(format, args...)}
	}
}

func (d *decoder) hexBytes(field, s string, size int) []byte {
	if s == "" {
		d.fail(field, "missing")
		return make([]byte, max(size, 0))
	}
	if !strings.HasPrefix(s, "0x") {
		d.fail(field, "%q is not 0x-prefixed hex", abbreviate(s))
		return make([]byte, max(size, 0))
	}
	b, err := hex.DecodeString(s[2:])
	if err != nil {
		d.fail(field, "not hex: %v", err)
		return make([]byte, max(size, 0))
	}
	if size >= 0 && len(b) != size {
		d.fail(field, "%d bytes, want %d", len(b), size)
		return make([]byte, size)
	}
	return b
}

func (d *decoder) root(field, s string) Root {
	var r Root
	copy(r[:], d.hexBytes(field, s, 32))
	return r
}

func (d *decoder) uint(field, s string) uint64 {
	if s == "" {
		d.fail(field, "missing")
		return 0
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		d.fail(field, "%q is not a decimal number", abbreviate(s))
	}
	return v
}

func (d *decoder) header(field string, h jsonLCHeader) BeaconBlockHeader {
	b := &h.jsonHeader
	if h.Beacon != nil {
		b, field = h.Beacon, field+".beacon"
	}
	return BeaconBlockHeader{
		Slot:          d.uint(field+".slot", b.Slot),
		ProposerIndex: d.uint(field+".proposer_index", b.ProposerIndex),
		ParentRoot:    d.root(field+".parent_root", b.ParentRoot),
		StateRoot:     d.root(field+".state_root", b.StateRoot),
		BodyRoot:      d.root(field+".body_root", b.BodyRoot),
	}
}

func (d *decoder) committee(field string, c *jsonCommittee) SyncCommittee {
	if c == nil {
		d.fail(field, "missing")
		return SyncCommittee{}
	}
	if len(c.Pubkeys) != SyncCommitteeSize {
		d.fail(field+".pubkeys", "%d keys, want %d", len(c.Pubkeys), SyncCommitteeSize)
	}
	out := SyncCommittee{Pubkeys: make([][]byte, len(c.Pubkeys))}
	for i, pk := range c.Pubkeys {
		out.Pubkeys[i] = d.hexBytes(fmt.Sprintf("%s.pubkeys[%d]", field, i), pk, pubkeySize)
	}
	out.AggregatePubkey = d.hexBytes(field+".aggregate_pubkey", c.AggregatePubkey, pubkeySize)
	return out
}

func (d *decoder) branch(field string, b []string) []Root {
	if len(b) == 0 {
		d.fail(field, "missing")
	}
	out := make([]Root, len(b))
	for i, s := range b {
		out[i] = d.root(fmt.Sprintf("%s[%d]", field, i), s)
	}
	return out
}

func abbreviate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// unwrap accepts {"version", "data"} or a bare data object.
func unwrap(doc string, raw []byte) (versioned, error) {
	var v versioned
	if err := strictJSON(doc, raw, &v); err != nil {
		return v, err
	}
	if len(v.Data) == 0 {
		v.Data = raw
	}
	v.Version = strings.ToLower(v.Version)
	return v, nil
}

// strictJSON decodes raw into v with an error that names the document and
// says when the body is not JSON at all (an HTML error page, say).
func strictJSON(doc string, raw []byte, v any) error {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 {
		return &DecodeError{Doc: doc, Msg: "empty body"}
	}
	if trimmed[0] != '{' && trimmed[0] != '[' {
		return &DecodeError{Doc: doc, Msg: fmt.Sprintf("not JSON (starts with %q)", abbreviate(string(trimmed)))}
	}
	if err := json.Unmarshal(raw, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return &DecodeError{Doc: doc, Field: te.Field, Msg: fmt.Sprintf("got JSON %s, want %s", te.Value, te.Type)}
		}
		return &DecodeError{Doc: doc, Msg: "malformed JSON: " + err.Error()}
	}
	return nil
}

// DecodeBootstrap decodes a /light_client/bootstrap response.
func DecodeBootstrap(raw []byte) (*Bootstrap, error) {
	v, err := unwrap("bootstrap", raw)
	if err != nil {
		return nil, err
	}
	var j jsonBootstrap
	if err := strictJSON("bootstrap", v.Data, &j); err != nil {
		return nil, err
	}
	d := &decoder{doc: "bootstrap"}
	b := &Bootstrap{
		Version:         v.Version,
		Header:          d.header("data.header", j.Header),
		Committee:       d.committee("data.current_sync_committee", j.Committee),
		CommitteeBranch: d.branch("data.current_sync_committee_branch", j.CommitteeBranch),
	}
	return b, d.err
}

// DecodeUpdates decodes an /light_client/updates response (an array of
// {version, data}), or a single update, finality update or optimistic
// update.
func DecodeUpdates(raw []byte) ([]*Update, error) {
	return decodeUpdatesAtMost(raw, -1)
}

// decodeUpdatesAtMost decodes updates, refusing more than max (max < 0:
// no bound) before decoding any of them.
func decodeUpdatesAtMost(raw []byte, max int) ([]*Update, error) {
	trimmed := bytes.TrimSpace(raw)
	var items []json.RawMessage
	if len(trimmed) > 0 && trimmed[0] == '[' {
		if err := strictJSON("updates", raw, &items); err != nil {
			return nil, err
		}
	} else {
		items = []json.RawMessage{raw}
	}
	if len(items) == 0 {
		return nil, &DecodeError{Doc: "updates", Msg: "no update in the document"}
	}
	if max >= 0 && len(items) > max {
		return nil, &LimitError{Doc: "updates", What: "updates", Got: len(items), Max: max}
	}
	out := make([]*Update, 0, len(items))
	for i, item := range items {
		u, err := decodeUpdate(fmt.Sprintf("update %d", i+1), item)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, nil
}

func decodeUpdate(doc string, raw []byte) (*Update, error) {
	v, err := unwrap(doc, raw)
	if err != nil {
		return nil, err
	}
	var j jsonUpdate
	if err := strictJSON(doc, v.Data, &j); err != nil {
		return nil, err
	}
	d := &decoder{doc: doc}
	u := &Update{Version: v.Version, AttestedHeader: d.header("data.attested_header", j.AttestedHeader)}
	if j.NextCommittee != nil {
		c := d.committee("data.next_sync_committee", j.NextCommittee)
		u.NextCommittee = &c
		u.NextCommitteeBranch = d.branch("data.next_sync_committee_branch", j.NextCommitteeBranch)
	}
	if j.FinalizedHeader != nil {
		h := d.header("data.finalized_header", *j.FinalizedHeader)
		u.FinalizedHeader = &h
		u.FinalityBranch = d.branch("data.finality_branch", j.FinalityBranch)
	}
	if j.SyncAggregate == nil {
		d.fail("data.sync_aggregate", "missing")
	} else {
		copy(u.Bits[:], d.hexBytes("data.sync_aggregate.sync_committee_bits", j.SyncAggregate.Bits, 64))
		u.Signature = d.hexBytes("data.sync_aggregate.sync_committee_signature", j.SyncAggregate.Signature, -1)
	}
	u.SignatureSlot = d.uint("data.signature_slot", j.SignatureSlot)
	return u, d.err
}

// Genesis is what the checks need from /eth/v1/beacon/genesis.
type Genesis struct {
	ValidatorsRoot Root
	ForkVersion    [4]byte
}

// DecodeGenesis decodes a genesis response ({"data": {...}} or bare).
func DecodeGenesis(raw []byte) (Genesis, error) {
	v, err := unwrap("genesis", raw)
	if err != nil {
		return Genesis{}, err
	}
	var j struct {
		Root    string `json:"genesis_validators_root"`
		Version string `json:"genesis_fork_version"`
	}
	if err := strictJSON("genesis", v.Data, &j); err != nil {
		return Genesis{}, err
	}
	d := &decoder{doc: "genesis"}
	g := Genesis{ValidatorsRoot: d.root("genesis_validators_root", j.Root)}
	copy(g.ForkVersion[:], d.hexBytes("genesis_fork_version", j.Version, 4))
	return g, d.err
}

// LimitError is an answer over one of the verifier's bounds.
type LimitError struct {
	Doc  string // "fork_schedule", "updates"
	What string // "entries", "updates"
	Got  int
	Max  int
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("%s: %d %s, at most %d are accepted", e.Doc, e.Got, e.What, e.Max)
}

// DecodeForkSchedule decodes /eth/v1/config/fork_schedule: at most MaxForks
// entries (mainnet has 7 forks since genesis).
func DecodeForkSchedule(raw []byte) (ForkSchedule, error) {
	var j struct {
		Data []json.RawMessage `json:"data"`
	}
	if err := strictJSON("fork_schedule", raw, &j); err != nil {
		return nil, err
	}
	if len(j.Data) == 0 {
		return nil, &DecodeError{Doc: "fork_schedule", Field: "data", Msg: "empty"}
	}
	if len(j.Data) > MaxForks {
		return nil, &LimitError{Doc: "fork_schedule", What: "entries", Got: len(j.Data), Max: MaxForks}
	}
	d := &decoder{doc: "fork_schedule"}
	var s ForkSchedule
	for i, item := range j.Data {
		var f struct {
			Current string `json:"current_version"`
			Epoch   string `json:"epoch"`
		}
		if err := strictJSON(fmt.Sprintf("fork_schedule data[%d]", i), item, &f); err != nil {
			return nil, err
		}
		var v [4]byte
		copy(v[:], d.hexBytes(fmt.Sprintf("data[%d].current_version", i), f.Current, 4))
		s = append(s, Fork{Name: MainnetForks.Name(v), Version: v, Epoch: d.uint(fmt.Sprintf("data[%d].epoch", i), f.Epoch)})
	}
	return s, d.err
}
