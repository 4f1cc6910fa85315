package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/mattn/go-sqlite3"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// DB is the SQLite backend of the ledger: one file, WAL, synchronous=FULL,
// every write in a BEGIN IMMEDIATE transaction so several ic processes can
// append to the same file.
type DB struct {
	path string
	sql  *sql.DB
	// migrating lets schema changes through the authorizer while
	// migrations run, and only then.
	migrating atomic.Bool
	// readOnly: opened with OpenReadOnly; nothing is written.
	readOnly bool
	// schema is the ledger's schema version (PRAGMA user_version).
	schema int
}

// ErrNotFound is returned for an unknown incident or event.
var ErrNotFound = errors.New("not found")

// ErrConflict means another writer appended first: the head moved.
var ErrConflict = errors.New("the incident's timeline moved on (another writer appended first)")

// Head is the newest event of an incident: its seq and hash.
type Head struct {
	Seq  int64
	Hash Hash
}

// Open opens (creating if needed) the ledger at path: the folder with mode
// 0700, the file with 0600. It applies the embedded migrations, then reads
// the pragmas back and refuses to run when one is not as required.
func Open(ctx context.Context, path string) (*DB, error) {
	if path == "" {
		return nil, errors.New("open ledger: empty path")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("open ledger %s: create folder: %w", path, describeFSError(err))
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open ledger %s: %w", path, describeFSError(err))
	}
	f.Close()
	// Look before switching the file to WAL: that switch writes to it, and
	// a file that is not a ledger must be left as it was.
	if _, err := probeLedger(ctx, path, "mode=rw", true); err != nil {
		return nil, err
	}
	d := &DB{path: path}
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "FULL")
	q.Set("_foreign_keys", "on")
	q.Set("_busy_timeout", "10000")
	q.Set("_txlock", "immediate")
	q.Set("_recursive_triggers", "on")
	drv := &sqlite3.SQLiteDriver{ConnectHook: d.onConnect}
	d.sql = sql.OpenDB(connector{drv: drv, dsn: "file:" + url.PathEscape(path) + "?" + q.Encode()})
	if err := d.checkIsLedger(ctx); err != nil {
		d.sql.Close()
		return nil, err
	}
	if err := d.migrate(ctx); err != nil {
		d.sql.Close()
		return nil, err
	}
	if err := d.checkPragmas(ctx); err != nil {
		d.sql.Close()
		return nil, err
	}
	d.schema = SchemaVersion()
	return d, nil
}

// ledgerTables are the tables every ic ledger has had since schema 1.
var ledgerTables = []string{"incidents", "events", "blobs"}

// probeLedger opens path with a plain connection (params: mode=ro or
// mode=rw, perhaps immutable=1) and tells whether it is an ic ledger,
// without changing it: its schema version, or an error that says what
// the file is. allowNew accepts an empty database (a new ledger).
func probeLedger(ctx context.Context, path, params string, allowNew bool) (int, error) {
	db := sql.OpenDB(connector{drv: &sqlite3.SQLiteDriver{}, dsn: "file:" + url.PathEscape(path) + "?" + params})
	defer db.Close()
	var version, objects int
	err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version)
	if err == nil {
		err = db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master").Scan(&objects)
	}
	if err != nil {
		if strings.Contains(err.Error(), "not a database") || strings.Contains(err.Error(), "malformed") {
			return 0, fmt.Errorf("%s is not an ic ledger (not a SQLite database): point --db at a ledger file or at a new path; the file was left untouched", path)
		}
		return 0, fmt.Errorf("open ledger %s: %w", path, describeFSError(err))
	}
	if version == 0 && objects == 0 {
		if allowNew {
			return 0, nil
		}
		return 0, fmt.Errorf("%s is empty, not an ic ledger (a half-written copy?): nothing to verify", path)
	}
	if version > SchemaVersion() {
		return version, fmt.Errorf("ledger %s has schema version %d, newer than this ic understands (%d): use a newer ic; the ledger is left untouched", path, version, SchemaVersion())
	}
	var have int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('incidents', 'events', 'blobs')").Scan(&have); err != nil {
		return version, fmt.Errorf("open ledger %s: %w", path, err)
	}
	if version == 0 || have != len(ledgerTables) {
		return version, fmt.Errorf("%s is an SQLite database but not an ic ledger (schema version %d, %d of its tables): point --db at a ledger file; the file was left untouched", path, version, have)
	}
	return version, nil
}

