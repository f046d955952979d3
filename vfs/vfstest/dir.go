package vfstest

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/wasmrun/wasmrun/vfs"
)

func (k *kit) testCreate(t *testing.T) {
	k.sub(t, "Types", func(t *testing.T, h *harness) {
		root := h.fs.Root()
		f := h.mkfile("/f")
		st := h.stat(f, "/f")
		if st.Type != vfs.TypeRegular || st.Size != 0 || st.Nlink != 1 {
			t.Errorf("Stat(/f) = type %s size %d nlink %d, want file 0 1", st.Type, st.Size, st.Nlink)
		}
		h.wantNlink("/", 2)
		d := h.mkdir("/d")
		st = h.stat(d, "/d")
		if st.Type != vfs.TypeDir || st.Nlink != 2 {
			t.Errorf("Stat(/d) = type %s nlink %d, want dir 2", st.Type, st.Nlink)
		}
		h.wantNlink("/", 3)
		if es := h.list(d, "/d"); len(es) != 0 {
			t.Errorf("ReadDir(/d) of a new directory = %v, want no entries", names(es))
		}
		if !k.opts.NoSymlinks {
			s := h.symlink("/s", "f")
			st = h.stat(s, "/s")
			if st.Type != vfs.TypeSymlink || st.Nlink != 1 {
				t.Errorf("Stat(/s) = type %s nlink %d, want symlink 1", st.Type, st.Nlink)
			}
			h.wantNlink("/", 3)
		}
		if got := h.ino("/f"); got != f || got == root {
			t.Errorf("Lookup(/f) = %d, want %d", got, f)
		}
	})
	k.sub(t, "Nested", func(t *testing.T, h *harness) {
		p := ""
		for i := range 20 {
			p += fmt.Sprintf("/d%d", i)
			h.mkdir(p)
		}
		h.writeFile(p+"/f", []byte("deep"))
		h.checkContent(h.ino(p+"/f"), p+"/f", []byte("deep"))
	})
	k.sub(t, "Exists", func(t *testing.T, h *harness) {
		types := []vfs.FileType{vfs.TypeRegular, vfs.TypeDir}
		if !k.opts.NoSymlinks {
			types = append(types, vfs.TypeSymlink)
		}
		for _, old := range types {
			p := "/" + old.String()
			ino, e := h.create(p, old, 0o755, "target")
			h.must(e, "Create(%s, %s)", p, old)
			for _, typ := range types {
				_, e := h.create(p, typ, 0o755, "other")
				h.want(e, vfs.EEXIST, "Create(%s, %s) over an existing %s", p, typ, old)
			}
			if got := h.ino(p); got != ino {
				t.Errorf("Lookup(%s) = %d after failed Creates, want %d", p, got, ino)
			}
			if st := h.stat(ino, p); st.Type != old {
				t.Errorf("Stat(%s).Type = %s after failed Creates, want %s", p, st.Type, old)
			}
		}
		h.wantNlink("/", 3)
	})
	k.sub(t, "BadType", func(t *testing.T, h *harness) {
		for _, typ := range []vfs.FileType{vfs.TypeUnknown, vfs.TypeBlockDevice, vfs.TypeCharDevice, vfs.TypeSocketDgram, vfs.TypeSocketStrm, 99} {
			_, e := h.fs.Create(h.fs.Root(), "x", typ, 0o644, "")
			h.want(e, vfs.EINVAL, "Create(/x, type %d)", typ)
			h.wantGone("/x")
		}
	})
}

