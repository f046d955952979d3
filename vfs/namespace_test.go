package vfs_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/wasmrun/wasmrun/heap"
	"github.com/wasmrun/wasmrun/vfs"
	"github.com/wasmrun/wasmrun/vfs/hostfs"
)

// backends are the writable backends the Namespace tests run over.
var backends = []struct {
	name string
	new  func(t *testing.T) vfs.FS
}{
	{"heap", func(t *testing.T) vfs.FS { return heap.New(heap.Options{}) }},
	{"hostdir", func(t *testing.T) vfs.FS {
		fsys, err := hostfs.New(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { fsys.(vfs.Closer).Close() })
		return fsys
	}},
}

// forEachBackend runs f as a subtest per backend.
func forEachBackend(t *testing.T, f func(t *testing.T, newFS func(t *testing.T) vfs.FS)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { f(t, b.new) })
	}
}

// check fails the test if e is not ESUCCESS.
func check(t testing.TB, what string, e vfs.Errno) {
	t.Helper()
	if e != 0 {
		t.Fatalf("%s: %v", what, e)
	}
}

// newTree builds the namespace the tests walk:
//
//	/            root backend
//	/f           file "hello"
//	/d/          dir, with /d/f (file) and /d/sub/ (dir)
//	/lnk         -> /d        (absolute)
//	/rel         -> d         (relative)
//	/flink       -> /f
//	/dang        -> /nope     (dangling)
//	/dang2       -> /d/created
//	/loop1       -> /loop2, /loop2 -> /loop1, /self -> self
//	/c0 -> /d, /c1 -> c0, ... /c40 -> c39   (c40 needs 41 links)
//	/tmp/        a second backend, with /tmp/t/ (dir), /tmp/abs -> /d, /tmp/up -> ../d
//	/data/       a third backend, with /data/x (file)
//	/mnt/a/      a fourth backend, mounted two levels down
func newTree(t *testing.T, newFS func(t *testing.T) vfs.FS) *vfs.Namespace {
	t.Helper()
	ns := vfs.NewNamespace(newFS(t))
	for _, p := range []string{"/tmp", "/data", "/mnt/a"} {
		if err := ns.Mount(p, newFS(t)); err != nil {
			t.Fatal(err)
		}
	}
	root := ns.Root()
	writeFile(t, ns, "/f", "hello")
	check(t, "mkdir /d", ns.Mkdir(root, "/d", 0o755))
	writeFile(t, ns, "/d/f", "in d")
	check(t, "mkdir /d/sub", ns.Mkdir(root, "/d/sub", 0o755))
	writeFile(t, ns, "/data/x", "x")
	check(t, "mkdir /tmp/t", ns.Mkdir(root, "/tmp/t", 0o755))
	links := [][2]string{
		{"/d", "/lnk"}, {"d", "/rel"}, {"/f", "/flink"}, {"/nope", "/dang"},
		{"/d/created", "/dang2"}, {"/loop2", "/loop1"}, {"/loop1", "/loop2"}, {"self", "/self"},
		{"/d", "/tmp/abs"}, {"../d", "/tmp/up"}, {"/d", "/c0"},
	}
	for i := 1; i <= vfs.SymlinkMax; i++ {
		links = append(links, [2]string{"c" + itoa(i-1), "/c" + itoa(i)})
	}
	for _, l := range links {
		check(t, "symlink "+l[1], ns.Symlink(l[0], root, l[1]))
	}
	return ns
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

func writeFile(t testing.TB, ns *vfs.Namespace, path, data string) {
	t.Helper()
	h, e := ns.Open(ns.Root(), path, vfs.OWrite|vfs.OCreate|vfs.OTrunc, 0o644)
	check(t, "open "+path, e)
	defer h.File.Close()
	if _, e := h.File.WriteAt([]byte(data), 0); e != 0 {
		t.Fatalf("write %s: %v", path, e)
	}
}

func readFile(t testing.TB, ns *vfs.Namespace, path string) string {
	t.Helper()
	h, e := ns.Open(ns.Root(), path, vfs.ORead, 0)
	check(t, "open "+path, e)
	defer h.File.Close()
	var buf bytes.Buffer
	p := make([]byte, 4096)
	for off := int64(0); ; {
		n, e := h.File.ReadAt(p, off)
		check(t, "read "+path, e)
		if n == 0 {
			return buf.String()
		}
		buf.Write(p[:n])
		off += int64(n)
	}
}

func TestResolve(t *testing.T) {
	long := strings.Repeat("a", vfs.NameMax)
	tests := []struct {
		path   string
		follow bool
		err    vfs.Errno
		same   string       // if set, the result is the inode this path names (followed)
		typ    vfs.FileType // if set, the type of the result
	}{
		{path: "/", same: "/."},
		{path: "/..", same: "/"},
		{path: "/../../d", same: "/d"},
		{path: "//d///f", same: "/d/f"},
		{path: "/d/./sub/..", same: "/d"},
		{path: "/tmp/../data", same: "/data"},
		{path: "/tmp/..", same: "/"},
		{path: "/data/../tmp/t", same: "/tmp/t"},
		{path: "/mnt/a/..", same: "/mnt"},
		{path: "/mnt/a/../..", same: "/"},
		{path: "/tmp", typ: vfs.TypeDir},
		{path: "", err: vfs.ENOENT},
		{path: "/nope", err: vfs.ENOENT},
		{path: "/nope/..", err: vfs.ENOENT},
		{path: "/f/x", err: vfs.ENOTDIR},
		{path: "/f/", err: vfs.ENOTDIR},
		{path: "/f/.", err: vfs.ENOTDIR},
		{path: "/f/..", err: vfs.ENOTDIR},
		{path: "/d/", same: "/d"},
		{path: "/lnk/f", same: "/d/f"},
		{path: "/lnk/../f", same: "/f"},
		{path: "/rel/sub/../f", same: "/d/f"},
		{path: "/lnk", follow: true, same: "/d"},
		{path: "/lnk", typ: vfs.TypeSymlink},
		{path: "/lnk/", same: "/d"},
		{path: "/lnk/.", same: "/d"},
		{path: "/flink", follow: true, typ: vfs.TypeRegular},
		{path: "/flink/", err: vfs.ENOTDIR},
		{path: "/dang", follow: true, err: vfs.ENOENT},
		{path: "/dang", typ: vfs.TypeSymlink},
		{path: "/loop1", follow: true, err: vfs.ELOOP},
		{path: "/loop1", typ: vfs.TypeSymlink},
		{path: "/loop1/x", err: vfs.ELOOP},
		{path: "/self", follow: true, err: vfs.ELOOP},
		{path: "/tmp/abs/f", same: "/d/f"},
		{path: "/tmp/up/f", same: "/d/f"},
		{path: "/c" + itoa(vfs.SymlinkMax-1), follow: true, same: "/d"},
		{path: "/c" + itoa(vfs.SymlinkMax) + "/f", err: vfs.ELOOP},
		{path: "/c" + itoa(vfs.SymlinkMax), follow: true, err: vfs.ELOOP},
		{path: "/d\x00", err: vfs.EILSEQ},
		{path: "/d/\x00/..", err: vfs.EILSEQ},
		{path: "/" + long, err: vfs.ENOENT},
		{path: "/" + long + "a", err: vfs.ENAMETOOLONG},
		{path: "/d/" + long + "a/..", err: vfs.ENAMETOOLONG},
		{path: "/" + strings.Repeat("./", (vfs.PathMax-3)/2) + "d", same: "/d"},            // 4095 bytes
		{path: "/" + strings.Repeat("./", (vfs.PathMax-1)/2) + "d", err: vfs.ENAMETOOLONG}, // 4096 bytes
	}
	forEachBackend(t, func(t *testing.T, newFS func(t *testing.T) vfs.FS) {
		ns := newTree(t, newFS)
		root := ns.Root()
		for _, tt := range tests {
			st, e := ns.StatAt(root, tt.path, tt.follow)
			name := tt.path
			if len(name) > 40 {
				name = name[:40] + "..."
			}
			if e != tt.err {
				t.Errorf("StatAt(%q, follow=%v) = %v, want %v", name, tt.follow, e, tt.err)
				continue
			}
			if tt.same != "" {
				want, e := ns.StatAt(root, tt.same, true)
				check(t, "stat "+tt.same, e)
				if st.Dev != want.Dev || st.Ino != want.Ino {
					t.Errorf("StatAt(%q) = dev %d ino %d, want %s's dev %d ino %d", name, st.Dev, st.Ino, tt.same, want.Dev, want.Ino)
				}
			}
			if tt.typ != 0 && st.Type != tt.typ {
				t.Errorf("StatAt(%q).Type = %v, want %v", name, st.Type, tt.typ)
			}
			// Resolve agrees with StatAt.
			n, e := ns.Resolve(root, tt.path, tt.follow)
			if e != tt.err {
				t.Errorf("Resolve(%q) = %v, want %v", name, e, tt.err)
			} else if e == 0 {
				st2, e := ns.Stat(n)
				check(t, "stat node", e)
				if st2.Ino != st.Ino || st2.Dev != st.Dev {
					t.Errorf("Resolve(%q) and StatAt disagree", name)
				}
			}
		}
	})
}

// TestExpandedPathTooLong checks that a symlink whose expansion makes the rest of the walk
// longer than PathMax is ENAMETOOLONG.
func TestExpandedPathTooLong(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newFS func(t *testing.T) vfs.FS) {
		ns := newTree(t, newFS)
		root := ns.Root()
		big := strings.Repeat("./", 2000) + "d"
		check(t, "symlink", ns.Symlink(big, root, "/big"))
		if _, e := ns.StatAt(root, "/big/f", true); e != 0 {
			t.Errorf("short expansion: %v", e)
		}
		tail := strings.Repeat("./", 1100) + "f"
		if _, e := ns.StatAt(root, "/big/"+tail, true); e != vfs.ENAMETOOLONG {
			t.Errorf("long expansion: %v, want ENAMETOOLONG", e)
		}
	})
}

