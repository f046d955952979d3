package stable

import (
	"bytes"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wasmrun/wasmrun/vfs"
)

// heapPeak samples the Go heap in use until stop is called, which returns the peak.
func heapPeak() (stop func() uint64) {
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	return func() uint64 {
		close(done)
		wg.Wait()
		return peak.Load()
	}
}

// TestSparseFile makes a 20 GB file with three pieces of data and checks that it costs three
// pieces of store and memory, not 20 GB, across a reopen.
func TestSparseFile(t *testing.T) {
	const size = 20 << 30
	path := filepath.Join(t.TempDir(), "sparse.store")
	f := openT(t, path, Options{NoSync: true, CacheBytes: 8 << 20})
	runtime.GC()
	stop := heapPeak()
	ino := writeFileT(t, f, "/sparse", nil)
	h, _ := f.Open(ino, vfs.OpenRead|vfs.OpenWrite)
	piece := bytes.Repeat([]byte("sparse!"), 150000) // about 1 MiB
	offs := []int64{0, 10 << 30, size - int64(len(piece))}
	for _, off := range offs {
		if _, e := h.WriteAt(piece, off); e != vfs.ESUCCESS {
			t.Fatal(e)
		}
	}
	check := func(f *FS, h vfs.File) {
		t.Helper()
		st, _ := f.Stat(ino)
		if st.Size != size {
			t.Fatalf("size %d, want %d", st.Size, int64(size))
		}
		buf := make([]byte, len(piece))
		for _, off := range offs {
			if n, e := h.ReadAt(buf, off); e != vfs.ESUCCESS || !bytes.Equal(buf[:n], piece) {
				t.Fatalf("piece at %d: %d, %v", off, n, e)
			}
		}
		// 64 MiB of the hole, in big and small reads, reads as zeros.
		hole := make([]byte, 4<<20)
		for off := int64(5 << 30); off < 5<<30+64<<20; off += int64(len(hole)) {
			if n, e := h.ReadAt(hole, off); e != vfs.ESUCCESS || n != len(hole) || !isZero(hole) {
				t.Fatalf("hole at %d: %d, %v", off, n, e)
			}
		}
		for off := int64(15 << 30); off < 15<<30+1<<20; off += 4096 {
			if n, e := h.ReadAt(hole[:4096], off); e != vfs.ESUCCESS || n != 4096 || !isZero(hole[:4096]) {
				t.Fatalf("hole at %d: %d, %v", off, n, e)
			}
		}
	}
	check(f, h)
	h.Close()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	f = openT(t, path, Options{NoSync: true, CacheBytes: 8 << 20})
	defer closeChecked(t, f)
	h, _ = f.Open(ino, vfs.OpenRead)
	defer h.Close()
	check(f, h)
	peak := stop()
	r := checkFsck(t, f)
	maxPages := int64(3 * (len(piece)/int(f.ps) + 2))
	if r.Pages > maxPages {
		t.Errorf("%d pages stored for three pieces of 1 MiB, want at most %d", r.Pages, maxPages)
	}
	t.Logf("20 GB sparse file: %d pages stored, heap peak %d MiB", r.Pages, peak>>20)
	if peak > 256<<20 {
		t.Errorf("heap peaked at %d MiB", peak>>20)
	}
}

// TestDenseFile writes a 2 GB file (512 MiB with -short or -race) through a 32 MiB cache and reads it
// back, and checks that the heap stays bounded by a small multiple of the cache size (pages,
// bbolt's transaction, garbage not yet collected), not by the file size.
func TestDenseFile(t *testing.T) {
	size := int64(2 << 30)
	if testing.Short() || raceEnabled {
		size = 512 << 20
	}
	const cache = 32 << 20
	path := filepath.Join(t.TempDir(), "dense.store")
	f := openT(t, path, Options{NoSync: true, CacheBytes: cache})
	defer closeChecked(t, f)
	runtime.GC()
	stop := heapPeak()
	ino := writeFileT(t, f, "/dense", nil)
	h, _ := f.Open(ino, vfs.OpenRead|vfs.OpenWrite)
	defer h.Close()
	buf := make([]byte, 1<<20)
	// fill makes the content at off: every 4 KiB differs.
	fill := func(b []byte, off int64) {
		for i := 0; i < len(b); i += 4096 {
			b[i] = byte(off>>20) + byte((off+int64(i))>>12)
			b[i+1] = byte(off >> 28)
			b[i+4095] = 1 // no trailing zeros: every page is stored whole
		}
	}
	start := time.Now()
	for off := int64(0); off < size; off += int64(len(buf)) {
		fill(buf, off)
		if _, e := h.WriteAt(buf, off); e != vfs.ESUCCESS {
			t.Fatal(e)
		}
	}
	must(t, f.Commit(), "commit")
	wrote := time.Since(start)
	start = time.Now()
	want := make([]byte, 64<<10)
	for off := int64(0); off < size; off += 64 << 10 {
		n, e := h.ReadAt(buf[:64<<10], off)
		if e != vfs.ESUCCESS || n != 64<<10 {
			t.Fatalf("read at %d: %d, %v", off, n, e)
		}
		fill(want, off)
		if !bytes.Equal(buf[:n], want) {
			t.Fatalf("read at %d differs from what was written", off)
		}
	}
	read := time.Since(start)
	peak := stop()
	t.Logf("%d MiB: written in %v, read in %v; heap peak %d MiB with a %d MiB cache", size>>20, wrote, read, peak>>20, cache>>20)
	if peak > 8*cache {
		t.Errorf("heap peaked at %d MiB for a %d MiB cache", peak>>20, cache>>20)
	}
}
