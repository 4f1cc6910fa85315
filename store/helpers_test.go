package store

import (
	"testing"

	"github.com/icconsole/ic/internal/checkpoint"
)

// testSigner makes a fresh checkpoint key.
func testSigner(t testing.TB) *checkpoint.Signer {
	t.Helper()
	skey, _, err := checkpoint.GenerateKey("ic-test")
	if err != nil {
		t.Fatal(err)
	}
	s, err := checkpoint.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
