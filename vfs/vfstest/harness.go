package vfstest

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/wasmrun/wasmrun/vfs"
)

// harness wraps one backend under test with path-based helpers. Paths are absolute, "/a/b",
// walked with Lookup (no symlink following). Helpers named must* end the test on failure;
// the others return the errno for the caller to check. Every failure names the operation,
// its arguments and the errno: "Create(/a/b) = EEXIST, want ENOENT".
type harness struct {
	t    *testing.T
	fs   vfs.FS
	opts Options
}

func newHarness(t *testing.T, fsys vfs.FS, opts Options) *harness {
	return &harness{t: t, fs: fsys, opts: opts}
}

// want reports a failure if got is not want. op describes the call.
func (h *harness) want(got, want vfs.Errno, op string, args ...any) bool {
	h.t.Helper()
	if got != want {
		h.t.Errorf("%s = %s, want %s", fmt.Sprintf(op, args...), got.Name(), want.Name())
		return false
	}
	return true
}

// wantOneOf reports a failure if got is none of want.
func (h *harness) wantOneOf(got vfs.Errno, want []vfs.Errno, op string, args ...any) bool {
	h.t.Helper()
	if !slices.Contains(want, got) {
		h.t.Errorf("%s = %s, want %s", fmt.Sprintf(op, args...), got.Name(), errnoList(want))
		return false
	}
	return true
}

// must ends the test if got is not ESUCCESS.
func (h *harness) must(got vfs.Errno, op string, args ...any) {
	h.t.Helper()
	if got != vfs.ESUCCESS {
		h.t.Fatalf("%s = %s, want ESUCCESS", fmt.Sprintf(op, args...), got.Name())
	}
}

func errnoList(es []vfs.Errno) string {
	names := make([]string, len(es))
	for i, e := range es {
		names[i] = e.Name()
	}
	return strings.Join(names, " or ")
}

// split returns the parent path and last component of p.
func split(p string) (dir, name string) {
	i := strings.LastIndexByte(p, '/')
	if i < 0 {
		panic("vfstest: relative path " + p)
	}
	dir, name = p[:i], p[i+1:]
	if dir == "" {
		dir = "/"
	}
	return dir, name
}

// join joins a directory path and a name.
func join(dir, name string) string {
	if dir == "/" {
		return "/" + name
	}
	return dir + "/" + name
}

// lookup walks p from the root.
func (h *harness) lookup(p string) (vfs.Ino, vfs.Errno) {
	ino := h.fs.Root()
	for c := range strings.SplitSeq(p, "/") {
		if c == "" {
			continue
		}
		next, _, e := h.fs.Lookup(ino, c)
		if e != vfs.ESUCCESS {
			return 0, e
		}
		ino = next
	}
	return ino, vfs.ESUCCESS
}

// ino returns the inode of p or ends the test.
func (h *harness) ino(p string) vfs.Ino {
	h.t.Helper()
	ino, e := h.lookup(p)
	h.must(e, "Lookup(%s)", p)
	return ino
}

// parent returns the inode of p's parent directory and p's last component.
func (h *harness) parent(p string) (vfs.Ino, string) {
	h.t.Helper()
	dir, name := split(p)
	return h.ino(dir), name
}

// create makes p with type typ and returns the errno.
func (h *harness) create(p string, typ vfs.FileType, perm uint32, target string) (vfs.Ino, vfs.Errno) {
	h.t.Helper()
	dir, name := h.parent(p)
	return h.fs.Create(dir, name, typ, perm, target)
}

// mkdir makes directory p or ends the test.
func (h *harness) mkdir(p string) vfs.Ino {
	h.t.Helper()
	ino, e := h.create(p, vfs.TypeDir, 0o755, "")
	h.must(e, "Create(%s, dir)", p)
	h.checkNewIno(ino, p)
	return ino
}

// mkfile makes an empty regular file p or ends the test.
func (h *harness) mkfile(p string) vfs.Ino {
	h.t.Helper()
	ino, e := h.create(p, vfs.TypeRegular, 0o644, "")
	h.must(e, "Create(%s, file)", p)
	h.checkNewIno(ino, p)
	return ino
}

// symlink makes symlink p with target or ends the test.
func (h *harness) symlink(p, target string) vfs.Ino {
	h.t.Helper()
	ino, e := h.create(p, vfs.TypeSymlink, 0o777, target)
	h.must(e, "Create(%s, symlink %q)", p, clipStr(target))
	h.checkNewIno(ino, p)
	return ino
}

func (h *harness) checkNewIno(ino vfs.Ino, p string) {
	h.t.Helper()
	if ino == 0 {
		h.t.Fatalf("Create(%s) returned Ino 0", p)
	}
	if got := h.ino(p); got != ino {
		h.t.Fatalf("Create(%s) returned Ino %d but Lookup finds %d", p, ino, got)
	}
}

