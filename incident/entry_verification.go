package incident

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/icconsole/ic/store"
)

// Verification is a sync-committee check as the verifier reports it: the
// ledger keeps the JSON object as given, and the fields below are read
// from it for the timeline. Since verifier.ReportVersion 1 an entry is a
// whole check (v, mode, summary, periods...); ledgers written before hold
// one entry per update (code, period, slot...), and both still read.
type Verification struct {
	raw json.RawMessage

	// A whole check (verifier.Report).
	V       int    `json:"v"`
	Mode    string `json:"mode"`
	Summary string `json:"summary"`

	// One update's result (first release).
	Code           *int   `json:"code"`
	Classification string `json:"classification"`
	Period         uint64 `json:"period"`
	Slot           uint64 `json:"slot"`
	Participants   int    `json:"participants"`
	// Error is why a check stopped before it had a result to report.
	Error string `json:"error"`
}

func init() { register[Verification]() }

// NewVerification wraps a verifier result (any value that encodes as a JSON
// object) as an entry payload.
func NewVerification(result any) (Verification, error) {
	raw, err := json.Marshal(result)
	if err != nil {
		return Verification{}, err
	}
	var v Verification
	return v, v.UnmarshalJSON(raw)
}

// UnmarshalJSON keeps the object as given and reads the timeline fields.
func (v *Verification) UnmarshalJSON(b []byte) error {
	type fields Verification
	var f fields
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*v = Verification(f)
	v.raw = append(json.RawMessage(nil), b...)
	return nil
}

// MarshalJSON writes the object as given.
func (v Verification) MarshalJSON() ([]byte, error) {
	if v.raw == nil {
		return []byte("{}"), nil
	}
	return v.raw, nil
}

func (Verification) Kind() string { return "verification" }

func (v Verification) Line() string {
	if v.V > 0 {
		return fmt.Sprintf("sync-committee check (%s): %s", v.Mode, v.Summary)
	}
	code := "?"
	if v.Code != nil {
		code = fmt.Sprint(*v.Code)
	}
	if v.Slot == 0 && v.Error != "" {
		// A check that failed before it reached an update has no period
		// or slot to show: say why it failed instead.
		return fmt.Sprintf("sync-committee check failed: %s: %s", v.Classification, v.Error)
	}
	return fmt.Sprintf("sync-committee check: code %s %s (period %d, slot %d, participants %d/512)", code, v.Classification, v.Period, v.Slot, v.Participants)
}

func (v Verification) check(*rules) (Payload, error) {
	var obj map[string]any
	dec := json.NewDecoder(bytes.NewReader(v.raw))
	dec.UseNumber() // a uint64 slot stays exact
	if err := dec.Decode(&obj); err != nil {
		return nil, refuse("verification result is not a JSON object: %v", err)
	}
	// Stored in the canonical form encoding/json gives a map (sorted keys).
	canon, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	var out Verification
	return out, out.UnmarshalJSON(canon)
}

func (v Verification) addTo(d *draft, e store.Event) {
	d.evidence = append(d.evidence, fmt.Sprintf("%s (#%d)", v.Line(), e.Seq))
}
