// Package signers signs and checks statements with the SSH keys operators
// already have, in the SSHSIG format that `ssh-keygen -Y sign` makes and git
// uses, and reads git's allowed-signers file (principals and their keys),
// which says whose signature counts.
package signers

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/hiddeco/sshsig"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/icconsole/ic/internal/safefile"
)

// hash is the digest SSHSIG signs; sha512 is what ssh-keygen uses.
const hash = sshsig.HashSHA512

// maxFile caps an allowed-signers file: a file of principals' public keys
// is kilobytes.
const maxFile = 1 << 20

// Entry is one line of an allowed-signers file.
type Entry struct {
	Principals  []string
	Key         ssh.PublicKey
	Namespaces  []string  // empty: any namespace
	ValidAfter  time.Time // zero: no bound
	ValidBefore time.Time // zero: no bound
	Line        int
}

// Allowed is an allowed-signers file: the keys whose signatures count, and
// the principals (people) they belong to.
type Allowed struct {
	Path    string
	Entries []Entry
}

// ReadAllowed reads an allowed-signers file (git's format, the same as
// ssh-keygen's ALLOWED SIGNERS: "principal[,principal] [options] keytype
// base64-key [comment]", # comments).
func ReadAllowed(path string) (*Allowed, error) {
	data, err := safefile.Read(context.Background(), path, safefile.Signers)
	if err != nil {
		return nil, err
	}
	return ParseAllowed(path, data)
}

// ParseAllowed parses the text of an allowed-signers file; path names it in
// errors, which give the line.
func ParseAllowed(path string, data []byte) (*Allowed, error) {
	a := &Allowed{Path: path}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), maxFile)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		e, err := parseEntry(line)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %v", path, n, err)
		}
		e.Line = n
		a.Entries = append(a.Entries, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return a, nil
}

func parseEntry(line string) (Entry, error) {
	var e Entry
	principals, rest := cutField(line)
	for _, p := range strings.Split(principals, ",") {
		if p = strings.Trim(p, `"`); p != "" {
			e.Principals = append(e.Principals, p)
		}
	}
	if len(e.Principals) == 0 {
		return e, errors.New("no principal")
	}
	// Options come before the key type, and a key type never has "=".
	for {
		field, after := cutField(rest)
		if field == "" {
			return e, errors.New("no key after the principals")
		}
		if strings.HasPrefix(field, "ssh-") || strings.HasPrefix(field, "ecdsa-") || strings.HasPrefix(field, "sk-") {
			break
		}
		for _, opt := range splitOptions(field) {
			name, value, _ := strings.Cut(opt, "=")
			value = strings.Trim(value, `"`)
			var err error
			switch strings.ToLower(name) {
			case "namespaces":
				e.Namespaces = strings.Split(value, ",")
			case "valid-after":
				e.ValidAfter, err = parseSSHTime(value)
			case "valid-before":
				e.ValidBefore, err = parseSSHTime(value)
			case "cert-authority":
				return e, errors.New("cert-authority lines are not supported: list each signer's own key")
			default:
				return e, fmt.Errorf("unknown option %q", name)
			}
			if err != nil {
				return e, fmt.Errorf("option %s: %v", name, err)
			}
		}
		rest = after
	}
	key, _, _, _, err := ssh.ParseAuthorizedKey([]byte(rest))
	if err != nil {
		return e, fmt.Errorf("key: %v", err)
	}
	e.Key = key
	return e, nil
}

// cutField returns the first space-separated field of s (quotes keep
// spaces inside) and the rest.
func cutField(s string) (string, string) {
	s = strings.TrimSpace(s)
	quoted := false
	for i, r := range s {
		switch {
		case r == '"':
			quoted = !quoted
		case (r == ' ' || r == '\t') && !quoted:
			return s[:i], strings.TrimSpace(s[i:])
		}
	}
	return s, ""
}

