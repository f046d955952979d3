package vfstest

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/wasmrun/wasmrun/vfs"
)

// nsCase is one table row: setup, an operation, its errno and the state after it.
type nsCase struct {
	name  string
	setup []string
	path  string
	flags vfs.OFlag
	want  vfs.Errno
	after []string
}

func (c nsCase) needs(opts Options) bool {
	for _, l := range c.setup {
		if l[0] == 's' && opts.NoSymlinks {
			return false
		}
	}
	return true
}

var nsOpenCases = []nsCase{
	{"CreateNew", nil, "/f", vfs.OCreate | vfs.OWrite, 0, []string{"f /f "}},
	{"CreateNewReadOnly", nil, "/f", vfs.OCreate | vfs.ORead, 0, []string{"f /f "}},
	{"Missing", nil, "/f", vfs.ORead, vfs.ENOENT, []string{"- /f"}},
	{"CreateExisting", []string{"f /f A"}, "/f", vfs.OCreate | vfs.OWrite, 0, []string{"f /f A"}},
	{"ExclExisting", []string{"f /f A"}, "/f", vfs.OCreate | vfs.OExcl | vfs.OWrite, vfs.EEXIST, []string{"f /f A"}},
	{"ExclNew", nil, "/f", vfs.OCreate | vfs.OExcl | vfs.OWrite, 0, []string{"f /f "}},
	{"ExclDir", []string{"d /d"}, "/d", vfs.OCreate | vfs.OExcl | vfs.ORead, vfs.EEXIST, []string{"d /d"}},
	{"ExclDanglingSymlink", []string{"s /s nowhere"}, "/s", vfs.OCreate | vfs.OExcl | vfs.OWrite, vfs.EEXIST, []string{"s /s nowhere", "- /nowhere"}},
	{"ExclSymlinkToFile", []string{"f /f A", "s /s f"}, "/s", vfs.OCreate | vfs.OExcl | vfs.OWrite, vfs.EEXIST, []string{"f /f A"}},
	{"CreateThroughDanglingSymlink", []string{"d /d", "s /s d/new"}, "/s", vfs.OCreate | vfs.OWrite, 0, []string{"s /s d/new", "f /d/new "}},
	{"CreateThroughSymlinkToFile", []string{"f /f A", "s /s f"}, "/s", vfs.OCreate | vfs.OWrite, 0, []string{"f /f A", "s /s f"}},
	{"Trunc", []string{"f /f ABC"}, "/f", vfs.OWrite | vfs.OTrunc, 0, []string{"f /f "}},
	{"TruncReadOnly", []string{"f /f ABC"}, "/f", vfs.ORead | vfs.OTrunc, 0, []string{"f /f "}},
	{"TruncThroughSymlink", []string{"f /f ABC", "s /s f"}, "/s", vfs.OWrite | vfs.OTrunc, 0, []string{"f /f "}},
	{"CreateTruncExisting", []string{"f /f ABC"}, "/f", vfs.OCreate | vfs.OWrite | vfs.OTrunc, 0, []string{"f /f "}},
	{"NoTruncKeeps", []string{"f /f ABC"}, "/f", vfs.OWrite, 0, []string{"f /f ABC"}},
	{"TruncDir", []string{"d /d"}, "/d", vfs.OTrunc, vfs.EISDIR, []string{"d /d"}},
	{"WriteDir", []string{"d /d"}, "/d", vfs.OWrite, vfs.EISDIR, nil},
	{"ReadWriteDir", []string{"d /d"}, "/d", vfs.ORead | vfs.OWrite, vfs.EISDIR, nil},
	{"CreateOnDir", []string{"d /d"}, "/d", vfs.OCreate | vfs.ORead, vfs.EISDIR, nil},
	{"ReadDir", []string{"d /d"}, "/d", vfs.ORead, 0, nil},
	{"ReadRoot", nil, "/", vfs.ORead, 0, nil},
	{"DirectoryOnFile", []string{"f /f A"}, "/f", vfs.ODirectory | vfs.ORead, vfs.ENOTDIR, nil},
	{"DirectoryOnDir", []string{"d /d"}, "/d", vfs.ODirectory | vfs.ORead, 0, nil},
	{"DirectoryOnSymlinkToDir", []string{"d /d", "s /s d"}, "/s", vfs.ODirectory | vfs.ORead, 0, nil},
	{"DirectoryOnSymlinkToFile", []string{"f /f A", "s /s f"}, "/s", vfs.ODirectory | vfs.ORead, vfs.ENOTDIR, nil},
	{"CreateDirectory", nil, "/x", vfs.OCreate | vfs.ODirectory | vfs.ORead, vfs.EINVAL, []string{"- /x"}},
	{"NoFollowSymlink", []string{"f /f A", "s /s f"}, "/s", vfs.ONoFollow | vfs.ORead, vfs.ELOOP, nil},
	{"NoFollowDangling", []string{"s /s nowhere"}, "/s", vfs.ONoFollow | vfs.OCreate | vfs.OWrite, vfs.ELOOP, []string{"- /nowhere"}},
	{"NoFollowFile", []string{"f /f A"}, "/f", vfs.ONoFollow | vfs.ORead, 0, nil},
	{"NoFollowOnlyLast", []string{"d /d", "f /d/f A", "s /s d"}, "/s/f", vfs.ONoFollow | vfs.ORead, 0, nil},
	{"FollowDangling", []string{"s /s nowhere"}, "/s", vfs.ORead, vfs.ENOENT, nil},
	{"CreateTrailingSlash", nil, "/f/", vfs.OCreate | vfs.OWrite, vfs.EISDIR, []string{"- /f"}},
	{"CreateInMissingDir", nil, "/nodir/f", vfs.OCreate | vfs.OWrite, vfs.ENOENT, []string{"- /nodir"}},
	{"CreateUnderFile", []string{"f /f A"}, "/f/g", vfs.OCreate | vfs.OWrite, vfs.ENOTDIR, nil},
	{"CreateDot", []string{"d /d"}, "/d/.", vfs.OCreate | vfs.ORead, vfs.EISDIR, nil},
	{"CreateDotDot", []string{"d /d"}, "/d/..", vfs.OCreate | vfs.ORead, vfs.EISDIR, nil},
	{"FileTrailingSlash", []string{"f /f A"}, "/f/", vfs.ORead, vfs.ENOTDIR, nil},
}