// TestRelative walks from directories handed out by Open and Resolve: ".." above the starting
// point goes to the parent the backend reports, across mounts.
func TestRelative(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newFS func(t *testing.T) vfs.FS) {
		ns := newTree(t, newFS)
		root := ns.Root()
		at := func(p string) vfs.Node {
			h, e := ns.Open(root, p, vfs.ORead|vfs.ODirectory, 0)
			check(t, "open "+p, e)
			h.File.Close()
			return h.Node
		}
		tests := []struct {
			at, path, same string
			err            vfs.Errno
		}{
			{at: "/d", path: "..", same: "/"},
			{at: "/d/sub", path: "../../tmp", same: "/tmp"},
			{at: "/tmp/t", path: "../..", same: "/"},
			{at: "/tmp/t", path: "../../data/x", same: "/data/x"},
			{at: "/tmp", path: "..", same: "/"},
			{at: "/tmp", path: ".", same: "/tmp"},
			{at: "/mnt/a", path: "../a/..", same: "/mnt"},
			{at: "/lnk", path: "..", same: "/"},    // physical: the parent of /d
			{at: "/tmp/up", path: "..", same: "/"}, // /tmp/up is /d
			{at: "/tmp/up", path: "sub", same: "/d/sub"},
			{at: "/", path: "../../..", same: "/"},
			{at: "/d", path: "/data", same: "/data"},
			{at: "/d", path: "f/..", err: vfs.ENOTDIR},
		}
		for _, tt := range tests {
			st, e := ns.StatAt(at(tt.at), tt.path, true)
			if e != tt.err {
				t.Errorf("StatAt(%s, %q) = %v, want %v", tt.at, tt.path, e, tt.err)
				continue
			}
			if e != 0 {
				continue
			}
			want, e := ns.StatAt(root, tt.same, true)
			check(t, "stat "+tt.same, e)
			if st.Dev != want.Dev || st.Ino != want.Ino {
				t.Errorf("StatAt(%s, %q) is not %s", tt.at, tt.path, tt.same)
			}
		}
		// From a file: relative walks are ENOTDIR.
		f, e := ns.Resolve(root, "/f", true)
		check(t, "resolve /f", e)
		for _, p := range []string{".", "..", "x"} {
			if _, e := ns.StatAt(f, p, true); e != vfs.ENOTDIR {
				t.Errorf("StatAt(/f, %q) = %v, want ENOTDIR", p, e)
			}
		}
		// The zero Node.
		if _, e := ns.StatAt(vfs.Node{}, "x", true); e != vfs.EBADF {
			t.Errorf("StatAt(Node{}, x) = %v, want EBADF", e)
		}
		// ".." still works after the directory moved.
		sub := at("/d/sub")
		check(t, "mkdir /e", ns.Mkdir(root, "/e", 0o755))
		check(t, "rename", ns.Rename(root, "/d/sub", root, "/e/sub2"))
		st, e := ns.StatAt(sub, "..", true)
		check(t, "stat sub/..", e)
		want, _ := ns.StatAt(root, "/e", true)
		if st.Ino != want.Ino {
			t.Errorf("after rename, sub/.. is ino %d, want /e's %d", st.Ino, want.Ino)
		}
	})
}

