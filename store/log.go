package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

// The log is one RFC 6962 Merkle tree over every record of the ledger, in
// the order written. Each leaf is a tag byte and the record's 32-byte
// hash; the tree hashes leaves as sha256(0x00 || leaf) and nodes as
// sha256(0x01 || left || right).
const (
	LeafIncident  byte = 1 // incidentHash of the incident row
	LeafEvent     byte = 2 // the event's chain hash (v1 or v2)
	LeafBlob      byte = 3 // sha256 of the evidence bytes
	LeafMigration byte = 4 // migrationHash of a log_migrations row
)

// leafKinds names the tags in messages.
func leafKind(tag byte) string {
	switch tag {
	case LeafIncident:
		return "incident"
	case LeafEvent:
		return "event"
	case LeafBlob:
		return "evidence"
	case LeafMigration:
		return "migration entry"
	}
	return "unknown record (tag " + strconv.Itoa(int(tag)) + ")"
}

// storedLevel is the lowest level of interior nodes kept in log_nodes:
// lower nodes are recomputed from at most 255 leaves when a proof needs
// them, which keeps the table at 1/128 of the leaves.
const storedLevel = 8

// Leaf is one leaf of the log: what kind of record, and its hash.
type Leaf struct {
	Tag  byte
	Hash Hash
}

func (l Leaf) bytes() []byte {
	b := make([]byte, 33)
	b[0] = l.Tag
	copy(b[1:], l.Hash[:])
	return b
}

func parseLeaf(b []byte) (Leaf, bool) {
	if len(b) != 33 {
		return Leaf{}, false
	}
	return Leaf{Tag: b[0], Hash: Hash(b[1:])}, true
}

// leafHash is the RFC 6962 hash of a leaf.
func leafHash(l Leaf) Hash {
	var b [34]byte
	b[1] = l.Tag
	copy(b[2:], l.Hash[:])
	return sha256.Sum256(b[:])
}

// nodeHash is the RFC 6962 hash of an interior node.
func nodeHash(l, r *Hash) Hash {
	var b [65]byte
	b[0] = 1
	copy(b[1:33], l[:])
	copy(b[33:], r[:])
	return sha256.Sum256(b[:])
}

func hashChildren(l, r []byte) []byte {
	h := nodeHash((*Hash)(l), (*Hash)(r))
	return h[:]
}

// emptyRoot is the root of a tree without leaves: sha256 of nothing.
func emptyRoot() Hash { return sha256.Sum256(nil) }

// logRanges makes every compact range of the log; ranges merge only with
// ranges of the same factory. It is never changed.
var logRanges = &compact.RangeFactory{Hash: hashChildren}

func nodeKey(id compact.NodeID) int64 { return int64(id.Level)<<56 | int64(id.Index) }

// incidentHash covers every column of an incident row:
//
//	sha256( "ic.incident.v1" NUL id NUL book NUL title NUL kind NUL
//	        drill NUL declared_at_ms NUL declared_by )
//
// drill is "1" or "0", declared_at_ms the Unix time in milliseconds.
func incidentHash(inc Incident) Hash {
	drill := "0"
	if inc.Drill {
		drill = "1"
	}
	return hashFields("ic.incident.v1", inc.ID, inc.Book, inc.Title, inc.Kind, drill,
		strconv.FormatInt(inc.DeclaredAt.UnixMilli(), 10), inc.DeclaredBy)
}

// migrationHash covers a migration entry:
//
//	sha256( "ic.migration.v1" NUL schema NUL time_ms NUL text )
func migrationHash(schema int, timeMS int64, text string) Hash {
	return hashFields("ic.migration.v1", strconv.Itoa(schema), strconv.FormatInt(timeMS, 10), text)
}

func hashFields(fields ...string) Hash {
	h := sha256.New()
	for i, f := range fields {
		if i > 0 {
			h.Write([]byte{0})
		}
		h.Write([]byte(f))
	}
	var out Hash
	h.Sum(out[:0])
	return out
}

// querier is what reads need: a *sql.DB, *sql.Tx or *sql.Conn.
type querier interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
	QueryRowContext(context.Context, string, ...any) *sql.Row
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}

// logHead is the log's head as stored: its origin, size and compact range.
type logHead struct {
	origin string
	size   uint64
	rng    *compact.Range
}

func (h logHead) root() Hash {
	if h.size == 0 {
		return emptyRoot()
	}
	r, err := h.rng.GetRootHash(nil)
	if err != nil || len(r) != 32 {
		return Hash{}
	}
	return Hash(r)
}

