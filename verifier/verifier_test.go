package verifier

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/herumi/bls-eth-go-binary/bls"
	"github.com/icconsole/ic/internal/beacontest"
	"github.com/icconsole/ic/internal/lightclienttest"
)

func testdata(t testing.TB) string { return lightclienttest.Require(t) }

func read(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type dataset struct {
	boot    *Bootstrap
	updates []*Update
}

func helios(t testing.TB) dataset {
	d := testdata(t)
	boot, err := DecodeBootstrap(read(t, filepath.Join(d, "helios-capella", "bootstrap.json")))
	if err != nil {
		t.Fatal(err)
	}
	var all []*Update
	for _, f := range []string{"updates.json", "finality.json", "optimistic.json"} {
		us, err := DecodeUpdates(read(t, filepath.Join(d, "helios-capella", f)))
		if err != nil {
			t.Fatal(f, err)
		}
		all = append(all, us...)
	}
	return dataset{boot, all}
}

func altairBellatrix(t testing.TB) dataset {
	d := testdata(t)
	boot, err := DecodeBootstrap(read(t, filepath.Join(d, "mainnet-altair-bellatrix", "bootstrap", "slot-004612096.json")))
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(d, "mainnet-altair-bellatrix", "updates", "*.json"))
	var all []*Update
	for _, f := range files {
		us, err := DecodeUpdates(read(t, f))
		if err != nil {
			t.Fatal(f, err)
		}
		all = append(all, us...)
	}
	return dataset{boot, all}
}

func mainnetChecker(t testing.TB) *Checker {
	g, err := DecodeGenesis(read(t, filepath.Join(testdata(t), "beacon_genesis.json")))
	if err != nil {
		t.Fatal(err)
	}
	if g.ValidatorsRoot != MainnetGenesis.ValidatorsRoot {
		t.Fatalf("built-in genesis root differs from the data's")
	}
	return NewChecker(g, MainnetForks)
}

func TestEveryMainnetUpdateVerifies(t *testing.T) {
	for name, ds := range map[string]dataset{"helios-capella": helios(t), "altair-bellatrix": altairBellatrix(t)} {
		t.Run(name, func(t *testing.T) {
			results, err := mainnetChecker(t).Walk(ds.boot, nil, ds.updates)
			if err != nil {
				t.Fatal(err)
			}
			forks := map[string]bool{}
			for _, r := range results {
				if !r.OK() || r.Code != Verified {
					t.Errorf("period %d slot %d: code %d %s: %s", r.Period, r.Slot, r.Code, r.Classification, r.Error)
				}
				forks[r.Fork] = true
			}
			if name == "altair-bellatrix" && !(forks["altair"] && forks["bellatrix"]) {
				t.Errorf("forks seen %v: the walk should cross the Altair/Bellatrix boundary", forks)
			}
			if len(results) != len(ds.updates) {
				t.Errorf("%d results for %d updates", len(results), len(ds.updates))
			}
		})
	}
}

// firstUpdateCheck checks helios update 1 (period 862) with the bootstrap's
// committee, after mutate has changed it.
func firstUpdateCheck(t *testing.T, k *Checker, mutate func(u *Update)) Result {
	t.Helper()
	ds := helios(t)
	c, err := k.TrustBootstrap(ds.boot, nil)
	if err != nil {
		t.Fatal(err)
	}
	u := *ds.updates[0]
	u.Signature = bytes.Clone(u.Signature)
	if u.NextCommittee != nil {
		nc := *u.NextCommittee
		nc.Pubkeys = append([][]byte(nil), nc.Pubkeys...)
		u.NextCommittee = &nc
	}
	u.NextCommitteeBranch = append([]Root(nil), u.NextCommitteeBranch...)
	u.FinalityBranch = append([]Root(nil), u.FinalityBranch...)
	mutate(&u)
	r, _ := k.CheckUpdate(c, &u)
	return r
}

