package store

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/icconsole/ic/internal/checkpoint"
	"golang.org/x/mod/sumdb/note"
)

// ReceiptFormat names the receipt format; scripts/verify-receipt checks it.
const ReceiptFormat = "ic-receipt/1"

// Receipt proves that one event is in the ledger's log: the event with
// every field its hash covers, the RFC 6962 inclusion proof of its leaf,
// and a signed checkpoint of a tree that holds it. Anyone with the
// verifier key can check it offline (CheckReceipt, scripts/verify-receipt).
type Receipt struct {
	Format   string     `json:"format"`
	Event    ExportLine `json:"event"`
	LogIndex uint64     `json:"log_index"`
	TreeSize uint64     `json:"tree_size"`
	// InclusionProof is the audit path, hex, from the leaf up.
	InclusionProof []string `json:"inclusion_proof"`
	// Checkpoint is the signed note, as written.
	Checkpoint string `json:"checkpoint"`
}

// ErrNoCheckpoint means no checkpoint covers the record yet.
var ErrNoCheckpoint = errors.New("no checkpoint covers it yet")

// Receipt builds the receipt of event seq of incident against cp, or,
// when cp is nil, against the newest checkpoint in the ledger that holds
// it (ErrNoCheckpoint when none does: sign one first). The receipt is
// checked against the checkpoint's root before it is returned.
func (d *DB) Receipt(ctx context.Context, incident string, seq int64, cp *checkpoint.Checkpoint) (Receipt, error) {
	if d.schema < 2 {
		return Receipt{}, d.noLog()
	}
	e, err := d.Event(ctx, incident, seq)
	if err != nil {
		return Receipt{}, err
	}
	if e.LogIndex < 0 {
		return Receipt{}, fmt.Errorf("%s seq %d has no log index: the ledger was altered outside ic", ShortID(incident), seq)
	}
	if cp == nil {
		c, ok, err := d.newestCovering(ctx, e.LogIndex)
		if err != nil {
			return Receipt{}, err
		}
		if !ok {
			return Receipt{}, fmt.Errorf("receipt for %s seq %d: %w (sign a checkpoint first)", ShortID(incident), seq, ErrNoCheckpoint)
		}
		cp = &c
	}
	if uint64(e.LogIndex) >= cp.Size {
		return Receipt{}, fmt.Errorf("receipt for %s seq %d: the checkpoint of size %d does not hold log index %d: %w", ShortID(incident), seq, cp.Size, e.LogIndex, ErrNoCheckpoint)
	}
	pf, err := inclusionProof(ctx, d.sql, uint64(e.LogIndex), cp.Size)
	if err != nil {
		return Receipt{}, fmt.Errorf("receipt for %s seq %d: %w", ShortID(incident), seq, err)
	}
	if err := VerifyInclusion(Leaf{LeafEvent, e.Hash}, uint64(e.LogIndex), cp.Size, pf, cp.Root); err != nil {
		return Receipt{}, fmt.Errorf("receipt for %s seq %d: the ledger's log does not match checkpoint %s (%v): run a full verify", ShortID(incident), seq, cp.ID(), err)
	}
	r := Receipt{Format: ReceiptFormat, Event: ToExportLine(e), LogIndex: uint64(e.LogIndex), TreeSize: cp.Size, Checkpoint: string(cp.Note)}
	for _, h := range pf {
		r.InclusionProof = append(r.InclusionProof, hex.EncodeToString(h))
	}
	return r, nil
}

// CheckedReceipt is what a valid receipt proves.
type CheckedReceipt struct {
	Event      ExportLine
	LogIndex   uint64
	Checkpoint checkpoint.Checkpoint
}

// CheckReceipt checks a receipt offline: the event's hash recomputed from
// its fields, its inclusion in the checkpoint's tree, and the checkpoint's
// signature by one of the verifier keys (name+hash+base64, or files).
func CheckReceipt(data []byte, verifierKeys []string) (CheckedReceipt, error) {
	var r Receipt
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return CheckedReceipt{}, fmt.Errorf("receipt: not a receipt: %v", err)
	}
	if r.Format != ReceiptFormat {
		return CheckedReceipt{}, fmt.Errorf("receipt: format %q, want %q", r.Format, ReceiptFormat)
	}
	if len(verifierKeys) == 0 {
		return CheckedReceipt{}, errors.New("receipt: a verifier key is needed to check the checkpoint's signature")
	}
	var vs []note.Verifier
	for _, k := range verifierKeys {
		v, err := checkpoint.NewVerifier(k)
		if err != nil {
			return CheckedReceipt{}, err
		}
		vs = append(vs, v)
	}
	cp, err := checkpoint.Parse([]byte(r.Checkpoint), vs...)
	if err != nil {
		return CheckedReceipt{}, fmt.Errorf("receipt: checkpoint: %w", err)
	}
	if cp.Size != r.TreeSize {
		return CheckedReceipt{}, fmt.Errorf("receipt: tree_size %d is not the checkpoint's size %d", r.TreeSize, cp.Size)
	}
	if r.Event.LogIndex != int64(r.LogIndex) || r.Event.Time != time.UnixMilli(r.Event.TimeMS).UTC().Format(time.RFC3339Nano) {
		return CheckedReceipt{}, fmt.Errorf("receipt: %s seq %d: the event's time or log index disagrees with the fields its hash covers: the receipt was altered", ShortID(r.Event.Incident), r.Event.Seq)
	}
	h, err := r.Event.computeHash()
	if err != nil {
		return CheckedReceipt{}, fmt.Errorf("receipt: %w", err)
	}
	if h.String() != r.Event.Hash {
		return CheckedReceipt{}, fmt.Errorf("receipt: %s seq %d: the event's hash does not match its fields: the receipt was altered", ShortID(r.Event.Incident), r.Event.Seq)
	}
	pf := make([][]byte, len(r.InclusionProof))
	for i, s := range r.InclusionProof {
		b, err := hex.DecodeString(s)
		if err != nil || len(b) != 32 {
			return CheckedReceipt{}, fmt.Errorf("receipt: inclusion proof hash %d is not 32 bytes of hex", i)
		}
		pf[i] = b
	}
	if err := VerifyInclusion(Leaf{LeafEvent, h}, r.LogIndex, r.TreeSize, pf, cp.Root); err != nil {
		return CheckedReceipt{}, fmt.Errorf("receipt: %s seq %d is not in the signed tree (%v): the receipt was altered", ShortID(r.Event.Incident), r.Event.Seq, err)
	}
	return CheckedReceipt{Event: r.Event, LogIndex: r.LogIndex, Checkpoint: cp}, nil
}

// computeHash recomputes an exported event's hash with the formula of its
// version, from the exported fields alone.
func (l ExportLine) computeHash() (Hash, error) {
	var prev Hash
	if err := prev.UnmarshalText([]byte(l.PrevHash)); err != nil {
		return Hash{}, fmt.Errorf("prev_hash: %v", err)
	}
	if l.Identity == "" {
		return ComputeHash(l.Incident, l.Seq, l.TimeMS, l.Actor, l.Type, []byte(l.Payload), prev), nil
	}
	return ComputeHashV2(l.Incident, l.Seq, l.TimeMS, l.Actor, l.Identity, l.Type, []byte(l.Payload), prev), nil
}
