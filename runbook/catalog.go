// Package runbook reads runbook books: a folder holding book.yaml (the
// book's policy) and one Markdown procedure per file, each with YAML front
// matter. It extracts what the console walks (sections, numbered steps,
// task-list items, code blocks, links between procedures), gives every
// procedure a content hash so a timeline entry can cite exactly the text that
// was followed, and reports every problem in a book as path:line: message.
package runbook

import (
	"cmp"
	"fmt"
	"io/fs"
	"path"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
)

// PolicyFile is the name of a book's policy file.
const PolicyFile = "book.yaml"

// Book is one folder of procedures under one policy.
type Book struct {
	ID         string
	Dir        string
	Policy     *Policy
	Procedures []*Procedure
	// PolicyPath is book.yaml's path as problems show it.
	PolicyPath string
}

// Catalog is every book loaded from one file tree, with lookups across them.
type Catalog struct {
	books []*Book
	byID  map[string]*Procedure
	// replaced and external answer for ids that are not (or no longer)
	// the id of a procedure (replaces.go, policy_ext.go).
	replaced map[string][]replacedBy
	external map[string]ExternalProcedure
}

// Filter selects procedures; empty fields match everything.
type Filter struct {
	Book  string
	Kind  Kind
	Class string
	Query string
}

// Load reads every book under root of fsys: either root is itself a book
// (it holds book.yaml) or each of its folders is one. A bad file is reported
// and left out; everything else still loads. Problem paths are prefixed with
// label (for example the folder name given on the command line). Load never
// panics on bad input.
func Load(fsys fs.FS, label string) (*Catalog, []Problem) {
	c := &Catalog{byID: map[string]*Procedure{}}
	var probs []Problem
	display := func(p string) string {
		if label == "" {
			return p
		}
		return path.Join(label, p)
	}
	var dirs []string
	if _, err := fs.Stat(fsys, PolicyFile); err == nil {
		dirs = []string{"."}
	} else {
		entries, err := fs.ReadDir(fsys, ".")
		if err != nil {
			return c, []Problem{{Path: display("."), Msg: fmt.Sprintf("cannot read the runbook folder: %v", err)}}
		}
		for _, e := range entries {
			if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
				dirs = append(dirs, e.Name())
			}
		}
	}
	books := make([]*Book, len(dirs))
	bookProbs := make([][]Problem, len(dirs))
	var wg sync.WaitGroup
	for i, dir := range dirs {
		wg.Go(func() { books[i], bookProbs[i] = loadBook(fsys, dir, display) })
	}
	wg.Wait()
	for i := range dirs {
		probs = append(probs, bookProbs[i]...)
		if books[i] != nil {
			c.books = append(c.books, books[i])
		}
	}
	if len(c.books) == 0 && len(probs) == 0 {
		probs = append(probs, Problem{Path: display("."), Msg: "no runbook books here: a book is a folder holding " + PolicyFile + " and Markdown procedures"})
	}
	probs = append(probs, c.index(display)...)
	slices.SortStableFunc(probs, func(a, b Problem) int {
		return cmp.Or(strings.Compare(a.Path, b.Path), cmp.Compare(a.Line, b.Line))
	})
	return c, probs
}

func loadBook(fsys fs.FS, dir string, display func(string) string) (*Book, []Problem) {
	var probs []Problem
	policyPath := path.Join(dir, PolicyFile)
	data, err := fs.ReadFile(fsys, policyPath)
	if err != nil {
		entries, _ := fs.Glob(fsys, path.Join(dir, "*.md"))
		if len(entries) == 0 {
			return nil, nil // not a book, just a folder
		}
		return nil, []Problem{{Path: display(policyPath), Msg: "book has no " + PolicyFile + ": add its policy (severities, lifecycle, first_response)"}}
	}
	policy, pp := ParsePolicy(display(policyPath), data)
	if pp != nil {
		return nil, pp
	}
	id := policy.ID
	if id == "" {
		id = path.Base(dir)
		if dir == "." {
			id = "book"
		}
		policy.ID = id
	}
	book := &Book{ID: id, Dir: dir, Policy: policy, PolicyPath: display(policyPath)}
	files, _ := fs.Glob(fsys, path.Join(dir, "*.md"))
	files = slices.DeleteFunc(files, func(f string) bool { return strings.EqualFold(path.Base(f), "README.md") })
	// Parsing is the cost of loading; files are independent, so parse them
	// on every core and then check them in file order.
	type parsed struct {
		proc  *Procedure
		probs []Problem
	}
	results := make([]parsed, len(files))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i, f := range files {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			results[i].proc, results[i].probs = readProcedure(fsys, id, f, display)
		}()
	}
	wg.Wait()
	for i, f := range files {
		proc := results[i].proc
		probs = append(probs, results[i].probs...)
		if proc == nil {
			continue
		}
		if want := strings.TrimSuffix(path.Base(f), ".md"); want != proc.ID {
			probs = append(probs, Problem{Path: proc.Path, Line: proc.Line("id"), Msg: fmt.Sprintf("id %s does not match the file name %s.md (links name procedures by file)", proc.ID, want)})
		}
		if proc.Severity != "" && !policy.KnownSeverity(proc.Severity) {
			probs = append(probs, Problem{Path: proc.Path, Line: proc.Line("severity"), Msg: fmt.Sprintf("severity %q is not in book %s's policy (%s)", proc.Severity, id, strings.Join(policy.SeverityIDs(), ", "))})
		}
		probs = append(probs, checkAgainstPolicy(proc, policy)...)
		book.Procedures = append(book.Procedures, proc)
	}
	if !slices.ContainsFunc(book.Procedures, func(p *Procedure) bool { return p.ID == policy.FirstResponse }) {
		probs = append(probs, Problem{Path: display(policyPath), Line: 1, Msg: fmt.Sprintf("first_response procedure %s is not in this book", policy.FirstResponse)})
	}
	return book, probs
}

