package incident

import "fmt"

// Correction fixes an earlier entry by pointing at it; the entry itself
// stays as it was written.
type Correction struct {
	Corrects int64  `json:"corrects"`
	Text     string `json:"text"`
}

func init() { register[Correction]() }

func (Correction) Kind() string { return "correction" }

func (p Correction) Line() string { return fmt.Sprintf("correction of #%d: %s", p.Corrects, p.Text) }

func (p Correction) check(r *rules) (Payload, error) {
	if p.Corrects < 1 || p.Corrects > r.st.Events {
		return nil, refuse("%s has no event %d to correct (it has %d)", r.st.Short(), p.Corrects, r.st.Events)
	}
	var err error
	p.Text, err = cleanText("correction", p.Text, MaxTextBytes, true)
	return p, err
}

func (p Correction) trailArg() string { return p.Text }
