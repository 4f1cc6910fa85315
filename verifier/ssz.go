package verifier

import (
	"crypto/sha256"
	"encoding/binary"
	"sync"
)

// The few SSZ hash_tree_root computations the light-client protocol needs,
// written out exactly (consensus specs, "SimpleSerialize"); tested against
// mainnet data, where a single wrong byte makes every proof fail.

// Root is a 32-byte SSZ root.
type Root [32]byte

func hashPair(a, b Root) Root {
	var buf [64]byte
	copy(buf[:32], a[:])
	copy(buf[32:], b[:])
	return sha256.Sum256(buf[:])
}

// merkleize hashes leaves (padded with zero chunks to a power of two) to
// a root.
func merkleize(leaves []Root) Root {
	n := 1
	for n < len(leaves) {
		n *= 2
	}
	layer := make([]Root, n)
	copy(layer, leaves)
	for len(layer) > 1 {
		next := layer[:len(layer)/2]
		for i := range next {
			next[i] = hashPair(layer[2*i], layer[2*i+1])
		}
		layer = next
	}
	return layer[0]
}

func uint64Leaf(v uint64) Root {
	var r Root
	binary.LittleEndian.PutUint64(r[:8], v)
	return r
}

// BeaconBlockHeader is the `beacon` part of a light-client header.
type BeaconBlockHeader struct {
	Slot          uint64
	ProposerIndex uint64
	ParentRoot    Root
	StateRoot     Root
	BodyRoot      Root
}

// HashTreeRoot is the header's SSZ root: the block root.
func (h BeaconBlockHeader) HashTreeRoot() Root {
	return merkleize([]Root{uint64Leaf(h.Slot), uint64Leaf(h.ProposerIndex), h.ParentRoot, h.StateRoot, h.BodyRoot})
}

// pubkeyRoot is hash_tree_root(Bytes48): two chunks, the second padded.
func pubkeyRoot(pk []byte) Root {
	var a, b Root
	copy(a[:], pk[:32])
	copy(b[:], pk[32:48])
	return hashPair(a, b)
}

// SyncCommittee is 512 compressed public keys and their aggregate.
type SyncCommittee struct {
	Pubkeys         [][]byte // 512 x 48 bytes
	AggregatePubkey []byte   // 48 bytes
}

// HashTreeRoot is the committee's SSZ root, which Merkle branches prove.
// A full committee's two halves are hashed on two goroutines: the root is
// on the path of every cold check and restart.
func (c SyncCommittee) HashTreeRoot() Root {
	keysRoot := func(keys [][]byte) Root {
		leaves := make([]Root, len(keys))
		for i, pk := range keys {
			leaves[i] = pubkeyRoot(pk)
		}
		return merkleize(leaves)
	}
	var root Root
	if n := len(c.Pubkeys); n == SyncCommitteeSize {
		var left Root
		var wg sync.WaitGroup
		wg.Go(func() { left = keysRoot(c.Pubkeys[:n/2]) })
		right := keysRoot(c.Pubkeys[n/2:])
		wg.Wait()
		root = hashPair(left, right)
	} else {
		root = keysRoot(c.Pubkeys)
	}
	return hashPair(root, pubkeyRoot(c.AggregatePubkey))
}

// forkDataRoot is hash_tree_root(ForkData{version, genesis_validators_root}).
func forkDataRoot(version [4]byte, genesisValidatorsRoot Root) Root {
	var v Root
	copy(v[:], version[:])
	return hashPair(v, genesisValidatorsRoot)
}

// DomainSyncCommittee is DOMAIN_SYNC_COMMITTEE.
var DomainSyncCommittee = [4]byte{0x07, 0x00, 0x00, 0x00}

// ComputeDomain is the signature domain: domain type and the first 28 bytes
// of the fork data root.
func ComputeDomain(domainType [4]byte, version [4]byte, genesisValidatorsRoot Root) Root {
	var d Root
	copy(d[:4], domainType[:])
	fdr := forkDataRoot(version, genesisValidatorsRoot)
	copy(d[4:], fdr[:28])
	return d
}

// SigningRoot is hash_tree_root(SigningData{object_root, domain}).
func SigningRoot(objectRoot, domain Root) Root { return hashPair(objectRoot, domain) }

// VerifyBranch checks that leaf sits at generalized index gindex under root.
func VerifyBranch(leaf Root, branch []Root, gindex uint64, root Root) bool {
	depth := 0
	for g := gindex; g > 1; g >>= 1 {
		depth++
	}
	if len(branch) != depth {
		return false
	}
	index := gindex - (1 << depth)
	v := leaf
	for i := range depth {
		if (index>>i)&1 == 1 {
			v = hashPair(branch[i], v)
		} else {
			v = hashPair(v, branch[i])
		}
	}
	return v == root
}
