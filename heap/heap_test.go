package heap

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"testing"

	"github.com/wasmrun/wasmrun/vfs"
)

// must fails the test unless e is ESUCCESS.
func must(t testing.TB, e vfs.Errno) {
	t.Helper()
	if e != vfs.ESUCCESS {
		t.Fatalf("unexpected errno %v", e)
	}
}

func wantErrno(t testing.TB, got, want vfs.Errno) {
	t.Helper()
	if got != want {
		t.Fatalf("errno %v, want %v", got, want)
	}
}

// createFile creates name in the root and opens it read-write.
func createFile(t testing.TB, fsys *FS, name string) (vfs.Ino, vfs.File) {
	t.Helper()
	ino, e := fsys.Create(fsys.Root(), name, vfs.TypeRegular, 0o644, "")
	must(t, e)
	f, e := fsys.Open(ino, vfs.OpenRead|vfs.OpenWrite)
	must(t, e)
	return ino, f
}

func readAll(t testing.TB, f vfs.File, size int64) []byte {
	t.Helper()
	buf := make([]byte, size+10)
	n, e := f.ReadAt(buf, 0)
	must(t, e)
	return buf[:n]
}

// pagesStored is the number of pages ino stores, the first one included.
func pagesStored(fsys *FS, ino vfs.Ino) int {
	n := inodeOf(fsys, ino)
	n.mu.RLock()
	defer n.mu.RUnlock()
	k := 0
	if n.head != nil {
		k++
	}
	if n.pages != nil {
		k += n.pages.Len()
	}
	return k
}

// bytesStored is the bytes ino's pages are charged.
func bytesStored(fsys *FS, ino vfs.Ino) int64 {
	n := inodeOf(fsys, ino)
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.storedBytes()
}

func inodeOf(fsys *FS, ino vfs.Ino) *inode {
	fsys.mu.RLock()
	defer fsys.mu.RUnlock()
	return fsys.inodes[ino]
}

// seed returns the seed of a randomised test: HEAP_SEED if set, else a fresh one. It is logged.
func seed(t *testing.T) uint64 {
	s := rand.Uint64()
	if v := os.Getenv("HEAP_SEED"); v != "" {
		var err error
		if s, err = strconv.ParseUint(v, 10, 64); err != nil {
			t.Fatalf("HEAP_SEED: %v", err)
		}
	}
	t.Logf("seed %d (rerun with HEAP_SEED=%d)", s, s)
	return s
}

func pattern(n int, salt byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7) ^ salt | 1 // never zero, so it is always stored
	}
	return b
}

func TestWriteReadPageBoundaries(t *testing.T) {
	const P = PageSize
	tests := []struct {
		name      string
		off       int64
		n         int
		wantPages int
	}{
		{"empty at 0", 0, 0, 0},
		{"one byte", 0, 1, 1},
		{"last byte of page 0", P - 1, 1, 1},
		{"first byte of page 1", P, 1, 1},
		{"straddles 0|1", P - 3, 6, 2},
		{"exactly one page", 0, P, 1},
		{"aligned two pages", P, 2 * P, 2},
		{"unaligned three pages", P/2 + 1, 2 * P, 3},
		{"spans five pages", P - 1, 3*P + 2, 5},
		{"far offset", 1 << 40, 100, 1},
		{"far offset straddling", 1<<40 - 50, 100, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := New(Options{})
			ino, f := createFile(t, fsys, "f")
			data := pattern(tt.n, 0x5a)
			c, e := f.WriteAt(data, tt.off)
			must(t, e)
			if c != tt.n {
				t.Fatalf("wrote %d, want %d", c, tt.n)
			}
			st, e := fsys.Stat(ino)
			must(t, e)
			wantSize := tt.off + int64(tt.n)
			if tt.n == 0 {
				wantSize = 0
			}
			if st.Size != wantSize {
				t.Fatalf("size %d, want %d", st.Size, wantSize)
			}
			if got := pagesStored(fsys, ino); got != tt.wantPages {
				t.Fatalf("%d pages stored, want %d", got, tt.wantPages)
			}
			// Read back exactly, then with a window that includes zeros before and EOF after.
			got := make([]byte, tt.n)
			c, e = f.ReadAt(got, tt.off)
			must(t, e)
			if c != tt.n || !bytes.Equal(got, data) {
				t.Fatalf("read back %d bytes, mismatch", c)
			}
			before := min(tt.off, 5)
			win := make([]byte, int(before)+tt.n+7)
			for i := range win {
				win[i] = 0xff
			}
			c, e = f.ReadAt(win, tt.off-before)
			must(t, e)
			if c != int(before)+tt.n {
				t.Fatalf("windowed read %d bytes, want %d (short at EOF)", c, int(before)+tt.n)
			}
			want := append(make([]byte, before), data...)
			if !bytes.Equal(win[:c], want) {
				t.Fatalf("windowed read mismatch")
			}
			c, e = f.ReadAt(win, wantSize)
			if c != 0 || e != 0 {
				t.Fatalf("read at EOF = %d, %v", c, e)
			}
			if u := fsys.Usage(); u.Bytes != bytesStored(fsys, ino) {
				t.Fatalf("usage %d bytes, %d stored", u.Bytes, bytesStored(fsys, ino))
			}
			if got := fsys.bytes.Load(); got != InodeCost*2+DirCost+EntryCost+1+bytesStored(fsys, ino) {
				t.Fatalf("%d bytes charged", got)
			}
		})
	}
}

