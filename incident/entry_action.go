package incident

import (
	"fmt"
	"time"

	"github.com/icconsole/ic/store"
)

// ActionItem is follow-up work with an owner.
type ActionItem struct {
	Text  string `json:"text"`
	Owner string `json:"owner"`
	Due   string `json:"due,omitempty"`
}

// ActionItemDone closes the action item at seq Item.
type ActionItemDone struct {
	Item int64  `json:"item"`
	Note string `json:"note,omitempty"`
}

func init() {
	register[ActionItem]()
	register[ActionItemDone]()
}

func (ActionItem) Kind() string     { return "action_item" }
func (ActionItemDone) Kind() string { return "action_item_done" }

func (p ActionItem) Line() string {
	s := fmt.Sprintf("action item for %s: %s", p.Owner, p.Text)
	if p.Due != "" {
		s += " (due " + p.Due + ")"
	}
	return s
}

func (p ActionItemDone) Line() string {
	s := fmt.Sprintf("action item #%d done", p.Item)
	if p.Note != "" {
		s += ": " + p.Note
	}
	return s
}

func (p ActionItem) check(*rules) (Payload, error) {
	var err error
	if p.Text, err = cleanText("action item", p.Text, MaxTextBytes, true); err != nil {
		return nil, err
	}
	if p.Owner, err = cleanName("owner", p.Owner); err != nil {
		return nil, err
	}
	if p.Due != "" {
		if _, err := time.Parse(time.DateOnly, p.Due); err != nil {
			return nil, refuse("due date %q is not YYYY-MM-DD", p.Due)
		}
	}
	return p, nil
}

func (p ActionItemDone) check(r *rules) (Payload, error) {
	item, err := r.svc.db.Event(r.ctx, r.st.ID, p.Item)
	if err != nil || item.Type != (ActionItem{}).Kind() {
		return nil, refuse("%s has no action item at seq %d ('ic timeline %s --type action_item' lists them)", r.st.Short(), p.Item, r.st.Short())
	}
	done, err := r.svc.actionItemsDone(r.ctx, r.st.ID)
	if err != nil {
		return nil, err
	}
	if done[p.Item] {
		return nil, refuse("action item %d of %s is already done", p.Item, r.st.Short())
	}
	if p.Note, err = cleanText("note", p.Note, MaxTextBytes, false); err != nil {
		return nil, err
	}
	return p, nil
}

func (p ActionItem) addTo(d *draft, e store.Event) {
	d.actions = append(d.actions, actionRow{seq: e.Seq, item: p})
}

func (p ActionItemDone) addTo(d *draft, _ store.Event) { d.done[p.Item] = true }

func (p ActionItem) trailArg() string { return p.Text }
