package vfstest

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/wasmrun/wasmrun/vfs"
)

// A renameCase sets up a tree, renames from to to, expects an errno and checks the result.
// setup and after are lines of a tiny language, one step each:
//
//	d /p          a directory                  (after: /p is a directory)
//	f /p text     a file holding text          (after: /p is a file holding text)
//	s /p target   a symlink                    (after: /p is a symlink to target)
//	h /p /q       a hard link /q to /p
//	- /p                                       (after: /p does not exist)
//	n /p N                                     (after: /p has nlink N)
//	= /p /q                                    (after: /p is the inode /q was before the rename)
//	x /q                                       (after: the inode /q was before is gone)
//
// A failing rename must change nothing: the whole tree is compared before and after.
type renameCase struct {
	name     string
	setup    []string
	from, to string
	want     vfs.Errno
	after    []string
}

var renameCases = []renameCase{
	{"FileToNewName", []string{"f /a A"}, "/a", "/b", 0, []string{"- /a", "f /b A", "= /b /a", "n /b 1"}},
	{"FileOntoFile", []string{"f /a A", "f /b B"}, "/a", "/b", 0, []string{"- /a", "f /b A", "= /b /a", "x /b", "n / 2"}},
	{"FileOntoDir", []string{"f /a A", "d /d"}, "/a", "/d", vfs.EISDIR, nil},
	{"FileOntoNonEmptyDir", []string{"f /a A", "d /d", "f /d/x X"}, "/a", "/d", vfs.EISDIR, nil},
	{"DirOntoFile", []string{"d /d", "f /b B"}, "/d", "/b", vfs.ENOTDIR, nil},
	{"DirOntoEmptyDir", []string{"d /a", "f /a/x X", "d /b"}, "/a", "/b", 0,
		[]string{"- /a", "d /b", "= /b /a", "x /b", "f /b/x X", "n / 3", "n /b 2"}},
	{"DirOntoNonEmptyDir", []string{"d /a", "d /b", "f /b/x X"}, "/a", "/b", vfs.ENOTEMPTY, nil},
	{"DirOntoDirWithSubdir", []string{"d /a", "d /b", "d /b/c"}, "/a", "/b", vfs.ENOTEMPTY, nil},
	{"DirIntoItself", []string{"d /a"}, "/a", "/a/b", vfs.EINVAL, nil},
	{"DirIntoOwnSubtree", []string{"d /a", "d /a/b", "d /a/b/c"}, "/a", "/a/b/c/d", vfs.EINVAL, nil},
	{"DirOntoOwnDescendant", []string{"d /a", "d /a/b"}, "/a", "/a/b", vfs.EINVAL, nil},
	{"DirOntoOwnAncestor", []string{"d /a", "d /a/b"}, "/a/b", "/a", vfs.ENOTEMPTY, nil},
	{"FileSameName", []string{"f /a A"}, "/a", "/a", 0, []string{"f /a A", "= /a /a", "n /a 1"}},
	{"DirSameName", []string{"d /a", "d /a/b"}, "/a", "/a", 0, []string{"d /a", "= /a /a", "n /a 3", "d /a/b"}},
	{"MissingSource", []string{"f /b B"}, "/a", "/b", vfs.ENOENT, nil},
	{"MissingSourceNoTarget", nil, "/a", "/b", vfs.ENOENT, nil},
	{"FileBetweenDirs", []string{"d /p", "d /q", "f /p/a A"}, "/p/a", "/q/b", 0,
		[]string{"- /p/a", "f /q/b A", "= /q/b /p/a", "n /p 2", "n /q 2"}},
	{"DirBetweenDirs", []string{"d /p", "d /q", "d /p/d", "d /p/d/sub"}, "/p/d", "/q/d", 0,
		[]string{"- /p/d", "d /q/d", "= /q/d /p/d", "n /p 2", "n /q 3", "n /q/d 3", "d /q/d/sub", "n / 4"}},
	{"DirOntoEmptyDirInOtherParent", []string{"d /p", "d /q", "d /p/d", "d /q/e"}, "/p/d", "/q/e", 0,
		[]string{"- /p/d", "= /q/e /p/d", "x /q/e", "n /p 2", "n /q 3"}},
	{"DirUpOneLevel", []string{"d /p", "d /p/q", "d /p/q/d"}, "/p/q/d", "/p/d", 0,
		[]string{"- /p/q/d", "= /p/d /p/q/d", "n /p 4", "n /p/q 2"}},
	{"DirDownOneLevel", []string{"d /p", "d /p/q", "d /p/d"}, "/p/d", "/p/q/d", 0,
		[]string{"- /p/d", "= /p/q/d /p/d", "n /p 3", "n /p/q 3"}},
	{"SymlinkToNewName", []string{"s /s target"}, "/s", "/t", 0, []string{"- /s", "s /t target", "= /t /s"}},
	{"SymlinkOntoFile", []string{"s /s target", "f /f F"}, "/s", "/f", 0, []string{"- /s", "s /f target", "x /f"}},
	{"FileOntoSymlink", []string{"f /f F", "d /d", "s /s d"}, "/f", "/s", 0, []string{"- /f", "f /s F", "x /s", "d /d"}},
	{"DirOntoSymlinkToDir", []string{"d /a", "d /d", "s /s d"}, "/a", "/s", vfs.ENOTDIR, nil},
	{"FileOntoHardLinkOfItself", []string{"f /a A", "h /a /b"}, "/a", "/b", 0,
		[]string{"f /a A", "f /b A", "= /a /a", "= /b /a", "n /a 2"}},
	{"FileOntoHardLinkInOtherDir", []string{"d /d", "f /a A", "h /a /d/b"}, "/a", "/d/b", 0,
		[]string{"f /a A", "f /d/b A", "= /d/b /a", "n /a 2"}},
	{"FileOntoOtherHardLinkedFile", []string{"f /a A", "f /b B", "h /b /c"}, "/a", "/b", 0,
		[]string{"- /a", "f /b A", "= /b /a", "f /c B", "n /c 1", "n /b 1"}},
}