// readProcedure reads and parses one file, refusing oversized files before
// reading them.
func readProcedure(fsys fs.FS, book, f string, display func(string) string) (*Procedure, []Problem) {
	if info, err := fs.Stat(fsys, f); err == nil && info.Size() > MaxFileSize {
		return nil, []Problem{{Path: display(f), Msg: fmt.Sprintf("file is %d bytes, over the %d-byte limit for a procedure", info.Size(), MaxFileSize)}}
	}
	data, err := fs.ReadFile(fsys, f)
	if err != nil {
		return nil, []Problem{{Path: display(f), Msg: fmt.Sprintf("cannot read: %v", err)}}
	}
	return ParseProcedure(book, display(f), data)
}

// index builds the id lookup and checks what spans files: duplicate ids and
// links to procedures that do not exist.
func (c *Catalog) index(display func(string) string) []Problem {
	var probs []Problem
	for _, b := range c.books {
		kept := b.Procedures[:0]
		for _, p := range b.Procedures {
			if prev, dup := c.byID[p.ID]; dup {
				probs = append(probs, Problem{Path: p.Path, Line: p.Line("id"), Msg: fmt.Sprintf("duplicate id %s (also in %s)", p.ID, prev.Path)})
				continue
			}
			c.byID[p.ID] = p
			kept = append(kept, p)
		}
		b.Procedures = kept
		slices.SortFunc(b.Procedures, func(x, y *Procedure) int { return strings.Compare(x.ID, y.ID) })
	}
	for _, b := range c.books {
		for _, p := range b.Procedures {
			for _, l := range p.Links {
				if _, ok := c.byID[l.Target]; !ok {
					probs = append(probs, Problem{Path: p.Path, Line: l.Line, Msg: fmt.Sprintf("link to unknown procedure %s", l.Target)})
				}
			}
		}
	}
	slices.SortFunc(c.books, func(x, y *Book) int { return strings.Compare(x.ID, y.ID) })
	probs = append(probs, c.indexReplacements()...)
	probs = append(probs, c.checkReferences()...)
	return probs
}

// Books lists the loaded books by id.
func (c *Catalog) Books() []*Book { return c.books }

// Book returns the book with the given id.
func (c *Catalog) Book(id string) (*Book, bool) {
	for _, b := range c.books {
		if b.ID == id {
			return b, true
		}
	}
	return nil, false
}

// DefaultBook is "ops" when loaded, else the first book ("" when empty).
func (c *Catalog) DefaultBook() string {
	if _, ok := c.Book("ops"); ok {
		return "ops"
	}
	if len(c.books) > 0 {
		return c.books[0].ID
	}
	return ""
}

// Procedure looks a procedure up by id; ids are unique across books.
func (c *Catalog) Procedure(id string) (*Procedure, bool) {
	p, ok := c.byID[id]
	return p, ok
}

// Filter returns the procedures that match f, by book then id.
func (c *Catalog) Filter(f Filter) []*Procedure {
	var out []*Procedure
	for _, b := range c.books {
		if f.Book != "" && b.ID != f.Book {
			continue
		}
		for _, p := range b.Procedures {
			if f.Kind != "" && p.Kind != f.Kind {
				continue
			}
			if f.Class != "" && !slices.Contains(p.Classes, f.Class) {
				continue
			}
			if f.Query != "" && !p.Matches(f.Query) {
				continue
			}
			out = append(out, p)
		}
	}
	return out
}

// Find loads the one procedure with the given id without parsing the rest
// of the tree: procedure files are named after their ids (lint enforces
// it), so the file is found by name and only it and its book's policy are
// read. When no file has that name, Find falls back to a full Load, so a
// misnamed file is still found. ok is false when no procedure has the id.
func Find(fsys fs.FS, label, id string) (p *Procedure, ok bool, probs []Problem) {
	display := func(p string) string {
		if label == "" {
			return p
		}
		return path.Join(label, p)
	}
	if id != "" && !strings.ContainsAny(id, `/\*?[`) {
		candidates, _ := fs.Glob(fsys, id+".md")
		more, _ := fs.Glob(fsys, path.Join("*", id+".md"))
		candidates = append(candidates, more...)
		if len(candidates) == 1 {
			dir := path.Dir(candidates[0])
			data, err := fs.ReadFile(fsys, path.Join(dir, PolicyFile))
			if err == nil {
				if policy, pp := ParsePolicy(display(path.Join(dir, PolicyFile)), data); pp == nil {
					book := policy.ID
					if book == "" {
						book = path.Base(dir)
					}
					p, probs := readProcedure(fsys, book, candidates[0], display)
					if p != nil && p.ID == id {
						return p, true, probs
					}
				}
			}
		}
	}
	c, probs := Load(fsys, label)
	p, ok = c.Procedure(id)
	return p, ok, probs
}

// NotReviewedSince lists the procedures of book ("" for all) whose front
// matter `reviewed` date is before cutoff, or missing, oldest first.
func (c *Catalog) NotReviewedSince(book string, cutoff time.Time) []*Procedure {
	var out []*Procedure
	for _, p := range c.Filter(Filter{Book: book}) {
		r, err := time.Parse(time.DateOnly, p.Reviewed)
		if err != nil || r.Before(cutoff) {
			out = append(out, p)
		}
	}
	slices.SortStableFunc(out, func(a, b *Procedure) int { return strings.Compare(a.Reviewed, b.Reviewed) })
	return out
}