func TestOneFlippedBitFails(t *testing.T) {
	k := mainnetChecker(t)
	cases := map[string]func(u *Update){
		"signature":          func(u *Update) { u.Signature[40] ^= 0x01 },
		"header slot":        func(u *Update) { u.AttestedHeader.Slot ^= 1 },
		"header parent_root": func(u *Update) { u.AttestedHeader.ParentRoot[7] ^= 0x10 },
		"header body_root":   func(u *Update) { u.AttestedHeader.BodyRoot[31] ^= 0x80 },
		"participation bit":  func(u *Update) { u.Bits[3] ^= 0x04 },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			r := firstUpdateCheck(t, k, mutate)
			if r.Code != Invalid && r.Code != SignatureBad {
				t.Errorf("code %d (%s), want 0 or -1", r.Code, r.Error)
			}
			if r.OK() || r.Classification != ClassInvalidSignature {
				t.Errorf("classification %s, want invalid_signature", r.Classification)
			}
		})
	}
	t.Run("fork version", func(t *testing.T) {
		forks := append(ForkSchedule(nil), MainnetForks...)
		for i := range forks {
			if forks[i].Name == "capella" {
				forks[i].Version[3] ^= 0x01
			}
		}
		r := firstUpdateCheck(t, NewChecker(k.Genesis, forks), func(*Update) {})
		if r.Code != Invalid {
			t.Errorf("code %d, want 0", r.Code)
		}
	})
	t.Run("genesis validators root", func(t *testing.T) {
		g := k.Genesis
		g.ValidatorsRoot[0] ^= 0x01
		r := firstUpdateCheck(t, NewChecker(g, MainnetForks), func(*Update) {})
		if r.Code != Invalid {
			t.Errorf("code %d, want 0", r.Code)
		}
	})
	t.Run("unchanged", func(t *testing.T) {
		if r := firstUpdateCheck(t, k, func(*Update) {}); !r.OK() {
			t.Errorf("the unmodified update fails: %+v", r)
		}
	})
}

func TestBrokenProofsAreInvalidProof(t *testing.T) {
	k := mainnetChecker(t)
	otherKey := helios(t).boot.Committee.Pubkeys[0]
	for name, mutate := range map[string]func(u *Update){
		"next committee pubkey replaced": func(u *Update) { u.NextCommittee.Pubkeys[100] = otherKey },
		"next committee branch hash":     func(u *Update) { u.NextCommitteeBranch[2][5] ^= 0x01 },
		"finality branch hash":           func(u *Update) { u.FinalityBranch[0][0] ^= 0x01 },
		"finalized header":               func(u *Update) { u.FinalizedHeader = &BeaconBlockHeader{Slot: 1} },
	} {
		t.Run(name, func(t *testing.T) {
			r := firstUpdateCheck(t, k, mutate)
			if r.OK() || r.Classification != ClassInvalidProof {
				t.Errorf("classification %s (%s), want invalid_proof", r.Classification, r.Error)
			}
		})
	}
	t.Run("a broken next committee is not handed on", func(t *testing.T) {
		ds := helios(t)
		ds.updates[0].NextCommitteeBranch[0][0] ^= 0x01
		results, err := NewChecker(k.Genesis, MainnetForks).Walk(ds.boot, nil, ds.updates)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range results[1:] {
			if r.OK() {
				t.Errorf("period %d verified with a committee whose proof failed", r.Period)
			}
		}
	})
	for name, mutate := range map[string]func(b *Bootstrap){
		"bootstrap branch hash":  func(b *Bootstrap) { b.CommitteeBranch[4][9] ^= 0x01 },
		"bootstrap pubkey":       func(b *Bootstrap) { b.Committee.Pubkeys[5] = b.Committee.Pubkeys[6] },
		"bootstrap aggregate":    func(b *Bootstrap) { b.Committee.AggregatePubkey = b.Committee.Pubkeys[0] },
		"bootstrap header state": func(b *Bootstrap) { b.Header.StateRoot[0] ^= 1 },
	} {
		t.Run(name, func(t *testing.T) {
			ds := helios(t)
			mutate(ds.boot)
			_, err := k.TrustBootstrap(ds.boot, nil)
			var pe *ProofError
			if !errors.As(err, &pe) {
				t.Errorf("err = %v, want a ProofError", err)
			}
		})
	}
	t.Run("checkpoint mismatch", func(t *testing.T) {
		ds := helios(t)
		root := ds.boot.Header.HashTreeRoot()
		if _, err := k.TrustBootstrap(ds.boot, &root); err != nil {
			t.Fatalf("the right checkpoint is refused: %v", err)
		}
		root[0] ^= 1
		if _, err := k.TrustBootstrap(ds.boot, &root); err == nil {
			t.Error("a wrong checkpoint is accepted")
		}
	})
}

