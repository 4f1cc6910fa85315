package safefile

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// ErrOutside is wrapped by the refusal of a symbolic link that leads out of
// the folder being read.
var ErrOutside = errors.New("symbolic link leads outside the folder")

// maxLinks bounds how many symbolic links one name may pass through, as the
// kernel does (ELOOP), so a cycle of links ends with an error.
const maxLinks = 40

// ReadFS reads the file name from fsys by the same rules as Read: regular
// files only, the kind's limit before and while reading, and ctx. Symbolic
// links (where fsys can report them, as os.DirFS and Dir do) are followed
// only while they stay inside fsys: one that leads to an absolute path or
// climbs out of the folder is refused. fsys is a folder of runbook books, so a
// link to a shared procedure next to it works and a link to /dev/zero does not.
func ReadFS(ctx context.Context, fsys fs.FS, name string, kind Kind) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, interrupted(kind, name, err)
	}
	real, err := resolveInside(fsys, name)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			e.Kind, e.Path = kind, name
			return nil, e
		}
		return nil, unreadable(kind, name, err)
	}
	info, err := fs.Stat(fsys, real)
	if err != nil {
		return nil, unreadable(kind, name, err)
	}
	if err := check(kind, name, info); err != nil {
		return nil, err
	}
	f, err := fsys.Open(real)
	if err != nil {
		return nil, unreadable(kind, name, err)
	}
	defer f.Close()
	// Stat again through the open file: what was checked above may have
	// been replaced in between.
	if info, err = f.Stat(); err != nil {
		return nil, unreadable(kind, name, err)
	}
	if err := check(kind, name, info); err != nil {
		return nil, err
	}
	return readAll(&limitedFile{ctx: ctx, f: f, kind: kind, name: name, limit: kind.Limit()}, info.Size())
}

// resolveInside follows the symbolic links on the way to name, component by
// component, and returns the name they lead to, refusing a link that leaves
// fsys. A file system that cannot report links (embed.FS) is returned as is.
func resolveInside(fsys fs.FS, name string) (string, error) {
	rl, ok := fsys.(fs.ReadLinkFS)
	if !ok {
		return name, nil
	}
	todo := strings.Split(name, "/")
	resolved := "" // the real path so far, "" for the folder itself
	links := 0
	for len(todo) > 0 {
		part := todo[0]
		todo = todo[1:]
		switch part {
		case "", ".":
			continue
		case "..":
			if resolved == "" {
				return "", &Error{Msg: "leads outside the folder", Err: ErrOutside}
			}
			resolved = strings.TrimSuffix(path.Dir(resolved), ".")
			continue
		}
		next := path.Join(resolved, part)
		info, err := rl.Lstat(next)
		if err != nil {
			return "", err
		}
		if info.Mode()&fs.ModeSymlink == 0 {
			resolved = next
			continue
		}
		if links++; links > maxLinks {
			return "", &Error{Msg: fmt.Sprintf("passes through more than %d symbolic links (a cycle?)", maxLinks)}
		}
		target, err := rl.ReadLink(next)
		if err != nil {
			return "", err
		}
		if strings.HasPrefix(target, "/") || filepath.IsAbs(target) {
			return "", &Error{Msg: fmt.Sprintf("is a symbolic link to the absolute path %s: only relative links that stay within the folder are followed", target), Err: ErrOutside}
		}
		if escapes(resolved, target) {
			return "", &Error{Msg: fmt.Sprintf("is a symbolic link to %s, outside the folder: only links within the folder are followed", target), Err: ErrOutside}
		}
		todo = append(strings.Split(target, "/"), todo...)
	}
	if resolved == "" {
		return ".", nil
	}
	return resolved, nil
}

// escapes reports whether the relative link target, read in folder dir,
// climbs above the root.
func escapes(dir, target string) bool {
	depth := 0
	if dir != "" {
		depth = strings.Count(dir, "/") + 1
	}
	for _, part := range strings.Split(target, "/") {
		switch part {
		case "", ".":
		case "..":
			if depth--; depth < 0 {
				return true
			}
		default:
			depth++
		}
	}
	return false
}

// Dir is a folder opened for reading runbook books: an fs.FS in which a name
// can never reach outside the folder (symbolic links included; os.Root
// enforces it), every file is opened without blocking, and only regular files
// and folders can be opened. Use it instead of os.DirFS for --runbooks.
type Dir struct {
	root *os.Root
}

// OpenDir opens the folder dir.
func OpenDir(dir string) (*Dir, error) {
	info, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("folder %s: %w", dir, describe(err))
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("folder %s is %s, not a folder", dir, TypeName(info.Mode()))
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("folder %s: %w", dir, describe(err))
	}
	return &Dir{root: root}, nil
}

// Close releases the folder.
func (d *Dir) Close() error { return d.root.Close() }

// Open opens a regular file or a folder; anything else is refused without
// being read (and a named pipe without blocking).
func (d *Dir) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	f, err := d.root.OpenFile(name, openFlags, 0)
	if err != nil {
		return nil, err
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !info.Mode().IsRegular() && !info.IsDir() {
		f.Close()
		return nil, &fs.PathError{Op: "open", Path: name, Err: fmt.Errorf("%s: %w", TypeName(info.Mode()), ErrNotRegular)}
	}
	return f, nil
}

// Stat describes the file name leads to (links followed inside the folder).
func (d *Dir) Stat(name string) (fs.FileInfo, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrInvalid}
	}
	return d.root.Stat(name)
}

// Lstat describes name itself, a symbolic link included.
func (d *Dir) Lstat(name string) (fs.FileInfo, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "lstat", Path: name, Err: fs.ErrInvalid}
	}
	return d.root.Lstat(name)
}

// ReadLink returns the target of the symbolic link name.
func (d *Dir) ReadLink(name string) (string, error) {
	if !fs.ValidPath(name) {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
	}
	return d.root.Readlink(name)
}

// ReadDir lists the folder name, sorted by file name.
func (d *Dir) ReadDir(name string) ([]fs.DirEntry, error) {
	f, err := d.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	dir, ok := f.(fs.ReadDirFile)
	if !ok {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: errors.New("not a folder")}
	}
	entries, err := dir.ReadDir(-1)
	slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return entries, err
}
