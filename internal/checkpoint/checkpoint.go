// Package checkpoint signs and reads the ledger's checkpoints: C2SP
// tlog-checkpoint bodies (origin, tree size, root hash) carried in signed
// notes (golang.org/x/mod/sumdb/note, Ed25519), and keeps the signing key
// in a file only its owner can read. The text of a signed note is the
// contract: anyone can check it with the verifier key and no ic.
package checkpoint

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	tlog "github.com/transparency-dev/formats/log"
	"golang.org/x/mod/sumdb/note"

	"github.com/icconsole/ic/internal/safefile"
)

// Checkpoint is one signed statement about a log: at Size records, the
// RFC 6962 root of the log was Root.
type Checkpoint struct {
	Origin string
	Size   uint64
	Root   [32]byte
	// Note is the signed note exactly as written (body, blank line,
	// signature lines).
	Note []byte
	// Signers names the keys that signed it ("name+hash" each); for a
	// checkpoint read without verifying, the names the note claims.
	Signers []string
}

// Body is the C2SP tlog-checkpoint text a checkpoint signs.
func Body(origin string, size uint64, root [32]byte) []byte {
	return tlog.Checkpoint{Origin: origin, Size: size, Hash: root[:]}.Marshal()
}

// maxNoteBytes bounds what is read as a checkpoint: a body and a few
// signatures fit in a few hundred bytes.
const maxNoteBytes = 64 << 10

// Signer signs checkpoints with one Ed25519 key.
type Signer struct {
	s    note.Signer
	vkey string
}

// NewSigner reads a signing key in the note format
// (PRIVATE+KEY+name+hash+base64).
func NewSigner(skey string) (*Signer, error) {
	skey = strings.TrimSpace(skey)
	s, err := note.NewSigner(skey)
	if err != nil {
		return nil, fmt.Errorf("signing key: %v", err)
	}
	vkey, err := verifierKeyOf(skey)
	if err != nil {
		return nil, err
	}
	return &Signer{s: s, vkey: vkey}, nil
}

// verifierKeyOf derives the verifier key from a signing key: the file
// holds the Ed25519 seed, from which the public key follows.
func verifierKeyOf(skey string) (string, error) {
	parts := strings.SplitN(skey, "+", 5)
	if len(parts) != 5 {
		return "", errors.New("signing key: malformed")
	}
	raw, err := base64.StdEncoding.DecodeString(parts[4])
	if err != nil || len(raw) != 1+ed25519.SeedSize || raw[0] != 1 {
		return "", errors.New("signing key: not an Ed25519 key")
	}
	pub := ed25519.NewKeyFromSeed(raw[1:]).Public().(ed25519.PublicKey)
	return note.NewEd25519VerifierKey(parts[2], pub)
}

// Name is the key's name, as it appears in signature lines.
func (s *Signer) Name() string { return s.s.Name() }

// VerifierKey is the public half, as one line (name+hash+base64) that can
// be handed to anyone who checks checkpoints, receipts and exports.
func (s *Signer) VerifierKey() string { return s.vkey }

// Sign returns the signed checkpoint for a log of size records whose root
// is root.
func (s *Signer) Sign(origin string, size uint64, root [32]byte) (Checkpoint, error) {
	if err := checkOrigin(origin); err != nil {
		return Checkpoint{}, err
	}
	msg, err := note.Sign(&note.Note{Text: string(Body(origin, size, root))}, s.s)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("sign checkpoint: %v", err)
	}
	return Checkpoint{Origin: origin, Size: size, Root: root, Note: msg,
		Signers: []string{fmt.Sprintf("%s+%08x", s.s.Name(), s.s.KeyHash())}}, nil
}

func checkOrigin(origin string) error {
	if origin == "" || strings.ContainsAny(origin, "\n+ \t") {
		return fmt.Errorf("checkpoint origin %q: must be one word without spaces or '+'", origin)
	}
	return nil
}

// GenerateKey makes a new Ed25519 key named name (letters, digits, '-',
// '.', '_'; no spaces or '+'), returning both halves in the note format.
func GenerateKey(name string) (skey, vkey string, err error) {
	return note.GenerateKey(rand.Reader, name)
}