type connector struct {
	drv *sqlite3.SQLiteDriver
	dsn string
}

func (c connector) Connect(context.Context) (driver.Conn, error) { return c.drv.Open(c.dsn) }
func (c connector) Driver() driver.Driver                        { return c.drv }

// onConnect installs an authorizer on each of ic's own connections: outside
// migrations it refuses DROP TRIGGER, DELETE and UPDATE on the ledger's
// tables and writable_schema. The triggers and the hash chain are the real
// guard; this is defence in depth against a bug in ic itself.
func (d *DB) onConnect(c *sqlite3.SQLiteConn) error {
	c.RegisterAuthorizer(func(op int, arg1, arg2, arg3 string) int {
		if d.migrating.Load() {
			return sqlite3.SQLITE_OK
		}
		switch op {
		case sqlite3.SQLITE_DROP_TRIGGER, sqlite3.SQLITE_DROP_TABLE, sqlite3.SQLITE_DROP_INDEX:
			return sqlite3.SQLITE_DENY
		case sqlite3.SQLITE_DELETE, sqlite3.SQLITE_UPDATE:
			switch arg1 {
			case "events", "incidents", "blobs", "log", "log_nodes", "log_migrations", "checkpoints":
				return sqlite3.SQLITE_DENY
			case "log_head":
				// The head moves forward with each record; it is never
				// deleted.
				if op == sqlite3.SQLITE_DELETE {
					return sqlite3.SQLITE_DENY
				}
			}
		case sqlite3.SQLITE_PRAGMA:
			if strings.EqualFold(arg1, "writable_schema") {
				return sqlite3.SQLITE_DENY
			}
		}
		return sqlite3.SQLITE_OK
	})
	return nil
}

// Path is the database file.
func (d *DB) Path() string { return d.path }

// Close closes the database.
func (d *DB) Close() error { return d.sql.Close() }

// checkIsLedger turns SQLite's "file is not a database" into an error that
// says which file and what to do.
func (d *DB) checkIsLedger(ctx context.Context) error {
	var n int
	err := d.sql.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master").Scan(&n)
	if err != nil {
		if strings.Contains(err.Error(), "not a database") || strings.Contains(err.Error(), "malformed") {
			return fmt.Errorf("%s is not an ic ledger (not a SQLite database): point --db at a ledger file or at a new path", d.path)
		}
		return fmt.Errorf("open ledger %s: %w", d.path, describeFSError(err))
	}
	return nil
}

func migrationList() ([]string, error) {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	sort.Strings(names)
	return names, err
}

// SchemaVersion is the newest schema this ic knows.
func SchemaVersion() int {
	names, _ := migrationList()
	return len(names)
}

// migrate applies the embedded migrations newer than PRAGMA user_version,
// each in its own transaction, and refuses a database written by a newer ic.
func (d *DB) migrate(ctx context.Context) error {
	names, err := migrationList()
	if err != nil {
		return err
	}
	var have int
	if err := d.sql.QueryRowContext(ctx, "PRAGMA user_version").Scan(&have); err != nil {
		return fmt.Errorf("ledger %s: read schema version: %w", d.path, err)
	}
	if have > len(names) {
		return fmt.Errorf("ledger %s has schema version %d, newer than this ic understands (%d): use a newer ic; the ledger is left untouched", d.path, have, len(names))
	}
	if have == len(names) {
		return nil
	}
	d.migrating.Store(true)
	defer d.migrating.Store(false)
	for i := have; i < len(names); i++ {
		body, err := migrationFiles.ReadFile(names[i])
		if err != nil {
			return err
		}
		tx, err := d.sql.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("ledger %s: migrate: %w", d.path, describeFSError(err))
		}
		// Another process may have migrated while we waited for the lock.
		var now int
		if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&now); err != nil {
			tx.Rollback()
			return err
		}
		if now > i {
			tx.Rollback()
			continue
		}
		if err := runMigration(ctx, tx, string(body), i+1); err != nil {
			tx.Rollback()
			return fmt.Errorf("ledger %s: migration %s: %w", d.path, names[i], describeFSError(err))
		}
		if _, err := tx.ExecContext(ctx, "PRAGMA user_version = "+strconv.Itoa(i+1)); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("ledger %s: migration %s: %w", d.path, names[i], describeFSError(err))
		}
	}
	return nil
}

