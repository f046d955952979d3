package stable_test

import (
	"path/filepath"
	"strconv"
	"testing"

	"github.com/wasmrun/wasmrun/stable"
	"github.com/wasmrun/wasmrun/vfs"
)

// BenchmarkDurable runs the durable phases of the benchmark suite on a store with real
// fdatasync (default options, in the test's temporary directory): an append of 100 bytes then
// an fsync, per op; and a 64 MiB file written in 4 KiB or 1 MiB calls then fsynced once, per
// op (its removal is committed outside the timer).
func BenchmarkDurable(b *testing.B) {
	open := func(b *testing.B) *stable.FS {
		f, err := stable.Open(filepath.Join(b.TempDir(), "durable.store"), stable.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { f.Close() })
		return f
	}
	b.Run("appendFsync", func(b *testing.B) {
		f := open(b)
		ino, _ := f.Create(f.Root(), "log", vfs.TypeRegular, 0o644, "")
		h, _ := f.Open(ino, vfs.OpenWrite)
		defer h.Close()
		rec := make([]byte, 100)
		var off int64
		for b.Loop() {
			if _, e := h.WriteAt(rec, off); e != vfs.ESUCCESS {
				b.Fatal(e)
			}
			off += int64(len(rec))
			if e := h.Sync(false); e != vfs.ESUCCESS {
				b.Fatal(e)
			}
		}
	})
	const size = 64 << 20
	for _, chunk := range []int{4 << 10, 1 << 20} {
		b.Run("seqWrite"+chunkName(chunk)+"Fsync", func(b *testing.B) {
			f := open(b)
			buf := make([]byte, chunk)
			for i := range buf {
				buf[i] = byte(i*7 + 1)
			}
			b.SetBytes(size)
			for i := 0; b.Loop(); i++ {
				name := "f" + strconv.Itoa(i)
				ino, e := f.Create(f.Root(), name, vfs.TypeRegular, 0o644, "")
				if e != vfs.ESUCCESS {
					b.Fatal(e)
				}
				h, _ := f.Open(ino, vfs.OpenWrite)
				for off := 0; off < size; off += chunk {
					if _, e := h.WriteAt(buf, int64(off)); e != vfs.ESUCCESS {
						b.Fatal(e)
					}
				}
				if e := h.Sync(false); e != vfs.ESUCCESS {
					b.Fatal(e)
				}
				h.Close()
				b.StopTimer()
				f.Remove(f.Root(), name, false)
				commit(b, f)
				b.StartTimer()
			}
		})
	}
}
