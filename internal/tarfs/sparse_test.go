package tarfs

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wasmrun/wasmrun/heap"
	"github.com/wasmrun/wasmrun/stable"
	"github.com/wasmrun/wasmrun/vfs"
)

// rawBlock is a tar header block: name, typeflag, size (octal, or base-256 when it does not
// fit), GNU or USTAR magic, then edit's changes, then the checksum.
func rawBlock(name string, typ byte, size int64, gnu bool, edit func(b []byte)) []byte {
	b := make([]byte, blockSize)
	copy(b, name)
	copy(b[100:], "0000644\x00")
	copy(b[108:], "0000000\x00")
	copy(b[116:], "0000000\x00")
	putNumeric(b[sizeOff:sizeOff+12], size)
	copy(b[136:], "14707005331\x00")
	b[typeflagOff] = typ
	if gnu {
		copy(b[257:], "ustar  \x00")
	} else {
		copy(b[257:], "ustar\x0000")
	}
	if edit != nil {
		edit(b)
	}
	copy(b[148:156], "        ")
	sum := 0
	for _, c := range b {
		sum += int(c)
	}
	copy(b[148:], fmt.Sprintf("%06o\x00 ", sum))
	return b
}

// putNumeric writes v in a numeric field: octal when it fits, else base-256.
func putNumeric(f []byte, v int64) {
	if s := fmt.Sprintf("%0*o", len(f)-1, v); len(s) < len(f) {
		copy(f, s)
		f[len(f)-1] = 0
		return
	}
	clear(f)
	for i := len(f) - 1; i > 0; i-- {
		f[i] = byte(v)
		v >>= 8
	}
	f[0] = 0x80
}

func pad(b []byte) []byte { return append(b, make([]byte, (blockSize-len(b)%blockSize)%blockSize)...) }

// paxHeader is a PAX extended header ('x') with records in the order given.
func paxHeader(kv ...string) []byte {
	var d []byte
	for i := 0; i < len(kv); i += 2 {
		rec := " " + kv[i] + "=" + kv[i+1] + "\n"
		n := len(rec)
		for n != len(fmt.Sprint(n))+len(rec) {
			n = len(fmt.Sprint(n)) + len(rec)
		}
		d = append(d, fmt.Sprint(n)+rec...)
	}
	return append(rawBlock("PaxHeaders/x", tar.TypeXHeader, int64(len(d)), false, nil), pad(d)...)
}

// sparseLayout is a sparse file: its size and data fragments, and the map written into the
// archive (maps, when set, replaces the one the fragments make: for hostile maps).
type sparseLayout struct {
	size  int64
	frags []fragment // data is fill(off) for each byte
	maps  []int64    // offset, length pairs written as the map; nil: from frags
	extra int64      // bytes of data added or (negative) removed after the map's
}

func fill(off int64) byte { return byte(off*7 + 1) }

func (l sparseLayout) data() []byte {
	var d []byte
	for _, f := range l.frags {
		for i := range f.n {
			d = append(d, fill(f.off+i))
		}
	}
	if l.extra > 0 {
		d = append(d, bytes.Repeat([]byte{'x'}, int(l.extra))...)
	} else {
		d = d[:int64(len(d))+l.extra]
	}
	return d
}

func (l sparseLayout) mapPairs() []int64 {
	if l.maps != nil {
		return l.maps
	}
	var m []int64
	for _, f := range l.frags {
		m = append(m, f.off, f.n)
	}
	return m
}

