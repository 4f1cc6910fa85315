package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/mattn/go-sqlite3"
)

// OpenReadOnly opens an existing ledger for reading without changing it:
// no migration, no journal change, no file created beside it. It works on
// a read-only file in a read-only folder. A path that does not exist is
// an error (nothing is created); a file that is not an ic ledger, or an
// empty or half-written one, is refused and left untouched. A ledger of
// schema 1 (written before the log) opens and verifies its chains only.
func OpenReadOnly(ctx context.Context, path string) (*DB, error) {
	info, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("ledger %s does not exist (nothing was created): check --db", path)
		}
		return nil, fmt.Errorf("ledger %s: %w", path, describeFSError(err))
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("ledger %s is not a regular file (%v)", path, info.Mode().Type())
	}
	params := "mode=ro&_busy_timeout=10000"
	version, err := probeLedger(ctx, path, params, false)
	if err != nil && canOnlyOpenImmutable(err) {
		// A WAL ledger in a folder we cannot write: SQLite cannot create
		// the shared-memory file, so read the file as it is on disk. Nothing
		// else can be writing it there either.
		params = "mode=ro&immutable=1"
		version, err = probeLedger(ctx, path, params, false)
	}
	if err != nil {
		return nil, err
	}
	d := &DB{path: path, readOnly: true, schema: version}
	d.sql = sql.OpenDB(connector{drv: &sqlite3.SQLiteDriver{ConnectHook: mapForReading}, dsn: "file:" + url.PathEscape(path) + "?" + params})
	return d, nil
}

// mapForReading lets a reading connection map the file instead of copying
// each page through read(2): a full verify reads every page.
func mapForReading(c *sqlite3.SQLiteConn) error {
	_, err := c.Exec("PRAGMA mmap_size = 17179869184", nil)
	return err
}

func canOnlyOpenImmutable(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "unable to open") || strings.Contains(msg, "readonly") || strings.Contains(msg, "read-only") || strings.Contains(msg, "permission denied")
}

// ReadOnly reports whether the ledger was opened with OpenReadOnly.
func (d *DB) ReadOnly() bool { return d.readOnly }

// Schema is the ledger's schema version.
func (d *DB) Schema() int { return d.schema }

// VerifyFile verifies a ledger file (a backup, a copy) opened read-only,
// in full.
func VerifyFile(ctx context.Context, path string) (Report, error) {
	return VerifyFileWith(ctx, path, VerifyOptions{Full: true})
}

// VerifyFileWith verifies a ledger file opened read-only.
func VerifyFileWith(ctx context.Context, path string, o VerifyOptions) (Report, error) {
	d, err := OpenReadOnly(ctx, path)
	if err != nil {
		return Report{}, err
	}
	defer d.Close()
	return d.VerifyWith(ctx, o)
}

// backupTempPrefix names the temporary file a backup is written to,
// beside its target, with the writer's pid: ".NAME.ic-backup-PID-".
func backupTempPrefix(dest string) string {
	return "." + filepath.Base(dest) + ".ic-backup-"
}

// Backup writes a consistent copy of the live ledger to dest, all or
// nothing: into a 0600 temporary file beside dest with VACUUM INTO (never
// a plain copy of a WAL database), fsynced, verified in full, and only
// then given its name, with a link that fails rather than overwrite.
// Temporary files left by a backup that was killed are removed first.
// dest must not exist.
func (d *DB) Backup(ctx context.Context, dest string) (Report, error) {
	if _, err := os.Lstat(dest); err == nil {
		return Report{}, fmt.Errorf("backup %s: the file exists; choose a new name (a backup never overwrites)", dest)
	}
	dir := filepath.Dir(dest)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Report{}, fmt.Errorf("backup %s: %w", dest, describeFSError(err))
	}
	removeStaleBackups(dest)
	tmp, err := os.CreateTemp(dir, backupTempPrefix(dest)+strconv.Itoa(os.Getpid())+"-*.tmp")
	if err != nil {
		return Report{}, fmt.Errorf("backup %s: %w", dest, describeFSError(err))
	}
	tmpPath := tmp.Name()
	tmp.Close()
	defer os.Remove(tmpPath)
	if err := os.Chmod(tmpPath, 0o600); err != nil {
		return Report{}, fmt.Errorf("backup %s: %w", dest, describeFSError(err))
	}
	if _, err := d.sql.ExecContext(ctx, "VACUUM INTO ?", tmpPath); err != nil {
		return Report{}, fmt.Errorf("backup %s: %w", dest, describeFSError(err))
	}
	if err := syncFile(tmpPath); err != nil {
		return Report{}, fmt.Errorf("backup %s: fsync: %w", dest, describeFSError(err))
	}
	rep, err := VerifyFile(ctx, tmpPath)
	if err != nil {
		return rep, fmt.Errorf("backup %s was written but could not be checked (nothing was kept): %w", dest, err)
	}
	if !rep.OK() {
		return rep, fmt.Errorf("backup %s does not verify (nothing was kept): %s", dest, rep.Problems[0])
	}
	if err := os.Link(tmpPath, dest); err != nil {
		if errors.Is(err, os.ErrExist) {
			return rep, fmt.Errorf("backup %s: the file appeared while the backup was written; nothing was overwritten", dest)
		}
		return rep, fmt.Errorf("backup %s: %w", dest, describeFSError(err))
	}
	os.Remove(tmpPath)
	if err := syncDir(dir); err != nil {
		return rep, fmt.Errorf("backup %s: fsync folder: %w", dest, describeFSError(err))
	}
	return rep, nil
}

