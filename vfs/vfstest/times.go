package vfstest

import (
	"fmt"
	"testing"
	"time"

	"github.com/wasmrun/wasmrun/vfs"
)

// old is a time far in the past that the checks set before an operation, so an update shows.
const old = 1_000_000_007

// clock brackets operations with time.Now and checks times against the bracket, widened by the
// backend's granularity.
type clock struct {
	h *harness
	g int64
}

func (k *kit) clock(h *harness) *clock { return &clock{h: h, g: int64(k.opts.TimeGranularity)} }

// pause waits long enough that two operations on either side get different times.
func (c *clock) pause() { time.Sleep(time.Duration(2*c.g) + time.Millisecond) }

// now returns the wall clock in nanoseconds.
func now() int64 { return time.Now().UnixNano() }

// within checks that the time field of p is in [lo, hi], widened by the granularity.
func (c *clock) within(p, field string, got, lo, hi int64) {
	c.h.t.Helper()
	if got < lo-c.g || got > hi+c.g {
		c.h.t.Errorf("Stat(%s).%s = %s, want between %s and %s (the operation's start and end)%s",
			p, field, fmtTime(got), fmtTime(lo), fmtTime(hi), c.slack())
	}
}

// exact checks a time SetAttr set.
func (c *clock) exact(p, field string, got, want int64) {
	c.h.t.Helper()
	if d := got - want; d < -c.g || d > c.g {
		c.h.t.Errorf("Stat(%s).%s = %s, want %s as set%s", p, field, fmtTime(got), fmtTime(want), c.slack())
	}
}

func (c *clock) slack() string {
	if c.g == 0 {
		return ""
	}
	return fmt.Sprintf(" (give or take %v)", time.Duration(c.g))
}

func fmtTime(ns int64) string {
	return fmt.Sprintf("%d (%s)", ns, time.Unix(0, ns).UTC().Format(time.RFC3339Nano))
}

// setOld sets atime and mtime of ino to old.
func (h *harness) setOld(ino vfs.Ino, p string) {
	h.t.Helper()
	h.must(h.fs.SetAttr(ino, &vfs.Attr{Valid: vfs.AttrAtime | vfs.AttrMtime, Atime: old, Mtime: old}), "SetAttr(%s, atime=mtime=%d)", p, old)
}

