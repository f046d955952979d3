package vfstest

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/wasmrun/wasmrun/vfs"
)

// sizes are byte counts that straddle every likely page size (512 B to 64 KiB) without
// assuming one.
var sizes = []int64{1, 4095, 4096, 4097, 65537, 1<<20 + 3}

func (k *kit) testRoot(t *testing.T) {
	k.sub(t, "Stat", func(t *testing.T, h *harness) {
		root := h.fs.Root()
		if root == 0 {
			t.Fatal("Root() = 0; Ino 0 is never valid")
		}
		st := h.stat(root, "/")
		if st.Type != vfs.TypeDir {
			t.Errorf("Stat(/).Type = %s, want dir", st.Type)
		}
		if st.Nlink != 2 {
			t.Errorf("Stat(/).Nlink = %d, want 2 in an empty filesystem", st.Nlink)
		}
		if st.Dev != 0 {
			t.Errorf("Stat(/).Dev = %d, want 0 (the Namespace fills it in)", st.Dev)
		}
		if es := h.list(root, "/"); len(es) != 0 {
			t.Errorf("ReadDir(/) of a new filesystem = %v, want no entries", names(es))
		}
		if r2 := h.fs.Root(); r2 != root {
			t.Errorf("Root() = %d then %d; it must not change", root, r2)
		}
	})
	k.sub(t, "LookupMissing", func(t *testing.T, h *harness) {
		_, _, e := h.fs.Lookup(h.fs.Root(), "missing")
		h.want(e, vfs.ENOENT, "Lookup(/, missing)")
	})
}

