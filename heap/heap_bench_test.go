package heap

import (
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/wasmrun/wasmrun/vfs"
)

// benchFileSize is the span sequential benchmarks cycle over: big enough to leave the CPU
// caches, small enough to set up quickly.
const benchFileSize = 64 << 20

func benchFile(b *testing.B, fill bool) (*FS, vfs.Ino, vfs.File) {
	fsys := New(Options{})
	ino, f := createFile(b, fsys, "bench")
	if fill {
		chunk := pattern(1<<20, 1)
		for off := int64(0); off < benchFileSize; off += int64(len(chunk)) {
			if _, e := f.WriteAt(chunk, off); e != 0 {
				b.Fatal(e)
			}
		}
	}
	b.Cleanup(func() { f.Close() })
	return fsys, ino, f
}

// BenchmarkWrite overwrites a 64 MiB file sequentially: the steady state of a guest rewriting
// its data, where no page is allocated.
func BenchmarkWrite(b *testing.B) {
	for _, size := range []int{4 << 10, 1 << 20} {
		b.Run(sizeName(size), func(b *testing.B) {
			_, _, f := benchFile(b, true)
			p := pattern(size, 2)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			var off int64
			for b.Loop() {
				if _, e := f.WriteAt(p, off); e != 0 {
					b.Fatal(e)
				}
				if off += int64(size); off >= benchFileSize {
					off = 0
				}
			}
		})
	}
}

// BenchmarkWriteGrow appends to a file that is truncated to zero every 64 MiB: every write
// stores new pages, taken from the pool after the first cycle.
func BenchmarkWriteGrow(b *testing.B) {
	for _, size := range []int{4 << 10, 1 << 20} {
		b.Run(sizeName(size), func(b *testing.B) {
			fsys, ino, f := benchFile(b, false)
			p := pattern(size, 3)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			var off int64
			for b.Loop() {
				if _, e := f.WriteAt(p, off); e != 0 {
					b.Fatal(e)
				}
				if off += int64(size); off >= benchFileSize {
					off = 0
					fsys.SetAttr(ino, &vfs.Attr{Valid: vfs.AttrSize})
				}
			}
		})
	}
}

// BenchmarkRead reads a 64 MiB file sequentially.
func BenchmarkRead(b *testing.B) {
	for _, size := range []int{4 << 10, 1 << 20} {
		b.Run(sizeName(size), func(b *testing.B) {
			_, _, f := benchFile(b, true)
			p := make([]byte, size)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			var off int64
			for b.Loop() {
				if _, e := f.ReadAt(p, off); e != 0 {
					b.Fatal(e)
				}
				if off += int64(size); off >= benchFileSize {
					off = 0
				}
			}
		})
	}
}

// BenchmarkRandomRead reads 4 KiB at random offsets of a 64 MiB file, 4 KiB-aligned or not
// (an unaligned read touches two pages).
func BenchmarkRandomRead(b *testing.B) {
	for _, aligned := range []bool{true, false} {
		name := "4KiB-unaligned"
		if aligned {
			name = "4KiB-aligned"
		}
		b.Run(name, func(b *testing.B) {
			_, _, f := benchFile(b, true)
			p := make([]byte, 4<<10)
			r := rand.New(rand.NewPCG(1, 2))
			b.SetBytes(int64(len(p)))
			b.ReportAllocs()
			for b.Loop() {
				off := r.Int64N(benchFileSize - int64(len(p)))
				if aligned {
					off &^= 4<<10 - 1
				}
				if _, e := f.ReadAt(p, off); e != 0 {
					b.Fatal(e)
				}
			}
		})
	}
}

// BenchmarkCreateStatRemove creates a small file, writes 100 bytes, stats and removes it, in a
// directory of 1000 other files.
func BenchmarkCreateStatRemove(b *testing.B) {
	fsys := New(Options{})
	root := fsys.Root()
	for i := range 1000 {
		if _, e := fsys.Create(root, "other"+strconv.Itoa(i), vfs.TypeRegular, 0o644, ""); e != 0 {
			b.Fatal(e)
		}
	}
	data := pattern(100, 4)
	b.ReportAllocs()
	for b.Loop() {
		ino, e := fsys.Create(root, "small.txt", vfs.TypeRegular, 0o644, "")
		if e != 0 {
			b.Fatal(e)
		}
		f, e := fsys.Open(ino, vfs.OpenWrite)
		if e != 0 {
			b.Fatal(e)
		}
		if _, e := f.WriteAt(data, 0); e != 0 {
			b.Fatal(e)
		}
		f.Close()
		if _, e := fsys.Stat(ino); e != 0 {
			b.Fatal(e)
		}
		if e := fsys.Remove(root, "small.txt", false); e != 0 {
			b.Fatal(e)
		}
	}
}

// BenchmarkLookup looks a name up in a directory of 10000 entries.
func BenchmarkLookup(b *testing.B) {
	fsys := New(Options{})
	root := fsys.Root()
	for i := range 10000 {
		if _, e := fsys.Create(root, "file"+strconv.Itoa(i), vfs.TypeRegular, 0o644, ""); e != 0 {
			b.Fatal(e)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, e := fsys.Lookup(root, "file4242"); e != 0 {
			b.Fatal(e)
		}
	}
}

// BenchmarkReadDir lists a directory of 1000 entries.
func BenchmarkReadDir(b *testing.B) {
	fsys := New(Options{})
	root := fsys.Root()
	for i := range 1000 {
		if _, e := fsys.Create(root, "file"+strconv.Itoa(i), vfs.TypeRegular, 0o644, ""); e != 0 {
			b.Fatal(e)
		}
	}
	d, _ := fsys.Open(root, vfs.OpenRead)
	defer d.Close()
	count := 0
	fn := func(*vfs.DirEntry) bool { count++; return true }
	b.ReportAllocs()
	for b.Loop() {
		if e := d.ReadDir(0, fn); e != 0 {
			b.Fatal(e)
		}
	}
}

func sizeName(n int) string {
	if n >= 1<<20 {
		return strconv.Itoa(n>>20) + "MiB"
	}
	return strconv.Itoa(n>>10) + "KiB"
}
