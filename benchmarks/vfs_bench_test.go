package benchmarks

import (
	"fmt"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/wasmrun/wasmrun/heap"
	"github.com/wasmrun/wasmrun/stable"
	"github.com/wasmrun/wasmrun/vfs"
)

// backend makes a fresh filesystem for one benchmark.
type backend struct {
	name string
	open func(tb testing.TB) vfs.FS
}

var backends = []backend{
	{"heap", func(tb testing.TB) vfs.FS { return heap.New(heap.Options{}) }},
	{"stable", func(tb testing.TB) vfs.FS {
		fsys, err := stable.Open(filepath.Join(tb.TempDir(), "bench.store"), stable.Options{})
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { fsys.Close() })
		return fsys
	}},
}

// forEach runs fn as a sub-benchmark per backend, with a Namespace over a fresh filesystem.
func forEach(b *testing.B, fn func(b *testing.B, ns *vfs.Namespace)) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			ns := vfs.NewNamespace(be.open(b))
			b.ReportAllocs()
			fn(b, ns)
		})
	}
}

func open(tb testing.TB, ns *vfs.Namespace, path string, flags vfs.OFlag) *vfs.Handle {
	tb.Helper()
	h, e := ns.Open(ns.Root(), path, flags, 0o644)
	if e != vfs.ESUCCESS {
		tb.Fatalf("open %s: %v", path, e)
	}
	return h
}

func filled(n int, c byte) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = c
	}
	return p
}

// fileBytes is the size of the file the sequential and random benchmarks work in: offsets wrap
// around it, so a long run rewrites the same pages instead of growing the store without bound.
const fileBytes = 64 << 20

var chunks = []struct {
	name string
	size int
}{{"4KiB", 4 << 10}, {"1MiB", 1 << 20}}

// BenchmarkSeqWrite writes a 64 MiB file front to back, again and again, in 4 KiB or 1 MiB chunks.
func BenchmarkSeqWrite(b *testing.B) {
	for _, c := range chunks {
		b.Run(c.name, func(b *testing.B) {
			forEach(b, func(b *testing.B, ns *vfs.Namespace) {
				h := open(b, ns, "seq", vfs.OWrite|vfs.OCreate)
				defer h.File.Close()
				buf := filled(c.size, 0xa5)
				b.SetBytes(int64(c.size))
				var off int64
				for b.Loop() {
					if _, e := h.File.WriteAt(buf, off); e != vfs.ESUCCESS {
						b.Fatal(e)
					}
					if off += int64(c.size); off >= fileBytes {
						off = 0
					}
				}
			})
		})
	}
}

// BenchmarkSeqWriteNew writes a new 64 MiB file in 1 MiB chunks and removes it: one op is the
// whole file, as in the suite's seq_write_1m phase, so every page is stored anew (from the
// backend's free pages, or from memory it has to get).
func BenchmarkSeqWriteNew(b *testing.B) {
	forEach(b, func(b *testing.B, ns *vfs.Namespace) {
		buf := filled(1<<20, 0xa5)
		b.SetBytes(fileBytes)
		for b.Loop() {
			h := open(b, ns, "new", vfs.OWrite|vfs.OCreate|vfs.OTrunc)
			for off := int64(0); off < fileBytes; off += int64(len(buf)) {
				if _, e := h.File.WriteAt(buf, off); e != vfs.ESUCCESS {
					b.Fatal(e)
				}
			}
			h.File.Close()
			if e := ns.Remove(ns.Root(), "new", false); e != vfs.ESUCCESS {
				b.Fatal(e)
			}
		}
	})
}