func TestBLSVectors(t *testing.T) {
	var v struct {
		FastAggregateVerify []struct {
			Name  string `json:"name"`
			Input struct {
				Pubkeys   []string `json:"pubkeys"`
				Message   string   `json:"message"`
				Signature string   `json:"signature"`
			} `json:"input"`
			Output bool `json:"output"`
		} `json:"fast_aggregate_verify"`
		Verify []struct {
			Name  string `json:"name"`
			Input struct {
				Pubkey    string `json:"pubkey"`
				Message   string `json:"message"`
				Signature string `json:"signature"`
			} `json:"input"`
			Output bool `json:"output"`
		} `json:"verify"`
		G1 []struct {
			Name  string `json:"name"`
			Input struct {
				Pubkey string `json:"pubkey"`
			} `json:"input"`
			Output bool `json:"output"`
		} `json:"deserialization_G1"`
		G2 []struct {
			Name  string `json:"name"`
			Input struct {
				Signature string `json:"signature"`
			} `json:"input"`
			Output bool `json:"output"`
		} `json:"deserialization_G2"`
	}
	if err := json.Unmarshal(read(t, filepath.Join(testdata(t), "bls12-381", "bls_vectors.json")), &v); err != nil {
		t.Fatal(err)
	}
	unhex := func(s string) []byte { b, _ := hex.DecodeString(strings.TrimPrefix(s, "0x")); return b }
	root := func(s string) (r [32]byte) { copy(r[:], unhex(s)); return }
	n := 0
	for _, c := range v.FastAggregateVerify {
		var keys []byte
		for _, k := range c.Input.Pubkeys {
			keys = append(keys, unhex(k)...)
		}
		code := VerifySyncCommittee(keys, unhex(c.Input.Signature), root(c.Input.Message))
		if (code == Verified) != c.Output {
			t.Errorf("%s: code %d, want verified=%v", c.Name, code, c.Output)
		}
		n++
	}
	for _, c := range v.Verify {
		code := VerifySyncCommittee(unhex(c.Input.Pubkey), unhex(c.Input.Signature), root(c.Input.Message))
		if (code == Verified) != c.Output {
			t.Errorf("%s: code %d, want %v", c.Name, code, c.Output)
		}
		n++
	}
	for _, c := range v.G1 {
		if _, ok := parsePubkey(unhex(c.Input.Pubkey)); ok != c.Output {
			t.Errorf("G1 %s: ok=%v, want %v", c.Name, ok, c.Output)
		}
		n++
	}
	for _, c := range v.G2 {
		if _, ok := parseSignature(unhex(c.Input.Signature)); ok != c.Output {
			t.Errorf("G2 %s: ok=%v, want %v", c.Name, ok, c.Output)
		}
		n++
	}
	if n != 44 {
		t.Errorf("ran %d vectors, want 44", n)
	}
}

func TestPrimitiveEdgeCases(t *testing.T) {
	ds := helios(t)
	sig := ds.updates[0].Signature
	keys := bytes.Join(ds.boot.Committee.Pubkeys[:3], nil)
	var root [32]byte
	if c := VerifySyncCommittee(nil, sig, root); c != NoPubkeys {
		t.Errorf("no keys: %d, want -2", c)
	}
	if c := VerifySyncCommittee(keys[:47], sig, root); c != PubkeyBad {
		t.Errorf("47-byte chunk: %d, want -4", c)
	}
	bad := bytes.Clone(keys)
	bad[50] ^= 0xff
	if c := VerifySyncCommittee(bad, sig, root); c != PubkeyBad {
		t.Errorf("corrupt second key: %d, want -4", c)
	}
	if c := VerifySyncCommittee(keys, sig[:95], root); c != SignatureBad {
		t.Errorf("95-byte signature: %d, want -1", c)
	}
	if c := VerifySyncCommittee(keys, sig, root); c != Invalid {
		t.Errorf("wrong message: %d, want 0", c)
	}
	// Zero participants.
	r := firstUpdateCheck(t, mainnetChecker(t), func(u *Update) { u.Bits = [64]byte{} })
	if r.Code != NoPubkeys || r.Classification != ClassBadInput {
		t.Errorf("zero participants: code %d %s, want -2 bad_input", r.Code, r.Classification)
	}
}

