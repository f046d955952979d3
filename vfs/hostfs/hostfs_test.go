package hostfs_test

import (
	"testing"
	"time"

	"github.com/wasmrun/wasmrun/vfs"
	"github.com/wasmrun/wasmrun/vfs/hostfs"
	"github.com/wasmrun/wasmrun/vfs/readonly"
	"github.com/wasmrun/wasmrun/vfs/vfstest"
)

// TestConformance runs the vfstest kit against a host directory.
func TestConformance(t *testing.T) {
	newFS := func(t *testing.T) vfs.FS {
		fsys, err := hostfs.New(t.TempDir())
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
			return readonly.New(fsys)
		},
		// The host kernel stamps times from its coarse clock, which lags time.Now by up to a
		// scheduler tick (4 ms at HZ=250, 10 ms at HZ=100).
		TimeGranularity: 10 * time.Millisecond,
		// A host directory reaches a non-directory inode through a directory entry it has seen; once
		// the last one is unlinked only the open handle is left, and SetAttr does not use it.
		NoSetAttrUnlinked: true,
		NoLimitedFS:       "a host directory has no size limit of its own",
	})
}
