package vfstest_test

import (
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/wasmrun/wasmrun/heap"
	"github.com/wasmrun/wasmrun/vfs"
	"github.com/wasmrun/wasmrun/vfs/vfstest"
)

// TestMutants checks that the kit has teeth: each mutant is the heap backend with one
// deliberate bug, and the kit must fail it in the subtest named for that rule. Each mutant
// runs in a child process (this test binary, with VFSTEST_MUTANT set), so its failures do not
// fail this test; the child's output must show the expected subtest failing.
func TestMutants(t *testing.T) {
	if name := os.Getenv("VFSTEST_MUTANT"); name != "" {
		m, ok := mutants[name]
		if !ok {
			t.Fatalf("no mutant %q", name)
		}
		vfstest.RunBackend(t, func(t *testing.T) vfs.FS { return m.wrap(heap.New(heap.Options{})) }, vfstest.Options{
			NoReadOnlyFS: "the mutants break rules the other groups check", NoLimitedFS: "the mutants break rules the other groups check"})
		return
	}
	for name, m := range mutants {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			run := "^TestMutants$"
			for _, part := range strings.Split(m.fails, "/") {
				run += "/^" + part + "$"
			}
			cmd := exec.Command(os.Args[0], "-test.run="+run, "-test.count=1", "-test.v")
			cmd.Env = append(os.Environ(), "VFSTEST_MUTANT="+name)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the kit passed a backend that %s (subtest %s):\n%s", m.bug, m.fails, out)
			}
			if !strings.Contains(string(out), "--- FAIL: TestMutants/"+m.fails+" ") {
				t.Fatalf("the kit did not fail %s for a backend that %s:\n%s", m.fails, m.bug, out)
			}
		})
	}
}

type mutant struct {
	bug   string // what the mutant gets wrong
	fails string // the subtest that must fail
	wrap  func(vfs.FS) vfs.FS
}

