package incident

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/icconsole/ic/internal/termsafe"
	"github.com/icconsole/ic/runbook"
)

// Limits on what one entry may hold.
const (
	MaxTextBytes     = 64 << 10 // a note, update, reason: 64 KiB
	MaxTitleBytes    = 512
	MaxNameBytes     = 200      // actors, roles, owners, names
	MaxLabelBytes    = 512      // an evidence label
	MaxEvidenceBytes = 16 << 20 // evidence kept in the ledger: 16 MiB a file
	maxRetries       = 200
)

// ErrRefused wraps every refusal by the rules (bad input, forbidden
// transition, closed incident): nothing was appended.
var ErrRefused = errors.New("refused")

func refuse(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrRefused, fmt.Sprintf(format, args...))
}

// rules is what an entry's check sees: the incident as it stands and the
// policy of its book.
type rules struct {
	ctx context.Context
	svc *Service
	st  Status
	pol *runbook.Policy
	by  Actor     // who makes the entry
	now time.Time // when it is made
}

// cleanText checks a text field and makes it safe to store: it must not be
// empty (when required); control characters and invalid UTF-8 are stored
// escaped (\x1b), never raw, so the text can never drive a terminal that
// shows it later; and the limit applies to the bytes stored, escapes
// included.
func cleanText(field, s string, max int, required bool) (string, error) {
	s = strings.TrimRight(s, "\r\n")
	if required && strings.TrimSpace(s) == "" {
		return "", refuse("%s is empty", field)
	}
	if len(s) > max {
		return "", refuse("%s is %d bytes, over the limit of %d", field, len(s), max)
	}
	stored := termsafe.Escape(s)
	if len(stored) > max {
		return "", refuse("%s is %d bytes once its control characters are escaped for storing, over the limit of %d", field, len(stored), max)
	}
	return stored, nil
}

// cleanName is cleanText for one-line names (actors, roles, owners).
func cleanName(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", refuse("%s is empty", field)
	}
	if len(s) > MaxNameBytes {
		return "", refuse("%s is over %d bytes", field, MaxNameBytes)
	}
	if !utf8.ValidString(s) || termsafe.NeedsEscape(s) || strings.ContainsAny(s, "\n\r\t") {
		return "", refuse("%s %q holds control characters or invalid UTF-8", field, termsafe.EscapeLine(s))
	}
	return s, nil
}

// checkStep checks the procedure and step number every step entry
// carries (what says how the step went, for the message), then the
// procedure's rules for recording the step as kind (stepRules).
func (r *rules) checkStep(what, kind string, ref ProcedureRef, step int) error {
	if ref.ID == "" || step < 1 {
		return refuse("a %s step needs a procedure id and a step number", what)
	}
	return r.stepRules(kind, ref, step)
}

func nextStates(p *runbook.Policy, from string) string {
	if next := p.NextStates(from); len(next) > 0 {
		return strings.Join(next, ", ")
	}
	return "no further state"
}

// allowedAfterClose lists, in the policy's order, the entry types a
// closed incident still accepts.
func allowedAfterClose(p *runbook.Policy) string {
	if len(p.Lifecycle.AfterClose) == 0 {
		return "nothing"
	}
	return strings.Join(p.Lifecycle.AfterClose, ", ")
}
