package stable_test

import (
	"path/filepath"
	"testing"

	"github.com/wasmrun/wasmrun/stable"
	"github.com/wasmrun/wasmrun/vfs"
	"github.com/wasmrun/wasmrun/vfs/vfstest"
)

// newStable opens a fresh store for one subtest of the conformance kit; when the subtest ends
// it commits, checks the store with Fsck and closes it.
func newStable(opts stable.Options) func(t *testing.T) vfs.FS {
	return func(t *testing.T) vfs.FS {
		f, err := stable.Open(filepath.Join(t.TempDir(), "vfstest.store"), opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if e := f.Commit(); e != vfs.ESUCCESS {
				t.Errorf("commit: %v", e)
			}
			if r, err := f.Fsck(); err != nil || !r.OK() {
				t.Errorf("fsck after the test: %v %v", err, r)
			}
			if err := f.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
		})
		return f
	}
}

// TestVFS runs the conformance kit with zero Options: stable is a full POSIX backend.
func TestVFS(t *testing.T) {
	opts := stable.Options{NoSync: true}
	vfstest.Run(t, newStable(opts), vfstest.Options{
		NewLimitedFS: func(t *testing.T, maxBytes int64) vfs.FS {
			o := opts
			o.QuotaBytes = maxBytes
			return newStable(o)(t)
		},
		// The read-only mode: a store filled, closed and opened again with Options.ReadOnly.
		NewReadOnlyFS: func(t *testing.T, fill func(vfs.FS)) vfs.FS {
			path := filepath.Join(t.TempDir(), "ro.store")
			w, err := stable.Open(path, opts)
			if err != nil {
				t.Fatal(err)
			}
			fill(w)
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			r, err := stable.Open(path, stable.Options{ReadOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { r.Close() })
			return r
		},
	})
}

// cacheOnly is the Options of the cache variants below: TestVFS runs the Space and ReadOnly
// groups.
var cacheOnly = vfstest.Options{NoReadOnlyFS: "TestVFS runs it (the cache size changes nothing read-only)",
	NoLimitedFS: "TestVFS runs it"}

// TestVFSTinyCache runs the kit again with a cache so small and an interval so short that
// evictions and commits (from writers and from the background) happen all the time.
func TestVFSTinyCache(t *testing.T) {
	vfstest.RunBackend(t, newStable(stable.Options{NoSync: true, PageSize: 4096, CacheBytes: 1, CommitInterval: 1}), cacheOnly)
}

// TestVFSEvict runs the kit with the tiny cache and a metadata cache of a few inodes and
// names, so that clean inodes and directory entries are evicted after nearly every operation
// and read back from the store.
func TestVFSEvict(t *testing.T) {
	opts := stable.WithMaxMeta(stable.Options{NoSync: true, PageSize: 4096, CacheBytes: 1, CommitInterval: 1}, 4)
	vfstest.RunBackend(t, newStable(opts), cacheOnly)
}