func TestForkAtSignatureSlot(t *testing.T) {
	bellatrixStart := uint64(144896 * SlotsPerEpoch)
	for _, c := range []struct {
		slot uint64
		want string
	}{
		{0, "phase0"},
		{bellatrixStart, "altair"}, // the first slot of a fork is signed under the previous one
		{bellatrixStart + 1, "bellatrix"},
		{uint64(194048*SlotsPerEpoch) + 1, "capella"},
		{uint64(364032*SlotsPerEpoch) + 1, "electra"},
	} {
		f, err := MainnetForks.ForSignatureSlot(c.slot)
		if err != nil || f.Name != c.want {
			t.Errorf("slot %d: %s %v, want %s", c.slot, f.Name, err, c.want)
		}
	}
	if currentCommitteeIndex("electra") != 86 || nextCommitteeIndex("fulu") != 87 || finalizedRootIndex("deneb") != 105 {
		t.Error("generalized indices by fork are wrong")
	}
}

func TestDecodeErrorsNameTheField(t *testing.T) {
	ds := helios(t)
	_ = ds
	raw := read(t, filepath.Join(testdata(t), "helios-capella", "updates.json"))
	for name, c := range map[string]struct {
		body []byte
		want string
	}{
		"html":        {[]byte("<html><body>502 Bad Gateway</body></html>"), `not JSON (starts with "<html>`},
		"bits length": {bytes.Replace(raw, []byte(`"sync_committee_bits": "0x`), []byte(`"sync_committee_bits": "0xff`), 1), "field data.sync_aggregate.sync_committee_bits: 65 bytes, want 64"},
		"slot":        {bytes.Replace(raw, []byte(`"slot": "7061719"`), []byte(`"slot": "seven"`), 1), `field data.attested_header.beacon.slot: "seven" is not a decimal number`},
		"truncated":   {raw[:1000], "malformed JSON"},
		"empty":       {nil, "empty body"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := DecodeUpdates(c.body)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want it to contain %q", err, c.want)
			}
		})
	}
}

