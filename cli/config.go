package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/icconsole/ic/incident"
	"github.com/icconsole/ic/internal/safefile"
	"github.com/icconsole/ic/internal/termsafe"
	"github.com/icconsole/ic/verifier"
)

// config is ic's configuration file, $XDG_CONFIG_HOME/ic/config.yaml
// (IC_CONFIG names another). Every key is optional; flags and the
// environment override the file.
type config struct {
	// Actor is recorded on every entry (--actor and IC_ACTOR win).
	Actor string `yaml:"actor"`
	// Theme is the console's background, dark or light (IC_THEME wins).
	Theme string `yaml:"theme"`
	// Book is the book shown first in the console and used by
	// "ic incident open" without --book.
	Book string `yaml:"book"`
	// Sync configures the console's sync-committee panel.
	Sync syncConfig `yaml:"sync"`
	// Checkpoints is the folder signed ledger checkpoints are copied to.
	Checkpoints string `yaml:"checkpoints"`
	// AllowedSigners is the SSH allowed-signers file that says which keys
	// speak for which names.
	AllowedSigners string `yaml:"allowed_signers"`

	// path is the file read ("" when there was none).
	path string
}

type syncConfig struct {
	// Beacons are beacon API base URLs, tried in order (IC_BEACON and
	// --beacon win).
	Beacons []string `yaml:"beacons"`
	// Checkpoint is the block root trusted to start from (IC_CHECKPOINT
	// and --checkpoint win).
	Checkpoint string `yaml:"checkpoint"`
	// Every re-runs the check this often while the console is open ("":
	// on open and on r only).
	Every string `yaml:"every"`
	// StrictKeys subgroup-checks every committee key (ic synccheck
	// --strict-keys).
	StrictKeys bool `yaml:"strict_keys"`
}

// configTemplate is written by "ic config edit" when there is no file.
const configTemplate = `# ic configuration. Every key is optional; flags and the environment
# (IC_ACTOR, IC_THEME, IC_BEACON, IC_CHECKPOINT, IC_CHECKPOINT_DIR,
# IC_ALLOWED_SIGNERS) override what is here.
# "ic config show" prints what is in force and where each value comes from.

# actor: oncall-alice            # recorded on every entry (default: login name)
# theme: dark                    # the console's background: dark or light
# book: ops                      # the book shown first, and used to declare
# sync:                          # the console's sync-committee panel
#   beacons:                     # beacon API URLs, tried in order
#     - https://beacon-1.example
#     - https://beacon-2.example
#   checkpoint: 0x…              # a block root you trust (from a source you trust)
#   every: 10m                   # re-run the check this often while the console is open
#   strict_keys: false           # subgroup-check every committee key (slower)
# checkpoints: ~/ic/checkpoints  # folder signed ledger checkpoints are copied to
# allowed_signers: ~/.config/ic/allowed_signers   # SSH allowed signers (identities)
`

// configPath is IC_CONFIG, or config.yaml under $XDG_CONFIG_HOME/ic (else
// ~/.config/ic).
func configPath() (string, error) {
	if p := os.Getenv("IC_CONFIG"); p != "" {
		return p, nil
	}
	if d := os.Getenv("XDG_CONFIG_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "ic", "config.yaml"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("no configuration path: set IC_CONFIG or XDG_CONFIG_HOME (no home folder: %v)", err)
	}
	return filepath.Join(home, ".config", "ic", "config.yaml"), nil
}

// loadConfig reads the configuration file. A missing file is an empty
// configuration; a file that does not parse, or holds a key ic does not
// know or a value it cannot use, is an error naming the file and line.
func loadConfig() (config, error) {
	path, err := configPath()
	if err != nil {
		return config{}, err
	}
	raw, err := safefile.Read(context.Background(), path, safefile.Config)
	if errors.Is(err, fs.ErrNotExist) {
		return config{}, nil
	}
	if err != nil {
		return config{}, err
	}
	return parseConfig(path, raw)
}

