package vfs_test

import (
	"sync"
	"testing"

	"github.com/wasmrun/wasmrun/heap"
	"github.com/wasmrun/wasmrun/vfs"
)

// benchNS is a namespace with a heap root and a heap /tmp holding /tmp/a/b/c/file.
func benchNS(tb testing.TB) *vfs.Namespace {
	ns := vfs.NewNamespace(heap.New(heap.Options{}))
	if err := ns.Mount("/tmp", heap.New(heap.Options{})); err != nil {
		tb.Fatal(err)
	}
	root := ns.Root()
	for _, d := range []string{"/tmp/a", "/tmp/a/b", "/tmp/a/b/c"} {
		check(tb, "mkdir", ns.Mkdir(root, d, 0o755))
	}
	writeFile(tb, ns, "/tmp/a/b/c/file", "x")
	check(tb, "symlink", ns.Symlink("a/b", root, "/tmp/l"))
	return ns
}

// TestWalkAllocs checks that walking a short path does not allocate.
func TestWalkAllocs(t *testing.T) {
	ns := benchNS(t)
	root := ns.Root()
	dir, e := ns.Resolve(root, "/tmp/a", true)
	check(t, "resolve", e)
	for _, tt := range []struct {
		at   vfs.Node
		path string
	}{
		{root, "/tmp/a/b/c/file"},
		{root, "/tmp/../tmp/./a/b/c/file"},
		{root, "/tmp/l/c/file"},
		{dir, "b/c/file"},
		{dir, "../a/b"},
		{dir.Beneath(), "b/c/file"},
	} {
		allocs := testing.AllocsPerRun(100, func() {
			if _, e := ns.StatAt(tt.at, tt.path, true); e != 0 {
				t.Fatal(e)
			}
		})
		if allocs != 0 {
			t.Errorf("StatAt(%q): %v allocations, want 0", tt.path, allocs)
		}
	}
}

func BenchmarkStatAt(b *testing.B) {
	ns := benchNS(b)
	root := ns.Root()
	for _, p := range []string{"/tmp", "/tmp/a/b/c/file", "/tmp/l/c/file"} {
		b.Run(p, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, e := ns.StatAt(root, p, true); e != 0 {
					b.Fatal(e)
				}
			}
		})
	}
}

func BenchmarkOpenClose(b *testing.B) {
	ns := benchNS(b)
	root := ns.Root()
	b.ReportAllocs()
	for b.Loop() {
		h, e := ns.Open(root, "/tmp/a/b/c/file", vfs.ORead, 0)
		if e != 0 {
			b.Fatal(e)
		}
		h.File.Close()
	}
}

func BenchmarkReadDir(b *testing.B) {
	ns := benchNS(b)
	h, e := ns.Open(ns.Root(), "/tmp/a/b/c", vfs.ORead|vfs.ODirectory, 0)
	if e != 0 {
		b.Fatal(e)
	}
	defer h.File.Close()
	b.ReportAllocs()
	n := 0
	fn := func(*vfs.DirEntry) bool { n++; return true }
	for b.Loop() {
		if e := ns.ReadDir(h, 0, fn); e != 0 {
			b.Fatal(e)
		}
	}
}

// TestConcurrent walks, renames, opens directories and mounts from many goroutines at once; run
// it with -race.
func TestConcurrent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newFS func(t *testing.T) vfs.FS) {
		ns := newTree(t, newFS)
		root := ns.Root()
		mounts := make([]vfs.FS, 8)
		for i := range mounts {
			mounts[i] = newFS(t)
		}
		const workers, rounds = 6, 200
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				own := "/w" + itoa(w)
				if e := ns.Mkdir(root, own, 0o755); e != 0 {
					t.Error(e)
					return
				}
				for i := 0; i < rounds; i++ {
					switch i % 5 {
					case 0:
						if _, e := ns.StatAt(root, "/tmp/abs/sub/../f", true); e != 0 {
							t.Errorf("stat: %v", e)
						}
					case 1:
						h, e := ns.Open(root, own, vfs.ORead|vfs.ODirectory, 0)
						if e != 0 {
							t.Errorf("open: %v", e)
							continue
						}
						if _, e := ns.StatAt(h.Node, "../d/f", true); e != 0 {
							t.Errorf("stat ..: %v", e)
						}
						ns.ReadDir(h, 0, func(*vfs.DirEntry) bool { return true })
						h.File.Close()
					case 2:
						if e := ns.Rename(root, own, root, own+"x"); e != 0 {
							t.Errorf("rename: %v", e)
						}
						if e := ns.Rename(root, own+"x", root, own); e != 0 {
							t.Errorf("rename back: %v", e)
						}
					case 3:
						if i/5 < len(mounts) && w == 0 {
							if err := ns.Mount("/m/"+itoa(i/5), mounts[i/5]); err != nil {
								t.Errorf("mount: %v", err)
							}
						}
						ns.Mounts()
					case 4:
						if _, e := ns.StatAt(root, "/m/0/..", true); e != 0 && e != vfs.ENOENT {
							t.Errorf("stat /m/0/..: %v", e)
						}
					}
				}
			}()
		}
		wg.Wait()
	})
}