// removeStaleBackups deletes the temporary files of earlier backups to
// dest whose writer is gone (killed mid-way), with the journal SQLite may
// have left beside them.
func removeStaleBackups(dest string) {
	prefix := backupTempPrefix(dest)
	matches, _ := filepath.Glob(filepath.Join(filepath.Dir(dest), globEscape(prefix)+"*"))
	for _, m := range matches {
		rest := strings.TrimPrefix(filepath.Base(m), prefix)
		pidText, _, ok := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if !ok || err != nil {
			continue
		}
		if pid != os.Getpid() && processGone(pid) {
			os.Remove(m)
		}
	}
}

func globEscape(s string) string {
	return strings.NewReplacer(`*`, `\*`, `?`, `\?`, `[`, `\[`, `\`, `\\`).Replace(s)
}

func processGone(pid int) bool {
	err := syscall.Kill(pid, 0)
	return errors.Is(err, syscall.ESRCH)
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// Restore replaces the ledger's contents with the backup at src. The backup
// is verified first; then the current ledger is backed up to preRestore
// (which must not exist, and is verified too); only then are the pages
// copied in with SQLite's online backup API, which is safe while other
// processes have the file open. A backup of an older schema is migrated
// after the copy.
func (d *DB) Restore(ctx context.Context, src, preRestore string) (Report, error) {
	if preRestore == "" {
		return Report{}, errors.New("restore needs a pre-restore backup file: the current ledger is saved there first")
	}
	rep, err := VerifyFile(ctx, src)
	if err != nil {
		return rep, fmt.Errorf("restore from %s: %w", src, err)
	}
	if !rep.OK() {
		return rep, fmt.Errorf("restore from %s refused: the backup does not verify: %s", src, rep.Problems[0])
	}
	if _, err := d.Backup(ctx, preRestore); err != nil {
		return rep, fmt.Errorf("restore refused: the pre-restore backup failed: %w", err)
	}
	srcDB := sql.OpenDB(connector{drv: &sqlite3.SQLiteDriver{}, dsn: "file:" + url.PathEscape(src) + "?mode=ro"})
	defer srcDB.Close()
	srcConn, err := srcDB.Conn(ctx)
	if err != nil {
		return rep, err
	}
	defer srcConn.Close()
	dstConn, err := d.sql.Conn(ctx)
	if err != nil {
		return rep, err
	}
	defer dstConn.Close()
	err = dstConn.Raw(func(dc any) error {
		return srcConn.Raw(func(sc any) error {
			b, err := dc.(*sqlite3.SQLiteConn).Backup("main", sc.(*sqlite3.SQLiteConn), "main")
			if err != nil {
				return err
			}
			if _, err := b.Step(-1); err != nil {
				b.Finish()
				return err
			}
			return b.Finish()
		})
	})
	if err != nil {
		return rep, fmt.Errorf("restore from %s: %w (the pre-restore backup is at %s)", src, describeFSError(err), preRestore)
	}
	dstConn.Close()
	if err := d.migrate(ctx); err != nil {
		return rep, fmt.Errorf("restore from %s: %w (the pre-restore backup is at %s)", src, err, preRestore)
	}
	return d.Verify(ctx, "")
}
