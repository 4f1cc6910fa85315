package incident

import (
	"net/url"

	"github.com/icconsole/ic/internal/termsafe"
)

// PostmortemLink links the incident's postmortem.
type PostmortemLink struct {
	URL  string `json:"url"`
	Text string `json:"text,omitempty"`
}

func init() { register[PostmortemLink]() }

func (PostmortemLink) Kind() string { return "postmortem_linked" }

func (p PostmortemLink) Line() string { return "postmortem: " + p.URL }

func (p PostmortemLink) check(r *rules) (Payload, error) {
	var err error
	if p.URL, err = cleanName("postmortem link", p.URL); err != nil {
		return nil, err
	}
	u, err := url.Parse(p.URL)
	if err == nil && u.Scheme == "https" && u.Host != "" {
		return p, nil
	}
	if r.pol.PostmortemLinkAllowed("evidence") {
		found, err := r.svc.evidenceNamed(r.ctx, r.st.ID, p.URL)
		if err != nil {
			return nil, err
		}
		if found {
			return p, nil
		}
		return nil, refuse("postmortem link %q is neither an https:// URL nor the name of evidence attached to %s", termsafe.EscapeLine(p.URL), r.st.Short())
	}
	return nil, refuse("postmortem link %q is not an https:// URL: link the published postmortem", termsafe.EscapeLine(p.URL))
}

func (p PostmortemLink) trailArg() string { return p.URL }