func (k *kit) testRemove(t *testing.T) {
	k.sub(t, "Unlink", func(t *testing.T, h *harness) {
		ino := h.writeFile("/f", []byte("x"))
		h.must(h.remove("/f", false), "Remove(/f)")
		h.wantGone("/f")
		h.wantInoGone(ino, "/f")
		h.wantNlink("/", 2)
		h.want(h.remove("/f", false), vfs.ENOENT, "Remove(/f) again")
	})
	k.sub(t, "Rmdir", func(t *testing.T, h *harness) {
		ino := h.mkdir("/d")
		h.wantNlink("/", 3)
		h.must(h.remove("/d", true), "Remove(/d, dirOnly)")
		h.wantGone("/d")
		h.wantInoGone(ino, "/d")
		h.wantNlink("/", 2)
		h.want(h.remove("/d", true), vfs.ENOENT, "Remove(/d, dirOnly) again")
	})
	k.sub(t, "UnlinkDir", func(t *testing.T, h *harness) {
		ino := h.mkdir("/d")
		h.want(h.remove("/d", false), vfs.EISDIR, "Remove(/d) (unlink of a directory)")
		if got := h.ino("/d"); got != ino {
			t.Errorf("Lookup(/d) = %d after failed unlink, want %d", got, ino)
		}
		h.wantNlink("/", 3)
	})
	k.sub(t, "RmdirNonDir", func(t *testing.T, h *harness) {
		h.mkfile("/f")
		h.want(h.remove("/f", true), vfs.ENOTDIR, "Remove(/f, dirOnly)")
		h.ino("/f")
		if !k.opts.NoSymlinks {
			h.mkdir("/d")
			h.symlink("/s", "d")
			h.want(h.remove("/s", true), vfs.ENOTDIR, "Remove(/s -> d, dirOnly)")
			h.ino("/s")
		}
	})
	k.sub(t, "NotEmpty", func(t *testing.T, h *harness) {
		children := map[string]func(p string){
			"file":   func(p string) { h.mkfile(p) },
			"dir":    func(p string) { h.mkdir(p) },
			"hidden": func(p string) { h.mkfile(p[:strings.LastIndexByte(p, '/')+1] + ".h") },
		}
		if !k.opts.NoSymlinks {
			children["symlink"] = func(p string) { h.symlink(p, "nowhere") }
		}
		for what, mk := range children {
			d := "/" + what
			h.mkdir(d)
			mk(d + "/c")
			h.want(h.remove(d, true), vfs.ENOTEMPTY, "Remove(%s, dirOnly) holding a %s", d, what)
			h.ino(d)
		}
	})
	k.sub(t, "Emptied", func(t *testing.T, h *harness) {
		h.mkdir("/d")
		for i := range 50 {
			h.mkfile(fmt.Sprintf("/d/f%d", i))
		}
		h.mkdir("/d/sub")
		for i := range 50 {
			h.must(h.remove(fmt.Sprintf("/d/f%d", i), false), "Remove(/d/f%d)", i)
		}
		h.want(h.remove("/d", true), vfs.ENOTEMPTY, "Remove(/d, dirOnly) holding /d/sub")
		h.must(h.remove("/d/sub", true), "Remove(/d/sub, dirOnly)")
		h.must(h.remove("/d", true), "Remove(/d, dirOnly) once emptied")
		h.wantNlink("/", 2)
	})
	k.sub(t, "Missing", func(t *testing.T, h *harness) {
		h.want(h.remove("/nope", false), vfs.ENOENT, "Remove(/nope)")
		h.want(h.remove("/nope", true), vfs.ENOENT, "Remove(/nope, dirOnly)")
	})
	k.sub(t, "Symlink", func(t *testing.T, h *harness) {
		if k.opts.NoSymlinks {
			return
		}
		f := h.writeFile("/f", []byte("x"))
		h.symlink("/s", "f")
		h.must(h.remove("/s", false), "Remove(/s)")
		h.wantGone("/s")
		h.checkContent(f, "/f", []byte("x"))
		h.mkdir("/d")
		h.symlink("/sd", "d")
		h.must(h.remove("/sd", false), "Remove(/sd -> d)")
		h.ino("/d")
	})
}

func (k *kit) testNlink(t *testing.T) {
	k.sub(t, "Dirs", func(t *testing.T, h *harness) {
		h.mkdir("/a")
		h.wantNlink("/", 3)
		h.mkdir("/a/b")
		h.mkdir("/a/c")
		h.wantNlink("/a", 4)
		h.mkfile("/a/f")
		if !k.opts.NoSymlinks {
			h.symlink("/a/s", "b")
		}
		h.wantNlink("/a", 4) // files and symlinks do not count
		h.wantNlink("/a/b", 2)
		h.mkdir("/a/b/x")
		h.wantNlink("/a/b", 3)
		h.wantNlink("/a", 4)
		h.must(h.remove("/a/c", true), "Remove(/a/c, dirOnly)")
		h.wantNlink("/a", 3)
		h.wantNlink("/", 3)
	})
	k.sub(t, "Files", func(t *testing.T, h *harness) {
		h.mkfile("/f")
		h.wantNlink("/f", 1)
		if k.opts.NoHardLinks {
			return
		}
		h.mkdir("/d")
		h.must(h.link("/f", "/g"), "Link(/f, /g)")
		h.must(h.link("/f", "/d/h"), "Link(/f, /d/h)")
		h.wantNlink("/f", 3)
		h.wantNlink("/d/h", 3)
		h.wantNlink("/d", 2) // a link to a file is not a subdirectory
		h.must(h.remove("/g", false), "Remove(/g)")
		h.wantNlink("/f", 2)
	})
}