// hookMarker in a migration file marks where Go code runs, inside the
// same transaction: "-- ic:go NAME".
const hookMarker = "-- ic:go "

// runMigration executes one migration file; the steps SQL cannot do (the
// log's hashes) run at their marker.
func runMigration(ctx context.Context, tx *sql.Tx, body string, schema int) error {
	parts := strings.Split(body, hookMarker)
	for i, part := range parts {
		if i > 0 {
			name, rest, _ := strings.Cut(part, "\n")
			switch strings.TrimSpace(name) {
			case "build-log":
				if err := buildLog(ctx, tx, schema); err != nil {
					return err
				}
			default:
				return fmt.Errorf("unknown migration step %q", name)
			}
			part = rest
		}
		if strings.TrimSpace(part) == "" {
			continue
		}
		if _, err := tx.ExecContext(ctx, part); err != nil {
			return err
		}
	}
	return nil
}

// checkPragmas reads the settings back: go-sqlite3 ignores unknown DSN keys
// silently, so a typo would otherwise run the ledger without durability.
func (d *DB) checkPragmas(ctx context.Context) error {
	want := []struct{ pragma, value string }{
		{"journal_mode", "wal"},
		{"synchronous", "2"},
		{"foreign_keys", "1"},
		{"recursive_triggers", "1"},
	}
	for _, w := range want {
		var got string
		if err := d.sql.QueryRowContext(ctx, "PRAGMA "+w.pragma).Scan(&got); err != nil {
			return fmt.Errorf("ledger %s: read pragma %s: %w", d.path, w.pragma, err)
		}
		if !strings.EqualFold(got, w.value) {
			return fmt.Errorf("ledger %s: pragma %s is %q, want %q: refusing to run without it", d.path, w.pragma, got, w.value)
		}
	}
	var timeout int
	if err := d.sql.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&timeout); err != nil || timeout < 1000 {
		return fmt.Errorf("ledger %s: busy_timeout is %d ms, want at least 1000", d.path, timeout)
	}
	return nil
}

// describeFSError adds what to do for the storage errors an operator meets.
func describeFSError(err error) error {
	msg := err.Error()
	switch {
	case errors.Is(err, os.ErrPermission) || strings.Contains(msg, "readonly") || strings.Contains(msg, "read-only") || strings.Contains(msg, "permission denied"):
		return fmt.Errorf("%w (the ledger or its folder is read-only: check permissions, or use --db)", err)
	case strings.Contains(msg, "disk is full") || strings.Contains(msg, "no space left"):
		return fmt.Errorf("%w (the disk is full: free space; nothing was written)", err)
	}
	return err
}

// eventSelect reads events with their incident's full id: events refer to
// incidents by a compact row number, the id itself is stored once.
const eventSelect = "SELECT i.id, e.seq, e.time, e.actor, e.identity, e.type, e.payload, e.prev_hash, e.hash, e.idem_key, e.log_idx FROM events e JOIN incidents i ON i.n = e.incident"

// byID selects one incident's events by its full id.
const byID = "e.incident = (SELECT n FROM incidents WHERE id = ?)"

const insertEventSQL = "INSERT INTO events (incident, seq, time, actor, identity, type, payload, prev_hash, hash, idem_key, log_idx) VALUES (?,?,?,?,?,?,?,?,?,?,?)"

type rowScanner interface{ Scan(...any) error }

func scanEvent(r rowScanner) (Event, error) {
	var e Event
	var t int64
	var identity sql.NullString
	var logIdx sql.NullInt64
	var prev, hash, payload []byte
	if err := r.Scan(&e.Incident, &e.Seq, &t, &e.Actor, &identity, &e.Type, &payload, &prev, &hash, &e.Key, &logIdx); err != nil {
		return e, err
	}
	e.Identity = identity.String
	e.LogIndex = logIdx.Int64
	if !logIdx.Valid {
		e.LogIndex = -1
	}
	e.Payload = payload
	e.Time = time.UnixMilli(t).UTC()
	copy(e.PrevHash[:], prev)
	copy(e.Hash[:], hash)
	return e, nil
}

// Incident is the declaration record of an incident (or a routine run).
type Incident struct {
	ID         string    `json:"id"`
	Book       string    `json:"book"`
	Title      string    `json:"title"`
	Kind       string    `json:"kind"`
	Drill      bool      `json:"drill"`
	DeclaredAt time.Time `json:"declared_at"`
	DeclaredBy string    `json:"declared_by"`
}

