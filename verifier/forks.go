package verifier

import (
	"fmt"
	"sort"
)

// Slots, epochs and periods on mainnet.
const (
	SlotsPerEpoch          = 32
	EpochsPerPeriod        = 256
	SlotsPerPeriod         = SlotsPerEpoch * EpochsPerPeriod
	SyncCommitteeSize      = 512
	SupermajorityThreshold = 342 // 2/3 of 512, rounded up
)

// PeriodAt is the sync-committee period of a slot.
func PeriodAt(slot uint64) uint64 { return slot / SlotsPerPeriod }

// Fork is one entry of a fork schedule.
type Fork struct {
	Name    string
	Version [4]byte
	Epoch   uint64
}

// ForkSchedule lists forks by activation epoch.
type ForkSchedule []Fork

// MainnetForks is the built-in schedule, used offline; online, the beacon
// API's /eth/v1/config/fork_schedule replaces it.
var MainnetForks = ForkSchedule{
	{"phase0", [4]byte{0, 0, 0, 0}, 0},
	{"altair", [4]byte{1, 0, 0, 0}, 74240},
	{"bellatrix", [4]byte{2, 0, 0, 0}, 144896},
	{"capella", [4]byte{3, 0, 0, 0}, 194048},
	{"deneb", [4]byte{4, 0, 0, 0}, 269568},
	{"electra", [4]byte{5, 0, 0, 0}, 364032},
	{"fulu", [4]byte{6, 0, 0, 0}, 411392},
}

// At returns the fork in force at epoch.
func (s ForkSchedule) At(epoch uint64) (Fork, error) {
	sorted := append(ForkSchedule(nil), s...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Epoch < sorted[j].Epoch })
	var f *Fork
	for i := range sorted {
		if sorted[i].Epoch <= epoch {
			f = &sorted[i]
		}
	}
	if f == nil {
		return Fork{}, fmt.Errorf("no fork in the schedule is active at epoch %d", epoch)
	}
	return *f, nil
}

// ForSignatureSlot is the fork whose version signs a sync aggregate
// included at signatureSlot: the one at epoch(max(signatureSlot, 1) - 1).
func (s ForkSchedule) ForSignatureSlot(signatureSlot uint64) (Fork, error) {
	return s.At((max(signatureSlot, 1) - 1) / SlotsPerEpoch)
}

// Name looks up a fork name by its version (for display).
func (s ForkSchedule) Name(v [4]byte) string {
	for _, f := range s {
		if f.Version == v {
			return f.Name
		}
	}
	return fmt.Sprintf("%x", v)
}

// electraOrLater reports whether a light-client object of this fork uses
// the deeper Electra state tree (generalized indices 86/87/169).
func electraOrLater(version string) bool {
	switch version {
	case "electra", "fulu":
		return true
	}
	return false
}

// Generalized indices of the proven fields in BeaconState.
func currentCommitteeIndex(version string) uint64 {
	if electraOrLater(version) {
		return 86
	}
	return 54
}

func nextCommitteeIndex(version string) uint64 {
	if electraOrLater(version) {
		return 87
	}
	return 55
}

func finalizedRootIndex(version string) uint64 {
	if electraOrLater(version) {
		return 169
	}
	return 105
}