// CreateKeyFile writes a new signing key to path (mode 0600, folder 0700;
// it never overwrites) and its verifier key to path+".pub". It returns
// the verifier key.
func CreateKeyFile(path, name string) (string, error) {
	skey, vkey, err := GenerateKey(name)
	if err != nil {
		return "", fmt.Errorf("key %s: %v", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", fmt.Errorf("key %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return "", fmt.Errorf("key %s exists: a signing key is never overwritten (move it away first if you mean to replace it)", path)
		}
		return "", fmt.Errorf("key %s: %w", path, err)
	}
	if _, err := f.WriteString(skey + "\n"); err != nil {
		f.Close()
		os.Remove(path)
		return "", fmt.Errorf("key %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return "", fmt.Errorf("key %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("key %s: %w", path, err)
	}
	if err := os.WriteFile(path+".pub", []byte(vkey+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("key %s.pub: %w", path, err)
	}
	return vkey, nil
}

// LoadSigner reads the signing key at path. Like ssh, it refuses a key
// that other users can read.
func LoadSigner(path string) (*Signer, error) {
	b, err := safefile.Read(context.Background(), path, safefile.Key)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", path, err)
	}
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", path, err)
	}
	if info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("signing key %s has mode %v: others can read it; run chmod 600 %s", path, info.Mode().Perm(), path)
	}
	s, err := NewSigner(string(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// NewVerifier reads a verifier key (name+hash+base64), given as the line
// itself or as a file holding it.
func NewVerifier(vkey string) (note.Verifier, error) {
	vkey = strings.TrimSpace(vkey)
	if v, err := note.NewVerifier(vkey); err == nil {
		return v, nil
	}
	if b, err := safefile.Read(context.Background(), vkey, safefile.Key); err == nil {
		if v, err := note.NewVerifier(strings.TrimSpace(string(b))); err == nil {
			return v, nil
		}
		return nil, fmt.Errorf("verifier key file %s: not a verifier key (want name+hash+base64, as 'ic key init' prints)", vkey)
	}
	return nil, fmt.Errorf("verifier key %q: not a verifier key (want name+hash+base64, as 'ic key init' prints) nor a file holding one", vkey)
}

// ErrUnverified means a checkpoint's signature could not be checked: no
// given key matches the names it was signed with.
var ErrUnverified = errors.New("checkpoint signed by none of the given keys")

// Parse reads a signed checkpoint. With verifiers, at least one signature
// must be by one of them and valid (ErrUnverified when none matches);
// without, the body is parsed and the claimed signers listed, nothing is
// proven.
func Parse(msg []byte, verifiers ...note.Verifier) (Checkpoint, error) {
	if len(msg) > maxNoteBytes {
		return Checkpoint{}, fmt.Errorf("checkpoint is %d bytes, over %d", len(msg), maxNoteBytes)
	}
	n, err := note.Open(msg, note.VerifierList(verifiers...))
	var unverified *note.UnverifiedNoteError
	switch {
	case err == nil:
	case errors.As(err, &unverified):
		n = unverified.Note
	default:
		return Checkpoint{}, fmt.Errorf("not a signed checkpoint: %v", err)
	}
	var body tlog.Checkpoint
	rest, err := body.Unmarshal([]byte(n.Text))
	if err != nil {
		return Checkpoint{}, fmt.Errorf("not a tlog checkpoint: %v", err)
	}
	if len(rest) > 0 {
		return Checkpoint{}, errors.New("not an ic checkpoint: extension lines after the root hash")
	}
	if len(body.Hash) != 32 {
		return Checkpoint{}, fmt.Errorf("checkpoint root hash is %d bytes, want 32", len(body.Hash))
	}
	c := Checkpoint{Origin: body.Origin, Size: body.Size, Note: msg}
	copy(c.Root[:], body.Hash)
	for _, s := range n.Sigs {
		c.Signers = append(c.Signers, fmt.Sprintf("%s+%08x", s.Name, s.Hash))
	}
	if unverified != nil {
		for _, s := range n.UnverifiedSigs {
			c.Signers = append(c.Signers, fmt.Sprintf("%s+%08x", s.Name, s.Hash))
		}
		if len(verifiers) > 0 {
			return c, fmt.Errorf("%w (signed by %s)", ErrUnverified, strings.Join(c.Signers, ", "))
		}
	}
	return c, nil
}

// ID names a checkpoint in messages: origin, size and the start of the
// root.
func (c Checkpoint) ID() string {
	return fmt.Sprintf("size %d root %s", c.Size, hex.EncodeToString(c.Root[:6]))
}

// FileName is the name a copy of c gets in a checkpoint folder: sortable
// by size, unique per root.
func (c Checkpoint) FileName() string {
	return fmt.Sprintf("%s-%020d-%s.checkpoint", safeName(c.Origin), c.Size, hex.EncodeToString(c.Root[:8]))
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' {
			return r
		}
		return '_'
	}, s)
}

// WriteCopy writes c into dir (created 0700 if needed) as FileName, 0600,
// fsynced. An identical copy already there is left as it is.
func WriteCopy(dir string, c Checkpoint) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("checkpoint folder %s: %w", dir, err)
	}
	path := filepath.Join(dir, c.FileName())
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, c.Note) {
		return path, nil
	}
	tmp, err := os.CreateTemp(dir, ".tmp-*.checkpoint")
	if err != nil {
		return "", fmt.Errorf("checkpoint folder %s: %w", dir, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(c.Note); err != nil {
		tmp.Close()
		return "", fmt.Errorf("checkpoint copy %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return "", fmt.Errorf("checkpoint copy %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("checkpoint copy %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", fmt.Errorf("checkpoint copy %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return path, nil
}

// File is a checkpoint read from a file, unverified.
type File struct {
	Path       string
	Checkpoint Checkpoint
	Err        error // why the file is not a checkpoint
}

// ReadFile reads one checkpoint file (regular files only, size capped),
// without verifying it.
func ReadFile(path string) File {
	b, err := safefile.Read(context.Background(), path, safefile.Checkpoint)
	if err != nil {
		return File{Path: path, Err: err}
	}
	c, err := Parse(b)
	return File{Path: path, Checkpoint: c, Err: err}
}

// ReadDir reads every *.checkpoint file in dir, sorted by name. A folder
// that does not exist holds none.
func ReadDir(dir string) ([]File, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("checkpoint folder %s: %w", dir, err)
	}
	var out []File
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".checkpoint") || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		out = append(out, ReadFile(filepath.Join(dir, e.Name())))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}
