package runbook

import (
	"context"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/icconsole/ic/internal/hangtest"

	"github.com/icconsole/ic/internal/safefile"
)

// noHang fails the test if f has not returned after a generous delay.
func noHang(t *testing.T, f func()) {
	t.Helper()
	hangtest.NoHang(t, "every ic command would hang on this folder", f)
}

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

// hostileFolder is a --runbooks folder with a good book in which a careless
// or hostile user left a named pipe, a socket and links to /dev/zero, to a
// pipe and out of the folder; a second book's book.yaml is a named pipe.
func hostileFolder(t *testing.T) string {
	t.Helper()
	base := t.TempDir()
	writeFile(t, filepath.Join(base, "secret.md"), goodRoutine)
	dir := filepath.Join(base, "books")
	writeFile(t, filepath.Join(dir, "b", "book.yaml"), goodPolicy)
	writeFile(t, filepath.Join(dir, "b", "T-001.md"), goodProcedure)
	writeFile(t, filepath.Join(dir, "b", "T-002.md"), goodRoutine)
	if err := syscall.Mkfifo(filepath.Join(dir, "b", "T-003.md"), 0o600); err != nil {
		t.Skipf("cannot make a named pipe here: %v", err)
	}
	l, err := net.Listen("unix", filepath.Join(dir, "b", "T-004.md"))
	if err != nil {
		t.Skipf("cannot make a socket here: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	for name, target := range map[string]string{
		"b/T-005.md": "/dev/zero",
		"b/T-006.md": "T-003.md",
		"b/T-007.md": "../../secret.md",
		"b/T-008.md": "T-002.md", // a link inside the book: followed (and a duplicate id)
	} {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(dir, "c", "C-001.md"), strings.Replace(goodRoutine, "T-002", "C-001", 1))
	if err := syscall.Mkfifo(filepath.Join(dir, "c", "book.yaml"), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestLoadRefusesSpecialFilesPerFileAndLoadsTheRest(t *testing.T) {
	dir := hostileFolder(t)
	safeDir, err := safefile.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer safeDir.Close()
	want := []string{
		"books/b/T-003.md: file is a named pipe (FIFO), not a regular file",
		"books/b/T-004.md: file is a socket, not a regular file",
		"books/b/T-005.md: file is a symbolic link to the absolute path /dev/zero",
		"books/b/T-006.md: file is a named pipe (FIFO), not a regular file",
		"books/b/T-007.md: file is a symbolic link to ../../secret.md, outside the folder",
		"books/b/T-008.md:2: id T-002 does not match the file name T-008.md",
		"books/b/T-008.md:2: duplicate id T-002",
		"books/c/book.yaml: file is a named pipe (FIFO), not a regular file",
	}
	for _, fsys := range []struct {
		name string
		fs   fs.FS
	}{{"os.DirFS", os.DirFS(dir)}, {"safefile.Dir", safeDir}} {
		t.Run(fsys.name, func(t *testing.T) {
			noHang(t, func() {
				cat, probs := Load(fsys.fs, "books")
				got := problemLines(probs)
				joined := strings.Join(got, "\n")
				for _, w := range want {
					if !strings.Contains(joined, w) {
						t.Errorf("no problem %q in:\n%s", w, joined)
					}
				}
				if len(probs) != len(want) {
					t.Errorf("%d problems, want %d:\n%s", len(probs), len(want), joined)
				}
				for _, id := range []string{"T-001", "T-002"} {
					if _, ok := cat.Procedure(id); !ok {
						t.Errorf("the good procedure %s was not loaded", id)
					}
				}
				if _, ok := cat.Book("c"); ok {
					t.Error("book c loaded without its policy")
				}
			})
			noHang(t, func() {
				if p, ok, _ := Find(fsys.fs, "books", "T-001"); !ok || p.ID != "T-001" {
					t.Errorf("Find(T-001) = %v, %v", p, ok)
				}
				_, ok, probs := Find(fsys.fs, "books", "T-003")
				if ok || !strings.Contains(fmt.Sprint(probs), "named pipe") {
					t.Errorf("Find(FIFO) = %v, %v", ok, probs)
				}
			})
		})
	}
}

func TestLoadContextStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	cat, probs := LoadContext(ctx, book(map[string]string{"book.yaml": goodPolicy, "T-001.md": goodProcedure}), "")
	if len(cat.Filter(Filter{})) != 0 || !strings.Contains(fmt.Sprint(probs), "context canceled") {
		t.Errorf("LoadContext(cancelled) = %d procedures, %v", len(cat.Filter(Filter{})), probs)
	}
}

// countingFS records which files are opened (Load opens them from several
// goroutines).
type countingFS struct {
	fs.FS
	mu     sync.Mutex
	opened map[string]int
}

func (c *countingFS) Open(name string) (fs.File, error) {
	c.mu.Lock()
	c.opened[name]++
	c.mu.Unlock()
	return c.FS.Open(name)
}

func TestLoadPoliciesReadsAProcedureOnlyWhenAskedFor(t *testing.T) {
	deep := strings.Replace(goodRoutine, "T-002", "T-009", 1) + strings.Repeat(strings.Repeat("> ", 500)+"deep\n", 3)
	fsys := &countingFS{FS: book(map[string]string{
		"book.yaml": goodPolicy, "T-001.md": goodProcedure, "T-002.md": goodRoutine,
		"T-009.md": deep, "T-010.md": "not a procedure\n",
	}), opened: map[string]int{}}
	cat, probs := LoadPolicies(context.Background(), fsys, "")
	if len(probs) != 0 {
		t.Fatalf("policy problems: %v", probs)
	}
	if p, ok := cat.Policy("test"); !ok || p.FirstResponse != "T-001" {
		t.Fatalf("Policy(test) = %v, %v", p, ok)
	}
	if cat.DefaultBook() != "test" || strings.Join(cat.BookIDs(), ",") != "test" {
		t.Errorf("DefaultBook = %q, BookIDs = %v", cat.DefaultBook(), cat.BookIDs())
	}
	for name := range fsys.opened {
		if strings.HasSuffix(name, ".md") {
			t.Errorf("LoadPolicies opened %s", name)
		}
	}
	p, ok := cat.Procedure("T-002")
	if !ok || p.Version != 2 {
		t.Fatalf("Procedure(T-002) = %v, %v", p, ok)
	}
	for _, name := range []string{"b/T-001.md", "b/T-009.md", "b/T-010.md"} {
		if fsys.opened[name] != 0 {
			t.Errorf("Procedure(T-002) opened %s too", name)
		}
	}
	if got := cat.Problems(); len(got) != 0 {
		t.Errorf("problems after reading one good procedure: %v", got)
	}
	// Resolving a citation needs every procedure's replaces: it reads them.
	if r, _, ok := cat.Resolve("T-001", 1); !ok || r.ID != "T-001" || fsys.opened["b/T-001.md"] == 0 {
		t.Errorf("Resolve(T-001 v1) on a lazy catalog = %v, %v", r, ok)
	}
	// Asking for everything reads everything, and reports the bad files.
	if n := len(cat.Filter(Filter{})); n != 3 {
		t.Errorf("Filter found %d procedures, want 3", n)
	}
	all := fmt.Sprint(cat.Problems())
	for _, w := range []string{"b/T-009.md:10: warning: lists and block quotes nested deeper than 16 levels are shown flat (this line and 2 more)", "b/T-010.md:1: no YAML front matter"} {
		if !strings.Contains(all, w) {
			t.Errorf("Problems() = %s\nwant %q", all, w)
		}
	}
}