func TestZeroWritesLeaveHoles(t *testing.T) {
	const P = PageSize
	tests := []struct {
		name      string
		first     []byte // written at 0 before
		off       int64
		zeros     int
		wantPages int
	}{
		{"zeros into nothing", nil, 0, 3 * P, 0},
		{"zeros past EOF", nil, 10 * P, 1, 0},
		{"whole page of zeros frees it", pattern(2*P, 1), 0, P, 1},
		{"partial zeros keep the page", pattern(2*P, 1), 1, P, 2},
		{"two whole pages of zeros", pattern(3*P, 1), P, 2 * P, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := New(Options{})
			ino, f := createFile(t, fsys, "f")
			model := append([]byte(nil), tt.first...)
			if tt.first != nil {
				_, e := f.WriteAt(tt.first, 0)
				must(t, e)
			}
			_, e := f.WriteAt(make([]byte, tt.zeros), tt.off)
			must(t, e)
			if end := int(tt.off) + tt.zeros; end > len(model) {
				model = append(model, make([]byte, end-len(model))...)
			}
			clear(model[tt.off : int(tt.off)+tt.zeros])
			if got := pagesStored(fsys, ino); got != tt.wantPages {
				t.Fatalf("%d pages stored, want %d", got, tt.wantPages)
			}
			if got := readAll(t, f, int64(len(model))); !bytes.Equal(got, model) {
				t.Fatalf("content mismatch")
			}
		})
	}
}

func TestTruncate(t *testing.T) {
	const P = PageSize
	tests := []struct {
		name      string
		size      int   // written first, a non-zero pattern
		trunc     int64 // truncate to
		wantPages int
	}{
		{"to zero", 3 * P, 0, 0},
		{"to page boundary", 3 * P, P, 1},
		{"mid page", 3 * P, P + 10, 2},
		{"one byte", 3 * P, 1, 1},
		{"same size", 2*P + 5, 2*P + 5, 3},
		{"grow adds a hole", P, 100 * P, 1},
		{"grow from empty", 0, 5 * P, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := New(Options{})
			ino, f := createFile(t, fsys, "f")
			data := pattern(tt.size, 3)
			_, e := f.WriteAt(data, 0)
			must(t, e)
			before, stored := fsys.Usage().Bytes, bytesStored(fsys, ino)
			must(t, fsys.SetAttr(ino, &vfs.Attr{Valid: vfs.AttrSize, Size: tt.trunc}))
			st, _ := fsys.Stat(ino)
			if st.Size != tt.trunc {
				t.Fatalf("size %d, want %d", st.Size, tt.trunc)
			}
			if got := pagesStored(fsys, ino); got != tt.wantPages {
				t.Fatalf("%d pages, want %d", got, tt.wantPages)
			}
			freed := stored - bytesStored(fsys, ino)
			if got := before - fsys.Usage().Bytes; got != freed {
				t.Fatalf("freed %d bytes, want %d", got, freed)
			}
			// Growing again must show zeros where the old data was cut off.
			must(t, fsys.SetAttr(ino, &vfs.Attr{Valid: vfs.AttrSize, Size: int64(tt.size) + P}))
			want := make([]byte, tt.size+P)
			copy(want, data[:min(int64(len(data)), tt.trunc)])
			if got := readAll(t, f, int64(len(want))); !bytes.Equal(got, want) {
				t.Fatalf("content after shrink and grow differs")
			}
		})
	}
}

func TestTruncateTailPageOfZerosIsFreed(t *testing.T) {
	fsys := New(Options{})
	ino, f := createFile(t, fsys, "f")
	data := make([]byte, PageSize)
	data[PageSize-1] = 1 // the only non-zero byte of the page
	_, e := f.WriteAt(data, 0)
	must(t, e)
	must(t, fsys.SetAttr(ino, &vfs.Attr{Valid: vfs.AttrSize, Size: PageSize - 1}))
	if got := pagesStored(fsys, ino); got != 0 {
		t.Fatalf("%d pages stored after cutting the only non-zero byte", got)
	}
}

func TestRandomIOAgainstModel(t *testing.T) {
	r := rand.New(rand.NewPCG(seed(t), 0))
	fsys := New(Options{})
	ino, f := createFile(t, fsys, "f")
	var model []byte
	for i := range 2000 {
		off := r.Int64N(6 * PageSize)
		n := r.IntN(3 * PageSize)
		switch r.IntN(5) {
		case 0, 1: // write random or zero bytes
			p := make([]byte, n)
			if r.IntN(3) != 0 {
				for j := range p {
					p[j] = byte(r.Uint32())
				}
			}
			c, e := f.WriteAt(p, off)
			must(t, e)
			if c != n {
				t.Fatalf("op %d: short write", i)
			}
			if n == 0 {
				break
			}
			if end := int(off) + n; end > len(model) {
				model = append(model, make([]byte, end-len(model))...)
			}
			copy(model[off:], p)
		case 2: // truncate
			size := r.Int64N(6 * PageSize)
			must(t, fsys.SetAttr(ino, &vfs.Attr{Valid: vfs.AttrSize, Size: size}))
			if int(size) < len(model) {
				model = model[:size]
			} else {
				model = append(model, make([]byte, int(size)-len(model))...)
			}
		case 3: // append
			p := pattern(n, byte(i))
			c, size, e := f.Append(p)
			must(t, e)
			model = append(model, p...)
			if c != n || size != int64(len(model)) {
				t.Fatalf("op %d: append = %d, %d; want %d, %d", i, c, size, n, len(model))
			}
		case 4: // read a window
			p := make([]byte, n)
			c, e := f.ReadAt(p, off)
			must(t, e)
			want := 0
			if int(off) < len(model) {
				want = min(n, len(model)-int(off))
			}
			if c != want || c > 0 && !bytes.Equal(p[:c], model[off:int(off)+c]) {
				t.Fatalf("op %d: read at %d len %d: %d bytes, want %d", i, off, n, c, want)
			}
		}
		st, _ := fsys.Stat(ino)
		if st.Size != int64(len(model)) {
			t.Fatalf("op %d: size %d, model %d", i, st.Size, len(model))
		}
	}
	if got := readAll(t, f, int64(len(model))); !bytes.Equal(got, model) {
		t.Fatal("final content differs from the model")
	}
	// Every stored page holds a non-zero byte, and no page is stored past the end.
	n := inodeOf(fsys, ino)
	if n.head != nil {
		if isZero(n.head) {
			t.Errorf("page 0 (%d bytes) is stored but all zeros", len(n.head))
		}
		if len(model) > len(n.head) && !isZero(model[len(n.head):min(len(model), PageSize)]) {
			t.Errorf("page 0 is %d bytes, too short for the data", len(n.head))
		}
	}
	if n.pages != nil {
		n.pages.Scan(func(r pageRef) bool {
			if isZero(r.data[:]) {
				t.Errorf("page %d is stored but all zeros", r.idx)
			}
			if r.idx*PageSize >= int64(len(model)) {
				t.Errorf("page %d is stored past the end %d", r.idx, len(model))
			}
			return true
		})
	}
}