func (k *kit) testNSOpen(t *testing.T) {
	for _, c := range nsOpenCases {
		if !c.needs(k.opts) {
			continue
		}
		k.nsSub(t, c.name, func(t *testing.T, n *nsHarness) {
			n.setupNS(c.setup)
			hd, e := n.open(c.path, c.flags)
			if n.want(e, c.want, "Open(%s, %s)", c.path, oflagString(c.flags)) && e == vfs.ESUCCESS {
				st := n.statNS(c.path, true)
				if hd.Type != st.Type || hd.Node.Ino != st.Ino {
					t.Errorf("Open(%s) = handle of (%s, ino %d), want (%s, ino %d) as StatAt", c.path, hd.Type, hd.Node.Ino, st.Type, st.Ino)
				}
				n.want(hd.File.Close(), vfs.ESUCCESS, "Close(%s)", c.path)
			} else if e == vfs.ESUCCESS {
				hd.File.Close()
			}
			n.expectNS(c.after)
		})
	}
	k.nsSub(t, "TruncImpliesWrite", func(t *testing.T, n *nsHarness) {
		// OTrunc implies OWrite here: the handle can write.
		n.writeNS("/f", "ABC")
		hd := n.mustOpen("/f", vfs.ORead|vfs.OTrunc)
		defer hd.File.Close()
		if c, e := hd.File.WriteAt([]byte("xy"), 0); c != 2 || e != vfs.ESUCCESS {
			t.Errorf("WriteAt(/f opened Read|Trunc) = (%d, %s), want (2, ESUCCESS)", c, e.Name())
		}
	})
	k.nsSub(t, "AccessModes", func(t *testing.T, n *nsHarness) {
		n.writeNS("/f", "ABC")
		ro := n.mustOpen("/f", vfs.ORead)
		if _, e := ro.File.WriteAt([]byte("x"), 0); e != vfs.EBADF {
			t.Errorf("WriteAt(/f opened Read) = %s, want EBADF", e.Name())
		}
		ro.File.Close()
		wo := n.mustOpen("/f", vfs.OWrite)
		if _, e := wo.File.ReadAt(make([]byte, 3), 0); e != vfs.EBADF {
			t.Errorf("ReadAt(/f opened Write) = %s, want EBADF", e.Name())
		}
		wo.File.Close()
	})
	k.nsSub(t, "CreatePerm", func(t *testing.T, n *nsHarness) {
		hd, e := n.ns.Open(n.root, "/f", vfs.OCreate|vfs.OWrite, 0o640)
		n.must(e, "Open(/f, Create|Write, 0640)")
		hd.File.Close()
		if st := n.statNS("/f", false); st.Mode != 0o640 {
			t.Errorf("StatAt(/f).Mode = %#o, want 0640", st.Mode)
		}
	})
}

