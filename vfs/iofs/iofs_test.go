package iofs_test

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/wasmrun/wasmrun/heap"
	"github.com/wasmrun/wasmrun/vfs"
	"github.com/wasmrun/wasmrun/vfs/hostfs"
	"github.com/wasmrun/wasmrun/vfs/iofs"
	"github.com/wasmrun/wasmrun/vfs/vfstest"
)

// mapFS is a small read-only tree with a symlink.
func mapFS() fstest.MapFS {
	return fstest.MapFS{
		"hello.txt":  {Data: []byte("hello, world\n"), Mode: 0o644},
		"dir/a":      {Data: []byte("a"), Mode: 0o600},
		"dir/sub/b":  {Data: make([]byte, 10000), Mode: 0o644},
		"dir/empty":  {Mode: fs.ModeDir | 0o755},
		"link":       {Data: []byte("dir/a"), Mode: fs.ModeSymlink | 0o777},
		"dir/uplink": {Data: []byte("../hello.txt"), Mode: fs.ModeSymlink | 0o777},
	}
}

func TestIOFS(t *testing.T) {
	t.Run("namespace", func(t *testing.T) {
		ns := vfs.NewNamespace(heap.New(heap.Options{}))
		host, err := hostfs.New(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		defer host.(vfs.Closer).Close()
		for _, m := range []struct {
			path string
			fs   vfs.FS
		}{{"/tmp", heap.New(heap.Options{})}, {"/ro", iofs.FromFS(mapFS())}, {"/host", host}} {
			if err := ns.Mount(m.path, m.fs); err != nil {
				t.Fatal(err)
			}
		}
		root := ns.Root()
		writeFile(t, ns, "/top", "top file")
		check(t, "mkdir", ns.Mkdir(root, "/tmp/d", 0o755))
		writeFile(t, ns, "/tmp/d/big", string(make([]byte, 70000)))
		writeFile(t, ns, "/host/h", "on the host")
		check(t, "mkdir", ns.Mkdir(root, "/host/hd", 0o700))
		check(t, "symlink", ns.Symlink("../top", root, "/tmp/rel"))
		check(t, "symlink", ns.Symlink("/ro/hello.txt", root, "/host/abs"))
		fsys := iofs.Of(ns)
		if err := fstest.TestFS(fsys, "top", "tmp/d/big", "ro/hello.txt", "ro/dir/sub/b", "host/h", "host/hd", "tmp/rel"); err != nil {
			t.Fatal(err)
		}
		// Absolute symlinks resolve inside the namespace.
		b, err := fs.ReadFile(fsys, "host/abs")
		if err != nil || string(b) != "hello, world\n" {
			t.Errorf("ReadFile(host/abs) = %q, %v", b, err)
		}
		if s, err := fsys.(fs.ReadLinkFS).ReadLink("host/abs"); err != nil || s != "/ro/hello.txt" {
			t.Errorf("ReadLink(host/abs) = %q, %v", s, err)
		}
		// Errors are PathErrors wrapping an Errno that io/fs sentinels match.
		_, err = fsys.Open("nope")
		var pe *fs.PathError
		if !errors.As(err, &pe) || !errors.Is(err, fs.ErrNotExist) || !errors.Is(err, vfs.ENOENT) {
			t.Errorf("Open(nope) = %v", err)
		}
		for _, bad := range []string{"/top", "tmp/../top", "./top", "top/", ""} {
			if _, err := fsys.Open(bad); !errors.Is(err, fs.ErrInvalid) {
				t.Errorf("Open(%q) = %v, want ErrInvalid", bad, err)
			}
		}
		// Seek and ReadAt.
		f, err := fsys.Open("top")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if off, err := f.(io.Seeker).Seek(-4, io.SeekEnd); err != nil || off != 4 {
			t.Errorf("Seek = %d, %v", off, err)
		}
		p := make([]byte, 10)
		if n, err := f.Read(p); n != 4 || err != nil || string(p[:n]) != "file" {
			t.Errorf("Read = %d %v %q", n, err, p[:n])
		}
		if n, err := f.(io.ReaderAt).ReadAt(p, 0); n != 8 || err != io.EOF {
			t.Errorf("ReadAt = %d, %v", n, err)
		}
	})
	t.Run("fromiofs", func(t *testing.T) {
		if err := fstest.TestFS(iofs.OfBackend(iofs.FromFS(mapFS())), "hello.txt", "dir/a", "dir/sub/b", "dir/empty", "link"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("fromiofs/dirfs", func(t *testing.T) {
		// os.DirFS: files without io.ReaderAt-free paths, and no ReadLinkFS before Go 1.25.
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "f"), []byte("data"), 0o644)
		os.Mkdir(filepath.Join(dir, "d"), 0o755)
		if err := fstest.TestFS(iofs.OfBackend(iofs.FromFS(os.DirFS(dir))), "f", "d"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("hostdir", func(t *testing.T) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "f"), []byte("data"), 0o644)
		os.MkdirAll(filepath.Join(dir, "d", "e"), 0o755)
		os.WriteFile(filepath.Join(dir, "d", "e", "g"), []byte("deep"), 0o600)
		os.Symlink("../f", filepath.Join(dir, "d", "l"))
		host, err := hostfs.New(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer host.(vfs.Closer).Close()
		fsys := iofs.OfBackend(host)
		if err := fstest.TestFS(fsys, "f", "d/e/g", "d/l"); err != nil {
			t.Fatal(err)
		}
		os.Symlink("/etc/passwd", filepath.Join(dir, "escape"))
		// The absolute symlink resolves inside the namespace, not on the host.
		if _, err := fs.ReadFile(fsys, "escape"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("ReadFile(escape) = %v, want ErrNotExist", err)
		}
		if b, err := fs.ReadFile(fsys, "d/l"); err != nil || string(b) != "data" {
			t.Errorf("ReadFile(d/l) = %q, %v", b, err)
		}
	})
}

// sequentialFS hides io.ReaderAt and io.Seeker, so FromIOFS reads forward.
type sequentialFS struct{ fs.FS }

type seqFile struct{ f fs.File }

func (s seqFile) Stat() (fs.FileInfo, error) { return s.f.Stat() }
func (s seqFile) Read(p []byte) (int, error) { return s.f.Read(p) }
func (s seqFile) Close() error               { return s.f.Close() }

func (s sequentialFS) Open(name string) (fs.File, error) {
	f, err := s.FS.Open(name)
	if err != nil {
		return nil, err
	}
	if _, ok := f.(fs.ReadDirFile); ok {
		return f, nil
	}
	return seqFile{f}, nil
}

func TestFromIOFS(t *testing.T) {
	m := mapFS()
	for _, tc := range []struct {
		name string
		fs   fs.FS
	}{{"mapfs", m}, {"sequential", sequentialFS{m}}} {
		t.Run(tc.name, func(t *testing.T) {
			fsys := iofs.FromFS(tc.fs)
			root := fsys.Root()
			dir, _, e := fsys.Lookup(root, "dir")
			check(t, "lookup dir", e)
			if again, _, _ := fsys.Lookup(root, "dir"); again != dir {
				t.Errorf("Ino not stable: %d then %d", dir, again)
			}
			sub, _, e := fsys.Lookup(dir, "sub")
			check(t, "lookup sub", e)
			for _, c := range []struct{ dir, want vfs.Ino }{{root, root}, {dir, root}, {sub, dir}} {
				if p, typ, e := fsys.Lookup(c.dir, ".."); e != 0 || p != c.want || typ != vfs.TypeDir {
					t.Errorf("Lookup(%d, \"..\") = %d, %v, %v; want %d, dir", c.dir, p, typ, e, c.want)
				}
			}
			b, _, e := fsys.Lookup(sub, "b")
			check(t, "lookup b", e)
			tests := []struct {
				name string
				got  vfs.Errno
				want vfs.Errno
			}{
				{"lookup missing", third(fsys.Lookup(root, "nope")), vfs.ENOENT},
				{"lookup under file", third(fsys.Lookup(b, "x")), vfs.ENOTDIR},
				{"lookup dotdot under file", third(fsys.Lookup(b, "..")), vfs.ENOTDIR},
				{"create existing", second(fsys.Create(root, "dir", vfs.TypeDir, 0o755, "")), vfs.EEXIST},
				{"create new", second(fsys.Create(root, "new", vfs.TypeRegular, 0o644, "")), vfs.EROFS},
				{"create in missing", second(fsys.Create(12345, "new", vfs.TypeRegular, 0o644, "")), vfs.ENOENT},
				{"remove", fsys.Remove(dir, "a", false), vfs.EROFS},
				{"remove missing", fsys.Remove(dir, "nope", false), vfs.ENOENT},
				{"rename", fsys.Rename(dir, "a", root, "z"), vfs.EROFS},
				{"link", fsys.Link(b, root, "z"), vfs.EROFS},
				{"setattr", fsys.SetAttr(b, &vfs.Attr{Valid: vfs.AttrSize}), vfs.EROFS},
				{"open write", second(fsys.Open(b, vfs.OpenWrite)), vfs.EROFS},
				{"open write dir", second(fsys.Open(dir, vfs.OpenWrite)), vfs.EISDIR},
				{"readlink file", second(fsys.Readlink(b)), vfs.EINVAL},
				{"stat bad ino", second(fsys.Stat(999)), vfs.ENOENT},
			}
			for _, tt := range tests {
				if tt.got != tt.want {
					t.Errorf("%s: %v, want %v", tt.name, tt.got, tt.want)
				}
			}
			l, _, e := fsys.Lookup(root, "link")
			check(t, "lookup link", e)
			if _, ok := tc.fs.(fs.ReadLinkFS); ok {
				if s, e := fsys.Readlink(l); e != 0 || s != "dir/a" {
					t.Errorf("Readlink = %q, %v", s, e)
				}
			} else if st, _ := fsys.Stat(l); st.Type != vfs.TypeRegular {
				// Without fs.ReadLinkFS, io/fs follows the link.
				t.Errorf("Stat(link).Type = %v, want file", st.Type)
			}
			st, e := fsys.Stat(b)
			check(t, "stat b", e)
			if st.Size != 10000 || st.Type != vfs.TypeRegular || st.Mode != 0o644 || st.Ino != b {
				t.Errorf("Stat(b) = %+v", st)
			}
			// Reads at any offset, backwards too.
			f, e := fsys.Open(b, vfs.OpenRead)
			check(t, "open", e)
			p := make([]byte, 100)
			for _, off := range []int64{5000, 10, 9950, 0, 10000, 20000} {
				n, e := f.ReadAt(p, off)
				want := min(max(10000-off, 0), 100)
				if e != 0 || int64(n) != want {
					t.Errorf("ReadAt(%d) = %d, %v; want %d", off, n, e, want)
				}
			}
			if _, e := f.WriteAt(p, 0); e != vfs.EBADF {
				t.Errorf("WriteAt = %v", e)
			}
			check(t, "close", f.Close())
			if f.Close() != vfs.EBADF {
				t.Errorf("second Close not EBADF")
			}
			// Listing with cookies.
			d, e := fsys.Open(dir, vfs.OpenRead)
			check(t, "open dir", e)
			var names []string
			var cookies []uint64
			check(t, "readdir", d.ReadDir(0, func(e *vfs.DirEntry) bool {
				names = append(names, string(e.Name))
				cookies = append(cookies, e.Next)
				return true
			}))
			if got := fmtList(names); got != "a empty sub uplink" {
				t.Errorf("ReadDir = %s", got)
			}
			var rest []string
			check(t, "readdir", d.ReadDir(cookies[1], func(e *vfs.DirEntry) bool {
				rest = append(rest, string(e.Name))
				return true
			}))
			if got := fmtList(rest); got != "sub uplink" {
				t.Errorf("ReadDir from cookie = %s", got)
			}
			d.Close()
		})
	}
}

func second[T any](_ T, e vfs.Errno) vfs.Errno { return e }

func third[T, U any](_ T, _ U, e vfs.Errno) vfs.Errno { return e }

func fmtList(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out
}

// TestReadOnlyMount checks a read-only mount (FromFS) in a namespace.
func TestReadOnlyMount(t *testing.T) {
	ns := vfs.NewNamespace(heap.New(heap.Options{}))
	if err := ns.Mount("/ro", iofs.FromFS(mapFS())); err != nil {
		t.Fatal(err)
	}
	root := ns.Root()
	tests := []struct {
		name string
		got  vfs.Errno
		want vfs.Errno
	}{
		{"mkdir existing", ns.Mkdir(root, "/ro/dir", 0o755), vfs.EEXIST},
		{"mkdir new", ns.Mkdir(root, "/ro/new", 0o755), vfs.EROFS},
		{"open creat existing", second(ns.Open(root, "/ro/hello.txt", vfs.ORead|vfs.OCreate, 0)), 0},
		{"open creat new", second(ns.Open(root, "/ro/new", vfs.OWrite|vfs.OCreate, 0o644)), vfs.EROFS},
		{"open write", second(ns.Open(root, "/ro/hello.txt", vfs.OWrite, 0)), vfs.EROFS},
		{"open link", second(ns.Open(root, "/ro/link", vfs.ORead, 0)), 0},
		{"unlink", ns.Remove(root, "/ro/hello.txt", false), vfs.EROFS},
		{"rmdir missing", ns.Remove(root, "/ro/nope", true), vfs.ENOENT},
		{"symlink", ns.Symlink("x", root, "/ro/s"), vfs.EROFS},
		{"rename", ns.Rename(root, "/ro/hello.txt", root, "/ro/x"), vfs.EROFS},
		{"utimes", ns.SetAttrAt(root, "/ro/hello.txt", true, &vfs.Attr{Valid: vfs.AttrMtime}), vfs.EROFS},
		{"uplink", second(ns.StatAt(root, "/ro/dir/uplink", true)), 0},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, tt.got, tt.want)
		}
	}
	if got := readFile(t, ns, "/ro/link"); got != "a" {
		t.Errorf("read /ro/link = %q", got)
	}
}

// TestBackendKit runs the conformance kit's read-only group against FromFS, the read-only
// backend over an io/fs.FS (here the view of a heap filled by the kit).
func TestBackendKit(t *testing.T) {
	vfstest.RunReadOnly(t, vfstest.Options{
		DirNlink2: true, // an io/fs.FS has no link counts: FromFS reports 2 for every directory
		NewReadOnlyFS: func(t *testing.T, fill func(vfs.FS)) vfs.FS {
			w := heap.New(heap.Options{})
			fill(w)
			return iofs.FromFS(iofs.OfBackend(w))
		},
	})
}
