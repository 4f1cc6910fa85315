package incident

// Note is free text an operator adds to the timeline as they work.
type Note struct {
	Text string `json:"text"`
}

func init() { register[Note]() }

func (Note) Kind() string { return "note" }

func (p Note) Line() string { return p.Text }

func (p Note) check(*rules) (Payload, error) {
	var err error
	p.Text, err = cleanText("note", p.Text, MaxTextBytes, true)
	return p, err
}

func (p Note) trailArg() string { return p.Text }