func readHead(ctx context.Context, q querier) (logHead, error) {
	var h logHead
	var size int64
	var hashes []byte
	err := q.QueryRowContext(ctx, "SELECT origin, size, hashes FROM log_head WHERE one = 1").Scan(&h.origin, &size, &hashes)
	if errors.Is(err, sql.ErrNoRows) {
		return h, errors.New("the log head is missing")
	}
	if err != nil {
		return h, err
	}
	if size < 0 || len(hashes)%32 != 0 {
		return h, fmt.Errorf("the log head is damaged (size %d, %d bytes of hashes)", size, len(hashes))
	}
	h.size = uint64(size)
	list := make([][]byte, len(hashes)/32)
	for i := range list {
		list[i] = hashes[i*32 : (i+1)*32 : (i+1)*32]
	}
	h.rng, err = logRanges.NewRange(0, h.size, list)
	if err != nil {
		return h, fmt.Errorf("the log head is damaged: %v", err)
	}
	return h, nil
}

func rangeBytes(r *compact.Range) []byte {
	out := make([]byte, 0, 32*len(r.Hashes()))
	for _, h := range r.Hashes() {
		out = append(out, h...)
	}
	return out
}

// logAppender adds leaves inside a write transaction: each record's leaf
// goes into the log in the transaction that writes the record, and the
// head is saved before the commit.
type logAppender struct {
	tx     *sql.Tx
	head   logHead
	insert *sql.Stmt
}

func beginLog(ctx context.Context, tx *sql.Tx) (*logAppender, error) {
	h, err := readHead(ctx, tx)
	if err != nil {
		return nil, fmt.Errorf("log: %w", err)
	}
	st, err := tx.PrepareContext(ctx, "INSERT INTO log (idx, leaf) VALUES (?, ?)")
	if err != nil {
		return nil, err
	}
	return &logAppender{tx: tx, head: h, insert: st}, nil
}

// add appends a leaf and returns its index.
func (a *logAppender) add(ctx context.Context, l Leaf) (int64, error) {
	idx := a.head.size
	if _, err := a.insert.ExecContext(ctx, int64(idx), l.bytes()); err != nil {
		return 0, err
	}
	lh := leafHash(l)
	var stored []compact.NodeID
	var hashes [][]byte
	err := a.head.rng.Append(lh[:], func(id compact.NodeID, h []byte) {
		if id.Level >= storedLevel {
			stored = append(stored, id)
			hashes = append(hashes, h)
		}
	})
	if err != nil {
		return 0, fmt.Errorf("log: %v", err)
	}
	for i, id := range stored {
		if _, err := a.tx.ExecContext(ctx, "INSERT INTO log_nodes (id, hash) VALUES (?, ?)", nodeKey(id), hashes[i]); err != nil {
			return 0, err
		}
	}
	a.head.size++
	return int64(idx), nil
}

// save writes the head; the size was moved by the log's trigger, one leaf
// at a time, and must agree.
func (a *logAppender) save(ctx context.Context) error {
	a.insert.Close()
	res, err := a.tx.ExecContext(ctx, "UPDATE log_head SET hashes = ? WHERE one = 1 AND size = ?", rangeBytes(a.head.rng), int64(a.head.size))
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return errors.New("log: the head's size does not match the leaves written")
	}
	return nil
}

// tree holds every level of a tree computed in memory: levels[0] are the
// leaf hashes, levels[k][i] the root of leaves [i<<k, (i+1)<<k).
type tree struct {
	levels [][]Hash
}

// buildTree computes every perfect subtree over leaves, splitting the
// wide levels across workers.
func buildTree(leaves []Hash, workers int) tree {
	t := tree{levels: [][]Hash{leaves}}
	for cur := leaves; len(cur) > 1; {
		next := make([]Hash, len(cur)/2)
		parallelRange(len(next), workers, 1<<12, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				next[i] = nodeHash(&cur[2*i], &cur[2*i+1])
			}
		})
		t.levels = append(t.levels, next)
		cur = next
	}
	return t
}

// parallelRange calls fn on [lo, hi) slices of [0, n) on up to workers
// goroutines; below minChunk items it runs inline.
func parallelRange(n, workers, minChunk int, fn func(lo, hi int)) {
	if workers <= 1 || n < 2*minChunk {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := n*w/workers, n*(w+1)/workers
		wg.Go(func() { fn(lo, hi) })
	}
	wg.Wait()
}

