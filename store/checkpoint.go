package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/icconsole/ic/internal/checkpoint"
)

// LogHead is the log as it stands: its origin (the name its checkpoints
// carry), how many records it holds, and its RFC 6962 root.
type LogHead struct {
	Origin string `json:"origin"`
	Size   uint64 `json:"size"`
	Root   Hash   `json:"root"`
}

// Head returns the log's head.
func (d *DB) LogHead(ctx context.Context) (LogHead, error) {
	if d.schema < 2 {
		return LogHead{}, d.noLog()
	}
	h, err := readHead(ctx, d.sql)
	if err != nil {
		return LogHead{}, fmt.Errorf("ledger %s: %w", d.path, err)
	}
	return LogHead{Origin: h.origin, Size: h.size, Root: h.root()}, nil
}

func (d *DB) noLog() error {
	return fmt.Errorf("ledger %s was written before the Merkle log (schema %d) and is open read-only: open it once with a command that writes to build the log", d.path, d.schema)
}

// SignedCheckpoint is a checkpoint as stored: where its copy went, if
// anywhere.
type SignedCheckpoint struct {
	checkpoint.Checkpoint
	// CopyPath is the copy written to the checkpoint folder ("" if none).
	CopyPath string
}

// Checkpoint signs the log's current head with s, stores the signed note
// in the ledger and, when dir is not "", writes a copy into dir (the
// copies outside the file are what make a rewrite of the ledger show).
// Signing the same head with the same key again stores nothing new.
func (d *DB) Checkpoint(ctx context.Context, s *checkpoint.Signer, dir string) (SignedCheckpoint, error) {
	if s == nil {
		return SignedCheckpoint{}, errors.New("checkpoint: no signing key (create one with 'ic key init')")
	}
	head, err := d.LogHead(ctx)
	if err != nil {
		return SignedCheckpoint{}, err
	}
	c, err := s.Sign(head.Origin, head.Size, head.Root)
	if err != nil {
		return SignedCheckpoint{}, err
	}
	if _, err := d.sql.ExecContext(ctx, "INSERT INTO checkpoints (size, note, added) VALUES (?, ?, ?) ON CONFLICT (note) DO NOTHING",
		int64(c.Size), string(c.Note), time.Now().UnixMilli()); err != nil {
		return SignedCheckpoint{}, d.writeErr(err)
	}
	out := SignedCheckpoint{Checkpoint: c}
	if dir != "" {
		p, err := checkpoint.WriteCopy(dir, c)
		if err != nil {
			return out, fmt.Errorf("checkpoint of size %d is in the ledger, but its copy failed: %w", c.Size, err)
		}
		out.CopyPath = p
	}
	return out, nil
}

// Checkpoints lists the checkpoints stored in the ledger, oldest first,
// parsed but not verified.
func (d *DB) Checkpoints(ctx context.Context) ([]checkpoint.Checkpoint, error) {
	if d.schema < 2 {
		return nil, nil
	}
	rows, err := d.sql.QueryContext(ctx, "SELECT n, note FROM checkpoints ORDER BY n")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []checkpoint.Checkpoint
	for rows.Next() {
		var n int64
		var text string
		if err := rows.Scan(&n, &text); err != nil {
			return nil, err
		}
		c, err := checkpoint.Parse([]byte(text))
		if err != nil {
			return nil, fmt.Errorf("ledger %s: checkpoint #%d: %w", d.path, n, err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// newestCovering returns the newest stored checkpoint whose tree holds log
// index i (size > i), signed by one of verifiers when any are given.
func (d *DB) newestCovering(ctx context.Context, i int64) (checkpoint.Checkpoint, bool, error) {
	var text string
	err := d.sql.QueryRowContext(ctx, "SELECT note FROM checkpoints WHERE size > ? ORDER BY size DESC, n DESC LIMIT 1", i).Scan(&text)
	if err != nil {
		if isNoRows(err) {
			return checkpoint.Checkpoint{}, false, nil
		}
		return checkpoint.Checkpoint{}, false, err
	}
	c, err := checkpoint.Parse([]byte(text))
	return c, err == nil, err
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
