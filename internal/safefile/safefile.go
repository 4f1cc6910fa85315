// Package safefile reads the files a user names to ic (evidence, runbook
// books, light-client JSON, drafts, backups) without letting one of them hang
// or exhaust the process. A path on the command line can name anything: a
// named pipe that blocks forever on open, /dev/zero that never ends, a socket,
// a file that keeps growing. Every reader here accepts regular files only
// (saying what else it found), opens without blocking, enforces a size limit
// per kind of file both before and while reading, and stops when its context
// is cancelled (the CLI cancels it on SIGINT and SIGTERM).
package safefile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// Kind says what a file is for; it names the file in messages and sets the
// largest size accepted.
type Kind int

const (
	// Evidence is a file attached to an incident, kept in the ledger.
	Evidence Kind = iota + 1
	// Procedure is one Markdown procedure of a runbook book.
	Procedure
	// Policy is a book's book.yaml.
	Policy
	// Bootstrap is a light-client bootstrap JSON file.
	Bootstrap
	// Updates is a light-client updates JSON file (an array or one update).
	Updates
	// Genesis is a beacon genesis JSON file.
	Genesis
	// Draft is the console's unsent note, saved beside the ledger.
	Draft
	// Backup is a ledger backup given to restore; SQLite reads it, so only
	// its type is checked (Check), and it has no size limit.
	Backup
	// Checkpoint is a signed checkpoint note of the ledger's Merkle log.
	Checkpoint
	// Receipt is an entry's receipt (entry, inclusion proof, checkpoint).
	Receipt
	// Key is a key file: a checkpoint key, its public half, an SSH key.
	Key
	// Signers is an allowed-signers file.
	Signers
	// Config is ic's configuration file.
	Config
)

// Size limits per kind, in bytes. Each is far above what a real file of that
// kind holds and far below what would hurt ic: the shipped procedures are
// under 3 KB and the books' policies under 4 KB; a bootstrap is about 60 KB
// and an update about 60 KB, of which a beacon serves at most 128 at once;
// a note is at most 64 KiB before escaping; a checkpoint note is under 1 KB
// and a key under 4 KB.
const (
	MaxEvidenceBytes   = 16 << 20
	MaxProcedureBytes  = 64 << 10
	MaxPolicyBytes     = 64 << 10
	MaxBootstrapBytes  = 1 << 20
	MaxUpdatesBytes    = 16 << 20
	MaxGenesisBytes    = 64 << 10
	MaxDraftBytes      = 1 << 20
	MaxCheckpointBytes = 64 << 10
	MaxReceiptBytes    = 1 << 20
	MaxKeyBytes        = 64 << 10
	MaxSignersBytes    = 1 << 20
	MaxConfigBytes     = 64 << 10
)

// String names the kind in messages ("evidence", "book policy", ...).
func (k Kind) String() string {
	switch k {
	case Evidence:
		return "evidence"
	case Procedure:
		return "procedure"
	case Policy:
		return "book policy"
	case Bootstrap:
		return "bootstrap"
	case Updates:
		return "updates"
	case Genesis:
		return "genesis"
	case Draft:
		return "draft"
	case Backup:
		return "backup"
	case Checkpoint:
		return "checkpoint"
	case Receipt:
		return "receipt"
	case Key:
		return "key"
	case Signers:
		return "allowed signers"
	case Config:
		return "configuration"
	}
	return "file"
}

// Limit is the largest file of this kind that is read, in bytes (0: none).
func (k Kind) Limit() int64 {
	switch k {
	case Evidence:
		return MaxEvidenceBytes
	case Procedure:
		return MaxProcedureBytes
	case Policy:
		return MaxPolicyBytes
	case Bootstrap:
		return MaxBootstrapBytes
	case Updates:
		return MaxUpdatesBytes
	case Genesis:
		return MaxGenesisBytes
	case Draft:
		return MaxDraftBytes
	case Checkpoint:
		return MaxCheckpointBytes
	case Receipt:
		return MaxReceiptBytes
	case Key:
		return MaxKeyBytes
	case Signers:
		return MaxSignersBytes
	case Config:
		return MaxConfigBytes
	}
	return 0
}

// Error is a refusal of, or a failure to read, one file. Its text names the
// kind and the path ("evidence /tmp/x is a named pipe (FIFO), not a regular
// file"); Msg alone is the part after the path, for callers that print the
// path their own way (runbook problems are "path: message").
type Error struct {
	Kind Kind
	Path string
	Msg  string
	Err  error // ErrNotRegular, ErrTooLarge, the context's error, or the file system's
}

func (e *Error) Error() string { return e.Kind.String() + " " + e.Path + " " + e.Msg }

func (e *Error) Unwrap() error { return e.Err }

func fail(kind Kind, path string, err error, format string, args ...any) *Error {
	return &Error{Kind: kind, Path: path, Msg: fmt.Sprintf(format, args...), Err: err}
}

// ErrNotRegular is wrapped by every refusal of a file that is not a regular
// file (a folder, a named pipe, a device, a socket).
var ErrNotRegular = errors.New("not a regular file")

