package verifier

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/herumi/bls-eth-go-binary/bls"
	"github.com/icconsole/ic/internal/redact"
)

// Classification says what kind of failure a check met, as O-700 sorts
// them, so the operator knows whether to fix the network, wait for a
// provider, or suspect the data.
type Classification string

const (
	ClassVerified         Classification = "verified"
	ClassEnvironmentDeny  Classification = "environment_deny"  // the runtime may not reach the endpoint
	ClassUpstreamOutage   Classification = "upstream_outage"   // the provider is down or answers garbage
	ClassInvalidSignature Classification = "invalid_signature" // the data arrived and does not verify
	ClassInvalidProof     Classification = "invalid_proof"     // a Merkle branch does not lead to its root
	ClassBadInput         Classification = "bad_input"         // decoding, period or participation errors
	ClassLimitExceeded    Classification = "limit_exceeded"    // an answer over a bound: body size, updates, forks
	ClassRedirectRefused  Classification = "redirect_refused"  // a redirect to another host (or from https to http)
	ClassInterrupted      Classification = "interrupted"       // the caller cancelled the check
)

// Result is the outcome of checking one update.
type Result struct {
	Source         string         `json:"source"`
	Period         uint64         `json:"period"`
	Slot           uint64         `json:"slot"`
	SignatureSlot  uint64         `json:"signature_slot"`
	Fork           string         `json:"fork"`
	ForkVersion    string         `json:"fork_version"`
	Participants   int            `json:"participants"`
	Supermajority  bool           `json:"supermajority"`
	Code           Code           `json:"code"`
	Classification Classification `json:"classification"`
	Finalized      bool           `json:"finality_proven"`
	NextCommittee  bool           `json:"next_committee_proven"`
	AttestedRoot   string         `json:"attested_root,omitempty"`
	SigningRoot    string         `json:"signing_root,omitempty"`
	InputSHA256    string         `json:"input_sha256,omitempty"`
	Endpoint       string         `json:"endpoint,omitempty"`
	Error          string         `json:"error,omitempty"`
	Took           time.Duration  `json:"took_ns"`
}

// OK reports whether the update verified with every proof it carries.
func (r Result) OK() bool { return r.Classification == ClassVerified }

// Options change how a Checker treats committees.
type Options struct {
	// Cache keeps decoded committees across runs; nil keeps them in memory
	// only. ic passes NewDirCache($XDG_CACHE_HOME/ic).
	Cache CommitteeCache
	// StrictKeys subgroup-checks every committee key (about 54 µs a key,
	// 14 ms a committee on two cores) even when a verified Merkle branch
	// binds the committee to a trusted root. Off, the keys are only checked
	// to be on the curve, as Lodestar does; the aggregate of the
	// participants is still subgroup-checked at every check (code -3).
	StrictKeys bool
}

// Checker verifies light-client data. It keeps decoded committees per
// (period, committee root), in memory and, when given a cache, across runs:
// a committee serves ~27 hours, and decoding its 512 keys costs several
// checks. Safe for concurrent use.
type Checker struct {
	Genesis Genesis
	Forks   ForkSchedule

	store *committeeStore
}

// NewChecker makes a checker for a chain (genesis) and fork schedule,
// keeping committees in memory only.
func NewChecker(g Genesis, forks ForkSchedule) *Checker {
	return NewCheckerWith(g, forks, Options{})
}

// NewCheckerWith makes a checker with a committee cache and key checks as
// opts say.
func NewCheckerWith(g Genesis, forks ForkSchedule, opts Options) *Checker {
	return &Checker{Genesis: g, Forks: forks, store: newCommitteeStore(opts.Cache, opts.StrictKeys)}
}

// withChain is a checker for another genesis and fork schedule (one
// provider's) that shares this one's committees.
func (k *Checker) withChain(g Genesis, forks ForkSchedule) *Checker {
	return &Checker{Genesis: g, Forks: forks, store: k.store}
}

// CacheEvents lists every use of the committee cache so far: hits, misses,
// entries stored, and entries ignored with the reason.
func (k *Checker) CacheEvents() []CacheEvent { return k.store.cacheEvents() }

// ProofError is a Merkle branch that does not lead to its stated root.
type ProofError struct{ What string }

func (e *ProofError) Error() string { return e.What }

// TrustBootstrap proves the bootstrap's current committee against its
// header's state root (and, when checkpoint is given, the header against
// the trusted checkpoint block root) and returns it ready for checks.
func (k *Checker) TrustBootstrap(b *Bootstrap, checkpoint *Root) (*Committee, error) {
	headerRoot := b.Header.HashTreeRoot()
	if checkpoint != nil && headerRoot != *checkpoint {
		return nil, &ProofError{fmt.Sprintf("bootstrap header root 0x%x is not the trusted checkpoint 0x%x", headerRoot, *checkpoint)}
	}
	root := k.store.rootOf(b.Committee)
	if !VerifyBranch(root, b.CommitteeBranch, currentCommitteeIndex(b.Version), b.Header.StateRoot) {
		return nil, &ProofError{fmt.Sprintf("bootstrap at slot %d: current_sync_committee_branch does not lead to the header's state_root", b.Header.Slot)}
	}
	return k.store.committee(PeriodAt(b.Header.Slot), root, b.Committee), nil
}