// writeFile makes regular file p with content data or ends the test.
func (h *harness) writeFile(p string, data []byte) vfs.Ino {
	h.t.Helper()
	ino := h.mkfile(p)
	f := h.open(ino, p, vfs.OpenWrite)
	defer h.close(f, p)
	h.writeAt(f, p, data, 0)
	return ino
}

// open opens ino (named p in messages) or ends the test.
func (h *harness) open(ino vfs.Ino, p string, flags vfs.OpenFlag) vfs.File {
	h.t.Helper()
	f, e := h.fs.Open(ino, flags)
	h.must(e, "Open(%s, %s)", p, openFlagString(flags))
	if f == nil {
		h.t.Fatalf("Open(%s, %s) returned a nil File with ESUCCESS", p, openFlagString(flags))
	}
	return f
}

// openPath opens path p or ends the test.
func (h *harness) openPath(p string, flags vfs.OpenFlag) vfs.File {
	h.t.Helper()
	return h.open(h.ino(p), p, flags)
}

// close closes f or fails the test.
func (h *harness) close(f vfs.File, p string) {
	h.t.Helper()
	h.want(f.Close(), vfs.ESUCCESS, "Close(%s)", p)
}

// writeAt writes all of data at off or ends the test.
func (h *harness) writeAt(f vfs.File, p string, data []byte, off int64) {
	h.t.Helper()
	n, e := f.WriteAt(data, off)
	if e != vfs.ESUCCESS || n != len(data) {
		h.t.Fatalf("WriteAt(%s, len=%d, off=%d) = (%d, %s), want (%d, ESUCCESS)", p, len(data), off, n, e.Name(), len(data))
	}
}

// readAt reads len(want) bytes at off and checks them, and that the count is len(want)
// (a short read only at the end of file: callers pass the expected bytes).
func (h *harness) readAt(f vfs.File, p string, off int64, n int, want []byte) {
	h.t.Helper()
	buf := make([]byte, n)
	got, e := f.ReadAt(buf, off)
	if e != vfs.ESUCCESS || got != len(want) {
		h.t.Errorf("ReadAt(%s, len=%d, off=%d) = (%d, %s), want (%d, ESUCCESS)", p, n, off, got, e.Name(), len(want))
		return
	}
	if d := diff(buf[:got], want); d != "" {
		h.t.Errorf("ReadAt(%s, len=%d, off=%d): %s", p, n, off, d)
	}
}

// readAll returns the whole content of ino, reading to the end of file in 64 KiB reads, and
// checks that the length matches Stat.Size.
func (h *harness) readAll(ino vfs.Ino, p string) []byte {
	h.t.Helper()
	f := h.open(ino, p, vfs.OpenRead)
	defer h.close(f, p)
	return h.readAllFile(f, ino, p)
}

func (h *harness) readAllFile(f vfs.File, ino vfs.Ino, p string) []byte {
	h.t.Helper()
	var out []byte
	buf := make([]byte, 64<<10)
	for off := int64(0); ; {
		n, e := f.ReadAt(buf, off)
		h.must(e, "ReadAt(%s, len=%d, off=%d)", p, len(buf), off)
		if n == 0 {
			break
		}
		out = append(out, buf[:n]...)
		off += int64(n)
	}
	if st := h.stat(ino, p); st.Size != int64(len(out)) {
		h.t.Errorf("Stat(%s).Size = %d, but reading to EOF gives %d bytes", p, st.Size, len(out))
	}
	return out
}

// checkContent checks that ino holds exactly want.
func (h *harness) checkContent(ino vfs.Ino, p string, want []byte) {
	h.t.Helper()
	if d := diff(h.readAll(ino, p), want); d != "" {
		h.t.Errorf("content of %s: %s", p, d)
	}
}

// stat stats ino or ends the test.
func (h *harness) stat(ino vfs.Ino, p string) vfs.Stat {
	h.t.Helper()
	st, e := h.fs.Stat(ino)
	h.must(e, "Stat(%s)", p)
	if st.Ino != ino {
		h.t.Errorf("Stat(%s).Ino = %d, want %d", p, st.Ino, ino)
	}
	return st
}

// statPath stats path p or ends the test.
func (h *harness) statPath(p string) vfs.Stat {
	h.t.Helper()
	return h.stat(h.ino(p), p)
}

// wantNlink checks the link count of p.
func (h *harness) wantNlink(p string, want uint64) {
	h.t.Helper()
	if st := h.statPath(p); st.Nlink != want {
		h.t.Errorf("Stat(%s).Nlink = %d, want %d", p, st.Nlink, want)
	}
}

// wantGone checks that p does not exist.
func (h *harness) wantGone(p string) {
	h.t.Helper()
	_, e := h.lookup(p)
	h.want(e, vfs.ENOENT, "Lookup(%s)", p)
}