// TestMutations checks the errno of every mutating Namespace method against Linux's.
func TestMutations(t *testing.T) {
	type ns = vfs.Namespace
	r := func(n *ns) vfs.Node { return n.Root() }
	open := func(p string, fl vfs.OFlag) func(n *ns) vfs.Errno {
		return func(n *ns) vfs.Errno {
			h, e := n.Open(r(n), p, fl, 0o644)
			if e == 0 {
				h.File.Close()
			}
			return e
		}
	}
	tests := []struct {
		name  string
		op    func(n *ns) vfs.Errno
		err   vfs.Errno
		after func(t *testing.T, n *ns)
	}{
		// Open.
		{name: "open excl dangling", op: open("/dang", vfs.OCreate|vfs.OExcl|vfs.OWrite), err: vfs.EEXIST},
		{name: "open excl file", op: open("/f", vfs.OCreate|vfs.OExcl|vfs.OWrite), err: vfs.EEXIST},
		{name: "open excl dir", op: open("/d", vfs.OCreate|vfs.OExcl), err: vfs.EEXIST},
		{name: "open creat dangling", op: open("/dang2", vfs.OCreate|vfs.OWrite), after: func(t *testing.T, n *ns) {
			if st, e := n.StatAt(r(n), "/d/created", false); e != 0 || st.Type != vfs.TypeRegular {
				t.Errorf("dangling target not created: %v %v", st.Type, e)
			}
		}},
		{name: "open creat slash", op: open("/newfile/", vfs.OCreate|vfs.OWrite), err: vfs.EISDIR},
		{name: "open creat dot", op: open("/d/.", vfs.OCreate), err: vfs.EISDIR},
		{name: "open creat dir", op: open("/d", vfs.OCreate), err: vfs.EISDIR},
		{name: "open creat missing parent", op: open("/nope/x", vfs.OCreate), err: vfs.ENOENT},
		{name: "open creat directory", op: open("/newdir", vfs.OCreate|vfs.ODirectory), err: vfs.EINVAL},
		{name: "open write dir", op: open("/d", vfs.OWrite), err: vfs.EISDIR},
		{name: "open trunc dir", op: open("/d", vfs.OTrunc), err: vfs.EISDIR},
		{name: "open directory file", op: open("/f", vfs.ORead|vfs.ODirectory), err: vfs.ENOTDIR},
		{name: "open directory link", op: open("/lnk", vfs.ORead|vfs.ODirectory)},
		{name: "open nofollow", op: open("/lnk", vfs.ORead|vfs.ONoFollow), err: vfs.ELOOP},
		{name: "open nofollow slash", op: open("/lnk/", vfs.ORead|vfs.ONoFollow)},
		{name: "open nofollow directory", op: open("/lnk", vfs.ORead|vfs.ONoFollow|vfs.ODirectory), err: vfs.ENOTDIR},
		{name: "open loop", op: open("/loop1", vfs.ORead), err: vfs.ELOOP},
		{name: "open missing", op: open("/nope", vfs.ORead), err: vfs.ENOENT},
		{name: "open trunc", op: open("/flink", vfs.OTrunc), after: func(t *testing.T, n *ns) {
			if got := readFile(t, n, "/f"); got != "" {
				t.Errorf("after OTrunc: %q", got)
			}
		}},
		{name: "open creat keeps", op: open("/f", vfs.OCreate|vfs.OWrite), after: func(t *testing.T, n *ns) {
			if got := readFile(t, n, "/f"); got != "hello" {
				t.Errorf("after OCreate: %q", got)
			}
		}},
		{name: "open root", op: open("/", vfs.ORead|vfs.ODirectory)},
		{name: "open mount", op: open("/tmp/", vfs.ORead|vfs.ODirectory)},
		// Mkdir.
		{name: "mkdir exists", op: func(n *ns) vfs.Errno { return n.Mkdir(r(n), "/d", 0o755) }, err: vfs.EEXIST},
		{name: "mkdir dangling", op: func(n *ns) vfs.Errno { return n.Mkdir(r(n), "/dang", 0o755) }, err: vfs.EEXIST},
		{name: "mkdir root", op: func(n *ns) vfs.Errno { return n.Mkdir(r(n), "/", 0o755) }, err: vfs.EEXIST},
		{name: "mkdir dotdot", op: func(n *ns) vfs.Errno { return n.Mkdir(r(n), "/d/..", 0o755) }, err: vfs.EEXIST},
		{name: "mkdir mount", op: func(n *ns) vfs.Errno { return n.Mkdir(r(n), "/tmp", 0o755) }, err: vfs.EEXIST},
		{name: "mkdir slash", op: func(n *ns) vfs.Errno { return n.Mkdir(r(n), "/newd/", 0o755) }},
		{name: "mkdir no parent", op: func(n *ns) vfs.Errno { return n.Mkdir(r(n), "/nope/x", 0o755) }, err: vfs.ENOENT},
		{name: "mkdir under file", op: func(n *ns) vfs.Errno { return n.Mkdir(r(n), "/f/x", 0o755) }, err: vfs.ENOTDIR},
		{name: "mkdir through link", op: func(n *ns) vfs.Errno { return n.Mkdir(r(n), "/tmp/abs/new", 0o755) }, after: func(t *testing.T, n *ns) {
			if _, e := n.StatAt(r(n), "/d/new", false); e != 0 {
				t.Errorf("/d/new: %v", e)
			}
		}},
		{name: "mkdir long", op: func(n *ns) vfs.Errno { return n.Mkdir(r(n), "/"+strings.Repeat("n", 256), 0o755) }, err: vfs.ENAMETOOLONG},
		{name: "mkdir nul", op: func(n *ns) vfs.Errno { return n.Mkdir(r(n), "/a\x00b", 0o755) }, err: vfs.EILSEQ},
		{name: "mkdir empty", op: func(n *ns) vfs.Errno { return n.Mkdir(r(n), "", 0o755) }, err: vfs.ENOENT},
		// Remove.
		{name: "rmdir mount", op: func(n *ns) vfs.Errno { return n.Remove(r(n), "/data", true) }, err: vfs.EBUSY},
		{name: "rmdir mount slash", op: func(n *ns) vfs.Errno { return n.Remove(r(n), "/mnt/a/", true) }, err: vfs.EBUSY},
		{name: "unlink mount", op: func(n *ns) vfs.Errno { return n.Remove(r(n), "/data", false) }, err: vfs.EISDIR},
		{name: "rmdir dot", op: func(n *ns) vfs.Errno { return n.Remove(r(n), "/d/sub/.", true) }, err: vfs.EINVAL},
		{name: "rmdir dotdot", op: func(n *ns) vfs.Errno { return n.Remove(r(n), "/d/sub/..", true) }, err: vfs.ENOTEMPTY},
		{name: "rmdir root", op: func(n *ns) vfs.Errno { return n.Remove(r(n), "/", true) }, err: vfs.EBUSY},
		{name: "rmdir file", op: func(n *ns) vfs.Errno { return n.Remove(r(n), "/f", true) }, err: vfs.ENOTDIR},
		{name: "rmdir nonempty", op: func(n *ns) vfs.Errno { return n.Remove(r(n), "/d", true) }, err: vfs.ENOTEMPTY},
		{name: "rmdir link slash", op: func(n *ns) vfs.Errno { return n.Remove(r(n), "/lnk/", true) }, err: vfs.ENOTDIR},
		{name: "rmdir ok", op: func(n *ns) vfs.Errno { return n.Remove(r(n), "/d/sub/", true) }, after: func(t *testing.T, n *ns) {
			if _, e := n.StatAt(r(n), "/d/sub", false); e != vfs.ENOENT {
				t.Errorf("after rmdir: %v", e)
			}
		}},
		{name: "unlink dir", op: func(n *ns) vfs.Errno { return n.Remove(r(n), "/d", false) }, err: vfs.EISDIR},
		{name: "unlink dot", op: func(n *ns) vfs.Errno { return n.Remove(r(n), "/d/.", false) }, err: vfs.EISDIR},
		{name: "unlink file slash", op: func(n *ns) vfs.Errno { return n.Remove(r(n), "/f/", false) }, err: vfs.ENOTDIR},
		{name: "unlink dir slash", op: func(n *ns) vfs.Errno { return n.Remove(r(n), "/d/", false) }, err: vfs.EISDIR},
		{name: "unlink missing", op: func(n *ns) vfs.Errno { return n.Remove(r(n), "/nope", false) }, err: vfs.ENOENT},
		{name: "unlink link", op: func(n *ns) vfs.Errno { return n.Remove(r(n), "/lnk", false) }, after: func(t *testing.T, n *ns) {
			if _, e := n.StatAt(r(n), "/d", false); e != 0 {
				t.Errorf("unlink followed the link: %v", e)
			}
		}},
		// Rename.
		{name: "rename xdev", op: func(n *ns) vfs.Errno { return n.Rename(r(n), "/data/x", r(n), "/x") }, err: vfs.EXDEV},
		{name: "rename xdev missing", op: func(n *ns) vfs.Errno { return n.Rename(r(n), "/data/nope", r(n), "/x") }, err: vfs.EXDEV},
		{name: "rename mount", op: func(n *ns) vfs.Errno { return n.Rename(r(n), "/data", r(n), "/data2") }, err: vfs.EBUSY},
		{name: "rename onto mount", op: func(n *ns) vfs.Errno { return n.Rename(r(n), "/d", r(n), "/data") }, err: vfs.EBUSY},
		{name: "rename above mount", op: func(n *ns) vfs.Errno { return n.Rename(r(n), "/mnt", r(n), "/mnt2") }, err: vfs.EBUSY},
		{name: "rename dot", op: func(n *ns) vfs.Errno { return n.Rename(r(n), "/d/.", r(n), "/e") }, err: vfs.EBUSY},
		{name: "rename to dotdot", op: func(n *ns) vfs.Errno { return n.Rename(r(n), "/d", r(n), "/d/sub/..") }, err: vfs.EBUSY},
		{name: "rename file to slash", op: func(n *ns) vfs.Errno { return n.Rename(r(n), "/f", r(n), "/g/") }, err: vfs.ENOTDIR},
		{name: "rename file slash", op: func(n *ns) vfs.Errno { return n.Rename(r(n), "/f/", r(n), "/g") }, err: vfs.ENOTDIR},
		{name: "rename dir slash", op: func(n *ns) vfs.Errno { return n.Rename(r(n), "/d/", r(n), "/e/") }},
		{name: "rename into self", op: func(n *ns) vfs.Errno { return n.Rename(r(n), "/d", r(n), "/d/sub/x") }, err: vfs.EINVAL},
		{name: "rename missing", op: func(n *ns) vfs.Errno { return n.Rename(r(n), "/nope", r(n), "/x") }, err: vfs.ENOENT},
		{name: "rename link", op: func(n *ns) vfs.Errno { return n.Rename(r(n), "/lnk", r(n), "/lnk2") }, after: func(t *testing.T, n *ns) {
			if s, e := n.Readlink(r(n), "/lnk2"); e != 0 || s != "/d" {
				t.Errorf("renamed link: %q %v", s, e)
			}
		}},
		{name: "rename in mount", op: func(n *ns) vfs.Errno { return n.Rename(r(n), "/tmp/t", r(n), "/tmp/u") }},
		// Link.
		{name: "link xdev", op: func(n *ns) vfs.Errno { return n.Link(r(n), "/data/x", false, r(n), "/xx") }, err: vfs.EXDEV},
		{name: "link dir", op: func(n *ns) vfs.Errno { return n.Link(r(n), "/d", false, r(n), "/dd") }, err: vfs.EPERM},
		{name: "link exists", op: func(n *ns) vfs.Errno { return n.Link(r(n), "/f", false, r(n), "/d") }, err: vfs.EEXIST},
		{name: "link slash missing", op: func(n *ns) vfs.Errno { return n.Link(r(n), "/f", false, r(n), "/g/") }, err: vfs.ENOENT},
		{name: "link slash exists", op: func(n *ns) vfs.Errno { return n.Link(r(n), "/f", false, r(n), "/d/") }, err: vfs.EEXIST},
		{name: "link dot", op: func(n *ns) vfs.Errno { return n.Link(r(n), "/f", false, r(n), "/d/.") }, err: vfs.EEXIST},
		{name: "link missing", op: func(n *ns) vfs.Errno { return n.Link(r(n), "/nope", false, r(n), "/g") }, err: vfs.ENOENT},
		{name: "link follow", op: func(n *ns) vfs.Errno { return n.Link(r(n), "/flink", true, r(n), "/g") }, after: func(t *testing.T, n *ns) {
			a, _ := n.StatAt(r(n), "/g", false)
			b, _ := n.StatAt(r(n), "/f", false)
			if a.Ino != b.Ino || b.Nlink != 2 {
				t.Errorf("link follow: ino %d vs %d, nlink %d", a.Ino, b.Ino, b.Nlink)
			}
		}},
		{name: "link nofollow", op: func(n *ns) vfs.Errno { return n.Link(r(n), "/flink", false, r(n), "/g") }, after: func(t *testing.T, n *ns) {
			if st, _ := n.StatAt(r(n), "/g", false); st.Type != vfs.TypeSymlink {
				t.Errorf("link nofollow: %v", st.Type)
			}
		}},
		// Symlink and Readlink.
		{name: "symlink empty", op: func(n *ns) vfs.Errno { return n.Symlink("", r(n), "/s") }, err: vfs.ENOENT},
		{name: "symlink nul", op: func(n *ns) vfs.Errno { return n.Symlink("a\x00", r(n), "/s") }, err: vfs.EILSEQ},
		{name: "symlink long", op: func(n *ns) vfs.Errno { return n.Symlink(strings.Repeat("a", vfs.PathMax), r(n), "/s") }, err: vfs.ENAMETOOLONG},
		{name: "symlink exists", op: func(n *ns) vfs.Errno { return n.Symlink("x", r(n), "/dang") }, err: vfs.EEXIST},
		{name: "symlink slash", op: func(n *ns) vfs.Errno { return n.Symlink("x", r(n), "/s/") }, err: vfs.ENOENT},
		{name: "readlink file", op: func(n *ns) vfs.Errno { _, e := n.Readlink(r(n), "/f"); return e }, err: vfs.EINVAL},
		{name: "readlink slash", op: func(n *ns) vfs.Errno { _, e := n.Readlink(r(n), "/lnk/"); return e }, err: vfs.EINVAL},
		{name: "readlink dangling", op: func(n *ns) vfs.Errno {
			s, e := n.Readlink(r(n), "/dang")
			if e == 0 && s != "/nope" {
				return vfs.EIO
			}
			return e
		}},
		// SetAttrAt.
		{name: "truncate", op: func(n *ns) vfs.Errno {
			return n.SetAttrAt(r(n), "/flink", true, &vfs.Attr{Valid: vfs.AttrSize, Size: 2})
		}, after: func(t *testing.T, n *ns) {
			if got := readFile(t, n, "/f"); got != "he" {
				t.Errorf("after truncate: %q", got)
			}
		}},
		{name: "truncate dir", op: func(n *ns) vfs.Errno {
			return n.SetAttrAt(r(n), "/d", true, &vfs.Attr{Valid: vfs.AttrSize})
		}, err: vfs.EISDIR},
		{name: "utimes", op: func(n *ns) vfs.Errno {
			return n.SetAttrAt(r(n), "/d/f", false, &vfs.Attr{Valid: vfs.AttrMtime | vfs.AttrAtime, Atime: 1e9, Mtime: 2e9})
		}, after: func(t *testing.T, n *ns) {
			if st, _ := n.StatAt(r(n), "/d/f", false); st.Mtime != 2e9 || st.Atime != 1e9 {
				t.Errorf("utimes: atime %d mtime %d", st.Atime, st.Mtime)
			}
		}},
	}
	forEachBackend(t, func(t *testing.T, newFS func(t *testing.T) vfs.FS) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				n := newTree(t, newFS)
				if e := tt.op(n); e != tt.err {
					t.Fatalf("got %v, want %v", e, tt.err)
				}
				if tt.after != nil {
					tt.after(t, n)
				}
			})
		}
	})
}