func (k *kit) testIO(t *testing.T) {
	k.sub(t, "WriteRead", func(t *testing.T, h *harness) {
		ino := h.mkfile("/f")
		f := h.open(ino, "/f", vfs.OpenRead|vfs.OpenWrite)
		defer h.close(f, "/f")
		h.writeAt(f, "/f", []byte("hello world"), 0)
		for _, c := range []struct {
			off  int64
			n    int
			want string
		}{
			{0, 11, "hello world"},
			{0, 5, "hello"},
			{6, 5, "world"},
			{2, 2, "ll"},
			{0, 100, "hello world"}, // short read at EOF
			{6, 100, "world"},
			{10, 1, "d"},
			{10, 2, "d"},
			{11, 1, ""}, // at EOF: (0, ESUCCESS)
			{11, 0, ""},
			{12, 10, ""}, // past EOF
			{1 << 40, 10, ""},
			{0, 0, ""},
		} {
			h.readAt(f, "/f", c.off, c.n, []byte(c.want))
		}
		if st := h.stat(ino, "/f"); st.Size != 11 || st.Type != vfs.TypeRegular || st.Nlink != 1 {
			t.Errorf("Stat(/f) = size %d type %s nlink %d, want size 11 type file nlink 1", st.Size, st.Type, st.Nlink)
		}
	})
	k.sub(t, "Pwrite", func(t *testing.T, h *harness) {
		ino := h.mkfile("/f")
		f := h.open(ino, "/f", vfs.OpenRead|vfs.OpenWrite)
		defer h.close(f, "/f")
		h.writeAt(f, "/f", []byte("hello world"), 0)
		h.writeAt(f, "/f", []byte("XY"), 3)
		h.writeAt(f, "/f", []byte("Z"), 10)
		h.writeAt(f, "/f", []byte("!?"), 11) // at EOF: extends
		h.checkContent(ino, "/f", []byte("helXY worlZ!?"))
	})
	k.sub(t, "ZeroLengthWrite", func(t *testing.T, h *harness) {
		// POSIX: a write of 0 bytes to a regular file has no other results; it does not extend.
		ino := h.mkfile("/f")
		f := h.open(ino, "/f", vfs.OpenWrite)
		defer h.close(f, "/f")
		n, e := f.WriteAt(nil, 100)
		if n != 0 || e != vfs.ESUCCESS {
			t.Errorf("WriteAt(/f, len=0, off=100) = (%d, %s), want (0, ESUCCESS)", n, e.Name())
		}
		if st := h.stat(ino, "/f"); st.Size != 0 {
			t.Errorf("Stat(/f).Size = %d after a zero-length write at 100, want 0", st.Size)
		}
	})
	k.sub(t, "TwoHandles", func(t *testing.T, h *harness) {
		ino := h.mkfile("/f")
		w := h.open(ino, "/f", vfs.OpenWrite)
		defer h.close(w, "/f")
		r := h.open(ino, "/f", vfs.OpenRead)
		defer h.close(r, "/f")
		h.writeAt(w, "/f", []byte("abc"), 0)
		h.readAt(r, "/f", 0, 10, []byte("abc"))
		h.writeAt(w, "/f", []byte("d"), 3)
		h.readAt(r, "/f", 0, 10, []byte("abcd"))
	})
	k.sub(t, "Handles", func(t *testing.T, h *harness) {
		ino := h.writeFile("/f", []byte("data"))
		ro := h.open(ino, "/f", vfs.OpenRead)
		n, e := ro.WriteAt([]byte("x"), 0)
		if e != vfs.EBADF {
			t.Errorf("WriteAt(/f opened Read) = (%d, %s), want EBADF", n, e.Name())
		}
		n, _, e = ro.Append([]byte("x"))
		if e != vfs.EBADF {
			t.Errorf("Append(/f opened Read) = (%d, %s), want EBADF", n, e.Name())
		}
		h.want(ro.ReadDir(0, func(*vfs.DirEntry) bool { return true }), vfs.ENOTDIR, "ReadDir(/f)")
		h.want(ro.Sync(false), vfs.ESUCCESS, "Sync(/f, data+meta)")
		h.want(ro.Sync(true), vfs.ESUCCESS, "Sync(/f, data only)")
		h.want(ro.Close(), vfs.ESUCCESS, "Close(/f)")
		h.want(ro.Close(), vfs.EBADF, "second Close(/f)")

		wo := h.open(ino, "/f", vfs.OpenWrite)
		n, e = wo.ReadAt(make([]byte, 4), 0)
		if e != vfs.EBADF {
			t.Errorf("ReadAt(/f opened Write) = (%d, %s), want EBADF", n, e.Name())
		}
		h.want(wo.Close(), vfs.ESUCCESS, "Close(/f)")
		h.checkContent(ino, "/f", []byte("data"))
	})
	k.sub(t, "BadOffsets", func(t *testing.T, h *harness) {
		ino := h.writeFile("/f", []byte("data"))
		f := h.open(ino, "/f", vfs.OpenRead|vfs.OpenWrite)
		defer h.close(f, "/f")
		n, e := f.ReadAt(make([]byte, 1), -1)
		if e != vfs.EINVAL {
			t.Errorf("ReadAt(/f, off=-1) = (%d, %s), want EINVAL", n, e.Name())
		}
		n, e = f.WriteAt([]byte("x"), -1)
		if e != vfs.EINVAL {
			t.Errorf("WriteAt(/f, off=-1) = (%d, %s), want EINVAL", n, e.Name())
		}
		// The end would pass the largest int64 offset: too big for any file (Linux says
		// EINVAL for an end that overflows, POSIX EFBIG for one beyond the maximum size).
		n, e = f.WriteAt([]byte("0123456789"), math.MaxInt64-5)
		if e != vfs.EFBIG && e != vfs.EINVAL {
			t.Errorf("WriteAt(/f, len=10, off=MaxInt64-5) = (%d, %s), want EFBIG or EINVAL", n, e.Name())
		}
		h.checkContent(ino, "/f", []byte("data"))
	})
	k.sub(t, "Directory", func(t *testing.T, h *harness) {
		ino := h.mkdir("/d")
		f := h.open(ino, "/d", vfs.OpenRead)
		defer h.close(f, "/d")
		n, e := f.ReadAt(make([]byte, 10), 0)
		if e != vfs.EISDIR {
			t.Errorf("ReadAt(/d) = (%d, %s), want EISDIR", n, e.Name())
		}
		n, e = f.WriteAt([]byte("x"), 0)
		if e != vfs.EISDIR && e != vfs.EBADF {
			t.Errorf("WriteAt(/d opened Read) = (%d, %s), want EISDIR or EBADF", n, e.Name())
		}
		h.want(f.Sync(false), vfs.ESUCCESS, "Sync(/d)")
	})
	k.sub(t, "CrossPage", func(t *testing.T, h *harness) {
		// Random unaligned writes, reads and truncates on one file, checked against a byte
		// slice after every operation.
		r := rand.New(rand.NewPCG(seed(t), 1))
		ino := h.mkfile("/f")
		f := h.open(ino, "/f", vfs.OpenRead|vfs.OpenWrite)
		defer h.close(f, "/f")
		var model []byte
		lens := []int{1, 2, 3, 511, 4095, 4096, 4097, 8191, 12289, 65537}
		const span = 300 << 10
		for i := range 300 {
			off := int64(r.IntN(span))
			n := lens[r.IntN(len(lens))]
			if r.IntN(4) == 0 {
				n = r.IntN(20000) + 1
			}
			switch op := r.IntN(10); {
			case op < 6:
				data := pattern(byte(i), off, n)
				h.writeAt(f, "/f", data, off)
				if need := int(off) + n; need > len(model) {
					model = append(model, make([]byte, need-len(model))...)
				}
				copy(model[off:], data)
			case op < 9:
				want := []byte{}
				if off < int64(len(model)) {
					want = model[off:min(len(model), int(off)+n)]
				}
				h.readAt(f, "/f", off, n, want)
			default:
				size := int64(r.IntN(span))
				h.must(h.fs.SetAttr(ino, &vfs.Attr{Valid: vfs.AttrSize, Size: size}), "SetAttr(/f, size=%d)", size)
				if size < int64(len(model)) {
					model = model[:size]
				} else {
					model = append(model, make([]byte, size-int64(len(model)))...)
				}
			}
			if t.Failed() {
				t.Fatalf("after operation %d", i)
			}
		}
		h.checkContent(ino, "/f", model)
	})
}

