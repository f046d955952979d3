package heap_test

import (
	"testing"

	"github.com/wasmrun/wasmrun/heap"
	"github.com/wasmrun/wasmrun/vfs"
	"github.com/wasmrun/wasmrun/vfs/readonly"
	"github.com/wasmrun/wasmrun/vfs/vfstest"
)

// TestConformance runs the shared conformance kit: the heap backend supports everything, so
// no Options field is set, except the size limit the kit exercises through NewLimitedFS.
func TestConformance(t *testing.T) {
	vfstest.Run(t, func(t *testing.T) vfs.FS { return heap.New(heap.Options{}) }, vfstest.Options{
		NewLimitedFS: func(t *testing.T, maxBytes int64) vfs.FS {
			return heap.New(heap.Options{MaxBytes: maxBytes})
		},
		// The heap has no read-only mode of its own: the read-only decorator over it.
		NewReadOnlyFS: func(t *testing.T, fill func(vfs.FS)) vfs.FS {
			fsys := heap.New(heap.Options{})
			fill(fsys)
			return readonly.New(fsys)
		},
	})
}