func TestFailoverClassifiesEachFailure(t *testing.T) {
	deny := beacontest.Answering(t, http.StatusForbidden, "text/plain", "Host not in allowlist")
	down := beacontest.Answering(t, http.StatusBadGateway, "", "<html>502 Bad Gateway</html>")
	html := beacontest.Answering(t, http.StatusOK, "", "<!doctype html><title>login</title>")
	d := loadLC(t)
	good, checkpoint := newFakeBeacon(t, d), d.checkpoint

	// The deny URL carries credentials: they must never be shown.
	denyURL := strings.Replace(deny.URL, "http://", "http://user:s3cret@", 1) + "/?apikey=topsecret"
	eps, err := ParseEndpoints(denyURL + "," + down.URL + "," + good.URL)
	if err != nil {
		t.Fatal(err)
	}
	out, err := CheckOnline(context.Background(), NewClient(eps, 5*time.Second), checkpoint, 867)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Results) != 6 {
		t.Fatalf("%d results, want 6", len(out.Results))
	}
	for _, r := range out.Results {
		if !r.OK() || r.Endpoint != good.URL {
			t.Errorf("period %d: %s via %s", r.Period, r.Classification, r.Endpoint)
		}
	}
	classes := map[Classification]int{}
	for _, a := range out.Attempts {
		classes[a.Classification]++
	}
	if classes[ClassEnvironmentDeny] == 0 || classes[ClassUpstreamOutage] == 0 {
		t.Errorf("attempts %+v: want the deny and the 502 classified", out.Attempts)
	}
	all, _ := json.Marshal(out)
	if bytes.Contains(all, []byte("s3cret")) || bytes.Contains(all, []byte("topsecret")) || bytes.Contains(all, []byte("user:")) {
		t.Errorf("credentials leaked into the report: %s", all)
	}

	t.Run("all fail", func(t *testing.T) {
		eps, _ := ParseEndpoints(deny.URL + "," + down.URL + "," + html.URL)
		_, err := CheckOnline(context.Background(), NewClient(eps, 5*time.Second), checkpoint, 0)
		var fe *FetchError
		if !errors.As(err, &fe) || len(fe.Attempts) != 3 {
			t.Fatalf("err = %v, want a FetchError with 3 attempts", err)
		}
		want := []Classification{ClassEnvironmentDeny, ClassUpstreamOutage, ClassUpstreamOutage}
		for i, a := range fe.Attempts {
			if a.Classification != want[i] {
				t.Errorf("attempt %d: %s (%s), want %s", i, a.Classification, a.Error, want[i])
			}
		}
		if fe.Classification() != ClassUpstreamOutage {
			t.Errorf("overall %s", fe.Classification())
		}
	})
	t.Run("deny header", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Deny-Reason", "egress policy")
			w.WriteHeader(http.StatusServiceUnavailable)
		}))
		defer srv.Close()
		eps, _ := ParseEndpoints(srv.URL)
		_, err := CheckOnline(context.Background(), NewClient(eps, 5*time.Second), checkpoint, 0)
		var fe *FetchError
		if !errors.As(err, &fe) || fe.Classification() != ClassEnvironmentDeny {
			t.Errorf("err = %v, want environment_deny", err)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}))
		defer slow.Close()
		eps, _ := ParseEndpoints(slow.URL)
		_, err := CheckOnline(context.Background(), NewClient(eps, 100*time.Millisecond), checkpoint, 0)
		var fe *FetchError
		if !errors.As(err, &fe) || fe.Attempts[0].Classification != ClassUpstreamOutage || fe.Attempts[0].Error != "timed out" {
			t.Errorf("err = %v, want a timed-out upstream_outage", err)
		}
	})
}

func FuzzDecodeUpdates(f *testing.F) {
	f.Add([]byte(`[{"version":"capella","data":{"attested_header":{"beacon":{"slot":"1"}}}}]`))
	f.Add([]byte(`{"data":{"signature_slot":"x"}}`))
	f.Add([]byte(`<html>`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		us, err := DecodeUpdates(raw)
		if err == nil {
			for _, u := range us {
				_ = u.Participants()
			}
		}
		DecodeBootstrap(raw)
		DecodeGenesis(raw)
		DecodeForkSchedule(raw)
	})
}

func FuzzPrimitive(f *testing.F) {
	f.Add(make([]byte, 48), make([]byte, 96), make([]byte, 32))
	f.Add([]byte{0xc0}, []byte{0xc0}, []byte{})
	f.Fuzz(func(t *testing.T, keys, sig, msg []byte) {
		var root [32]byte
		copy(root[:], msg)
		code := VerifySyncCommittee(keys, sig, root)
		if code < PubkeyBad || code > Verified {
			t.Fatalf("code %d out of range", code)
		}
	})
}

// Benchmarks on the real Capella update with 511 participants.

