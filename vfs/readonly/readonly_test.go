package readonly_test

import (
	"path/filepath"
	"testing"

	"github.com/wasmrun/wasmrun/heap"
	"github.com/wasmrun/wasmrun/stable"
	"github.com/wasmrun/wasmrun/vfs"
	"github.com/wasmrun/wasmrun/vfs/readonly"
	"github.com/wasmrun/wasmrun/vfs/stats"
)

// caps is the set of optional capabilities found through fsys's Unwrap chain, as "CLUB"
// (Committer, Closer, Usager, BackendStatser) with "-" for each one missing.
func caps(fsys vfs.FS) string {
	b := []byte("----")
	if _, ok := vfs.As[vfs.Committer](fsys); ok {
		b[0] = 'C'
	}
	if _, ok := vfs.As[vfs.Closer](fsys); ok {
		b[1] = 'L'
	}
	if _, ok := vfs.As[vfs.Usager](fsys); ok {
		b[2] = 'U'
	}
	if _, ok := vfs.As[stats.BackendStatser](fsys); ok {
		b[3] = 'B'
	}
	return string(b)
}

// TestReadOnly checks the wrapper over a writable backend: reads are the backend's, changes are
// EROFS, and every capability of the backend is still found through it.
func TestReadOnly(t *testing.T) {
	h := heap.New(heap.Options{})
	f, e := h.Create(h.Root(), "f", vfs.TypeRegular, 0o644, "")
	if e != 0 {
		t.Fatal(e)
	}
	d, e := h.Create(h.Root(), "d", vfs.TypeDir, 0o755, "")
	if e != 0 {
		t.Fatal(e)
	}
	ro := readonly.New(h)
	if w, ok := ro.(vfs.Wrapper); !ok || w.Unwrap() != vfs.FS(h) {
		t.Fatal("the wrapper does not unwrap to the backend")
	}
	if got, want := caps(ro), caps(h); got != want {
		t.Errorf("capabilities %s, backend has %s", got, want)
	}
	tests := []struct {
		name string
		got  vfs.Errno
		want vfs.Errno
	}{
		{"open read", second(ro.Open(f, vfs.OpenRead)), 0},
		{"open write", second(ro.Open(f, vfs.OpenWrite)), vfs.EROFS},
		{"open dir write", second(ro.Open(d, vfs.OpenWrite)), vfs.EISDIR},
		{"lookup", third(ro.Lookup(h.Root(), "f")), 0},
		{"lookup dotdot", third(ro.Lookup(d, "..")), 0},
		{"create existing", second(ro.Create(h.Root(), "f", vfs.TypeRegular, 0o644, "")), vfs.EEXIST},
		{"create new", second(ro.Create(h.Root(), "g", vfs.TypeRegular, 0o644, "")), vfs.EROFS},
		{"remove", ro.Remove(h.Root(), "f", false), vfs.EROFS},
		{"remove missing", ro.Remove(h.Root(), "nope", false), vfs.ENOENT},
		{"rename", ro.Rename(h.Root(), "f", h.Root(), "g"), vfs.EROFS},
		{"link", ro.Link(f, h.Root(), "g"), vfs.EROFS},
		{"setattr", ro.SetAttr(f, &vfs.Attr{Valid: vfs.AttrMode, Mode: 0o600}), vfs.EROFS},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, tt.got, tt.want)
		}
	}
}

// TestReadOnlyStore checks the wrapper over a stable store, which has every capability: the
// runtime still commits and closes it through the wrapper, and its own figures (BackendStatser,
// which the read-only wrapper used to drop) still reach a stats.Counter stacked on top.
func TestReadOnlyStore(t *testing.T) {
	store, err := stable.Open(filepath.Join(t.TempDir(), "s.store"), stable.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	ro := readonly.New(store)
	if got := caps(ro); got != "CLUB" {
		t.Fatalf("capabilities through the read-only wrapper: %s, want CLUB", got)
	}
	c := stats.Wrap(ro)
	if got := caps(c.FS()); got != "CLUB" {
		t.Fatalf("capabilities through stats over read-only: %s, want CLUB", got)
	}
	if b := c.Stats().Backend; b == nil {
		t.Fatal("the store's own figures are lost behind the read-only wrapper")
	}
	ns := vfs.NewNamespace(heap.New(heap.Options{}))
	if err := ns.Mount("/ro", c.FS()); err != nil {
		t.Fatal(err)
	}
	if err := ns.Commit(); err != nil {
		t.Fatal(err)
	}
	if n := c.Stats().Ops[stats.OpCommit].Count; n != 1 {
		t.Errorf("Namespace.Commit reached the store %d times through the wrappers, want 1", n)
	}
	if err := ns.Close(); err != nil {
		t.Fatal(err)
	}
	if _, e := store.Stat(store.Root()); e == 0 {
		t.Error("Namespace.Close did not close the store behind the wrappers")
	}
}

func second[T any](_ T, e vfs.Errno) vfs.Errno { return e }

func third[T, U any](_ T, _ U, e vfs.Errno) vfs.Errno { return e }
