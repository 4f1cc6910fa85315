// Package runbook reads runbook books: a folder holding book.yaml (the
// book's policy) and one Markdown procedure per file, each with YAML front
// matter. It extracts what the console walks (sections, numbered steps,
// task-list items, code blocks, links between procedures), gives every
// procedure a content hash so a timeline entry can cite exactly the text that
// was followed, and reports every problem in a book as path:line: message.
//
// Books come from a user's folder as often as from the binary, so nothing in
// one may hang, exhaust or fool ic: files are read through safefile (regular
// files only, size limits, links kept inside the folder), every parser input
// is bounded first (see limits.go), and every string taken from a book is
// escaped once, here, with termsafe.
package runbook

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/icconsole/ic/internal/safefile"
)

// PolicyFile is the name of a book's policy file.
const PolicyFile = "book.yaml"

// Book is one folder of procedures under one policy.
type Book struct {
	ID     string
	Dir    string
	Policy *Policy
	// PolicyPath is book.yaml's path as problems show it.
	PolicyPath string
	// Procedures is every procedure of the book, by id; it is filled once
	// the catalog has read them all (Load does at once, a catalog from
	// LoadPolicies when Books, Book, Filter or NotReviewedSince is called).
	Procedures []*Procedure
}

// Catalog is every book loaded from one file tree, with lookups across them.
// A catalog from Load holds every procedure. A catalog from LoadPolicies
// starts with the policies only and reads procedures when they are asked
// for: Procedure reads the one file named after the id, the other lookups
// read them all. A Catalog is safe to use from several goroutines.
type Catalog struct {
	// ctx bounds the reads a lazy catalog makes after it was created.
	ctx     context.Context
	fsys    fs.FS
	display func(string) string

	mu       sync.Mutex
	books    []*Book
	byID     map[string]*Procedure
	complete bool      // every procedure has been read and checked
	bookErrs []Problem // from the policies and the folder layout
	procErrs []Problem // from procedures read so far
	readOne  map[string]bool
	// replaced and external answer for ids that are not (or no longer)
	// the id of a procedure (replaces.go, policy_ext.go); set with byID.
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
// panics or hangs on bad input.
func Load(fsys fs.FS, label string) (*Catalog, []Problem) {
	return LoadContext(context.Background(), fsys, label)
}

// LoadContext is Load that stops reading files once ctx is done.
func LoadContext(ctx context.Context, fsys fs.FS, label string) (*Catalog, []Problem) {
	c, _ := LoadPolicies(ctx, fsys, label)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.loadAll()
	return c, c.problems()
}

// LoadPolicies reads the policies of every book under root of fsys and no
// procedure: what the commands that only write to the ledger need. A
// procedure is read the first time it is asked for, so a bad procedure file
// costs only the commands that use it. The problems returned are those of the
// policies and the folder layout; Problems has the rest as they are found.
func LoadPolicies(ctx context.Context, fsys fs.FS, label string) (*Catalog, []Problem) {
	c := &Catalog{ctx: ctx, fsys: fsys, byID: map[string]*Procedure{}, readOne: map[string]bool{}}
	c.display = func(p string) string {
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
			c.bookErrs = []Problem{{Path: c.display("."), Msg: fmt.Sprintf("cannot read the runbook folder: %v", err)}}
			return c, c.problems()
		}
		for _, e := range entries {
			if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
				dirs = append(dirs, e.Name())
			}
		}
	}
	for _, dir := range dirs {
		book, probs := c.loadPolicy(dir)
		c.bookErrs = append(c.bookErrs, probs...)
		if book != nil {
			c.books = append(c.books, book)
		}
	}
	if len(c.books) == 0 && len(c.bookErrs) == 0 {
		c.bookErrs = append(c.bookErrs, Problem{Path: c.display("."), Msg: "no runbook books here: a book is a folder holding " + PolicyFile + " and Markdown procedures"})
	}
	slices.SortFunc(c.books, func(x, y *Book) int { return strings.Compare(x.ID, y.ID) })
	return c, c.problems()
}

// Problems returns every problem found so far, by path and line.
func (c *Catalog) Problems() []Problem {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.problems()
}

func (c *Catalog) problems() []Problem {
	probs := slices.Concat(c.bookErrs, c.procErrs)
	slices.SortStableFunc(probs, func(a, b Problem) int {
		return cmp.Or(strings.Compare(a.Path, b.Path), cmp.Compare(a.Line, b.Line))
	})
	return probs
}

