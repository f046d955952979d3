package tarfs

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wasmrun/wasmrun/heap"
	"github.com/wasmrun/wasmrun/vfs"
)

// updateSeeds rewrites the committed seed corpus of FuzzImport from fuzzSeeds.
var updateSeeds = flag.Bool("update-seeds", false, "rewrite testdata/fuzz/FuzzImport from the seed generator")

// fuzzNamespace is the namespace FuzzImport imports into: a heap root holding things an archive
// must never reach (/outside, /t/sibling), and two targets: /t/empty, and /t/full, which already
// holds a file, a directory, symlinks out of it (absolute and relative) and a second heap mounted
// at /t/full/m.
func fuzzNamespace(tb testing.TB) *vfs.Namespace {
	ns := vfs.NewNamespace(heap.New(heap.Options{}))
	ok := func(e vfs.Errno, what string) {
		if e != 0 {
			tb.Fatalf("%s: %v", what, e)
		}
	}
	file := func(p, data string) {
		h, e := ns.Open(vfs.Node{}, p, vfs.OWrite|vfs.OCreate|vfs.OExcl, 0o644)
		ok(e, "create "+p)
		_, e = h.File.WriteAt([]byte(data), 0)
		ok(e, "write "+p)
		ok(h.File.Close(), "close "+p)
	}
	for _, d := range []string{"/outside", "/outside/dir", "/t", "/t/empty", "/t/full", "/t/full/sub"} {
		ok(ns.Mkdir(vfs.Node{}, d, 0o755), "mkdir "+d)
	}
	file("/outside/secret", "secret")
	file("/outside/dir/x", "x")
	file("/t/sibling", "sibling")
	file("/t/full/old", "old")
	file("/t/full/sub/x", "sub x")
	ok(ns.Symlink("/outside", vfs.Node{}, "/t/full/esc"), "symlink")
	ok(ns.Symlink("../../outside", vfs.Node{}, "/t/full/up"), "symlink")
	ok(ns.Symlink("/t/sibling", vfs.Node{}, "/t/full/sib"), "symlink")
	if err := ns.Mount("/t/full/m", heap.New(heap.Options{})); err != nil {
		tb.Fatal(err)
	}
	file("/t/full/m/y", "on the other mount")
	return ns
}

// snapshot describes every inode of ns reachable from "/" without going below skip: path, type,
// ino, mode, link count, size, mtime, ctime, and content (a hash; of the first and last 4 MiB
// of a bigger file) or symlink target. Access times
// are left out (reading a file for the snapshot changes them). skip itself is listed by its
// inode alone: an import may change its mode and times, but not replace it.
func snapshot(tb testing.TB, ns *vfs.Namespace, skip string) string {
	var b strings.Builder
	var walk func(p string)
	walk = func(p string) {
		st, e := ns.StatAt(vfs.Node{}, p, false)
		if e != 0 {
			tb.Fatalf("stat %s: %v", p, e)
		}
		if p == skip {
			fmt.Fprintf(&b, "%s %v dev=%d ino=%d (target)\n", p, st.Type, st.Dev, st.Ino)
			return
		}
		fmt.Fprintf(&b, "%s %v dev=%d ino=%d mode=%o nlink=%d size=%d mtime=%d ctime=%d", p, st.Type, st.Dev, st.Ino, st.Mode, st.Nlink, st.Size, st.Mtime, st.Ctime)
		switch st.Type {
		case vfs.TypeRegular:
			h, e := ns.Open(vfs.Node{}, p, vfs.ORead|vfs.ONoFollow, 0)
			if e != 0 {
				tb.Fatalf("open %s: %v", p, e)
			}
			// A file of more than 8 MiB (an imported sparse file) by its first and last 4.
			sum := sha256.New()
			for _, r := range [][2]int64{{0, min(st.Size, 4<<20)}, {max(4<<20, st.Size-4<<20), st.Size}} {
				if r[1] <= r[0] {
					continue
				}
				data := make([]byte, r[1]-r[0])
				n, e := h.File.ReadAt(data, r[0])
				if e != 0 || n != len(data) {
					tb.Fatalf("read %s: %d %v", p, n, e)
				}
				sum.Write(data)
			}
			h.File.Close()
			fmt.Fprintf(&b, " sha256=%x\n", sum.Sum(nil))
		case vfs.TypeSymlink:
			target, e := ns.Readlink(vfs.Node{}, p)
			if e != 0 {
				tb.Fatalf("readlink %s: %v", p, e)
			}
			fmt.Fprintf(&b, " -> %q\n", target)
		case vfs.TypeDir:
			b.WriteString("\n")
			h, e := ns.Open(vfs.Node{}, p, vfs.ORead|vfs.ODirectory, 0)
			if e != 0 {
				tb.Fatalf("open %s: %v", p, e)
			}
			var names []string
			e = ns.ReadDir(h, 0, func(d *vfs.DirEntry) bool {
				if n := string(d.Name); n != "." && n != ".." {
					names = append(names, n)
				}
				return true
			})
			h.File.Close()
			if e != 0 {
				tb.Fatalf("readdir %s: %v", p, e)
			}
			slices.Sort(names)
			for _, n := range names {
				walk(strings.TrimSuffix(p, "/") + "/" + n)
			}
		default:
			b.WriteString("\n")
		}
	}
	walk("/")
	return b.String()
}

