package incident

// RestartCriteria is the signed statement of the evidence that recovery
// is real ("seems fine now" is not one).
type RestartCriteria struct {
	Text string `json:"text"`
}

func init() { register[RestartCriteria]() }

func (RestartCriteria) Kind() string { return "restart_criteria_signed" }

func (p RestartCriteria) Line() string { return "restart criteria signed: " + p.Text }

func (p RestartCriteria) check(*rules) (Payload, error) {
	var err error
	p.Text, err = cleanText("restart criteria", p.Text, MaxTextBytes, true)
	return p, err
}

func (p RestartCriteria) trailArg() string { return p.Text }
