package serve

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/icconsole/ic/internal/safefile"
)

// LoadOrCreateHostKey reads the server's host key at path, or creates an
// Ed25519 key there (mode 0600, its folder 0700) when there is none; created
// says which. A key file that others can read is refused, as sshd does: a
// host key anyone can copy proves nothing to the clients.
func LoadOrCreateHostKey(path string) (key ssh.Signer, created bool, err error) {
	info, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return createHostKey(path)
	case err != nil:
		return nil, false, fmt.Errorf("host key %s: %w", path, err)
	case info.Mode().Perm()&0o077 != 0:
		return nil, false, fmt.Errorf("host key %s has mode %04o: others can read it; make it 0600 (chmod 600 %s)", path, info.Mode().Perm(), path)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	data, err := safefile.Read(ctx, path, safefile.Key)
	if err != nil {
		return nil, false, fmt.Errorf("host key: %w", err)
	}
	key, err = ssh.ParsePrivateKey(data)
	if err != nil {
		return nil, false, fmt.Errorf("host key %s: not an unencrypted OpenSSH private key: %v", path, err)
	}
	return key, false, nil
}

func createHostKey(path string) (ssh.Signer, bool, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, false, fmt.Errorf("host key %s: %w", path, err)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, false, err
	}
	block, err := ssh.MarshalPrivateKey(priv, "ic serve host key")
	if err != nil {
		return nil, false, err
	}
	// O_EXCL: two servers starting at once never overwrite each other's key.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("host key %s: %w", path, err)
	}
	if _, err := f.Write(pem.EncodeToMemory(block)); err != nil {
		f.Close()
		return nil, false, fmt.Errorf("host key %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, false, fmt.Errorf("host key %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return nil, false, fmt.Errorf("host key %s: %w", path, err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	return signer, true, err
}
