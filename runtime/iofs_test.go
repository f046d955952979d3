package runtime_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	wasmrt "github.com/wasmrun/wasmrun/runtime"
	"github.com/wasmrun/wasmrun/vfs"
	"github.com/wasmrun/wasmrun/vfs/hostfs"
	"github.com/wasmrun/wasmrun/vfs/readonly"
)

const guestEROFS = 69 // WASI preview1's EROFS, which the test guests exit with

func newFSRuntime(t *testing.T) *wasmrt.Runtime {
	t.Helper()
	r, err := wasmrt.New(context.Background(), wasmrt.Options{Store: filepath.Join(t.TempDir(), "root.store"), CacheDir: sharedCacheDir(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.Close(context.Background()); err != nil {
			t.Error("Close:", err)
		}
	})
	return r
}

func mustFS(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestFSWrite covers the write side of Runtime.FS, method by method, and its errors.
func TestFSWrite(t *testing.T) {
	r := newFSRuntime(t)
	fsys := r.FS()
	mustFS(t, fsys.MkdirAll("a/b/c", 0o750))
	mustFS(t, fsys.MkdirAll("a/b/c", 0o750)) // again: nothing to do
	mustFS(t, fsys.WriteFile("a/b/c/f.txt", []byte("hello"), 0o640))
	if b, err := fsys.ReadFile("a/b/c/f.txt"); err != nil || string(b) != "hello" {
		t.Errorf("ReadFile = %q, %v", b, err)
	}
	if fi, err := fsys.Stat("a/b"); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o750 {
		t.Errorf("Stat(a/b) = %v, %v", fi, err)
	}
	if err := fsys.MkdirAll("a/b/c/f.txt/x", 0o755); !errors.Is(err, vfs.ENOTDIR) {
		t.Errorf("MkdirAll through a file: %v, want ENOTDIR", err)
	}
	if err := fsys.Mkdir("a", 0o755); !errors.Is(err, fs.ErrExist) {
		t.Errorf("Mkdir of an existing directory: %v, want ErrExist", err)
	}

	// OpenFile: create, exclusive, append, seek, read back, truncate.
	f, err := fsys.OpenFile("log", os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	mustFS(t, err)
	for _, s := range []string{"one\n", "two\n"} {
		if _, err := f.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.WriteAt([]byte("x"), 0); !errors.Is(err, vfs.EINVAL) {
		t.Errorf("WriteAt on an O_APPEND file: %v, want EINVAL", err)
	}
	if _, err := f.Read(make([]byte, 1)); !errors.Is(err, vfs.EBADF) {
		t.Errorf("Read on a write-only file: %v, want EBADF", err)
	}
	mustFS(t, f.Close())
	if err := f.Close(); !errors.Is(err, vfs.EBADF) {
		t.Errorf("second Close: %v, want EBADF", err)
	}
	if _, err := fsys.OpenFile("log", os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600); !errors.Is(err, fs.ErrExist) {
		t.Errorf("O_EXCL on an existing file: %v, want ErrExist", err)
	}
	f, err = fsys.OpenFile("log", os.O_RDWR, 0)
	mustFS(t, err)
	if _, err := f.Seek(4, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("TWO")); err != nil {
		t.Fatal(err)
	}
	if end, err := f.Seek(0, io.SeekEnd); err != nil || end != 8 {
		t.Errorf("Seek(end) = %d, %v", end, err)
	}
	buf := make([]byte, 8)
	if n, err := f.ReadAt(buf, 0); n != 8 || err != nil || string(buf) != "one\nTWO\n" {
		t.Errorf("ReadAt = %d %v %q", n, err, buf)
	}
	if n, err := f.ReadAt(buf, 4); n != 4 || err != io.EOF {
		t.Errorf("ReadAt past the end = %d, %v; want 4, EOF", n, err)
	}
	mustFS(t, f.Truncate(3))
	if fi, err := f.Stat(); err != nil || fi.Size() != 3 || fi.Mode() != 0o600 {
		t.Errorf("Stat = %v, %v", fi, err)
	}
	mustFS(t, f.Sync())
	mustFS(t, f.Close())
	c, err := fsys.Create("created")
	mustFS(t, err)
	mustFS(t, c.Close())
	if fi, err := fsys.Stat("created"); err != nil || fi.Mode() != 0o644 || fi.Size() != 0 {
		t.Errorf("Create: %v, %v", fi, err)
	}

	// Links, renames, modes, times.
	mustFS(t, fsys.Symlink("a/b/c/f.txt", "sym"))
	mustFS(t, fsys.Link("log", "log.hard"))
	if target, err := fsys.ReadLink("sym"); err != nil || target != "a/b/c/f.txt" {
		t.Errorf("ReadLink = %q, %v", target, err)
	}
	if fi, err := fsys.Lstat("sym"); err != nil || fi.Mode().Type() != fs.ModeSymlink {
		t.Errorf("Lstat(sym) = %v, %v", fi, err)
	}
	if fi, err := fsys.Stat("log.hard"); err != nil || fi.Sys().(*vfs.Stat).Nlink != 2 {
		t.Errorf("Stat(log.hard) = %v, %v; want nlink 2", fi, err)
	}
	mustFS(t, fsys.Rename("log.hard", "a/renamed"))
	mustFS(t, fsys.Chmod("a/renamed", 0o4711|fs.ModeSetuid))
	mt := time.Date(2022, 2, 2, 2, 2, 2, 2, time.UTC)
	mustFS(t, fsys.Chtimes("a/renamed", time.Time{}, mt))
	if fi, err := fsys.Stat("log"); err != nil || fi.Mode() != 0o711|fs.ModeSetuid || !fi.ModTime().Equal(mt) {
		t.Errorf("Stat(log) after chmod and chtimes through a link = %v, %v", fi, err)
	}
	mustFS(t, fsys.Truncate("a/renamed", 10))
	if b, _ := fsys.ReadFile("log"); !bytes.Equal(b, []byte("one\x00\x00\x00\x00\x00\x00\x00")) {
		t.Errorf("after Truncate: %q", b)
	}

	// Remove and RemoveAll.
	if err := fsys.Remove("a"); !errors.Is(err, vfs.ENOTEMPTY) {
		t.Errorf("Remove of a full directory: %v, want ENOTEMPTY", err)
	}
	mustFS(t, fsys.Remove("sym"))
	if _, err := fsys.Stat("a/b/c/f.txt"); err != nil {
		t.Error("Remove of a symlink removed its target:", err)
	}
	mustFS(t, fsys.RemoveAll("a"))
	mustFS(t, fsys.RemoveAll("a")) // missing: nil
	if _, err := fsys.Stat("a"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("after RemoveAll: %v", err)
	}
	if err := fsys.RemoveAll("tmp"); !errors.Is(err, vfs.EBUSY) {
		t.Errorf("RemoveAll of the /tmp mount: %v, want EBUSY", err)
	}

	// Bad names.
	for _, name := range []string{"/abs", "a/../b", "", "a//b", "./a"} {
		if err := fsys.WriteFile(name, nil, 0o644); !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("WriteFile(%q) = %v, want ErrInvalid", name, err)
		}
	}
}

// TestFSTestFS runs testing/fstest over a seeded Runtime.FS.
func TestFSTestFS(t *testing.T) {
	r := newFSRuntime(t)
	fsys := r.FS()
	mustFS(t, fsys.MkdirAll("data/sub", 0o755))
	mustFS(t, fsys.WriteFile("data/a.txt", []byte("a"), 0o644))
	mustFS(t, fsys.WriteFile("data/sub/b.txt", bytes.Repeat([]byte("b"), 100000), 0o644))
	mustFS(t, fsys.WriteFile("tmp/scratch", []byte("in memory"), 0o644))
	if err := fstest.TestFS(fsys, "data/a.txt", "data/sub/b.txt", "tmp/scratch"); err != nil {
		t.Fatal(err)
	}
	sub, err := fs.Sub(fsys, "data")
	mustFS(t, err)
	var walked []string
	mustFS(t, fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
		walked = append(walked, p)
		return err
	}))
	if want := []string{".", "a.txt", "sub", "sub/b.txt"}; !slices.Equal(walked, want) {
		t.Errorf("WalkDir = %q, want %q", walked, want)
	}
}

// runGuest runs a test guest on r and returns its exit code and stdout.
func runFSGuest(t *testing.T, r *wasmrt.Runtime, name string, args ...string) (int, string) {
	t.Helper()
	ctx := context.Background()
	m, err := r.Compile(ctx, guest(t, name))
	if err != nil {
		t.Error(err)
		return -1, ""
	}
	var out bytes.Buffer
	code, err := r.Run(ctx, m, wasmrt.RunConfig{Args: append([]string{name}, args...), Stdout: &out})
	if err != nil {
		t.Error(err)
	}
	return code, out.String()
}

// TestFSWithGuests: what the host writes through Runtime.FS the guest reads, and the other way
// round; an io/fs.FS mounted with MountFS and a host directory mounted with readonly.New are
// readable, and refuse writes (EROFS) from the guest and from the host alike.
func TestFSWithGuests(t *testing.T) {
	r := newFSRuntime(t)
	fsys := r.FS()
	mustFS(t, fsys.MkdirAll("data", 0o755))
	mustFS(t, fsys.WriteFile("data/in.txt", []byte("seeded by the host\n"), 0o644))
	if code, out := runFSGuest(t, r, "cat", "data/in.txt"); code != 0 || out != "seeded by the host\n" {
		t.Errorf("guest cat: %d %q", code, out)
	}
	if code, _ := runFSGuest(t, r, "write", "data/out.txt", "written by the guest"); code != 0 {
		t.Errorf("guest write: exit %d", code)
	}
	if b, err := fsys.ReadFile("data/out.txt"); err != nil || string(b) != "written by the guest" {
		t.Errorf("host read %q, %v", b, err)
	}

	mustFS(t, r.MountFS("/static", fstest.MapFS{
		"index.html":   {Data: []byte("<h1>embedded</h1>\n"), Mode: 0o444},
		"css/site.css": {Data: []byte("body{}\n")},
	}))
	hostDir := t.TempDir()
	mustFS(t, os.WriteFile(filepath.Join(hostDir, "host.txt"), []byte("from a host directory\n"), 0o644))
	host, err := hostfs.New(hostDir)
	mustFS(t, err)
	mustFS(t, r.Mount("/host-ro", readonly.New(host)))

	for _, tc := range []struct{ read, want, write string }{
		{"static/index.html", "<h1>embedded</h1>\n", "static/new.txt"},
		{"static/css/site.css", "body{}\n", "static/index.html"},
		{"host-ro/host.txt", "from a host directory\n", "host-ro/host.txt"},
	} {
		// (cat.wat asks path_open for every right, write included, so it gets EROFS here
		// too, as open(O_RDWR) does on Linux; Go and C guests that open for reading are in
		// the wasi package's tests.)
		if code, _ := runFSGuest(t, r, "write", tc.write, "x"); code != guestEROFS {
			t.Errorf("guest write %s: exit %d, want EROFS (%d)", tc.write, code, guestEROFS)
		}
		if err := fsys.WriteFile(tc.write, []byte("x"), 0o644); !errors.Is(err, vfs.EROFS) || !errors.Is(err, fs.ErrPermission) {
			t.Errorf("host WriteFile %s: %v, want EROFS", tc.write, err)
		}
		if b, err := fsys.ReadFile(tc.read); err != nil || string(b) != tc.want {
			t.Errorf("host ReadFile %s: %q, %v", tc.read, b, err)
		}
	}
	if _, err := os.Stat(filepath.Join(hostDir, "new.txt")); err == nil {
		t.Error("a write reached the read-only host directory")
	}
}

// TestFSConcurrentWithGuests runs guests concurrently on one Runtime while host goroutines
// write and read through Runtime.FS: every file ends up whole (run with -race).
func TestFSConcurrentWithGuests(t *testing.T) {
	r := newFSRuntime(t)
	fsys := r.FS()
	mustFS(t, fsys.MkdirAll("data", 0o755))
	const n = 8
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for j := range 3 {
				p := fmt.Sprintf("data/guest-%d-%d", i, j)
				if code, _ := runFSGuest(t, r, "write", p, p); code != 0 {
					t.Errorf("guest write %s: exit %d", p, code)
				}
				if code, out := runFSGuest(t, r, "cat", p); code != 0 || out != p {
					t.Errorf("guest cat %s: %d %q", p, code, out)
				}
			}
		}()
		go func() {
			defer wg.Done()
			for j := range 20 {
				p := fmt.Sprintf("data/host-%d-%d", i, j)
				if err := fsys.WriteFile(p, []byte(p), 0o644); err != nil {
					t.Error(err)
				}
				if b, err := fsys.ReadFile(p); err != nil || string(b) != p {
					t.Errorf("ReadFile %s = %q, %v", p, b, err)
				}
				if _, err := fsys.ReadDir("data"); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	mustFS(t, fsys.Sync())
	entries, err := fsys.ReadDir("data")
	mustFS(t, err)
	if len(entries) != n*3+n*20 {
		t.Errorf("%d entries in /data, want %d", len(entries), n*3+n*20)
	}
}