func (k *kit) testTimes(t *testing.T) {
	if k.opts.NoTimes {
		k.sub(t, "Accepted", func(t *testing.T, h *harness) {
			ino := h.mkfile("/f")
			h.setOld(ino, "/f")
		})
		return
	}
	k.sub(t, "Create", func(t *testing.T, h *harness) {
		c := k.clock(h)
		types := []vfs.FileType{vfs.TypeRegular, vfs.TypeDir}
		if !k.opts.NoSymlinks {
			types = append(types, vfs.TypeSymlink)
		}
		for _, typ := range types {
			p := "/" + typ.String()
			lo := now()
			ino, e := h.create(p, typ, 0o755, "t")
			hi := now()
			h.must(e, "Create(%s, %s)", p, typ)
			st := h.stat(ino, p)
			if !k.opts.NoAtime {
				c.within(p, "Atime", st.Atime, lo, hi)
			}
			c.within(p, "Mtime", st.Mtime, lo, hi)
			c.within(p, "Ctime", st.Ctime, lo, hi)
		}
	})
	// Each operation updates mtime and ctime of the file and leaves atime alone.
	for _, op := range []struct {
		name string
		do   func(h *harness, ino vfs.Ino, f vfs.File)
	}{
		{"WriteAt", func(h *harness, ino vfs.Ino, f vfs.File) { h.writeAt(f, "/f", []byte("x"), 3) }},
		{"WriteAtPastEnd", func(h *harness, ino vfs.Ino, f vfs.File) { h.writeAt(f, "/f", []byte("x"), 100000) }},
		{"Append", func(h *harness, ino vfs.Ino, f vfs.File) {
			_, _, e := f.Append([]byte("x"))
			h.must(e, "Append(/f)")
		}},
		{"TruncateDown", func(h *harness, ino vfs.Ino, f vfs.File) {
			h.must(h.fs.SetAttr(ino, &vfs.Attr{Valid: vfs.AttrSize, Size: 1}), "SetAttr(/f, size=1)")
		}},
		{"TruncateUp", func(h *harness, ino vfs.Ino, f vfs.File) {
			h.must(h.fs.SetAttr(ino, &vfs.Attr{Valid: vfs.AttrSize, Size: 70000}), "SetAttr(/f, size=70000)")
		}},
	} {
		k.sub(t, op.name+"UpdatesMtimeCtime", func(t *testing.T, h *harness) {
			c := k.clock(h)
			ino := h.writeFile("/f", []byte("content"))
			f := h.open(ino, "/f", vfs.OpenRead|vfs.OpenWrite)
			defer h.close(f, "/f")
			h.setOld(ino, "/f")
			c.pause()
			lo := now()
			op.do(h, ino, f)
			hi := now()
			st := h.stat(ino, "/f")
			c.within("/f", "Mtime", st.Mtime, lo, hi)
			c.within("/f", "Ctime", st.Ctime, lo, hi)
			if !k.opts.NoAtime {
				c.exact("/f", "Atime", st.Atime, old)
			}
		})
	}
	k.sub(t, "ReadKeepsMtimeCtime", func(t *testing.T, h *harness) {
		ino := h.writeFile("/f", []byte("content"))
		h.setOld(ino, "/f")
		st0 := h.stat(ino, "/f")
		k.clock(h).pause()
		h.readAll(ino, "/f")
		h.list(h.fs.Root(), "/")
		st := h.stat(ino, "/f")
		if st.Mtime != st0.Mtime || st.Ctime != st0.Ctime {
			t.Errorf("reading /f changed mtime %d -> %d, ctime %d -> %d; want both unchanged", st0.Mtime, st.Mtime, st0.Ctime, st.Ctime)
		}
	})
	k.sub(t, "SetAttrExact", func(t *testing.T, h *harness) {
		c := k.clock(h)
		ino := h.mkfile("/f")
		for _, v := range []struct{ atime, mtime int64 }{
			{1, 2},
			{old, old + 1},
			{1_700_000_000_123_456_789, 1_700_000_000_987_654_321},
			{4_000_000_000_000_000_001, 4_000_000_000_999_999_999},
			{0, 0},
		} {
			lo := now()
			h.must(h.fs.SetAttr(ino, &vfs.Attr{Valid: vfs.AttrAtime | vfs.AttrMtime, Atime: v.atime, Mtime: v.mtime}),
				"SetAttr(/f, atime=%d, mtime=%d)", v.atime, v.mtime)
			hi := now()
			st := h.stat(ino, "/f")
			if !k.opts.NoAtime {
				c.exact("/f", "Atime", st.Atime, v.atime)
			}
			c.exact("/f", "Mtime", st.Mtime, v.mtime)
			c.within("/f", "Ctime", st.Ctime, lo, hi)
		}
	})
	k.sub(t, "SetAttrOneTime", func(t *testing.T, h *harness) {
		c := k.clock(h)
		ino := h.mkfile("/f")
		h.setOld(ino, "/f")
		h.must(h.fs.SetAttr(ino, &vfs.Attr{Valid: vfs.AttrMtime, Mtime: 5_000_000_000}), "SetAttr(/f, mtime only)")
		st := h.stat(ino, "/f")
		c.exact("/f", "Mtime", st.Mtime, 5_000_000_000)
		if !k.opts.NoAtime {
			c.exact("/f", "Atime", st.Atime, old)
			h.must(h.fs.SetAttr(ino, &vfs.Attr{Valid: vfs.AttrAtime, Atime: 7_000_000_000}), "SetAttr(/f, atime only)")
			st = h.stat(ino, "/f")
			c.exact("/f", "Atime", st.Atime, 7_000_000_000)
			c.exact("/f", "Mtime", st.Mtime, 5_000_000_000)
		}
	})
	k.sub(t, "DirAndSymlink", func(t *testing.T, h *harness) {
		c := k.clock(h)
		p := []string{"/d"}
		inos := []vfs.Ino{h.mkdir("/d")}
		if !k.opts.NoSymlinks {
			p = append(p, "/s")
			inos = append(inos, h.symlink("/s", "d"))
		}
		for i, ino := range inos {
			h.must(h.fs.SetAttr(ino, &vfs.Attr{Valid: vfs.AttrMtime, Mtime: 123_456_789}), "SetAttr(%s, mtime)", p[i])
			c.exact(p[i], "Mtime", h.stat(ino, p[i]).Mtime, 123_456_789)
		}
	})
	// Each metadata change sets ctime to now (and leaves mtime alone).
	type change struct {
		name  string
		setup func(h *harness)
		do    func(h *harness, ino vfs.Ino)
	}
	changes := []change{
		{"Mode", nil, func(h *harness, ino vfs.Ino) {
			h.must(h.fs.SetAttr(ino, &vfs.Attr{Valid: vfs.AttrMode, Mode: 0o600}), "SetAttr(/f, mode=0600)")
		}},
		{"Times", nil, func(h *harness, ino vfs.Ino) {
			h.must(h.fs.SetAttr(ino, &vfs.Attr{Valid: vfs.AttrAtime | vfs.AttrMtime, Atime: old, Mtime: old}), "SetAttr(/f, times)")
		}},
	}
	if !k.opts.NoHardLinks {
		changes = append(changes,
			change{"Link", nil, func(h *harness, ino vfs.Ino) { h.must(h.link("/f", "/g"), "Link(/f, /g)") }},
			change{"UnlinkOtherName",
				func(h *harness) { h.must(h.link("/f", "/g"), "Link(/f, /g)") },
				func(h *harness, ino vfs.Ino) { h.must(h.remove("/g", false), "Remove(/g)") }})
	}
	for _, ch := range changes {
		k.sub(t, "Ctime"+ch.name, func(t *testing.T, h *harness) {
			c := k.clock(h)
			ino := h.writeFile("/f", []byte("x"))
			if ch.setup != nil {
				ch.setup(h)
			}
			h.setOld(ino, "/f")
			c.pause()
			lo := now()
			ch.do(h, ino)
			hi := now()
			st := h.stat(ino, "/f")
			c.within("/f", "Ctime", st.Ctime, lo, hi)
			if ch.name != "Times" {
				c.exact("/f", "Mtime", st.Mtime, old)
			}
		})
	}
	// Adding or removing an entry updates the directory's mtime and ctime (POSIX).
	for _, op := range []struct {
		name  string
		dirs  []string
		setup func(h *harness)
		do    func(h *harness)
	}{
		{"Create", []string{"/d"}, nil, func(h *harness) { h.mkfile("/d/f") }},
		{"Mkdir", []string{"/d"}, nil, func(h *harness) { h.mkdir("/d/sub") }},
		{"Unlink", []string{"/d"}, func(h *harness) { h.mkfile("/d/f") }, func(h *harness) { h.must(h.remove("/d/f", false), "Remove(/d/f)") }},
		{"Rmdir", []string{"/d"}, func(h *harness) { h.mkdir("/d/sub") }, func(h *harness) { h.must(h.remove("/d/sub", true), "Remove(/d/sub)") }},
		{"RenameWithin", []string{"/d"}, func(h *harness) { h.mkfile("/d/f") }, func(h *harness) { h.must(h.rename("/d/f", "/d/g"), "Rename(/d/f, /d/g)") }},
		{"RenameBetween", []string{"/d", "/e"}, func(h *harness) { h.mkdir("/e"); h.mkfile("/d/f") }, func(h *harness) { h.must(h.rename("/d/f", "/e/f"), "Rename(/d/f, /e/f)") }},
	} {
		k.sub(t, "Dir"+op.name, func(t *testing.T, h *harness) {
			c := k.clock(h)
			h.mkdir("/d")
			if op.setup != nil {
				op.setup(h)
			}
			for _, d := range op.dirs {
				h.setOld(h.ino(d), d)
			}
			c.pause()
			lo := now()
			op.do(h)
			hi := now()
			for _, d := range op.dirs {
				st := h.statPath(d)
				c.within(d, "Mtime", st.Mtime, lo, hi)
				c.within(d, "Ctime", st.Ctime, lo, hi)
			}
		})
	}
}

