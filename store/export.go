package store

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"time"
)

// ExportLine is one event in a JSONL export: every field needed to
// recompute the chain without ic. payload is the stored JSON as a string,
// byte for byte, because the hash covers those exact bytes.
type ExportLine struct {
	Incident string `json:"incident"`
	Seq      int64  `json:"seq"`
	TimeMS   int64  `json:"time_ms"`
	Time     string `json:"time"`
	Actor    string `json:"actor"`
	Type     string `json:"type"`
	Payload  string `json:"payload"`
	PrevHash string `json:"prev_hash"`
	Hash     string `json:"hash"`
}

// ToExportLine converts an event for export.
func ToExportLine(e Event) ExportLine {
	return ExportLine{
		Incident: e.Incident, Seq: e.Seq, TimeMS: e.Time.UnixMilli(), Time: e.Time.Format(time.RFC3339Nano),
		Actor: e.Actor, Type: e.Type, Payload: string(e.Payload), PrevHash: e.PrevHash.String(), Hash: e.Hash.String(),
	}
}

// ExportJSONL writes the events selected by r, one JSON object a line.
func (d *DB) ExportJSONL(ctx context.Context, w io.Writer, r Range) (int, error) {
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