// sparseArchive writes layout as the entry "f" in format ("gnu", "0.0", "0.1", "1.0"), then a
// regular file "after", then the end of the archive.
func sparseArchive(format string, l sparseLayout) []byte {
	data := l.data()
	m := l.mapPairs()
	var out []byte
	switch format {
	case "gnu":
		first := m[:min(len(m), 8)]
		rest := m[len(first):]
		out = rawBlock("f", tar.TypeGNUSparse, int64(len(data)), true, func(b []byte) {
			for i := 0; i < len(first); i += 2 {
				e := b[gnuSparseOff+i/2*sparseEntrySize:]
				putNumeric(e[:12], first[i])
				putNumeric(e[12:24], first[i+1])
			}
			if len(rest) > 0 {
				b[gnuExtendedOff] = 1
			}
			putNumeric(b[gnuRealSizeOff:gnuRealSizeOff+12], l.size)
		})
		for len(rest) > 0 {
			blk := make([]byte, blockSize)
			n := min(len(rest), 42)
			for i := 0; i < n; i += 2 {
				putNumeric(blk[i/2*sparseEntrySize:][:12], rest[i])
				putNumeric(blk[i/2*sparseEntrySize+12:][:12], rest[i+1])
			}
			if rest = rest[n:]; len(rest) > 0 {
				blk[extExtendedOff] = 1
			}
			out = append(out, blk...)
		}
	case "0.0":
		kv := []string{"GNU.sparse.name", "f", "GNU.sparse.size", fmt.Sprint(l.size), "GNU.sparse.numblocks", fmt.Sprint(len(m) / 2)}
		for i := 0; i < len(m); i += 2 {
			kv = append(kv, "GNU.sparse.offset", fmt.Sprint(m[i]), "GNU.sparse.numbytes", fmt.Sprint(m[i+1]))
		}
		out = append(paxHeader(kv...), rawBlock("GNUSparseFile.0/f", tar.TypeReg, int64(len(data)), false, nil)...)
	case "0.1":
		var s []string
		for _, v := range m {
			s = append(s, fmt.Sprint(v))
		}
		out = append(paxHeader("GNU.sparse.name", "f", "GNU.sparse.size", fmt.Sprint(l.size), "GNU.sparse.numblocks", fmt.Sprint(len(m)/2),
			"GNU.sparse.map", strings.Join(s, ",")), rawBlock("GNUSparseFile.0/f", tar.TypeReg, int64(len(data)), false, nil)...)
	case "1.0":
		mp := fmt.Appendf(nil, "%d\n", len(m)/2)
		for _, v := range m {
			mp = fmt.Appendf(mp, "%d\n", v)
		}
		mb := pad(mp)
		out = append(paxHeader("GNU.sparse.major", "1", "GNU.sparse.minor", "0", "GNU.sparse.name", "f",
			"GNU.sparse.realsize", fmt.Sprint(l.size)), rawBlock("GNUSparseFile.0/f", tar.TypeReg, int64(len(mb)+len(data)), false, nil)...)
		out = append(out, mb...)
	default:
		panic(format)
	}
	out = append(out, pad(data)...)
	out = append(out, rawBlock("after", tar.TypeReg, 5, false, nil)...)
	out = append(out, pad([]byte("after"))...)
	return append(out, make([]byte, 2*blockSize)...)
}

var sparseFormats = []string{"gnu", "0.0", "0.1", "1.0"}

// readFile reads the whole file p of ns.
func readFile(t *testing.T, ns *vfs.Namespace, p string) []byte {
	t.Helper()
	h, e := ns.Open(vfs.Node{}, p, vfs.ORead, 0)
	if e != 0 {
		t.Fatalf("open %s: %v", p, e)
	}
	defer h.File.Close()
	st, e := ns.Stat(h.Node)
	if e != 0 {
		t.Fatal(e)
	}
	b := make([]byte, st.Size)
	if n, e := h.File.ReadAt(b, 0); e != 0 || n != len(b) {
		t.Fatalf("read %s: %d %v", p, n, e)
	}
	return b
}