func (k *kit) testHoles(t *testing.T) {
	for _, off := range sizes {
		k.sub(t, fmt.Sprintf("WriteAt%d", off), func(t *testing.T, h *harness) {
			ino := h.mkfile("/f")
			f := h.open(ino, "/f", vfs.OpenRead|vfs.OpenWrite)
			defer h.close(f, "/f")
			data := pattern(1, off, 5)
			h.writeAt(f, "/f", data, off)
			want := append(make([]byte, off), data...)
			h.checkContent(ino, "/f", want)
			// Windows across the hole/data boundary, and inside the hole only.
			h.readAt(f, "/f", off-1, 3, want[off-1:off+2])
			h.readAt(f, "/f", off/2, int(off-off/2)+1, want[off/2:off+1])
			h.readAt(f, "/f", 0, int(off), want[:off])
			h.readAt(f, "/f", off+2, 100, want[off+2:])
		})
	}
	k.sub(t, "SeveralPages", func(t *testing.T, h *harness) {
		// Data, a hole of several pages whatever the page size, data, a hole, data.
		ino := h.mkfile("/f")
		f := h.open(ino, "/f", vfs.OpenRead|vfs.OpenWrite)
		defer h.close(f, "/f")
		var want []byte
		for i, off := range []int64{0, 3*65536 + 7, 9*65536 - 1, 1<<21 + 1} {
			data := pattern(byte(i), off, 4099)
			h.writeAt(f, "/f", data, off)
			want = append(want, make([]byte, off-int64(len(want)))...)
			want = append(want, data...)
		}
		h.checkContent(ino, "/f", want)
		h.readAt(f, "/f", 4000, 3*65536, want[4000:4000+3*65536])
	})
	k.sub(t, "Sparse1GiB", func(t *testing.T, h *harness) {
		// A 1 GiB file holding one byte in its middle: holes must not cost their size.
		ino := h.mkfile("/f")
		h.must(h.fs.SetAttr(ino, &vfs.Attr{Valid: vfs.AttrSize, Size: 1 << 30}), "SetAttr(/f, size=1GiB)")
		f := h.open(ino, "/f", vfs.OpenRead|vfs.OpenWrite)
		defer h.close(f, "/f")
		h.writeAt(f, "/f", []byte("x"), 1<<29)
		h.readAt(f, "/f", 1<<29-4095, 8192, append(append(make([]byte, 4095), 'x'), make([]byte, 4096)...))
		h.readAt(f, "/f", 1<<30-10, 100, make([]byte, 10))
		if st := h.stat(ino, "/f"); st.Size != 1<<30 {
			t.Errorf("Stat(/f).Size = %d, want 1 GiB", st.Size)
		}
	})
	k.sub(t, "OverwriteHole", func(t *testing.T, h *harness) {
		// Writing into the middle of a hole leaves the rest of the hole zero.
		ino := h.mkfile("/f")
		f := h.open(ino, "/f", vfs.OpenRead|vfs.OpenWrite)
		defer h.close(f, "/f")
		h.writeAt(f, "/f", []byte("end"), 200000)
		mid := pattern(2, 70001, 9000)
		h.writeAt(f, "/f", mid, 70001)
		want := make([]byte, 200003)
		copy(want[70001:], mid)
		copy(want[200000:], "end")
		h.checkContent(ino, "/f", want)
	})
}

