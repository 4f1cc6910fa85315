package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"time"
)

// The queries below read fields out of payloads inside SQLite, for reports
// over many events: the payloads stay in the database and only the field
// asked for crosses into Go. They know nothing of what the fields mean;
// the application layer names the types and JSON paths.

// Field is one event's value at a JSON path of its payload.
type Field struct {
	Seq   int64
	Type  string
	Time  time.Time
	Value string // "" when the payload has no such field
}

// Fields calls fn, in seq order, for each event of incident whose type is
// one of types, with the first of paths (JSON paths such as "$.to") that
// the payload has.
func (d *DB) Fields(ctx context.Context, incident string, types []string, paths []string, fn func(Field) error) error {
	q := "SELECT e.seq, e.type, e.time, " + coalescePaths(len(paths)) + " FROM events e WHERE " + byID + " AND e.type IN (" + placeholders(len(types)) + ") ORDER BY e.seq"
	args := make([]any, 0, len(paths)+1+len(types))
	for _, p := range paths {
		args = append(args, p)
	}
	args = append(args, incident)
	for _, t := range types {
		args = append(args, t)
	}
	rows, err := d.sql.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var f Field
		var ms int64
		var v sql.NullString
		if err := rows.Scan(&f.Seq, &f.Type, &ms, &v); err != nil {
			return err
		}
		f.Time, f.Value = time.UnixMilli(ms).UTC(), v.String
		if err := fn(f); err != nil {
			return err
		}
	}
	return rows.Err()
}

// IncidentsDeclared returns the ids of the incidents declared in [from,
// to), of one book ("" for every book), oldest first.
func (d *DB) IncidentsDeclared(ctx context.Context, from, to time.Time, book string) ([]string, error) {
	q := `SELECT id FROM incidents WHERE declared_at >= ? AND declared_at < ?`
	args := []any{from.UnixMilli(), to.UnixMilli()}
	if book != "" {
		q += " AND book = ?"
		args = append(args, book)
	}
	rows, err := d.sql.QueryContext(ctx, q+" ORDER BY declared_at, id", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// Declarations returns the first events of the newest incidents of a kind
// whose first event's payload holds value at path, most recent first, at
// most limit.
func (d *DB) Declarations(ctx context.Context, kind, path, value string, limit int) ([]Event, error) {
	rows, err := d.sql.QueryContext(ctx, eventSelect+` WHERE i.kind = ? AND e.seq = 1 AND json_extract(e.payload, ?) = ?
		ORDER BY i.declared_at DESC, i.id LIMIT ?`, kind, path, value, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// ByKey returns the event appended with idempotency key key, or ErrNotFound.
func (d *DB) ByKey(ctx context.Context, key string) (Event, error) {
	return byKey(ctx, d.sql, key)
}

func coalescePaths(n int) string {
	if n == 1 {
		return "json_extract(e.payload, ?)"
	}
	s := "coalesce("
	for i := range n {
		if i > 0 {
			s += ", "
		}
		s += "json_extract(e.payload, ?)"
	}
	return s + ")"
}

func placeholders(n int) string {
	s := ""
	for i := range n {
		if i > 0 {
			s += ","
		}
		s += "?"
	}
	return s
}

// NewKey returns a fresh idempotency key.
func NewKey() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("ic: no randomness for an idempotency key: " + err.Error())
	}
	return hex.EncodeToString(b[:])
}
