package vfstest

import (
	"strings"
	"testing"

	"github.com/wasmrun/wasmrun/vfs"
)

func (k *kit) testUnlinkOpen(t *testing.T) {
	k.sub(t, "ReadWrite", func(t *testing.T, h *harness) {
		// The data stays readable and writable through the open File until the last Close;
		// Stat works and reports nlink 0; after the Close the inode is gone and, for a
		// backend that reports usage, the space and the inode are reclaimed.
		before, hasUsage := usage(h.fs)
		data := pattern(7, 0, 1<<20+3)
		ino := h.writeFile("/f", data)
		f := h.open(ino, "/f", vfs.OpenRead|vfs.OpenWrite)
		h.must(h.remove("/f", false), "Remove(/f)")
		h.wantGone("/f")
		h.readAt(f, "unlinked /f", 0, 10, data[:10])
		h.readAt(f, "unlinked /f", 1<<20-2, 10, data[1<<20-2:])
		h.writeAt(f, "unlinked /f", []byte("more"), 1<<20+3)
		if n, size, e := f.Append([]byte("!")); n != 1 || size != 1<<20+8 || e != vfs.ESUCCESS {
			t.Errorf("Append(unlinked /f) = (%d, %d, %s), want (1, %d, ESUCCESS)", n, size, e.Name(), 1<<20+8)
		}
		h.readAt(f, "unlinked /f", 1<<20+2, 10, append(data[1<<20+2:], "more!"...))
		size := int64(5000)
		if k.opts.NoSetAttrUnlinked {
			e := h.fs.SetAttr(ino, &vfs.Attr{Valid: vfs.AttrSize, Size: size})
			h.wantOneOf(e, []vfs.Errno{vfs.ESUCCESS, vfs.ENOENT}, "SetAttr(unlinked /f, size=5000) on a backend with NoSetAttrUnlinked")
			if e != vfs.ESUCCESS {
				size = 1<<20 + 8
			}
		} else {
			h.must(h.fs.SetAttr(ino, &vfs.Attr{Valid: vfs.AttrSize, Size: size}), "SetAttr(unlinked /f, size=5000)")
		}
		st := h.stat(ino, "unlinked /f")
		if st.Nlink != 0 || st.Size != size || st.Type != vfs.TypeRegular {
			t.Errorf("Stat(unlinked open /f) = nlink %d size %d type %s, want nlink 0 size %d type file", st.Nlink, st.Size, st.Type, size)
		}
		if es := h.list(h.fs.Root(), "/"); len(es) != 0 {
			t.Errorf("ReadDir(/) = %v after unlinking /f, want no entries", names(es))
		}
		h.close(f, "unlinked /f")
		h.wantInoGone(ino, "unlinked /f after its last Close")
		if hasUsage {
			after, _ := usage(h.fs)
			if after.Bytes != before.Bytes || after.Inodes != before.Inodes {
				t.Errorf("Usage() after the last Close of an unlinked 1 MiB file = %d bytes %d inodes, want %d bytes %d inodes as before it was created",
					after.Bytes, after.Inodes, before.Bytes, before.Inodes)
			}
		}
	})
	k.sub(t, "TwoHandles", func(t *testing.T, h *harness) {
		ino := h.writeFile("/f", []byte("data"))
		a := h.open(ino, "/f", vfs.OpenRead)
		b := h.open(ino, "/f", vfs.OpenRead)
		h.must(h.remove("/f", false), "Remove(/f)")
		h.close(a, "unlinked /f (first handle)")
		h.readAt(b, "unlinked /f", 0, 10, []byte("data"))
		h.stat(ino, "unlinked /f with one handle left")
		h.close(b, "unlinked /f (last handle)")
		h.wantInoGone(ino, "unlinked /f after its last Close")
	})
	k.sub(t, "ClosedBeforeUnlink", func(t *testing.T, h *harness) {
		before, hasUsage := usage(h.fs)
		ino := h.writeFile("/f", pattern(8, 0, 100000))
		h.must(h.remove("/f", false), "Remove(/f)")
		h.wantInoGone(ino, "/f unlinked while closed")
		if hasUsage {
			if after, _ := usage(h.fs); after.Bytes != before.Bytes || after.Inodes != before.Inodes {
				t.Errorf("Usage() after unlinking a closed 100000-byte file = %d bytes %d inodes, want %d bytes %d inodes",
					after.Bytes, after.Inodes, before.Bytes, before.Inodes)
			}
		}
	})
	k.sub(t, "LastOfHardLinks", func(t *testing.T, h *harness) {
		if k.opts.NoHardLinks {
			return
		}
		ino := h.writeFile("/f", []byte("data"))
		h.must(h.link("/f", "/g"), "Link(/f, /g)")
		f := h.open(ino, "/f", vfs.OpenRead)
		h.must(h.remove("/f", false), "Remove(/f)")
		h.wantNlink("/g", 1)
		h.must(h.remove("/g", false), "Remove(/g)")
		h.readAt(f, "unlinked /f", 0, 10, []byte("data"))
		h.close(f, "unlinked /f")
		h.wantInoGone(ino, "/f after its last link and last Close")
	})
}

