package incident

import (
	"context"
	"fmt"

	"github.com/icconsole/ic/internal/termsafe"
	"github.com/icconsole/ic/store"
)

// Evidence cites a file whose bytes are kept in the ledger, by sha256.
type Evidence struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	Label  string `json:"label,omitempty"`
}

func init() { register[Evidence]() }

func (Evidence) Kind() string { return "evidence_attached" }

func (p Evidence) Line() string {
	s := fmt.Sprintf("evidence %s (%d bytes, sha256 %.12s)", p.Name, p.Size, p.SHA256)
	if p.Label != "" {
		s += ": " + p.Label
	}
	return s
}

func (p Evidence) check(*rules) (Payload, error) { return p.clean() }

// clean checks what needs no incident: AttachEvidence calls it before the
// bytes are stored, so a refused attachment leaves no blob behind.
func (p Evidence) clean() (Evidence, error) {
	var err error
	if p.Name, err = cleanName("evidence name", p.Name); err != nil {
		return p, err
	}
	if len(p.SHA256) != 64 {
		return p, refuse("evidence sha256 must be 64 hex digits")
	}
	p.Label = termsafe.EscapeLine(p.Label)
	if len(p.Label) > MaxLabelBytes {
		return p, refuse("evidence label is %d bytes, over the limit of %d: put the story in a note", len(p.Label), MaxLabelBytes)
	}
	return p, nil
}

func (p Evidence) addTo(d *draft, e store.Event) {
	label := ""
	if p.Label != "" {
		label = ": " + p.Label
	}
	d.evidence = append(d.evidence, fmt.Sprintf("%s, %d bytes, sha256 `%s` (#%d)%s", p.Name, p.Size, p.SHA256, e.Seq, label))
}

// evidenceNamed reports whether evidence of that name (or sha256) is
// attached to the incident.
func (s *Service) evidenceNamed(ctx context.Context, id, name string) (bool, error) {
	found := false
	err := s.Timeline(ctx, Range{Incident: id, Types: []string{(Evidence{}).Kind()}}, func(e Entry) error {
		if ev, ok := e.Payload.(Evidence); ok && (ev.Name == name || ev.SHA256 == name) {
			found = true
		}
		return nil
	})
	return found, err
}