func (k *kit) testMode(t *testing.T) {
	k.sub(t, "CreatePerm", func(t *testing.T, h *harness) {
		for _, c := range []struct {
			p    string
			typ  vfs.FileType
			perm uint32
		}{
			{"/f640", vfs.TypeRegular, 0o640},
			{"/f600", vfs.TypeRegular, 0o600},
			{"/d750", vfs.TypeDir, 0o750},
			{"/d700", vfs.TypeDir, 0o700},
		} {
			ino, e := h.create(c.p, c.typ, c.perm, "")
			h.must(e, "Create(%s, %s, %#o)", c.p, c.typ, c.perm)
			if st := h.stat(ino, c.p); st.Mode != c.perm {
				t.Errorf("Stat(%s).Mode = %#o, want %#o", c.p, st.Mode, c.perm)
			}
		}
	})
	k.sub(t, "SetAttrMode", func(t *testing.T, h *harness) {
		f := h.writeFile("/f", []byte("data"))
		d := h.mkdir("/d")
		for _, c := range []struct {
			p    string
			ino  vfs.Ino
			mode uint32
		}{
			{"/f", f, 0o000}, {"/f", f, 0o600}, {"/f", f, 0o644}, {"/f", f, 0o755}, {"/f", f, 0o777},
			{"/d", d, 0o700}, {"/d", d, 0o1777}, {"/d", d, 0o755},
		} {
			h.must(h.fs.SetAttr(c.ino, &vfs.Attr{Valid: vfs.AttrMode, Mode: c.mode}), "SetAttr(%s, mode=%#o)", c.p, c.mode)
			st := h.stat(c.ino, c.p)
			if st.Mode != c.mode {
				t.Errorf("Stat(%s).Mode = %#o after SetAttr(mode=%#o)", c.p, st.Mode, c.mode)
			}
			if want := map[string]vfs.FileType{"/f": vfs.TypeRegular, "/d": vfs.TypeDir}[c.p]; st.Type != want {
				t.Errorf("Stat(%s).Type = %s after SetAttr(mode), want %s", c.p, st.Type, want)
			}
		}
		h.checkContent(f, "/f", []byte("data"))
	})
}