// splitOptions splits "a=1,b=\"x,y\"" at commas outside quotes.
func splitOptions(s string) []string {
	var out []string
	quoted, start := false, 0
	for i, r := range s {
		switch {
		case r == '"':
			quoted = !quoted
		case r == ',' && !quoted:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// parseSSHTime reads ssh-keygen's YYYYMMDD[HHMM[SS]][Z] times.
func parseSSHTime(v string) (time.Time, error) {
	loc := time.Local
	if strings.HasSuffix(v, "Z") {
		v, loc = strings.TrimSuffix(v, "Z"), time.UTC
	}
	for _, layout := range []string{"20060102150405", "200601021504", "20060102"} {
		if len(v) == len(layout) {
			return time.ParseInLocation(layout, v, loc)
		}
	}
	return time.Time{}, fmt.Errorf("%q is not YYYYMMDD[HHMM[SS]][Z]", v)
}

// Principal is the principal a key signs for in namespace at time at, or
// false when the file does not allow the key.
func (a *Allowed) Principal(key ssh.PublicKey, namespace string, at time.Time) (string, bool) {
	want := key.Marshal()
	for _, e := range a.Entries {
		if !bytes.Equal(e.Key.Marshal(), want) {
			continue
		}
		if len(e.Namespaces) > 0 && !contains(e.Namespaces, namespace) {
			continue
		}
		if (!e.ValidAfter.IsZero() && at.Before(e.ValidAfter)) || (!e.ValidBefore.IsZero() && at.After(e.ValidBefore)) {
			continue
		}
		return e.Principals[0], true
	}
	return "", false
}

func contains(list []string, s string) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}

// Fingerprint is a key's SHA256 fingerprint as ssh-keygen shows it.
func Fingerprint(key ssh.PublicKey) string { return ssh.FingerprintSHA256(key) }

// Sign signs message for namespace with signer and returns the armored
// signature ("-----BEGIN SSH SIGNATURE-----").
func Sign(message []byte, signer ssh.Signer, namespace string) (string, error) {
	sig, err := sshsig.Sign(bytes.NewReader(message), signer, hash, namespace)
	if err != nil {
		return "", fmt.Errorf("signing with %s: %w", Fingerprint(signer.PublicKey()), err)
	}
	return string(sshsig.Armor(sig)), nil
}

// Verify checks an armored signature of message in namespace and returns
// the key that made it. Whether that key counts is Allowed's to say.
func Verify(message []byte, armored, namespace string) (ssh.PublicKey, error) {
	sig, err := sshsig.Unarmor([]byte(armored))
	if err != nil {
		return nil, fmt.Errorf("signature is not an SSH signature: %w", err)
	}
	pub, err := ssh.ParsePublicKey(sig.PublicKey.Marshal())
	if err != nil {
		return nil, fmt.Errorf("signature's key: %w", err)
	}
	if err := sshsig.Verify(bytes.NewReader(message), sig, pub, sig.HashAlgorithm, namespace); err != nil {
		return nil, fmt.Errorf("signature does not verify for this statement: %w", err)
	}
	return pub, nil
}

// LoadSigner returns the key to sign with: the private key in keyFile, or,
// with keyFile empty, the ssh-agent at $SSH_AUTH_SOCK (its only key, or the
// one whose public key is in pubFile when given). A passphrase-protected
// key file must be loaded into the agent instead.
func LoadSigner(ctx context.Context, keyFile string) (ssh.Signer, error) {
	if keyFile != "" {
		data, err := safefile.Read(ctx, keyFile, safefile.Key)
		if err != nil {
			return nil, err
		}
		s, err := ssh.ParsePrivateKey(data)
		var missing *ssh.PassphraseMissingError
		if errors.As(err, &missing) {
			return nil, fmt.Errorf("key file %s is passphrase-protected: add it to your ssh-agent (ssh-add %s) and sign without --key-file", keyFile, keyFile)
		}
		if err != nil {
			return nil, fmt.Errorf("key file %s: not an SSH private key: %w", keyFile, err)
		}
		return s, nil
	}
	sock := os.Getenv("SSH_AUTH_SOCK")
	if sock == "" {
		return nil, errors.New("no key to sign with: give --key-file FILE, or run an ssh-agent (SSH_AUTH_SOCK) holding your key")
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", sock)
	if err != nil {
		return nil, fmt.Errorf("ssh-agent at %s: %w", sock, err)
	}
	signers, err := agent.NewClient(conn).Signers()
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("ssh-agent at %s: %w", sock, err)
	}
	switch len(signers) {
	case 0:
		conn.Close()
		return nil, fmt.Errorf("ssh-agent at %s holds no key: ssh-add one, or give --key-file FILE", sock)
	case 1:
		return signers[0], nil
	}
	conn.Close()
	return nil, fmt.Errorf("ssh-agent at %s holds %d keys: say which with --key-file FILE", sock, len(signers))
}
