package vfs_test

import (
	"strings"
	"testing"

	"github.com/wasmrun/wasmrun/vfs"
)

// beneathTree is newTree plus symlinks inside /d for the confinement tests:
//
//	/d/abs     -> /d/f     (absolute, pointing inside /d: still refused beneath /d)
//	/d/esc     -> ../f     (relative, leaving /d)
//	/d/in      -> sub      (relative, staying inside)
//	/d/sub/up  -> ../f     (inside /d, but leaving /d/sub)
//	/mnt/a/out -> ../..    (leaving the mount /mnt/a)
func beneathTree(t *testing.T, newFS func(t *testing.T) vfs.FS) *vfs.Namespace {
	ns := newTree(t, newFS)
	root := ns.Root()
	for _, l := range [][2]string{
		{"/d/f", "/d/abs"}, {"../f", "/d/esc"}, {"sub", "/d/in"}, {"../f", "/d/sub/up"},
		{"../..", "/mnt/a/out"},
	} {
		check(t, "symlink "+l[1], ns.Symlink(l[0], root, l[1]))
	}
	return ns
}

// TestBeneath checks walks confined with Node.Beneath: what stays inside the starting directory
// resolves exactly as an unconfined walk does, what would leave it (an absolute path or symlink
// target, a ".." above the start, even one that comes back) is ENOTCAPABLE.
func TestBeneath(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newFS func(t *testing.T) vfs.FS) {
		ns := beneathTree(t, newFS)
		root := ns.Root()
		dir := func(p string) vfs.Node {
			n, e := ns.Resolve(root, p, true)
			check(t, "resolve "+p, e)
			return n
		}
		tests := []struct {
			at, path string
			follow   bool
			same     string // the unconfined path it must resolve to
			err      vfs.Errno
		}{
			{at: "/d", path: "f", follow: true, same: "/d/f"},
			{at: "/d", path: ".", follow: true, same: "/d"},
			{at: "/d", path: "sub/..", follow: true, same: "/d"},
			{at: "/d", path: "sub/../f", follow: true, same: "/d/f"},
			{at: "/d", path: "in", follow: true, same: "/d/sub"},
			{at: "/d", path: "in/up", follow: true, same: "/d/f"},
			{at: "/d", path: "sub/up", follow: true, same: "/d/f"},
			{at: "/d", path: "abs", follow: false, same: "/d/abs"}, // the link itself
			{at: "/d", path: "esc", follow: false, same: "/d/esc"},
			{at: "/d", path: "missing", follow: true, err: vfs.ENOENT},
			{at: "/d", path: "f/..", follow: true, err: vfs.ENOTDIR},
			{at: "/d", path: "..", follow: true, err: vfs.ENOTCAPABLE},
			{at: "/d", path: "../d/f", follow: true, err: vfs.ENOTCAPABLE},
			{at: "/d", path: "sub/../..", follow: true, err: vfs.ENOTCAPABLE},
			{at: "/d", path: "sub/../../d", follow: true, err: vfs.ENOTCAPABLE},
			{at: "/d", path: "/d/f", follow: true, err: vfs.ENOTCAPABLE},
			{at: "/d", path: "/", follow: false, err: vfs.ENOTCAPABLE},
			{at: "/d", path: "abs", follow: true, err: vfs.ENOTCAPABLE},
			{at: "/d", path: "abs/", follow: false, err: vfs.ENOTCAPABLE}, // a trailing slash follows
			{at: "/d", path: "esc", follow: true, err: vfs.ENOTCAPABLE},
			{at: "/d", path: "esc/x", follow: false, err: vfs.ENOTCAPABLE},
			{at: "/d/sub", path: "up", follow: true, err: vfs.ENOTCAPABLE},
			{at: "/d/sub", path: "up", follow: false, same: "/d/sub/up"},
			{at: "/", path: "d/f", follow: true, same: "/d/f"},
			{at: "/", path: "tmp/up", follow: true, same: "/d"}, // ../d from /tmp, across the mount
			{at: "/", path: "tmp/..", follow: true, same: "/"},
			{at: "/", path: "..", follow: true, err: vfs.ENOTCAPABLE}, // not even at the root
			{at: "/", path: "lnk", follow: true, err: vfs.ENOTCAPABLE},
			{at: "/mnt", path: "a/..", follow: true, same: "/mnt"},
			{at: "/mnt", path: "a/out", follow: true, err: vfs.ENOTCAPABLE},
			{at: "/mnt/a", path: "..", follow: true, err: vfs.ENOTCAPABLE},
			{at: "/tmp", path: "up", follow: true, err: vfs.ENOTCAPABLE},
			{at: "/tmp", path: "abs", follow: true, err: vfs.ENOTCAPABLE},
			{at: "/tmp", path: "", follow: true, err: vfs.ENOENT},
			{at: "/tmp", path: "a\x00", follow: true, err: vfs.EILSEQ},
		}
		for _, tt := range tests {
			at := dir(tt.at)
			n, e := ns.Resolve(at.Beneath(), tt.path, tt.follow)
			if e != tt.err {
				t.Errorf("Resolve(%s beneath, %q, follow=%v) = %v, want %v", tt.at, tt.path, tt.follow, e, tt.err)
				continue
			}
			if _, e2 := ns.StatAt(at.Beneath(), tt.path, tt.follow); e2 != e {
				t.Errorf("StatAt(%s beneath, %q) = %v, Resolve said %v", tt.at, tt.path, e2, e)
			}
			if e != 0 {
				continue
			}
			want, e := ns.Resolve(root, tt.same, false)
			check(t, "resolve "+tt.same, e)
			if n != want {
				t.Errorf("Resolve(%s beneath, %q) is not %s", tt.at, tt.path, tt.same)
			}
			if un, e := ns.Resolve(at, tt.path, tt.follow); e != 0 || un != n {
				t.Errorf("Resolve(%s, %q) unconfined = %v, %v: not what the confined walk found", tt.at, tt.path, un, e)
			}
		}
	})
}

