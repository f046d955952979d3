package vfstest

import (
	"testing"

	"github.com/wasmrun/wasmrun/vfs"
)

// testLookup checks what FS.Lookup tells the path walker besides the Ino: the entry's type
// (the walker spends no Stat per component, so a wrong type misdirects every walk) and, for
// "..", the directory's parent, which the backend keeps through Create, Rename and Remove.
func (k *kit) testLookup(t *testing.T) {
	k.sub(t, "Type", func(t *testing.T, h *harness) {
		h.mkdir("/d")
		h.mkfile("/f")
		paths := []string{"/d", "/f"}
		if !k.opts.NoSymlinks {
			h.symlink("/l", "d")
			paths = append(paths, "/l")
		}
		for _, p := range paths {
			dir, name := h.parent(p)
			ino, typ, e := h.fs.Lookup(dir, name)
			h.must(e, "Lookup(%s)", p)
			if st := h.stat(ino, p); typ != st.Type {
				t.Errorf("Lookup(%s) type = %v, Stat says %v", p, typ, st.Type)
			}
		}
	})
	k.sub(t, "Parent", func(t *testing.T, h *harness) {
		root := h.fs.Root()
		h.mkdir("/a")
		h.mkdir("/a/b")
		h.mkdir("/c")
		h.wantParent("/", root)
		h.wantParent("/a", root)
		h.wantParent("/a/b", h.ino("/a"))
		b := h.ino("/a/b")
		h.must(h.rename("/a/b", "/c/b2"), "Rename(/a/b, /c/b2)")
		h.wantParent("/c/b2", h.ino("/c"))
		h.must(h.rename("/c/b2", "/b3"), "Rename(/c/b2, /b3)")
		h.wantParent("/b3", root)
		if got := h.ino("/b3"); got != b {
			t.Errorf("renamed directory has Ino %d, was %d", got, b)
		}
		f := h.mkfile("/f")
		_, _, e := h.fs.Lookup(f, "..")
		h.want(e, vfs.ENOTDIR, `Lookup(/f, "..")`)
		d := h.ino("/c")
		h.must(h.remove("/c", true), "Remove(/c, dirOnly)")
		_, _, e = h.fs.Lookup(d, "..")
		h.want(e, vfs.ENOENT, `Lookup(removed /c, "..")`)
	})
	k.sub(t, "ParentOpenWhileRemoved", func(t *testing.T, h *harness) {
		d := h.mkdir("/d")
		fl := h.open(d, "/d", vfs.OpenRead)
		h.must(h.remove("/d", true), "Remove(/d, dirOnly)")
		_, _, e := h.fs.Lookup(d, "..")
		h.want(e, vfs.ENOENT, `Lookup(removed open /d, "..")`)
		h.close(fl, "/d")
	})
}

// wantParent checks that Lookup(p, "..") is want, a directory.
func (h *harness) wantParent(p string, want vfs.Ino) {
	h.t.Helper()
	ino := h.ino(p)
	got, typ, e := h.fs.Lookup(ino, "..")
	if h.want(e, vfs.ESUCCESS, `Lookup(%s, "..")`, p) && (got != want || typ != vfs.TypeDir) {
		h.t.Errorf(`Lookup(%s, "..") = %d, %v; want %d, dir`, p, got, typ, want)
	}
}