// parseConfig decodes and checks a configuration file's bytes.
func parseConfig(path string, raw []byte) (config, error) {
	c := config{path: path}
	if len(bytes.TrimSpace(raw)) == 0 {
		return c, nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return config{}, fmt.Errorf("configuration %s: %s", path, yamlError(err))
	}
	var node yaml.Node
	_ = yaml.Unmarshal(raw, &node) // it decoded above; only for line numbers
	at := func(keys ...string) string {
		if n := lookup(&node, keys...); n != nil {
			return fmt.Sprintf("%s:%d", path, n.Line)
		}
		return path
	}
	switch c.Theme {
	case "", "dark", "light":
	default:
		return config{}, fmt.Errorf("%s: theme %q: use dark or light", at("theme"), termsafe.EscapeLine(c.Theme))
	}
	if c.Sync.Every != "" {
		if d, err := time.ParseDuration(c.Sync.Every); err != nil || d < time.Minute {
			return config{}, fmt.Errorf("%s: sync.every %q: a duration of at least 1m, like 10m", at("sync", "every"), termsafe.EscapeLine(c.Sync.Every))
		}
	}
	if len(c.Sync.Beacons) > 0 || c.Sync.Checkpoint != "" {
		src := incident.SyncSource{Beacons: strings.Join(c.Sync.Beacons, ","), Checkpoint: c.Sync.Checkpoint}
		if err := src.Validate(); err != nil {
			return config{}, fmt.Errorf("%s: sync: %w", at("sync"), err)
		}
	}
	c.Checkpoints, c.AllowedSigners = expandTilde(c.Checkpoints), expandTilde(c.AllowedSigners)
	return c, nil
}

// yamlError drops the package prefix from a YAML error ("yaml: line 3:
// ..." reads "line 3: ...").
func yamlError(err error) string {
	msg := strings.TrimPrefix(strings.TrimPrefix(err.Error(), "yaml: "), "unmarshal errors:\n  ")
	if m := unknownKey.FindStringSubmatch(msg); m != nil {
		return m[1] + "unknown key " + m[2] + " (known: actor, theme, book, sync, checkpoints, allowed_signers; sync: beacons, checkpoint, every, strict_keys)"
	}
	return msg
}

// unknownKey matches the decoder's words for a key ic does not know.
var unknownKey = regexp.MustCompile(`^(line \d+: )field (\S+) not found in type`)

// lookup finds the value node at a path of mapping keys.
func lookup(n *yaml.Node, keys ...string) *yaml.Node {
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	for _, k := range keys {
		if n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				next = n.Content[i+1]
			}
		}
		if next == nil {
			return nil
		}
		n = next
	}
	return n
}

func expandTilde(p string) string {
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, rest)
		}
	}
	return p
}

// syncEvery is how often the console re-runs the sync check (0: never by
// itself).
func (c config) syncEvery() time.Duration {
	d, _ := time.ParseDuration(c.Sync.Every)
	return d
}

// saveSync writes the sync panel's beacons and checkpoint into the
// configuration file, keeping every other key and comment as it was.
func saveSync(path string, beacons []string, checkpoint string) error {
	raw, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("configuration %s: %w", path, err)
	}
	var doc yaml.Node
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := yaml.Unmarshal(raw, &doc); err != nil {
			return fmt.Errorf("configuration %s: %s (fix it with 'ic config edit')", path, yamlError(err))
		}
	}
	if doc.Kind == 0 {
		doc = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode}}}
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return fmt.Errorf("configuration %s: the top level is not a mapping of keys (fix it with 'ic config edit')", path)
	}
	syncNode := mappingValue(root, "sync")
	seq := &yaml.Node{Kind: yaml.SequenceNode}
	for _, b := range beacons {
		seq.Content = append(seq.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: b})
	}
	setValue(syncNode, "beacons", seq)
	setValue(syncNode, "checkpoint", &yaml.Node{Kind: yaml.ScalarNode, Value: checkpoint})
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return err
	}
	if _, err := parseConfig(path, out.Bytes()); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("configuration %s: %w", path, err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, out.Bytes(), 0o600); err != nil {
		return fmt.Errorf("configuration %s: %w", path, err)
	}
	return os.Rename(tmp, path)
}

