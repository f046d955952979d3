package vfstest_test

import (
	"testing"

	"github.com/wasmrun/wasmrun/heap"
	"github.com/wasmrun/wasmrun/vfs"
	"github.com/wasmrun/wasmrun/vfs/readonly"
	"github.com/wasmrun/wasmrun/vfs/vfstest"
)

// The kit is tested by running it against a real backend, the heap. (heap, stable and hostfs
// run it in their own packages.)

func TestHeap(t *testing.T) {
	vfstest.Run(t, func(t *testing.T) vfs.FS { return heap.New(heap.Options{}) }, vfstest.Options{
		NewLimitedFS: func(t *testing.T, maxBytes int64) vfs.FS {
			return heap.New(heap.Options{MaxBytes: maxBytes})
		},
		NewReadOnlyFS: func(t *testing.T, fill func(vfs.FS)) vfs.FS {
			fsys := heap.New(heap.Options{})
			fill(fsys)
			return readonly.New(fsys)
		},
	})
}
