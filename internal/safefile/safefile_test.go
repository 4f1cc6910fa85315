package safefile

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// noHang runs f and fails the test if it has not returned after a generous
// delay: the cases here used to block forever or eat all memory, and a test
// that hangs would say nothing. Passing never depends on the delay.
func noHang(t *testing.T, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("still reading after 60 s: this would hang ic")
	}
}

func mkfifo(t *testing.T, path string) {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skipf("cannot make a named pipe here: %v", err)
	}
}

func socket(t *testing.T, path string) {
	t.Helper()
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Skipf("cannot make a unix socket here: %v", err)
	}
	t.Cleanup(func() { l.Close() })
}

func write(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestReadRefusesWhatIsNotARegularFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "pipe")
	mkfifo(t, fifo)
	sock := filepath.Join(dir, "sock")
	socket(t, sock)
	linkToZero := filepath.Join(dir, "zero-link")
	if err := os.Symlink("/dev/zero", linkToZero); err != nil {
		t.Fatal(err)
	}
	linkToFIFO := filepath.Join(dir, "pipe-link")
	if err := os.Symlink(fifo, linkToFIFO); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ path, want string }{
		{fifo, "evidence " + fifo + " is a named pipe (FIFO), not a regular file"},
		{sock, "evidence " + sock + " is a socket, not a regular file"},
		{"/dev/zero", "evidence /dev/zero is a character device, not a regular file"},
		{linkToZero, "evidence " + linkToZero + " is a character device, not a regular file"},
		{linkToFIFO, "evidence " + linkToFIFO + " is a named pipe (FIFO), not a regular file"},
		{dir, "evidence " + dir + " is a folder, not a regular file"},
		{filepath.Join(dir, "missing"), "cannot be read: no such file"},
	}
	for _, c := range cases {
		if c.path == "/dev/zero" {
			if _, err := os.Stat(c.path); err != nil {
				continue
			}
		}
		noHang(t, func() {
			data, err := Read(context.Background(), c.path, Evidence)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Read(%s) = %d bytes, %v; want an error containing %q", c.path, len(data), err, c.want)
			}
			if strings.Contains(c.want, "not a regular file") && !errors.Is(err, ErrNotRegular) {
				t.Errorf("Read(%s): %v does not wrap ErrNotRegular", c.path, err)
			}
			_, err = Check(c.path, Backup)
			if err == nil || !strings.Contains(err.Error(), strings.Replace(c.want, "evidence", "backup", 1)) {
				t.Errorf("Check(%s) = %v, want %q", c.path, err, c.want)
			}
		})
	}
}

func TestReadRegularFilesAndLinksToThem(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "log.txt")
	write(t, file, []byte("evidence bytes\n"))
	link := filepath.Join(dir, "link.txt")
	if err := os.Symlink(file, link); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{file, link} {
		data, err := Read(context.Background(), p, Evidence)
		if err != nil || string(data) != "evidence bytes\n" {
			t.Errorf("Read(%s) = %q, %v", p, data, err)
		}
	}
	empty := filepath.Join(dir, "empty")
	write(t, empty, nil)
	if data, err := Read(context.Background(), empty, Evidence); err != nil || len(data) != 0 {
		t.Errorf("Read(empty) = %q, %v", data, err)
	}
	if info, err := Check(file, Backup); err != nil || info.Size() != 15 {
		t.Errorf("Check(regular) = %v, %v", info, err)
	}
}

func TestReadRefusesAFileOverTheLimitBeforeReading(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "genesis.json")
	write(t, big, bytes.Repeat([]byte("x"), MaxGenesisBytes+1))
	_, err := Read(context.Background(), big, Genesis)
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "is 65537 bytes, over the 64 KiB genesis limit") {
		t.Errorf("Read(over the limit) = %v", err)
	}
	atLimit := filepath.Join(dir, "ok.json")
	write(t, atLimit, bytes.Repeat([]byte("x"), MaxGenesisBytes))
	if data, err := Read(context.Background(), atLimit, Genesis); err != nil || len(data) != MaxGenesisBytes {
		t.Errorf("Read(at the limit) = %d bytes, %v", len(data), err)
	}
}