var mutants = map[string]mutant{
	"ReadDirDropsLast": {"drops the last directory entry", "ReadDir/Complete",
		func(f vfs.FS) vfs.FS { return &mutFS{FS: f, readDir: dropLast} }},
	"IndexCookies": {"uses positions as readdir cookies", "ReadDir/CookiesUnderChange",
		func(f vfs.FS) vfs.FS { return &mutFS{FS: f, readDir: indexCookies} }},
	"WideCookies": {"reports readdir cookies above vfs.MaxCookie (a C guest's telldir keeps 31 bits)", "ReadDir/Complete",
		func(f vfs.FS) vfs.FS { return &mutFS{FS: f, readDir: wideCookies} }},
	"RenameIntoSubtree": {"moves a directory into its own subtree", "Rename/DirIntoOwnSubtree",
		func(f vfs.FS) vfs.FS {
			return &mutFS{FS: f, rename: func(inner vfs.FS, od vfs.Ino, on string, nd vfs.Ino, nn string) vfs.Errno {
				if e := inner.Rename(od, on, nd, nn); e != vfs.EINVAL {
					return e
				}
				return vfs.ESUCCESS
			}}
		}},
	"DirNlinkOne": {"reports nlink 1 for directories", "Nlink/Dirs",
		func(f vfs.FS) vfs.FS {
			return &mutFS{FS: f, stat: func(st *vfs.Stat) {
				if st.Type == vfs.TypeDir {
					st.Nlink = 1
				}
			}}
		}},
	"ShortReadAcrossPages": {"returns short reads at 4 KiB boundaries before the end of file", "IO/CrossPage",
		func(f vfs.FS) vfs.FS {
			return &mutFS{FS: f, readAt: func(inner vfs.File, p []byte, off int64) (int, vfs.Errno) {
				if lim := 4096 - off%4096; int64(len(p)) > lim {
					p = p[:lim]
				}
				return inner.ReadAt(p, off)
			}}
		}},
	"RmdirNotEmpty": {"claims to remove a non-empty directory", "Remove/NotEmpty",
		func(f vfs.FS) vfs.FS {
			return &mutFS{FS: f, remove: func(inner vfs.FS, d vfs.Ino, n string, dirOnly bool) vfs.Errno {
				if e := inner.Remove(d, n, dirOnly); e != vfs.ENOTEMPTY {
					return e
				}
				return vfs.ESUCCESS
			}}
		}},
	"RacyAppend": {"appends with a size check and a separate write", "Append/Concurrent",
		func(f vfs.FS) vfs.FS {
			return &mutFS{FS: f, appendFn: func(fsys vfs.FS, ino vfs.Ino, inner vfs.File, p []byte) (int, int64, vfs.Errno) {
				st, e := fsys.Stat(ino)
				if e != 0 {
					return 0, 0, e
				}
				runtime.Gosched()
				n, e := inner.WriteAt(p, st.Size)
				return n, st.Size + int64(n), e
			}}
		}},
	"SecondsOnly": {"keeps times in whole seconds", "Times/SetAttrExact",
		func(f vfs.FS) vfs.FS {
			return &mutFS{FS: f, setAttr: func(a *vfs.Attr) {
				a.Atime -= a.Atime % 1e9
				a.Mtime -= a.Mtime % 1e9
			}}
		}},
	"ReadlinkTrims": {"trims trailing slashes from symlink targets", "Symlinks/Readlink",
		func(f vfs.FS) vfs.FS {
			return &mutFS{FS: f, readlink: func(s string) string { return strings.TrimRight(s, "/") }}
		}},
	"DropsFarWrites": {"silently drops writes past 64 KiB", "Model/Random",
		func(f vfs.FS) vfs.FS {
			return &mutFS{FS: f, writeAt: func(inner vfs.File, p []byte, off int64) (int, vfs.Errno) {
				if off >= 65536 {
					return len(p), vfs.ESUCCESS
				}
				return inner.WriteAt(p, off)
			}}
		}},
	"UnlinkTruncates": {"frees an unlinked file's data while it is still open", "UnlinkOpen/ReadWrite",
		func(f vfs.FS) vfs.FS {
			return &mutFS{FS: f, remove: func(inner vfs.FS, d vfs.Ino, n string, dirOnly bool) vfs.Errno {
				if ino, _, e := inner.Lookup(d, n); e == 0 && !dirOnly {
					inner.SetAttr(ino, &vfs.Attr{Valid: vfs.AttrSize, Size: 0})
				}
				return inner.Remove(d, n, dirOnly)
			}}
		}},
	"NameTooLongEINVAL": {"answers EINVAL for a 256-byte name", "Names/MaxASCII",
		func(f vfs.FS) vfs.FS {
			return &mutFS{FS: f, create: func(inner vfs.FS, d vfs.Ino, n string, typ vfs.FileType, perm uint32, target string) (vfs.Ino, vfs.Errno) {
				ino, e := inner.Create(d, n, typ, perm, target)
				if e == vfs.ENAMETOOLONG {
					e = vfs.EINVAL
				}
				return ino, e
			}}
		}},
	"WriteKeepsMtime": {"does not update mtime on write", "Times/WriteAtUpdatesMtimeCtime",
		func(f vfs.FS) vfs.FS {
			var m *mutFS
			m = &mutFS{FS: f, writeAtIno: func(ino vfs.Ino, inner vfs.File, p []byte, off int64) (int, vfs.Errno) {
				st, _ := m.FS.Stat(ino)
				n, e := inner.WriteAt(p, off)
				m.FS.SetAttr(ino, &vfs.Attr{Valid: vfs.AttrMtime, Mtime: st.Mtime})
				return n, e
			}}
			return m
		}},
}

// mutFS is a backend with some methods replaced.
type mutFS struct {
	vfs.FS
	readDir    func(inner vfs.File, cookie uint64, fn func(*vfs.DirEntry) bool) vfs.Errno
	rename     func(inner vfs.FS, od vfs.Ino, on string, nd vfs.Ino, nn string) vfs.Errno
	remove     func(inner vfs.FS, d vfs.Ino, n string, dirOnly bool) vfs.Errno
	create     func(inner vfs.FS, d vfs.Ino, n string, typ vfs.FileType, perm uint32, target string) (vfs.Ino, vfs.Errno)
	stat       func(*vfs.Stat)
	setAttr    func(*vfs.Attr)
	readlink   func(string) string
	readAt     func(inner vfs.File, p []byte, off int64) (int, vfs.Errno)
	writeAt    func(inner vfs.File, p []byte, off int64) (int, vfs.Errno)
	writeAtIno func(ino vfs.Ino, inner vfs.File, p []byte, off int64) (int, vfs.Errno)
	appendFn   func(fsys vfs.FS, ino vfs.Ino, inner vfs.File, p []byte) (int, int64, vfs.Errno)
}

func (m *mutFS) Stat(ino vfs.Ino) (vfs.Stat, vfs.Errno) {
	st, e := m.FS.Stat(ino)
	if e == 0 && m.stat != nil {
		m.stat(&st)
	}
	return st, e
}

