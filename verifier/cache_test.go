package verifier

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/herumi/bls-eth-go-binary/bls"
)

// decodedBootstrap returns the helios bootstrap, its committee root and its
// keys decoded.
func decodedBootstrap(t testing.TB) (*Bootstrap, Root, []bls.PublicKey, bls.PublicKey) {
	t.Helper()
	ds := helios(t)
	keys, total, err := decodeCommittee(ds.boot.Committee, true)
	if err != nil {
		t.Fatal(err)
	}
	return ds.boot, ds.boot.Committee.HashTreeRoot(), keys, total
}

func TestCompressingAnUncompressedKeyGivesItBack(t *testing.T) {
	boot, _, keys, total := decodedBootstrap(t)
	for i := range keys {
		got := compressedFrom(keys[i].SerializeUncompressed())
		if !bytes.Equal(got[:], boot.Committee.Pubkeys[i]) {
			t.Fatalf("key %d: compressed again %x, want %x", i, got, boot.Committee.Pubkeys[i])
		}
	}
	got := compressedFrom(total.SerializeUncompressed())
	if !bytes.Equal(got[:], boot.Committee.AggregatePubkey) {
		t.Errorf("the sum of the keys is not aggregate_pubkey")
	}
}

func TestTrustedAndStrictDecodingAgree(t *testing.T) {
	ds := helios(t)
	trusted, tTotal, err := decodeCommittee(ds.boot.Committee, false)
	if err != nil {
		t.Fatal(err)
	}
	strict, sTotal, err := decodeCommittee(ds.boot.Committee, true)
	if err != nil {
		t.Fatal(err)
	}
	for i := range trusted {
		if !trusted[i].IsEqual(&strict[i]) {
			t.Fatalf("key %d differs", i)
		}
	}
	if !tTotal.IsEqual(&sTotal) {
		t.Error("totals differ")
	}
}

// notInG1 is a point on the curve outside the subgroup (the consensus
// deserialization vector deserialization_fails_not_in_G1).
func notInG1(t testing.TB) []byte {
	b, err := hex.DecodeString("8123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := parsePubkeyOnCurve(b); !ok {
		t.Fatal("the vector does not decode without the subgroup check")
	}
	if _, ok := parsePubkey(b); ok {
		t.Fatal("the vector passes the subgroup check")
	}
	return b
}

func TestStrictKeysRefuseAPointOutsideTheSubgroup(t *testing.T) {
	ds := helios(t)
	c := ds.boot.Committee
	c.Pubkeys = append([][]byte(nil), c.Pubkeys...)
	c.Pubkeys[7] = notInG1(t)
	if _, _, err := decodeCommittee(c, true); err == nil || !strings.Contains(err.Error(), "pubkey 7 is not a valid G1 point in the subgroup") {
		t.Errorf("strict: err = %v, want pubkey 7 refused", err)
	}
	// Trusting the root, the key decodes, and the aggregate no longer
	// matches: such a committee could never have a proven root.
	if _, _, err := decodeCommittee(c, false); err == nil || !strings.Contains(err.Error(), "aggregate_pubkey") {
		t.Errorf("trusted: err = %v, want the aggregate mismatch", err)
	}
}