// CheckUpdate verifies one update signed by committee c. It returns the
// result and, when the update carries a next committee whose branch
// verifies, that committee (trusted for the following period).
func (k *Checker) CheckUpdate(c *Committee, u *Update) (Result, *Committee) {
	start := time.Now()
	r := Result{Slot: u.AttestedHeader.Slot, SignatureSlot: u.SignatureSlot, Period: PeriodAt(u.SignatureSlot)}
	r.Participants = u.Participants()
	r.Supermajority = r.Participants >= SupermajorityThreshold
	finish := func(code Code, class Classification, err error) (Result, *Committee) {
		r.Code, r.Classification, r.Took = code, class, time.Since(start)
		if err != nil {
			r.Error = redact.Text(err.Error())
		}
		return r, nil
	}
	fork, err := k.Forks.ForSignatureSlot(u.SignatureSlot)
	if err != nil {
		return finish(Invalid, ClassBadInput, err)
	}
	r.Fork, r.ForkVersion = fork.Name, "0x"+hex.EncodeToString(fork.Version[:])
	if c == nil {
		return finish(NoPubkeys, ClassBadInput, errors.New("no trusted committee for this period"))
	}
	if r.Period != c.Period {
		return finish(Invalid, ClassBadInput, fmt.Errorf("update signed at slot %d is in period %d, but the trusted committee is for period %d", u.SignatureSlot, r.Period, c.Period))
	}
	if u.SignatureSlot <= u.AttestedHeader.Slot {
		return finish(Invalid, ClassBadInput, fmt.Errorf("signature slot %d is not after the attested slot %d", u.SignatureSlot, u.AttestedHeader.Slot))
	}
	attested := u.AttestedHeader.HashTreeRoot()
	domain := ComputeDomain(DomainSyncCommittee, fork.Version, k.Genesis.ValidatorsRoot)
	signing := SigningRoot(attested, domain)
	r.AttestedRoot, r.SigningRoot = "0x"+hex.EncodeToString(attested[:]), "0x"+hex.EncodeToString(signing[:])
	if r.Participants == 0 {
		return finish(NoPubkeys, ClassBadInput, errors.New("no participant: every sync_committee_bits bit is zero"))
	}
	code, keysErr := verifyWith(c, u, r.Participants, signing)
	if code == SignatureBad {
		return finish(SignatureBad, ClassInvalidSignature, errors.New("sync_committee_signature is not a valid G2 point in the subgroup"))
	}
	if keysErr != nil {
		return finish(PubkeyBad, ClassInvalidProof, keysErr)
	}
	switch code {
	case Verified:
	case AggregationFailed:
		return finish(code, ClassInvalidSignature, errors.New("aggregating the participants' keys failed: their sum is the point at infinity or outside the subgroup"))
	default:
		return finish(code, ClassInvalidSignature, fmt.Errorf("the signature by %d participants does not verify over the attested header at slot %d (fork %s)", r.Participants, u.AttestedHeader.Slot, fork.Name))
	}
	if u.FinalizedHeader != nil && !isZeroHeader(*u.FinalizedHeader) {
		if !VerifyBranch(u.FinalizedHeader.HashTreeRoot(), u.FinalityBranch, finalizedRootIndex(u.Version), u.AttestedHeader.StateRoot) {
			return finish(code, ClassInvalidProof, errors.New("finality_branch does not lead to the attested header's state_root"))
		}
		r.Finalized = true
	}
	var next *Committee
	if u.NextCommittee != nil {
		root := k.store.rootOf(*u.NextCommittee)
		if !VerifyBranch(root, u.NextCommitteeBranch, nextCommitteeIndex(u.Version), u.AttestedHeader.StateRoot) {
			return finish(code, ClassInvalidProof, errors.New("next_sync_committee_branch does not lead to the attested header's state_root"))
		}
		r.NextCommittee = true
		next = k.store.committee(PeriodAt(u.AttestedHeader.Slot)+1, root, *u.NextCommittee)
	}
	r.Code, r.Classification, r.Took = code, ClassVerified, time.Since(start)
	return r, next
}