func TestBadArguments(t *testing.T) {
	fsys := New(Options{})
	ino, f := createFile(t, fsys, "f")
	dir, e := fsys.Create(fsys.Root(), "d", vfs.TypeDir, 0o755, "")
	must(t, e)
	ro, e := fsys.Open(ino, vfs.OpenRead)
	must(t, e)
	wo, e := fsys.Open(ino, vfs.OpenWrite)
	must(t, e)
	df, e := fsys.Open(dir, vfs.OpenRead)
	must(t, e)
	closed, e := fsys.Open(ino, vfs.OpenRead|vfs.OpenWrite)
	must(t, e)
	must(t, closed.Close())
	buf := make([]byte, 4)
	tests := []struct {
		name string
		op   func() vfs.Errno
		want vfs.Errno
	}{
		{"read negative offset", func() vfs.Errno { _, e := f.ReadAt(buf, -1); return e }, vfs.EINVAL},
		{"write negative offset", func() vfs.Errno { _, e := f.WriteAt(buf, -1); return e }, vfs.EINVAL},
		{"write at max size", func() vfs.Errno { _, e := f.WriteAt(buf, MaxFileSize); return e }, vfs.EFBIG},
		{"write across max size", func() vfs.Errno { _, e := f.WriteAt(buf, MaxFileSize-2); return e }, vfs.EFBIG},
		{"write read-only", func() vfs.Errno { _, e := ro.WriteAt(buf, 0); return e }, vfs.EBADF},
		{"append read-only", func() vfs.Errno { _, _, e := ro.Append(buf); return e }, vfs.EBADF},
		{"read write-only", func() vfs.Errno { _, e := wo.ReadAt(buf, 0); return e }, vfs.EBADF},
		{"read dir", func() vfs.Errno { _, e := df.ReadAt(buf, 0); return e }, vfs.EISDIR},
		{"readdir file", func() vfs.Errno { return f.ReadDir(0, func(*vfs.DirEntry) bool { return true }) }, vfs.ENOTDIR},
		{"read closed", func() vfs.Errno { _, e := closed.ReadAt(buf, 0); return e }, vfs.EBADF},
		{"close twice", func() vfs.Errno { return closed.Close() }, vfs.EBADF},
		{"sync closed", func() vfs.Errno { return closed.Sync(false) }, vfs.EBADF},
		{"sync", func() vfs.Errno { return f.Sync(false) }, vfs.ESUCCESS},
		{"open dir for write", func() vfs.Errno { _, e := fsys.Open(dir, vfs.OpenWrite); return e }, vfs.EISDIR},
		{"open missing", func() vfs.Errno { _, e := fsys.Open(12345, vfs.OpenRead); return e }, vfs.ENOENT},
		{"truncate negative", func() vfs.Errno { return fsys.SetAttr(ino, &vfs.Attr{Valid: vfs.AttrSize, Size: -1}) }, vfs.EINVAL},
		{"truncate too big", func() vfs.Errno { return fsys.SetAttr(ino, &vfs.Attr{Valid: vfs.AttrSize, Size: MaxFileSize + 1}) }, vfs.EFBIG},
		{"truncate dir", func() vfs.Errno { return fsys.SetAttr(dir, &vfs.Attr{Valid: vfs.AttrSize}) }, vfs.EISDIR},
		{"lookup in file", func() vfs.Errno { _, _, e := fsys.Lookup(ino, "x"); return e }, vfs.ENOTDIR},
		{"lookup dot", func() vfs.Errno { _, _, e := fsys.Lookup(dir, "."); return e }, vfs.EINVAL},
		{"lookup dotdot in file", func() vfs.Errno { _, _, e := fsys.Lookup(ino, ".."); return e }, vfs.ENOTDIR},
		{"create slash", func() vfs.Errno { _, e := fsys.Create(dir, "a/b", vfs.TypeRegular, 0, ""); return e }, vfs.EINVAL},
		{"create long name", func() vfs.Errno {
			_, e := fsys.Create(dir, string(bytes.Repeat([]byte("n"), vfs.NameMax+1)), vfs.TypeRegular, 0, "")
			return e
		}, vfs.ENAMETOOLONG},
		{"create socket", func() vfs.Errno { _, e := fsys.Create(dir, "s", vfs.TypeSocketStrm, 0, ""); return e }, vfs.EINVAL},
		{"create in file", func() vfs.Errno { _, e := fsys.Create(ino, "s", vfs.TypeRegular, 0, ""); return e }, vfs.ENOTDIR},
		{"readlink file", func() vfs.Errno { _, e := fsys.Readlink(ino); return e }, vfs.EINVAL},
		{"link dir", func() vfs.Errno { return fsys.Link(dir, fsys.Root(), "x") }, vfs.EPERM},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantErrno(t, tt.op(), tt.want) })
	}
}