// TestBeneathMutations checks that every Namespace method that walks a path honours Beneath, and
// that a refused call changes nothing.
func TestBeneathMutations(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newFS func(t *testing.T) vfs.FS) {
		ns := beneathTree(t, newFS)
		root := ns.Root()
		d, e := ns.Resolve(root, "/d", true)
		check(t, "resolve /d", e)
		b := d.Beneath()
		open := func(path string, flags vfs.OFlag) vfs.Errno {
			h, e := ns.Open(b, path, flags, 0o644)
			if e == 0 {
				h.File.Close()
			}
			return e
		}
		tests := []struct {
			name string
			call func() vfs.Errno
			err  vfs.Errno
		}{
			{"open f", func() vfs.Errno { return open("f", vfs.ORead) }, 0},
			{"open ../f", func() vfs.Errno { return open("../f", vfs.ORead) }, vfs.ENOTCAPABLE},
			{"open /f", func() vfs.Errno { return open("/f", vfs.ORead) }, vfs.ENOTCAPABLE},
			{"open abs", func() vfs.Errno { return open("abs", vfs.ORead) }, vfs.ENOTCAPABLE},
			{"open abs nofollow", func() vfs.Errno { return open("abs", vfs.ORead|vfs.ONoFollow) }, vfs.ELOOP},
			{"create ../new", func() vfs.Errno { return open("../new", vfs.OWrite|vfs.OCreate) }, vfs.ENOTCAPABLE},
			{"create esc (dangling target outside)", func() vfs.Errno { return open("esc", vfs.OWrite|vfs.OCreate|vfs.OTrunc) }, vfs.ENOTCAPABLE},
			{"create sub/new", func() vfs.Errno { return open("sub/new", vfs.OWrite|vfs.OCreate) }, 0},
			{"mkdir ../m", func() vfs.Errno { return ns.Mkdir(b, "../m", 0o755) }, vfs.ENOTCAPABLE},
			{"mkdir /m", func() vfs.Errno { return ns.Mkdir(b, "/m", 0o755) }, vfs.ENOTCAPABLE},
			{"mkdir esc/m", func() vfs.Errno { return ns.Mkdir(b, "esc/m", 0o755) }, vfs.ENOTCAPABLE},
			{"mkdir m", func() vfs.Errno { return ns.Mkdir(b, "m", 0o755) }, 0},
			{"unlink ../f", func() vfs.Errno { return ns.Remove(b, "../f", false) }, vfs.ENOTCAPABLE},
			{"rmdir ../tmp/t", func() vfs.Errno { return ns.Remove(b, "../tmp/t", true) }, vfs.ENOTCAPABLE},
			{"rename f to ../g", func() vfs.Errno { return ns.Rename(b, "f", b, "../g") }, vfs.ENOTCAPABLE},
			{"rename ../f to g", func() vfs.Errno { return ns.Rename(b, "../f", b, "g") }, vfs.ENOTCAPABLE},
			{"link ../f to g", func() vfs.Errno { return ns.Link(b, "../f", false, b, "g") }, vfs.ENOTCAPABLE},
			{"link f to /g", func() vfs.Errno { return ns.Link(b, "f", false, b, "/g") }, vfs.ENOTCAPABLE},
			{"link abs (follow) to g", func() vfs.Errno { return ns.Link(b, "abs", true, b, "g") }, vfs.ENOTCAPABLE},
			{"symlink at ../s", func() vfs.Errno { return ns.Symlink("f", b, "../s") }, vfs.ENOTCAPABLE},
			{"setattr ../f", func() vfs.Errno { return ns.SetAttrAt(b, "../f", true, &vfs.Attr{Valid: vfs.AttrSize}) }, vfs.ENOTCAPABLE},
			{"setattr abs", func() vfs.Errno { return ns.SetAttrAt(b, "abs", true, &vfs.Attr{Valid: vfs.AttrSize}) }, vfs.ENOTCAPABLE},
			{"readlink esc/x", func() vfs.Errno { _, e := ns.Readlink(b, "esc/x"); return e }, vfs.ENOTCAPABLE},
			{"readlink abs", func() vfs.Errno {
				target, e := ns.Readlink(b, "abs")
				if e == 0 && target != "/d/f" {
					t.Errorf("readlink abs = %q", target)
				}
				return e
			}, 0},
		}
		for _, tt := range tests {
			if e := tt.call(); e != tt.err {
				t.Errorf("%s beneath /d = %v, want %v", tt.name, e, tt.err)
			}
		}
		// Nothing outside /d changed: the files are there, the refused names were not made.
		if got := readFile(t, ns, "/f"); got != "hello" {
			t.Errorf("/f = %q after the refused calls", got)
		}
		if got := readFile(t, ns, "/d/f"); got != "in d" {
			t.Errorf("/d/f = %q after the refused calls", got)
		}
		for _, p := range []string{"/new", "/m", "/g", "/s", "/d/g"} {
			if _, e := ns.StatAt(root, p, false); e != vfs.ENOENT {
				t.Errorf("%s: %v, want ENOENT (a refused call made it)", p, e)
			}
		}
		if _, e := ns.StatAt(root, "/tmp/t", false); e != 0 {
			t.Errorf("/tmp/t: %v after a refused rmdir", e)
		}
	})
}