func (k *kit) testNSTrailingSlash(t *testing.T) {
	k.nsSub(t, "Resolve", func(t *testing.T, n *nsHarness) {
		n.setupNS([]string{"d /d", "f /f A"})
		n.wantResolve("/d/", false, "/d")
		n.wantResolve("/d//", false, "/d")
		n.wantResolve("/d/.", false, "/d")
		n.wantResolveErr("/f/", true, vfs.ENOTDIR)
		n.wantResolveErr("/f/.", true, vfs.ENOTDIR)
		n.wantResolveErr("/missing/", true, vfs.ENOENT)
		if !k.opts.NoSymlinks {
			n.setupNS([]string{"s /sd d", "s /sf f"})
			n.wantResolve("/sd/", false, "/d") // a trailing slash follows a final symlink
			n.wantResolveErr("/sf/", false, vfs.ENOTDIR)
			if st := n.statNS("/sd", false); st.Type != vfs.TypeSymlink {
				t.Errorf("StatAt(/sd, nofollow).Type = %s, want symlink", st.Type)
			}
		}
	})
	k.nsSub(t, "Mkdir", func(t *testing.T, n *nsHarness) {
		n.mkdirNS("/a/")
		n.mkdirNS("/b//")
		n.expectNS([]string{"d /a", "d /b"})
	})
	k.nsSub(t, "Remove", func(t *testing.T, n *nsHarness) {
		n.setupNS([]string{"d /d", "d /e", "f /f A"})
		n.want(n.ns.Remove(n.root, "/f/", false), vfs.ENOTDIR, "Remove(/f/)")
		n.want(n.ns.Remove(n.root, "/f/", true), vfs.ENOTDIR, "Remove(/f/, dirOnly)")
		n.must(n.ns.Remove(n.root, "/d/", true), "Remove(/d/, dirOnly)")
		n.want(n.ns.Remove(n.root, "/e/", false), vfs.EISDIR, "Remove(/e/)")
		if !k.opts.NoSymlinks {
			n.setupNS([]string{"s /se e"})
			n.want(n.ns.Remove(n.root, "/se/", false), vfs.ENOTDIR, "Remove(/se/ -> e)")
			n.want(n.ns.Remove(n.root, "/se/", true), vfs.ENOTDIR, "Remove(/se/ -> e, dirOnly)")
			n.expectNS([]string{"s /se e", "d /e"})
		}
		n.expectNS([]string{"- /d", "f /f A"})
	})
	k.nsSub(t, "Rename", func(t *testing.T, n *nsHarness) {
		n.setupNS([]string{"d /d", "f /f A"})
		n.want(n.ns.Rename(n.root, "/f/", n.root, "/g"), vfs.ENOTDIR, "Rename(/f/, /g)")
		n.want(n.ns.Rename(n.root, "/f", n.root, "/g/"), vfs.ENOTDIR, "Rename(/f, /g/)")
		n.must(n.ns.Rename(n.root, "/d/", n.root, "/e/"), "Rename(/d/, /e/)")
		n.expectNS([]string{"- /d", "d /e", "f /f A", "- /g"})
	})
}

func (k *kit) testNSPathMax(t *testing.T) {
	k.nsSub(t, "Path", func(t *testing.T, n *nsHarness) {
		// A path of PathMax-1 bytes resolves; PathMax bytes is ENAMETOOLONG, whatever it holds.
		n.setupNS([]string{"d /d", "f /d/f A"})
		p4095 := "/" + strings.Repeat("./", (vfs.PathMax-1-5)/2) + "d//f"
		p4096 := "/" + strings.Repeat("./", (vfs.PathMax-4)/2) + "d/f"
		if len(p4095) != vfs.PathMax-1 || len(p4096) != vfs.PathMax {
			panic(fmt.Sprintf("vfstest: path lengths %d %d", len(p4095), len(p4096)))
		}
		n.wantResolve(p4095, true, "/d/f")
		n.wantResolveErr(p4096, true, vfs.ENAMETOOLONG)
		n.wantResolveErr(p4096+"/x/y", true, vfs.ENAMETOOLONG)
		n.wantOpen(p4096, vfs.ORead, vfs.ENAMETOOLONG)
		n.want(n.ns.Mkdir(n.root, p4096[:len(p4096)-3]+"new", 0o755), vfs.ENAMETOOLONG, "Mkdir(<%d bytes>)", vfs.PathMax)
		missing := p4095[:len(p4095)-1] + "g"
		n.wantResolveErr(missing, true, vfs.ENOENT)
	})
	k.nsSub(t, "DeepTree", func(t *testing.T, n *nsHarness) {
		// The limit is on the path string, not the depth: a tree deeper than PathMax is built
		// and used with relative paths, while its absolute paths are ENAMETOOLONG.
		name := strings.Repeat("x", vfs.NameMax)
		at := n.root
		abs := ""
		for i := range 17 {
			n.must(n.ns.Mkdir(at, name, 0o755), "Mkdir(level %d)", i)
			var e vfs.Errno
			at, e = n.ns.Resolve(at, name, true)
			n.must(e, "Resolve(level %d)", i)
			abs += "/" + name
		}
		hd, e := n.ns.Open(at, "f", vfs.OCreate|vfs.OWrite, 0o644)
		n.must(e, "Open(<deep>/f, Create) relative to level 16")
		hd.File.Close()
		if len(abs) < vfs.PathMax {
			panic("vfstest: tree not deep enough")
		}
		_, e = n.ns.Resolve(n.root, abs+"/f", true)
		n.want(e, vfs.ENAMETOOLONG, "Resolve(<%d-byte absolute path>)", len(abs)+2)
		up, e := n.ns.Resolve(at, strings.Repeat("../", 17), true)
		if n.want(e, vfs.ESUCCESS, "Resolve(17 x ../ from level 16)") && up != n.root {
			t.Errorf("Resolve(17 x ../ from level 16) = ino %d, want the root %d", up.Ino, n.root.Ino)
		}
	})
	k.nsSub(t, "Component", func(t *testing.T, n *nsHarness) {
		ok, long := strings.Repeat("n", vfs.NameMax), strings.Repeat("n", vfs.NameMax+1)
		n.mkdirNS("/" + ok)
		n.wantResolve("/"+ok, false, "/"+ok)
		n.wantResolveErr("/"+long, false, vfs.ENAMETOOLONG)
		n.wantResolveErr("/"+long+"/x", false, vfs.ENAMETOOLONG)
		n.wantOpen("/"+long, vfs.OCreate|vfs.OWrite, vfs.ENAMETOOLONG)
		n.want(n.ns.Mkdir(n.root, "/"+long, 0o755), vfs.ENAMETOOLONG, "Mkdir(/<256 bytes>)")
		n.want(n.ns.Mkdir(n.root, "/"+ok+"/"+long, 0o755), vfs.ENAMETOOLONG, "Mkdir(/<255 bytes>/<256 bytes>)")
		if !k.opts.NoSymlinks {
			n.want(n.ns.Symlink("t", n.root, "/"+long), vfs.ENAMETOOLONG, "Symlink(t, /<256 bytes>)")
		}
	})
	k.nsSub(t, "SymlinkTarget", func(t *testing.T, n *nsHarness) {
		if k.opts.NoSymlinks {
			return
		}
		ok, long := strings.Repeat("t", vfs.PathMax-1), strings.Repeat("t", vfs.PathMax)
		n.symlinkNS(ok, "/ok")
		n.expectNS([]string{"s /ok " + ok})
		n.want(n.ns.Symlink(long, n.root, "/long"), vfs.ENAMETOOLONG, "Symlink(<%d bytes>, /long)", len(long))
		n.want(n.ns.Symlink("", n.root, "/empty"), vfs.ENOENT, "Symlink(\"\", /empty)")
		n.want(n.ns.Symlink("a\x00b", n.root, "/nul"), vfs.EILSEQ, "Symlink(\"a\\x00b\", /nul)")
		n.expectNS([]string{"- /long", "- /empty", "- /nul"})
	})
	k.nsSub(t, "NUL", func(t *testing.T, n *nsHarness) {
		n.wantResolveErr("/a\x00b", false, vfs.EILSEQ)
		n.wantOpen("/a\x00b", vfs.OCreate|vfs.OWrite, vfs.EILSEQ)
		n.want(n.ns.Mkdir(n.root, "/a\x00", 0o755), vfs.EILSEQ, "Mkdir(/a\\x00)")
	})
}

