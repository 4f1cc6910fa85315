package incident

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/icconsole/ic/internal/safefile"
	"github.com/icconsole/ic/verifier"
)

// ErrBadArgument wraps errors in what the caller asked for (a malformed
// URL or block root): the request itself was wrong, nothing was checked.
var ErrBadArgument = errors.New("bad argument")

func badArgument(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadArgument, fmt.Sprintf(format, args...))
}

// SyncSource says what a sync-committee check reads: light-client files
// (offline) or beacon providers from a trusted checkpoint (online).
type SyncSource struct {
	// Offline: a bootstrap file and update files; Genesis is optional
	// (mainnet by default).
	Bootstrap string
	Updates   []string
	Genesis   string
	// Online: beacon API base URLs, comma-separated and tried in order,
	// the block root trusted to start from, the period to check up to
	// (0: the checkpoint's), and the per-request timeout.
	Beacons    string
	Checkpoint string
	Period     uint64
	Timeout    time.Duration
}

// Offline reports whether the source is files.
func (src SyncSource) Offline() bool { return src.Bootstrap != "" || len(src.Updates) > 0 }

// Configured reports whether there is anything to check.
func (src SyncSource) Configured() bool { return src.Offline() || src.Beacons != "" }

// Name says what is checked, without credentials.
func (src SyncSource) Name() string {
	if src.Offline() {
		return "files " + src.Bootstrap
	}
	eps, err := verifier.ParseEndpoints(src.Beacons)
	if err != nil {
		return "beacon (invalid URL list)"
	}
	name := "beacon"
	for _, e := range eps {
		name += " " + e.Name
	}
	return name
}

// Validate says what is missing or malformed, as an ErrBadArgument.
func (src SyncSource) Validate() error {
	switch {
	case src.Offline() && src.Bootstrap == "":
		return badArgument("offline checks need a bootstrap file as well as update files")
	case src.Offline() && len(src.Updates) == 0:
		return badArgument("offline checks need at least one updates file")
	case src.Offline():
		return nil
	case src.Beacons == "":
		return badArgument("give bootstrap and update files, or beacon URLs with a checkpoint block root")
	case src.Checkpoint == "":
		return badArgument("online checks need a checkpoint: the block root you trust (from a source you trust)")
	}
	if _, err := verifier.ParseEndpoints(src.Beacons); err != nil {
		return badArgument("%v", err)
	}
	_, err := parseRoot(src.Checkpoint)
	return err
}

// SyncReport is the outcome of one sync-committee check.
type SyncReport struct {
	OK       bool               `json:"ok"`
	Mode     string             `json:"mode"`
	Results  []verifier.Result  `json:"results"`
	Attempts []verifier.Attempt `json:"failed_attempts,omitempty"`
	Error    string             `json:"error,omitempty"`
	Class    string             `json:"classification,omitempty"`
	Appended []int64            `json:"appended_seqs,omitempty"`
}

// Verified counts the results that verified.
func (r SyncReport) Verified() int {
	n := 0
	for _, res := range r.Results {
		if res.OK() {
			n++
		}
	}
	return n
}

// CheckSync runs a sync-committee check. A source that does not validate
// is returned as an ErrBadArgument; every other failure is in the report.
func CheckSync(ctx context.Context, src SyncSource) (SyncReport, error) {
	if err := src.Validate(); err != nil {
		return SyncReport{}, err
	}
	rep := SyncReport{Mode: "offline"}
	var err error
	if src.Offline() {
		rep.Results, err = checkFiles(ctx, src.Bootstrap, src.Updates, src.Genesis)
	} else {
		rep.Mode = "online"
		err = checkOnline(ctx, &rep, src)
	}
	if err != nil {
		rep.Error, rep.Class = err.Error(), string(classify(err))
	}
	rep.OK = err == nil && len(rep.Results) > 0 && rep.Verified() == len(rep.Results)
	return rep, nil
}

// RecordSync appends a check's results to an incident as verification
// entries (one for a check that failed before any result).
func (s *Service) RecordSync(ctx context.Context, id string, by Actor, rep *SyncReport) error {
	results := rep.Results
	if rep.Error != "" && len(results) == 0 {
		results = []verifier.Result{{Source: rep.Mode, Classification: verifier.Classification(rep.Class), Code: verifier.Invalid, Error: rep.Error}}
	}
	for _, r := range results {
		v, err := NewVerification(r)
		if err != nil {
			return err
		}
		e, err := s.Append(ctx, id, by, "", v)
		if err != nil {
			return err
		}
		rep.Appended = append(rep.Appended, e.Seq)
	}
	return nil
}

// classify maps an error that stopped a check to its O-700 class.
func classify(err error) verifier.Classification {
	var fe *verifier.FetchError
	var pe *verifier.ProofError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &fe):
		return fe.Classification()
	case errors.As(err, &pe):
		return verifier.ClassInvalidProof
	}
	return verifier.ClassBadInput
}

func checkFiles(ctx context.Context, bootstrapPath string, updatePaths []string, genesisPath string) ([]verifier.Result, error) {
	genesis := verifier.MainnetGenesis
	if genesisPath != "" {
		raw, err := safefile.Read(ctx, genesisPath, safefile.Genesis)
		if err != nil {
			return nil, err
		}
		if genesis, err = verifier.DecodeGenesis(raw); err != nil {
			return nil, fmt.Errorf("%s: %w", genesisPath, err)
		}
	}
	raw, err := safefile.Read(ctx, bootstrapPath, safefile.Bootstrap)
	if err != nil {
		return nil, err
	}
	boot, err := verifier.DecodeBootstrap(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", bootstrapPath, err)
	}
	var all []*verifier.Update
	var source, sums []string
	for _, p := range updatePaths {
		raw, err := safefile.Read(ctx, p, safefile.Updates)
		if err != nil {
			return nil, err
		}
		us, err := verifier.DecodeUpdates(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		sum := sha256.Sum256(raw)
		for range us {
			source = append(source, p)
			sums = append(sums, hex.EncodeToString(sum[:]))
		}
		all = append(all, us...)
	}
	k := verifier.NewChecker(genesis, verifier.MainnetForks)
	results, err := k.Walk(boot, nil, all)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", bootstrapPath, err)
	}
	for i := range results {
		results[i].Source, results[i].InputSHA256 = source[i], sums[i]
	}
	return results, nil
}

func checkOnline(ctx context.Context, rep *SyncReport, src SyncSource) error {
	eps, err := verifier.ParseEndpoints(src.Beacons)
	if err != nil {
		return badArgument("%v", err)
	}
	root, err := parseRoot(src.Checkpoint)
	if err != nil {
		return err
	}
	timeout := src.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	out, err := verifier.CheckOnline(ctx, verifier.NewClient(eps, timeout), root, src.Period)
	rep.Results, rep.Attempts = out.Results, out.Attempts
	return err
}

// parseRoot reads a 0x-hex 32-byte block root.
func parseRoot(s string) (verifier.Root, error) {
	var root verifier.Root
	raw, err := hex.DecodeString(strings.TrimPrefix(s, "0x"))
	if err != nil || len(raw) != 32 {
		return root, badArgument("checkpoint %q is not a 32-byte 0x-hex block root", s)
	}
	copy(root[:], raw)
	return root, nil
}