// Short is the id as shown: INC-xxxxxx.
func (i Incident) Short() string { return ShortID(i.ID) }

// Hash is the incident row's hash, its leaf in the log (README "The
// ledger").
func (i Incident) Hash() Hash { return incidentHash(i) }

// byKey returns the event appended with idempotency key key.
func byKey(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, key string) (Event, error) {
	e, err := scanEvent(q.QueryRowContext(ctx, eventSelect+" WHERE e.idem_key = ?", key))
	if errors.Is(err, sql.ErrNoRows) {
		return e, ErrNotFound
	}
	return e, err
}

// EventByKey returns the event written with idempotency key key, if any:
// for a caller that must know before validating a retry.
func (d *DB) EventByKey(ctx context.Context, key string) (Event, bool, error) {
	e, err := byKey(ctx, d.sql, key)
	if errors.Is(err, ErrNotFound) {
		return e, false, nil
	}
	return e, err == nil, err
}

// prepareEvent checks what the caller supplies and fills the identity: a
// caller that says nothing about it gets "asserted", the least it can
// claim.
func prepareEvent(ev *Event) error {
	if ev.Identity == "" {
		ev.Identity = IdentityAsserted
	}
	if err := ValidIdentity(ev.Identity); err != nil {
		return err
	}
	if ev.Key == "" {
		return errors.New("an entry needs an idempotency key")
	}
	return nil
}