// TestAggregationFailedIsCodeMinus3 covers O-700's code -3 in the primitive
// (keys whose sum is the point at infinity) and in a check (a participant's
// key outside the subgroup, which only the aggregate's subgroup check
// catches when keys are trusted through their root).
func TestAggregationFailedIsCodeMinus3(t *testing.T) {
	ds := helios(t)
	sig := ds.updates[0].Signature
	var p, neg bls.PublicKey
	if err := p.Deserialize(ds.boot.Committee.Pubkeys[0]); err != nil {
		t.Fatal(err)
	}
	bls.G1Neg(bls.CastFromPublicKey(&neg), bls.CastFromPublicKey(&p))
	keys := append(bytes.Clone(ds.boot.Committee.Pubkeys[0]), neg.Serialize()...)
	if c := VerifySyncCommittee(keys, sig, [32]byte{}); c != AggregationFailed {
		t.Errorf("P and -P: code %d, want -3", c)
	}

	k := mainnetChecker(t)
	c, err := k.TrustBootstrap(ds.boot, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.ready(); err != nil {
		t.Fatal(err)
	}
	// Put a key outside the subgroup where a participant's key was, as a
	// committee trusted through its root without per-key checks would hold it.
	bad, _ := parsePubkeyOnCurve(notInG1(t))
	c.keys = append([]bls.PublicKey(nil), c.keys...)
	bls.G1Sub(bls.CastFromPublicKey(&c.total), bls.CastFromPublicKey(&c.total), bls.CastFromPublicKey(&c.keys[9]))
	c.keys[9] = bad
	c.total.Add(&bad)
	r, _ := k.CheckUpdate(c, ds.updates[0])
	if r.Code != AggregationFailed || r.Classification != ClassInvalidSignature || r.OK() {
		t.Errorf("code %d %s (%s), want -3 invalid_signature", r.Code, r.Classification, r.Error)
	}
}

func TestCommitteeCacheServesARestart(t *testing.T) {
	dir := t.TempDir()
	ds := helios(t)
	first := NewCheckerWith(mainnetChecker(t).Genesis, MainnetForks, Options{Cache: NewDirCache(dir)})
	results, err := first.Walk(ds.boot, nil, ds.updates[:6])
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if !r.OK() {
			t.Fatalf("period %d: %s", r.Period, r.Error)
		}
	}
	stored := outcomes(first.CacheEvents())
	if stored["miss stored"] != 6 || len(stored) != 1 {
		t.Errorf("first run: %v, want 6 misses, each stored (periods 862-867)", first.CacheEvents())
	}
	files, _ := filepath.Glob(filepath.Join(dir, "sync-committee-*.bin"))
	if len(files) != 6 {
		t.Errorf("%d cache files, want 6", len(files))
	}
	for _, strict := range []bool{false, true} {
		again := NewCheckerWith(mainnetChecker(t).Genesis, MainnetForks, Options{Cache: NewDirCache(dir), StrictKeys: strict})
		results, err = again.Walk(ds.boot, nil, ds.updates[:6])
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range results {
			if !r.OK() {
				t.Errorf("restart (strict %v), period %d: %s", strict, r.Period, r.Error)
			}
		}
		if got := outcomes(again.CacheEvents()); got["hit"] != 6 || len(got) != 1 {
			t.Errorf("restart (strict %v): %v, want 6 hits", strict, again.CacheEvents())
		}
	}
}

func outcomes(events []CacheEvent) map[string]int {
	out := map[string]int{}
	for _, e := range events {
		if e.Stored {
			out[e.Outcome+" stored"]++
		} else {
			out[e.Outcome]++
		}
	}
	return out
}

