package verifier

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/herumi/bls-eth-go-binary/bls"
)

// Committee is a sync committee whose root was proven by a verified Merkle
// branch. Its keys are decoded the first time a check needs them (from the
// committee cache when it holds this root, else from the compressed keys),
// so a committee handed on by the last update of a walk costs nothing.
type Committee struct {
	Period uint64
	Root   Root

	compressed SyncCommittee // exactly the bytes that hash to Root
	store      *committeeStore

	once   sync.Once
	loaded atomic.Bool
	keys   []bls.PublicKey
	total  bls.PublicKey // the sum of keys
	err    error

	bindOnce  sync.Once
	bound     []byte     // a cache entry bound to Root, nil when none is
	bindEvent CacheEvent // what the cache said, when no entry is bound
	firstUsed atomic.Bool
}

// ready decodes the keys once; every later call returns at once.
func (c *Committee) ready() error {
	c.once.Do(func() {
		c.keys, c.total, c.err = c.store.keysFor(c)
		c.loaded.Store(true)
	})
	return c.err
}

// boundEntry is the committee's cache entry when the cache holds one whose
// points are this committee's keys (read and checked once, points not yet
// loaded), else nil.
func (c *Committee) boundEntry() []byte {
	c.bindOnce.Do(func() { c.bound, c.bindEvent = c.store.bind(c) })
	return c.bound
}

// CommitteeCache keeps decoded committees across runs, by committee root.
// The verifier owns the entry format and checks every entry it gets back
// against the root it asked for, so an implementation stores bytes and
// nothing more: files in a folder (DirCache), a table, memory.
type CommitteeCache interface {
	// Get returns the entry stored for root, or an error wrapping
	// ErrNotCached when there is none.
	Get(root Root) ([]byte, error)
	// Put stores the entry for root, replacing any earlier one.
	Put(root Root, entry []byte) error
}

// ErrNotCached is what a CommitteeCache's Get wraps when it has no entry.
var ErrNotCached = errors.New("not in the committee cache")

// CacheEvent is one committee looked up in the committee cache, for the
// report.
type CacheEvent struct {
	Period  uint64 `json:"period"`
	Root    string `json:"root"`
	Outcome string `json:"outcome"`          // hit, miss, or ignored (an entry that failed its checks)
	Reason  string `json:"reason,omitempty"` // why an entry was ignored
	// Stored says whether the committee, decoded after a miss or an
	// ignored entry, was written to the cache; StoreError why not.
	Stored     bool   `json:"stored,omitempty"`
	StoreError string `json:"store_error,omitempty"`
}

// The committee cache entry: a magic line, the committee root, then the 512
// keys and the aggregate key as uncompressed points (x || y, 96 bytes each,
// big-endian with the ZCash flag bits, as herumi writes them in ETH mode).
// The root binds the points: on load each point is compressed again and must
// equal the committee's own compressed key, whose hash tree root was proven.
const (
	entryMagic      = "ic committee v1\n"
	uncompressedLen = 2 * pubkeySize
	entryPoints     = SyncCommitteeSize + 1
	entrySize       = len(entryMagic) + 32 + entryPoints*uncompressedLen
)

// halfP is (p-1)/2 for BLS12-381's base field: a y above it is the
// "lexicographically largest" root, flagged by 0x20 in a compressed key.
var halfP = mustHex("0d0088f51cbff34d258dd3db21a5d66bb23ba5c279c2895fb39869507b587b120f55ffff58a9ffffdcff7fffffffd555")

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// compressedFrom is the compressed encoding of an uncompressed point,
// computed from its bytes: x with the compression flag, and the sign flag
// when y is the larger root.
func compressedFrom(point []byte) [pubkeySize]byte {
	var out [pubkeySize]byte
	copy(out[:], point[:pubkeySize])
	out[0] |= 0x80
	if bytes.Compare(point[pubkeySize:uncompressedLen], halfP) > 0 {
		out[0] |= 0x20
	}
	return out
}

// committeeStore is what a Checker keeps about committees: the decoded ones
// in memory by (period, root), the cache across runs, the choice of key
// checks, and a log of cache use for the report. Checkers made for other
// chains' settings during one check share it.
type committeeStore struct {
	cache  CommitteeCache
	strict bool

	mu     sync.Mutex
	byKey  map[committeeKey]*Committee
	roots  map[[32]byte]Root // sha256 of a committee's bytes -> its hash tree root
	events []CacheEvent
}

