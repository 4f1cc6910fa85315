package serve

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/ssh"

	"github.com/icconsole/ic/incident"
	"github.com/icconsole/ic/internal/safefile"
	"github.com/icconsole/ic/internal/signers"
	"github.com/icconsole/ic/internal/termsafe"
)

// Grant is one key of the authorized-keys file: who it is and what it may
// do.
type Grant struct {
	// Principal is the key's comment: the name every entry it writes
	// records as its actor.
	Principal string
	// Role is the session role (ic-role=NAME; incident.RoleResponder when
	// the line has no such option).
	Role        string
	Fingerprint string
	Key         ssh.PublicKey
	// Line is where the key is in the file.
	Line int
}

// roleOption is the authorized-keys option that grants a session role.
const roleOption = "ic-role"

// ParseAuthorizedKeys reads an authorized-keys file in OpenSSH's format:
// one key a line, "[ic-role=NAME] TYPE BASE64 PRINCIPAL". The comment is
// the principal and is required; the only option understood is ic-role
// (observer, responder or approver), since an option this server would
// ignore (from=, command=, ...) would promise a limit it does not keep.
// name is the file's name in messages.
func ParseAuthorizedKeys(name string, data []byte) (map[string]Grant, error) {
	grants := map[string]Grant{}
	for i, raw := range bytes.Split(data, []byte("\n")) {
		line := strings.TrimSpace(string(raw))
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		where := fmt.Sprintf("%s:%d", name, i+1)
		key, comment, options, _, err := ssh.ParseAuthorizedKey([]byte(line))
		if err != nil {
			return nil, fmt.Errorf("%s: not an OpenSSH public key line: %v", where, err)
		}
		g := Grant{Principal: strings.TrimSpace(comment), Role: incident.RoleResponder, Fingerprint: signers.Fingerprint(key), Key: key, Line: i + 1}
		if g.Principal == "" {
			return nil, fmt.Errorf("%s: key %s has no comment: the comment is the principal, the name its entries record (append it after the key)", where, g.Fingerprint)
		}
		if len(g.Principal) > incident.MaxNameBytes || !utf8.ValidString(g.Principal) || termsafe.NeedsEscape(g.Principal) {
			return nil, fmt.Errorf("%s: principal %q is over %d bytes or holds control characters", where, termsafe.EscapeLine(g.Principal), incident.MaxNameBytes)
		}
		for _, opt := range options {
			k, v, _ := strings.Cut(opt, "=")
			if k != roleOption {
				return nil, fmt.Errorf("%s: option %q is not one ic serve keeps (only %s=NAME): remove it rather than rely on it", where, termsafe.EscapeLine(opt), roleOption)
			}
			v = strings.Trim(v, `"`)
			if !incident.ValidSessionRole(v) {
				return nil, fmt.Errorf("%s: %s=%q is not a session role: use one of %s", where, roleOption, termsafe.EscapeLine(v), strings.Join(incident.SessionRoles(), ", "))
			}
			g.Role = v
		}
		if prev, dup := grants[g.Fingerprint]; dup {
			return nil, fmt.Errorf("%s: key %s is already granted on line %d (%s): one line a key", where, g.Fingerprint, prev.Line, prev.Principal)
		}
		grants[g.Fingerprint] = g
	}
	return grants, nil
}

// keyring is the authorized-keys file, read again when it changes, so a
// key is granted or revoked by editing the file, without a restart.
type keyring struct {
	path string

	mu     sync.Mutex
	grants map[string]Grant
	// stamp is the file's size and modification time when read.
	stamp string
	err   error
}

func newKeyring(path string) (*keyring, error) {
	k := &keyring{path: path}
	if _, err := k.current(); err != nil {
		return nil, err
	}
	return k, nil
}

// current returns the grants, reading the file again if it changed. A
// file that became unreadable or invalid grants nothing until it is
// fixed: a half-edited revocation must not leave the old key in.
func (k *keyring) current() (map[string]Grant, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	info, err := os.Stat(k.path)
	if err != nil {
		k.grants, k.err, k.stamp = nil, fmt.Errorf("authorized keys %s: %w", k.path, err), ""
		return nil, k.err
	}
	stamp := fmt.Sprintf("%d/%d", info.Size(), info.ModTime().UnixNano())
	if stamp == k.stamp {
		return k.grants, k.err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	data, err := safefile.Read(ctx, k.path, safefile.Signers)
	if err == nil {
		k.grants, err = ParseAuthorizedKeys(k.path, data)
	}
	if err != nil {
		k.grants = nil
	}
	k.err, k.stamp = err, stamp
	return k.grants, err
}

// lookup finds the grant of key.
func (k *keyring) lookup(key ssh.PublicKey) (Grant, bool, error) {
	grants, err := k.current()
	if err != nil {
		return Grant{}, false, err
	}
	g, ok := grants[signers.Fingerprint(key)]
	return g, ok && bytes.Equal(g.Key.Marshal(), key.Marshal()), nil
}