func TestNlinkAndUnlinkWhileOpen(t *testing.T) {
	fsys := New(Options{})
	root := fsys.Root()
	base := fsys.Usage()
	ino, f := createFile(t, fsys, "f")
	data := pattern(3*PageSize, 9)
	_, e := f.WriteAt(data, 0)
	must(t, e)
	must(t, fsys.Link(ino, root, "g"))
	st, _ := fsys.Stat(ino)
	if st.Nlink != 2 {
		t.Fatalf("nlink %d after link, want 2", st.Nlink)
	}
	must(t, fsys.Remove(root, "f", false))
	must(t, fsys.Remove(root, "g", false))
	st, e = fsys.Stat(ino)
	must(t, e)
	if st.Nlink != 0 {
		t.Fatalf("nlink %d after unlinking both, want 0", st.Nlink)
	}
	if got := readAll(t, f, int64(len(data))); !bytes.Equal(got, data) {
		t.Fatal("data of an unlinked open file is not readable")
	}
	if u := fsys.Usage(); u.Inodes != base.Inodes+1 || u.Bytes < base.Bytes+3*PageSize {
		t.Fatalf("usage %+v while open: storage released too early", u)
	}
	wantErrno(t, fsys.Link(ino, root, "h"), vfs.ENOENT)
	must(t, f.Close())
	if u := fsys.Usage(); u != base {
		t.Fatalf("usage %+v after last close, want %+v", u, base)
	}
	_, e = fsys.Stat(ino)
	wantErrno(t, e, vfs.ENOENT)

	// Directory link counts: 2 + subdirectories, and the parent gains one per subdirectory.
	d, e := fsys.Create(root, "d", vfs.TypeDir, 0o755, "")
	must(t, e)
	_, e = fsys.Create(d, "s1", vfs.TypeDir, 0o755, "")
	must(t, e)
	_, e = fsys.Create(d, "s2", vfs.TypeDir, 0o755, "")
	must(t, e)
	_, e = fsys.Create(d, "file", vfs.TypeRegular, 0o644, "")
	must(t, e)
	nlink := func(ino vfs.Ino) uint64 { st, e := fsys.Stat(ino); must(t, e); return st.Nlink }
	if nlink(d) != 4 || nlink(root) != 3 {
		t.Fatalf("nlink d=%d root=%d, want 4 and 3", nlink(d), nlink(root))
	}
	must(t, fsys.Rename(d, "s1", root, "s1"))
	if nlink(d) != 3 || nlink(root) != 4 {
		t.Fatalf("after moving a subdir up: nlink d=%d root=%d, want 3 and 4", nlink(d), nlink(root))
	}
	must(t, fsys.Remove(root, "s1", true))
	if nlink(root) != 3 {
		t.Fatalf("after rmdir: nlink root=%d, want 3", nlink(root))
	}
}

