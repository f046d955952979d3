package stable

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/wasmrun/wasmrun/vfs"
)

// FuzzOpenStore writes arbitrary bytes as a store file, opens it read-only, checks it with
// Fsck and reads everything it holds (walkAll): Open fails with one of its documented errors
// naming the file, or the FS works; nothing panics, and a store that Fsck passes reads without
// an error. A store Fsck passes is then opened for writing and read again, and Close must
// succeed. (A damaged store is not written to: bbolt rewrites the leaf pages a commit touches
// as they are, so a commit would copy the damage, perhaps gigabytes of it. Such a store is for
// reading what can be read, read-only.) The seed corpus (testdata/fuzz/FuzzOpenStore) holds
// a real small store, which TestFuzzSeed regenerates; go test runs the corpus every time,
// go test -fuzz FuzzOpenStore mutates it.
func FuzzOpenStore(f *testing.F) {
	// Collect garbage all the time: a slice bbolt makes past the end of a page it copied into
	// the Go heap is fatal only when the collector finds it (4a6765a0c75d1405).
	defer debug.SetGCPercent(debug.SetGCPercent(1))
	f.Add([]byte{})
	f.Add([]byte("wasmrun stable store\n"))
	f.Add(leafCycleStore(f))
	f.Fuzz(fuzzOpenStore)
}

// leafCycleStore returns a store whose pages bucket is a tree of height 2 (a file of 20
// pages, two to a leaf), its third leaf damaged into a branch page whose one child is the
// tree's root: before Open read the header of leaf pages, it opened, and reading the file
// made bbolt recurse until the stack overflowed, a fatal error.
func leafCycleStore(tb testing.TB) []byte {
	path := filepath.Join(tb.TempDir(), "cycle.store")
	f := openT(tb, path, Options{PageSize: MinPageSize, boltPageSize: 4096, NoSync: true, CommitInterval: -1})
	writeFileT(tb, f, "/f", bytes.Repeat([]byte("twenty pages "), 20*MinPageSize/13))
	closeChecked(tb, f)
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	const ps, hdr, elem = 4096, 16, 16
	le := binary.LittleEndian
	page := func(id uint64) []byte { return b[id*ps : (id+1)*ps] }
	meta := page(0)
	if le.Uint64(page(1)[hdr+48:]) > le.Uint64(meta[hdr+48:]) {
		meta = page(1)
	}
	b = b[:le.Uint64(meta[hdr+40:])*ps] // the slack bbolt grows a file by is zeros
	var root uint64                     // of the pages bucket, named in the root bucket's leaf
	rb := page(le.Uint64(meta[hdr+16:]))
	for i := range int(le.Uint16(rb[10:])) {
		e := rb[hdr+i*elem:]
		k := hdr + i*elem + int(le.Uint32(e[4:]))
		if n := int(le.Uint32(e[8:])); string(rb[k:k+n]) == "pages" {
			root = le.Uint64(rb[k+n:])
		}
	}
	rp := page(root)
	if root == 0 || le.Uint16(rp[8:]) != 0x01 || le.Uint16(rp[10:]) < 4 {
		tb.Fatalf("the pages bucket is not a tree of height 2 (root page %d)", root)
	}
	leaf := page(le.Uint64(rp[hdr+2*elem+8:]))
	le.PutUint16(leaf[8:], 0x01) // a branch page
	le.PutUint16(leaf[10:], 1)
	le.PutUint32(leaf[12:], 0)
	le.PutUint32(leaf[hdr:], elem) // its key right after the element
	le.PutUint32(leaf[hdr+4:], 1)
	le.PutUint64(leaf[hdr+8:], root)
	return b
}

// TestLeafCycleStore checks that the leafCycleStore seed of FuzzOpenStore is refused by Open
// for what it is, a branch page where a leaf belongs.
func TestLeafCycleStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cycle.store")
	if err := os.WriteFile(path, leafCycleStore(t), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, ro := range []bool{true, false} {
		f, err := Open(path, Options{ReadOnly: ro, LockTimeout: -1})
		if err == nil {
			f.Close()
			t.Fatalf("Open (read-only %v) of a store with a leaf-to-branch cycle succeeded", ro)
		}
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "where a leaf page belongs") {
			t.Errorf("Open: %v; want ErrCorrupt for a branch page where a leaf belongs", err)
		}
	}
}

