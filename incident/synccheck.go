package incident

import (
	"context"
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
	// the block root trusted to start from, and the period to check up to
	// (0: the checkpoint's).
	Beacons    string
	Checkpoint string
	Period     uint64
	// Timeout bounds each request and CheckTimeout the whole check (the
	// verifier's defaults when 0).
	Timeout      time.Duration
	CheckTimeout time.Duration
	// StrictKeys subgroup-checks every committee key, not only the keys a
	// verified branch binds to the trusted root.
	StrictKeys bool
	// CacheDir keeps proven committees across runs (default: the user's
	// cache folder, ic/ under it).
	CacheDir string
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

// SyncReport is one sync-committee check as the verifier reports it, and
// the sequence number of the verification entry it became, if recorded.
type SyncReport struct {
	*verifier.Report
	Appended int64 `json:"appended_seq,omitempty"`
}

// Verified counts the periods that verified.
func (r SyncReport) Verified() int {
	n := 0
	for _, p := range r.Periods {
		if p.OK() {
			n++
		}
	}
	return n
}

// CheckSync runs a sync-committee check. A source that does not validate
// is returned as an ErrBadArgument, and an input file that cannot be read
// as its error: nothing was checked. Every failure of the check itself
// (a provider down or lying, a proof or signature that does not verify,
// a bound exceeded, the check interrupted) is in the report.
func CheckSync(ctx context.Context, src SyncSource) (SyncReport, error) {
	if err := src.Validate(); err != nil {
		return SyncReport{}, err
	}
	cfg := verifier.Config{CacheDir: src.CacheDir, StrictKeys: src.StrictKeys, RequestTimeout: src.Timeout, CheckTimeout: src.CheckTimeout}
	if cfg.CacheDir == "" {
		// Without a cache folder (no HOME) committees are kept in memory.
		cfg.CacheDir, _ = verifier.DefaultCacheDir()
	}
	if src.Offline() {
		return checkFiles(ctx, src, cfg)
	}
	eps, err := verifier.ParseEndpoints(src.Beacons)
	if err != nil {
		return SyncReport{}, badArgument("%v", err)
	}
	root, err := parseRoot(src.Checkpoint)
	if err != nil {
		return SyncReport{}, err
	}
	return SyncReport{Report: verifier.CheckBeacon(ctx, eps, root, src.Period, cfg)}, nil
}

// RecordSync appends a check to an incident as one verification entry:
// the whole report, every period's result inside it.
func (s *Service) RecordSync(ctx context.Context, id string, by Actor, rep *SyncReport) error {
	if rep.Report == nil {
		return errors.New("no sync-committee check to record")
	}
	v, err := NewVerification(rep.Report)
	if err != nil {
		return err
	}
	e, err := s.Append(ctx, id, by, "", v)
	if err != nil {
		return err
	}
	rep.Appended = e.Seq
	return nil
}

// checkFiles reads a check's files, each a regular file within its
// size limit, and checks them.
func checkFiles(ctx context.Context, src SyncSource, cfg verifier.Config) (SyncReport, error) {
	genesis := verifier.MainnetGenesis
	if src.Genesis != "" {
		raw, err := safefile.Read(ctx, src.Genesis, safefile.Genesis)
		if err != nil {
			return SyncReport{}, err
		}
		if genesis, err = verifier.DecodeGenesis(raw); err != nil {
			return SyncReport{}, fmt.Errorf("%s: %w", src.Genesis, err)
		}
	}
	raw, err := safefile.Read(ctx, src.Bootstrap, safefile.Bootstrap)
	if err != nil {
		return SyncReport{}, err
	}
	boot := verifier.Input{Name: src.Bootstrap, Data: raw}
	updates := make([]verifier.Input, 0, len(src.Updates))
	for _, p := range src.Updates {
		raw, err := safefile.Read(ctx, p, safefile.Updates)
		if err != nil {
			return SyncReport{}, err
		}
		updates = append(updates, verifier.Input{Name: p, Data: raw})
	}
	return SyncReport{Report: verifier.CheckFiles(ctx, genesis, boot, updates, cfg)}, nil
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