func (k *kit) testIno(t *testing.T) {
	k.sub(t, "NotReused", func(t *testing.T, h *harness) {
		// Create and delete 1000 inodes of every type (and replace some by rename): no Ino is
		// ever seen twice, and none is the root's or 0.
		seen := map[vfs.Ino]string{h.fs.Root(): "/"}
		note := func(ino vfs.Ino, what string) {
			t.Helper()
			if ino == 0 {
				t.Fatalf("%s has Ino 0", what)
			}
			if prev, ok := seen[ino]; ok && !k.opts.NoStableIno {
				t.Fatalf("%s has Ino %d, already used by %s (inode numbers must never be reused)", what, ino, prev)
			}
			seen[ino] = what
		}
		h.mkdir("/d")
		for i := range 1000 {
			what := fmt.Sprintf("inode %d", i)
			switch i % 10 {
			case 0:
				note(h.mkdir("/d/x"), what+" (dir)")
				h.must(h.remove("/d/x", true), "Remove(/d/x, dirOnly)")
			case 1:
				if !k.opts.NoSymlinks {
					note(h.symlink("/d/x", "t"), what+" (symlink)")
					h.must(h.remove("/d/x", false), "Remove(/d/x)")
				}
			case 2:
				note(h.writeFile("/d/x", []byte("x")), what+" (file)")
				note(h.mkfile("/d/y"), what+" (file)")
				h.must(h.rename("/d/y", "/d/x"), "Rename(/d/y, /d/x)")
				h.must(h.remove("/d/x", false), "Remove(/d/x)")
			default:
				note(h.mkfile("/d/x"), what+" (file)")
				h.must(h.remove("/d/x", false), "Remove(/d/x)")
			}
		}
	})
	k.sub(t, "Distinct", func(t *testing.T, h *harness) {
		seen := map[vfs.Ino]string{h.fs.Root(): "/"}
		for i := range 200 {
			p := fmt.Sprintf("/f%d", i)
			var ino vfs.Ino
			if i%4 == 0 {
				ino = h.mkdir(p)
			} else {
				ino = h.mkfile(p)
			}
			if prev, ok := seen[ino]; ok {
				t.Fatalf("%s has Ino %d, the Ino of live %s", p, ino, prev)
			}
			seen[ino] = p
		}
	})
	k.sub(t, "StableAcrossRename", func(t *testing.T, h *harness) {
		f := h.mkfile("/f")
		d := h.mkdir("/d")
		h.mkdir("/e")
		h.must(h.rename("/f", "/e/g"), "Rename(/f, /e/g)")
		h.must(h.rename("/d", "/e/d2"), "Rename(/d, /e/d2)")
		if got := h.ino("/e/g"); got != f {
			t.Errorf("Lookup(/e/g) = %d after rename from /f, want %d", got, f)
		}
		if got := h.ino("/e/d2"); got != d {
			t.Errorf("Lookup(/e/d2) = %d after rename from /d, want %d", got, d)
		}
	})
}

func (k *kit) testRemovedDir(t *testing.T) {
	k.sub(t, "UsedAsDir", func(t *testing.T, h *harness) {
		// A removed directory's Ino is ENOENT everywhere a directory is expected.
		d := h.mkdir("/d")
		f := h.mkfile("/f")
		h.must(h.remove("/d", true), "Remove(/d, dirOnly)")
		root := h.fs.Root()
		_, _, e := h.fs.Lookup(d, "x")
		h.want(e, vfs.ENOENT, "Lookup(removed /d, x)")
		_, e = h.fs.Create(d, "x", vfs.TypeRegular, 0o644, "")
		h.want(e, vfs.ENOENT, "Create(removed /d, x, file)")
		_, e = h.fs.Create(d, "x", vfs.TypeDir, 0o755, "")
		h.want(e, vfs.ENOENT, "Create(removed /d, x, dir)")
		h.want(h.fs.Remove(d, "x", false), vfs.ENOENT, "Remove(removed /d, x)")
		h.want(h.fs.Rename(d, "x", root, "y"), vfs.ENOENT, "Rename(removed /d/x, /y)")
		h.want(h.fs.Rename(root, "f", d, "y"), vfs.ENOENT, "Rename(/f, removed /d/y)")
		h.ino("/f")
		if !k.opts.NoHardLinks {
			h.want(h.fs.Link(f, d, "y"), vfs.ENOENT, "Link(/f, removed /d/y)")
			h.wantNlink("/f", 1)
		}
		_, e = h.fs.Stat(d)
		h.want(e, vfs.ENOENT, "Stat(removed /d)")
		h.want(h.fs.SetAttr(d, &vfs.Attr{Valid: vfs.AttrMode, Mode: 0o700}), vfs.ENOENT, "SetAttr(removed /d)")
		_, e = h.fs.Open(d, vfs.OpenRead)
		h.want(e, vfs.ENOENT, "Open(removed /d)")
	})
	k.sub(t, "OpenWhileRemoved", func(t *testing.T, h *harness) {
		// rmdir of an open directory: the handle lists nothing, nothing can be created in it,
		// Stat works until the last Close, and after it the Ino is gone.
		d := h.mkdir("/d")
		f := h.open(d, "/d", vfs.OpenRead)
		h.must(h.remove("/d", true), "Remove(/d, dirOnly)")
		if es := h.listFile(f, "/d", 0); len(es) != 0 {
			t.Errorf("ReadDir(removed open /d) = %v, want no entries", names(es))
		}
		_, e := h.fs.Create(d, "x", vfs.TypeRegular, 0o644, "")
		h.want(e, vfs.ENOENT, "Create(removed open /d, x)")
		_, _, e = h.fs.Lookup(d, "x")
		h.want(e, vfs.ENOENT, "Lookup(removed open /d, x)")
		_, e = h.fs.Stat(d)
		h.want(e, vfs.ESUCCESS, "Stat(removed /d, still open)")
		h.close(f, "/d")
		h.wantInoGone(d, "removed /d after its last Close")
		h.wantNlink("/", 2)
	})
}