// wantInoGone checks that ino no longer exists.
func (h *harness) wantInoGone(ino vfs.Ino, what string) {
	h.t.Helper()
	_, e := h.fs.Stat(ino)
	h.want(e, vfs.ENOENT, "Stat(%s, ino %d)", what, ino)
}

// remove is Remove by path.
func (h *harness) remove(p string, dirOnly bool) vfs.Errno {
	h.t.Helper()
	dir, name := h.parent(p)
	return h.fs.Remove(dir, name, dirOnly)
}

// rename is Rename by paths.
func (h *harness) rename(from, to string) vfs.Errno {
	h.t.Helper()
	od, on := h.parent(from)
	nd, nn := h.parent(to)
	return h.fs.Rename(od, on, nd, nn)
}

// link is Link by paths.
func (h *harness) link(from, to string) vfs.Errno {
	h.t.Helper()
	ino := h.ino(from)
	nd, nn := h.parent(to)
	return h.fs.Link(ino, nd, nn)
}

// entry is a copied DirEntry.
type entry struct {
	Name string
	Ino  vfs.Ino
	Type vfs.FileType
	Next uint64
}

// list reads the whole directory ino from cookie 0 and returns its entries, checking that no
// name is reported twice, that no entry is "." or "..", and that cookies are from 1 to
// vfs.MaxCookie-1.
func (h *harness) list(ino vfs.Ino, p string) []entry {
	h.t.Helper()
	f := h.open(ino, p, vfs.OpenRead)
	defer h.close(f, p)
	return h.listFile(f, p, 0)
}

func (h *harness) listFile(f vfs.File, p string, cookie uint64) []entry {
	h.t.Helper()
	var out []entry
	seen := map[string]bool{}
	e := f.ReadDir(cookie, func(d *vfs.DirEntry) bool {
		out = append(out, entry{Name: string(d.Name), Ino: d.Ino, Type: d.Type, Next: d.Next})
		return true
	})
	h.must(e, "ReadDir(%s, cookie=%d)", p, cookie)
	for _, d := range out {
		h.checkEntry(p, d)
		if seen[d.Name] {
			h.t.Errorf("ReadDir(%s) reports %q twice", p, d.Name)
		}
		seen[d.Name] = true
	}
	return out
}

func (h *harness) checkEntry(p string, d entry) {
	h.t.Helper()
	if d.Name == "." || d.Name == ".." || d.Name == "" {
		h.t.Errorf("ReadDir(%s) reports the entry %q; backends must not", p, d.Name)
	}
	if d.Next == 0 || d.Next >= vfs.MaxCookie {
		h.t.Errorf("ReadDir(%s) entry %q has cookie %#x, want from 1 to vfs.MaxCookie-1 (a C guest's telldir keeps 31 bits)", p, d.Name, d.Next)
	}
	if d.Ino == 0 {
		h.t.Errorf("ReadDir(%s) entry %q has Ino 0", p, d.Name)
	}
}

// names returns the sorted names of entries.
func names(es []entry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Name
	}
	slices.Sort(out)
	return out
}

// diff describes the first difference between got and want, or returns "".
func diff(got, want []byte) string {
	if bytes.Equal(got, want) {
		return ""
	}
	n := min(len(got), len(want))
	for i := range n {
		if got[i] != want[i] {
			return fmt.Sprintf("got %d bytes, want %d; first difference at byte %d: got %#02x, want %#02x (got %s, want %s)",
				len(got), len(want), i, got[i], want[i], excerpt(got, i), excerpt(want, i))
		}
	}
	return fmt.Sprintf("got %d bytes, want %d; equal up to byte %d", len(got), len(want), n)
}

func excerpt(b []byte, i int) string {
	lo, hi := max(0, i-8), min(len(b), i+8)
	return fmt.Sprintf("[%d:%d] %q", lo, hi, b[lo:hi])
}

// pattern returns n bytes that differ from zeros and from each other's shifts, so a misplaced
// or missing byte shows: byte i is a function of (seed, i) and never 0.
func pattern(seed byte, off int64, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		x := uint64(off+int64(i))*0x9E3779B97F4A7C15 + uint64(seed)*0xBF58476D1CE4E5B9
		x ^= x >> 29
		b[i] = byte(x>>8) | 1
	}
	return b
}

// openFlagString formats backend open flags.
func openFlagString(f vfs.OpenFlag) string {
	var s []string
	if f&vfs.OpenRead != 0 {
		s = append(s, "Read")
	}
	if f&vfs.OpenWrite != 0 {
		s = append(s, "Write")
	}
	if rest := f &^ (vfs.OpenRead | vfs.OpenWrite); rest != 0 {
		s = append(s, fmt.Sprintf("%#x", uint8(rest)))
	}
	if len(s) == 0 {
		return "0"
	}
	return strings.Join(s, "|")
}