// TestReadDir checks ".", "..", mount points and cookies.
func TestReadDir(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newFS func(t *testing.T) vfs.FS) {
		ns := newTree(t, newFS)
		root := ns.Root()
		type ent struct {
			name string
			ino  vfs.Ino
			next uint64
		}
		list := func(p string, cookie uint64, max int) []ent {
			h, e := ns.Open(root, p, vfs.ORead|vfs.ODirectory, 0)
			check(t, "open "+p, e)
			defer h.File.Close()
			var out []ent
			e = ns.ReadDir(h, cookie, func(e *vfs.DirEntry) bool {
				out = append(out, ent{string(e.Name), e.Ino, e.Next})
				return len(out) < max
			})
			check(t, "readdir "+p, e)
			return out
		}
		ino := func(p string) vfs.Ino {
			st, e := ns.StatAt(root, p, false)
			check(t, "stat "+p, e)
			return st.Ino
		}
		all := list("/", 0, 1000)
		got := map[string]ent{}
		for _, e := range all {
			got[e.name] = e
		}
		if all[0].name != "." || all[0].next != 1 || all[1].name != ".." || all[1].next != 2 {
			t.Fatalf("first entries: %+v", all[:2])
		}
		for _, want := range []string{".", "..", "f", "d", "tmp", "data", "mnt", "lnk"} {
			e, ok := got[want]
			if !ok {
				t.Errorf("/ lacks %q", want)
				continue
			}
			if w := ino("/" + want); e.ino != w {
				t.Errorf("/%s: readdir ino %d, stat ino %d", want, e.ino, w)
			}
		}
		// ".." of a mount root is the directory holding the mount point.
		if e := list("/mnt/a", 0, 2); e[1].name != ".." || e[1].ino != ino("/mnt") {
			t.Errorf("/mnt/a/..: %+v, want ino %d", e, ino("/mnt"))
		}
		if e := list("/tmp", 0, 2); e[1].ino != ino("/") {
			t.Errorf("/tmp/..: %+v", e)
		}
		// Resuming from every cookie yields the rest of the listing.
		for i := range all {
			rest := list("/", all[i].next, 1000)
			if len(rest) != len(all)-i-1 {
				t.Errorf("resume after %q: %d entries, want %d", all[i].name, len(rest), len(all)-i-1)
				continue
			}
			for j := range rest {
				if rest[j] != all[i+1+j] {
					t.Errorf("resume after %q: entry %d is %+v, want %+v", all[i].name, j, rest[j], all[i+1+j])
				}
			}
		}
		// A file is not a directory.
		h, e := ns.Open(root, "/f", vfs.ORead, 0)
		check(t, "open /f", e)
		defer h.File.Close()
		if e := ns.ReadDir(h, 0, func(*vfs.DirEntry) bool { return true }); e != vfs.ENOTDIR {
			t.Errorf("ReadDir(file) = %v", e)
		}
		if e := ns.ReadDir(nil, 0, func(*vfs.DirEntry) bool { return true }); e != vfs.EBADF {
			t.Errorf("ReadDir(nil) = %v", e)
		}
	})
}