// verifyWith checks u's signature with committee c's participants. With the
// keys decoded already (a warm check) that is one aggregation and one
// pairing check. Otherwise (a cold check, or the first after a restart),
// the keys are decoded or loaded on every core while this goroutine parses
// the signature and verifies with the committee's aggregate_pubkey minus
// the absent participants' keys, decompressed on their own; that result
// counts only once the decoding has confirmed aggregate_pubkey is the sum
// of the keys (decodeCommittee compares them). A cache entry bound to the
// root confirms it too (ic stores an entry only after summing its keys, and
// the root binds its points), so the first check after a restart loads no
// key at all.
func verifyWith(c *Committee, u *Update, participants int, signing Root) (Code, error) {
	if c.loaded.Load() {
		sig, ok := parseSignature(u.Signature)
		if !ok {
			return SignatureBad, nil
		}
		if err := c.ready(); err != nil {
			return PubkeyBad, err
		}
		agg := c.aggregate(&u.Bits, participants)
		return verifyWithAggregate(&agg, &sig, signing), nil
	}
	// The first check with a committee whose cache entry is bound to its
	// root needs no key loaded: the entry confirms aggregate_pubkey is the
	// keys' sum. Later checks load the keys (once) for warm checks.
	if !c.store.strict && c.firstUsed.CompareAndSwap(false, true) && c.boundEntry() != nil {
		sig, ok := parseSignature(u.Signature)
		if !ok {
			return SignatureBad, nil
		}
		if agg, ok := c.aggregateFromCompressed(&u.Bits, participants); ok {
			return verifyWithAggregate(&agg, &sig, signing), nil
		}
	}
	var wg sync.WaitGroup
	var keysErr error
	wg.Go(func() { keysErr = c.ready() })
	sig, ok := parseSignature(u.Signature)
	early, haveEarly := Invalid, false
	if ok {
		var agg bls.PublicKey
		if agg, haveEarly = c.aggregateFromCompressed(&u.Bits, participants); haveEarly {
			early = verifyWithAggregate(&agg, &sig, signing)
		}
	}
	wg.Wait()
	switch {
	case !ok:
		return SignatureBad, nil
	case keysErr != nil:
		return PubkeyBad, keysErr
	case haveEarly:
		return early, nil
	}
	agg := c.aggregate(&u.Bits, participants)
	return verifyWithAggregate(&agg, &sig, signing), nil
}

// aggregateFromCompressed is the participants' aggregate computed as
// aggregate_pubkey minus the absent keys, each decompressed on its own:
// for the usual case of few absent participants; false otherwise, or when
// a key does not decompress (the full decoding will say why).
func (c *Committee) aggregateFromCompressed(bits *[64]byte, participants int) (bls.PublicKey, bool) {
	var agg bls.PublicKey
	absent := len(c.compressed.Pubkeys) - participants
	if len(c.compressed.Pubkeys) != SyncCommitteeSize || absent > SyncCommitteeSize/16 {
		return agg, false
	}
	agg, ok := parsePubkeyOnCurve(c.compressed.AggregatePubkey)
	if !ok {
		return agg, false
	}
	for i := range SyncCommitteeSize {
		if bits[i/8]>>(i%8)&1 == 1 {
			continue
		}
		key, ok := parsePubkeyOnCurve(c.compressed.Pubkeys[i])
		if !ok {
			return agg, false
		}
		bls.G1Sub(bls.CastFromPublicKey(&agg), bls.CastFromPublicKey(&agg), bls.CastFromPublicKey(&key))
	}
	return agg, true
}

// aggregate sums the participants' keys: from the cached total minus the
// absent ones when most participate (the usual case), else directly.
func (c *Committee) aggregate(bits *[64]byte, participants int) bls.PublicKey {
	set := func(i int) bool { return bits[i/8]>>(i%8)&1 == 1 }
	if participants > len(c.keys)/2 {
		agg := c.total
		for i := range c.keys {
			if !set(i) {
				bls.G1Sub(bls.CastFromPublicKey(&agg), bls.CastFromPublicKey(&agg), bls.CastFromPublicKey(&c.keys[i]))
			}
		}
		return agg
	}
	var agg bls.PublicKey
	first := true
	for i := range c.keys {
		if !set(i) {
			continue
		}
		if first {
			agg, first = c.keys[i], false
		} else {
			agg.Add(&c.keys[i])
		}
	}
	return agg
}

func isZeroHeader(h BeaconBlockHeader) bool { return h == BeaconBlockHeader{} }

// Walk checks updates in order from a bootstrap: each update is checked
// with the committee of its signature period, which is the bootstrap's or
// one handed on, proven, by an earlier update. An update whose period has
// no trusted committee (the chain of trust broke before it) is reported,
// not skipped.
func (k *Checker) Walk(b *Bootstrap, checkpoint *Root, updates []*Update) ([]Result, error) {
	first, err := k.TrustBootstrap(b, checkpoint)
	if err != nil {
		return nil, err
	}
	return k.walk(context.Background(), first, updates)
}

// walk checks updates from a trusted first committee, stopping early (with
// the results so far and ctx's error) when ctx ends.
func (k *Checker) walk(ctx context.Context, first *Committee, updates []*Update) ([]Result, error) {
	trusted := map[uint64]*Committee{first.Period: first}
	results := make([]Result, 0, len(updates))
	for _, u := range updates {
		if err := ctx.Err(); err != nil {
			return results, err
		}
		period := PeriodAt(u.SignatureSlot)
		r, next := k.CheckUpdate(trusted[period], u)
		if r.Error != "" && trusted[period] == nil {
			r.Error = fmt.Sprintf("no trusted committee for period %d: the bootstrap is for period %d and no verified update before this one hands on a committee for it", period, first.Period)
		}
		if next != nil {
			trusted[next.Period] = next
		}
		results = append(results, r)
	}
	return results, nil
}
