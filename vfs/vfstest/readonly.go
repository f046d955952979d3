package vfstest

import (
	"testing"

	"github.com/wasmrun/wasmrun/vfs"
)

// RunReadOnly runs only the read-only checks (the ReadOnly group of RunBackend), for a backend
// that is read-only and nothing else (an io/fs.FS served as a vfs.FS): opts.NewReadOnlyFS must
// be set; fill builds the tree in a writable backend it makes, then serves read-only.
func RunReadOnly(t *testing.T, opts Options) {
	if opts.NewReadOnlyFS == nil {
		t.Fatal("vfstest.RunReadOnly: Options.NewReadOnlyFS is nil")
	}
	k := &kit{opts: opts}
	k.group(t, "ReadOnly", k.testReadOnly)
}

func (k *kit) testReadOnly(t *testing.T) {
	if k.opts.NewReadOnlyFS == nil {
		if k.opts.NoReadOnlyFS == "" {
			t.Fatal("vfstest: Options.NewReadOnlyFS is nil and Options.NoReadOnlyFS gives no reason: the ReadOnly group would pass without running")
		}
		t.Logf("not run: %s", k.opts.NoReadOnlyFS)
		return
	}
	// fill builds the tree every read-only check starts from.
	fill := func(w vfs.FS) {
		h := newHarness(t, w, k.opts)
		h.mkdir("/d")
		h.mkdir("/d/sub")
		h.writeFile("/f", []byte("data"))
		h.writeFile("/d/g", pattern(15, 0, 70000))
		if !k.opts.NoSymlinks {
			h.symlink("/s", "f")
		}
	}
	sub := func(name string, f func(t *testing.T, h *harness)) {
		t.Run(name, func(t *testing.T) {
			defer failOnPanic(t)
			f(t, newHarness(t, k.opts.NewReadOnlyFS(t, fill), k.opts))
		})
	}
	sub("Reads", func(t *testing.T, h *harness) {
		h.checkContent(h.ino("/f"), "/f", []byte("data"))
		h.checkContent(h.ino("/d/g"), "/d/g", pattern(15, 0, 70000))
		if got := names(h.list(h.fs.Root(), "/")); len(got) != map[bool]int{true: 2, false: 3}[k.opts.NoSymlinks] {
			t.Errorf("ReadDir(/) = %q, want d, f and s", got)
		}
		if k.opts.DirNlink2 {
			h.wantNlink("/d", 2)
		} else {
			h.wantNlink("/d", 3)
		}
		if !k.opts.NoSymlinks {
			if target, e := h.fs.Readlink(h.ino("/s")); target != "f" || e != vfs.ESUCCESS {
				t.Errorf("Readlink(/s) = (%q, %s), want (\"f\", ESUCCESS)", target, e.Name())
			}
		}
	})
	sub("EROFS", func(t *testing.T, h *harness) {
		root, f, d := h.fs.Root(), h.ino("/f"), h.ino("/d")
		for _, a := range []vfs.Attr{
			{Valid: vfs.AttrSize, Size: 0},
			{Valid: vfs.AttrMode, Mode: 0o600},
			{Valid: vfs.AttrAtime | vfs.AttrMtime, Atime: old, Mtime: old},
		} {
			h.want(h.fs.SetAttr(f, &a), vfs.EROFS, "SetAttr(/f, %+v)", a)
		}
		for _, typ := range []vfs.FileType{vfs.TypeRegular, vfs.TypeDir, vfs.TypeSymlink} {
			_, e := h.fs.Create(root, "new", typ, 0o755, "t")
			h.want(e, vfs.EROFS, "Create(/new, %s)", typ)
		}
		_, e := h.fs.Create(root, "f", vfs.TypeRegular, 0o644, "")
		h.wantOneOf(e, []vfs.Errno{vfs.EEXIST, vfs.EROFS}, "Create(/f) over an existing file")
		if !k.opts.NoHardLinks {
			h.want(h.fs.Link(f, d, "l"), vfs.EROFS, "Link(/f, /d/l)")
		}
		h.want(h.fs.Remove(root, "f", false), vfs.EROFS, "Remove(/f)")
		h.want(h.fs.Remove(d, "sub", true), vfs.EROFS, "Remove(/d/sub, dirOnly)")
		h.wantOneOf(h.fs.Remove(root, "missing", false), []vfs.Errno{vfs.ENOENT, vfs.EROFS}, "Remove(/missing)")
		h.want(h.fs.Rename(root, "f", d, "f"), vfs.EROFS, "Rename(/f, /d/f)")
		h.want(h.fs.Rename(d, "sub", root, "sub"), vfs.EROFS, "Rename(/d/sub, /sub)")
		_, e = h.fs.Open(f, vfs.OpenWrite)
		h.want(e, vfs.EROFS, "Open(/f, Write)")
		_, e = h.fs.Open(d, vfs.OpenWrite)
		h.wantOneOf(e, []vfs.Errno{vfs.EISDIR, vfs.EROFS}, "Open(/d, Write)")
		h.checkContent(f, "/f", []byte("data"))
		h.wantGone("/new")
		h.ino("/d/sub")
	})
	t.Run("Namespace", func(t *testing.T) {
		defer failOnPanic(t)
		fsys := k.opts.NewReadOnlyFS(t, fill)
		n := &nsHarness{harness: newHarness(t, fsys, k.opts), ns: vfs.NewNamespace(fsys)}
		n.root = n.ns.Root()
		n.wantOpen("/new", vfs.OCreate|vfs.OWrite, vfs.EROFS)
		n.wantOpen("/f", vfs.OWrite, vfs.EROFS)
		n.wantOpen("/f", vfs.ORead|vfs.OTrunc, vfs.EROFS)
		n.want(n.ns.Mkdir(n.root, "/new", 0o755), vfs.EROFS, "Mkdir(/new)")
		n.want(n.ns.Remove(n.root, "/f", false), vfs.EROFS, "Remove(/f)")
		n.expectNS([]string{"f /f data", "- /new", "d /d/sub"})
	})
}