// ErrTooLarge is wrapped by every refusal of a file over its kind's limit,
// whether seen before reading or while reading.
var ErrTooLarge = errors.New("over the size limit")

// Read returns the whole of the regular file at path. It refuses anything
// else by name, refuses a file over the kind's limit before reading it, stops
// with an error if the file grows past the limit while being read, and stops
// when ctx is done. Symbolic links are followed (evidence may be a link to a
// regular file; the file it leads to is what is checked).
func Read(ctx context.Context, path string, kind Kind) ([]byte, error) {
	r, size, err := Open(ctx, path, kind)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return readAll(r, size)
}

// Open opens the regular file at path for streaming (evidence is hashed while
// it is copied into the ledger rather than held in memory). size is the file's
// size when opened. The reader returns an error wrapping ErrTooLarge if the
// file turns out longer than the kind's limit, and one wrapping ctx.Err() once
// ctx is done. The caller closes it.
func Open(ctx context.Context, path string, kind Kind) (r io.ReadCloser, size int64, err error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, interrupted(kind, path, err)
	}
	// Stat before opening: the type is named without opening a device or
	// a socket at all, and an oversized file is refused before any read.
	info, err := os.Stat(path)
	if err != nil {
		return nil, 0, unreadable(kind, path, err)
	}
	if err := check(kind, path, info); err != nil {
		return nil, 0, err
	}
	// O_NONBLOCK: if the path was swapped for a named pipe since the Stat,
	// opening it still returns at once, and the type check below refuses it.
	f, err := os.OpenFile(path, openFlags, 0)
	if err != nil {
		return nil, 0, unreadable(kind, path, err)
	}
	info, err = f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, unreadable(kind, path, err)
	}
	if err := check(kind, path, info); err != nil {
		f.Close()
		return nil, 0, err
	}
	return &limitedFile{ctx: ctx, f: f, kind: kind, name: path, limit: kind.Limit()}, info.Size(), nil
}

// Check stats the file at path (following links) and refuses what Open would
// refuse, without opening it: for files another library opens by name, such as
// a ledger backup that SQLite reads.
func Check(path string, kind Kind) (fs.FileInfo, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, unreadable(kind, path, err)
	}
	if err := check(kind, path, info); err != nil {
		return nil, err
	}
	return info, nil
}

// check refuses what is not a regular file, or is over the kind's limit.
func check(kind Kind, name string, info fs.FileInfo) error {
	if !info.Mode().IsRegular() {
		return fail(kind, name, ErrNotRegular, "is %s, not a regular file", TypeName(info.Mode()))
	}
	if limit := kind.Limit(); limit > 0 && info.Size() > limit {
		return fail(kind, name, ErrTooLarge, "is %d bytes, over the %s %s limit", info.Size(), Bytes(limit), kind)
	}
	return nil
}

func interrupted(kind Kind, name string, err error) error {
	return fail(kind, name, err, "was not read: %v", err)
}

func unreadable(kind Kind, name string, err error) error {
	return fail(kind, name, err, "cannot be read: %v", describe(err))
}

// TypeName says in words what kind of file a mode describes ("a named pipe
// (FIFO)", "a character device", ...).
func TypeName(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "a regular file"
	case m.IsDir():
		return "a folder"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	}
	return "a special file"
}

// Bytes writes a limit the way people say it: "64 KiB", "16 MiB".
func Bytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d-byte", n)
}

// describe makes the common open errors read well on their own.
func describe(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return errors.New("no such file")
		case errors.Is(err, fs.ErrPermission):
			return errors.New("permission denied")
		}
		return pe.Err
	}
	return err
}

// limitedFile reads at most limit bytes and fails, rather than truncating,
// when there are more; it checks the context before every read.
type limitedFile struct {
	ctx   context.Context
	f     io.ReadCloser
	kind  Kind
	name  string
	limit int64 // 0: none
	read  int64
}

func (l *limitedFile) Read(p []byte) (int, error) {
	if err := l.ctx.Err(); err != nil {
		return 0, interrupted(l.kind, l.name, err)
	}
	if l.limit > 0 {
		// Allow one byte past the limit: seeing it is how growth shows.
		if room := l.limit + 1 - l.read; int64(len(p)) > room {
			p = p[:room]
		}
	}
	n, err := l.f.Read(p)
	l.read += int64(n)
	if l.limit > 0 && l.read > l.limit {
		return n - int(l.read-l.limit), fail(l.kind, l.name, ErrTooLarge, "grew past the %s %s limit while being read", Bytes(l.limit), l.kind)
	}
	if err != nil && err != io.EOF {
		err = unreadable(l.kind, l.name, err)
	}
	return n, err
}

func (l *limitedFile) Close() error { return l.f.Close() }

// readAll reads r to the end in bounded chunks, so a cancelled context is
// seen between chunks; size is a hint for the first allocation.
func readAll(r io.Reader, size int64) ([]byte, error) {
	const chunk = 64 << 10
	buf := make([]byte, 0, size+1)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		end := min(cap(buf), len(buf)+chunk)
		n, err := r.Read(buf[len(buf):end])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}
