package store

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/icconsole/ic/internal/checkpoint"
)

// ExportLine is one event in a JSONL export or a receipt: every field
// needed to recompute its hash without ic. payload is the stored JSON as
// a string, byte for byte, because the hash covers those exact bytes.
// identity is absent on events written before identities were recorded
// (hash formula v1) and present on the rest (v2).
type ExportLine struct {
	Record   string `json:"record,omitempty"` // "event" in an export
	Incident string `json:"incident"`
	Seq      int64  `json:"seq"`
	TimeMS   int64  `json:"time_ms"`
	Time     string `json:"time"`
	Actor    string `json:"actor"`
	Identity string `json:"identity,omitempty"`
	Type     string `json:"type"`
	Payload  string `json:"payload"`
	PrevHash string `json:"prev_hash"`
	Hash     string `json:"hash"`
	LogIndex int64  `json:"log_index"`
}

// ToExportLine converts an event for export.
func ToExportLine(e Event) ExportLine {
	return ExportLine{
		Incident: e.Incident, Seq: e.Seq, TimeMS: e.Time.UnixMilli(), Time: e.Time.Format(time.RFC3339Nano),
		Actor: e.Actor, Identity: e.Identity, Type: e.Type, Payload: string(e.Payload),
		PrevHash: e.PrevHash.String(), Hash: e.Hash.String(), LogIndex: e.LogIndex,
	}
}

// ExportDeclaration is the first line of an export: the incident's row,
// every column its log leaf covers, and that leaf's inclusion proof in the
// closing line's checkpoint.
type ExportDeclaration struct {
	Record       string `json:"record"` // "incident"
	Incident     string `json:"incident"`
	Book         string `json:"book"`
	Title        string `json:"title"`
	Kind         string `json:"kind"`
	Drill        bool   `json:"drill"`
	DeclaredAtMS int64  `json:"declared_at_ms"`
	DeclaredAt   string `json:"declared_at"`
	DeclaredBy   string `json:"declared_by"`
	Hash         string `json:"hash"`
	LogIndex     int64  `json:"log_index"`
	// InclusionProof proves the incident's leaf in the checkpoint's tree
	// (absent when the export has no checkpoint).
	InclusionProof []string `json:"inclusion_proof,omitempty"`
}

// ExportEnd is the closing line of an export: how many events it holds,
// the chain's head, and the signed checkpoint with the inclusion proof of
// the head event, so that a line removed, reordered or added, or the end
// cut off, shows.
type ExportEnd struct {
	Record   string `json:"record"` // "end"
	Incident string `json:"incident"`
	Events   int    `json:"events"`
	// Complete: the export holds the whole chain (no filter).
	Complete     bool   `json:"complete"`
	HeadSeq      int64  `json:"head_seq"`
	HeadHash     string `json:"head_hash"`
	HeadLogIndex int64  `json:"head_log_index"`
	// Checkpoint is a signed note whose tree holds the head, or "" when
	// none does yet; then the proofs are absent.
	Checkpoint         string   `json:"checkpoint"`
	TreeSize           uint64   `json:"tree_size,omitempty"`
	HeadInclusionProof []string `json:"head_inclusion_proof,omitempty"`
}

// ExportOptions shapes an export.
type ExportOptions struct {
	Range
	// Checkpoint to prove against; nil: the newest in the ledger that
	// holds the head.
	Checkpoint *checkpoint.Checkpoint
}

// ExportJSONL writes an auditable export of one incident (r.Incident):
// its declaration record, its events selected by r (one JSON object a
// line), and a closing line (ExportEnd). It returns the number of events.
// It only reads, so it works on a ledger opened read-only.
func (d *DB) ExportJSONL(ctx context.Context, w io.Writer, r Range) (int, error) {
	return d.ExportJSONLWith(ctx, w, ExportOptions{Range: r})
}

// ExportJSONLWith is ExportJSONL with a chosen checkpoint.
func (d *DB) ExportJSONLWith(ctx context.Context, w io.Writer, o ExportOptions) (int, error) {
	if o.Incident == "" {
		return 0, errors.New("export: an export holds one incident")
	}
	if d.schema < 2 {
		return 0, d.noLog()
	}
	inc, err := d.Incident(ctx, o.Incident)
	if err != nil {
		return 0, err
	}
	h, err := d.Head(ctx, o.Incident)
	if err != nil {
		return 0, err
	}
	head, err := d.Event(ctx, o.Incident, h.Seq)
	if err != nil {
		return 0, err
	}
	var incIdx int64
	if err := d.sql.QueryRowContext(ctx, "SELECT ifnull(log_idx, -1) FROM incidents WHERE id = ?", inc.ID).Scan(&incIdx); err != nil {
		return 0, err
	}
	cp := o.Checkpoint
	if cp == nil {
		c, ok, err := d.newestCovering(ctx, head.LogIndex)
		if err != nil {
			return 0, err
		}
		if ok {
			cp = &c
		}
	}
	decl := ExportDeclaration{Record: "incident", Incident: inc.ID, Book: inc.Book, Title: inc.Title, Kind: inc.Kind, Drill: inc.Drill,
		DeclaredAtMS: inc.DeclaredAt.UnixMilli(), DeclaredAt: inc.DeclaredAt.Format(time.RFC3339Nano), DeclaredBy: inc.DeclaredBy,
		Hash: incidentHash(inc).String(), LogIndex: incIdx}
	end := ExportEnd{Record: "end", Incident: inc.ID, HeadSeq: head.Seq, HeadHash: head.Hash.String(), HeadLogIndex: head.LogIndex,
		Complete: len(o.Types) == 0 && o.Since.IsZero() && o.Until.IsZero() && o.AfterSeq == 0}
	if cp != nil && uint64(head.LogIndex) < cp.Size && incIdx >= 0 {
		ip, err := inclusionProof(ctx, d.sql, uint64(incIdx), cp.Size)
		if err != nil {
			return 0, fmt.Errorf("export: %w", err)
		}
		hp, err := inclusionProof(ctx, d.sql, uint64(head.LogIndex), cp.Size)
		if err != nil {
			return 0, fmt.Errorf("export: %w", err)
		}
		decl.InclusionProof, end.HeadInclusionProof = hexList(ip), hexList(hp)
		end.Checkpoint, end.TreeSize = string(cp.Note), cp.Size
	}
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	if err := enc.Encode(decl); err != nil {
		return 0, err
	}
	n := 0
	err = d.Events(ctx, o.Range, func(e Event) error {
		if e.Seq > head.Seq {
			return nil // appended while exporting: past the head this export proves
		}
		n++
		l := ToExportLine(e)
		l.Record = "event"
		return enc.Encode(l)
	})
	if err != nil {
		return n, err
	}
	end.Events = n
	if err := enc.Encode(end); err != nil {
		return n, err
	}
	return n, bw.Flush()
}

func hexList(hs [][]byte) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = hex.EncodeToString(h)
	}
	return out
}

// WriteEventsJSONL writes the events selected by r, one JSON object a
// line, and nothing else (for a timeline printed as JSON).
func (d *DB) WriteEventsJSONL(ctx context.Context, w io.Writer, r Range) (int, error) {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	n := 0
	err := d.Events(ctx, r, func(e Event) error {
		n++
		return enc.Encode(ToExportLine(e))
	})
	if err != nil {
		return n, err
	}
	return n, bw.Flush()
}