func (k *kit) testNames(t *testing.T) {
	// NameMax counts bytes, not characters: 127 two-byte runes and one byte make 255.
	long := map[string]string{
		"ASCII": "n",
		"UTF8":  "é",
	}
	for name, unit := range long {
		k.sub(t, "Max"+name, func(t *testing.T, h *harness) {
			var ok, tooLong string
			for len(ok)+len(unit) <= vfs.NameMax {
				ok += unit
			}
			ok += "x"[:vfs.NameMax-len(ok)]
			tooLong = ok + "y"
			if len(ok) != vfs.NameMax || len(tooLong) != vfs.NameMax+1 {
				panic("vfstest: bad name lengths")
			}
			root := h.fs.Root()
			types := []vfs.FileType{vfs.TypeRegular, vfs.TypeDir}
			if !k.opts.NoSymlinks {
				types = append(types, vfs.TypeSymlink)
			}
			d := h.mkdir("/d")
			for _, typ := range types {
				_, e := h.fs.Create(d, ok, typ, 0o755, "t")
				h.must(e, "Create(/d/<%d bytes>, %s)", len(ok), typ)
				es := h.list(d, "/d")
				if len(es) != 1 || es[0].Name != ok {
					t.Errorf("ReadDir(/d) = %q, want the one %d-byte name", names(es), len(ok))
				}
				_, e = h.fs.Create(d, tooLong, typ, 0o755, "t")
				h.want(e, vfs.ENAMETOOLONG, "Create(/d/<%d bytes>, %s)", len(tooLong), typ)
				if typ != vfs.TypeDir {
					h.must(h.fs.Remove(d, ok, false), "Remove(/d/<%d bytes>)", len(ok))
				} else {
					h.must(h.fs.Remove(d, ok, true), "Remove(/d/<%d bytes>, dirOnly)", len(ok))
				}
			}
			f := h.mkfile("/f")
			h.must(h.fs.Rename(root, "f", root, ok), "Rename(/f, /<%d bytes>)", len(ok))
			h.want(h.fs.Rename(root, ok, root, tooLong), vfs.ENAMETOOLONG, "Rename(/<%d bytes>, /<%d bytes>)", len(ok), len(tooLong))
			if got, _, e := h.fs.Lookup(root, ok); e != vfs.ESUCCESS || got != f {
				t.Errorf("Lookup(/<%d bytes>) = (%d, %s), want (%d, ESUCCESS)", len(ok), got, e.Name(), f)
			}
			if !k.opts.NoHardLinks {
				h.want(h.fs.Link(f, root, tooLong), vfs.ENAMETOOLONG, "Link(/<%d bytes>, /<%d bytes>)", len(ok), len(tooLong))
			}
			_, _, e := h.fs.Lookup(root, tooLong)
			h.wantOneOf(e, []vfs.Errno{vfs.ENAMETOOLONG, vfs.ENOENT}, "Lookup(/<%d bytes>)", len(tooLong))
			if es := h.list(root, "/"); len(es) != 2 {
				t.Errorf("ReadDir(/) = %d entries, want 2 (d and the long name)", len(es))
			}
		})
	}
	k.sub(t, "Bytes", func(t *testing.T, h *harness) {
		// Names are bytes: case and Unicode normalisation both make different names.
		for _, n := range []string{"a", "A", "\u00e9", "e\u0301", "x ", "x"} {
			h.mkfile("/" + n)
		}
		if es := h.list(h.fs.Root(), "/"); len(es) != 6 {
			t.Errorf("ReadDir(/) = %q, want 6 distinct names", names(es))
		}
	})
}

