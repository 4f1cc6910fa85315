package incident

import (
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

func (p Evidence) check(*rules) (Payload, error) {
	var err error
	if p.Name, err = cleanName("evidence name", p.Name); err != nil {
		return nil, err
	}
	if len(p.SHA256) != 64 {
		return nil, refuse("evidence sha256 must be 64 hex digits")
	}
	p.Label = termsafe.EscapeLine(p.Label)
	return p, nil
}

func (p Evidence) addTo(d *draft, e store.Event) {
	label := ""
	if p.Label != "" {
		label = ": " + p.Label
	}
	d.evidence = append(d.evidence, fmt.Sprintf("%s, %d bytes, sha256 `%s` (#%d)%s", p.Name, p.Size, p.SHA256, e.Seq, label))
}