func (c renameCase) needs(opts Options) bool {
	for _, l := range c.setup {
		if l[0] == 's' && opts.NoSymlinks || l[0] == 'h' && opts.NoHardLinks {
			return false
		}
	}
	return true
}

func (k *kit) testRename(t *testing.T) {
	for _, c := range renameCases {
		if !c.needs(k.opts) {
			continue
		}
		k.sub(t, c.name, func(t *testing.T, h *harness) {
			for _, l := range c.setup {
				h.apply(l)
			}
			before := h.snapshot()
			got := h.rename(c.from, c.to)
			if !h.want(got, c.want, "Rename(%s, %s)", c.from, c.to) {
				return
			}
			if c.want != 0 {
				if after := h.snapshot(); !maps.Equal(before, after) {
					t.Errorf("failed Rename(%s, %s) changed the tree:\nbefore %s\nafter  %s", c.from, c.to, fmtSnap(before), fmtSnap(after))
				}
				return
			}
			for _, l := range c.after {
				h.expect(l, before)
			}
		})
	}
	k.sub(t, "OpenFileKeepsData", func(t *testing.T, h *harness) {
		// A file replaced by rename stays readable through a handle opened before.
		h.writeFile("/a", []byte("new"))
		old := h.writeFile("/b", []byte("old"))
		f := h.open(old, "/b", vfs.OpenRead)
		h.must(h.rename("/a", "/b"), "Rename(/a, /b)")
		h.readAt(f, "old /b", 0, 10, []byte("old"))
		h.close(f, "old /b")
		h.wantInoGone(old, "old /b after its last Close")
		h.checkContent(h.ino("/b"), "/b", []byte("new"))
	})
	k.sub(t, "AtomicReplace", func(t *testing.T, h *harness) {
		// While files are renamed over /target, readers never find it missing, and whatever
		// they open holds one whole version.
		const versions, size = 200, 3000
		version := func(i int) []byte { return []byte(strings.Repeat(fmt.Sprintf("%07d\n", i), size/8)) }
		h.writeFile("/target", version(0))
		root := h.fs.Root()
		var done atomic.Bool
		var wg sync.WaitGroup
		errs := make(chan string, 4)
		for range 2 {
			wg.Go(func() {
				buf := make([]byte, size)
				for !done.Load() {
					ino, _, e := h.fs.Lookup(root, "target")
					if e != vfs.ESUCCESS {
						errs <- fmt.Sprintf("Lookup(/target) = %s during renames over it, want ESUCCESS", e.Name())
						return
					}
					f, e := h.fs.Open(ino, vfs.OpenRead)
					if e == vfs.ENOENT {
						continue // replaced between Lookup and Open
					}
					if e != vfs.ESUCCESS {
						errs <- fmt.Sprintf("Open(/target) = %s", e.Name())
						return
					}
					n, e := f.ReadAt(buf, 0)
					f.Close()
					if e != vfs.ESUCCESS || n != len(version(0)) {
						errs <- fmt.Sprintf("ReadAt(/target) = (%d, %s), want (%d, ESUCCESS)", n, e.Name(), len(version(0)))
						return
					}
					v, err := strconv.Atoi(string(buf[:7]))
					if err != nil || string(buf[:n]) != string(version(v)) {
						errs <- fmt.Sprintf("/target holds a torn version: %q...", buf[:24])
						return
					}
				}
			})
		}
		for i := 1; i <= versions; i++ {
			tmp := fmt.Sprintf("/tmp%d", i)
			h.writeFile(tmp, version(i))
			h.must(h.rename(tmp, "/target"), "Rename(%s, /target)", tmp)
		}
		done.Store(true)
		wg.Wait()
		close(errs)
		for s := range errs {
			t.Error(s)
		}
		h.checkContent(h.ino("/target"), "/target", version(versions))
		if es := h.list(root, "/"); len(es) != 1 {
			t.Errorf("ReadDir(/) = %v, want only target", names(es))
		}
	})
}