func (k *kit) testUsage(t *testing.T) {
	if _, ok := vfs.As[vfs.Usager](k.newFS(t)); !ok {
		return
	}
	k.sub(t, "Grows", func(t *testing.T, h *harness) {
		u0, _ := usage(h.fs)
		h.writeFile("/f", pattern(9, 0, 100000))
		u1, _ := usage(h.fs)
		if u1.Bytes < u0.Bytes+100000 || u1.Inodes != u0.Inodes+1 {
			t.Errorf("Usage() after writing a 100000-byte file: %+v -> %+v, want 100000 more bytes at least and one more inode", u0, u1)
		}
		h.mkdir("/d")
		if u2, _ := usage(h.fs); u2.Inodes != u1.Inodes+1 {
			t.Errorf("Usage().Inodes after a mkdir = %d, want %d", u2.Inodes, u1.Inodes+1)
		}
	})
	k.sub(t, "TruncateReclaims", func(t *testing.T, h *harness) {
		ino := h.mkfile("/f")
		u0, _ := usage(h.fs)
		f := h.open(ino, "/f", vfs.OpenWrite)
		h.writeAt(f, "/f", pattern(10, 0, 1<<20), 0)
		h.close(f, "/f")
		h.must(h.fs.SetAttr(ino, &vfs.Attr{Valid: vfs.AttrSize, Size: 0}), "SetAttr(/f, size=0)")
		if u1, _ := usage(h.fs); u1.Bytes != u0.Bytes {
			t.Errorf("Usage().Bytes = %d after writing 1 MiB and truncating to 0, want %d as before", u1.Bytes, u0.Bytes)
		}
	})
}

func (k *kit) testSpace(t *testing.T) {
	if k.opts.NewLimitedFS == nil {
		if k.opts.NoLimitedFS == "" {
			t.Fatal("vfstest: Options.NewLimitedFS is nil and Options.NoLimitedFS gives no reason: the Space group would pass without running")
		}
		t.Logf("not run: %s", k.opts.NoLimitedFS)
		return
	}
	const limit = 1 << 20
	t.Run("ENOSPC", func(t *testing.T) {
		defer failOnPanic(t)
		h := newHarness(t, k.opts.NewLimitedFS(t, limit), k.opts)
		ino := h.mkfile("/f")
		f := h.open(ino, "/f", vfs.OpenWrite)
		data := pattern(11, 0, 2*limit)
		n, e := f.WriteAt(data, 0)
		if e != vfs.ENOSPC || n >= len(data) {
			t.Errorf("WriteAt(/f, 2 MiB) on a 1 MiB backend = (%d, %s), want a short count and ENOSPC", n, e.Name())
		}
		if u, ok := usage(h.fs); ok && (u.Bytes > limit || u.LimitBytes != limit) {
			t.Errorf("Usage() = %+v, want at most %d bytes and LimitBytes %d", u, limit, limit)
		}
		h.close(f, "/f")
		h.must(h.remove("/f", false), "Remove(/f)")
		h.writeFile("/g", data[:limit/2])
	})
}
