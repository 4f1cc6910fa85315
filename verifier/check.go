package verifier

import (
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/herumi/bls-eth-go-binary/bls"
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

// Committee is a sync committee whose root was proven, with its keys
// deserialised (subgroup-checked) and their sum, ready for checks.
type Committee struct {
	Period uint64
	Root   Root
	keys   []bls.PublicKey
	total  bls.PublicKey
}

type committeeKey struct {
	period uint64
	root   Root
}

// Checker verifies light-client data. It caches deserialised committees
// per (period, committee root): a committee serves ~27 hours, and
// deserialising its 512 keys costs far more than a check. Safe for
// concurrent use.
type Checker struct {
	Genesis Genesis
	Forks   ForkSchedule

	mu    sync.Mutex
	cache map[committeeKey]*Committee
}

// NewChecker makes a checker for a chain (genesis) and fork schedule.
func NewChecker(g Genesis, forks ForkSchedule) *Checker {
	return &Checker{Genesis: g, Forks: forks, cache: map[committeeKey]*Committee{}}
}

// ProofError is a Merkle branch that does not lead to its stated root.
type ProofError struct{ What string }

func (e *ProofError) Error() string { return e.What }

// committee deserialises c (or returns it from the cache) once its root
// has been proven by the caller.
func (k *Checker) committee(period uint64, root Root, c SyncCommittee) (*Committee, error) {
	key := committeeKey{period, root}
	k.mu.Lock()
	if got, ok := k.cache[key]; ok {
		k.mu.Unlock()
		return got, nil
	}
	k.mu.Unlock()
	ensureBLS()
	keys := make([]bls.PublicKey, len(c.Pubkeys))
	bad := make([]bool, len(keys))
	// Deserialising with subgroup checks is 94% of a cold check: spread it
	// over every core. Two goroutines per core keep both busy across the
	// cgo calls (measured on 2 cores: 512 keys in 33 ms on one goroutine,
	// 24 ms on two, 21 ms on four).
	workers := 2 * runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(keys); i += workers {
				pk, ok := parsePubkey(c.Pubkeys[i])
				keys[i], bad[i] = pk, !ok || pk.IsZero()
			}
		})
	}
	wg.Wait()
	for i, b := range bad {
		if b {
			return nil, fmt.Errorf("committee of period %d: pubkey %d is not a valid G1 point (code %d)", period, i, PubkeyBad)
		}
	}
	out := &Committee{Period: period, Root: root, keys: keys}
	if len(keys) > 0 {
		out.total = keys[0]
		for i := 1; i < len(keys); i++ {
			out.total.Add(&keys[i])
		}
	}
	k.mu.Lock()
	k.cache[key] = out
	k.mu.Unlock()
	return out, nil
}

// TrustBootstrap proves the bootstrap's current committee against its
// header's state root (and, when checkpoint is given, the header against
// the trusted checkpoint block root) and returns it ready for checks.
func (k *Checker) TrustBootstrap(b *Bootstrap, checkpoint *Root) (*Committee, error) {
	headerRoot := b.Header.HashTreeRoot()
	if checkpoint != nil && headerRoot != *checkpoint {
		return nil, &ProofError{fmt.Sprintf("bootstrap header root 0x%x is not the trusted checkpoint 0x%x", headerRoot, *checkpoint)}
	}
	root := b.Committee.HashTreeRoot()
	if !VerifyBranch(root, b.CommitteeBranch, currentCommitteeIndex(b.Version), b.Header.StateRoot) {
		return nil, &ProofError{fmt.Sprintf("bootstrap at slot %d: current_sync_committee_branch does not lead to the header's state_root", b.Header.Slot)}
	}
	return k.committee(PeriodAt(b.Header.Slot), root, b.Committee)
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
			r.Error = err.Error()
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
	sig, ok := parseSignature(u.Signature)
	if !ok {
		return finish(SignatureBad, ClassInvalidSignature, errors.New("sync_committee_signature is not a valid G2 point in the subgroup"))
	}
	agg := c.aggregate(&u.Bits, r.Participants)
	code := verifyWithAggregate(&agg, &sig, signing)
	switch code {
	case Verified:
	case AggregationFailed:
		return finish(code, ClassInvalidSignature, errors.New("aggregating the participants' keys failed"))
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
		root := u.NextCommittee.HashTreeRoot()
		if !VerifyBranch(root, u.NextCommitteeBranch, nextCommitteeIndex(u.Version), u.AttestedHeader.StateRoot) {
			return finish(code, ClassInvalidProof, errors.New("next_sync_committee_branch does not lead to the attested header's state_root"))
		}
		r.NextCommittee = true
		if next, err = k.committee(PeriodAt(u.AttestedHeader.Slot)+1, root, *u.NextCommittee); err != nil {
			return finish(code, ClassInvalidProof, err)
		}
	}
	r.Code, r.Classification, r.Took = code, ClassVerified, time.Since(start)
	return r, next
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
	trusted := map[uint64]*Committee{first.Period: first}
	results := make([]Result, 0, len(updates))
	for _, u := range updates {
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