func (k *kit) testTruncate(t *testing.T) {
	// Truncate down then up: the bytes beyond the lower size are gone and read as zeros.
	for _, from := range []int64{1, 4095, 4097, 65537, 1<<20 + 3} {
		for _, down := range []int64{0, 1, 4095, 4096, 4097, 65537} {
			if down >= from {
				continue
			}
			k.sub(t, fmt.Sprintf("From%dDown%dUp", from, down), func(t *testing.T, h *harness) {
				data := pattern(3, 0, int(from))
				ino := h.writeFile("/f", data)
				h.must(h.fs.SetAttr(ino, &vfs.Attr{Valid: vfs.AttrSize, Size: down}), "SetAttr(/f, size=%d)", down)
				h.checkContent(ino, "/f", data[:down])
				up := from + 4096
				h.must(h.fs.SetAttr(ino, &vfs.Attr{Valid: vfs.AttrSize, Size: up}), "SetAttr(/f, size=%d)", up)
				want := append(append([]byte{}, data[:down]...), make([]byte, up-down)...)
				h.checkContent(ino, "/f", want)
			})
		}
	}
	k.sub(t, "Up", func(t *testing.T, h *harness) {
		ino := h.writeFile("/f", []byte("abc"))
		h.must(h.fs.SetAttr(ino, &vfs.Attr{Valid: vfs.AttrSize, Size: 1<<20 + 3}), "SetAttr(/f, size=1<<20+3)")
		want := make([]byte, 1<<20+3)
		copy(want, "abc")
		h.checkContent(ino, "/f", want)
	})
	k.sub(t, "DownThenWritePastEnd", func(t *testing.T, h *harness) {
		// Truncate down then write beyond the end: the gap is zeros, not the old data.
		data := pattern(4, 0, 20000)
		ino := h.writeFile("/f", data)
		h.must(h.fs.SetAttr(ino, &vfs.Attr{Valid: vfs.AttrSize, Size: 100}), "SetAttr(/f, size=100)")
		f := h.open(ino, "/f", vfs.OpenWrite)
		h.writeAt(f, "/f", []byte("x"), 15000)
		h.close(f, "/f")
		want := make([]byte, 15001)
		copy(want, data[:100])
		want[15000] = 'x'
		h.checkContent(ino, "/f", want)
	})
	k.sub(t, "SameSize", func(t *testing.T, h *harness) {
		data := pattern(5, 0, 5000)
		ino := h.writeFile("/f", data)
		h.must(h.fs.SetAttr(ino, &vfs.Attr{Valid: vfs.AttrSize, Size: 5000}), "SetAttr(/f, size=5000)")
		h.checkContent(ino, "/f", data)
	})
	k.sub(t, "OpenHandleSees", func(t *testing.T, h *harness) {
		ino := h.writeFile("/f", []byte("0123456789"))
		f := h.open(ino, "/f", vfs.OpenRead)
		defer h.close(f, "/f")
		h.must(h.fs.SetAttr(ino, &vfs.Attr{Valid: vfs.AttrSize, Size: 4}), "SetAttr(/f, size=4)")
		h.readAt(f, "/f", 0, 10, []byte("0123"))
	})
	k.sub(t, "Errors", func(t *testing.T, h *harness) {
		ino := h.writeFile("/f", []byte("abc"))
		h.want(h.fs.SetAttr(ino, &vfs.Attr{Valid: vfs.AttrSize, Size: -1}), vfs.EINVAL, "SetAttr(/f, size=-1)")
		d := h.mkdir("/d")
		h.want(h.fs.SetAttr(d, &vfs.Attr{Valid: vfs.AttrSize, Size: 0}), vfs.EISDIR, "SetAttr(/d, size=0)")
		h.must(h.remove("/f", false), "Remove(/f)")
		h.want(h.fs.SetAttr(ino, &vfs.Attr{Valid: vfs.AttrSize, Size: 0}), vfs.ENOENT, "SetAttr(removed /f, size=0)")
	})
}

