package vfstest

import (
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/wasmrun/wasmrun/vfs/iofs"
)

// RunIOFS fills a fresh backend from newFS through the backend API and runs
// testing/fstest.TestFS on its io/fs view (iofs.OfBackend), which checks every file and directory
// the way io/fs users see them, bad paths included.
func RunIOFS(t *testing.T, newFS NewFunc, opts Options) {
	k := &kit{newFS: newFS, opts: opts}
	k.sub(t, "TestFS", func(t *testing.T, h *harness) {
		files := map[string][]byte{
			"/empty":               nil,
			"/small":               []byte("hello\n"),
			"/pages":               pattern(13, 0, 3*4096+17),
			"/dir/a":               []byte("a"),
			"/dir/sub/b":           []byte("b"),
			"/dir/sub/deep/c":      pattern(14, 0, 70000),
			"/odd name.with..dots": []byte("odd"),
		}
		h.mkdir("/dir")
		h.mkdir("/dir/sub")
		h.mkdir("/dir/sub/deep")
		h.mkdir("/emptydir")
		for p, data := range files {
			h.writeFile(p, data)
		}
		want := []string{"empty", "small", "pages", "dir", "dir/a", "dir/sub", "dir/sub/b", "dir/sub/deep",
			"dir/sub/deep/c", "emptydir", "odd name.with..dots"}
		if !opts.NoSymlinks {
			h.symlink("/link", "small")
			h.symlink("/dir/sub/up", "../a")
			want = append(want, "link", "dir/sub/up")
		}
		fsys := iofs.OfBackend(h.fs)
		if err := fstest.TestFS(fsys, want...); err != nil {
			t.Fatal(err)
		}
		for p, data := range files {
			got, err := fs.ReadFile(fsys, strings.TrimPrefix(p, "/"))
			if err != nil {
				t.Errorf("fs.ReadFile(%s) = %v", p, err)
			} else if d := diff(got, data); d != "" {
				t.Errorf("fs.ReadFile(%s): %s", p, d)
			}
		}
		if !opts.NoSymlinks {
			if got, err := fs.ReadFile(fsys, "dir/sub/up"); err != nil || string(got) != "a" {
				t.Errorf("fs.ReadFile(dir/sub/up -> ../a) = (%q, %v), want (\"a\", nil)", got, err)
			}
		}
	})
}