func (m *mutFS) SetAttr(ino vfs.Ino, a *vfs.Attr) vfs.Errno {
	if m.setAttr != nil {
		c := *a
		m.setAttr(&c)
		a = &c
	}
	return m.FS.SetAttr(ino, a)
}

func (m *mutFS) Create(d vfs.Ino, n string, typ vfs.FileType, perm uint32, target string) (vfs.Ino, vfs.Errno) {
	if m.create != nil {
		return m.create(m.FS, d, n, typ, perm, target)
	}
	return m.FS.Create(d, n, typ, perm, target)
}

func (m *mutFS) Remove(d vfs.Ino, n string, dirOnly bool) vfs.Errno {
	if m.remove != nil {
		return m.remove(m.FS, d, n, dirOnly)
	}
	return m.FS.Remove(d, n, dirOnly)
}

func (m *mutFS) Rename(od vfs.Ino, on string, nd vfs.Ino, nn string) vfs.Errno {
	if m.rename != nil {
		return m.rename(m.FS, od, on, nd, nn)
	}
	return m.FS.Rename(od, on, nd, nn)
}

func (m *mutFS) Readlink(ino vfs.Ino) (string, vfs.Errno) {
	s, e := m.FS.Readlink(ino)
	if m.readlink != nil {
		s = m.readlink(s)
	}
	return s, e
}

func (m *mutFS) Open(ino vfs.Ino, flags vfs.OpenFlag) (vfs.File, vfs.Errno) {
	f, e := m.FS.Open(ino, flags)
	if e != 0 {
		return nil, e
	}
	return &mutFile{File: f, m: m, ino: ino}, 0
}

type mutFile struct {
	vfs.File
	m   *mutFS
	ino vfs.Ino
}

func (f *mutFile) ReadDir(cookie uint64, fn func(*vfs.DirEntry) bool) vfs.Errno {
	if f.m.readDir != nil {
		return f.m.readDir(f.File, cookie, fn)
	}
	return f.File.ReadDir(cookie, fn)
}

func (f *mutFile) ReadAt(p []byte, off int64) (int, vfs.Errno) {
	if f.m.readAt != nil {
		return f.m.readAt(f.File, p, off)
	}
	return f.File.ReadAt(p, off)
}

func (f *mutFile) WriteAt(p []byte, off int64) (int, vfs.Errno) {
	switch {
	case f.m.writeAt != nil:
		return f.m.writeAt(f.File, p, off)
	case f.m.writeAtIno != nil:
		return f.m.writeAtIno(f.ino, f.File, p, off)
	}
	return f.File.WriteAt(p, off)
}

func (f *mutFile) Append(p []byte) (int, int64, vfs.Errno) {
	if f.m.appendFn != nil {
		return f.m.appendFn(f.m.FS, f.ino, f.File, p)
	}
	return f.File.Append(p)
}

// all lists a directory whole, copying the entries.
func all(f vfs.File) ([]vfs.DirEntry, vfs.Errno) {
	var es []vfs.DirEntry
	e := f.ReadDir(0, func(d *vfs.DirEntry) bool {
		c := *d
		c.Name = append([]byte(nil), d.Name...)
		es = append(es, c)
		return true
	})
	return es, e
}

func dropLast(inner vfs.File, cookie uint64, fn func(*vfs.DirEntry) bool) vfs.Errno {
	es, e := all(inner)
	if e != 0 || len(es) == 0 {
		return e
	}
	es = es[:len(es)-1]
	for i := range es {
		if cookie != 0 && es[i].Next <= cookie {
			continue
		}
		if !fn(&es[i]) {
			break
		}
	}
	return 0
}

func indexCookies(inner vfs.File, cookie uint64, fn func(*vfs.DirEntry) bool) vfs.Errno {
	es, e := all(inner)
	if e != 0 {
		return e
	}
	for i := int(cookie); i < len(es); i++ {
		es[i].Next = uint64(i + 1)
		if !fn(&es[i]) {
			break
		}
	}
	return 0
}

// wideCookies lists correctly but with every cookie offset by 1<<40, as a backend whose
// cookies pack a hash into 64 bits would.
func wideCookies(inner vfs.File, cookie uint64, fn func(*vfs.DirEntry) bool) vfs.Errno {
	const off = 1 << 40
	if cookie >= off {
		cookie -= off
	}
	return inner.ReadDir(cookie, func(d *vfs.DirEntry) bool {
		c := *d
		c.Next += off
		return fn(&c)
	})
}