func TestRename(t *testing.T) {
	type tree map[string]vfs.FileType // path -> type; parents listed before children
	tests := []struct {
		name          string
		tree          tree
		oldDir, old   string
		newDir, new   string
		want          vfs.Errno
		gone, present []string
	}{
		{"file to free name", tree{"a": vfs.TypeRegular}, "", "a", "", "b", 0, []string{"a"}, []string{"b"}},
		{"file over file", tree{"a": vfs.TypeRegular, "b": vfs.TypeRegular}, "", "a", "", "b", 0, []string{"a"}, []string{"b"}},
		{"file into dir", tree{"a": vfs.TypeRegular, "d": vfs.TypeDir}, "", "a", "d", "a", 0, []string{"a"}, []string{"d/a"}},
		{"dir over empty dir", tree{"a": vfs.TypeDir, "a/x": vfs.TypeRegular, "b": vfs.TypeDir}, "", "a", "", "b", 0, []string{"a"}, []string{"b/x"}},
		{"dir over non-empty dir", tree{"a": vfs.TypeDir, "b": vfs.TypeDir, "b/x": vfs.TypeRegular}, "", "a", "", "b", vfs.ENOTEMPTY, nil, []string{"a", "b/x"}},
		{"dir over file", tree{"a": vfs.TypeDir, "b": vfs.TypeRegular}, "", "a", "", "b", vfs.ENOTDIR, nil, []string{"a", "b"}},
		{"file over dir", tree{"a": vfs.TypeRegular, "b": vfs.TypeDir}, "", "a", "", "b", vfs.EISDIR, nil, []string{"a", "b"}},
		{"dir into itself", tree{"a": vfs.TypeDir}, "", "a", "a", "b", vfs.EINVAL, nil, []string{"a"}},
		{"dir into own subtree", tree{"a": vfs.TypeDir, "a/b": vfs.TypeDir, "a/b/c": vfs.TypeDir}, "", "a", "a/b/c", "a", vfs.EINVAL, nil, []string{"a/b/c"}},
		{"dir onto a file in its subtree", tree{"a": vfs.TypeDir, "a/f": vfs.TypeRegular}, "", "a", "a", "f", vfs.EINVAL, nil, []string{"a/f"}},
		{"dir to sibling subtree", tree{"a": vfs.TypeDir, "ab": vfs.TypeDir}, "", "a", "ab", "a", 0, []string{"a"}, []string{"ab/a"}},
		{"missing source", tree{}, "", "a", "", "b", vfs.ENOENT, nil, nil},
		{"onto itself", tree{"a": vfs.TypeRegular}, "", "a", "", "a", 0, nil, []string{"a"}},
		{"symlink over file", tree{"a": vfs.TypeSymlink, "b": vfs.TypeRegular}, "", "a", "", "b", 0, []string{"a"}, []string{"b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := New(Options{})
			inos := map[string]vfs.Ino{"": fsys.Root()}
			walk := func(p string) (vfs.Ino, vfs.Errno) {
				ino := fsys.Root()
				for _, c := range bytes.Split([]byte(p), []byte("/")) {
					if len(c) == 0 {
						continue
					}
					var e vfs.Errno
					if ino, _, e = fsys.Lookup(ino, string(c)); e != 0 {
						return 0, e
					}
				}
				return ino, 0
			}
			for _, p := range sortedKeys(tt.tree) {
				dir, base := "", p
				if i := bytes.LastIndexByte([]byte(p), '/'); i >= 0 {
					dir, base = p[:i], p[i+1:]
				}
				ino, e := fsys.Create(inos[dir], base, tt.tree[p], 0o755, "target")
				must(t, e)
				inos[p] = ino
			}
			base := fsys.Usage()
			got := fsys.Rename(inos[tt.oldDir], tt.old, inos[tt.newDir], tt.new)
			wantErrno(t, got, tt.want)
			for _, p := range tt.gone {
				if _, e := walk(p); e != vfs.ENOENT {
					t.Errorf("%s: %v, want ENOENT", p, e)
				}
			}
			for _, p := range tt.present {
				if _, e := walk(p); e != 0 {
					t.Errorf("%s: %v", p, e)
				}
			}
			if tt.want != 0 && fsys.Usage() != base {
				t.Errorf("a failed rename changed usage: %+v, was %+v", fsys.Usage(), base)
			}
		})
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	// Shorter first puts parents before children.
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && (len(keys[j]) < len(keys[j-1]) || len(keys[j]) == len(keys[j-1]) && keys[j] < keys[j-1]); j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}

// listDir lists dir through ReadDir, resuming from the cookie every step entries, and calls
// between(cookie) at each resumption.
func listDir(t testing.TB, f vfs.File, step int, between func()) []string {
	t.Helper()
	var names []string
	var cookie uint64
	for {
		k := 0
		must(t, f.ReadDir(cookie, func(e *vfs.DirEntry) bool {
			names = append(names, string(e.Name))
			cookie = e.Next
			k++
			return k < step
		}))
		if k < step {
			return names
		}
		if between != nil {
			between()
		}
	}
}

func TestReadDirCookiesSurviveChanges(t *testing.T) {
	fsys := New(Options{})
	root := fsys.Root()
	const N = 300 // more than one internal batch
	for i := range N {
		_, e := fsys.Create(root, fmt.Sprintf("f%03d", i), vfs.TypeRegular, 0o644, "")
		must(t, e)
	}
	d, e := fsys.Open(root, vfs.OpenRead)
	must(t, e)
	defer d.Close()

	// Remove every third entry not yet listed, and the entry just listed, while listing: each
	// surviving original entry is reported exactly once.
	listed := map[string]int{}
	removed := map[string]bool{}
	var next, added int
	names := listDir(t, d, 7, func() {
		for ; next < N; next++ {
			name := fmt.Sprintf("f%03d", next)
			if _, ok := listed[name]; !ok {
				break
			}
		}
		for i := next + 1; i < min(next+10, N); i += 3 {
			name := fmt.Sprintf("f%03d", i)
			if !removed[name] {
				must(t, fsys.Remove(root, name, false))
				removed[name] = true
			}
		}
		if next > 0 {
			// The entry whose cookie we resume from.
			name := fmt.Sprintf("f%03d", next-1)
			if !removed[name] {
				must(t, fsys.Remove(root, name, false))
				removed[name] = true
			}
		}
		added++
		_, e := fsys.Create(root, fmt.Sprintf("new%03d", added), vfs.TypeRegular, 0o644, "")
		must(t, e)
	})
	for _, n := range names {
		listed[n]++
	}
	for i := range N {
		name := fmt.Sprintf("f%03d", i)
		if c := listed[name]; c > 1 || c == 0 && !removed[name] {
			t.Errorf("%s listed %d times (removed: %v)", name, c, removed[name])
		}
	}
	for n, c := range listed {
		if c != 1 {
			t.Errorf("%s listed %d times", n, c)
		}
	}
}

func TestLimits(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		fill func(t *testing.T, fsys *FS) vfs.Errno // fills until it fails, returns the errno
	}{
		{"bytes by writing", Options{MaxBytes: 64 * PageSize}, func(t *testing.T, fsys *FS) vfs.Errno {
			_, f := createFile(t, fsys, "big")
			defer f.Close()
			data := pattern(10*PageSize+3, 1)
			var off int64
			for {
				c, e := f.WriteAt(data, off)
				off += int64(c)
				if e != 0 {
					if c == len(data) {
						t.Fatalf("full count %d with %v", c, e)
					}
					return e
				}
			}
		}},
		{"bytes by appending", Options{MaxBytes: 64 * PageSize}, func(t *testing.T, fsys *FS) vfs.Errno {
			_, f := createFile(t, fsys, "big")
			defer f.Close()
			data := pattern(PageSize/3, 1)
			for {
				if _, _, e := f.Append(data); e != 0 {
					return e
				}
			}
		}},
		{"bytes by creating", Options{MaxBytes: 64 * PageSize}, func(t *testing.T, fsys *FS) vfs.Errno {
			for i := 0; ; i++ {
				if _, e := fsys.Create(fsys.Root(), fmt.Sprintf("dir%d", i), vfs.TypeDir, 0o755, ""); e != 0 {
					return e
				}
			}
		}},
		{"bytes by linking", Options{MaxBytes: 64 * PageSize}, func(t *testing.T, fsys *FS) vfs.Errno {
			ino, f := createFile(t, fsys, "f")
			f.Close()
			for i := 0; ; i++ {
				if e := fsys.Link(ino, fsys.Root(), fmt.Sprintf("link%d", i)); e != 0 {
					return e
				}
			}
		}},
		{"inodes", Options{MaxInodes: 50}, func(t *testing.T, fsys *FS) vfs.Errno {
			for i := 0; ; i++ {
				if _, e := fsys.Create(fsys.Root(), fmt.Sprintf("f%d", i), vfs.TypeSymlink, 0o777, "x"); e != 0 {
					if got := fsys.Usage().Inodes; got != 50 {
						t.Fatalf("%d inodes in use at ENOSPC, want 50", got)
					}
					return e
				}
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := New(tt.opts)
			base := fsys.Usage()
			for round := range 3 {
				wantErrno(t, tt.fill(t, fsys), vfs.ENOSPC)
				charged := fsys.bytes.Load()
				if tt.opts.MaxBytes > 0 && (charged > tt.opts.MaxBytes || charged < tt.opts.MaxBytes-PageSize-InodeCost-DirCost-EntryCost-20) {
					t.Fatalf("round %d: %d bytes charged at ENOSPC, limit %d", round, charged, tt.opts.MaxBytes)
				}
				checkConsistent(t, fsys)
				removeAll(t, fsys, fsys.Root())
				if u := fsys.Usage(); u != base {
					t.Fatalf("round %d: usage %+v after removing everything, want %+v", round, u, base)
				}
			}
		})
	}
}

// removeAll removes everything below dir.
func removeAll(t testing.TB, fsys *FS, dir vfs.Ino) {
	t.Helper()
	f, e := fsys.Open(dir, vfs.OpenRead)
	must(t, e)
	type ent struct {
		name string
		ino  vfs.Ino
		typ  vfs.FileType
	}
	var ents []ent
	must(t, f.ReadDir(0, func(e *vfs.DirEntry) bool {
		ents = append(ents, ent{string(e.Name), e.Ino, e.Type})
		return true
	}))
	must(t, f.Close())
	for _, e := range ents {
		if e.typ == vfs.TypeDir {
			removeAll(t, fsys, e.ino)
		}
		must(t, fsys.Remove(dir, e.name, e.typ == vfs.TypeDir))
	}
}

// checkConsistent recomputes every charge and link count from the tree and compares them with
// the FS's own accounting. Nothing may be open.
func checkConsistent(t testing.TB, fsys *FS) {
	t.Helper()
	fsys.mu.RLock()
	defer fsys.mu.RUnlock()
	links := map[*inode]uint64{}
	var bytes, data int64
	var walk func(d *inode)
	walk = func(d *inode) {
		links[d] += 2 // "." and its entry (or the root's own)
		d.dir.bySeq.Scan(func(e dirent) bool {
			bytes += entryBytes(e.name)
			if got, ok := d.dir.byName[e.name]; !ok || got.seq != e.seq || got.node != e.node {
				t.Errorf("entry %q missing from the name index", e.name)
			}
			if e.node.typ == vfs.TypeDir {
				links[d]++ // its ".."
				if e.node.parent != d {
					t.Errorf("dir %q has the wrong parent", e.name)
				}
				walk(e.node)
				links[e.node]-- // counted its entry already in walk
				links[e.node]++
			} else {
				links[e.node]++
			}
			return true
		})
		if len(d.dir.byName) != d.dir.bySeq.Len() {
			t.Errorf("dir %d: %d names, %d seqs", d.ino, len(d.dir.byName), d.dir.bySeq.Len())
		}
	}
	walk(fsys.root)
	if len(links) != len(fsys.inodes) {
		t.Errorf("%d inodes reachable, %d in the table", len(links), len(fsys.inodes))
	}
	for n, l := range links {
		if n.nlink != l {
			t.Errorf("inode %d: nlink %d, counted %d", n.ino, n.nlink, l)
		}
		bytes += inodeBytes(n.typ, n.target) + n.storedBytes()
		data += n.storedBytes()
	}
	if got := fsys.bytes.Load(); got != bytes {
		t.Errorf("charged %d bytes, counted %d", got, bytes)
	}
	if got := fsys.data.Load(); got != data {
		t.Errorf("%d data bytes charged, counted %d", got, data)
	}
	if got := fsys.ninode.Load(); got != int64(len(links)) {
		t.Errorf("%d inodes charged, counted %d", got, len(links))
	}
}

func TestFreedSpaceIsReusable(t *testing.T) {
	fsys := New(Options{MaxBytes: 32 * PageSize})
	_, f := createFile(t, fsys, "a")
	data := pattern(64*PageSize, 2)
	c, e := f.WriteAt(data, 0)
	wantErrno(t, e, vfs.ENOSPC)
	if c == 0 || c%PageSize != 0 {
		t.Fatalf("short write of %d bytes, want a positive whole number of pages", c)
	}
	if got := readAll(t, f, int64(c)); !bytes.Equal(got, data[:c]) {
		t.Fatal("the part written before ENOSPC is wrong")
	}
	// Other writes and creates fail too, until the file shrinks.
	_, e = fsys.Create(fsys.Root(), "b", vfs.TypeRegular, 0o644, "")
	if e != 0 && e != vfs.ENOSPC {
		t.Fatalf("create at the limit: %v", e)
	}
	must(t, fsys.SetAttr(1+fsys.Root(), &vfs.Attr{Valid: vfs.AttrSize, Size: 0}))
	c2, e := f.WriteAt(data[:c], 0)
	must(t, e)
	if c2 != c {
		t.Fatalf("after truncate wrote %d, want %d", c2, c)
	}
	must(t, f.Close())
	checkConsistent(t, fsys)
}

// TestMemoryWithinLimit checks the point of MaxBytes: filling the FS with small files, empty
// directories or file pages, the Go heap grows by at most MaxBytes plus a small constant.
func TestMemoryWithinLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates tens of MiB")
	}
	const limit = 32 << 20
	tests := []struct {
		name string
		fill func(fsys *FS, i int) vfs.Errno
	}{
		{"empty files", func(fsys *FS, i int) vfs.Errno {
			_, e := fsys.Create(fsys.Root(), strconv.Itoa(i), vfs.TypeRegular, 0o644, "")
			return e
		}},
		{"empty dirs", func(fsys *FS, i int) vfs.Errno {
			_, e := fsys.Create(fsys.Root(), strconv.Itoa(i), vfs.TypeDir, 0o755, "")
			return e
		}},
		{"one-byte files", func(fsys *FS, i int) vfs.Errno {
			ino, e := fsys.Create(fsys.Root(), strconv.Itoa(i), vfs.TypeRegular, 0o644, "")
			if e != 0 {
				return e
			}
			f, _ := fsys.Open(ino, vfs.OpenWrite)
			defer f.Close()
			_, e = f.WriteAt([]byte{1}, 0)
			return e
		}},
		{"one big file", func(fsys *FS, i int) vfs.Errno {
			if i == 0 {
				_, e := fsys.Create(fsys.Root(), "big", vfs.TypeRegular, 0o644, "")
				return e
			}
			ino, _, _ := fsys.Lookup(fsys.Root(), "big")
			f, _ := fsys.Open(ino, vfs.OpenWrite)
			defer f.Close()
			_, _, e := f.Append(bytes.Repeat([]byte{7}, 1000))
			return e
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := heapInUse()
			fsys := New(Options{MaxBytes: limit})
			for i := 0; ; i++ {
				if e := tt.fill(fsys, i); e == vfs.ENOSPC {
					break
				} else if e != 0 {
					t.Fatal(e)
				}
			}
			grew := int64(heapInUse()) - int64(before)
			t.Logf("%d inodes, %d bytes charged, heap grew %d bytes (%.2f of the limit)",
				fsys.Usage().Inodes, fsys.bytes.Load(), grew, float64(grew)/limit)
			if grew > limit+limit/20 {
				t.Errorf("heap grew %d bytes for a limit of %d", grew, limit)
			}
			runtimeKeepAlive(fsys)
		})
	}
}

