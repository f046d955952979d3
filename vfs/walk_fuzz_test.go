package vfs_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wasmrun/wasmrun/heap"
	"github.com/wasmrun/wasmrun/vfs"
)

// fuzzTree is the namespace FuzzResolve walks: every path and its type; "/tmp" is a separate
// mount. Symlinks are listed with their targets.
var (
	fuzzTree = map[string]vfs.FileType{
		"/": vfs.TypeDir, "/a": vfs.TypeDir, "/a/f": vfs.TypeRegular, "/a/b": vfs.TypeDir,
		"/a/b/c": vfs.TypeRegular, "/tmp": vfs.TypeDir, "/tmp/x": vfs.TypeDir,
		"/tmp/x/y": vfs.TypeRegular, "/e": vfs.TypeDir,
	}
	fuzzLinks = map[string]string{
		"/l": "/a", "/tmp/loop": "loop", "/tmp/up": "../a/f", "/a/b/dang": "nowhere",
		"/tmp/x/abs": "/tmp/x/..//x/y/", "/a/self": ".",
	}
)

func newFuzzNS(tb testing.TB) *vfs.Namespace {
	ns := vfs.NewNamespace(heap.New(heap.Options{}))
	if err := ns.Mount("/tmp", heap.New(heap.Options{})); err != nil {
		tb.Fatal(err)
	}
	root := ns.Root()
	for _, p := range []string{"/a", "/a/b", "/tmp/x", "/e"} {
		check(tb, "mkdir", ns.Mkdir(root, p, 0o755))
	}
	for p, typ := range fuzzTree {
		if typ == vfs.TypeRegular {
			writeFile(tb, ns, p, p)
		}
	}
	for p, target := range fuzzLinks {
		check(tb, "symlink", ns.Symlink(target, root, p))
	}
	return ns
}

// refResolve resolves path in fuzzTree the simple way: a string for the current directory,
// ".." as trimming its last element. It gives up (ok false) at a symlink.
func refResolve(path string) (canon string, e vfs.Errno, ok bool) {
	switch {
	case path == "":
		return "", vfs.ENOENT, true
	case len(path) >= vfs.PathMax:
		return "", vfs.ENAMETOOLONG, true
	case strings.IndexByte(path, 0) >= 0:
		return "", vfs.EILSEQ, true
	}
	cur := "/"
	for _, c := range strings.Split(path, "/") {
		if c == "" {
			continue
		}
		if len(c) > vfs.NameMax {
			return "", vfs.ENAMETOOLONG, true
		}
		if fuzzTree[cur] != vfs.TypeDir {
			return "", vfs.ENOTDIR, true
		}
		switch c {
		case ".":
		case "..":
			if i := strings.LastIndexByte(cur, '/'); i > 0 {
				cur = cur[:i]
			} else {
				cur = "/"
			}
		default:
			next := strings.TrimSuffix(cur, "/") + "/" + c
			if _, ok := fuzzLinks[next]; ok {
				return "", 0, false
			}
			if _, ok := fuzzTree[next]; !ok {
				return "", vfs.ENOENT, true
			}
			cur = next
		}
	}
	if strings.HasSuffix(path, "/") && fuzzTree[cur] != vfs.TypeDir {
		return "", vfs.ENOTDIR, true
	}
	return cur, 0, true
}