// cpuPerOp reports the process's CPU time (user + system, every thread)
// per operation beside the wall time: on the shared 2-core machine the
// wall time of the parallel decode depends on what else runs, its CPU time
// much less. Call the returned function after the loop.
func cpuPerOp(b *testing.B) func() {
	cpu := func() time.Duration {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			b.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	start := cpu()
	return func() {
		if b.N > 0 {
			b.ReportMetric(float64(cpu()-start)/float64(b.N), "cpu-ns/op")
		}
	}
}

func benchSetup(b *testing.B) (*Checker, *Bootstrap, *Update) {
	ds := helios(b)
	k := mainnetChecker(b)
	return k, ds.boot, ds.updates[0]
}

// (a) raw FastAggregateVerify on already deserialised keys.
func BenchmarkRawFastAggregateVerify(b *testing.B) {
	k, boot, u := benchSetup(b)
	c, err := k.TrustBootstrap(boot, nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := c.ready(); err != nil {
		b.Fatal(err)
	}
	var keys []bls.PublicKey
	for i := range c.keys {
		if u.Bits[i/8]>>(i%8)&1 == 1 {
			keys = append(keys, c.keys[i])
		}
	}
	fork, _ := k.Forks.ForSignatureSlot(u.SignatureSlot)
	root := SigningRoot(u.AttestedHeader.HashTreeRoot(), ComputeDomain(DomainSyncCommittee, fork.Version, k.Genesis.ValidatorsRoot))
	sig, _ := parseSignature(u.Signature)
	defer cpuPerOp(b)()
	for b.Loop() {
		if !sig.FastAggregateVerify(keys, root[:]) {
			b.Fatal("does not verify")
		}
	}
}

// (b) a full check with the committee cached.
func BenchmarkCheckCachedCommittee(b *testing.B) {
	k, boot, u := benchSetup(b)
	c, err := k.TrustBootstrap(boot, nil)
	if err != nil {
		b.Fatal(err)
	}
	k.CheckUpdate(c, u) // caches the next committee too
	defer cpuPerOp(b)()
	for b.Loop() {
		if r, _ := k.CheckUpdate(c, u); !r.OK() {
			b.Fatal(r.Error)
		}
	}
}

// (c) a cold check: a fresh checker must deserialise the committee (no
// committee cache), keys trusted through the proven root.
func BenchmarkCheckCold(b *testing.B) {
	benchCold(b, Options{})
}

// (c') the same with every key subgroup-checked (StrictKeys).
func BenchmarkCheckColdStrictKeys(b *testing.B) {
	benchCold(b, Options{StrictKeys: true})
}

func benchCold(b *testing.B, opts Options) {
	_, boot, u := benchSetup(b)
	g := mainnetChecker(b).Genesis
	u.NextCommittee = nil // the next committee's deserialisation is not part of this check
	defer cpuPerOp(b)()
	for b.Loop() {
		checkFresh(b, g, opts, boot, u)
	}
}

// checkFresh checks u with a new checker made with opts: the first check
// after a start, with whatever opts.Cache holds.
func checkFresh(b *testing.B, g Genesis, opts Options, boot *Bootstrap, u *Update) {
	k := NewCheckerWith(g, MainnetForks, opts)
	c, err := k.TrustBootstrap(boot, nil)
	if err != nil {
		b.Fatal(err)
	}
	if r, _ := k.CheckUpdate(c, u); !r.OK() {
		b.Fatal(r.Error)
	}
}

// (d) the first check after a restart: a fresh checker whose committee is
// in the committee cache on disk (read, checked against the root, loaded).
func BenchmarkCheckCachedRoot(b *testing.B) {
	benchCachedRoot(b, false)
}

// (d') the same with every key subgroup-checked on load (StrictKeys).
func BenchmarkCheckCachedRootStrictKeys(b *testing.B) {
	benchCachedRoot(b, true)
}

func benchCachedRoot(b *testing.B, strict bool) {
	_, boot, u := benchSetup(b)
	g := mainnetChecker(b).Genesis
	u.NextCommittee = nil
	dir := b.TempDir()
	opts := Options{Cache: NewDirCache(dir), StrictKeys: strict}
	k := NewCheckerWith(g, MainnetForks, opts)
	c, err := k.TrustBootstrap(boot, nil)
	if err != nil {
		b.Fatal(err)
	}
	if r, _ := k.CheckUpdate(c, u); !r.OK() || !k.CacheEvents()[0].Stored {
		b.Fatalf("the committee was not cached: %s %+v", r.Error, k.CacheEvents())
	}
	defer cpuPerOp(b)()
	for b.Loop() {
		checkFresh(b, g, opts, boot, u)
	}
	b.StopTimer()
	if ev := k.CacheEvents(); len(ev) != 1 {
		b.Fatalf("events %+v", ev)
	}
}