// BenchmarkSeqRead reads a 64 MiB file front to back, again and again.
func BenchmarkSeqRead(b *testing.B) {
	for _, c := range chunks {
		b.Run(c.name, func(b *testing.B) {
			forEach(b, func(b *testing.B, ns *vfs.Namespace) {
				h := prefill(b, ns, "seq", fileBytes)
				defer h.File.Close()
				buf := make([]byte, c.size)
				b.SetBytes(int64(c.size))
				var off int64
				for b.Loop() {
					if n, e := h.File.ReadAt(buf, off); e != vfs.ESUCCESS || n != c.size {
						b.Fatal(n, e)
					}
					if off += int64(c.size); off >= fileBytes {
						off = 0
					}
				}
			})
		})
	}
}

// prefill writes a file of size bytes and commits it, so reads come from the store, not from
// dirty pages.
func prefill(b *testing.B, ns *vfs.Namespace, path string, size int64) *vfs.Handle {
	h := open(b, ns, path, vfs.ORead|vfs.OWrite|vfs.OCreate)
	buf := filled(1<<20, 0x5a)
	for off := int64(0); off < size; off += int64(len(buf)) {
		if _, e := h.File.WriteAt(buf, off); e != vfs.ESUCCESS {
			b.Fatal(e)
		}
	}
	if err := ns.Commit(); err != nil {
		b.Fatal(err)
	}
	return h
}

// lcg is the workloads' generator (bench.py, gobench).
func lcg(x uint64) uint64 { return x*6364136223846793005 + 1442695040888963407 }

// randomIO reads or writes 4 KiB per op at random aligned offsets below size, with the
// workloads' generator.
func randomIO(b *testing.B, f vfs.File, size int64, write bool) {
	buf := filled(4096, 0xc3)
	b.SetBytes(4096)
	x := uint64(1)
	for b.Loop() {
		x = lcg(x)
		off := int64((x>>33)%uint64(size/4096)) * 4096
		var e vfs.Errno
		if write {
			_, e = f.WriteAt(buf, off)
		} else {
			_, e = f.ReadAt(buf, off)
		}
		if e != vfs.ESUCCESS {
			b.Fatal(e)
		}
	}
}

// BenchmarkRandom reads or writes 4 KiB at random aligned offsets of a 64 MiB file.
func BenchmarkRandom(b *testing.B) {
	for _, write := range []bool{false, true} {
		name := "Read4KiB"
		if write {
			name = "Write4KiB"
		}
		b.Run(name, func(b *testing.B) {
			forEach(b, func(b *testing.B, ns *vfs.Namespace) {
				h := prefill(b, ns, "random", fileBytes)
				defer h.File.Close()
				randomIO(b, h.File, fileBytes, write)
			})
		})
	}
}

// BenchmarkSmallFile creates a 1 KiB file, stats it and deletes it: one op is all three.
func BenchmarkSmallFile(b *testing.B) {
	forEach(b, func(b *testing.B, ns *vfs.Namespace) {
		data := filled(1024, 's')
		if e := ns.Mkdir(ns.Root(), "d", 0o755); e != vfs.ESUCCESS {
			b.Fatal(e)
		}
		names := make([]string, 1024)
		for i := range names {
			names[i] = fmt.Sprintf("d/f%06d", i)
		}
		i := 0
		for b.Loop() {
			name := names[i%len(names)]
			i++
			h := open(b, ns, name, vfs.OWrite|vfs.OCreate|vfs.OExcl)
			if _, e := h.File.WriteAt(data, 0); e != vfs.ESUCCESS {
				b.Fatal(e)
			}
			h.File.Close()
			if st, e := ns.StatAt(ns.Root(), name, true); e != vfs.ESUCCESS || st.Size != 1024 {
				b.Fatal(st.Size, e)
			}
			if e := ns.Remove(ns.Root(), name, false); e != vfs.ESUCCESS {
				b.Fatal(e)
			}
		}
	})
}

// BenchmarkStat stats one of 1,000 files: the lookup path alone.
func BenchmarkStat(b *testing.B) {
	forEach(b, func(b *testing.B, ns *vfs.Namespace) {
		names := makeDir(b, ns, "d", 1000)
		i := 0
		for b.Loop() {
			if _, e := ns.StatAt(ns.Root(), names[i%len(names)], true); e != vfs.ESUCCESS {
				b.Fatal(e)
			}
			i++
		}
	})
}

