package boltkv_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wasmrun/wasmrun/stable/internal/failpoint"
	"github.com/wasmrun/wasmrun/stable/internal/kv"
	"github.com/wasmrun/wasmrun/stable/internal/kv/boltkv"
	"github.com/wasmrun/wasmrun/stable/internal/kv/kvtest"
)

// newFile makes an empty file, which both engines open as a new, empty store.
func newFile(t testing.TB) string {
	path := filepath.Join(t.TempDir(), "kit.db")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// damage makes the closed store at path a text file (kv.ErrInvalid), or cuts it to a third of
// its size (kv.ErrCorrupt: its pages run past the end of the file).
func damage(t *testing.T, path string, want error) {
	switch {
	case errors.Is(want, kv.ErrInvalid):
		if err := os.WriteFile(path, []byte(strings.Repeat("not a store\n", 5000)), 0o600); err != nil {
			t.Fatal(err)
		}
	case errors.Is(want, kv.ErrCorrupt):
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(path, st.Size()/3); err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatalf("damage: no way to make %v", want)
	}
}

// TestKitBolt runs the kv conformance kit against the plain bbolt engine (OpenBolt).
func TestKitBolt(t *testing.T) {
	kvtest.Run(t, kvtest.Engine{
		New: func(t *testing.T) string { return newFile(t) },
		Open: func(path string, opts kv.Options) (kv.Store, error) {
			return boltkv.OpenBolt(path, boltkv.BoltOptions{
				Buckets:     opts.Buckets,
				LockTimeout: opts.LockTimeout,
				ReadOnly:    opts.ReadOnly,
				NoSync:      opts.NoSync,
				Fault:       opts.Fault,
			})
		},
		Damage: damage,
		Fault:  true,
	})
}

// TestKitWAL runs the kv conformance kit against the local engine: bbolt with its write-ahead
// log (Open), crashed also between a record's write and its sync, and between a checkpoint's
// commit into bbolt and the log's reset.
func TestKitWAL(t *testing.T) {
	kvtest.Run(t, kvtest.Engine{
		New:        func(t *testing.T) string { return newFile(t) },
		Open:       boltkv.Open,
		Damage:     damage,
		Fault:      true,
		Failpoints: []failpoint.Name{failpoint.LogWritten, failpoint.Checkpointed},
	})
}