// TestACorruptCacheEntryIsIgnored damages the cached entry of the
// bootstrap's committee in every way we could think of: each is reported
// with a reason, never trusted, and the check still verifies (from the
// compressed keys, storing a good entry again).
func TestACorruptCacheEntryIsIgnored(t *testing.T) {
	boot, root, keys, total := decodedBootstrap(t)
	good := encodeEntry(root, keys, total)
	pointAt := func(i int) int { return len(entryMagic) + 32 + i*uncompressedLen }
	var neg bls.PublicKey
	bls.G1Neg(bls.CastFromPublicKey(&neg), bls.CastFromPublicKey(&keys[3]))
	otherRoot := root
	otherRoot[0] ^= 1
	for name, c := range map[string]struct {
		damage func(dir, path string)
		reason string
	}{
		"truncated": {func(_, p string) { os.WriteFile(p, good[:len(good)/2], 0o600) }, "truncated or not ours"},
		"empty":     {func(_, p string) { os.WriteFile(p, nil, 0o600) }, "truncated or not ours"},
		"magic":     {func(_, p string) { os.WriteFile(p, append([]byte("xx"), good[2:]...), 0o600) }, "another format or version"},
		"root": {func(_, p string) {
			b := bytes.Clone(good)
			copy(b[len(entryMagic):], otherRoot[:])
			os.WriteFile(p, b, 0o600)
		}, "is for committee root"},
		"two keys swapped": {func(_, p string) {
			b := bytes.Clone(good)
			copy(b[pointAt(1):pointAt(2)], good[pointAt(2):pointAt(3)])
			copy(b[pointAt(2):pointAt(3)], good[pointAt(1):pointAt(2)])
			os.WriteFile(p, b, 0o600)
		}, "point 1 is not the committee's key 1"},
		"a key negated (on the curve, other sign)": {func(_, p string) {
			b := bytes.Clone(good)
			copy(b[pointAt(3):], neg.SerializeUncompressed())
			os.WriteFile(p, b, 0o600)
		}, "point 3 is not the committee's key 3"},
		"y flipped (off the curve)": {func(_, p string) {
			b := bytes.Clone(good)
			b[pointAt(100)+uncompressedLen-1] ^= 0x01
			os.WriteFile(p, b, 0o600)
		}, "point 100 is not a valid G1 point"},
		"aggregate flipped": {func(_, p string) {
			b := bytes.Clone(good)
			b[pointAt(SyncCommitteeSize)+uncompressedLen-1] ^= 0x01
			os.WriteFile(p, b, 0o600)
		}, "aggregate point is not a valid G1 point"},
		"flags": {func(_, p string) {
			b := bytes.Clone(good)
			b[pointAt(5)] |= 0x80
			os.WriteFile(p, b, 0o600)
		}, "point 5 has compression or infinity flags"},
		"a folder": {func(_, p string) { os.Mkdir(p, 0o700) }, "not a regular file"},
		"a FIFO":   {func(_, p string) { syscall.Mkfifo(p, 0o600) }, "not a regular file"},
		"a symlink": {func(dir, p string) {
			os.WriteFile(filepath.Join(dir, "elsewhere"), good, 0o600)
			os.Symlink(filepath.Join(dir, "elsewhere"), p)
		}, "not a regular file"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			cache := NewDirCache(dir)
			path := cache.path(root)
			c.damage(dir, path)
			k := NewCheckerWith(mainnetChecker(t).Genesis, MainnetForks, Options{Cache: cache})
			committee, err := k.TrustBootstrap(boot, nil)
			if err != nil {
				t.Fatal(err)
			}
			// Twice: the first check after a restart may use an entry
			// bound to the root without loading its points; the second
			// loads them.
			for range 2 {
				if r, _ := k.CheckUpdate(committee, helios(t).updates[0]); !r.OK() {
					t.Fatalf("the check fails with a damaged cache: %s", r.Error)
				}
			}
			events := k.CacheEvents()
			last := events[len(events)-1]
			if len(events) > 2 || last.Outcome != "ignored" || !strings.Contains(last.Reason, c.reason) {
				t.Fatalf("events %+v, want the entry ignored because %q", events, c.reason)
			}
			if c.reason != "not a regular file" && !last.Stored {
				t.Errorf("a good entry was not stored in place of the damaged one: %+v", last)
			}
		})
	}
	t.Run("the good entry loads", func(t *testing.T) {
		got, gotTotal, err := loadEntry(good, root, boot.Committee, false)
		if err != nil {
			t.Fatal(err)
		}
		if !got[511].IsEqual(&keys[511]) || !gotTotal.IsEqual(&total) {
			t.Error("loaded points differ")
		}
	})
	t.Run("an entry for another committee with the same root field", func(t *testing.T) {
		other := boot.Committee
		other.Pubkeys = append([][]byte(nil), other.Pubkeys...)
		other.Pubkeys[0], other.Pubkeys[1] = other.Pubkeys[1], other.Pubkeys[0]
		if _, _, err := loadEntry(good, root, other, false); err == nil {
			t.Error("an entry was accepted for a committee whose keys it does not hold")
		}
	})
}