// throughTar returns the content archive/tar reads through (holes as zeros) of every
// regular entry of data no bigger than 4 MiB whose name no other entry has, nor has as a
// parent, by clean name; nil if data is not an archive tar reads to its end.
func throughTar(data []byte) map[string][]byte {
	var r io.Reader = bytes.NewReader(data)
	br := bufio.NewReader(r)
	if m, err := br.Peek(2); err == nil && m[0] == 0x1f && m[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil
		}
		r = zr
	} else {
		r = br
	}
	tr := tar.NewReader(r)
	content := map[string][]byte{}
	seen := map[string]int{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil && !errors.Is(err, tar.ErrInsecurePath) {
			return nil
		}
		name, err := cleanName(h.Name)
		if err != nil {
			return nil
		}
		for p := name; p != "."; p, _ = splitName(p) {
			seen[p]++
		}
		if (h.Typeflag == tar.TypeReg || h.Typeflag == tar.TypeGNUSparse) && h.Size <= 4<<20 {
			b, err := io.ReadAll(tr)
			if err != nil {
				return nil
			}
			content[name] = b
		}
	}
	for name := range content {
		if seen[name] != 1 {
			delete(content, name)
		}
	}
	return content
}

// FuzzImport imports arbitrary bytes as an archive (gzip-compressed first when gz is set):
//
//   - into the empty /t/empty: Import never panics, nothing outside the target changes, and it
//     agrees with Check, which promises to find every entry Import refuses as unsafe in an empty
//     target: Import refusing (ErrUnsafePath) means Check refuses too, and Check finding
//     anything wrong means Import fails;
//   - then into /t/full, whose symlinks lead out of it and which holds another mount: nothing
//     outside the target changes;
//   - when the import into /t/empty succeeds, each regular file of up to 4 MiB that no other
//     entry replaces holds what archive/tar reads through, holes and all: Import reads sparse
//     maps itself and skips the holes, and must agree with tar.
//
// Sparse files of any size are imported: Import costs what the archive holds, not the
// logical size (a seed declares 2^44 bytes).
//
// The seed corpus is testdata/fuzz/FuzzImport, written by TestFuzzImportSeeds -update-seeds.
func FuzzImport(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte, gz bool) {
		if gz {
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			zw.Write(data)
			zw.Close()
			data = buf.Bytes()
		}
		ns := fuzzNamespace(t)
		checkErr := Check(bytes.NewReader(data))
		for _, target := range []string{"/t/empty", "/t/full"} {
			before := snapshot(t, ns, target)
			_, err := Import(ns, target, bytes.NewReader(data), Options{})
			if after := snapshot(t, ns, target); after != before {
				t.Fatalf("Import into %s (error %v) changed the namespace outside it:\n%s\nwas:\n%s", target, err, after, before)
			}
			if target != "/t/empty" {
				continue
			}
			if errors.Is(err, ErrUnsafePath) && !errors.Is(checkErr, ErrUnsafePath) {
				t.Fatalf("Import refused an entry as unsafe (%v) but Check said %v", err, checkErr)
			}
			if checkErr != nil && err == nil {
				t.Fatalf("Check said %v but Import succeeded", checkErr)
			}
			if err != nil {
				continue
			}
			for name, want := range throughTar(data) {
				p := target + "/" + name
				if name == "." {
					continue
				}
				st, e := ns.StatAt(vfs.Node{}, p, false)
				if e != 0 || st.Type != vfs.TypeRegular {
					t.Fatalf("%s: %v %v after a successful import", p, st.Type, e)
				}
				h, e := ns.Open(vfs.Node{}, p, vfs.ORead|vfs.ONoFollow, 0)
				if e != 0 {
					t.Fatalf("open %s: %v", p, e)
				}
				got := make([]byte, st.Size)
				n, e := h.File.ReadAt(got, 0)
				h.File.Close()
				if e != 0 || n != len(got) || !bytes.Equal(got, want) {
					t.Fatalf("%s: %d bytes (%v), not the %d archive/tar reads", p, n, e, len(want))
				}
			}
		}
	})
}

