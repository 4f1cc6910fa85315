package incident

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/icconsole/ic/internal/safefile"
)

// Drafts keeps what an operator has typed but not yet added to the
// timeline, in a file beside the ledger, so a crash or a closed terminal
// never loses typed text.
type Drafts struct {
	path string
}

// Drafts returns the draft typed while no incident was open, kept beside
// the ledger (a served session's, per principal: session.go).
func (s *Service) Drafts() Drafts {
	unattached, _ := s.draftPaths()
	return Drafts{path: unattached}
}

// Path is the draft file.
func (d Drafts) Path() string { return d.path }

// Read returns the saved draft ("" when none).
func (d Drafts) Read() (string, error) {
	b, err := safefile.Read(context.Background(), d.path, safefile.Draft)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("draft %s: %w", d.path, err)
	}
	return string(b), nil
}

// Save replaces the draft with text, atomically (a temporary file renamed
// over the old one), mode 0600.
func (d Drafts) Save(text string) error {
	if err := os.MkdirAll(filepath.Dir(d.path), 0o700); err != nil {
		return fmt.Errorf("draft %s: %w", d.path, err)
	}
	tmp := d.path + ".tmp"
	if err := os.WriteFile(tmp, []byte(text), 0o600); err != nil {
		return fmt.Errorf("draft %s: %w", d.path, err)
	}
	return os.Rename(tmp, d.path)
}

// Remove deletes the draft once its text is on the timeline.
func (d Drafts) Remove() error {
	err := os.Remove(d.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}
