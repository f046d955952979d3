package stable

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wasmrun/wasmrun/vfs"
)

// TestFsckFindsDamage damages a store one invariant at a time, with raw writes to its buckets,
// and checks that Fsck names the damage.
func TestFsckFindsDamage(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "base.store")
	f := openT(t, base, Options{NoSync: true})
	mkdirT(t, f, "/d")
	mkdirT(t, f, "/d/sub")
	fileIno := writeFileT(t, f, "/d/f", []byte(strings.Repeat("x", 10000)))
	gIno := writeFileT(t, f, "/g", []byte("gg"))
	must(t, f.Link(gIno, f.Root(), "h"), "link")
	dIno := mustIno(t, f, "/d")
	subIno := mustIno(t, f, "/d/sub")
	ps := int(f.ps)
	closeChecked(t, f)
	baseBytes, err := os.ReadFile(base)
	if err != nil {
		t.Fatal(err)
	}
	// seqOf returns the sequence number of the entry name of directory dir.
	seqOf := func(w rawWriter, dir vfs.Ino, name string) uint64 {
		seq, _, _, ok := decodeNameVal(w.get(bDirents, nameKey(dir, name)))
		if !ok {
			t.Fatalf("entry %q of %d unreadable", name, dir)
		}
		return seq
	}
	// putEntry adds an entry under both of its keys.
	putEntry := func(w rawWriter, dir vfs.Ino, name string, seq uint64, typ vfs.FileType, ino vfs.Ino) {
		w.put(bDirents, nameKey(dir, name), encodeNameVal(seq, typ, ino))
		w.put(bDirSeqs, pairKey(uint64(dir), seq), encodeEntryVal(typ, ino, name))
	}
	delEntry := func(w rawWriter, dir vfs.Ino, name string) {
		w.del(bDirSeqs, pairKey(uint64(dir), seqOf(w, dir, name)))
		w.del(bDirents, nameKey(dir, name))
	}
	getInode := func(w rawWriter, ino vfs.Ino) *inode {
		n := &inode{}
		if !decodeInode(n, w.get(bInodes, u64key(uint64(ino)))) {
			t.Fatalf("inode %d unreadable", ino)
		}
		n.ino = ino
		return n
	}
	putInode := func(w rawWriter, n *inode) { w.put(bInodes, u64key(uint64(n.ino)), encodeInode(n)) }
	page := []byte{1}

	for _, tc := range []struct {
		name   string
		damage func(w rawWriter)
		want   string
	}{
		{"entry removed", func(w rawWriter) { delEntry(w, dIno, "f") }, "not reachable from the root"},
		{"name without its seq", func(w rawWriter) { w.del(bDirSeqs, pairKey(uint64(dIno), seqOf(w, dIno, "f"))) },
			"no entry under its sequence number"},
		{"seq without its name", func(w rawWriter) { w.del(bDirents, nameKey(dIno, "f")) },
			`entry "f": sequence number 2 without its name`},
		{"seq holds another entry", func(w rawWriter) {
			w.put(bDirSeqs, pairKey(uint64(dIno), seqOf(w, dIno, "f")), encodeEntryVal(vfs.TypeRegular, fileIno, "other"))
		}, `holds "other"`},
		{"seq past the directory's next", func(w rawWriter) {
			delEntry(w, dIno, "f")
			putEntry(w, dIno, "f", 7, vfs.TypeRegular, fileIno)
		}, "not below the directory's next, 3"},
		{"seq out of range", func(w rawWriter) {
			w.put(bDirSeqs, pairKey(uint64(dIno), vfs.MaxCookie), encodeEntryVal(vfs.TypeRegular, fileIno, "far"))
		}, "out of range"},
		{"nlink too high", func(w rawWriter) { n := getInode(w, gIno); n.nlink = 3; putInode(w, n) },
			"nlink 3, want 2"},
		{"directory nlink", func(w rawWriter) { n := getInode(w, dIno); n.nlink = 2; putInode(w, n) },
			"nlink 2, want 3"},
		{"entry count", func(w rawWriter) { n := getInode(w, dIno); n.nent = 5; putInode(w, n) },
			"2 entries, record says 5"},
		{"page past the end", func(w rawWriter) { w.put(bPages, pairKey(uint64(gIno), 3), page) },
			"data past its end"},
		{"page of a missing inode", func(w rawWriter) { w.put(bPages, pairKey(999, 0), page) },
			"of missing inode 999"},
		{"page of a directory", func(w rawWriter) { w.put(bPages, pairKey(uint64(dIno), 0), page) },
			"a dir"},
		{"zero page stored", func(w rawWriter) { w.put(bPages, pairKey(uint64(fileIno), 0), make([]byte, ps)) },
			"trailing zeros"},
		{"trailing zeros", func(w rawWriter) { w.put(bPages, pairKey(uint64(fileIno), 0), []byte("ab\x00")) },
			"trailing zeros"},
		{"long page", func(w rawWriter) { w.put(bPages, pairKey(uint64(fileIno), 0), make([]byte, ps+1)) },
			"want 1 to"},
		{"data past the end of the file", func(w rawWriter) {
			p := make([]byte, ps)
			p[ps-1] = 'z'
			w.put(bPages, pairKey(uint64(gIno), 0), p)
		}, "data past its end"},
		{"orphan with links", func(w rawWriter) { w.put(bOrphans, u64key(uint64(gIno)), nil) },
			"has nlink 2"},
		{"orphan of nothing", func(w rawWriter) { w.put(bOrphans, u64key(777), nil) },
			"orphan 777: no such inode"},
		{"unlinked, not an orphan", func(w rawWriter) {
			n := getInode(w, gIno)
			n.nlink = 0
			putInode(w, n)
			delEntry(w, rootIno, "g")
			delEntry(w, rootIno, "h")
		}, "no links and not an orphan"},
		{"entry of a missing inode", func(w rawWriter) { putEntry(w, rootIno, "ghost", 1, vfs.TypeRegular, 555) },
			"names missing inode 555"},
		{"entry type", func(w rawWriter) { putEntry(w, rootIno, "g", seqOf(w, rootIno, "g"), vfs.TypeDir, gIno) },
			"but inode"},
		{"malformed name value", func(w rawWriter) { w.put(bDirents, nameKey(rootIno, "g"), []byte{1, 2, 3}) },
			"malformed"},
		{"malformed entry value", func(w rawWriter) { w.put(bDirSeqs, pairKey(uint64(rootIno), seqOf(w, rootIno, "g")), []byte{1}) },
			"malformed"},
		{"invalid name", func(w rawWriter) { putEntry(w, rootIno, "a/b", 1, vfs.TypeRegular, gIno) }, "invalid name"},
		{"malformed inode", func(w rawWriter) { w.put(bInodes, u64key(uint64(gIno)), []byte{1}) },
			"malformed record"},
		{"wrong parent", func(w rawWriter) { n := getInode(w, subIno); n.parent = rootIno; putInode(w, n) },
			"says its parent is 1"},
		{"directory linked twice", func(w rawWriter) { putEntry(w, rootIno, "sub2", 1, vfs.TypeDir, subIno) },
			"named by 2 entries"},
		{"inode past nextino", func(w rawWriter) { w.put(bSuper, keyNextIno, u64key(uint64(gIno))) },
			"not below the next inode number"},
		{"byte counter", func(w rawWriter) { w.put(bSuper, keyBytes, u64key(1)) }, "superblock: 10002 bytes"},
		{"inode counter", func(w rawWriter) { w.put(bSuper, keyInodes, u64key(1)) }, "superblock: 5 inodes"},
		{"missing creation time", func(w rawWriter) { w.del(bSuper, keyCreated) }, ""}, // Open refuses
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "damaged.store")
			if err := os.WriteFile(p, baseBytes, 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := openRaw(p)
			if err != nil {
				t.Fatal(err)
			}
			rawUpdate(t, s, tc.damage)
			f, err := Open(p, Options{ReadOnly: true})
			if tc.want == "" {
				if err == nil {
					f.Close()
					t.Fatal("Open succeeded")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			r, err := f.Fsck()
			if err != nil {
				t.Fatal(err)
			}
			if r.OK() || !strings.Contains(r.String(), tc.want) {
				t.Errorf("fsck report does not mention %q:\n%v", tc.want, r)
			}
		})
	}
}