// seedArchive builds an archive of hdrs with archive/tar; a regular file's content is its
// Linkname field when set (cleared before writing), else "x".
func seedArchive(tb testing.TB, format tar.Format, hdrs ...*tar.Header) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mtime := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)
	for _, h := range hdrs {
		body := ""
		if h.Typeflag == tar.TypeReg {
			body, h.Linkname = h.Linkname, ""
			if body == "" {
				body = "x"
			}
			h.Size = int64(len(body))
		}
		if h.Typeflag == tar.TypeXGlobalHeader {
			if err := tw.WriteHeader(h); err != nil {
				tb.Fatal(err)
			}
			continue
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if format != tar.FormatUnknown {
			h.Format = format
		}
		if h.ModTime.IsZero() {
			h.ModTime = mtime
			if format == tar.FormatPAX {
				h.AccessTime = mtime.Add(time.Second)
			}
		}
		if err := tw.WriteHeader(h); err != nil {
			tb.Fatal(err)
		}
		if body != "" {
			tw.Write([]byte(body))
		}
	}
	if err := tw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func sReg(name, content string) *tar.Header {
	return &tar.Header{Name: name, Typeflag: tar.TypeReg, Linkname: content}
}
func sDir(name string) *tar.Header { return &tar.Header{Name: name, Typeflag: tar.TypeDir} }
func sSym(name, target string) *tar.Header {
	return &tar.Header{Name: name, Typeflag: tar.TypeSymlink, Linkname: target}
}
func sHard(name, target string) *tar.Header {
	return &tar.Header{Name: name, Typeflag: tar.TypeLink, Linkname: target}
}

// gnuSparse is a hand-made old-GNU sparse entry ('S'): one data fragment of 4 bytes at offset
// 1 MiB in a file of 1 MiB + 4 bytes (archive/tar reads this format but cannot write it).
func gnuSparse() []byte {
	blk := make([]byte, 512)
	oct := func(off, width int, v int64) {
		s := fmt.Sprintf("%0*o", width-1, v)
		copy(blk[off:], s)
		blk[off+width-1] = 0
	}
	copy(blk, "sparse")
	oct(100, 8, 0o644)
	oct(108, 8, 0)
	oct(116, 8, 0)
	oct(124, 12, 4) // physical size: the 4 bytes of data
	oct(136, 12, 1714979289)
	blk[156] = 'S'
	copy(blk[257:], "ustar  \x00")
	oct(386, 12, 1<<20) // the fragment's offset
	oct(398, 12, 4)     // and length
	oct(483, 12, 1<<20+4)
	copy(blk[148:156], "        ")
	sum := 0
	for _, c := range blk {
		sum += int(c)
	}
	oct(148, 7, int64(sum))
	blk[155] = ' '
	data := make([]byte, 512)
	copy(data, "tail")
	out := append(blk, data...)
	return append(out, make([]byte, 1024)...)
}

// bigSparse and manySparse are sparse files of the seeds: 2^44 bytes with three fragments, and
// twenty fragments (old GNU extension blocks).
var (
	bigSparse  = sparseLayout{size: 1 << 44, frags: []fragment{{5, 100}, {1 << 40, 700}, {1<<44 - 1, 1}}}
	manySparse = func() sparseLayout {
		l := sparseLayout{size: 1 << 20}
		for i := range int64(20) {
			l.frags = append(l.frags, fragment{i * 4000, 1 + i})
		}
		return l
	}()
)

// fuzzSeeds are the seed inputs of FuzzImport: real archives made with archive/tar (PAX, GNU,
// USTAR, gzip-compressed), and hostile ones.
func fuzzSeeds(tb testing.TB) []struct {
	name string
	data []byte
	gz   bool
} {
	tree := []*tar.Header{
		sDir("./"), sDir("./d/"), sReg("./d/f", "hello\n"), sSym("./d/rel", "f"),
		sSym("./abs", "/etc/passwd"), sHard("./d/hard", "./d/f"), sReg("./empty", ""),
		{Name: "./d/dev", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3},
		{Name: "./fifo", Typeflag: tar.TypeFifo},
	}
	clone := func(hs []*tar.Header) []*tar.Header {
		out := make([]*tar.Header, len(hs))
		for i, h := range hs {
			c := *h
			out[i] = &c
		}
		return out
	}
	pax := seedArchive(tb, tar.FormatPAX, clone(tree)...)
	long := strings.Repeat("long-name-", 12)
	type seed = struct {
		name string
		data []byte
		gz   bool
	}
	return []seed{
		{"empty", nil, false},
		{"pax-tree", pax, false},
		{"pax-tree-gzip-bytes", gzipped(pax), false},
		{"pax-tree-gz", pax, true},
		{"gnu-long-names", seedArchive(tb, tar.FormatGNU, sDir(long+"/"), sReg(long+"/"+long, "long"), sHard("h", long+"/"+long)), false},
		{"ustar", seedArchive(tb, tar.FormatUSTAR, sDir("u/"), sReg("u/f", "ustar"), sSym("u/s", "../u/f")), false},
		{"pax-global-header", seedArchive(tb, tar.FormatPAX, &tar.Header{Typeflag: tar.TypeXGlobalHeader, PAXRecords: map[string]string{"comment": "hi"}}, sReg("g", "g")), false},
		{"gnu-sparse", gnuSparse(), false},
		{"sparse-gnu-2^44", sparseArchive("gnu", bigSparse), false},
		{"sparse-pax-0.0-2^44", sparseArchive("0.0", bigSparse), false},
		{"sparse-pax-0.1-2^44", sparseArchive("0.1", bigSparse), false},
		{"sparse-pax-1.0-2^44", sparseArchive("1.0", bigSparse), true},
		{"sparse-pax-1.0-small", sparseArchive("1.0", sparseLayout{size: 3000, frags: []fragment{{10, 20}, {2000, 1000}}}), false},
		{"sparse-gnu-extended", sparseArchive("gnu", manySparse), false},
		{"hostile-sparse-overlap", sparseArchive("0.1", sparseLayout{size: 1000, frags: []fragment{{0, 100}, {50, 100}}}), false},
		{"hostile-sparse-data-missing", sparseArchive("1.0", sparseLayout{size: 1 << 44, frags: []fragment{{0, 1000}}, extra: -600}), false},
		{"replace-kinds", seedArchive(tb, tar.FormatPAX, sReg("a", "file"), sDir("a/"), sReg("a/x", "x"), sSym("b", "a"), sReg("b", "now a file"), sDir("c/"), sSym("c", "a")), false},
		{"hostile-dotdot", seedArchive(tb, tar.FormatPAX, sReg("ok", "ok"), sReg("../outside/evil", "evil")), false},
		{"hostile-dotdot-inside", seedArchive(tb, tar.FormatPAX, sDir("a/"), sReg("a/../../sibling", "evil")), false},
		{"hostile-absolute", seedArchive(tb, tar.FormatPAX, sReg("/outside/secret", "evil")), false},
		{"hostile-symlink-then-file", seedArchive(tb, tar.FormatPAX, sSym("l", "/outside"), sReg("l/secret", "evil")), false},
		{"hostile-relative-symlink-then-dir", seedArchive(tb, tar.FormatPAX, sSym("l", "../../outside"), sDir("l/dir/"), sReg("l/dir/x", "evil")), false},
		{"hostile-target-symlinks", seedArchive(tb, tar.FormatPAX, sReg("esc/secret", "evil"), sDir("up/dir/"), sReg("sib", "replaces the symlink only")), false},
		{"hostile-hard-link-outside", seedArchive(tb, tar.FormatPAX, sHard("h", "../outside/secret"), sHard("h2", "/outside/secret")), false},
		{"hostile-hard-link-in-target", seedArchive(tb, tar.FormatPAX, sHard("h", "old"), sHard("h2", "esc/secret")), false},
		{"hostile-hard-link-to-symlink", seedArchive(tb, tar.FormatPAX, sSym("s", "/outside"), sHard("h", "s"), sReg("h/secret", "evil")), false},
		{"hostile-hard-link-to-device", seedArchive(tb, tar.FormatPAX, &tar.Header{Name: "dev", Typeflag: tar.TypeChar}, sHard("h", "dev")), false},
		{"hostile-other-mount", seedArchive(tb, tar.FormatPAX, sReg("m/y", "replaced"), sHard("cross", "m/y"), sDir("m/d/"), sHard("m/d/h", "old")), false},
		{"hostile-gz-symlink", seedArchive(tb, tar.FormatGNU, sSym("x", "/"), sReg("x/outside/secret", "evil")), true},
	}
}

// TestFuzzImportSeeds checks that testdata/fuzz/FuzzImport holds exactly the seeds fuzzSeeds
// makes; with -update-seeds it writes them.
func TestFuzzImportSeeds(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzImport")
	for _, s := range fuzzSeeds(t) {
		want := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\nbool(%v)\n", s.data, s.gz)
		p := filepath.Join(dir, "seed-"+s.name)
		if *updateSeeds {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(p)
		if err != nil {
			t.Errorf("%v (go test ./internal/tarfs -run TestFuzzImportSeeds -update-seeds writes it)", err)
		} else if string(got) != want {
			t.Errorf("%s is not what the generator makes now: run go test ./internal/tarfs -run TestFuzzImportSeeds -update-seeds", p)
		}
	}
}
