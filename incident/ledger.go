package incident

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/icconsole/ic/internal/checkpoint"
	"github.com/icconsole/ic/runbook"
	"github.com/icconsole/ic/store"
)

// The ledger's proofs, as every face offers them: signed checkpoints of
// the log, verification in proportion to what changed, receipts anyone can
// check offline, exports an auditor can check without ic.

// OpenReadOnly opens the ledger at path for reading only (verify, export,
// timeline, receipts, reviews): it works on a read-only file or folder and
// never creates a file.
func OpenReadOnly(ctx context.Context, path string, books *runbook.Catalog, now func() time.Time) (*Service, error) {
	db, err := store.OpenReadOnly(ctx, path)
	if err != nil {
		return nil, err
	}
	return New(db, books, now), nil
}

// WithCheckpoints returns a service that signs checkpoints with signer
// (nil: none) and copies each into dir ("" for none): on request, when an
// incident closes, and before every backup. warn receives what failed
// after an entry was already recorded (nil: dropped).
func (s *Service) WithCheckpoints(signer *checkpoint.Signer, dir string, warn func(string)) *Service {
	c := *s
	c.signer, c.checkpointDir, c.warn = signer, dir, warn
	return &c
}

// SignedCheckpoint is a checkpoint stored in the ledger, with where its
// copy went.
type SignedCheckpoint = store.SignedCheckpoint

// Checkpoint signs the log's current head, keeps it in the ledger and
// copies it into the checkpoint folder.
func (s *Service) Checkpoint(ctx context.Context) (SignedCheckpoint, error) {
	if s.signer == nil {
		return SignedCheckpoint{}, fmt.Errorf("no checkpoint key: create one with 'ic key init'")
	}
	return s.db.Checkpoint(ctx, s.signer, s.checkpointDir)
}

// autoCheckpoint signs a checkpoint when an incident closes, if a key is
// configured; a failure is a warning, since the entry is already recorded.
func (s *Service) autoCheckpoint(ctx context.Context, why string) {
	if s.signer == nil {
		return
	}
	cp, err := s.db.Checkpoint(ctx, s.signer, s.checkpointDir)
	switch {
	case err != nil && s.warn != nil:
		s.warn(fmt.Sprintf("%s, but the checkpoint was not signed: %v", why, err))
	case err == nil && s.warn != nil && cp.CopyPath == "" && s.checkpointDir == "":
		s.warn(fmt.Sprintf("%s: checkpoint %s signed and kept in the ledger; set a checkpoint folder so a copy lives outside it", why, cp.ID()))
	}
}

// VerifyOptions say how far Verify goes; see store.VerifyOptions.
type VerifyOptions = store.VerifyOptions

// VerifyWith checks the ledger: in the store, the log, the chains, the
// blobs, the incident rows, the triggers, the checkpoints and their
// consistency; above it, every approval's signature and the two-party
// rule of every step that needed one.
func (s *Service) VerifyWith(ctx context.Context, o VerifyOptions) (VerifyReport, error) {
	// The walk over every event marks the incidents whose approvals and
	// gated steps are re-checked below, instead of reading them again.
	o.Marks = func() []store.Mark { return approvalMarks(s.books) }
	rep, err := s.db.VerifyWith(ctx, o)
	if err != nil {
		return rep, err
	}
	return rep, s.verifyApprovals(ctx, o, &rep)
}

// Receipt is an entry with its inclusion proof and the signed checkpoint
// that holds it: anyone with the verifier key can check it offline (ic
// verify-receipt, scripts/verify-receipt).
type Receipt = store.Receipt

// Receipt builds the receipt of entry seq of an incident against the
// newest checkpoint that holds it.
func (s *Service) Receipt(ctx context.Context, id string, seq int64) (Receipt, error) {
	return s.db.Receipt(ctx, id, seq, nil)
}

// CheckReceipt checks a receipt offline against verifier keys.
func CheckReceipt(data []byte, verifierKeys []string) (store.CheckedReceipt, error) {
	return store.CheckReceipt(data, verifierKeys)
}

// WriteEventsJSONL writes the entries r selects as JSON lines, without the
// export's first and closing lines (ic timeline --json).
func (s *Service) WriteEventsJSONL(ctx context.Context, w io.Writer, r Range) (int, error) {
	return s.db.WriteEventsJSONL(ctx, w, r)
}
