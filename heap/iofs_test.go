package heap_test

import (
	"bytes"
	"testing"
	"testing/fstest"

	"github.com/wasmrun/wasmrun/heap"
	"github.com/wasmrun/wasmrun/vfs"
	"github.com/wasmrun/wasmrun/vfs/iofs"
)

// TestIOFS runs testing/fstest.TestFS over the io/fs view of a heap FS holding a tree with
// nested and empty directories, empty, small, multi-page and sparse files, a hard link and
// symlinks.
func TestIOFS(t *testing.T) {
	fsys := heap.New(heap.Options{})
	mkdir := func(dir vfs.Ino, name string) vfs.Ino {
		t.Helper()
		ino, e := fsys.Create(dir, name, vfs.TypeDir, 0o755, "")
		if e != 0 {
			t.Fatalf("mkdir %s: %v", name, e)
		}
		return ino
	}
	write := func(dir vfs.Ino, name string, data []byte, off int64) vfs.Ino {
		t.Helper()
		ino, e := fsys.Create(dir, name, vfs.TypeRegular, 0o644, "")
		if e != 0 {
			t.Fatalf("create %s: %v", name, e)
		}
		f, e := fsys.Open(ino, vfs.OpenWrite)
		if e != 0 {
			t.Fatalf("open %s: %v", name, e)
		}
		if _, e := f.WriteAt(data, off); e != 0 {
			t.Fatalf("write %s: %v", name, e)
		}
		f.Close()
		return ino
	}
	root := fsys.Root()
	write(root, "hello.txt", []byte("hello, world\n"), 0)
	write(root, "empty", nil, 0)
	a := mkdir(root, "a")
	b := mkdir(a, "b")
	mkdir(b, "empty-dir")
	big := write(b, "big.bin", bytes.Repeat([]byte("0123456789abcdef"), 3*heap.PageSize/16+7), 0)
	write(a, "sparse", []byte("end"), 5*heap.PageSize+3)
	if e := fsys.Link(big, root, "big-link.bin"); e != 0 {
		t.Fatal(e)
	}
	if _, e := fsys.Create(a, "to-hello", vfs.TypeSymlink, 0o777, "../hello.txt"); e != 0 {
		t.Fatal(e)
	}
	if _, e := fsys.Create(root, "to-b", vfs.TypeSymlink, 0o777, "a/b"); e != 0 {
		t.Fatal(e)
	}
	if err := fstest.TestFS(iofs.OfBackend(fsys),
		"hello.txt", "empty", "a/b/empty-dir", "a/b/big.bin", "a/sparse", "big-link.bin",
		"a/to-hello", "to-b"); err != nil {
		t.Fatal(err)
	}
}