func (k *kit) testAppend(t *testing.T) {
	k.sub(t, "Sequential", func(t *testing.T, h *harness) {
		ino := h.mkfile("/f")
		f := h.open(ino, "/f", vfs.OpenRead|vfs.OpenWrite)
		defer h.close(f, "/f")
		app := func(s string, wantSize int64) {
			t.Helper()
			n, size, e := f.Append([]byte(s))
			if n != len(s) || size != wantSize || e != vfs.ESUCCESS {
				t.Errorf("Append(/f, %q) = (%d, %d, %s), want (%d, %d, ESUCCESS)", s, n, size, e.Name(), len(s), wantSize)
			}
		}
		app("ab", 2)
		app("cde", 5)
		h.writeAt(f, "/f", []byte("Z"), 9) // grows the file to 10 with a hole
		app("fg", 12)
		h.must(h.fs.SetAttr(ino, &vfs.Attr{Valid: vfs.AttrSize, Size: 3}), "SetAttr(/f, size=3)")
		app("h", 4)
		h.must(h.fs.SetAttr(ino, &vfs.Attr{Valid: vfs.AttrSize, Size: 70000}), "SetAttr(/f, size=70000)")
		app("i", 70001)
		want := make([]byte, 70001)
		copy(want, "abch")
		want[70000] = 'i'
		h.checkContent(ino, "/f", want)
	})
	k.sub(t, "OtherHandleGrows", func(t *testing.T, h *harness) {
		// The end is the inode's, not the handle's: a write through another handle moves it.
		ino := h.mkfile("/f")
		a := h.open(ino, "/f", vfs.OpenWrite)
		defer h.close(a, "/f")
		b := h.open(ino, "/f", vfs.OpenWrite)
		defer h.close(b, "/f")
		if _, _, e := a.Append([]byte("1")); e != vfs.ESUCCESS {
			t.Fatalf("Append(/f) = %s", e.Name())
		}
		h.writeAt(b, "/f", []byte("2345"), 1)
		if _, size, e := a.Append([]byte("6")); size != 6 || e != vfs.ESUCCESS {
			t.Errorf("Append(/f, 6) = (size %d, %s), want (size 6, ESUCCESS)", size, e.Name())
		}
		h.checkContent(ino, "/f", []byte("123456"))
	})
	k.sub(t, "Concurrent", func(t *testing.T, h *harness) {
		// N goroutines append fixed-size records, half through one shared handle and half
		// through their own: no record may be lost, torn or interleaved, each goroutine's
		// records keep their order, and the size Append returns ends the record it wrote.
		const goroutines, records = 8, 200
		const recLen = 32
		ino := h.mkfile("/f")
		shared := h.open(ino, "/f", vfs.OpenWrite)
		defer h.close(shared, "/f")
		type placed struct {
			g, i int
			end  int64
		}
		results := make([][]placed, goroutines)
		errs := make(chan string, goroutines)
		var wg sync.WaitGroup
		for g := range goroutines {
			wg.Go(func() {
				f := shared
				if g%2 == 1 {
					var e vfs.Errno
					if f, e = h.fs.Open(ino, vfs.OpenWrite); e != vfs.ESUCCESS {
						errs <- fmt.Sprintf("Open(/f, Write) = %s", e.Name())
						return
					}
					defer f.Close()
				}
				for i := range records {
					rec := fmt.Appendf(nil, "g%02d r%05d %*s\n", g, i, recLen-12, "x")
					n, size, e := f.Append(rec)
					if n != recLen || e != vfs.ESUCCESS {
						errs <- fmt.Sprintf("goroutine %d: Append(/f, record %d) = (%d, %d, %s), want (%d, _, ESUCCESS)", g, i, n, size, e.Name(), recLen)
						return
					}
					results[g] = append(results[g], placed{g, i, size})
				}
			})
		}
		wg.Wait()
		close(errs)
		for s := range errs {
			t.Error(s)
		}
		if t.Failed() {
			return
		}
		data := h.readAll(ino, "/f")
		if len(data) != goroutines*records*recLen {
			t.Fatalf("size after %d appends of %d bytes = %d, want %d", goroutines*records, recLen, len(data), goroutines*records*recLen)
		}
		next := make([]int, goroutines)
		for off := 0; off < len(data); off += recLen {
			rec := data[off : off+recLen]
			var g, i int
			if _, err := fmt.Sscanf(string(rec), "g%02d r%05d", &g, &i); err != nil || g >= goroutines || rec[recLen-1] != '\n' {
				t.Fatalf("torn or interleaved record at offset %d: %q", off, rec)
			}
			if i != next[g] {
				t.Fatalf("record at offset %d is goroutine %d's record %d, want its record %d (lost or reordered)", off, g, i, next[g])
			}
			next[g]++
		}
		for g, rs := range results {
			for _, p := range rs {
				rec := data[p.end-recLen : p.end]
				if !bytes.HasPrefix(rec, fmt.Appendf(nil, "g%02d r%05d ", g, p.i)) {
					t.Errorf("goroutine %d record %d: Append returned size %d but the record ending there is %q", g, p.i, p.end, rec)
					break
				}
			}
		}
	})
}