// node returns a perfect node's hash, if the tree has it.
func (t tree) node(id compact.NodeID) (Hash, bool) {
	if int(id.Level) >= len(t.levels) || id.Index >= uint64(len(t.levels[id.Level])) {
		return Hash{}, false
	}
	return t.levels[id.Level][id.Index], true
}

// rangeAt is the compact range [0, size) of the tree.
func (t tree) rangeAt(size uint64) [][]byte {
	ids := compact.RangeNodes(0, size, nil)
	out := make([][]byte, len(ids))
	for i, id := range ids {
		h, _ := t.node(id)
		out[i] = h[:]
	}
	return out
}

// rootAt is the root of the first size leaves.
func (t tree) rootAt(size uint64) Hash {
	return rootOfRange(t.rangeAt(size))
}

func rootOfRange(hashes [][]byte) Hash {
	if len(hashes) == 0 {
		return emptyRoot()
	}
	h := Hash(hashes[len(hashes)-1])
	for i := len(hashes) - 2; i >= 0; i-- {
		h = nodeHash((*Hash)(hashes[i]), &h)
	}
	return h
}

// subtreeHash computes the root of the perfect subtree over leaves.
func subtreeHash(leaves []Hash) Hash {
	level := leaves
	for len(level) > 1 {
		next := make([]Hash, len(level)/2)
		for i := range next {
			next[i] = nodeHash(&level[2*i], &level[2*i+1])
		}
		level = next
	}
	return level[0]
}

// nodeHashes reads the hashes of perfect nodes for a proof: stored ones
// from log_nodes, lower ones recomputed from the leaves under them.
func nodeHashes(ctx context.Context, q querier, ids []compact.NodeID) ([][]byte, error) {
	out := make([][]byte, len(ids))
	for i, id := range ids {
		if id.Level >= storedLevel {
			var h []byte
			err := q.QueryRowContext(ctx, "SELECT hash FROM log_nodes WHERE id = ?", nodeKey(id)).Scan(&h)
			if errors.Is(err, sql.ErrNoRows) {
				return nil, fmt.Errorf("log node %d/%d is missing", id.Level, id.Index)
			}
			if err != nil {
				return nil, err
			}
			if len(h) != 32 {
				return nil, fmt.Errorf("log node %d/%d is %d bytes, want 32", id.Level, id.Index, len(h))
			}
			out[i] = h
			continue
		}
		begin, end := id.Coverage()
		leaves, err := readLeafHashes(ctx, q, begin, end)
		if err != nil {
			return nil, err
		}
		h := subtreeHash(leaves)
		out[i] = h[:]
	}
	return out, nil
}

// readLeafHashes reads the leaves [begin, end) and hashes them.
func readLeafHashes(ctx context.Context, q querier, begin, end uint64) ([]Hash, error) {
	rows, err := q.QueryContext(ctx, "SELECT idx, leaf FROM log WHERE idx >= ? AND idx < ? ORDER BY idx", int64(begin), int64(end))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]Hash, 0, end-begin)
	for rows.Next() {
		var idx int64
		var b []byte
		if err := rows.Scan(&idx, &b); err != nil {
			return nil, err
		}
		l, ok := parseLeaf(b)
		if !ok || uint64(idx) != begin+uint64(len(out)) {
			return nil, fmt.Errorf("log index %d is missing or damaged", begin+uint64(len(out)))
		}
		out = append(out, leafHash(l))
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if uint64(len(out)) != end-begin {
		return nil, fmt.Errorf("log index %d is missing", begin+uint64(len(out)))
	}
	return out, nil
}

// inclusionProof proves leaf index is in the tree of size leaves.
func inclusionProof(ctx context.Context, q querier, index, size uint64) ([][]byte, error) {
	nodes, err := proof.Inclusion(index, size)
	if err != nil {
		return nil, err
	}
	hashes, err := nodeHashes(ctx, q, nodes.IDs)
	if err != nil {
		return nil, err
	}
	return nodes.Rehash(hashes, hashChildren)
}

// consistencyProof proves the tree of size1 is a prefix of the tree of
// size2.
func consistencyProof(ctx context.Context, q querier, size1, size2 uint64) ([][]byte, error) {
	nodes, err := proof.Consistency(size1, size2)
	if err != nil {
		return nil, err
	}
	hashes, err := nodeHashes(ctx, q, nodes.IDs)
	if err != nil {
		return nil, err
	}
	return nodes.Rehash(hashes, hashChildren)
}