// CreateIncident records a new incident and its first event (seq 1) in one
// transaction, each as a leaf of the log. With an idempotency key already
// used it writes nothing: it returns the incident and event stored earlier
// (replayed = true) when the retry is the same declaration byte for byte
// (the time and so the id aside), and a *KeyReusedError otherwise.
func (d *DB) CreateIncident(ctx context.Context, inc Incident, first Event) (Incident, Event, bool, error) {
	if err := prepareEvent(&first); err != nil {
		return inc, first, false, err
	}
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return inc, first, false, d.writeErr(err)
	}
	defer tx.Rollback()
	if prev, err := byKey(ctx, tx, first.Key); err == nil {
		stored, err := incidentTx(ctx, tx, prev.Incident)
		if err != nil {
			return inc, first, false, err
		}
		differs := sameEntry(prev, prev.Incident, first)
		switch {
		case differs != "":
		case prev.Seq != 1:
			differs = "incident (the key belongs to a later entry)"
		case stored.Book != inc.Book:
			differs = "book"
		case stored.Title != inc.Title:
			differs = "title"
		case stored.Kind != inc.Kind:
			differs = "kind"
		case stored.Drill != inc.Drill:
			differs = "drill flag"
		case stored.DeclaredBy != inc.DeclaredBy:
			differs = "declared_by"
		}
		if differs != "" {
			return inc, first, false, &KeyReusedError{Key: first.Key, Earlier: prev, Differs: differs}
		}
		return stored, prev, true, nil
	} else if !errors.Is(err, ErrNotFound) {
		return inc, first, false, err
	}
	lg, err := beginLog(ctx, tx)
	if err != nil {
		return inc, first, false, d.writeErr(err)
	}
	idx, err := lg.add(ctx, Leaf{LeafIncident, incidentHash(inc)})
	if err != nil {
		return inc, first, false, d.writeErr(err)
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO incidents (id, book, title, kind, drill, declared_at, declared_by, log_idx) VALUES (?,?,?,?,?,?,?,?)`,
		inc.ID, inc.Book, inc.Title, inc.Kind, inc.Drill, inc.DeclaredAt.UnixMilli(), inc.DeclaredBy, idx)
	if err != nil {
		return inc, first, false, d.writeErr(err)
	}
	n, err := res.LastInsertId()
	if err != nil {
		return inc, first, false, err
	}
	first.Incident, first.Seq, first.PrevHash = inc.ID, 1, Hash{}
	first.Hash = first.computeHash()
	if err := insertEvent(ctx, tx, lg, n, &first); err != nil {
		return inc, first, false, d.writeErr(err)
	}
	if err := lg.save(ctx); err != nil {
		return inc, first, false, d.writeErr(err)
	}
	if err := tx.Commit(); err != nil {
		return inc, first, false, d.writeErr(err)
	}
	return inc, first, false, nil
}

// insertEvent writes e (hash computed) as the log's next leaf.
func insertEvent(ctx context.Context, tx *sql.Tx, lg *logAppender, n int64, e *Event) error {
	idx, err := lg.add(ctx, Leaf{LeafEvent, e.Hash})
	if err != nil {
		return err
	}
	e.LogIndex = idx
	_, err = tx.ExecContext(ctx, insertEventSQL,
		n, e.Seq, e.Time.UnixMilli(), e.Actor, e.Identity, e.Type, string(e.Payload), e.PrevHash[:], e.Hash[:], e.Key, idx)
	return err
}

// Append adds ev after the incident's head. expected is the head seq the
// caller validated against; if another writer appended since, Append
// returns ErrConflict and writes nothing. With an idempotency key already
// used, it returns the event stored earlier (replayed = true) when incident,
// type, actor, identity and payload are byte for byte the same, and a
// *KeyReusedError otherwise; this check is made inside the write
// transaction. The event is acknowledged only after the commit returns.
func (d *DB) Append(ctx context.Context, incident string, expected int64, ev Event) (stored Event, replayed bool, err error) {
	if err := prepareEvent(&ev); err != nil {
		return ev, false, err
	}
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return ev, false, d.writeErr(err)
	}
	defer tx.Rollback()
	if prev, err := byKey(ctx, tx, ev.Key); err == nil {
		if differs := sameEntry(prev, incident, ev); differs != "" {
			return ev, false, &KeyReusedError{Key: ev.Key, Earlier: prev, Differs: differs}
		}
		return prev, true, nil
	} else if !errors.Is(err, ErrNotFound) {
		return ev, false, err
	}
	n, head, err := headTx(ctx, tx, incident)
	if err != nil {
		return ev, false, err
	}
	if head.Seq != expected {
		return ev, false, ErrConflict
	}
	lg, err := beginLog(ctx, tx)
	if err != nil {
		return ev, false, d.writeErr(err)
	}
	ev.Incident, ev.Seq, ev.PrevHash = incident, head.Seq+1, head.Hash
	ev.Hash = ev.computeHash()
	if err := insertEvent(ctx, tx, lg, n, &ev); err != nil {
		return ev, false, d.writeErr(err)
	}
	if err := lg.save(ctx); err != nil {
		return ev, false, d.writeErr(err)
	}
	if err := tx.Commit(); err != nil {
		return ev, false, d.writeErr(err)
	}
	return ev, false, nil
}

// AppendBatch appends events to one incident in a single transaction, in
// order, chaining each to the one before; for imports and generators.
// Keys must be new. It returns the new head.
func (d *DB) AppendBatch(ctx context.Context, incident string, events []Event) (Head, error) {
	for i := range events {
		if err := prepareEvent(&events[i]); err != nil {
			return Head{}, err
		}
	}
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return Head{}, d.writeErr(err)
	}
	defer tx.Rollback()
	n, head, err := headTx(ctx, tx, incident)
	if err != nil {
		return head, err
	}
	lg, err := beginLog(ctx, tx)
	if err != nil {
		return head, d.writeErr(err)
	}
	stmt, err := tx.PrepareContext(ctx, insertEventSQL)
	if err != nil {
		return head, err
	}
	defer stmt.Close()
	for i := range events {
		e := &events[i]
		e.Incident, e.Seq, e.PrevHash = incident, head.Seq+1, head.Hash
		e.Hash = e.computeHash()
		idx, err := lg.add(ctx, Leaf{LeafEvent, e.Hash})
		if err != nil {
			return head, d.writeErr(err)
		}
		e.LogIndex = idx
		if _, err := stmt.ExecContext(ctx, n, e.Seq, e.Time.UnixMilli(), e.Actor, e.Identity, e.Type, string(e.Payload), e.PrevHash[:], e.Hash[:], e.Key, idx); err != nil {
			return head, d.writeErr(err)
		}
		head = Head{Seq: e.Seq, Hash: e.Hash}
	}
	if err := lg.save(ctx); err != nil {
		return head, d.writeErr(err)
	}
	if err := tx.Commit(); err != nil {
		return head, d.writeErr(err)
	}
	return head, nil
}

// writeErr names the ledger file and explains storage errors.
func (d *DB) writeErr(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("ledger %s: write failed: %w", d.path, describeFSError(err))
}

// headTx returns the incident's row number and newest event.
func headTx(ctx context.Context, tx *sql.Tx, incident string) (int64, Head, error) {
	var n int64
	var h Head
	var hash []byte
	err := tx.QueryRowContext(ctx, "SELECT i.n, e.seq, e.hash FROM incidents i JOIN events e ON e.incident = i.n WHERE i.id = ? ORDER BY e.seq DESC LIMIT 1", incident).Scan(&n, &h.Seq, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, h, fmt.Errorf("incident %s: %w", ShortID(incident), ErrNotFound)
	}
	copy(h.Hash[:], hash)
	return n, h, err
}

// Head returns the newest event's seq and hash.
func (d *DB) Head(ctx context.Context, incident string) (Head, error) {
	var h Head
	var hash []byte
	err := d.sql.QueryRowContext(ctx, "SELECT e.seq, e.hash FROM events e WHERE "+byID+" ORDER BY e.seq DESC LIMIT 1", incident).Scan(&h.Seq, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return h, fmt.Errorf("incident %s: %w", ShortID(incident), ErrNotFound)
	}
	copy(h.Hash[:], hash)
	return h, err
}

// Page returns up to limit events with seq < before (0: from the head),
// oldest first: the slice of the timeline just above "before".
func (d *DB) Page(ctx context.Context, incident string, before int64, limit int) ([]Event, error) {
	if before <= 0 {
		before = 1<<62 - 1
	}
	rows, err := d.sql.QueryContext(ctx, eventSelect+" WHERE "+byID+" AND e.seq < ? ORDER BY e.seq DESC LIMIT ?", incident, before, limit)
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
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, rows.Err()
}

// Range selects events of one incident (or all incidents when Incident is
// empty), in (incident, seq) order.
type Range struct {
	Incident string
	Types    []string
	Since    time.Time
	Until    time.Time
	AfterSeq int64
}

// Events calls fn for each event in r, in order; fn returning an error
// stops the walk.
func (d *DB) Events(ctx context.Context, r Range, fn func(Event) error) error {
	var where []string
	var args []any
	if r.Incident != "" {
		where = append(where, byID)
		args = append(args, r.Incident)
	}
	if len(r.Types) > 0 {
		where = append(where, "e.type IN ("+strings.TrimSuffix(strings.Repeat("?,", len(r.Types)), ",")+")")
		for _, t := range r.Types {
			args = append(args, t)
		}
	}
	if !r.Since.IsZero() {
		where = append(where, "e.time >= ?")
		args = append(args, r.Since.UnixMilli())
	}
	if !r.Until.IsZero() {
		where = append(where, "e.time < ?")
		args = append(args, r.Until.UnixMilli())
	}
	if r.AfterSeq > 0 {
		where = append(where, "e.seq > ?")
		args = append(args, r.AfterSeq)
	}
	q := eventSelect
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY e.incident, e.seq"
	rows, err := d.sql.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return err
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Latest returns the newest event of the incident whose type is one of
// types.
func (d *DB) Latest(ctx context.Context, incident string, types ...string) (Event, bool, error) {
	var best Event
	found := false
	for _, t := range types {
		e, err := scanEvent(d.sql.QueryRowContext(ctx, eventSelect+" WHERE "+byID+" AND e.type = ? ORDER BY e.seq DESC LIMIT 1", incident, t))
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return best, false, err
		}
		if !found || e.Seq > best.Seq {
			best, found = e, true
		}
	}
	return best, found, nil
}

// LatestSeqs returns the newest seq of each event type present in an
// incident's timeline, in one indexed query.
func (d *DB) LatestSeqs(ctx context.Context, incident string) (map[string]int64, error) {
	rows, err := d.sql.QueryContext(ctx, "SELECT e.type, max(e.seq) FROM events e WHERE "+byID+" GROUP BY e.type", incident)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var t string
		var seq int64
		if err := rows.Scan(&t, &seq); err != nil {
			return nil, err
		}
		out[t] = seq
	}
	return out, rows.Err()
}

// Event returns one event by seq.
func (d *DB) Event(ctx context.Context, incident string, seq int64) (Event, error) {
	e, err := scanEvent(d.sql.QueryRowContext(ctx, eventSelect+" WHERE "+byID+" AND e.seq = ?", incident, seq))
	if errors.Is(err, sql.ErrNoRows) {
		return e, fmt.Errorf("%s has no event %d: %w", ShortID(incident), seq, ErrNotFound)
	}
	return e, err
}

func incidentTx(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, id string) (Incident, error) {
	var inc Incident
	var at int64
	err := q.QueryRowContext(ctx, "SELECT id, book, title, kind, drill, declared_at, declared_by FROM incidents WHERE id = ?", id).
		Scan(&inc.ID, &inc.Book, &inc.Title, &inc.Kind, &inc.Drill, &at, &inc.DeclaredBy)
	if errors.Is(err, sql.ErrNoRows) {
		return inc, fmt.Errorf("no incident %s: %w", ShortID(id), ErrNotFound)
	}
	inc.DeclaredAt = time.UnixMilli(at).UTC()
	return inc, err
}

// Incident returns one incident's declaration record.
func (d *DB) Incident(ctx context.Context, id string) (Incident, error) {
	return incidentTx(ctx, d.sql, id)
}

// Incidents lists every incident, most recently declared first.
func (d *DB) Incidents(ctx context.Context) ([]Incident, error) {
	rows, err := d.sql.QueryContext(ctx, "SELECT id, book, title, kind, drill, declared_at, declared_by FROM incidents ORDER BY declared_at DESC, id")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Incident
	for rows.Next() {
		var inc Incident
		var at int64
		if err := rows.Scan(&inc.ID, &inc.Book, &inc.Title, &inc.Kind, &inc.Drill, &at, &inc.DeclaredBy); err != nil {
			return nil, err
		}
		inc.DeclaredAt = time.UnixMilli(at).UTC()
		out = append(out, inc)
	}
	return out, rows.Err()
}

// ResolveID finds the incident whose id starts with prefix ("INC-" and
// case are ignored). It fails when none or several match.
func (d *DB) ResolveID(ctx context.Context, prefix string) (string, error) {
	p := strings.ToLower(strings.TrimPrefix(strings.TrimPrefix(prefix, "INC-"), "inc-"))
	if p == "" || strings.Trim(p, "0123456789abcdef") != "" {
		return "", fmt.Errorf("%q is not an incident id: use INC-xxxxxx or a hex prefix ('ic incident list' shows them)", prefix)
	}
	rows, err := d.sql.QueryContext(ctx, "SELECT id FROM incidents WHERE id >= ? AND id < ? ORDER BY id LIMIT 3", p, p+"g")
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return "", err
		}
		ids = append(ids, id)
	}
	switch len(ids) {
	case 0:
		return "", fmt.Errorf("no incident %s ('ic incident list' shows them): %w", prefix, ErrNotFound)
	case 1:
		return ids[0], nil
	}
	short := make([]string, len(ids))
	for i, id := range ids {
		short[i] = id[:12]
	}
	return "", fmt.Errorf("incident id %s is ambiguous: it matches %s: give more digits", prefix, strings.Join(short, ", "))
}

// PutBlob stores evidence bytes under their sha256, once: the first time
// as a leaf of the log (its sha256), later not at all.
func (d *DB) PutBlob(ctx context.Context, sum Hash, data []byte) error {
	if sha256.Sum256(data) != sum {
		return fmt.Errorf("evidence %s: the bytes do not hash to it", sum.Short())
	}
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return d.writeErr(err)
	}
	defer tx.Rollback()
	var one int
	switch err := tx.QueryRowContext(ctx, "SELECT 1 FROM blobs WHERE sha256 = ?", sum[:]).Scan(&one); {
	case err == nil:
		return nil
	case !errors.Is(err, sql.ErrNoRows):
		return d.writeErr(err)
	}
	lg, err := beginLog(ctx, tx)
	if err != nil {
		return d.writeErr(err)
	}
	idx, err := lg.add(ctx, Leaf{LeafBlob, sum})
	if err != nil {
		return d.writeErr(err)
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO blobs (sha256, data, log_idx) VALUES (?, ?, ?)", sum[:], data, idx); err != nil {
		return d.writeErr(err)
	}
	if err := lg.save(ctx); err != nil {
		return d.writeErr(err)
	}
	if err := tx.Commit(); err != nil {
		return d.writeErr(err)
	}
	return nil
}

// Blob returns stored evidence bytes.
func (d *DB) Blob(ctx context.Context, sum Hash) ([]byte, error) {
	var data []byte
	err := d.sql.QueryRowContext(ctx, "SELECT data FROM blobs WHERE sha256 = ?", sum[:]).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("evidence %s: %w", sum.Short(), ErrNotFound)
	}
	return data, err
}