// fuzzOpenStore is the body of FuzzOpenStore.
func fuzzOpenStore(t *testing.T, data []byte) {
	{
		path := filepath.Join(t.TempDir(), "fuzz.store")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		fsys, err := Open(path, Options{ReadOnly: true, LockTimeout: -1})
		if err != nil {
			var pe *fs.PathError
			if !errors.As(err, &pe) || pe.Path != path {
				t.Fatalf("Open error %q does not name the file", err)
			}
			if !errors.Is(err, ErrNotStore) && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrNewerFormat) && !errors.Is(err, ErrOlderFormat) {
				t.Fatalf("Open error %q is none of ErrNotStore, ErrCorrupt, ErrNewerFormat, ErrOlderFormat", err)
			}
			return
		}
		rep, err := fsys.Fsck()
		if err != nil && !errors.Is(err, ErrCorrupt) {
			t.Errorf("Fsck error %q is not ErrCorrupt", err)
		}
		ok := err == nil && rep.OK()
		if errs := walkAll(fsys); ok && len(errs) > 0 {
			t.Errorf("Fsck passes the store, but reading it fails: %s", strings.Join(errs, "; "))
		}
		if err := fsys.Close(); err != nil {
			t.Errorf("Close of a read-only store: %v", err)
		}
		if !ok {
			return
		}
		fsys, err = Open(path, Options{LockTimeout: -1, NoSync: true, CommitInterval: -1})
		if err != nil {
			t.Fatalf("Open for writing of a store Fsck passes: %v", err)
		}
		if errs := walkAll(fsys); len(errs) > 0 {
			t.Errorf("reading a store Fsck passes, open for writing: %s", strings.Join(errs, "; "))
		}
		if err := fsys.Close(); err != nil {
			t.Errorf("Close of a store Fsck passes: %v", err)
		}
	}
}

// walkAll lists every directory reachable from the root, stats and reads every file and reads
// every symlink, within bounds, and returns the errors met.
func walkAll(f *FS) []string {
	var errs []string
	fail := func(what string, e vfs.Errno) {
		if len(errs) < 10 {
			errs = append(errs, what+": "+e.Error())
		}
	}
	buf := make([]byte, 64<<10)
	seen := map[vfs.Ino]bool{}
	queue := []vfs.Ino{f.Root()}
	for steps := 0; len(queue) > 0 && steps < 2000; steps++ {
		d := queue[0]
		queue = queue[1:]
		h, e := f.Open(d, vfs.OpenRead)
		if e != vfs.ESUCCESS {
			fail("open dir "+strconv.FormatUint(uint64(d), 10), e)
			continue
		}
		var ents []vfs.DirEntry
		e = h.ReadDir(0, func(de *vfs.DirEntry) bool {
			c := *de
			c.Name = bytes.Clone(de.Name)
			ents = append(ents, c)
			return len(ents) < 1000
		})
		h.Close()
		if e != vfs.ESUCCESS {
			fail("readdir "+strconv.FormatUint(uint64(d), 10), e)
		}
		for _, de := range ents {
			if ino, _, e := f.Lookup(d, string(de.Name)); e != vfs.ESUCCESS || ino != de.Ino {
				fail("lookup "+strconv.Quote(string(de.Name)), e)
			}
			if seen[de.Ino] {
				continue
			}
			seen[de.Ino] = true
			st, e := f.Stat(de.Ino)
			if e != vfs.ESUCCESS {
				fail("stat "+strconv.Quote(string(de.Name)), e)
				continue
			}
			switch st.Type {
			case vfs.TypeDir:
				queue = append(queue, de.Ino)
			case vfs.TypeSymlink:
				if _, e := f.Readlink(de.Ino); e != vfs.ESUCCESS {
					fail("readlink "+strconv.Quote(string(de.Name)), e)
				}
			case vfs.TypeRegular:
				h, e := f.Open(de.Ino, vfs.OpenRead)
				if e != vfs.ESUCCESS {
					fail("open "+strconv.Quote(string(de.Name)), e)
					continue
				}
				for off := int64(0); off < min(st.Size, 1<<20); off += int64(len(buf)) {
					if _, e := h.ReadAt(buf, off); e != vfs.ESUCCESS {
						fail("read "+strconv.Quote(string(de.Name)), e)
						break
					}
				}
				h.Close()
			}
		}
	}
	return errs
}