// FuzzResolve walks arbitrary paths: the walker never panics, fails only with the errnos
// Resolve documents, agrees with StatAt, and agrees with refResolve where no symlink is met.
func FuzzResolve(f *testing.F) {
	for _, s := range []string{
		"/", "", ".", "..", "/a/f", "/a/f/", "/a/f/.", "a/../tmp/x/y", "/tmp/..", "/tmp/../a/b/c",
		"/l/b/c", "/l/", "/tmp/loop", "/tmp/loop/x", "/tmp/up", "/tmp/up/", "/a/b/dang",
		"/tmp/x/abs", "/a/self/self/self/b", "//a//b//", "/a/\x00", "/" + strings.Repeat("x", 256),
		strings.Repeat("/..", 1400), strings.Repeat("a/self/", 600),
	} {
		f.Add(s, true)
		f.Add(s, false)
	}
	ns := newFuzzNS(f)
	root := ns.Root()
	allowed := map[vfs.Errno]bool{0: true, vfs.ENOENT: true, vfs.ENOTDIR: true, vfs.ELOOP: true,
		vfs.ENAMETOOLONG: true, vfs.EILSEQ: true}
	f.Fuzz(func(t *testing.T, path string, follow bool) {
		n, e := ns.Resolve(root, path, follow)
		if !allowed[e] {
			t.Fatalf("Resolve(%q) = %v: not a documented errno", path, e)
		}
		st, e2 := ns.StatAt(root, path, follow)
		if e2 != e {
			t.Fatalf("Resolve(%q) = %v but StatAt = %v", path, e, e2)
		}
		if e == 0 {
			st2, e := ns.Stat(n)
			if e != 0 || st2.Ino != st.Ino || st2.Dev != st.Dev {
				t.Fatalf("Resolve(%q) and StatAt disagree: %+v %+v %v", path, st, st2, e)
			}
		}
		canon, want, ok := refResolve(path)
		if !ok {
			return
		}
		if e != want {
			t.Fatalf("Resolve(%q) = %v, reference says %v", path, e, want)
		}
		if e == 0 {
			ref, e := ns.StatAt(root, canon, false)
			if e != 0 || ref.Ino != st.Ino || ref.Dev != st.Dev {
				t.Fatalf("Resolve(%q) is ino %d dev %d, reference says %s (ino %d dev %d, %v)", path, st.Ino, st.Dev, canon, ref.Ino, ref.Dev, e)
			}
		}
	})
}

// updateSeeds rewrites the committed seed corpus of FuzzResolve from resolveSeeds.
var updateSeeds = flag.Bool("update-seeds", false, "rewrite testdata/fuzz/FuzzResolve from the seed generator")

// resolveSeeds are FuzzResolve's committed seeds: the edges of the walker's limits (PathMax,
// NameMax, SymlinkMax, each just under and at the limit) and of its mount and symlink handling in
// fuzzTree.
var resolveSeeds = []struct {
	name   string
	path   string
	follow bool
}{
	{"dotdot-across-mount", "/tmp/x/../../a/b/c", true},
	{"symlink-dir-trailing-slash", "/l/", false},
	{"relative-symlink-out-of-mount", "/tmp/up", true},
	{"abs-symlink-to-file-slash", "/tmp/x/abs/.", true},
	{"dangling-trailing-slash", "/a/b/dang/", false},
	{"loop-trailing-slash", "/tmp/loop/", false},
	{"symlinks-40", "/a/" + strings.Repeat("self/", vfs.SymlinkMax) + "f", true},
	{"symlinks-41", "/a/" + strings.Repeat("self/", vfs.SymlinkMax+1) + "f", true},
	{"path-max-minus-1", "/" + strings.Repeat("./", (vfs.PathMax-2)/2), true},
	{"path-max", "/" + strings.Repeat("./", (vfs.PathMax-2)/2) + ".", true},
	{"name-max", "/a/" + strings.Repeat("n", vfs.NameMax), true},
	{"name-max-plus-1", "/a/" + strings.Repeat("n", vfs.NameMax+1), true},
	{"nul-inside", "/a\x00/b", true},
	{"dotdot-above-root-relative", "../../../tmp/../e/", false},
}

// TestFuzzResolveSeeds checks that testdata/fuzz/FuzzResolve holds exactly resolveSeeds; with
// -update-seeds it writes them.
func TestFuzzResolveSeeds(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzResolve")
	for _, s := range resolveSeeds {
		want := fmt.Sprintf("go test fuzz v1\nstring(%q)\nbool(%v)\n", s.path, s.follow)
		p := filepath.Join(dir, "seed-"+s.name)
		if *updateSeeds {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(p)
		if err != nil {
			t.Errorf("%v (go test ./vfs -run TestFuzzResolveSeeds -update-seeds writes it)", err)
		} else if string(got) != want {
			t.Errorf("%s is not what the generator makes now: run go test ./vfs -run TestFuzzResolveSeeds -update-seeds", p)
		}
	}
}