// apply runs one setup line (see renameCase).
func (h *harness) apply(l string) {
	h.t.Helper()
	f := strings.SplitN(l, " ", 3)
	switch f[0] {
	case "d":
		h.mkdir(f[1])
	case "f":
		h.writeFile(f[1], []byte(f[2]))
	case "s":
		h.symlink(f[1], f[2])
	case "h":
		h.must(h.link(f[1], f[2]), "Link(%s, %s)", f[1], f[2])
	default:
		panic("vfstest: bad setup line " + l)
	}
}

// expect checks one after line (see renameCase) against the tree, with before the snapshot
// taken before the operation.
func (h *harness) expect(l string, before map[string]snapEntry) {
	h.t.Helper()
	f := strings.SplitN(l, " ", 3)
	p := f[1]
	switch f[0] {
	case "-":
		h.wantGone(p)
	case "d", "f", "s":
		ino, e := h.lookup(p)
		if !h.want(e, vfs.ESUCCESS, "Lookup(%s)", p) {
			return
		}
		st := h.stat(ino, p)
		want := map[string]vfs.FileType{"d": vfs.TypeDir, "f": vfs.TypeRegular, "s": vfs.TypeSymlink}[f[0]]
		if st.Type != want {
			h.t.Errorf("Stat(%s).Type = %s, want %s", p, st.Type, want)
			return
		}
		switch f[0] {
		case "f":
			h.checkContent(ino, p, []byte(f[2]))
		case "s":
			target, e := h.fs.Readlink(ino)
			h.must(e, "Readlink(%s)", p)
			if target != f[2] {
				h.t.Errorf("Readlink(%s) = %q, want %q", p, target, f[2])
			}
		}
	case "n":
		n, _ := strconv.ParseUint(f[2], 10, 64)
		h.wantNlink(p, n)
	case "=":
		was, ok := before[f[2]]
		if !ok {
			panic("vfstest: " + f[2] + " not in the snapshot")
		}
		if ino, e := h.lookup(p); e != vfs.ESUCCESS || ino != was.Ino {
			h.t.Errorf("Lookup(%s) = (%d, %s), want the Ino %d that %s had", p, ino, e.Name(), was.Ino, f[2])
		}
	case "x":
		h.wantInoGone(before[p].Ino, "the inode that was "+p)
	default:
		panic("vfstest: bad after line " + l)
	}
}

// snapEntry is what a snapshot records of one path.
type snapEntry struct {
	Ino   vfs.Ino
	Type  vfs.FileType
	Nlink uint64
	Size  int64
	Data  string // file content or symlink target
}

// snapshot walks the whole tree and records every path.
func (h *harness) snapshot() map[string]snapEntry {
	h.t.Helper()
	out := map[string]snapEntry{}
	var walk func(p string, ino vfs.Ino)
	walk = func(p string, ino vfs.Ino) {
		st := h.stat(ino, p)
		se := snapEntry{Ino: ino, Type: st.Type, Nlink: st.Nlink}
		switch st.Type {
		case vfs.TypeRegular:
			se.Size = st.Size
			se.Data = string(h.readAll(ino, p))
		case vfs.TypeSymlink:
			se.Data, _ = h.fs.Readlink(ino)
		case vfs.TypeDir:
			for _, e := range h.list(ino, p) {
				walk(join(p, e.Name), e.Ino)
			}
		}
		out[p] = se
	}
	walk("/", h.fs.Root())
	return out
}

func fmtSnap(m map[string]snapEntry) string {
	var b strings.Builder
	for _, p := range slices.Sorted(maps.Keys(m)) {
		e := m[p]
		fmt.Fprintf(&b, "%s(%s ino=%d nlink=%d) ", p, e.Type, e.Ino, e.Nlink)
	}
	return b.String()
}