func (k *kit) testNotDir(t *testing.T) {
	// Every method that takes a directory Ino answers ENOTDIR for a file or a symlink.
	kinds := []struct {
		name string
		mk   func(h *harness) vfs.Ino
	}{
		{"File", func(h *harness) vfs.Ino { return h.mkfile("/nd") }},
	}
	if !k.opts.NoSymlinks {
		kinds = append(kinds, struct {
			name string
			mk   func(h *harness) vfs.Ino
		}{"Symlink", func(h *harness) vfs.Ino { h.mkdir("/d"); return h.symlink("/nd", "d") }})
	}
	for _, kind := range kinds {
		k.sub(t, kind.name, func(t *testing.T, h *harness) {
			nd := kind.mk(h)
			f := h.mkfile("/f")
			root := h.fs.Root()
			_, _, e := h.fs.Lookup(nd, "x")
			h.want(e, vfs.ENOTDIR, "Lookup(/nd, x)")
			_, e = h.fs.Create(nd, "x", vfs.TypeRegular, 0o644, "")
			h.want(e, vfs.ENOTDIR, "Create(/nd, x)")
			h.want(h.fs.Remove(nd, "x", false), vfs.ENOTDIR, "Remove(/nd, x)")
			h.want(h.fs.Remove(nd, "x", true), vfs.ENOTDIR, "Remove(/nd, x, dirOnly)")
			h.want(h.fs.Rename(nd, "x", root, "y"), vfs.ENOTDIR, "Rename(/nd/x, /y)")
			h.want(h.fs.Rename(root, "f", nd, "y"), vfs.ENOTDIR, "Rename(/f, /nd/y)")
			h.ino("/f")
			if !k.opts.NoHardLinks {
				h.want(h.fs.Link(f, nd, "y"), vfs.ENOTDIR, "Link(/f, /nd/y)")
			}
			fl, e := h.fs.Open(nd, vfs.OpenRead)
			if kind.name == "File" && e == vfs.ESUCCESS {
				h.want(fl.ReadDir(0, func(*vfs.DirEntry) bool { return true }), vfs.ENOTDIR, "ReadDir(/nd)")
				h.close(fl, "/nd")
			} else if e == vfs.ESUCCESS {
				fl.Close()
			}
		})
	}
}

// setDiff describes how got differs from want (both sorted).
func setDiff(got, want []string) string {
	g, w := map[string]int{}, map[string]int{}
	for _, s := range got {
		g[s]++
	}
	for _, s := range want {
		w[s]++
	}
	var missing, extra []string
	for s, c := range w {
		if g[s] < c {
			missing = append(missing, s)
		}
	}
	for s, c := range g {
		if w[s] < c {
			extra = append(extra, s)
		}
	}
	slices.Sort(missing)
	slices.Sort(extra)
	return fmt.Sprintf("missing %s; extra or repeated %s", clip(missing), clip(extra))
}

func clip(s []string) string {
	if len(s) > 10 {
		return fmt.Sprintf("%q and %d more", s[:10], len(s)-10)
	}
	return fmt.Sprintf("%q", s)
}