type committeeKey struct {
	period uint64
	root   Root
}

func newCommitteeStore(cache CommitteeCache, strict bool) *committeeStore {
	return &committeeStore{cache: cache, strict: strict, byKey: map[committeeKey]*Committee{}, roots: map[[32]byte]Root{}}
}

// rootOf is c's hash tree root, remembered by a sha256 of its bytes: a
// checker sees the same next committee in every update of a period, and
// one sha256 over 24 KiB costs a tenth of the 1,500 hashes of the tree.
func (s *committeeStore) rootOf(c SyncCommittee) Root {
	h := sha256.New()
	var n [8]byte
	write := func(pk []byte) {
		binary.LittleEndian.PutUint64(n[:], uint64(len(pk)))
		h.Write(n[:])
		h.Write(pk)
	}
	for _, pk := range c.Pubkeys {
		write(pk)
	}
	write(c.AggregatePubkey)
	var digest [32]byte
	h.Sum(digest[:0])
	s.mu.Lock()
	root, ok := s.roots[digest]
	s.mu.Unlock()
	if ok {
		return root
	}
	root = c.HashTreeRoot()
	s.mu.Lock()
	s.roots[digest] = root
	s.mu.Unlock()
	return root
}

// committee returns the one Committee for (period, root), made on first
// use; its keys are decoded later, when a check needs them.
func (s *committeeStore) committee(period uint64, root Root, c SyncCommittee) *Committee {
	key := committeeKey{period, root}
	s.mu.Lock()
	defer s.mu.Unlock()
	if got, ok := s.byKey[key]; ok {
		return got
	}
	// A copy: the keys are decoded later, and the caller's slices may have
	// changed by then; these bytes are the ones whose root was proven.
	own := SyncCommittee{Pubkeys: make([][]byte, len(c.Pubkeys)), AggregatePubkey: bytes.Clone(c.AggregatePubkey)}
	for i, pk := range c.Pubkeys {
		own.Pubkeys[i] = bytes.Clone(pk)
	}
	out := &Committee{Period: period, Root: root, compressed: own, store: s}
	s.byKey[key] = out
	return out
}

func (s *committeeStore) log(e CacheEvent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, e)
}

func (s *committeeStore) cacheEvents() []CacheEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]CacheEvent(nil), s.events...)
}

// bind reads c's cache entry and checks it is bound to c's root; a bound
// entry is a hit (its points are loaded later, when keys are needed).
func (s *committeeStore) bind(c *Committee) ([]byte, CacheEvent) {
	event := CacheEvent{Period: c.Period, Root: fmt.Sprintf("0x%x", c.Root), Outcome: "miss"}
	if s.cache == nil {
		return nil, event
	}
	entry, err := s.cache.Get(c.Root)
	if err == nil {
		if err = bindEntry(entry, c.Root, c.compressed); err == nil {
			event.Outcome = "hit"
			s.log(event)
			return entry, event
		}
	}
	if !errors.Is(err, ErrNotCached) {
		event.Outcome, event.Reason = "ignored", err.Error()
	}
	return nil, event
}

// keysFor decodes c's keys: from its bound cache entry when it has one and
// its points load, else from the compressed keys (then stored in the cache).
func (s *committeeStore) keysFor(c *Committee) ([]bls.PublicKey, bls.PublicKey, error) {
	event := c.bindEvent
	if entry := c.boundEntry(); entry != nil {
		keys, total, err := loadPoints(entry, s.strict)
		if err == nil {
			return keys, total, nil
		}
		event = CacheEvent{Period: c.Period, Root: fmt.Sprintf("0x%x", c.Root), Outcome: "ignored", Reason: err.Error()}
	} else {
		event = c.bindEvent
	}
	keys, total, err := decodeCommittee(c.compressed, s.strict)
	if err != nil {
		return nil, total, fmt.Errorf("committee of period %d (root 0x%x): %w", c.Period, c.Root, err)
	}
	if s.cache != nil {
		if err := s.cache.Put(c.Root, encodeEntry(c.Root, keys, total)); err != nil {
			event.StoreError = err.Error()
		} else {
			event.Stored = true
		}
		s.log(event)
	}
	return keys, total, nil
}

