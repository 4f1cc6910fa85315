package cli

import (
	"strings"
	"testing"
)

// TestSyncSourcesTakeStrictKeysFromTheConfiguration: strict_keys in the
// file applies to every source of the console's sync panel.
func TestSyncSourcesTakeStrictKeysFromTheConfiguration(t *testing.T) {
	t.Setenv("IC_BEACON", "")
	t.Setenv("IC_CHECKPOINT", "")
	root := "0x" + strings.Repeat("ab", 32)
	cf := consoleFlags{syncBootstrap: "b.json", syncUpdates: []string{"u.json"}}
	for _, strict := range []bool{false, true} {
		cfg := config{Sync: syncConfig{Beacons: []string{"https://beacon.example"}, Checkpoint: root, StrictKeys: strict}}
		srcs, err := syncSources(cf, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if len(srcs) != 2 {
			t.Fatalf("%d sources, want the files and the beacon", len(srcs))
		}
		for _, s := range srcs {
			if s.StrictKeys != strict {
				t.Errorf("strict_keys %v in the file: source %s has StrictKeys %v", strict, s.Name(), s.StrictKeys)
			}
		}
	}
}