// mappingValue returns the mapping under key, adding it when absent.
func mappingValue(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key && m.Content[i+1].Kind == yaml.MappingNode {
			return m.Content[i+1]
		}
	}
	v := &yaml.Node{Kind: yaml.MappingNode}
	setValue(m, key, v)
	return v
}

// setValue sets key to v in mapping m.
func setValue(m *yaml.Node, key string, v *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content[i+1] = v
			return
		}
	}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, v)
}

// config loads the configuration once per run.
func (e *env) config() (config, error) {
	if e.cfg == nil {
		c, err := loadConfig()
		if err != nil {
			return config{}, err
		}
		e.cfg = &c
	}
	return *e.cfg, nil
}

func (e *env) configCommand() *cobra.Command {
	return group("config", "the configuration file: where it is, what is in force, edit it",
		"ic reads $XDG_CONFIG_HOME/ic/config.yaml (IC_CONFIG names another file): actor, theme, default book, the sync panel's beacons, checkpoint and interval, the checkpoint folder and the allowed signers. Flags and the environment override it.",
		"ledger", e.configPath(), e.configShow(), e.configEdit())
}

func (e *env) configPath() *cobra.Command {
	return &cobra.Command{
		Use:     "path",
		Short:   "print where the configuration file is",
		Long:    "Print the configuration file's path, whether or not it exists.",
		Example: "  ic config path",
		Args:    argsBetween(0, 0),
		RunE: func(*cobra.Command, []string) error {
			p, err := configPath()
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(e.stdout, p)
			return err
		},
	}
}

// setting is one value in force and where it came from.
type setting struct {
	Key    string `json:"key"`
	Value  string `json:"value"`
	Source string `json:"source"`
}