func TestConcurrent(t *testing.T) {
	fsys := New(Options{})
	root := fsys.Root()
	shared, e := fsys.Create(root, "shared", vfs.TypeRegular, 0o644, "")
	must(t, e)
	const workers, rounds = 8, 200
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dir, e := fsys.Create(root, fmt.Sprintf("w%d", w), vfs.TypeDir, 0o755, "")
			if e != 0 {
				t.Error(e)
				return
			}
			sf, _ := fsys.Open(shared, vfs.OpenRead|vfs.OpenWrite)
			defer sf.Close()
			rec := bytes.Repeat([]byte{byte('a' + w)}, 100)
			buf := make([]byte, 3*PageSize)
			for i := range rounds {
				name := fmt.Sprintf("f%d", i%10)
				ino, e := fsys.Create(dir, name, vfs.TypeRegular, 0o644, "")
				if e == vfs.EEXIST {
					ino, _, e = fsys.Lookup(dir, name)
				}
				if e != 0 {
					t.Error(e)
					return
				}
				f, e := fsys.Open(ino, vfs.OpenRead|vfs.OpenWrite)
				if e != 0 {
					t.Error(e)
					return
				}
				f.WriteAt(buf[:PageSize+i], int64(i))
				f.ReadAt(buf, 0)
				if _, _, e := sf.Append(rec); e != 0 {
					t.Error(e)
				}
				sf.ReadAt(buf, int64(i*50))
				fsys.Stat(shared)
				if i%3 == 0 {
					fsys.Remove(dir, name, false)
				}
				if i%7 == 0 {
					fsys.Rename(dir, name, root, fmt.Sprintf("moved%d", w))
				}
				fsys.SetAttr(ino, &vfs.Attr{Valid: vfs.AttrSize, Size: int64(i * 10)})
				f.Close()
				dl, _ := fsys.Open(root, vfs.OpenRead)
				dl.ReadDir(0, func(e *vfs.DirEntry) bool { _, _ = fsys.Stat(e.Ino); return true })
				dl.Close()
			}
		}()
	}
	wg.Wait()
	// Appends are atomic: every 100-byte record is whole.
	st, _ := fsys.Stat(shared)
	if st.Size != workers*rounds*100 {
		t.Fatalf("shared size %d, want %d", st.Size, workers*rounds*100)
	}
	f, _ := fsys.Open(shared, vfs.OpenRead)
	all := readAll(t, f, st.Size)
	f.Close()
	for i := 0; i < len(all); i += 100 {
		if !bytes.Equal(all[i:i+100], bytes.Repeat(all[i:i+1], 100)) {
			t.Fatalf("record at %d is torn", i)
		}
	}
	checkConsistent(t, fsys)
}