// loadPolicy reads one book's policy; a folder without one and without
// procedures is not a book and yields nothing.
func (c *Catalog) loadPolicy(dir string) (*Book, []Problem) {
	policyPath := path.Join(dir, PolicyFile)
	data, err := safefile.ReadFS(c.ctx, c.fsys, policyPath, safefile.Policy)
	if errors.Is(err, fs.ErrNotExist) {
		entries, _ := fs.Glob(c.fsys, path.Join(dir, "*.md"))
		if len(entries) == 0 {
			return nil, nil // not a book, just a folder
		}
		return nil, []Problem{{Path: c.display(policyPath), Msg: "book has no " + PolicyFile + ": add its policy (severities, lifecycle, first_response)"}}
	}
	if err != nil {
		return nil, []Problem{readProblem(c.display(policyPath), err)}
	}
	policy, probs := ParsePolicy(c.display(policyPath), data)
	if policy == nil {
		return nil, probs
	}
	if policy.ID == "" {
		policy.ID = path.Base(dir)
		if dir == "." {
			policy.ID = "book"
		}
	}
	return &Book{ID: policy.ID, Dir: dir, Policy: policy, PolicyPath: c.display(policyPath)}, probs
}

// loaded reads every procedure unless that was done. Once it returns, the
// indexes (byID, replaced, external) are complete and never written again,
// so code that only reads them needs no lock.
func (c *Catalog) loaded() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.loadAll()
}

// loadAll reads and checks every procedure of every book, once. c.mu is held.
func (c *Catalog) loadAll() {
	if c.complete {
		return
	}
	c.complete = true
	c.procErrs = nil
	c.byID = map[string]*Procedure{}
	for _, b := range c.books {
		c.procErrs = append(c.procErrs, c.loadProcedures(b)...)
	}
	c.procErrs = append(c.procErrs, c.index()...)
	if err := c.ctx.Err(); err != nil {
		c.procErrs = append(c.procErrs, Problem{Path: c.display("."), Msg: fmt.Sprintf("reading the books stopped: %v", err)})
	}
}

// loadProcedures reads one book's procedure files and checks what needs the
// book: the file name, the severity, the first-response procedure.
func (c *Catalog) loadProcedures(book *Book) []Problem {
	var probs []Problem
	files, _ := fs.Glob(c.fsys, path.Join(book.Dir, "*.md"))
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
		if c.ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			results[i].proc, results[i].probs = c.readProcedure(book.ID, f)
		})
	}
	wg.Wait()
	book.Procedures = nil
	for i, f := range files {
		proc := results[i].proc
		probs = append(probs, results[i].probs...)
		if proc == nil {
			continue
		}
		if want := strings.TrimSuffix(path.Base(f), ".md"); want != proc.ID {
			probs = append(probs, Problem{Path: proc.Path, Line: proc.Line("id"), Msg: fmt.Sprintf("id %s does not match the file name %s.md (links name procedures by file)", proc.ID, want)})
		}
		probs = append(probs, book.check(proc)...)
		book.Procedures = append(book.Procedures, proc)
	}
	if !slices.ContainsFunc(book.Procedures, func(p *Procedure) bool { return p.ID == book.Policy.FirstResponse }) {
		probs = append(probs, Problem{Path: c.display(path.Join(book.Dir, PolicyFile)), Line: 1, Msg: fmt.Sprintf("first_response procedure %s is not in this book", book.Policy.FirstResponse)})
	}
	return probs
}

// check makes the checks of one procedure that need its book's policy.
func (b *Book) check(p *Procedure) []Problem {
	var probs []Problem
	if p.Severity != "" && !b.Policy.KnownSeverity(p.Severity) {
		probs = append(probs, Problem{Path: p.Path, Line: p.Line("severity"), Msg: fmt.Sprintf("severity %q is not in book %s's policy (%s)", p.Severity, b.ID, strings.Join(b.Policy.SeverityIDs(), ", "))})
	}
	return append(probs, checkAgainstPolicy(p, b.Policy)...)
}

// readProcedure reads and parses one file through safefile: a named pipe,
// a device, a link out of the folder or an oversized file is a problem for
// that file alone.
func (c *Catalog) readProcedure(book, f string) (*Procedure, []Problem) {
	return readProcedure(c.ctx, c.fsys, book, f, c.display)
}

func readProcedure(ctx context.Context, fsys fs.FS, book, f string, display func(string) string) (*Procedure, []Problem) {
	data, err := safefile.ReadFS(ctx, fsys, f, safefile.Procedure)
	if err != nil {
		return nil, []Problem{readProblem(display(f), err)}
	}
	return ParseProcedure(book, display(f), data)
}

