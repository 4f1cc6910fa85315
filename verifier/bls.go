// Package verifier checks Ethereum sync-committee signatures: the BLS
// primitive with O-700's return codes, and the wrapper that makes it safe to
// use (committees trusted only through verified Merkle branches, the fork
// version of the signature slot, the domain and signing root, participation
// bits), a beacon API client with failover across providers, and a
// classification of every failure an operator can meet.
package verifier

import (
	"sync"

	"github.com/herumi/bls-eth-go-binary/bls"
)

// Code is a result of the primitive, as O-700 defines it.
type Code int

const (
	Verified          Code = 1
	Invalid           Code = 0
	SignatureBad      Code = -1 // the signature is not a valid G2 point in the subgroup
	NoPubkeys         Code = -2
	AggregationFailed Code = -3 // subgroup or library error while aggregating
	PubkeyBad         Code = -4 // a 48-byte chunk is not a valid G1 point, or the length is wrong
)

func (c Code) String() string {
	switch c {
	case Verified:
		return "verified"
	case Invalid:
		return "invalid"
	case SignatureBad:
		return "signature parse failed"
	case NoPubkeys:
		return "no pubkeys"
	case AggregationFailed:
		return "aggregation failed"
	case PubkeyBad:
		return "malformed pubkey"
	}
	return "unknown code"
}

const (
	pubkeySize    = 48
	signatureSize = 96
)

// initOnce sets up herumi's library, once per process. Its settings are
// process-wide C globals, so they are set here and nowhere else, and never
// changed afterwards (a goroutine flipping one would change what another
// goroutine's deserialisation checks):
//
//   - ETH mode (draft 07): the Ethereum ciphersuite and serialisation.
//   - Signature subgroup check on deserialisation: on.
//   - Public key subgroup check on deserialisation: OFF. herumi documents
//     "deserialize under VerifyOrder(true) = deserialize under
//     VerifyOrder(false) + IsValidOrder", so every place that needs a key's
//     subgroup check calls IsValidOrder itself (parsePubkey, and committee
//     decoding with StrictKeys); committee keys that a verified Merkle branch
//     binds to a trusted root skip it by default, as Lodestar does.
//
// Another package of the same process that used herumi would inherit these
// settings; ic has no other.
var initOnce = sync.OnceValue(func() error {
	if err := bls.Init(bls.BLS12_381); err != nil {
		return err
	}
	if err := bls.SetETHmode(bls.EthModeDraft07); err != nil {
		return err
	}
	bls.VerifyPublicKeyOrder(false)
	bls.VerifySignatureOrder(true)
	return nil
})

// ensureBLS initialises the library once, whoever calls first; it is safe
// from any goroutine.
func ensureBLS() {
	if err := initOnce(); err != nil {
		panic("verifier: BLS library failed to initialise: " + err.Error())
	}
}

// parsePubkey decodes one compressed G1 public key with its subgroup check.
// The point at infinity decodes (it is a valid encoding) but is not a usable
// key; callers refuse it.
func parsePubkey(b []byte) (bls.PublicKey, bool) {
	pk, ok := parsePubkeyOnCurve(b)
	return pk, ok && pk.IsValidOrder()
}

// parsePubkeyOnCurve decodes one compressed G1 public key without the
// subgroup check: the point is on the curve (decompression finds its y),
// nothing more. Only for keys whose committee root a verified branch binds
// to a trusted root.
func parsePubkeyOnCurve(b []byte) (bls.PublicKey, bool) {
	ensureBLS()
	var pk bls.PublicKey
	if len(b) != pubkeySize || pk.Deserialize(b) != nil {
		return pk, false
	}
	return pk, true
}

// parseSignature decodes one compressed G2 signature with its subgroup check.
func parseSignature(b []byte) (bls.Sign, bool) {
	ensureBLS()
	var sig bls.Sign
	if len(b) != signatureSize || sig.Deserialize(b) != nil {
		return sig, false
	}
	return sig, true
}

// VerifySyncCommittee checks an aggregate signature over signingRoot by the
// public keys given as concatenated 48-byte compressed points. It trusts its
// inputs: which keys, which root and which domain are the wrapper's job.
func VerifySyncCommittee(pubkeys []byte, sig []byte, signingRoot [32]byte) Code {
	ensureBLS()
	if len(pubkeys) == 0 {
		return NoPubkeys
	}
	if len(pubkeys)%pubkeySize != 0 {
		return PubkeyBad
	}
	keys := make([]bls.PublicKey, len(pubkeys)/pubkeySize)
	for i := range keys {
		pk, ok := parsePubkey(pubkeys[i*pubkeySize : (i+1)*pubkeySize])
		if !ok || pk.IsZero() {
			return PubkeyBad
		}
		keys[i] = pk
	}
	s, ok := parseSignature(sig)
	if !ok {
		return SignatureBad
	}
	return verifyAggregate(keys, &s, signingRoot)
}

// verifyAggregate sums keys and verifies s over root.
func verifyAggregate(keys []bls.PublicKey, s *bls.Sign, root [32]byte) Code {
	if len(keys) == 0 {
		return NoPubkeys
	}
	agg := keys[0]
	for i := 1; i < len(keys); i++ {
		agg.Add(&keys[i])
	}
	return verifyWithAggregate(&agg, s, root)
}

func verifyWithAggregate(agg *bls.PublicKey, s *bls.Sign, root [32]byte) Code {
	if agg.IsZero() || !agg.IsValidOrder() {
		return AggregationFailed
	}
	if s.VerifyByte(agg, root[:]) {
		return Verified
	}
	return Invalid
}
