package runbook

import (
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Replacement records that a procedure was once published under another id.
// Ledgers keep the id, version and content hash they cited, so when a book
// is renumbered each moved procedure lists the citations it now answers for:
//
//	replaces:
//	  - id: O-104        # the id it had
//	    version: 2       # the version published under that id
//	    hash: f0bf99...  # optional: sha256 of that file, for exact matching
//
// An old id may since have been given to a different procedure; Resolve
// tells the two apart by the cited version (and hash, when known).
type Replacement struct {
	ID      string `json:"id" yaml:"id"`
	Version int    `json:"version" yaml:"version"`
	Hash    string `json:"hash,omitempty" yaml:"hash"`
	Line    int    `json:"-" yaml:"-"`
}

var (
	replacesList = entryList{field: "replaces", entry: "replaces", keys: []string{"id", "version", "hash"}, holds: "id, version and (optionally) hash"}
	hexHash      = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// parseReplaces reads the replaces field of the front matter.
func (p *Procedure) parseReplaces(top *yaml.Node) []Problem {
	n := mappingValue(top, "replaces")
	if n == nil {
		return nil
	}
	var probs []Problem
	bad := reporter(p.Path, &probs)
	eachEntry(p.Path, n, replacesList, &probs, func(r Replacement, line int) {
		r.ID, r.Line = strings.TrimSpace(r.ID), line
		switch {
		case r.ID == "":
			bad(line, "replaces entry has no id: name the id this procedure was published under")
		case r.Version < 1:
			bad(line, "replaces %s: version must be the whole number (from 1) published under that id", r.ID)
		case r.Hash != "" && !hexHash.MatchString(r.Hash):
			bad(line, "replaces %s v%d: hash must be 64 lower-case hex digits (the sha256 of that file)", r.ID, r.Version)
		case r.ID == p.ID:
			bad(line, "replaces %s: a procedure cannot replace its own id (older versions of the same id need no entry)", r.ID)
		default:
			p.Replaces = append(p.Replaces, r)
		}
	})
	return probs
}

// replacedBy is one procedure answering for an old citation.
type replacedBy struct {
	Replacement
	proc *Procedure
}

// indexReplacements builds the lookups of ids that are not (or no longer)
// procedure ids: old ids from replaces entries, and the external procedures
// of each book's policy. It reports citations that two procedures claim, or
// that a current procedure also answers to.
func (c *Catalog) indexReplacements() []Problem {
	var probs []Problem
	c.replaced = map[string][]replacedBy{}
	c.external = map[string]ExternalProcedure{}
	for _, b := range c.books {
		for _, e := range b.Policy.External {
			c.external[e.ID] = e
		}
		for _, p := range b.Procedures {
			for _, r := range p.Replaces {
				for _, prev := range c.replaced[r.ID] {
					if prev.Version == r.Version {
						probs = append(probs, Problem{Path: p.Path, Line: r.Line, Msg: fmt.Sprintf(
							"replaces %s v%d, which %s also replaces: a citation must lead to one procedure", r.ID, r.Version, prev.proc.ID)})
					}
				}
				if cur, ok := c.byID[r.ID]; ok && cur.Version == r.Version {
					probs = append(probs, Problem{Path: p.Path, Line: r.Line, Msg: fmt.Sprintf(
						"replaces %s v%d, but %s is now itself at version %d: a citation of %s v%d would be ambiguous; raise %s's version",
						r.ID, r.Version, r.ID, cur.Version, r.ID, r.Version, r.ID)})
				}
				c.replaced[r.ID] = append(c.replaced[r.ID], replacedBy{r, p})
			}
		}
	}
	return probs
}

// Resolve finds the procedure that a citation of id at version names; a
// version of 0 means no version was cited. The note, when not empty, says
// in plain words where the procedure went, for example "O-104 v2 is now
// O-105 (Key compromise); O-104 is now AO process or network not answering".
// ok is false when no procedure answers for the citation; the note may
// still say why (an id listed under the book's external procedures, or an
// old id that went to several procedures).
func (c *Catalog) Resolve(id string, version int) (p *Procedure, note string, ok bool) {
	return c.ResolveCited(id, version, "")
}

// ResolveCited is Resolve with the content hash a ledger entry recorded
// ("" when unknown): a hash that matches a current file or a replaced
// version decides before the version does.
func (c *Catalog) ResolveCited(id string, version int, hash string) (p *Procedure, note string, ok bool) {
	c.loaded()
	cur, hasCur := c.byID[id]
	moved := c.replaced[id]
	if hash != "" {
		if hasCur && cur.Hash == hash {
			return cur, "", true
		}
		for _, r := range moved {
			if r.Hash == hash {
				return r.proc, movedNote(r, cur), true
			}
		}
	}
	if version > 0 {
		if hasCur && cur.Version == version {
			return cur, "", true
		}
		for _, r := range moved {
			if r.Version == version {
				return r.proc, movedNote(r, cur), true
			}
		}
	}
	if hasCur {
		var notes []string
		if version > 0 {
			notes = append(notes, fmt.Sprintf("the books hold %s v%[3]d, not the v%[2]d cited", id, version, cur.Version))
		}
		if len(moved) > 0 {
			notes = append(notes, fmt.Sprintf("%s is now %s", id, cur.Title))
			for _, r := range moved {
				notes = append(notes, fmt.Sprintf("the procedure cited as %s v%d is now %s (%s)", id, r.Version, r.proc.ID, r.proc.Title))
			}
		}
		return cur, strings.Join(notes, "; "), true
	}
	switch targets := distinctTargets(moved); len(targets) {
	case 0:
	case 1:
		r := moved[0]
		return r.proc, fmt.Sprintf("%s is now %s (%s)", id, r.proc.ID, r.proc.Title), true
	default:
		var notes []string
		for _, r := range moved {
			notes = append(notes, fmt.Sprintf("%s v%d is now %s (%s)", id, r.Version, r.proc.ID, r.proc.Title))
		}
		return nil, strings.Join(notes, "; ") + ": give the version cited", false
	}
	if ext, ok := c.external[id]; ok {
		return nil, ext.describe(), false
	}
	return nil, "", false
}

func movedNote(r replacedBy, cur *Procedure) string {
	note := fmt.Sprintf("%s v%d is now %s (%s)", r.ID, r.Version, r.proc.ID, r.proc.Title)
	if cur != nil {
		note += fmt.Sprintf("; %s is now %s", r.ID, cur.Title)
	}
	return note
}

func distinctTargets(moved []replacedBy) []string {
	var ids []string
	for _, r := range moved {
		if !slices.Contains(ids, r.proc.ID) {
			ids = append(ids, r.proc.ID)
		}
	}
	return ids
}

// Replaced lists, for an old id, every citation that now leads elsewhere.
func (c *Catalog) Replaced(id string) []Replacement {
	c.loaded()
	var out []Replacement
	for _, r := range c.replaced[id] {
		out = append(out, r.Replacement)
	}
	return out
}

// FindResolved loads the books under fsys and resolves a citation of id
// at version (0: none) as Catalog.Resolve does, for `ic runbook show` of an
// id that may have moved. probs are the problems met loading the books.
func FindResolved(fsys fs.FS, label, id string, version int) (p *Procedure, note string, ok bool, probs []Problem) {
	c, probs := Load(fsys, label)
	p, note, ok = c.Resolve(id, version)
	return p, note, ok, probs
}