func (e *env) configShow() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:     "show",
		Short:   "print the configuration in force and where each value comes from",
		Long:    "Print every setting ic uses, its value, and where it comes from: a flag, the environment, the configuration file (with its path), or the default.",
		Example: "  ic config show\n  ic config show --json",
		Args:    argsBetween(0, 0),
		RunE: func(*cobra.Command, []string) error {
			cfg, err := e.config()
			if err != nil {
				return err
			}
			list := e.settings(cfg)
			if asJSON {
				return e.printJSON(list)
			}
			for _, s := range list {
				if _, err := fmt.Fprintf(e.stdout, "%-16s %-40s %s\n", s.Key, termsafe.EscapeLine(s.Value), s.Source); err != nil {
					return err
				}
			}
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

// settings lists the values in force with their sources.
func (e *env) settings(cfg config) []setting {
	file := "config " + cfg.path
	pick := func(key string, candidates ...[2]string) setting {
		for _, c := range candidates {
			if c[0] != "" {
				return setting{Key: key, Value: c[0], Source: c[1]}
			}
		}
		return setting{Key: key, Source: "not set"}
	}
	path, _ := configPath()
	db, _ := e.dbPath()
	actor := e.by()
	list := []setting{
		{Key: "config", Value: path, Source: map[bool]string{true: "file found", false: "no file"}[cfg.path != ""]},
		{Key: "db", Value: db, Source: map[bool]string{true: "--db or IC_DB", false: "default"}[e.db != "" || os.Getenv("IC_DB") != ""]},
		pick("actor", [2]string{e.actor, "--actor"}, [2]string{os.Getenv("IC_ACTOR"), "IC_ACTOR"}, [2]string{cfg.Actor, file}, [2]string{actor.Name, "login name"}),
		pick("theme", [2]string{os.Getenv("IC_THEME"), "IC_THEME"}, [2]string{cfg.Theme, file}, [2]string{os.Getenv("COLORFGBG"), "COLORFGBG"}, [2]string{"asked of the terminal when the console opens", "default"}),
		pick("book", [2]string{cfg.Book, file}, [2]string{"the catalog's default (ops)", "default"}),
		pick("sync.beacons", [2]string{os.Getenv("IC_BEACON"), "IC_BEACON"}, [2]string{strings.Join(cfg.Sync.Beacons, ","), file}),
		pick("sync.checkpoint", [2]string{os.Getenv("IC_CHECKPOINT"), "IC_CHECKPOINT"}, [2]string{cfg.Sync.Checkpoint, file}),
		pick("sync.every", [2]string{cfg.Sync.Every, file}, [2]string{"on open and on r only", "default"}),
		pick("sync.strict_keys", [2]string{map[bool]string{true: "true"}[cfg.Sync.StrictKeys], file}, [2]string{"false", "default"}),
		pick("sync.cache", [2]string{cacheDir(), "the user's cache folder"}, [2]string{"memory only (no cache folder)", "default"}),
		pick("checkpoints", [2]string{e.checkpointDir, "--checkpoint-dir"}, [2]string{os.Getenv("IC_CHECKPOINT_DIR"), "IC_CHECKPOINT_DIR"}, [2]string{cfg.Checkpoints, file}),
		pick("allowed_signers", [2]string{e.allowedSigners, "--allowed-signers"}, [2]string{os.Getenv("IC_ALLOWED_SIGNERS"), "IC_ALLOWED_SIGNERS"}, [2]string{cfg.AllowedSigners, file}),
		pick("checkpoint_key", [2]string{os.Getenv("IC_CHECKPOINT_KEY"), "IC_CHECKPOINT_KEY"}, [2]string{e.keyPath(), "default"}),
	}
	return list
}

func (e *env) configEdit() *cobra.Command {
	return &cobra.Command{
		Use:   "edit",
		Short: "edit the configuration file in $VISUAL or $EDITOR",
		Long:  "Open the configuration file in $VISUAL, else $EDITOR, else vi; a missing file starts from a commented template. When the editor exits the file is checked, and any problem is named with its line.",
		Example: `  ic config edit
  EDITOR=nano ic config edit`,
		Args: argsBetween(0, 0),
		RunE: func(*cobra.Command, []string) error {
			path, err := configPath()
			if err != nil {
				return err
			}
			if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
				if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
					return fmt.Errorf("configuration %s: %w", path, err)
				}
				if err := os.WriteFile(path, []byte(configTemplate), 0o600); err != nil {
					return fmt.Errorf("configuration %s: %w", path, err)
				}
			}
			editor := os.Getenv("VISUAL")
			if editor == "" {
				editor = os.Getenv("EDITOR")
			}
			if editor == "" {
				editor = "vi"
			}
			args := strings.Fields(editor)
			cmd := exec.CommandContext(e.ctx, args[0], append(args[1:], path)...)
			cmd.Stdin, cmd.Stdout, cmd.Stderr = e.stdin, e.stdout, e.stderr
			if err := cmd.Run(); err != nil {
				return fmt.Errorf("editor %s on %s: %w", editor, path, err)
			}
			if _, err := loadConfig(); err != nil {
				return fmt.Errorf("%w (run 'ic config edit' again to fix it)", err)
			}
			_, err = fmt.Fprintf(e.stdout, "configuration %s checked\n", path)
			return err
		},
	}
}

// configActor is the configuration's actor ("" when unset or when the file
// cannot be read: the next source is used, and the problem is reported).
func (e *env) configActor() string {
	cfg, err := e.config()
	if err != nil {
		e.warnConfig(err)
		return ""
	}
	return cfg.Actor
}

// configValue reads one value of the configuration ("" when unset or the
// file cannot be read: the problem is reported once).
func (e *env) configValue(get func(config) string) string {
	cfg, err := e.config()
	if err != nil {
		e.warnConfig(err)
		return ""
	}
	return expandTilde(get(cfg))
}

// defaultBook is the configuration's book, else fallback.
func (e *env) defaultBook(fallback string) string {
	cfg, err := e.config()
	if err != nil {
		e.warnConfig(err)
	}
	if cfg.Book != "" {
		return cfg.Book
	}
	return fallback
}

// warnConfig reports a configuration that cannot be read, once a run.
func (e *env) warnConfig(err error) {
	if e.cfg == nil {
		fmt.Fprintf(e.stderr, "ic: warning: %v (using the defaults)\n", err)
		e.cfg = &config{}
	}
}

// cacheDir is where proven sync committees are kept ("" when the user has
// no cache folder).
func cacheDir() string {
	dir, _ := verifier.DefaultCacheDir()
	return dir
}