func TestFirstPageGrows(t *testing.T) {
	const P = PageSize
	type write struct {
		off int64
		n   int
	}
	tests := []struct {
		name     string
		writes   []write
		wantHead int // len of the first page afterwards
		wantRest int // pages stored beyond it
	}{
		{"one byte", []write{{0, 1}}, minHeadSize, 0},
		{"100 bytes", []write{{0, 100}}, 128, 0},
		{"exactly 64", []write{{0, 64}}, 64, 0},
		{"byte at 1000", []write{{1000, 1}}, 1024, 0},
		{"doubles on append", []write{{0, 100}, {100, 100}, {200, 100}}, 512, 0},
		{"grows to a full page", []write{{0, 100}, {100, P}}, P, 1},
		{"whole page at once", []write{{0, P}}, P, 0},
		{"last byte of the page", []write{{P - 1, 1}}, P, 0},
		{"second page only", []write{{P, 1}}, 0, 1},
		{"second page is full", []write{{0, 10}, {P, 1}}, 64, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := New(Options{})
			ino, f := createFile(t, fsys, "f")
			var model []byte
			for i, w := range tt.writes {
				p := pattern(w.n, byte(i))
				_, e := f.WriteAt(p, w.off)
				must(t, e)
				if end := int(w.off) + w.n; end > len(model) {
					model = append(model, make([]byte, end-len(model))...)
				}
				copy(model[w.off:], p)
			}
			n := inodeOf(fsys, ino)
			if len(n.head) != tt.wantHead {
				t.Errorf("first page is %d bytes, want %d", len(n.head), tt.wantHead)
			}
			if got := pagesStored(fsys, ino) - min(len(n.head), 1); got != tt.wantRest {
				t.Errorf("%d more pages, want %d", got, tt.wantRest)
			}
			if got := readAll(t, f, int64(len(model))); !bytes.Equal(got, model) {
				t.Errorf("content mismatch")
			}
			// Truncating into the short page and growing back reads zeros.
			must(t, fsys.SetAttr(ino, &vfs.Attr{Valid: vfs.AttrSize, Size: 3}))
			must(t, fsys.SetAttr(ino, &vfs.Attr{Valid: vfs.AttrSize, Size: int64(len(model))}))
			want := make([]byte, len(model))
			copy(want, model[:3])
			if got := readAll(t, f, int64(len(model))); !bytes.Equal(got, want) {
				t.Errorf("content after shrink and grow differs")
			}
			checkConsistent(t, fsys)
		})
	}
}