func (k *kit) testNSWalk(t *testing.T) {
	k.nsSub(t, "DotsAndSlashes", func(t *testing.T, n *nsHarness) {
		n.setupNS([]string{"d /d", "d /d/e", "f /d/e/f A", "f /g B"})
		for _, c := range []struct{ p, same string }{
			{"/d/./e/../e/f", "/d/e/f"},
			{"/..", "/"},
			{"/../../..", "/"},
			{"/../d/e/../../g", "/g"},
			{"//d///e//f", "/d/e/f"},
			{"/.", "/"},
			{".", "/"},
			{"d/e/..", "/d"},
			{"d/e/f", "/d/e/f"},
			{"../g", "/g"},
		} {
			n.wantResolve(c.p, true, c.same)
		}
		n.wantResolveErr("", true, vfs.ENOENT)
		n.wantResolveErr("/nope/x", true, vfs.ENOENT)
		n.wantResolveErr("/g/x", true, vfs.ENOTDIR)
		n.wantResolveErr("/g/..", true, vfs.ENOTDIR)
		n.wantResolveErr("/d/nope/..", true, vfs.ENOENT)
	})
	k.nsSub(t, "Relative", func(t *testing.T, n *nsHarness) {
		n.setupNS([]string{"d /d", "d /d/e", "f /d/e/f A"})
		d, e := n.resolve("/d", true)
		n.must(e, "Resolve(/d)")
		for _, c := range []struct{ p, same string }{
			{"e/f", "/d/e/f"}, {"..", "/"}, {".", "/d"}, {"e/../..", "/"}, {"/d/e", "/d/e"},
		} {
			got, e := n.ns.Resolve(d, c.p, true)
			want, _ := n.resolve(c.same, true)
			if e != vfs.ESUCCESS || got != want {
				t.Errorf("Resolve(/d, %s) = (ino %d, %s), want %s (ino %d)", c.p, got.Ino, e.Name(), c.same, want.Ino)
			}
		}
		f, _ := n.resolve("/d/e/f", true)
		_, e = n.ns.Resolve(f, "x", true)
		n.want(e, vfs.ENOTDIR, "Resolve(/d/e/f, x)")
	})
	k.nsSub(t, "BadNames", func(t *testing.T, n *nsHarness) {
		// Backslash, spaces and dots are name bytes, nothing more.
		for _, name := range []string{`a\b`, `\`, "...", " ", ".x", "x."} {
			n.writeNS("/"+name, name)
			if got := n.readNS("/" + name); got != name {
				t.Errorf("content of /%q = %q, want %q", name, got, name)
			}
		}
		n.wantResolveErr("/a", true, vfs.ENOENT)
		n.wantResolveErr(`/a\`, true, vfs.ENOENT)
	})
}

func (k *kit) testNSSymlinks(t *testing.T) {
	if k.opts.NoSymlinks {
		return
	}
	k.nsSub(t, "Targets", func(t *testing.T, n *nsHarness) {
		n.setupNS([]string{"d /d", "d /d/e", "f /d/e/f A", "f /top T",
			"s /abs /d/e/f", "s /d/rel e/f", "s /d/up ../top", "s /d/e/dot ./f", "s /sd d", "s /d/e/root /"})
		n.wantResolve("/abs", true, "/d/e/f")
		n.wantResolve("/d/rel", true, "/d/e/f")
		n.wantResolve("/d/up", true, "/top")
		n.wantResolve("/d/e/dot", true, "/d/e/f")
		n.wantResolve("/sd/e/f", false, "/d/e/f") // a middle component is always followed
		n.wantResolve("/sd/rel", true, "/d/e/f")
		n.wantResolve("/d/e/root/top", true, "/top") // an absolute target starts at the namespace root
		n.wantResolve("/sd/e/root/../top", true, "/top")
		n.wantResolve("/sd/..", true, "/") // ".." after a symlink is the target's parent
		if n.readNS("/abs") != "A" {
			t.Errorf("content of /abs -> /d/e/f is not A")
		}
		if st := n.statNS("/abs", false); st.Type != vfs.TypeSymlink {
			t.Errorf("StatAt(/abs, nofollow).Type = %s, want symlink", st.Type)
		}
		if st := n.statNS("/abs", true); st.Type != vfs.TypeRegular {
			t.Errorf("StatAt(/abs, follow).Type = %s, want file", st.Type)
		}
	})
	k.nsSub(t, "Loops", func(t *testing.T, n *nsHarness) {
		// SymlinkMax links are followed in one resolution; one more is ELOOP.
		n.writeNS("/f", "F")
		n.symlinkNS("f", "/l0")
		for i := 1; i <= vfs.SymlinkMax; i++ {
			n.symlinkNS(fmt.Sprintf("l%d", i-1), fmt.Sprintf("/l%d", i))
		}
		n.wantResolve(fmt.Sprintf("/l%d", vfs.SymlinkMax-1), true, "/f")
		n.wantResolveErr(fmt.Sprintf("/l%d", vfs.SymlinkMax), true, vfs.ELOOP)
		n.wantResolve(fmt.Sprintf("/l%d", vfs.SymlinkMax), false, fmt.Sprintf("/l%d", vfs.SymlinkMax))
		n.symlinkNS("self", "/self")
		n.symlinkNS("b", "/a")
		n.symlinkNS("a", "/b")
		n.wantResolveErr("/self", true, vfs.ELOOP)
		n.wantResolveErr("/a", true, vfs.ELOOP)
		n.wantResolveErr("/a/x", false, vfs.ELOOP)
		n.wantOpen("/self", vfs.ORead, vfs.ELOOP)
		n.wantOpen("/a", vfs.OCreate|vfs.OWrite, vfs.ELOOP)
	})
	k.nsSub(t, "Dangling", func(t *testing.T, n *nsHarness) {
		n.symlinkNS("nowhere", "/s")
		n.wantResolveErr("/s", true, vfs.ENOENT)
		n.wantResolve("/s", false, "/s")
		n.wantResolveErr("/s/x", false, vfs.ENOENT)
		n.want(n.ns.Symlink("other", n.root, "/s"), vfs.EEXIST, "Symlink(other, /s) over a symlink")
		n.expectNS([]string{"s /s nowhere"})
	})
	k.nsSub(t, "Readlink", func(t *testing.T, n *nsHarness) {
		n.setupNS([]string{"d /d", "f /f A"})
		for i, target := range []string{"f", "/abs//x/", "../..", "ünï", "\xff", " x "} {
			p := fmt.Sprintf("/s%d", i)
			n.symlinkNS(target, p)
			n.expectNS([]string{"s " + p + " " + target})
		}
		_, e := n.ns.Readlink(n.root, "/f")
		n.want(e, vfs.EINVAL, "Readlink(/f)")
		_, e = n.ns.Readlink(n.root, "/d")
		n.want(e, vfs.EINVAL, "Readlink(/d)")
		_, e = n.ns.Readlink(n.root, "/nope")
		n.want(e, vfs.ENOENT, "Readlink(/nope)")
	})
}

func (k *kit) testNSReadDir(t *testing.T) {
	// listDots lists a directory through the Namespace and checks "." and ".." come first.
	listDots := func(n *nsHarness, p string) []entry {
		n.t.Helper()
		out := list(n, p)
		if len(out) < 2 || out[0].Name != "." || out[1].Name != ".." {
			n.t.Fatalf("ReadDir(%s) starts with %q, want \".\" and \"..\" first", p, names(out[:min(2, len(out))]))
		}
		return out
	}
	k.nsSub(t, "Dots", func(t *testing.T, n *nsHarness) {
		n.setupNS([]string{"d /d", "d /d/e", "f /d/f A"})
		for _, c := range []struct{ dir, parent string }{{"/", "/"}, {"/d", "/"}, {"/d/e", "/d"}} {
			es := listDots(n, c.dir)
			want := map[string]string{".": c.dir, "..": c.parent}
			for _, e := range es {
				p := want[e.Name]
				if p == "" {
					p = join(c.dir, e.Name)
				}
				st := n.statNS(p, false)
				if e.Ino != st.Ino || e.Type != st.Type {
					t.Errorf("ReadDir(%s) reports %q as (ino %d, %s), but StatAt(%s) = (ino %d, %s)", c.dir, e.Name, e.Ino, e.Type, p, st.Ino, st.Type)
				}
			}
		}
		if got := names(listDots(n, "/d")); !slices.Equal(got, []string{".", "..", "e", "f"}) {
			t.Errorf("ReadDir(/d) = %q, want [. .. e f]", got)
		}
	})
	k.nsSub(t, "Resume", func(t *testing.T, n *nsHarness) {
		// One entry per call, resuming from each entry's cookie, gives the whole listing.
		n.mkdirNS("/d")
		for i := range 20 {
			n.writeNS(fmt.Sprintf("/d/f%02d", i), "x")
		}
		all := listDots(n, "/d")
		hd := n.mustOpen("/d", vfs.ORead)
		defer hd.File.Close()
		var got []entry
		var cookie uint64
		for range len(all) + 2 {
			calls := 0
			n.must(n.ns.ReadDir(hd, cookie, func(e *vfs.DirEntry) bool {
				calls++
				got = append(got, entry{Name: string(e.Name), Ino: e.Ino})
				cookie = e.Next
				return false
			}), "ReadDir(/d, cookie=%d)", cookie)
			if calls == 0 {
				break
			}
		}
		if !slices.Equal(names(got), names(all)) || got[0].Name != "." || got[1].Name != ".." {
			t.Errorf("ReadDir(/d) one entry at a time = %q, want %q with . and .. first", names(got), names(all))
		}
	})
	k.nsSub(t, "Large", func(t *testing.T, n *nsHarness) {
		// Enough entries that a backend answers in several internal batches: every one is
		// listed exactly once, whatever the backend does with its entries between batches.
		const count = 1000
		n.mkdirNS("/d")
		want := []string{".", ".."}
		for i := range count {
			name := fmt.Sprintf("f%04d", i)
			n.writeNS("/d/"+name, "")
			want = append(want, name)
		}
		got := names(listDots(n, "/d"))
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("ReadDir(/d) with %d entries: %s", count, setDiff(got, want))
		}
	})
	k.nsSub(t, "DotDotAfterRename", func(t *testing.T, n *nsHarness) {
		n.setupNS([]string{"d /a", "d /b", "d /a/d"})
		n.must(n.ns.Rename(n.root, "/a/d", n.root, "/b/d"), "Rename(/a/d, /b/d)")
		es := listDots(n, "/b/d")
		if b := n.statNS("/b", false); es[1].Ino != b.Ino {
			t.Errorf("ReadDir(/b/d) reports \"..\" with ino %d, want /b's %d after the move", es[1].Ino, b.Ino)
		}
		n.wantResolve("/b/d/..", true, "/b")
	})
	k.nsSub(t, "NotDir", func(t *testing.T, n *nsHarness) {
		n.writeNS("/f", "x")
		hd := n.mustOpen("/f", vfs.ORead)
		defer hd.File.Close()
		n.want(n.ns.ReadDir(hd, 0, func(*vfs.DirEntry) bool { return true }), vfs.ENOTDIR, "ReadDir(/f)")
	})
}

func (k *kit) testNSMkdir(t *testing.T) {
	k.nsSub(t, "Errors", func(t *testing.T, n *nsHarness) {
		n.setupNS([]string{"d /d", "f /f A"})
		for _, c := range []struct {
			p    string
			want vfs.Errno
		}{
			{"/d", vfs.EEXIST}, {"/f", vfs.EEXIST}, {"/", vfs.EEXIST}, {"/d/.", vfs.EEXIST}, {"/d/..", vfs.EEXIST},
			{"/nope/x", vfs.ENOENT}, {"/f/x", vfs.ENOTDIR}, {"", vfs.ENOENT},
		} {
			n.want(n.ns.Mkdir(n.root, c.p, 0o755), c.want, "Mkdir(%q)", c.p)
		}
		if !k.opts.NoSymlinks {
			n.symlinkNS("nowhere", "/s")
			n.want(n.ns.Mkdir(n.root, "/s", 0o755), vfs.EEXIST, "Mkdir(/s), a dangling symlink")
			n.expectNS([]string{"- /nowhere"})
			n.symlinkNS("d", "/sd")
			n.must(n.ns.Mkdir(n.root, "/sd/sub", 0o755), "Mkdir(/sd/sub) through a symlink")
			n.expectNS([]string{"d /d/sub"})
		}
		n.must(n.ns.Mkdir(n.root, "/d/new", 0o700), "Mkdir(/d/new, 0700)")
		if st := n.statNS("/d/new", false); st.Mode != 0o700 || st.Nlink != 2 {
			t.Errorf("StatAt(/d/new) = mode %#o nlink %d, want 0700 2", st.Mode, st.Nlink)
		}
	})
}

func (k *kit) testNSRemove(t *testing.T) {
	k.nsSub(t, "Errors", func(t *testing.T, n *nsHarness) {
		n.setupNS([]string{"d /d", "d /d/e", "f /f A", "d /empty"})
		for _, c := range []struct {
			p       string
			dirOnly bool
			want    vfs.Errno
		}{
			{"/empty/.", true, vfs.EINVAL},
			{"/d/e/..", true, vfs.ENOTEMPTY},
			{"/", true, vfs.EBUSY},
			{"/d", false, vfs.EISDIR},
			{"/d/.", false, vfs.EISDIR},
			{"/f", true, vfs.ENOTDIR},
			{"/d", true, vfs.ENOTEMPTY},
			{"/nope", false, vfs.ENOENT},
			{"/nope/x", false, vfs.ENOENT},
			{"/f/x", false, vfs.ENOTDIR},
		} {
			n.want(n.ns.Remove(n.root, c.p, c.dirOnly), c.want, "Remove(%s, dirOnly=%v)", c.p, c.dirOnly)
		}
		n.expectNS([]string{"d /d/e", "f /f A", "d /empty"})
	})
	k.nsSub(t, "Symlink", func(t *testing.T, n *nsHarness) {
		if k.opts.NoSymlinks {
			return
		}
		n.setupNS([]string{"d /d", "f /f A", "s /sf f", "s /sd d"})
		n.must(n.ns.Remove(n.root, "/sf", false), "Remove(/sf -> f)")
		n.want(n.ns.Remove(n.root, "/sd", true), vfs.ENOTDIR, "Remove(/sd -> d, dirOnly)")
		n.must(n.ns.Remove(n.root, "/sd", false), "Remove(/sd -> d)")
		n.expectNS([]string{"- /sf", "- /sd", "f /f A", "d /d"})
	})
}

func (k *kit) testNSRename(t *testing.T) {
	k.nsSub(t, "Basic", func(t *testing.T, n *nsHarness) {
		n.setupNS([]string{"d /d", "f /f A", "f /g B"})
		n.must(n.ns.Rename(n.root, "/f", n.root, "/d/f2"), "Rename(/f, /d/f2)")
		n.must(n.ns.Rename(n.root, "/d/f2", n.root, "/g"), "Rename(/d/f2, /g)")
		n.expectNS([]string{"- /f", "- /d/f2", "f /g A"})
	})
	k.nsSub(t, "Dots", func(t *testing.T, n *nsHarness) {
		n.setupNS([]string{"d /d", "d /d/e", "f /f A"})
		for _, c := range []struct{ from, to string }{
			{"/d/.", "/x"}, {"/d/e/..", "/x"}, {"/", "/x"}, {"/f", "/d/."}, {"/f", "/d/e/.."}, {"/f", "/"},
		} {
			n.want(n.ns.Rename(n.root, c.from, n.root, c.to), vfs.EBUSY, "Rename(%s, %s)", c.from, c.to)
		}
		n.expectNS([]string{"d /d/e", "f /f A", "- /x"})
	})
	k.nsSub(t, "SymlinkNotFollowed", func(t *testing.T, n *nsHarness) {
		if k.opts.NoSymlinks {
			return
		}
		n.setupNS([]string{"d /d", "f /f A", "s /s f", "s /t d"})
		n.must(n.ns.Rename(n.root, "/s", n.root, "/s2"), "Rename(/s, /s2)")
		n.must(n.ns.Rename(n.root, "/f", n.root, "/t"), "Rename(/f, /t -> d)")
		n.expectNS([]string{"s /s2 f", "f /t A", "d /d", "- /d/f", "- /f"})
	})
	k.nsSub(t, "IntoOwnSubtree", func(t *testing.T, n *nsHarness) {
		n.setupNS([]string{"d /a", "d /a/b"})
		n.want(n.ns.Rename(n.root, "/a", n.root, "/a/b/c"), vfs.EINVAL, "Rename(/a, /a/b/c)")
		if !k.opts.NoSymlinks {
			n.symlinkNS("a/b", "/sb")
			n.want(n.ns.Rename(n.root, "/a", n.root, "/sb/c"), vfs.EINVAL, "Rename(/a, /sb/c) with /sb -> a/b")
		}
		n.expectNS([]string{"d /a/b", "- /a/b/c"})
	})
}

func (k *kit) testNSLink(t *testing.T) {
	k.nsSub(t, "Follow", func(t *testing.T, n *nsHarness) {
		if k.opts.NoHardLinks || k.opts.NoSymlinks {
			return
		}
		n.setupNS([]string{"f /f A", "s /s f"})
		n.must(n.ns.Link(n.root, "/s", false, n.root, "/nofollow"), "Link(/s, /nofollow, follow=false)")
		n.must(n.ns.Link(n.root, "/s", true, n.root, "/follow"), "Link(/s, /follow, follow=true)")
		n.expectNS([]string{"s /nofollow f", "f /follow A"})
		if a, b := n.statNS("/follow", false), n.statNS("/f", false); a.Ino != b.Ino || b.Nlink != 2 {
			t.Errorf("StatAt(/follow) = ino %d, StatAt(/f) = ino %d nlink %d, want the same ino with nlink 2", a.Ino, b.Ino, b.Nlink)
		}
	})
	k.nsSub(t, "Errors", func(t *testing.T, n *nsHarness) {
		if k.opts.NoHardLinks {
			return
		}
		n.setupNS([]string{"d /d", "f /f A", "f /g B"})
		n.want(n.ns.Link(n.root, "/d", false, n.root, "/d2"), vfs.EPERM, "Link(/d, /d2)")
		n.want(n.ns.Link(n.root, "/f", false, n.root, "/g"), vfs.EEXIST, "Link(/f, /g)")
		n.want(n.ns.Link(n.root, "/f", false, n.root, "/d/."), vfs.EEXIST, "Link(/f, /d/.)")
		n.want(n.ns.Link(n.root, "/nope", false, n.root, "/x"), vfs.ENOENT, "Link(/nope, /x)")
		n.want(n.ns.Link(n.root, "/f", false, n.root, "/nope/x"), vfs.ENOENT, "Link(/f, /nope/x)")
		n.expectNS([]string{"- /d2", "f /g B", "- /x"})
	})
}

func (k *kit) testNSMounts(t *testing.T) {
	k.nsSub(t, "Basic", func(t *testing.T, n *nsHarness) {
		// A second backend of the same kind mounted at /mnt: ".." leaves it, devices differ,
		// the listing of / shows the mounted root's Ino, and nothing crosses it but walks.
		other := k.newFS(t)
		n.setupNS([]string{"f /f A", "d /d"})
		if err := n.ns.Mount("/mnt/sub", other); err != nil {
			t.Fatalf("Mount(/mnt/sub) = %v", err)
		}
		n.writeNS("/mnt/sub/g", "G")
		if _, _, e := other.Lookup(other.Root(), "g"); e != vfs.ESUCCESS {
			t.Errorf("/mnt/sub/g was not created in the mounted backend: Lookup = %s", e.Name())
		}
		rootSt, mntSt := n.statNS("/", false), n.statNS("/mnt/sub", false)
		if mntSt.Ino != other.Root() || mntSt.Dev == rootSt.Dev {
			t.Errorf("StatAt(/mnt/sub) = (dev %d, ino %d), want (a dev other than /'s %d, ino %d)", mntSt.Dev, mntSt.Ino, rootSt.Dev, other.Root())
		}
		n.wantResolve("/mnt/sub/..", true, "/mnt")
		n.wantResolve("/mnt/sub/../../f", true, "/f")
		es := list(n, "/mnt")
		for _, e := range es {
			if e.Name == "sub" && e.Ino != other.Root() {
				t.Errorf("ReadDir(/mnt) reports sub with ino %d, want the mounted root's %d", e.Ino, other.Root())
			}
		}
		n.want(n.ns.Rename(n.root, "/f", n.root, "/mnt/sub/f"), vfs.EXDEV, "Rename(/f, /mnt/sub/f)")
		n.want(n.ns.Rename(n.root, "/mnt/sub/g", n.root, "/g"), vfs.EXDEV, "Rename(/mnt/sub/g, /g)")
		if !k.opts.NoHardLinks {
			n.want(n.ns.Link(n.root, "/f", false, n.root, "/mnt/sub/f"), vfs.EXDEV, "Link(/f, /mnt/sub/f)")
		}
		n.want(n.ns.Remove(n.root, "/mnt/sub", true), vfs.EBUSY, "Remove(/mnt/sub, dirOnly)")
		n.want(n.ns.Rename(n.root, "/mnt/sub", n.root, "/other"), vfs.EBUSY, "Rename(/mnt/sub, /other)")
		n.want(n.ns.Rename(n.root, "/mnt", n.root, "/other"), vfs.EBUSY, "Rename(/mnt, /other) holding a mount")
		if err := n.ns.Mount("/mnt/sub", k.newFS(t)); vfs.ToErrno(err) != vfs.EBUSY {
			t.Errorf("second Mount(/mnt/sub) = %v, want EBUSY", err)
		}
		if !k.opts.NoSymlinks {
			n.symlinkNS("/f", "/mnt/sub/abs")
			if got := n.readNS("/mnt/sub/abs"); got != "A" {
				t.Errorf("content of /mnt/sub/abs -> /f = %q, want A (absolute targets start at the namespace root)", got)
			}
		}
		if ms := n.ns.Mounts(); len(ms) != 2 || ms[0].Path != "/" || ms[1].Path != "/mnt/sub" {
			t.Errorf("Mounts() = %+v, want / and /mnt/sub", ms)
		}
	})
}

// list reads a whole directory through the Namespace.
func list(n *nsHarness, p string) []entry {
	n.t.Helper()
	hd := n.mustOpen(p, vfs.ORead)
	defer hd.File.Close()
	var out []entry
	n.must(n.ns.ReadDir(hd, 0, func(e *vfs.DirEntry) bool {
		out = append(out, entry{Name: string(e.Name), Ino: e.Ino, Type: e.Type, Next: e.Next})
		return true
	}), "ReadDir(%s)", p)
	return out
}