func (k *kit) testHardLinks(t *testing.T) {
	if k.opts.NoHardLinks {
		k.sub(t, "Refused", func(t *testing.T, h *harness) {
			f := h.mkfile("/f")
			e := h.fs.Link(f, h.fs.Root(), "g")
			h.wantOneOf(e, []vfs.Errno{vfs.ENOTSUP, vfs.EPERM}, "Link(/f, /g) on a backend without hard links")
			h.wantGone("/g")
			h.wantNlink("/f", 1)
		})
		return
	}
	k.sub(t, "Basic", func(t *testing.T, h *harness) {
		ino := h.writeFile("/f", []byte("data"))
		h.mkdir("/d")
		h.must(h.link("/f", "/d/g"), "Link(/f, /d/g)")
		if got := h.ino("/d/g"); got != ino {
			t.Errorf("Lookup(/d/g) = %d, want %d (the Ino of /f)", got, ino)
		}
		h.wantNlink("/f", 2)
		f := h.openPath("/d/g", vfs.OpenWrite)
		h.writeAt(f, "/d/g", []byte("DA"), 0)
		h.close(f, "/d/g")
		h.checkContent(ino, "/f", []byte("DAta"))
		h.must(h.remove("/f", false), "Remove(/f)")
		h.wantNlink("/d/g", 1)
		h.checkContent(ino, "/d/g", []byte("DAta"))
		h.must(h.remove("/d/g", false), "Remove(/d/g)")
		h.wantInoGone(ino, "/f after removing both its links")
	})
	k.sub(t, "Many", func(t *testing.T, h *harness) {
		h.mkfile("/f")
		for i := range 50 {
			h.must(h.link("/f", "/l"+strings.Repeat("x", i)), "Link(/f, /l...)")
		}
		h.wantNlink("/f", 51)
	})
	k.sub(t, "Errors", func(t *testing.T, h *harness) {
		f := h.mkfile("/f")
		d := h.mkdir("/d")
		root := h.fs.Root()
		h.want(h.fs.Link(d, root, "d2"), vfs.EPERM, "Link(/d, /d2) of a directory")
		h.wantGone("/d2")
		h.wantNlink("/d", 2)
		h.mkfile("/g")
		h.want(h.fs.Link(f, root, "g"), vfs.EEXIST, "Link(/f, /g) onto a file")
		h.want(h.fs.Link(f, root, "d"), vfs.EEXIST, "Link(/f, /d) onto a directory")
		h.want(h.fs.Link(f, root, "f"), vfs.EEXIST, "Link(/f, /f) onto itself")
		h.wantNlink("/f", 1)
		h.must(h.remove("/f", false), "Remove(/f)")
		h.want(h.fs.Link(f, root, "again"), vfs.ENOENT, "Link(removed /f, /again)")
		h.wantGone("/again")
	})
	k.sub(t, "Symlink", func(t *testing.T, h *harness) {
		if k.opts.NoSymlinks {
			return
		}
		s := h.symlink("/s", "target")
		h.must(h.link("/s", "/s2"), "Link(/s, /s2)")
		if got := h.ino("/s2"); got != s {
			t.Errorf("Lookup(/s2) = %d, want the symlink's Ino %d (link does not follow)", got, s)
		}
		h.wantNlink("/s", 2)
	})
}

