// Package lightclienttest finds the shared Ethereum mainnet light-client test
// data (../shared/testdata/lightclient beside the project, or
// $IC_TESTDATA) for the tests that need it.
package lightclienttest

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// Dir returns the data folder, or "" when it is nowhere to be found.
func Dir() string {
	var candidates []string
	if env := os.Getenv("IC_TESTDATA"); env != "" {
		candidates = append(candidates, filepath.Join(env, "lightclient"), env)
	}
	// The project root is two levels above this file.
	if _, file, _, ok := runtime.Caller(0); ok {
		root := filepath.Dir(filepath.Dir(filepath.Dir(file)))
		candidates = append(candidates, filepath.Join(root, "..", "shared", "testdata", "lightclient"))
	}
	for _, c := range candidates {
		if _, err := os.Stat(filepath.Join(c, "beacon_genesis.json")); err == nil {
			abs, _ := filepath.Abs(c)
			return abs
		}
	}
	return ""
}

// Require returns the data folder. Without it the test is skipped with a
// message that says where the data is expected, except under CI=true,
// where a missing folder is a failure.
func Require(t testing.TB) string {
	t.Helper()
	if d := Dir(); d != "" {
		return d
	}
	msg := "mainnet light-client data not found at ../shared/testdata/lightclient or $IC_TESTDATA (see its README)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}
