package incident

// Deviation records a departure from the procedure being followed.
type Deviation struct {
	Text string `json:"text"`
}

func init() { register[Deviation]() }

func (Deviation) Kind() string { return "deviation" }

func (p Deviation) Line() string { return "deviation: " + p.Text }

func (p Deviation) check(*rules) (Payload, error) {
	var err error
	p.Text, err = cleanText("deviation", p.Text, MaxTextBytes, true)
	return p, err
}

func (p Deviation) trailArg() string { return p.Text }