// fuzzSeed is the seed store of FuzzOpenStore, in the corpus file format of go test.
const fuzzSeed = "testdata/fuzz/FuzzOpenStore/store"

// TestFuzzSeed checks that the seed store of FuzzOpenStore is a store of the current format
// that Fsck passes, so that the fuzzer starts from the real thing. With STABLE_FUZZ_SEED=write
// it makes the seed again (after a format change): a small store (4 KiB file and bbolt pages)
// with a directory, files (one with a hole), a hard link and a symlink, cut to the pages
// bbolt uses.
func TestFuzzSeed(t *testing.T) {
	if os.Getenv("STABLE_FUZZ_SEED") == "write" {
		writeFuzzSeed(t)
	}
	b, err := os.ReadFile(fuzzSeed)
	if err != nil {
		t.Fatalf("%v (make it with STABLE_FUZZ_SEED=write go test -run TestFuzzSeed ./stable)", err)
	}
	lit, ok := strings.CutPrefix(strings.TrimSpace(string(b)), "go test fuzz v1\n[]byte(")
	lit, ok2 := strings.CutSuffix(lit, ")")
	data, err := strconv.Unquote(lit)
	if !ok || !ok2 || err != nil {
		t.Fatalf("%s: not a corpus file of one []byte (%v)", fuzzSeed, err)
	}
	path := filepath.Join(t.TempDir(), "seed.store")
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	f := openT(t, path, Options{ReadOnly: true})
	defer f.Close()
	rep := checkFsck(t, f)
	if rep.Files < 2 || rep.Dirs < 2 || rep.Symlinks < 1 || rep.Pages < 2 {
		t.Errorf("the seed store holds too little to start from: %v", rep)
	}
	if errs := walkAll(f); len(errs) > 0 {
		t.Errorf("reading the seed store: %v", errs)
	}
	t.Logf("seed: %d bytes; %v", len(data), rep)
}

func writeFuzzSeed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "seed.store")
	f := openT(t, path, Options{PageSize: MinPageSize, boltPageSize: 4096, NoSync: true, CommitInterval: -1})
	mkdirT(t, f, "/d")
	file := writeFileT(t, f, "/d/f", []byte("a small file\n"))
	must(t, f.Link(file, f.Root(), "link"), "link")
	_, e := f.Create(f.Root(), "sym", vfs.TypeSymlink, 0o777, "d/f")
	must(t, e, "symlink")
	h, e := f.Open(writeFileT(t, f, "/d/sparse", []byte("first page")), vfs.OpenWrite)
	must(t, e, "open")
	_, e = h.WriteAt([]byte("third page"), 2*MinPageSize)
	must(t, e, "write")
	h.Close()
	closeChecked(t, f)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Cut the file to bbolt's high-water mark, the pgid of the newer meta page: the rest is
	// the slack bbolt grows the file by (zeros).
	ps := int(binary.LittleEndian.Uint32(b[16+8:]))
	txid := func(m int) uint64 { return binary.LittleEndian.Uint64(b[m+16+48:]) }
	pgid := func(m int) int { return int(binary.LittleEndian.Uint64(b[m+16+40:])) }
	meta := 0
	if txid(ps) > txid(0) {
		meta = ps
	}
	b = b[:pgid(meta)*ps]
	corpus := "go test fuzz v1\n[]byte(" + strconv.Quote(string(b)) + ")\n"
	if err := os.MkdirAll(filepath.Dir(fuzzSeed), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(fuzzSeed, []byte(corpus), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s: a store of %d bytes", fuzzSeed, len(b))
}
