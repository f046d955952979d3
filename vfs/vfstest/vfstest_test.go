package vfstest_test

import (
	"testing"
	"time"

	"github.com/wasmrun/wasmrun/heap"
	"github.com/wasmrun/wasmrun/vfs"
	"github.com/wasmrun/wasmrun/vfs/vfstest"
)

// The kit is tested by running it against the real backends that live outside the stable
// store: the heap and a host directory. (stable runs it in its own package.)

func TestHeap(t *testing.T) {
	vfstest.Run(t, func(t *testing.T) vfs.FS { return heap.New(heap.Options{}) }, vfstest.Options{
		NewLimitedFS: func(t *testing.T, maxBytes int64) vfs.FS {
			return heap.New(heap.Options{MaxBytes: maxBytes})
		},
		NewReadOnlyFS: func(t *testing.T, fill func(vfs.FS)) vfs.FS {
			fsys := heap.New(heap.Options{})
			fill(fsys)
			return vfs.ReadOnly(fsys)
		},
	})
}

func TestHostDir(t *testing.T) {
	newFS := func(t *testing.T) vfs.FS {
		fsys, err := vfs.HostDir(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { fsys.(vfs.Closer).Close() })
		return fsys
	}
	vfstest.Run(t, newFS, vfstest.Options{
		NewReadOnlyFS: func(t *testing.T, fill func(vfs.FS)) vfs.FS {
			fsys := newFS(t)
			fill(fsys)
			return vfs.ReadOnly(fsys)
		},
		// The host kernel stamps times from its coarse clock, which lags time.Now by up to a
		// scheduler tick (4 ms at HZ=250, 10 ms at HZ=100).
		TimeGranularity: 10 * time.Millisecond,
		// HostDir reaches a non-directory inode through a directory entry it has seen; once
		// the last one is unlinked only the open handle is left, and SetAttr does not use it.
		NoSetAttrUnlinked: true,
	})
}
