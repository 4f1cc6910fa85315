package incident

// PostmortemLink links the incident's postmortem.
type PostmortemLink struct {
	URL  string `json:"url"`
	Text string `json:"text,omitempty"`
}

func init() { register[PostmortemLink]() }

func (PostmortemLink) Kind() string { return "postmortem_linked" }

func (p PostmortemLink) Line() string { return "postmortem: " + p.URL }

func (p PostmortemLink) check(*rules) (Payload, error) {
	var err error
	p.URL, err = cleanName("postmortem link", p.URL)
	return p, err
}
