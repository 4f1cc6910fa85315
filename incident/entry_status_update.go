package incident

// StatusUpdate is a status update posted to the people waiting on the
// incident; it restarts the severity's update countdown.
type StatusUpdate struct {
	Text string `json:"text"`
}

func init() { register[StatusUpdate]() }

func (StatusUpdate) Kind() string { return "status_update" }

func (p StatusUpdate) Line() string { return "status update: " + p.Text }

func (p StatusUpdate) check(*rules) (Payload, error) {
	var err error
	p.Text, err = cleanText("status update", p.Text, MaxTextBytes, true)
	return p, err
}

func (p StatusUpdate) trailArg() string { return p.Text }