func (k *kit) testOpenErrors(t *testing.T) {
	k.sub(t, "DirForWrite", func(t *testing.T, h *harness) {
		d := h.mkdir("/d")
		for _, fl := range []vfs.OpenFlag{vfs.OpenWrite, vfs.OpenRead | vfs.OpenWrite} {
			f, e := h.fs.Open(d, fl)
			if h.want(e, vfs.EISDIR, "Open(/d, %s)", openFlagString(fl)) == false && e == vfs.ESUCCESS {
				f.Close()
			}
		}
	})
	k.sub(t, "Removed", func(t *testing.T, h *harness) {
		ino := h.mkfile("/f")
		h.must(h.remove("/f", false), "Remove(/f)")
		_, e := h.fs.Open(ino, vfs.OpenRead)
		h.want(e, vfs.ENOENT, "Open(removed /f)")
		d := h.mkdir("/d")
		h.must(h.remove("/d", true), "Remove(/d, dirOnly)")
		_, e = h.fs.Open(d, vfs.OpenRead)
		h.want(e, vfs.ENOENT, "Open(removed /d)")
	})
}

func (k *kit) testBigFile(t *testing.T) {
	k.sub(t, "8MiB", func(t *testing.T, h *harness) {
		// Written in one chunking, read back in another, compared by hash.
		const size = 8 << 20
		var key [32]byte
		binary.LittleEndian.PutUint64(key[:], seed(t))
		data := make([]byte, size)
		rand.NewChaCha8(key).Read(data)
		ino := h.mkfile("/big")
		f := h.open(ino, "/big", vfs.OpenRead|vfs.OpenWrite)
		defer h.close(f, "/big")
		wchunks := []int{1, 4095, 4096, 4097, 65537, 3, 12345, 1<<20 + 3, 777}
		for off, i := 0, 0; off < size; i++ {
			n := min(wchunks[i%len(wchunks)], size-off)
			h.writeAt(f, "/big", data[off:off+n], int64(off))
			off += n
		}
		if st := h.stat(ino, "/big"); st.Size != size {
			t.Fatalf("Stat(/big).Size = %d, want %d", st.Size, size)
		}
		want := sha256.Sum256(data)
		rchunks := []int{65536 + 1, 7, 3*4096 - 1, 1 << 20, 4096}
		hash := sha256.New()
		buf := make([]byte, 1<<20)
		for off, i := 0, 0; ; i++ {
			n, e := f.ReadAt(buf[:rchunks[i%len(rchunks)]], int64(off))
			h.must(e, "ReadAt(/big, off=%d)", off)
			if n == 0 {
				break
			}
			hash.Write(buf[:n])
			off += n
		}
		if got := hash.Sum(nil); !bytes.Equal(got, want[:]) {
			t.Errorf("sha256 of /big read back = %x, want %x", got, want)
			h.checkContent(ino, "/big", data) // locate the first difference
		}
	})
}