func (k *kit) testSymlinks(t *testing.T) {
	if k.opts.NoSymlinks {
		k.sub(t, "Refused", func(t *testing.T, h *harness) {
			_, e := h.fs.Create(h.fs.Root(), "s", vfs.TypeSymlink, 0o777, "target")
			h.wantOneOf(e, []vfs.Errno{vfs.EINVAL, vfs.ENOTSUP}, "Create(/s, symlink) on a backend without symlinks")
			h.wantGone("/s")
		})
		return
	}
	k.sub(t, "Readlink", func(t *testing.T, h *harness) {
		// The target is kept byte for byte and Stat.Size is its length, as lstat reports. The
		// longest is PathMax-1 bytes: PathMax counts the terminating NUL.
		targets := []string{"a", "/abs/path", "../up/../x", "dir/", "//double//slash", " spaces ", ".", "..",
			"ünïcödé", "\xff\x01\x7f", `back\slash`, strings.Repeat("long/", 200), strings.Repeat("p", vfs.PathMax-1)}
		for i, target := range targets {
			p := "/s" + string(rune('a'+i))
			ino := h.symlink(p, target)
			got, e := h.fs.Readlink(ino)
			if e != vfs.ESUCCESS || got != target {
				t.Errorf("Readlink(%s) = (%q, %s), want (%q, ESUCCESS)", p, clipStr(got), e.Name(), clipStr(target))
			}
			st := h.stat(ino, p)
			if st.Type != vfs.TypeSymlink || st.Size != int64(len(target)) || st.Nlink != 1 {
				t.Errorf("Stat(%s) = type %s size %d nlink %d, want symlink %d 1", p, st.Type, st.Size, st.Nlink, len(target))
			}
		}
	})
	k.sub(t, "NotFollowed", func(t *testing.T, h *harness) {
		// Backends never follow: Lookup names the symlink itself, and a dangling one is fine.
		h.mkdir("/d")
		s := h.symlink("/s", "d")
		if st := h.statPath("/s"); st.Ino != s || st.Type != vfs.TypeSymlink {
			t.Errorf("Stat(Lookup(/s)) = ino %d type %s, want ino %d symlink", st.Ino, st.Type, s)
		}
		h.symlink("/dangling", "nowhere/at/all")
		h.ino("/dangling")
	})
	k.sub(t, "Errors", func(t *testing.T, h *harness) {
		f := h.mkfile("/f")
		d := h.mkdir("/d")
		_, e := h.fs.Readlink(f)
		h.want(e, vfs.EINVAL, "Readlink(/f), a file")
		_, e = h.fs.Readlink(d)
		h.want(e, vfs.EINVAL, "Readlink(/d), a directory")
		_, e = h.fs.Readlink(h.fs.Root())
		h.want(e, vfs.EINVAL, "Readlink(/)")
		s := h.symlink("/s", "f")
		h.must(h.remove("/s", false), "Remove(/s)")
		_, e = h.fs.Readlink(s)
		h.want(e, vfs.ENOENT, "Readlink(removed /s)")
	})
}

// usage returns the backend's usage if it has a vfs.Usager (found with vfs.As).
func usage(fsys vfs.FS) (vfs.Usage, bool) {
	u, ok := vfs.As[vfs.Usager](fsys)
	if !ok {
		return vfs.Usage{}, false
	}
	return u.Usage(), true
}

func clipStr(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