func TestOpenStopsAFileThatGrowsPastTheLimit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "updates.json")
	write(t, path, bytes.Repeat([]byte("x"), MaxGenesisBytes-10))
	r, size, err := Open(context.Background(), path, Genesis)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if size != MaxGenesisBytes-10 {
		t.Errorf("size = %d", size)
	}
	// The file grows after the size check, as a log being written would.
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(bytes.Repeat([]byte("y"), 1<<20))
	f.Close()
	noHang(t, func() {
		data, err := io.ReadAll(r)
		if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "grew past the 64 KiB genesis limit while being read") {
			t.Errorf("ReadAll(growing file) = %d bytes, %v", len(data), err)
		}
		if len(data) > MaxGenesisBytes {
			t.Errorf("read %d bytes, past the limit", len(data))
		}
	})
}

func TestReadStopsWhenTheContextIsCancelled(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ev.bin")
	write(t, path, bytes.Repeat([]byte("x"), 1<<20))
	ctx, cancel := context.WithCancel(context.Background())
	r, _, err := Open(ctx, path, Evidence)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	buf := make([]byte, 1024)
	if _, err := r.Read(buf); err != nil {
		t.Fatal(err)
	}
	cancel() // as SIGINT does in the CLI
	if _, err := io.ReadAll(r); !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "was not read") {
		t.Errorf("read after cancel: %v", err)
	}
	if _, err := Read(ctx, path, Evidence); !errors.Is(err, context.Canceled) {
		t.Errorf("Read with a cancelled context: %v", err)
	}
}

