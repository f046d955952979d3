package tarfs

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wasmrun/wasmrun/heap"
	"github.com/wasmrun/wasmrun/stable"
	"github.com/wasmrun/wasmrun/vfs"
	"github.com/wasmrun/wasmrun/vfs/hostfs"
	"github.com/wasmrun/wasmrun/vfs/iofs"
	"github.com/wasmrun/wasmrun/vfs/readonly"
)

// backends are the namespaces the tests import into and export from: real backends, no mocks.
var backends = []struct {
	name string
	new  func(t *testing.T) *vfs.Namespace
}{
	{"heap", func(t *testing.T) *vfs.Namespace { return vfs.NewNamespace(heap.New(heap.Options{})) }},
	{"stable", newStable},
}

func newStable(t *testing.T) *vfs.Namespace {
	t.Helper()
	f, err := stable.Open(filepath.Join(t.TempDir(), "t.store"), stable.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	ns := vfs.NewNamespace(f)
	t.Cleanup(func() {
		if err := ns.Close(); err != nil {
			t.Error(err)
		}
	})
	return ns
}

func must(t *testing.T, e vfs.Errno, what string) {
	t.Helper()
	if e != 0 {
		t.Fatalf("%s: %v", what, e)
	}
}

func writeFile(t *testing.T, ns *vfs.Namespace, p string, data []byte, off int64, mode uint32) {
	t.Helper()
	h, e := ns.Open(vfs.Node{}, p, vfs.OWrite|vfs.OCreate|vfs.OTrunc, mode)
	must(t, e, "create "+p)
	defer h.File.Close()
	if len(data) > 0 {
		_, e = h.File.WriteAt(data, off)
		must(t, e, "write "+p)
	}
	must(t, ns.SetAttr(h.Node, &vfs.Attr{Valid: vfs.AttrMode, Mode: mode}), "chmod "+p)
}

func setTimes(t *testing.T, ns *vfs.Namespace, p string, mtime int64) {
	t.Helper()
	must(t, ns.SetAttrAt(vfs.Node{}, p, false, &vfs.Attr{Valid: vfs.AttrAtime | vfs.AttrMtime, Atime: mtime + 7, Mtime: mtime}), "times "+p)
}

// fillTree makes, under dir, a tree with every kind of entry Export keeps.
func fillTree(t *testing.T, ns *vfs.Namespace, dir string) {
	t.Helper()
	for i := 1; i < len(dir); i++ {
		if dir[i] == '/' {
			ns.Mkdir(vfs.Node{}, dir[:i], 0o755)
		}
	}
	for _, d := range []string{dir, dir + "/sub", dir + "/sub/deeper", dir + "/empty", dir + "/sticky"} {
		if e := ns.Mkdir(vfs.Node{}, d, 0o755); e != 0 && e != vfs.EEXIST {
			t.Fatal(d, e)
		}
	}
	must(t, ns.SetAttrAt(vfs.Node{}, dir+"/sticky", true, &vfs.Attr{Valid: vfs.AttrMode, Mode: 0o1777}), "chmod")
	writeFile(t, ns, dir+"/hello.txt", []byte("hello, world\n"), 0, 0o644)
	writeFile(t, ns, dir+"/empty.txt", nil, 0, 0o600)
	writeFile(t, ns, dir+"/setuid", []byte("#!/bin/sh\n"), 0, 0o4755)
	big := bytes.Repeat([]byte("0123456789abcdef"), 40000) // 640000 bytes: several chunks
	writeFile(t, ns, dir+"/sub/big.bin", big, 0, 0o640)
	writeFile(t, ns, dir+"/sub/sparse", []byte("tail"), 3<<20, 0o644) // a 3 MiB hole, then 4 bytes
	writeFile(t, ns, dir+"/sub/deeper/name with spaces ✓", []byte("unicode"), 0, 0o444)
	must(t, ns.Symlink("hello.txt", vfs.Node{}, dir+"/rel-link"), "symlink")
	must(t, ns.Symlink("/etc/passwd", vfs.Node{}, dir+"/abs-link"), "symlink")
	must(t, ns.Symlink("nowhere", vfs.Node{}, dir+"/sub/dangling"), "symlink")
	must(t, ns.Link(vfs.Node{}, dir+"/hello.txt", false, vfs.Node{}, dir+"/sub/hard-link"), "link")
	must(t, ns.Link(vfs.Node{}, dir+"/hello.txt", false, vfs.Node{}, dir+"/sub/deeper/hard-link-2"), "link")
	long := strings.Repeat("n", 200) + "/" + strings.Repeat("m", 200) // beyond ustar's 100 bytes
	must(t, ns.Mkdir(vfs.Node{}, dir+"/"+strings.Repeat("n", 200), 0o700), "mkdir long")
	writeFile(t, ns, dir+"/"+long, []byte("long name"), 0, 0o644)
	base := time.Date(2021, 3, 4, 5, 6, 7, 123456789, time.UTC).UnixNano()
	i := int64(0)
	var each func(p string)
	each = func(p string) {
		setTimes(t, ns, p, base+i*1001)
		i++
		st, e := ns.StatAt(vfs.Node{}, p, false)
		must(t, e, "stat "+p)
		if st.Type != vfs.TypeDir {
			return
		}
		for _, n := range list(t, ns, p) {
			each(p + "/" + n)
		}
	}
	for _, n := range list(t, ns, dir) {
		each(dir + "/" + n)
	}
	// Directories last: adding entries changed their times.
	for _, d := range []string{dir + "/sub/deeper", dir + "/sub", dir + "/empty", dir} {
		setTimes(t, ns, d, base-int64(len(d)))
	}
}

func list(t *testing.T, ns *vfs.Namespace, dir string) []string {
	t.Helper()
	h, e := ns.Open(vfs.Node{}, dir, vfs.ORead|vfs.ODirectory, 0)
	must(t, e, "open "+dir)
	defer h.File.Close()
	var names []string
	must(t, ns.ReadDir(h, 0, func(d *vfs.DirEntry) bool {
		if n := string(d.Name); n != "." && n != ".." {
			names = append(names, n)
		}
		return true
	}), "readdir "+dir)
	slices.Sort(names)
	return names
}

// describe lists the tree at dir, one line per entry: path, type, mode, size, times, content
// hash or target, and which entries share an inode. The atime of files is left out: reading a
// file (describe does) moves it, as relatime does. TestAccessTimes checks atimes.
func describe(t *testing.T, ns *vfs.Namespace, dir string, times bool) string {
	t.Helper()
	var lines []string
	inodes := map[vfs.Ino]string{}
	var rec func(rel string)
	rec = func(rel string) {
		p := dir
		if rel != "." {
			p = dir + "/" + rel
		}
		st, e := ns.StatAt(vfs.Node{}, p, false)
		must(t, e, "stat "+p)
		l := fmt.Sprintf("%s %v %04o", rel, st.Type, st.Mode)
		if times && st.Type != vfs.TypeSymlink {
			l += fmt.Sprintf(" mtime=%d", st.Mtime)
			if st.Type == vfs.TypeDir {
				l += fmt.Sprintf(" atime=%d", st.Atime)
			}
		}
		switch st.Type {
		case vfs.TypeRegular:
			h, e := ns.Open(vfs.Node{}, p, vfs.ORead, 0)
			must(t, e, "open "+p)
			sum := sha256.New()
			_, err := io.Copy(sum, &fileReader{f: h.File, size: st.Size})
			h.File.Close()
			if err != nil {
				t.Fatal(err)
			}
			l += fmt.Sprintf(" size=%d sha=%x nlink=%d", st.Size, sum.Sum(nil)[:6], st.Nlink)
			if first, ok := inodes[st.Ino]; ok {
				l += " same-as=" + first
			} else {
				inodes[st.Ino] = rel
			}
		case vfs.TypeSymlink:
			target, e := ns.Readlink(vfs.Node{}, p)
			must(t, e, "readlink "+p)
			l += " -> " + target
		case vfs.TypeDir:
			for _, n := range list(t, ns, p) {
				defer rec(path.Join(rel, n))
			}
		}
		lines = append(lines, l)
	}
	rec(".")
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// TestRoundTrip exports a tree with every kind of entry from each backend, imports the archive
// into each backend, and compares the trees: types, modes, sizes, content, nanosecond times,
// symlink targets and hard links.
func TestRoundTrip(t *testing.T) {
	for _, from := range backends {
		for _, to := range backends {
			t.Run(from.name+"-to-"+to.name, func(t *testing.T) {
				src := from.new(t)
				fillTree(t, src, "/data/tree")
				want := describe(t, src, "/data/tree", true)
				var tarball bytes.Buffer
				var progress []int64
				es, err := Export(&tarball, src, "/data/tree", Options{Progress: func(n int64) { progress = append(progress, n) }})
				if err != nil {
					t.Fatal(err)
				}
				if es.Files != 7 || es.Links != 2 || es.Symlinks != 3 || es.Dirs != 6 || es.Bytes != 640000+3<<20+4+13+10+7+9 {
					t.Errorf("export stats %+v", es)
				}
				if len(progress) == 0 || progress[len(progress)-1] != es.Bytes || !slices.IsSorted(progress) {
					t.Errorf("progress %v, want ascending to %d", progress, es.Bytes)
				}
				ws, err := Walk(src, "/data/tree")
				if err != nil || ws != es {
					t.Errorf("Walk = %+v, %v; Export counted %+v", ws, err, es)
				}
				dst := to.new(t)
				is, err := Import(dst, "/restored/here", bytes.NewReader(tarball.Bytes()), Options{})
				if err != nil {
					t.Fatal(err)
				}
				if is != es {
					t.Errorf("import stats %+v, export stats %+v", is, es)
				}
				if got := describe(t, dst, "/restored/here", true); got != want {
					t.Errorf("imported tree differs\ngot:\n%s\nwant:\n%s", got, want)
				}
			})
		}
	}
}

// TestExportFormat reads an export with archive/tar: GNU-style names, a directory before its
// entries, PAX times to the nanosecond, modes, hard links as TypeLink.
func TestExportFormat(t *testing.T) {
	ns := backends[0].new(t)
	must(t, ns.Mkdir(vfs.Node{}, "/d", 0o750), "mkdir")
	writeFile(t, ns, "/d/f", []byte("abc"), 0, 0o4711)
	must(t, ns.Link(vfs.Node{}, "/d/f", false, vfs.Node{}, "/d/g"), "link")
	must(t, ns.Symlink("../x", vfs.Node{}, "/d/s"), "symlink")
	mt := time.Date(2020, 1, 2, 3, 4, 5, 987654321, time.UTC)
	setTimes(t, ns, "/d/f", mt.UnixNano())
	var buf bytes.Buffer
	if _, err := Export(&buf, ns, "/d", Options{}); err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(&buf)
	var got []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		l := fmt.Sprintf("%s %c %o %d %s", h.Name, h.Typeflag, h.Mode, h.Size, h.Linkname)
		if h.Name == "./f" && !h.ModTime.Equal(mt) {
			t.Errorf("mtime %v, want %v", h.ModTime, mt)
		}
		got = append(got, strings.TrimSpace(l))
	}
	want := []string{"./ 5 750 0", "./f 0 4711 3", "./g 1 4711 0 ./f", "./s 2 777 0 ../x"}
	if !slices.Equal(got, want) {
		t.Errorf("archive:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// A single file exports as itself.
	buf.Reset()
	if _, err := Export(&buf, ns, "/d/f", Options{}); err != nil {
		t.Fatal(err)
	}
	h, err := tar.NewReader(&buf).Next()
	if err != nil || h.Name != "./f" || h.Size != 3 {
		t.Errorf("single file export: %+v, %v", h, err)
	}
}

// hostileTar builds an archive of the given headers (content "x" for regular files).
func hostileTar(t *testing.T, hdrs ...*tar.Header) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range hdrs {
		if h.Typeflag == tar.TypeReg {
			h.Size = 1
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte("x"))
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func reg(name string) *tar.Header { return &tar.Header{Name: name, Typeflag: tar.TypeReg} }
func dir(name string) *tar.Header { return &tar.Header{Name: name, Typeflag: tar.TypeDir} }
func sym(name, target string) *tar.Header {
	return &tar.Header{Name: name, Typeflag: tar.TypeSymlink, Linkname: target}
}
func hard(name, target string) *tar.Header {
	return &tar.Header{Name: name, Typeflag: tar.TypeLink, Linkname: target}
}

// TestImportRefusesEscapes feeds archives that try to write outside the target: each is
// refused with ErrUnsafePath, by Check before anything is written and by Import as it goes, and
// nothing appears outside the target.
func TestImportRefusesEscapes(t *testing.T) {
	for _, tc := range []struct {
		name string
		hdrs []*tar.Header
		pre  func(t *testing.T, ns *vfs.Namespace) // target contents before the import
		// checkOK: Check cannot see the danger (it is in the target, not the archive).
		checkOK bool
	}{
		{name: "absolute", hdrs: []*tar.Header{reg("ok"), reg("/outside/evil")}},
		{name: "dotdot", hdrs: []*tar.Header{reg("../evil")}},
		{name: "dotdot inside", hdrs: []*tar.Header{dir("a/"), reg("a/../../evil")}},
		{name: "dot dotdot", hdrs: []*tar.Header{reg("./../evil")}},
		{name: "dotdot dir", hdrs: []*tar.Header{dir("../outside/")}},
		{name: "symlink then through it", hdrs: []*tar.Header{sym("l", "/outside"), reg("l/evil")}},
		{name: "relative symlink then through it", hdrs: []*tar.Header{sym("l", "../outside"), dir("l/x/"), reg("l/x/evil")}},
		{name: "hard link outside", hdrs: []*tar.Header{hard("h", "../outside/secret")}},
		{name: "hard link absolute", hdrs: []*tar.Header{hard("h", "/outside/secret")}},
		{name: "hard link to a later entry", hdrs: []*tar.Header{hard("h", "f"), reg("f")}},
		{name: "hard link to a directory", hdrs: []*tar.Header{dir("d/"), hard("h", "d")}},
		{name: "hard link to a name already in the target", hdrs: []*tar.Header{hard("h", "existing")},
			pre: func(t *testing.T, ns *vfs.Namespace) { writeFile(t, ns, "/target/existing", []byte("x"), 0, 0o644) },
			// Check does not know the target, but it refuses links to non-entries anyway.
		},
		{name: "symlink already in the target", hdrs: []*tar.Header{reg("l/evil")}, checkOK: true,
			pre: func(t *testing.T, ns *vfs.Namespace) {
				must(t, ns.Symlink("/outside", vfs.Node{}, "/target/l"), "symlink")
			}},
	} {
		for _, b := range backends {
			t.Run(tc.name+"/"+b.name, func(t *testing.T) {
				ns := b.new(t)
				must(t, ns.Mkdir(vfs.Node{}, "/outside", 0o755), "mkdir")
				writeFile(t, ns, "/outside/secret", []byte("secret"), 0, 0o600)
				must(t, ns.Mkdir(vfs.Node{}, "/target", 0o755), "mkdir")
				if tc.pre != nil {
					tc.pre(t, ns)
				}
				before := describe(t, ns, "/outside", true)
				archive := hostileTar(t, tc.hdrs...)
				if err := Check(bytes.NewReader(archive)); tc.checkOK != (err == nil) {
					t.Errorf("Check = %v", err)
				} else if err != nil && !errors.Is(err, ErrUnsafePath) {
					t.Errorf("Check = %v, want ErrUnsafePath", err)
				}
				_, err := Import(ns, "/target", bytes.NewReader(archive), Options{})
				if !errors.Is(err, ErrUnsafePath) {
					t.Errorf("Import = %v, want ErrUnsafePath", err)
				}
				if after := describe(t, ns, "/outside", true); after != before {
					t.Errorf("/outside changed:\n%s\nwas:\n%s", after, before)
				}
				if root := list(t, ns, "/"); !slices.Equal(root, []string{"outside", "target"}) {
					t.Errorf("/ holds %q", root)
				}
			})
		}
	}
}

// TestImportReplaces imports over existing entries: files and symlinks are unlinked first (a
// hard-linked file's other name keeps its content), directories are merged, and a non-empty
// directory is not replaced by a file.
func TestImportReplaces(t *testing.T) {
	ns := newStable(t)
	must(t, ns.Mkdir(vfs.Node{}, "/t", 0o755), "mkdir")
	writeFile(t, ns, "/t/f", []byte("old content"), 0, 0o600)
	must(t, ns.Link(vfs.Node{}, "/t/f", false, vfs.Node{}, "/t/other-name"), "link")
	must(t, ns.Symlink("f", vfs.Node{}, "/t/s"), "symlink")
	must(t, ns.Mkdir(vfs.Node{}, "/t/d", 0o755), "mkdir")
	writeFile(t, ns, "/t/d/keep", []byte("kept"), 0, 0o644)
	must(t, ns.Mkdir(vfs.Node{}, "/t/full", 0o755), "mkdir")
	writeFile(t, ns, "/t/full/x", nil, 0, 0o644)
	archive := hostileTar(t, reg("f"), reg("s"), dir("d/"), reg("d/new"))
	if _, err := Import(ns, "/t", bytes.NewReader(archive), Options{}); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]string{"/t/f": "x", "/t/other-name": "old content", "/t/s": "x", "/t/d/keep": "kept", "/t/d/new": "x"} {
		if got := readAll(t, ns, p); got != want {
			t.Errorf("%s = %q, want %q", p, got, want)
		}
	}
	if st, _ := ns.StatAt(vfs.Node{}, "/t/s", false); st.Type != vfs.TypeRegular {
		t.Errorf("/t/s is a %v, want the file that replaced the symlink", st.Type)
	}
	_, err := Import(ns, "/t", bytes.NewReader(hostileTar(t, reg("full"))), Options{})
	if !errors.Is(err, vfs.ENOTEMPTY) {
		t.Errorf("replacing a non-empty directory by a file: %v, want ENOTEMPTY", err)
	}
}

func readAll(t *testing.T, ns *vfs.Namespace, p string) string {
	t.Helper()
	b, err := fs(ns).ReadFile(strings.TrimPrefix(p, "/"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func fs(ns *vfs.Namespace) interface {
	ReadFile(string) ([]byte, error)
} {
	return iofs.Of(ns).(interface {
		ReadFile(string) ([]byte, error)
	})
}

// TestImportGzipAndGNUTar imports a gzip-compressed archive made by the system's tar from a host
// directory with a symlink, a hard link, a FIFO (skipped, with a warning) and odd names, and
// compares the result with the host directory read through hostfs.New.
func TestImportGzipAndGNUTar(t *testing.T) {
	tarBin, err := exec.LookPath("tar")
	if err != nil {
		t.Fatal("the test needs the system's tar (Debian: apt-get install tar):", err)
	}
	host := hostTree(t)
	out, err := exec.Command(tarBin, "-C", host, "-czf", "-", ".").Output()
	if err != nil {
		t.Fatalf("tar: %v", err)
	}
	if out[0] != 0x1f || out[1] != 0x8b {
		t.Fatal("tar -z did not compress")
	}
	hostNS := hostNamespace(t, host)
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ns := b.new(t)
			var warnings []string
			s, err := Import(ns, "/imported", bytes.NewReader(out), Options{Warn: func(m string) { warnings = append(warnings, m) }})
			if err != nil {
				t.Fatal(err)
			}
			if s.Skipped != 1 || len(warnings) != 1 || !strings.Contains(warnings[0], "fifo") {
				t.Errorf("skipped %d, warnings %q: want the FIFO", s.Skipped, warnings)
			}
			want := noFIFO(describe(t, hostNS, "/", false))
			if got := describe(t, ns, "/imported", false); got != want {
				t.Errorf("imported tree differs from the host's\ngot:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

// hostTree makes a host directory with a file, a symlink, a hard link, a FIFO and a subdirectory.
func hostTree(t *testing.T) string {
	t.Helper()
	host := t.TempDir()
	mustOS := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	mustOS(os.Mkdir(filepath.Join(host, "sub dir"), 0o750))
	mustOS(os.WriteFile(filepath.Join(host, "sub dir", "a.txt"), []byte("host file\n"), 0o640))
	mustOS(os.WriteFile(filepath.Join(host, "exec"), []byte("#!/bin/sh\n"), 0o755))
	mustOS(os.Link(filepath.Join(host, "sub dir", "a.txt"), filepath.Join(host, "hard")))
	mustOS(os.Symlink("sub dir/a.txt", filepath.Join(host, "link")))
	mustOS(syscall.Mkfifo(filepath.Join(host, "fifo"), 0o644))
	for _, p := range []string{"sub dir/a.txt", "exec"} {
		mustOS(os.Chmod(filepath.Join(host, p), map[string]os.FileMode{"sub dir/a.txt": 0o640, "exec": 0o755}[p]))
	}
	return host
}

func hostNamespace(t *testing.T, dir string) *vfs.Namespace {
	t.Helper()
	h, err := hostfs.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	ns := vfs.NewNamespace(readonly.New(h))
	t.Cleanup(func() { ns.Close() })
	return ns
}

// TestCopyFromHost copies a host directory (through hostfs.New) into a store, as `wasmrun fs
// import DIR` does: the same tree, hard links kept, the FIFO skipped with a warning, times kept.
func TestCopyFromHost(t *testing.T) {
	host := hostTree(t)
	hostNS := hostNamespace(t, host)
	ns := newStable(t)
	var warnings []string
	s, err := Copy(ns, "/from-host", hostNS, "/", Options{Warn: func(m string) { warnings = append(warnings, m) }})
	if err != nil {
		t.Fatal(err)
	}
	if s.Files != 2 || s.Links != 1 || s.Symlinks != 1 || s.Dirs != 2 || s.Skipped != 1 || len(warnings) != 1 {
		t.Errorf("stats %+v, warnings %q", s, warnings)
	}
	want := noFIFO(describe(t, hostNS, "/", true))
	// Reading the host's files and directories moved their atimes: compare without them.
	got := describe(t, ns, "/from-host", true)
	if strip(got) != strip(want) {
		t.Errorf("copied tree differs\ngot:\n%s\nwant:\n%s", got, want)
	}
}

// strip drops the atimes.
func strip(s string) string {
	return regexp.MustCompile(` atime=\d+`).ReplaceAllString(s, "")
}

// noFIFO drops the line of the entry named fifo.
func noFIFO(s string) string {
	return strings.Join(slices.DeleteFunc(strings.Split(s, "\n"), func(l string) bool { return strings.HasPrefix(l, "fifo ") }), "\n")
}

// TestGzipRoundTrip exports through gzip and imports the compressed stream.
func TestGzipRoundTrip(t *testing.T) {
	src := newStable(t)
	fillTree(t, src, "/x")
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := Export(zw, src, "/x", Options{}); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	if err := Check(bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatal("Check:", err)
	}
	dst := newStable(t)
	if _, err := Import(dst, "/", bytes.NewReader(buf.Bytes()), Options{}); err != nil {
		t.Fatal(err)
	}
	if got, want := describe(t, dst, "/", true), describe(t, src, "/x", true); got != want {
		t.Errorf("differs\ngot:\n%s\nwant:\n%s", got, want)
	}
}

// TestTruncatedArchive: a cut archive is an error, not a silent partial success.
func TestTruncatedArchive(t *testing.T) {
	src := newStable(t)
	fillTree(t, src, "/x")
	var buf bytes.Buffer
	if _, err := Export(&buf, src, "/x", Options{}); err != nil {
		t.Fatal(err)
	}
	cut := buf.Bytes()[:buf.Len()/2]
	if _, err := Import(newStable(t), "/y", bytes.NewReader(cut), Options{}); err == nil {
		t.Error("Import of a truncated archive succeeded")
	}
	if err := Check(bytes.NewReader(cut)); err == nil {
		t.Error("Check of a truncated archive succeeded")
	}
}

// TestAccessTimes checks that atimes go into the archive (PAX) and come back from it.
func TestAccessTimes(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ns := b.new(t)
			writeFile(t, ns, "/f", []byte("data"), 0, 0o644)
			mt := time.Date(2019, 5, 6, 7, 8, 9, 111222333, time.UTC).UnixNano()
			at := mt + 444555666
			must(t, ns.SetAttrAt(vfs.Node{}, "/f", false, &vfs.Attr{Valid: vfs.AttrAtime | vfs.AttrMtime, Atime: at, Mtime: mt}), "times")
			var buf bytes.Buffer
			if _, err := Export(&buf, ns, "/f", Options{}); err != nil {
				t.Fatal(err)
			}
			h, err := tar.NewReader(bytes.NewReader(buf.Bytes())).Next()
			if err != nil {
				t.Fatal(err)
			}
			if h.AccessTime.UnixNano() != at || h.ModTime.UnixNano() != mt {
				t.Errorf("archive times %v %v, want %d %d", h.AccessTime, h.ModTime, at, mt)
			}
			dst := b.new(t)
			if _, err := Import(dst, "/in", &buf, Options{}); err != nil {
				t.Fatal(err)
			}
			st, e := dst.StatAt(vfs.Node{}, "/in/f", false)
			must(t, e, "stat")
			if st.Atime != at || st.Mtime != mt {
				t.Errorf("imported times %d %d, want %d %d", st.Atime, st.Mtime, at, mt)
			}
		})
	}
}