// rangeFromStore rebuilds the compact range [0, size) from stored nodes
// and leaves.
func rangeFromStore(ctx context.Context, q querier, size uint64) (*compact.Range, error) {
	hashes, err := nodeHashes(ctx, q, compact.RangeNodes(0, size, nil))
	if err != nil {
		return nil, err
	}
	return logRanges.NewRange(0, size, hashes)
}

// VerifyInclusion checks an RFC 6962 inclusion proof of leaf (tag and
// record hash) at index in a tree of size with root: the check a receipt
// or export makes, without a ledger.
func VerifyInclusion(l Leaf, index, size uint64, proofHashes [][]byte, root Hash) error {
	lh := leafHash(l)
	return proof.VerifyInclusion(rfc6962.DefaultHasher, index, size, lh[:], proofHashes, root[:])
}

// verifyConsistency checks an RFC 6962 consistency proof.
func verifyConsistency(size1, size2 uint64, proofHashes [][]byte, root1, root2 Hash) error {
	return proof.VerifyConsistency(rfc6962.DefaultHasher, size1, size2, proofHashes, root1[:], root2[:])
}

// buildLog enters the records that predate the log into it, once, as
// migration 0002 does: the SQL before it gave every record its log index
// and wrote the event and blob leaves; here the incident leaves, the
// migration entry, the interior nodes and the head are written.
func buildLog(ctx context.Context, tx *sql.Tx, schema int) error {
	rows, err := tx.QueryContext(ctx, "SELECT id, book, title, kind, drill, declared_at, declared_by, log_idx FROM incidents ORDER BY n")
	if err != nil {
		return err
	}
	type incLeaf struct {
		idx  int64
		leaf Leaf
	}
	var incs []incLeaf
	for rows.Next() {
		var inc Incident
		var at, idx int64
		if err := rows.Scan(&inc.ID, &inc.Book, &inc.Title, &inc.Kind, &inc.Drill, &at, &inc.DeclaredBy, &idx); err != nil {
			rows.Close()
			return err
		}
		inc.DeclaredAt = time.UnixMilli(at).UTC()
		incs = append(incs, incLeaf{idx, Leaf{LeafIncident, incidentHash(inc)}})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, l := range incs {
		if _, err := tx.ExecContext(ctx, "INSERT INTO log (idx, leaf) VALUES (?, ?)", l.idx, l.leaf.bytes()); err != nil {
			return err
		}
	}
	var before int64
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM log").Scan(&before); err != nil {
		return err
	}
	var nEvents, nBlobs int64
	if err := tx.QueryRowContext(ctx, "SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM blobs)").Scan(&nEvents, &nBlobs); err != nil {
		return err
	}
	now := time.Now().UTC().UnixMilli()
	text := fmt.Sprintf("schema %d: the Merkle log starts; %d record(s) written before it entered it here (%d incident(s) by row, %d event(s) in (incident, seq) order, %d evidence blob(s) by sha256)",
		schema, before, len(incs), nEvents, nBlobs)
	mh := migrationHash(schema, now, text)
	if _, err := tx.ExecContext(ctx, "INSERT INTO log (idx, leaf) VALUES (?, ?)", before, Leaf{LeafMigration, mh}.bytes()); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO log_migrations (log_idx, schema, time, text) VALUES (?, ?, ?, ?)", before, schema, now, text); err != nil {
		return err
	}
	leaves, err := readLeafHashes(ctx, tx, 0, uint64(before+1))
	if err != nil {
		return fmt.Errorf("build the log: %w", err)
	}
	t := buildTree(leaves, runtime.GOMAXPROCS(0))
	for level := storedLevel; level < len(t.levels); level++ {
		for i, h := range t.levels[level] {
			if _, err := tx.ExecContext(ctx, "INSERT INTO log_nodes (id, hash) VALUES (?, ?)", nodeKey(compact.NewNodeID(uint(level), uint64(i))), h[:]); err != nil {
				return err
			}
		}
	}
	size := uint64(len(leaves))
	var origin [16]byte
	rand.Read(origin[:])
	rng, err := logRanges.NewRange(0, size, t.rangeAt(size))
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, "INSERT INTO log_head (one, origin, size, hashes) VALUES (1, ?, ?, ?)",
		"ic-ledger/"+hex.EncodeToString(origin[:]), int64(size), rangeBytes(rng))
	return err
}