func TestMount(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newFS func(t *testing.T) vfs.FS) {
		ns := newTree(t, newFS)
		tests := []struct {
			path string
			err  vfs.Errno
		}{
			{"/tmp", vfs.EBUSY},
			{"/", vfs.EBUSY},
			{"/tmp/../data", vfs.EBUSY},
			{"/f", vfs.ENOTDIR},
			{"/f/x", vfs.ENOTDIR},
			{"relative", vfs.EINVAL},
			{"/lnk", 0},             // follows the link: mounts on /d
			{"/new/deep/mount/", 0}, // mkdir -p
			{"/tmp/inner", 0},       // inside another mount
		}
		for _, tt := range tests {
			err := ns.Mount(tt.path, newFS(t))
			if vfs.ToErrno(err) != tt.err {
				t.Errorf("Mount(%q) = %v, want %v", tt.path, err, tt.err)
			}
		}
		var paths []string
		devs := map[uint64]bool{}
		for _, m := range ns.Mounts() {
			paths = append(paths, m.Path)
			if devs[m.Dev] {
				t.Errorf("dev %d twice", m.Dev)
			}
			devs[m.Dev] = true
		}
		if got, want := strings.Join(paths, " "), "/ /data /lnk /mnt/a /new/deep/mount /tmp /tmp/inner"; got != want {
			t.Errorf("Mounts() = %s, want %s", got, want)
		}
		root := ns.Root()
		a, _ := ns.StatAt(root, "/d", true)
		b, _ := ns.StatAt(root, "/tmp/inner/..", true)
		c, _ := ns.StatAt(root, "/tmp", true)
		if a.Dev == 1 || b.Dev != c.Dev || b.Ino != c.Ino {
			t.Errorf("mounts not entered: /d dev %d, /tmp/inner/.. %d/%d, /tmp %d/%d", a.Dev, b.Dev, b.Ino, c.Dev, c.Ino)
		}
		if err := ns.Close(); err != nil {
			t.Fatal(err)
		}
		if _, e := ns.StatAt(root, "/", true); e != vfs.EBADF {
			t.Errorf("after Close: %v", e)
		}
	})
}