// decodeCommittee decompresses the keys on every core, each worker summing
// its share, and checks the sum against the committee's aggregate_pubkey.
// Decompression (about 17 µs a key here) is most of a cold check; the
// subgroup check would add about 54 µs a key, so it is done only when
// strict (the root, proven by a verified branch, binds the keys the chain
// validated at deposit).
func decodeCommittee(c SyncCommittee, strict bool) ([]bls.PublicKey, bls.PublicKey, error) {
	ensureBLS()
	n := len(c.Pubkeys)
	keys := make([]bls.PublicKey, n)
	var total bls.PublicKey
	if n == 0 {
		return nil, total, errors.New("no public keys")
	}
	// Workers take chunks of keys as they go, so a core that something
	// else keeps busy (the check running beside this, another process)
	// does not leave the other waiting at the end.
	const chunk = 16
	workers := min(runtime.GOMAXPROCS(0), (n+chunk-1)/chunk)
	partial := make([]bls.PublicKey, workers)
	bad := make([]int, workers)
	var nextChunk atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		bad[w] = -1
		wg.Go(func() {
			for {
				lo := int(nextChunk.Add(1)-1) * chunk
				if lo >= n {
					return
				}
				for i := lo; i < min(lo+chunk, n); i++ {
					pk, ok := parsePubkeyOnCurve(c.Pubkeys[i])
					if !ok || pk.IsZero() || (strict && !pk.IsValidOrder()) {
						bad[w] = i
						return
					}
					keys[i] = pk
					partial[w].Add(&pk)
				}
			}
		})
	}
	wg.Wait()
	for _, i := range bad {
		if i >= 0 {
			return nil, total, fmt.Errorf("pubkey %d is not a valid G1 point%s (code %d)", i, strictNote(strict), PubkeyBad)
		}
	}
	total = partial[0]
	for i := 1; i < workers; i++ {
		total.Add(&partial[i])
	}
	agg, ok := parsePubkeyOnCurve(c.AggregatePubkey)
	if !ok || !agg.IsEqual(&total) {
		return nil, total, errors.New("aggregate_pubkey is not the sum of the committee's keys")
	}
	return keys, total, nil
}

func strictNote(strict bool) string {
	if strict {
		return " in the subgroup"
	}
	return ""
}

// encodeEntry writes the cache entry for a decoded committee.
func encodeEntry(root Root, keys []bls.PublicKey, total bls.PublicKey) []byte {
	out := make([]byte, 0, entrySize)
	out = append(out, entryMagic...)
	out = append(out, root[:]...)
	for i := range keys {
		out = append(out, keys[i].SerializeUncompressed()...)
	}
	return append(out, total.SerializeUncompressed()...)
}

// loadEntry reads a cache entry for root, trusting nothing in it: it must
// be bound to the committee (bindEntry) and its points must load
// (loadPoints).
func loadEntry(entry []byte, root Root, want SyncCommittee, strict bool) ([]bls.PublicKey, bls.PublicKey, error) {
	if err := bindEntry(entry, root, want); err != nil {
		var total bls.PublicKey
		return nil, total, err
	}
	return loadPoints(entry, strict)
}

// bindEntry checks that an entry is for root and holds exactly the
// committee's keys: the size, the magic and the root must match, and every
// point, compressed again from its bytes, must be the committee's own
// compressed key, whose hash tree root was proven.
func bindEntry(entry []byte, root Root, want SyncCommittee) error {
	switch {
	case len(entry) != entrySize:
		return fmt.Errorf("entry is %d bytes, want %d (truncated or not ours)", len(entry), entrySize)
	case string(entry[:len(entryMagic)]) != entryMagic:
		return fmt.Errorf("entry does not start with %q (another format or version)", entryMagic)
	case !bytes.Equal(entry[len(entryMagic):len(entryMagic)+32], root[:]):
		return fmt.Errorf("entry is for committee root 0x%x, not 0x%x", entry[len(entryMagic):len(entryMagic)+32], root)
	case len(want.Pubkeys) != SyncCommitteeSize:
		return fmt.Errorf("the committee has %d keys, want %d", len(want.Pubkeys), SyncCommitteeSize)
	}
	for i := range entryPoints {
		p := entryPoint(entry, i)
		wantKey := want.AggregatePubkey
		if i < SyncCommitteeSize {
			wantKey = want.Pubkeys[i]
		}
		if p[0]&0xe0 != 0 {
			return fmt.Errorf("point %d has compression or infinity flags set", i)
		}
		if got := compressedFrom(p); !bytes.Equal(got[:], wantKey) {
			return fmt.Errorf("point %d is not the committee's key %d", i, i)
		}
	}
	return nil
}

