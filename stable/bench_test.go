package stable_test

import (
	"fmt"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/wasmrun/wasmrun/heap"
	"github.com/wasmrun/wasmrun/stable"
	"github.com/wasmrun/wasmrun/vfs"
)

// The benchmarks run the same workload on heap (the baseline) and on stable, so that
//
//	go test ./stable -run '^$' -bench . -benchtime 3x
//
// prints the two side by side. Stable runs with Options.NoSync in the buffered I/O and
// metadata benchmarks (no fdatasync: what is measured is the cache and the store, not the
// disk) and with real fdatasync in BenchmarkSync. Commits that the cache's size forces happen
// inside the timed loop and are part of the result.

const bigFile = 256 << 20

type backend struct {
	name string
	new  func(b *testing.B) vfs.FS
}

var backends = []backend{
	{"heap", func(b *testing.B) vfs.FS { return heap.New(heap.Options{}) }},
	{"stable", func(b *testing.B) vfs.FS {
		f, err := stable.Open(filepath.Join(b.TempDir(), "bench.store"), stable.Options{NoSync: true})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { f.Close() })
		return f
	}},
}

func commit(b *testing.B, f vfs.FS) {
	if c, ok := f.(vfs.Committer); ok {
		if e := c.Commit(); e != vfs.ESUCCESS {
			b.Fatal(e)
		}
	}
}

func chunkName(n int) string {
	if n >= 1<<20 {
		return strconv.Itoa(n>>20) + "MiB"
	}
	return strconv.Itoa(n>>10) + "KiB"
}

// BenchmarkSeqWrite writes a 256 MiB file sequentially, 4 KiB or 1 MiB per call.
func BenchmarkSeqWrite(b *testing.B) {
	for _, chunk := range []int{4 << 10, 1 << 20} {
		for _, be := range backends {
			b.Run(chunkName(chunk)+"/"+be.name, func(b *testing.B) {
				f := be.new(b)
				buf := make([]byte, chunk)
				for i := range buf {
					buf[i] = byte(i*7 + 1)
				}
				b.SetBytes(bigFile)
				b.ReportAllocs()
				for i := 0; b.Loop(); i++ {
					name := "f" + strconv.Itoa(i)
					ino, e := f.Create(f.Root(), name, vfs.TypeRegular, 0o644, "")
					if e != vfs.ESUCCESS {
						b.Fatal(e)
					}
					h, _ := f.Open(ino, vfs.OpenWrite)
					for off := 0; off < bigFile; off += chunk {
						if _, e := h.WriteAt(buf, int64(off)); e != vfs.ESUCCESS {
							b.Fatal(e)
						}
					}
					h.Close()
					b.StopTimer()
					f.Remove(f.Root(), name, false)
					commit(b, f)
					b.StartTimer()
				}
				if s, ok := f.(*stable.FS); ok {
					st := s.Stats()
					b.ReportMetric(float64(st.CommitTime.Milliseconds())/float64(b.N), "commit-ms/op")
				}
			})
		}
	}
}

// BenchmarkSeqRead reads a 256 MiB file (written and committed before the timer starts)
// sequentially, 4 KiB or 1 MiB per call.
func BenchmarkSeqRead(b *testing.B) {
	for _, chunk := range []int{4 << 10, 1 << 20} {
		for _, be := range backends {
			b.Run(chunkName(chunk)+"/"+be.name, func(b *testing.B) {
				f := be.new(b)
				buf := make([]byte, 1<<20)
				for i := range buf {
					buf[i] = byte(i*7 + 1)
				}
				ino, _ := f.Create(f.Root(), "f", vfs.TypeRegular, 0o644, "")
				h, _ := f.Open(ino, vfs.OpenRead|vfs.OpenWrite)
				defer h.Close()
				for off := 0; off < bigFile; off += len(buf) {
					h.WriteAt(buf, int64(off))
				}
				commit(b, f)
				buf = buf[:chunk]
				b.SetBytes(bigFile)
				b.ReportAllocs()
				for b.Loop() {
					for off := 0; off < bigFile; off += chunk {
						if n, e := h.ReadAt(buf, int64(off)); e != vfs.ESUCCESS || n != chunk {
							b.Fatal(n, e)
						}
					}
				}
			})
		}
	}
}

// BenchmarkSmallFiles creates 10,000 small files (100 bytes each) in a directory, stats each
// one (Lookup and Stat) and deletes them.
func BenchmarkSmallFiles(b *testing.B) {
	const files = 10000
	names := make([]string, files)
	for i := range names {
		names[i] = fmt.Sprintf("file-%05d.txt", i)
	}
	data := make([]byte, 100)
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			f := be.new(b)
			b.ReportAllocs()
			for b.Loop() {
				dir, e := f.Create(f.Root(), "d", vfs.TypeDir, 0o755, "")
				if e != vfs.ESUCCESS {
					b.Fatal(e)
				}
				for _, name := range names {
					ino, e := f.Create(dir, name, vfs.TypeRegular, 0o644, "")
					if e != vfs.ESUCCESS {
						b.Fatal(e)
					}
					h, _ := f.Open(ino, vfs.OpenWrite)
					h.WriteAt(data, 0)
					h.Close()
				}
				for _, name := range names {
					ino, _, e := f.Lookup(dir, name)
					if e != vfs.ESUCCESS {
						b.Fatal(e)
					}
					if _, e := f.Stat(ino); e != vfs.ESUCCESS {
						b.Fatal(e)
					}
				}
				for _, name := range names {
					if e := f.Remove(dir, name, false); e != vfs.ESUCCESS {
						b.Fatal(e)
					}
				}
				if e := f.Remove(f.Root(), "d", true); e != vfs.ESUCCESS {
					b.Fatal(e)
				}
			}
		})
	}
}

// BenchmarkSync measures File.Sync on stable with real fdatasync: with one dirty page (one
// commit each) and with nothing dirty (no commit: nothing is written).
func BenchmarkSync(b *testing.B) {
	for _, dirty := range []bool{true, false} {
		name := "clean"
		if dirty {
			name = "onePage"
		}
		b.Run(name, func(b *testing.B) {
			f, err := stable.Open(filepath.Join(b.TempDir(), "sync.store"), stable.Options{CommitInterval: -1})
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			ino, _ := f.Create(f.Root(), "f", vfs.TypeRegular, 0o644, "")
			h, _ := f.Open(ino, vfs.OpenWrite)
			defer h.Close()
			h.WriteAt(make([]byte, 1<<20), 0)
			h.Sync(false)
			before := f.Stats().Commits
			p := []byte("x")
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if dirty {
					h.WriteAt(p, int64(i%(1<<20)))
				}
				if e := h.Sync(true); e != vfs.ESUCCESS {
					b.Fatal(e)
				}
			}
			commits := f.Stats().Commits - before
			b.ReportMetric(float64(commits)/float64(b.N), "commits/op")
		})
	}
}
