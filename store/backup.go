package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	"github.com/mattn/go-sqlite3"
)

// Backup writes a consistent copy of the live ledger to dest with VACUUM
// INTO (never a plain copy of a WAL database), fsyncs it, and then checks
// the copy: quick_check and a full chain verify. Only then is it reported
// good. dest must not exist.
func (d *DB) Backup(ctx context.Context, dest string) (Report, error) {
	if _, err := os.Stat(dest); err == nil {
		return Report{}, fmt.Errorf("backup %s: the file exists; choose a new name (a backup never overwrites)", dest)
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o700); err != nil {
		return Report{}, fmt.Errorf("backup %s: %w", dest, describeFSError(err))
	}
	if _, err := d.sql.ExecContext(ctx, "VACUUM INTO ?", dest); err != nil {
		os.Remove(dest)
		return Report{}, fmt.Errorf("backup %s: %w", dest, describeFSError(err))
	}
	if err := syncFile(dest); err != nil {
		return Report{}, fmt.Errorf("backup %s: fsync: %w", dest, describeFSError(err))
	}
	os.Chmod(dest, 0o600)
	rep, err := VerifyFile(ctx, dest)
	if err != nil {
		return rep, fmt.Errorf("backup %s was written but could not be checked: %w", dest, err)
	}
	if !rep.OK() {
		return rep, fmt.Errorf("backup %s does not verify: %s", dest, rep.Problems[0])
	}
	return rep, nil
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
	f.Close()
	dir, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer dir.Close()
	return dir.Sync()
}

// openReadOnly opens a ledger file for checking without changing it: no
// migrations, no journal-mode change.
func openReadOnly(ctx context.Context, path string) (*DB, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("ledger %s: %w", path, describeFSError(err))
	}
	d := &DB{path: path}
	d.sql = sql.OpenDB(connector{drv: &sqlite3.SQLiteDriver{}, dsn: "file:" + url.PathEscape(path) + "?mode=ro&_busy_timeout=10000"})
	if err := d.checkIsLedger(ctx); err != nil {
		d.sql.Close()
		return nil, err
	}
	var v int
	if err := d.sql.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		d.sql.Close()
		return nil, err
	}
	if v == 0 || v > SchemaVersion() {
		d.sql.Close()
		return nil, fmt.Errorf("%s is not an ic ledger this version can read (schema version %d)", path, v)
	}
	return d, nil
}

// VerifyFile runs Verify on a ledger file opened read-only (a backup).
func VerifyFile(ctx context.Context, path string) (Report, error) {
	d, err := openReadOnly(ctx, path)
	if err != nil {
		return Report{}, err
	}
	defer d.Close()
	return d.Verify(ctx, "")
}

// Restore replaces the ledger's contents with the backup at src. The backup
// is verified first; then the current ledger is backed up to preRestore
// (which must not exist, and is verified too); only then are the pages
// copied in with SQLite's online backup API, which is safe while other
// processes have the file open.
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
	return d.Verify(ctx, "")
}
