package incident

import (
	"context"
	"errors"
	"strconv"
	"strings"
)

// AuditItem is one line of the audit-trail completeness check (AZ-015
// §32): present or missing, and the entry that satisfies it.
type AuditItem struct {
	Name    string `json:"name"`
	Present bool   `json:"present"`
	Seq     int64  `json:"seq,omitempty"`
	By      string `json:"by,omitempty"`
	Detail  string `json:"detail,omitempty"`
}

var errStop = errors.New("stop")

// Completeness checks an incident's record for what an audit trail must
// hold. Affected scopes are recorded as a note starting "scope:".
func (s *Service) Completeness(ctx context.Context, id string) ([]AuditItem, error) {
	st, err := s.Status(ctx, id)
	if err != nil {
		return nil, err
	}
	pol, polErr := s.Policy(st.Book)
	hasPolicy := polErr == nil
	items := []AuditItem{
		{Name: "incident id", Present: true, Seq: 1, Detail: st.ID},
		{Name: "timeline", Present: st.Events > 0, Seq: st.Events, Detail: "seq 1.." + strconv.FormatInt(st.Events, 10)},
	}
	var walkErr error
	find := func(name string, types []string, match func(e Entry) (bool, string)) AuditItem {
		it := AuditItem{Name: name}
		err := s.Timeline(ctx, Range{Incident: id, Types: types}, func(e Entry) error {
			if ok, detail := match(e); ok {
				it = AuditItem{Name: name, Present: true, Seq: e.Seq, By: e.Actor, Detail: detail}
				return errStop
			}
			return nil
		})
		if err != nil && !errors.Is(err, errStop) && walkErr == nil {
			walkErr = err
		}
		return it
	}
	kind := func(p Payload) string { return p.Kind() }
	items = append(items, find("who declared the severity", []string{kind(Declared{})}, func(e Entry) (bool, string) {
		d, ok := e.Payload.(Declared)
		return ok, d.Severity
	}))
	items = append(items, find("who set the containment / response profile", []string{kind(StateChange{}), kind(RoleAssignment{})}, func(e Entry) (bool, string) {
		switch p := e.Payload.(type) {
		case StateChange:
			return hasPolicy && p.To == pol.ContainedState(), p.From + " → " + p.To
		case RoleAssignment:
			return p.Role == "commander", "commander " + p.Name
		}
		return false, ""
	}))
	items = append(items, find("affected scopes", []string{kind(Note{})}, func(e Entry) (bool, string) {
		n, ok := e.Payload.(Note)
		return ok && len(n.Text) > 6 && strings.EqualFold(n.Text[:6], "scope:"), n.Text
	}))
	items = append(items, find("evidence references", []string{kind(Evidence{}), kind(Verification{})}, func(e Entry) (bool, string) {
		return true, e.Line()
	}))
	items = append(items, find("recovery actions", []string{kind(StateChange{})}, func(e Entry) (bool, string) {
		p, ok := e.Payload.(StateChange)
		return ok && hasPolicy && p.To != pol.ContainedState() && p.To != pol.InitialState() && !pol.IsClosed(p.To), p.From + " → " + p.To
	}))
	items = append(items, find("restart criteria and sign-off", []string{kind(RestartCriteria{})}, func(e Entry) (bool, string) {
		return true, e.Line()
	}))
	items = append(items, find("postmortem link", []string{kind(PostmortemLink{})}, func(e Entry) (bool, string) {
		return true, e.Line()
	}))
	return items, walkErr
}