// FuzzBeneath checks the confinement against the unconfined walk on FuzzResolve's tree: from /a
// beneath, a path resolves to exactly what it resolves to unconfined, or is ENOTCAPABLE; an
// absolute path always is (once it passes the checks every path does).
func FuzzBeneath(f *testing.F) {
	for _, s := range []string{
		"f", "b/c", "..", "b/..", "b/../..", "b/../../a/f", "/a/f", "self/self/b", "self/..",
		"b/dang", "../tmp/up", "./b/c/", "", "x\x00", strings.Repeat("self/", 50) + "f",
	} {
		f.Add(s, true)
		f.Add(s, false)
	}
	ns := newFuzzNS(f)
	a, e := ns.Resolve(ns.Root(), "/a", true)
	check(f, "resolve /a", e)
	f.Fuzz(func(t *testing.T, path string, follow bool) {
		n, e := ns.Resolve(a.Beneath(), path, follow)
		un, ue := ns.Resolve(a, path, follow)
		if e == vfs.ENOTCAPABLE {
			return
		}
		if strings.HasPrefix(path, "/") && len(path) < vfs.PathMax && strings.IndexByte(path, 0) < 0 {
			t.Fatalf("Resolve(/a beneath, %q) = %v, want ENOTCAPABLE", path, e)
		}
		if e != ue || n != un {
			t.Fatalf("Resolve(/a beneath, %q) = %v, %v; unconfined = %v, %v", path, n, e, un, ue)
		}
	})
}