func TestListingEndsWhileEntriesAreAdded(t *testing.T) {
	fsys := New(Options{})
	root := fsys.Root()
	for i := range 100 {
		_, e := fsys.Create(root, fmt.Sprintf("f%d", i), vfs.TypeRegular, 0o644, "")
		must(t, e)
	}
	d, e := fsys.Open(root, vfs.OpenRead)
	must(t, e)
	defer d.Close()
	// A guest that makes a ".bak" for every file it lists, in the same directory.
	seen := 0
	must(t, d.ReadDir(0, func(ent *vfs.DirEntry) bool {
		seen++
		if seen > 1000 {
			t.Fatal("the listing does not end")
		}
		_, e := fsys.Create(root, string(ent.Name)+".bak", vfs.TypeRegular, 0o644, "")
		must(t, e)
		return true
	}))
	if seen != 100 {
		t.Fatalf("listed %d entries, want the 100 that existed when the listing started", seen)
	}
	// Starting again from cookie 0 (rewinddir) sees everything.
	if got := len(listDir(t, d, 1000, nil)); got != 200 {
		t.Fatalf("listing from 0 again: %d entries, want 200", got)
	}
}

// TestNameIndexShrinks empties big directories in several ways: once under a quarter of its
// peak, the name index is rebuilt at its new size, and every remaining entry is still found.
func TestNameIndexShrinks(t *testing.T) {
	tests := []struct {
		name    string
		entries int
		keep    int
		rebuilt bool
	}{
		{"small directory emptied", 60, 0, false},
		{"big directory mostly emptied", 1000, 10, true},
		{"big directory half emptied", 1000, 500, false},
		{"big directory emptied", 1000, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := New(Options{})
			dir, e := fsys.Create(fsys.Root(), "d", vfs.TypeDir, 0o755, "")
			must(t, e)
			for i := range tt.entries {
				_, e := fsys.Create(dir, "f"+strconv.Itoa(i), vfs.TypeRegular, 0o644, "")
				must(t, e)
			}
			for i := tt.keep; i < tt.entries; i++ {
				must(t, fsys.Remove(dir, "f"+strconv.Itoa(i), false))
			}
			d := fsys.inodes[dir].dir
			if rebuilt := d.sized < tt.entries; rebuilt != tt.rebuilt {
				t.Errorf("index sized for %d entries after keeping %d of %d, want rebuilt %v", d.sized, tt.keep, tt.entries, tt.rebuilt)
			}
			if len(d.byName) != tt.keep || d.bySeq.Len() != tt.keep {
				t.Fatalf("%d names, %d seqs, want %d", len(d.byName), d.bySeq.Len(), tt.keep)
			}
			for i := range tt.entries {
				_, _, e := fsys.Lookup(dir, "f"+strconv.Itoa(i))
				if want := map[bool]vfs.Errno{true: 0, false: vfs.ENOENT}[i < tt.keep]; e != want {
					t.Fatalf("f%d: %v, want %v", i, e, want)
				}
			}
			checkConsistent(t, fsys)
		})
	}
}
