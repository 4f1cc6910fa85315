package incident

import (
	"path/filepath"
	"regexp"
)

// fullID is what an incident id looks like (64 hex digits); only such ids
// name draft files, so an id can never point outside the drafts folder.
var fullID = regexp.MustCompile(`^[0-9a-f]{64}$`)

// DraftFor returns the draft of one incident: what was typed for it and
// not yet added to its timeline, kept in a folder beside the ledger
// (ic.db.drafts/ID) across restarts. Drafts() is the draft typed while no
// incident was open. An id that is not a full incident id gets that
// unattached draft.
func (s *Service) DraftFor(id string) Drafts {
	if !fullID.MatchString(id) {
		return s.Drafts()
	}
	_, dir := s.draftPaths()
	return Drafts{path: filepath.Join(dir, id)}
}