// TestImportSparse imports sparse files of every format and checks their content against what
// archive/tar reads through (small ones) or their data fragments, size and a hole (2^44 bytes,
// which copying the holes would take hours for), and that only the data was copied.
func TestImportSparse(t *testing.T) {
	layouts := []struct {
		name string
		l    sparseLayout
	}{
		{"data-at-end", sparseLayout{size: 1<<20 + 4, frags: []fragment{{1 << 20, 4}}}},
		{"hole-at-end", sparseLayout{size: 3 << 20, frags: []fragment{{0, 100}, {70000, 5000}}}},
		{"all-hole", sparseLayout{size: 1 << 20}},
		{"empty", sparseLayout{}},
		{"no-hole", sparseLayout{size: 3000, frags: []fragment{{0, 3000}}}},
		{"empty-fragments", sparseLayout{size: 5000, frags: []fragment{{0, 0}, {10, 10}, {20, 0}, {4000, 1000}}}},
		{"many", func() sparseLayout {
			l := sparseLayout{size: 1 << 22}
			for i := range int64(100) {
				l.frags = append(l.frags, fragment{i * 40000, 1 + i*13})
			}
			return l
		}()},
		{"2^44", sparseLayout{size: 1 << 44, frags: []fragment{{5, 1000}, {1 << 40, 70000}, {1<<44 - 1, 1}}}},
	}
	for _, format := range sparseFormats {
		for _, lt := range layouts {
			if len(lt.l.frags) == 0 && format[0] == '0' {
				continue // an empty GNU.sparse.map: archive/tar (as GNU tar) sees no sparse file
			}
			t.Run(format+"/"+lt.name, func(t *testing.T) {
				archive := sparseArchive(format, lt.l)
				ns := vfs.NewNamespace(heap.New(heap.Options{}))
				var done int64
				start := time.Now()
				s, err := Import(ns, "/t", bytes.NewReader(archive), Options{Progress: func(n int64) { done = n }})
				if err != nil {
					t.Fatal(err)
				}
				if d := time.Since(start); d > 10*time.Second {
					t.Errorf("took %v", d)
				}
				data := int64(len(lt.l.data()))
				if done != data+5 || s.Files != 2 || s.Bytes != lt.l.size+5 {
					t.Errorf("copied %d bytes, stats %+v; want %d bytes of data and %d of files", done, s, data+5, lt.l.size+5)
				}
				if got := string(readFile(t, ns, "/t/after")); got != "after" {
					t.Errorf("the entry after: %q", got)
				}
				if lt.l.size <= 8<<20 {
					// What archive/tar reads through, holes and all.
					tr := tar.NewReader(bytes.NewReader(archive))
					if _, err := tr.Next(); err != nil {
						t.Fatal(err)
					}
					want, err := io.ReadAll(tr)
					if err != nil {
						t.Fatal(err)
					}
					if got := readFile(t, ns, "/t/f"); !bytes.Equal(got, want) {
						t.Errorf("content differs from archive/tar's (%d bytes, want %d)", len(got), len(want))
					}
					return
				}
				st, e := ns.StatAt(vfs.Node{}, "/t/f", false)
				if e != 0 || st.Size != lt.l.size {
					t.Fatalf("stat: %+v %v", st, e)
				}
				h, e := ns.Open(vfs.Node{}, "/t/f", vfs.ORead, 0)
				if e != 0 {
					t.Fatal(e)
				}
				defer h.File.Close()
				for _, f := range lt.l.frags {
					b := make([]byte, f.n+2)
					at := max(f.off-1, 0)
					n, _ := h.File.ReadAt(b, at)
					for i := range int64(n) {
						want := byte(0)
						if at+i >= f.off && at+i < f.off+f.n {
							want = fill(at + i)
						}
						if b[i] != want {
							t.Fatalf("byte %d: %d, want %d", at+i, b[i], want)
						}
					}
				}
			})
		}
	}
}

// TestImportSparseRefused feeds sparse entries whose map does not hold together, in every
// format: each is an error (ErrSparse, or archive/tar's ErrHeader when it refuses the map
// itself), quickly, the entry is not left behind, and the entries before it stay.
func TestImportSparseRefused(t *testing.T) {
	huge := sparseLayout{size: 1 << 20}
	for i := range int64(1<<20/24 + 10) {
		huge.maps = append(huge.maps, i*2, 1)
	}
	cases := []struct {
		name string
		l    sparseLayout
	}{
		{"overlapping", sparseLayout{size: 1000, frags: []fragment{{0, 100}, {50, 100}}}},
		{"out-of-order", sparseLayout{size: 1000, frags: []fragment{{500, 10}, {100, 10}}}},
		{"beyond-size", sparseLayout{size: 1000, frags: []fragment{{900, 200}}}},
		{"offset-overflow", sparseLayout{size: 1 << 40, frags: []fragment{{0, 10}}, maps: []int64{0, 10, 1<<63 - 5, 10}}},
		{"negative", sparseLayout{size: 1000, frags: []fragment{{0, 10}}, maps: []int64{-10, 10}}},
		{"data-missing", sparseLayout{size: 1 << 44, frags: []fragment{{0, 1000}}, extra: -600}},
		{"data-left-over", sparseLayout{size: 1 << 44, frags: []fragment{{0, 1000}}, extra: 600}},
		{"huge-count", huge},
	}
	for _, format := range sparseFormats {
		for _, c := range cases {
			if c.name == "negative" && format == "gnu" {
				continue // a negative number in base-256 is what this one tests elsewhere
			}
			t.Run(format+"/"+c.name, func(t *testing.T) {
				archive := append(append(rawBlock("before", tar.TypeReg, 4, false, nil), pad([]byte("kept"))...), sparseArchive(format, c.l)...)
				ns := vfs.NewNamespace(heap.New(heap.Options{}))
				start := time.Now()
				_, err := Import(ns, "/t", bytes.NewReader(archive), Options{})
				if d := time.Since(start); d > 10*time.Second {
					t.Errorf("took %v", d)
				}
				if !errors.Is(err, ErrSparse) && !errors.Is(err, tar.ErrHeader) && !strings.Contains(err.Error(), "archive/tar") {
					t.Fatalf("Import: %v; want a sparse map error", err)
				}
				t.Log(err)
				if cerr := Check(bytes.NewReader(archive)); cerr == nil {
					t.Error("Check found nothing wrong")
				}
				if _, e := ns.StatAt(vfs.Node{}, "/t/f", false); e != vfs.ENOENT {
					t.Errorf("the refused entry is there: %v", e)
				}
				if got := string(readFile(t, ns, "/t/before")); got != "kept" {
					t.Errorf("the entry before: %q", got)
				}
			})
		}
	}
}