// runbookFolder makes a folder of books with every kind of file a careless
// or hostile user could leave in it, and a file outside it.
func runbookFolder(t *testing.T) (dir string) {
	t.Helper()
	base := t.TempDir()
	write(t, filepath.Join(base, "outside.md"), []byte("secret\n"))
	dir = filepath.Join(base, "books")
	for _, d := range []string{"ops", "shared"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	write(t, filepath.Join(dir, "ops", "O-1.md"), []byte("procedure\n"))
	write(t, filepath.Join(dir, "shared", "S-1.md"), []byte("shared procedure\n"))
	mkfifo(t, filepath.Join(dir, "ops", "pipe.md"))
	links := map[string]string{
		"ops/shared.md":   "../shared/S-1.md", // inside: followed
		"ops/zero.md":     "/dev/zero",        // absolute: refused
		"ops/outside.md":  "../../outside.md", // climbs out: refused
		"ops/to-pipe.md":  "pipe.md",          // inside, but to a FIFO
		"ops/abs-pipe.md": filepath.Join(dir, "ops", "pipe.md"),
		"ops/loop.md":     "loop2.md",              // a cycle
		"ops/loop2.md":    "loop.md",               //
		"linked-book":     "shared",                // a folder link inside
		"ops/via-dir.md":  "../linked-book/S-1.md", // through it
		"ops/sneaky.md":   "../shared/../../outside.md",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestReadFSFollowsLinksOnlyInsideTheFolder(t *testing.T) {
	dir := runbookFolder(t)
	d, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	cases := []struct {
		name, want string // want: the content, or "error: " and a fragment
		is         error
	}{
		{"ops/O-1.md", "procedure\n", nil},
		{"ops/shared.md", "shared procedure\n", nil},
		{"ops/via-dir.md", "shared procedure\n", nil},
		{"ops/pipe.md", "error: procedure ops/pipe.md is a named pipe (FIFO), not a regular file", ErrNotRegular},
		{"ops/to-pipe.md", "error: procedure ops/to-pipe.md is a named pipe (FIFO), not a regular file", ErrNotRegular},
		{"ops/zero.md", "error: procedure ops/zero.md is a symbolic link to the absolute path /dev/zero: only relative links", ErrOutside},
		{"ops/abs-pipe.md", "error: is a symbolic link to the absolute path /", ErrOutside},
		{"ops/outside.md", "error: procedure ops/outside.md is a symbolic link to ../../outside.md, outside the folder", ErrOutside},
		{"ops/sneaky.md", "error: outside the folder", ErrOutside},
		{"ops/loop.md", "error: more than 40 symbolic links", nil},
	}
	for _, fsys := range []struct {
		name string
		fs   fs.FS
	}{{"os.DirFS", os.DirFS(dir)}, {"Dir", d}} {
		for _, c := range cases {
			noHang(t, func() {
				data, err := ReadFS(context.Background(), fsys.fs, c.name, Procedure)
				if want, isErr := strings.CutPrefix(c.want, "error: "); isErr {
					if err == nil || !strings.Contains(err.Error(), want) {
						t.Errorf("%s: ReadFS(%s) = %q, %v; want an error containing %q", fsys.name, c.name, data, err, want)
					}
					if c.is != nil && !errors.Is(err, c.is) {
						t.Errorf("%s: ReadFS(%s): %v does not wrap %v", fsys.name, c.name, err, c.is)
					}
					return
				}
				if err != nil || string(data) != c.want {
					t.Errorf("%s: ReadFS(%s) = %q, %v; want %q", fsys.name, c.name, data, err, c.want)
				}
			})
		}
	}
}

// TestDirOpenNeverBlocksOnANamedPipe opens the FIFO directly, without the
// Stat that ReadFS does first: this is what happens when a file is swapped
// for a pipe between the check and the open.
func TestDirOpenNeverBlocksOnANamedPipe(t *testing.T) {
	dir := runbookFolder(t)
	d, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	noHang(t, func() {
		f, err := d.Open("ops/pipe.md")
		if err == nil {
			f.Close()
		}
		if !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), "named pipe") {
			t.Errorf("Dir.Open(FIFO) = %v, want a refusal naming the pipe", err)
		}
		if _, err := d.Open("../outside.md"); err == nil {
			t.Error("Dir.Open climbed out of the folder")
		}
		if _, err := fs.ReadFile(d, "ops/outside.md"); err == nil {
			t.Error("Dir followed a link out of the folder")
		}
	})
	entries, err := fs.ReadDir(d, "ops")
	if err != nil || len(entries) == 0 || entries[0].Name() != "O-1.md" {
		t.Errorf("ReadDir(ops) = %v, %v", entries, err)
	}
	if _, err := OpenDir(filepath.Join(dir, "ops", "O-1.md")); err == nil || !strings.Contains(err.Error(), "not a folder") {
		t.Errorf("OpenDir(a file) = %v", err)
	}
}

func TestReadFSLimitsAndContext(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "big.md"), bytes.Repeat([]byte("x"), MaxProcedureBytes+1))
	_, err := ReadFS(context.Background(), os.DirFS(dir), "big.md", Procedure)
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "over the 64 KiB procedure limit") {
		t.Errorf("ReadFS(too big) = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ReadFS(ctx, os.DirFS(dir), "big.md", Procedure); !errors.Is(err, context.Canceled) {
		t.Errorf("ReadFS(cancelled) = %v", err)
	}
}

func TestBytes(t *testing.T) {
	for n, want := range map[int64]string{16 << 20: "16 MiB", 64 << 10: "64 KiB", 1000: "1000-byte"} {
		if got := Bytes(n); got != want {
			t.Errorf("Bytes(%d) = %q, want %q", n, got, want)
		}
	}
}

// Every kind has a name and, but for backups, a limit.
func TestKinds(t *testing.T) {
	for k := Evidence; k <= Config; k++ {
		if k.String() == "file" {
			t.Errorf("kind %d has no name", k)
		}
		if (k.Limit() == 0) != (k == Backup) {
			t.Errorf("%s: limit %d", k, k.Limit())
		}
	}
}