// readProblem says why a file was not read, without repeating its path.
func readProblem(display string, err error) Problem {
	var se *safefile.Error
	if errors.As(err, &se) {
		return Problem{Path: display, Msg: "file " + se.Msg}
	}
	return Problem{Path: display, Msg: fmt.Sprintf("cannot read: %v", err)}
}

// index builds the id lookup and checks what spans files: duplicate ids and
// links to procedures that do not exist. c.mu is held.
func (c *Catalog) index() []Problem {
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
	probs = append(probs, c.indexReplacements()...)
	probs = append(probs, c.checkReferences()...)
	return probs
}

// Books lists the loaded books by id, every procedure read.
func (c *Catalog) Books() []*Book {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.loadAll()
	return c.books
}

// Book returns the book with the given id, every procedure read.
func (c *Catalog) Book(id string) (*Book, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.loadAll()
	return c.book(id)
}

func (c *Catalog) book(id string) (*Book, bool) {
	for _, b := range c.books {
		if b.ID == id {
			return b, true
		}
	}
	return nil, false
}

// Policy returns the policy of the book with the given id, without reading
// any procedure: what the ledger needs to apply a book's rules.
func (c *Catalog) Policy(book string) (*Policy, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.book(book)
	if !ok {
		return nil, false
	}
	return b.Policy, true
}

// BookIDs lists the books' ids, without reading any procedure.
func (c *Catalog) BookIDs() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	ids := make([]string, len(c.books))
	for i, b := range c.books {
		ids[i] = b.ID
	}
	return ids
}

// DefaultBook is "ops" when loaded, else the first book ("" when empty).
func (c *Catalog) DefaultBook() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.book("ops"); ok {
		return "ops"
	}
	if len(c.books) > 0 {
		return c.books[0].ID
	}
	return ""
}

// Procedure looks a procedure up by id; ids are unique across books. A lazy
// catalog reads only the file named after the id (and its problems join
// Problems); when no book has such a file it reads them all, so a misnamed
// file is still found.
func (c *Catalog) Procedure(id string) (*Procedure, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, ok := c.byID[id]; ok || c.complete {
		return p, ok
	}
	if plainID(id) {
		for _, b := range c.books {
			f := path.Join(b.Dir, id+".md")
			if c.readOne[f] {
				continue
			}
			if _, err := fs.Lstat(c.fsys, f); err != nil {
				continue
			}
			c.readOne[f] = true
			p, probs := c.readProcedure(b.ID, f)
			c.procErrs = append(c.procErrs, probs...)
			if p != nil {
				c.procErrs = append(c.procErrs, b.check(p)...)
				if p.ID == id {
					c.byID[id] = p
					return p, true
				}
			}
		}
	}
	c.loadAll()
	p, ok := c.byID[id]
	return p, ok
}

// plainID reports whether id can name a file: not empty, no path or glob.
func plainID(id string) bool {
	return id != "" && id != "." && id != ".." && !strings.ContainsAny(id, `/\*?[`)
}

// Filter returns the procedures that match f, by book then id.
func (c *Catalog) Filter(f Filter) []*Procedure {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.loadAll()
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
	return FindContext(context.Background(), fsys, label, id)
}

// FindContext is Find that stops reading files once ctx is done.
func FindContext(ctx context.Context, fsys fs.FS, label, id string) (p *Procedure, ok bool, probs []Problem) {
	display := func(p string) string {
		if label == "" {
			return p
		}
		return path.Join(label, p)
	}
	if plainID(id) {
		candidates, _ := fs.Glob(fsys, id+".md")
		more, _ := fs.Glob(fsys, path.Join("*", id+".md"))
		candidates = append(candidates, more...)
		if len(candidates) == 1 {
			dir := path.Dir(candidates[0])
			policyPath := path.Join(dir, PolicyFile)
			data, err := safefile.ReadFS(ctx, fsys, policyPath, safefile.Policy)
			if err == nil {
				if policy, _ := ParsePolicy(display(policyPath), data); policy != nil {
					book := policy.ID
					if book == "" {
						book = path.Base(dir)
					}
					p, probs := readProcedure(ctx, fsys, book, candidates[0], display)
					if p != nil && p.ID == id {
						return p, true, probs
					}
				}
			}
		}
	}
	c, probs := LoadContext(ctx, fsys, label)
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