// TestImportSparseLimits imports a sparse file bigger than the target allows: the store's
// quota (ENOSPC) or the largest file (EFBIG), before any data is read, with nothing left of it.
func TestImportSparseLimits(t *testing.T) {
	f, err := stable.Open(filepath.Join(t.TempDir(), "q.store"), stable.Options{NoSync: true, QuotaBytes: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	quota := vfs.NewNamespace(f)
	defer quota.Close()
	for _, c := range []struct {
		name string
		ns   *vfs.Namespace
		size int64
		want vfs.Errno
	}{
		{"quota", quota, 1 << 44, vfs.ENOSPC},
		{"max-file-size", vfs.NewNamespace(heap.New(heap.Options{MaxBytes: 1 << 20})), 1<<63 - 1, vfs.EFBIG},
	} {
		for _, format := range sparseFormats {
			t.Run(c.name+"/"+format, func(t *testing.T) {
				l := sparseLayout{size: c.size, frags: []fragment{{0, 10}, {c.size - 10, 10}}}
				_, err := Import(c.ns, "/"+format, bytes.NewReader(sparseArchive(format, l)), Options{})
				if !errors.Is(err, c.want) || !strings.Contains(err.Error(), "a sparse file of") {
					t.Fatalf("Import: %v; want %v", err, c.want)
				}
				if _, e := c.ns.StatAt(vfs.Node{}, "/"+format+"/f", false); e != vfs.ENOENT {
					t.Errorf("the refused file is there: %v", e)
				}
			})
		}
	}
}

// TestImportSparseGNUTar imports sparse files as GNU tar writes them, in its four sparse
// formats, from a host file of 64 GiB with a few data runs.
func TestImportSparseGNUTar(t *testing.T) {
	tarBin, err := exec.LookPath("tar")
	if err != nil {
		t.Fatal("the test needs the system's tar (Debian: apt-get install tar):", err)
	}
	dir := t.TempDir()
	hf, err := os.Create(filepath.Join(dir, "big"))
	if err != nil {
		t.Fatal(err)
	}
	const size = 64 << 30
	runs := map[int64]string{0: "start", 1 << 30: strings.Repeat("middle", 2000), size - 3: "end"}
	for off, s := range runs {
		if _, err := hf.WriteAt([]byte(s), off); err != nil {
			t.Fatal(err)
		}
	}
	hf.Close()
	for _, args := range [][]string{
		{"--format=gnu"},
		{"--format=posix", "--sparse-version=0.0"},
		{"--format=posix", "--sparse-version=0.1"},
		{"--format=posix", "--sparse-version=1.0"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			cmd := exec.Command(tarBin, append(append([]string{"-C", dir, "-cSf", "-"}, args...), "big")...)
			archive, err := cmd.Output()
			if err != nil {
				t.Fatalf("tar: %v", err)
			}
			ns := vfs.NewNamespace(heap.New(heap.Options{}))
			var done int64
			if _, err := Import(ns, "/t", bytes.NewReader(archive), Options{Progress: func(n int64) { done = n }}); err != nil {
				t.Fatal(err)
			}
			if done > 1<<20 {
				t.Errorf("copied %d bytes", done)
			}
			h, e := ns.Open(vfs.Node{}, "/t/big", vfs.ORead, 0)
			if e != 0 {
				t.Fatal(e)
			}
			defer h.File.Close()
			if st, _ := ns.Stat(h.Node); st.Size != size {
				t.Errorf("size %d", st.Size)
			}
			for off, s := range runs {
				at, want := off-1, "\x00"+s
				if off == 0 {
					at, want = 0, s
				}
				b := make([]byte, len(want))
				if n, _ := h.File.ReadAt(b, at); string(b[:n]) != want {
					t.Errorf("at %d: %q", off, b[:n])
				}
			}
		})
	}
}