func makeDir(b *testing.B, ns *vfs.Namespace, dir string, n int) []string {
	if e := ns.Mkdir(ns.Root(), dir, 0o755); e != vfs.ESUCCESS {
		b.Fatal(e)
	}
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("%s/f%06d", dir, i)
		h := open(b, ns, names[i], vfs.OWrite|vfs.OCreate|vfs.OExcl)
		h.File.Close()
	}
	if err := ns.Commit(); err != nil {
		b.Fatal(err)
	}
	return names
}

// BenchmarkReadDir lists a directory of 1,000 files (and "." and ".."): one op is the listing.
func BenchmarkReadDir(b *testing.B) {
	forEach(b, func(b *testing.B, ns *vfs.Namespace) {
		makeDir(b, ns, "d", 1000)
		h := open(b, ns, "d", vfs.ORead|vfs.ODirectory)
		defer h.File.Close()
		n := 0
		count := func(e *vfs.DirEntry) bool { n++; return true }
		for b.Loop() {
			n = 0
			if e := ns.ReadDir(h, 0, count); e != vfs.ESUCCESS {
				b.Fatal(e)
			}
			if n != 1002 {
				b.Fatalf("listed %d entries, want 1002", n)
			}
		}
	})
}

// BenchmarkRename writes 256 bytes to a temporary file and renames it over the target, as
// programs replace a file atomically.
func BenchmarkRename(b *testing.B) {
	forEach(b, func(b *testing.B, ns *vfs.Namespace) {
		data := filled(256, 'r')
		for b.Loop() {
			h := open(b, ns, "state.tmp", vfs.OWrite|vfs.OCreate|vfs.OTrunc)
			if _, e := h.File.WriteAt(data, 0); e != vfs.ESUCCESS {
				b.Fatal(e)
			}
			h.File.Close()
			if e := ns.Rename(ns.Root(), "state.tmp", ns.Root(), "state"); e != vfs.ESUCCESS {
				b.Fatal(e)
			}
		}
	})
}

// bigFileBytes is the size of the file of BenchmarkRandomBig: the workloads' random_read and
// random_write phases work in a 256 MiB file, as big as stable's default cache, so that most of
// it is not cached when they start.
const bigFileBytes = 256 << 20

// BenchmarkRandomBig reads or writes 4 KiB at random aligned offsets of a 256 MiB file written
// (and committed) just before, as the workloads' random_read and random_write phases do.
func BenchmarkRandomBig(b *testing.B) {
	for _, write := range []bool{false, true} {
		name := "Read4KiB"
		if write {
			name = "Write4KiB"
		}
		b.Run(name, func(b *testing.B) {
			forEach(b, func(b *testing.B, ns *vfs.Namespace) {
				h := prefill(b, ns, "big", bigFileBytes)
				defer h.File.Close()
				randomIO(b, h.File, bigFileBytes, write)
			})
		})
	}
}

// BenchmarkCreateRemove creates an empty file in a directory and removes the one created 1,000
// operations before: one op is a create and a remove, in a directory of about 1,000 entries.
func BenchmarkCreateRemove(b *testing.B) {
	forEach(b, func(b *testing.B, ns *vfs.Namespace) {
		if e := ns.Mkdir(ns.Root(), "d", 0o755); e != vfs.ESUCCESS {
			b.Fatal(e)
		}
		const window = 1000
		name := func(i int) string { return "d/f" + strconv.Itoa(i) }
		i := 0
		for b.Loop() {
			h := open(b, ns, name(i), vfs.OWrite|vfs.OCreate|vfs.OExcl)
			h.File.Close()
			if i >= window {
				if e := ns.Remove(ns.Root(), name(i-window), false); e != vfs.ESUCCESS {
					b.Fatal(e)
				}
			}
			i++
		}
	})
}