func entryPoint(entry []byte, i int) []byte {
	start := len(entryMagic) + 32 + i*uncompressedLen
	return entry[start : start+uncompressedLen]
}

// loadPoints loads a bound entry's points, each checked to be on the curve
// (and, strict, in the subgroup). The aggregate point stands for the keys'
// sum: ic writes an entry only after summing the keys, and the root binds
// the aggregate as it binds the keys; strict sums them again.
func loadPoints(entry []byte, strict bool) ([]bls.PublicKey, bls.PublicKey, error) {
	ensureBLS()
	var total bls.PublicKey
	// Trusting the root, one goroutine: loading takes a quarter of a check
	// (0.5 µs a point, the on-curve test), and the check runs beside it on
	// the other core. Strict, the subgroup checks (54 µs a key) go on
	// every core.
	keys := make([]bls.PublicKey, SyncCommitteeSize)
	workers := 1
	if strict {
		workers = runtime.GOMAXPROCS(0)
	}
	bad := make([]int, workers)
	load := func(w int) {
		bad[w] = -1
		for i := w * SyncCommitteeSize / workers; i < (w+1)*SyncCommitteeSize/workers; i++ {
			if keys[i].DeserializeUncompressed(entryPoint(entry, i)) != nil || keys[i].IsZero() || (strict && !keys[i].IsValidOrder()) {
				bad[w] = i
				return
			}
		}
	}
	var wg sync.WaitGroup
	for w := 1; w < workers; w++ {
		wg.Go(func() { load(w) })
	}
	load(0)
	wg.Wait()
	for _, i := range bad {
		if i >= 0 {
			return nil, total, fmt.Errorf("point %d is not a valid G1 point%s", i, strictNote(strict))
		}
	}
	if total.DeserializeUncompressed(entryPoint(entry, SyncCommitteeSize)) != nil || total.IsZero() {
		return nil, total, errors.New("the aggregate point is not a valid G1 point")
	}
	if strict {
		sum := keys[0]
		for i := 1; i < len(keys); i++ {
			sum.Add(&keys[i])
		}
		if !sum.IsEqual(&total) {
			return nil, total, errors.New("the aggregate point is not the sum of the keys")
		}
	}
	return keys, total, nil
}

// DirCache is a CommitteeCache of files in one folder (ic passes
// $XDG_CACHE_HOME/ic): one file per committee root, about 48 KiB, written to
// a temporary file and renamed, mode 0600. Only regular files of the exact
// entry size are read; anything else is reported and ignored.
type DirCache struct {
	dir string
}

// DefaultCacheDir is where ic keeps committees: $XDG_CACHE_HOME/ic (or the
// platform's cache folder, ~/.cache/ic on Linux).
func DefaultCacheDir() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache folder for sync committees: %w", err)
	}
	return filepath.Join(dir, "ic"), nil
}

// NewDirCache returns a cache in dir; the folder is made (0700) on the
// first Put.
func NewDirCache(dir string) *DirCache { return &DirCache{dir: dir} }

func (d *DirCache) path(root Root) string {
	return filepath.Join(d.dir, fmt.Sprintf("sync-committee-%x.bin", root))
}

// Get reads the entry for root.
func (d *DirCache) Get(root Root) ([]byte, error) {
	p := d.path(root)
	fi, err := os.Lstat(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", p, ErrNotCached)
	}
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file (%s)", p, fi.Mode().Type())
	}
	if fi.Size() != int64(entrySize) {
		return nil, fmt.Errorf("%s is %d bytes, want %d (truncated or not ours)", p, fi.Size(), entrySize)
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := make([]byte, entrySize)
	if _, err := io.ReadFull(f, b); err != nil {
		return nil, fmt.Errorf("%s: %w (it shrank while being read)", p, err)
	}
	return b, nil
}

// Put writes the entry for root.
func (d *DirCache) Put(root Root, entry []byte) error {
	if err := os.MkdirAll(d.dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(d.dir, ".sync-committee-*.tmp")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(entry)
	cerr := tmp.Close()
	if werr != nil || cerr != nil {
		os.Remove(tmp.Name())
		return errors.Join(werr, cerr)
	}
	if err := os.Rename(tmp.Name(), d.path(root)); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
}
