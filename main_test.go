package main

import (
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/icconsole/ic/store"

	"github.com/icconsole/ic/cli"
	"github.com/icconsole/ic/internal/lightclienttest"
)

// update rewrites the files that "cmp stdout FILE" compares against in the
// scripts (go test . -run TestScripts/NAME -update); read the diff.
var update = flag.Bool("update", false, "rewrite the expected output files in testdata/script")

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"ic": func() { os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs the real ic binary through testdata/script/*.txtar.
func TestScripts(t *testing.T) {
	root, _ := filepath.Abs(".")
	data := lightclienttest.Dir()
	if data == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("mainnet light-client data not found at ../shared/testdata/lightclient or $IC_TESTDATA")
		}
		t.Log("mainnet light-client data not found: scripts marked [lightclient] are skipped")
	}
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		UpdateScripts:       *update,
		Setup: func(env *testscript.Env) error {
			work := env.WorkDir
			env.Setenv("HOME", work+"/home")
			env.Setenv("XDG_STATE_HOME", work+"/state")
			env.Setenv("XDG_CONFIG_HOME", work+"/config")
			env.Setenv("IC_DB", work+"/ic.db")
			env.Setenv("IC_ACTOR", "tester")
			env.Setenv("NO_COLOR", "1")
			env.Setenv("REPO", root)
			env.Setenv("LIGHTCLIENT", data)
			env.Setenv("ESC", "\x1b")
			env.Setenv("BEL", "\x07")
			// A note just over the 64 KiB limit.
			big := strings.Repeat("x", 64<<10+1)
			if err := os.WriteFile(filepath.Join(work, "big.txt"), []byte(big), 0o600); err != nil {
				return err
			}
			return nil
		},
		Condition: func(cond string) (bool, error) {
			if cond == "lightclient" {
				return data != "", nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			// grab NAME REGEXP sets $NAME to the first group of REGEXP
			// in the last command's stdout (an incident id, say).
			"grab": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) != 2 {
					ts.Fatalf("usage: grab NAME REGEXP")
				}
				m := regexp.MustCompile(args[1]).FindStringSubmatch(ts.ReadFile("stdout"))
				if len(m) < 2 {
					ts.Fatalf("grab: %q does not match stdout", args[1])
				}
				ts.Setenv(args[0], m[1])
			},
			// rechain DB SHORTID SEQ rewrites an incident's hash chain from
			// SEQ on with the public formula (README "The hash chain"), as
			// someone with write access to the file and no key could.
			"rechain": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) != 3 {
					ts.Fatalf("usage: rechain DB SHORTID SEQ")
				}
				if err := rechain(ts.MkAbs(args[0]), args[1], args[2]); err != nil {
					ts.Fatalf("rechain: %v", err)
				}
			},
			// exitcode N PROG ARGS... runs PROG and requires exit code N;
			// its output can be checked with stdout and stderr afterwards.
			"exitcode": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) < 2 {
					ts.Fatalf("usage: exitcode N PROG [ARGS...]")
				}
				want, err := strconv.Atoi(args[0])
				if err != nil {
					ts.Fatalf("exitcode: %v", err)
				}
				got := 0
				if err := ts.Exec(args[1], args[2:]...); err != nil {
					var ee *exec.ExitError
					if !errors.As(err, &ee) {
						ts.Fatalf("exitcode: %v", err)
					}
					got = ee.ExitCode()
				}
				if got != want {
					ts.Fatalf("%s exited %d, want %d", args[1], got, want)
				}
			},
		},
	})
}

// rechain rewrites one incident's chain from seq from on, as an attacker
// with the file and the public formula would, through the plain driver.
func rechain(path, short, from string) error {
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		return err
	}
	defer db.Close()
	var n int64
	var id string
	if err := db.QueryRow("SELECT n, id FROM incidents WHERE id LIKE ? || '%'", strings.TrimPrefix(short, "INC-")).Scan(&n, &id); err != nil {
		return err
	}
	start, err := strconv.ParseInt(from, 10, 64)
	if err != nil {
		return err
	}
	type event struct {
		seq, ms                       int64
		actor, identity, typ, payload string
		hash                          []byte
	}
	rows, err := db.Query("SELECT seq, time, actor, identity, type, payload, hash FROM events WHERE incident = ? ORDER BY seq", n)
	if err != nil {
		return err
	}
	var evs []event
	for rows.Next() {
		var e event
		if err := rows.Scan(&e.seq, &e.ms, &e.actor, &e.identity, &e.typ, &e.payload, &e.hash); err != nil {
			rows.Close()
			return err
		}
		evs = append(evs, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, stmt := range []string{"DROP TRIGGER IF EXISTS events_no_update", "DROP TRIGGER IF EXISTS events_chain"} {
		if _, err := db.Exec(stmt); err != nil {
			return err
		}
	}
	var prev store.Hash
	for _, e := range evs {
		if e.seq < start {
			copy(prev[:], e.hash)
			continue
		}
		h := store.ComputeHash(id, e.seq, e.ms, e.actor, e.typ, []byte(e.payload), prev)
		if e.identity != "" {
			h = store.ComputeHashV2(id, e.seq, e.ms, e.actor, e.identity, e.typ, []byte(e.payload), prev)
		}
		if _, err := db.Exec("UPDATE events SET prev_hash = ?, hash = ? WHERE incident = ? AND seq = ?", prev[:], h[:], n, e.seq); err != nil {
			return err
		}
		prev = h
	}
	return nil
}