// TestTheEarlyVerdictWaitsForTheKeys: a cold check verifies with
// aggregate_pubkey minus the absent keys while every key is decoded; a
// committee whose keys do not sum to its aggregate_pubkey (here a
// participant's key replaced; no proven root could bind such a committee)
// must fail even though that early verification succeeds.
func TestTheEarlyVerdictWaitsForTheKeys(t *testing.T) {
	ds := helios(t)
	u := ds.updates[0]
	bad := ds.boot.Committee
	bad.Pubkeys = append([][]byte(nil), bad.Pubkeys...)
	i := 0
	for u.Bits[i/8]>>(i%8)&1 == 0 {
		i++
	}
	bad.Pubkeys[i] = bad.Pubkeys[i+1]
	k := mainnetChecker(t)
	c := k.store.committee(PeriodAt(u.SignatureSlot), bad.HashTreeRoot(), bad)
	if agg, ok := c.aggregateFromCompressed(&u.Bits, u.Participants()); !ok {
		t.Fatal("no early aggregate")
	} else if sig, _ := parseSignature(u.Signature); !sig.VerifyByte(&agg, signingRootOf(k, u)) {
		t.Fatal("the early aggregate does not verify: the test proves nothing")
	}
	r, _ := k.CheckUpdate(c, u)
	if r.OK() || r.Code != PubkeyBad || !strings.Contains(r.Error, "aggregate_pubkey is not the sum") {
		t.Errorf("code %d %s: %s; want -4 because the keys do not sum to aggregate_pubkey", r.Code, r.Classification, r.Error)
	}
}

func signingRootOf(k *Checker, u *Update) []byte {
	fork, _ := k.Forks.ForSignatureSlot(u.SignatureSlot)
	root := SigningRoot(u.AttestedHeader.HashTreeRoot(), ComputeDomain(DomainSyncCommittee, fork.Version, k.Genesis.ValidatorsRoot))
	return root[:]
}

func TestRootOfRemembersOnlyTheSameBytes(t *testing.T) {
	ds := helios(t)
	s := newCommitteeStore(nil, false)
	c := ds.boot.Committee
	want := c.HashTreeRoot()
	if first := s.rootOf(c); first != want {
		t.Fatal("rootOf differs from HashTreeRoot")
	}
	if again := s.rootOf(c); again != want {
		t.Fatal("the remembered root differs from HashTreeRoot")
	}
	other := c
	other.Pubkeys = append([][]byte(nil), c.Pubkeys...)
	other.Pubkeys[0], other.Pubkeys[1] = other.Pubkeys[1], other.Pubkeys[0]
	if s.rootOf(other) == want || s.rootOf(other) != other.HashTreeRoot() {
		t.Error("a committee with other bytes got the remembered root")
	}
}

// TestACommitteeKeepsTheBytesItsRootProved: keys are decoded after the
// proof, so the committee must hold its own copy of the proven bytes.
func TestACommitteeKeepsTheBytesItsRootProved(t *testing.T) {
	ds := helios(t)
	k := mainnetChecker(t)
	c, err := k.TrustBootstrap(ds.boot, nil)
	if err != nil {
		t.Fatal(err)
	}
	ds.boot.Committee.Pubkeys[3] = ds.boot.Committee.Pubkeys[4]
	ds.boot.Committee.Pubkeys[5][10] ^= 0x01
	ds.boot.Committee.AggregatePubkey[20] ^= 0x01
	if r, _ := k.CheckUpdate(c, ds.updates[0]); !r.OK() {
		t.Errorf("bytes changed after the proof reached the committee: %s", r.Error)
	}
}

// TestARestartLoadsKeysOnlyWhenAWarmCheckNeedsThem: the first check after
// a restart uses the bound cache entry without loading its points; the
// second loads them once, for the warm checks after it.
func TestARestartLoadsKeysOnlyWhenAWarmCheckNeedsThem(t *testing.T) {
	boot, root, keys, total := decodedBootstrap(t)
	cache := NewDirCache(t.TempDir())
	if err := cache.Put(root, encodeEntry(root, keys, total)); err != nil {
		t.Fatal(err)
	}
	k := NewCheckerWith(mainnetChecker(t).Genesis, MainnetForks, Options{Cache: cache})
	c, err := k.TrustBootstrap(boot, nil)
	if err != nil {
		t.Fatal(err)
	}
	u := helios(t).updates[0]
	for i, wantLoaded := range []bool{false, true, true} {
		if r, _ := k.CheckUpdate(c, u); !r.OK() {
			t.Fatalf("check %d: %s", i+1, r.Error)
		}
		if c.loaded.Load() != wantLoaded {
			t.Errorf("after check %d: loaded %v, want %v", i+1, c.loaded.Load(), wantLoaded)
		}
	}
	if ev := k.CacheEvents(); len(ev) != 1 || ev[0].Outcome != "hit" {
		t.Errorf("events %+v, want one hit", ev)
	}
}
