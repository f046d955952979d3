package vfstest

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/wasmrun/wasmrun/vfs"
)

// The model check applies a seeded random sequence of operations to the backend and to a
// plain Go model of a POSIX tree, and compares the two after every step: errnos, listings,
// inode numbers, types, link counts, sizes, contents and symlink targets, including files that
// are unlinked but still open.

const modelOps = 2000

// mnode is an inode of the model.
type mnode struct {
	ino    vfs.Ino
	typ    vfs.FileType
	data   []byte            // regular file
	target string            // symlink
	kids   map[string]*mnode // directory
	parent *mnode            // directory
	nlink  int               // links from directories (not counting "." and "..")
	open   int               // open handles
}

type mhandle struct {
	f vfs.File
	n *mnode
}

type model struct {
	t       *testing.T
	h       *harness
	opts    Options
	r       *rand.Rand
	root    *mnode
	handles []mhandle
	gone    []*mnode        // inodes that must now be ENOENT
	dirty   map[*mnode]bool // files whose content changed since the last compare
	log     []string
	step    int
}

// mpath is a live node with one of its paths.
type mpath struct {
	p string
	n *mnode
}

var modelNames = []string{"a", "b", "c", "d"}

func (k *kit) testModel(t *testing.T) {
	k.sub(t, "Random", func(t *testing.T, h *harness) {
		m := &model{t: t, h: h, opts: k.opts, r: rand.New(rand.NewPCG(seed(t), 4)), dirty: map[*mnode]bool{}}
		m.root = &mnode{ino: h.fs.Root(), typ: vfs.TypeDir, kids: map[string]*mnode{}, nlink: 1}
		m.root.parent = m.root
		defer func() {
			for _, hd := range m.handles {
				hd.f.Close()
			}
		}()
		for m.step = 0; m.step < modelOps; m.step++ {
			m.randomOp()
			m.compare(m.step%100 == 99)
			if t.Failed() {
				t.Fatalf("model and backend differ after step %d; the last steps were:\n%s%s", m.step,
					strings.Join(m.log[max(0, len(m.log)-25):], "\n"), m.saveLog())
			}
		}
		for _, hd := range m.handles {
			m.closeHandle(hd)
		}
		m.handles = nil
		m.compare(true)
	})
}

// walk returns every live node reachable from the root with a path, directories first.
func (m *model) walk() (dirs, others []mpath) {
	var rec func(p string, n *mnode)
	rec = func(p string, n *mnode) {
		if n.typ == vfs.TypeDir {
			dirs = append(dirs, mpath{p, n})
			for _, name := range slices.Sorted(maps.Keys(n.kids)) {
				rec(join(p, name), n.kids[name])
			}
		} else {
			others = append(others, mpath{p, n})
		}
	}
	rec("/", m.root)
	return dirs, others
}

func depth(p string) int { return strings.Count(p, "/") }

func (m *model) pick(ps []mpath) mpath { return ps[m.r.IntN(len(ps))] }

func (m *model) name() string { return modelNames[m.r.IntN(len(modelNames))] }

func (m *model) logf(format string, args ...any) {
	m.log = append(m.log, fmt.Sprintf("step %d: ", m.step)+fmt.Sprintf(format, args...))
}

// check compares an errno with the model's acceptable ones and reports whether the operation
// succeeded in the backend.
func (m *model) check(got vfs.Errno, want []vfs.Errno, op string) bool {
	m.t.Helper()
	m.logf("%s = %s", op, got.Name())
	if !slices.Contains(want, got) {
		m.t.Errorf("step %d: %s = %s, want %s", m.step, op, got.Name(), errnoList(want))
	}
	return got == vfs.ESUCCESS
}

func ok() []vfs.Errno { return []vfs.Errno{vfs.ESUCCESS} }

// unlink drops one link of n and retires it if nothing holds it.
func (m *model) unlink(n *mnode) {
	n.nlink--
	m.maybeGone(n)
}

func (m *model) maybeGone(n *mnode) {
	if n.nlink == 0 && n.open == 0 {
		m.gone = append(m.gone, n)
		if len(m.gone) > 50 {
			m.gone = m.gone[len(m.gone)-50:]
		}
	}
}

func within(d, anc *mnode) bool {
	for {
		if d == anc {
			return true
		}
		if d.parent == d {
			return false
		}
		d = d.parent
	}
}

func (m *model) randomOp() {
	fsys := m.h.fs
	dirs, others := m.walk()
	var files []mpath
	for _, o := range others {
		if o.n.typ == vfs.TypeRegular {
			files = append(files, o)
		}
	}
	dir := m.pick(dirs)
	name := m.name()
	p := join(dir.p, name)
	existing := dir.n.kids[name]

	switch op := m.r.IntN(100); {
	case op < 14: // create a file
		ino, e := fsys.Create(dir.n.ino, name, vfs.TypeRegular, 0o644, "")
		want := ok()
		if existing != nil {
			want = []vfs.Errno{vfs.EEXIST}
		}
		if m.check(e, want, fmt.Sprintf("Create(%s, file) -> ino %d", p, ino)) && existing == nil {
			dir.n.kids[name] = &mnode{ino: ino, typ: vfs.TypeRegular, nlink: 1}
		}
	case op < 22: // mkdir, at most three levels deep
		if depth(p) > 3 {
			return
		}
		ino, e := fsys.Create(dir.n.ino, name, vfs.TypeDir, 0o755, "")
		want := ok()
		if existing != nil {
			want = []vfs.Errno{vfs.EEXIST}
		}
		if m.check(e, want, fmt.Sprintf("Create(%s, dir) -> ino %d", p, ino)) && existing == nil {
			dir.n.kids[name] = &mnode{ino: ino, typ: vfs.TypeDir, kids: map[string]*mnode{}, parent: dir.n, nlink: 1}
		}
	case op < 27: // symlink
		if m.opts.NoSymlinks {
			return
		}
		target := []string{"a", "../b", "/c/d", "x\\y", strings.Repeat("t", 300)}[m.r.IntN(5)]
		ino, e := fsys.Create(dir.n.ino, name, vfs.TypeSymlink, 0o777, target)
		want := ok()
		if existing != nil {
			want = []vfs.Errno{vfs.EEXIST}
		}
		if m.check(e, want, fmt.Sprintf("Create(%s, symlink %q) -> ino %d", p, clipStr(target), ino)) && existing == nil {
			dir.n.kids[name] = &mnode{ino: ino, typ: vfs.TypeSymlink, target: target, nlink: 1}
		}
	case op < 42: // write through a fresh handle
		if len(files) == 0 {
			return
		}
		fp := m.pick(files)
		f, e := fsys.Open(fp.n.ino, vfs.OpenWrite)
		if !m.check(e, ok(), fmt.Sprintf("Open(%s, Write)", fp.p)) {
			return
		}
		m.write(f, fp.n, fp.p)
		m.check(f.Close(), ok(), fmt.Sprintf("Close(%s)", fp.p))
	case op < 47: // truncate, through the path or an open handle
		n, what := m.pickFile(files)
		if n == nil {
			return
		}
		size := m.randSize()
		want := ok()
		if n.nlink == 0 && m.opts.NoSetAttrUnlinked {
			want = append(want, vfs.ENOENT)
		}
		if m.check(fsys.SetAttr(n.ino, &vfs.Attr{Valid: vfs.AttrSize, Size: size}), want, fmt.Sprintf("SetAttr(%s, size=%d)", what, size)) {
			n.data = resize(n.data, int(size))
			m.dirty[n] = true
		}
	case op < 49: // truncate a directory
		e := fsys.SetAttr(dir.n.ino, &vfs.Attr{Valid: vfs.AttrSize, Size: 0})
		m.check(e, []vfs.Errno{vfs.EISDIR}, fmt.Sprintf("SetAttr(%s, size=0)", dir.p))
	case op < 62: // unlink or rmdir
		dirOnly := m.r.IntN(2) == 0
		e := fsys.Remove(dir.n.ino, name, dirOnly)
		var want []vfs.Errno
		switch {
		case existing == nil:
			want = []vfs.Errno{vfs.ENOENT}
		case dirOnly && existing.typ != vfs.TypeDir:
			want = []vfs.Errno{vfs.ENOTDIR}
		case dirOnly && len(existing.kids) > 0:
			want = []vfs.Errno{vfs.ENOTEMPTY}
		case !dirOnly && existing.typ == vfs.TypeDir:
			want = []vfs.Errno{vfs.EISDIR}
		default:
			want = ok()
		}
		if m.check(e, want, fmt.Sprintf("Remove(%s, dirOnly=%v)", p, dirOnly)) && want[0] == vfs.ESUCCESS {
			delete(dir.n.kids, name)
			m.unlink(existing)
		}
	case op < 78: // rename
		to := m.pick(dirs)
		toName := m.name()
		m.rename(dir, name, to, toName)
	case op < 84: // hard link
		if m.opts.NoHardLinks || len(dirs)+len(others) < 2 {
			return
		}
		src := m.pick(append(dirs[1:], others...))
		e := fsys.Link(src.n.ino, dir.n.ino, name)
		var want []vfs.Errno
		if src.n.typ == vfs.TypeDir {
			want = append(want, vfs.EPERM)
		}
		if existing != nil {
			want = append(want, vfs.EEXIST)
		}
		if len(want) == 0 {
			want = ok()
		}
		if m.check(e, want, fmt.Sprintf("Link(%s, %s)", src.p, p)) && want[0] == vfs.ESUCCESS {
			dir.n.kids[name] = src.n
			src.n.nlink++
		}
	case op < 88: // open a handle to keep
		if len(files) == 0 || len(m.handles) >= 3 {
			return
		}
		fp := m.pick(files)
		f, e := fsys.Open(fp.n.ino, vfs.OpenRead|vfs.OpenWrite)
		if m.check(e, ok(), fmt.Sprintf("Open(%s, Read|Write) kept as handle on ino %d", fp.p, fp.n.ino)) {
			fp.n.open++
			m.handles = append(m.handles, mhandle{f, fp.n})
		}
	case op < 91: // close a kept handle
		if len(m.handles) == 0 {
			return
		}
		i := m.r.IntN(len(m.handles))
		m.closeHandle(m.handles[i])
		m.handles = slices.Delete(m.handles, i, i+1)
	case op < 95: // write or append through a kept handle, maybe to an unlinked file
		if len(m.handles) == 0 {
			return
		}
		hd := m.handles[m.r.IntN(len(m.handles))]
		what := fmt.Sprintf("handle on ino %d", hd.n.ino)
		if m.r.IntN(2) == 0 {
			m.write(hd.f, hd.n, what)
			return
		}
		data := pattern(byte(m.step), int64(len(hd.n.data)), m.r.IntN(3000)+1)
		n, size, e := hd.f.Append(data)
		if m.check(e, ok(), fmt.Sprintf("Append(%s, len=%d)", what, len(data))) {
			hd.n.data = append(hd.n.data, data...)
			m.dirty[hd.n] = true
			if n != len(data) || size != int64(len(hd.n.data)) {
				m.t.Errorf("step %d: Append(%s, len=%d) = (%d, %d), want (%d, %d)", m.step, what, len(data), n, size, len(data), len(hd.n.data))
			}
		}
	case op < 97: // readlink of anything
		if len(others) == 0 {
			return
		}
		o := m.pick(append(dirs, others...))
		target, e := fsys.Readlink(o.n.ino)
		want := []vfs.Errno{vfs.EINVAL}
		if o.n.typ == vfs.TypeSymlink {
			want = ok()
		}
		if m.check(e, want, fmt.Sprintf("Readlink(%s)", o.p)) && target != o.n.target {
			m.t.Errorf("step %d: Readlink(%s) = %q, want %q", m.step, o.p, clipStr(target), clipStr(o.n.target))
		}
	default: // operations on a removed inode
		if len(m.gone) == 0 {
			return
		}
		g := m.gone[m.r.IntN(len(m.gone))]
		_, e := fsys.Create(g.ino, "x", vfs.TypeRegular, 0o644, "")
		want := []vfs.Errno{vfs.ENOENT}
		if g.typ != vfs.TypeDir {
			want = append(want, vfs.ENOTDIR)
		}
		m.check(e, want, fmt.Sprintf("Create(removed ino %d (%s)/x)", g.ino, g.typ))
		_, e = fsys.Open(g.ino, vfs.OpenRead)
		m.check(e, []vfs.Errno{vfs.ENOENT}, fmt.Sprintf("Open(removed ino %d)", g.ino))
	}
}

// pickFile picks a file by path or one open through a kept handle (maybe unlinked).
func (m *model) pickFile(files []mpath) (*mnode, string) {
	if len(m.handles) > 0 && m.r.IntN(3) == 0 {
		hd := m.handles[m.r.IntN(len(m.handles))]
		return hd.n, fmt.Sprintf("handle on ino %d", hd.n.ino)
	}
	if len(files) == 0 {
		return nil, ""
	}
	fp := m.pick(files)
	return fp.n, fp.p
}

func (m *model) randSize() int64 {
	return int64([]int{0, 1, 4095, 4096, 4097, 10000, 65537, m.r.IntN(70000)}[m.r.IntN(8)])
}

func resize(b []byte, n int) []byte {
	if n <= len(b) {
		return b[:n:n]
	}
	return append(b, make([]byte, n-len(b))...)
}

func (m *model) write(f vfs.File, n *mnode, what string) {
	off := m.randSize()
	ln := []int{1, 100, 4095, 4097, m.r.IntN(9000) + 1}[m.r.IntN(5)]
	data := pattern(byte(m.step), off, ln)
	got, e := f.WriteAt(data, off)
	if m.check(e, ok(), fmt.Sprintf("WriteAt(%s, off=%d, len=%d)", what, off, ln)) {
		if got != ln {
			m.t.Errorf("step %d: WriteAt(%s, off=%d, len=%d) wrote %d", m.step, what, off, ln, got)
		}
		if end := int(off) + ln; end > len(n.data) {
			n.data = resize(n.data, end)
		}
		copy(n.data[off:], data)
		m.dirty[n] = true
	}
}

func (m *model) closeHandle(hd mhandle) {
	m.check(hd.f.Close(), ok(), fmt.Sprintf("Close(handle on ino %d)", hd.n.ino))
	hd.n.open--
	m.maybeGone(hd.n)
}

func (m *model) rename(from mpath, name string, to mpath, toName string) {
	src, dst := from.n.kids[name], to.n.kids[toName]
	op := fmt.Sprintf("Rename(%s, %s)", join(from.p, name), join(to.p, toName))
	e := m.h.fs.Rename(from.n.ino, name, to.n.ino, toName)
	var want []vfs.Errno
	switch {
	case src == nil:
		want = []vfs.Errno{vfs.ENOENT}
	case src == dst:
		m.check(e, ok(), op) // the same inode: nothing happens
		return
	default:
		if src.typ == vfs.TypeDir && within(to.n, src) {
			want = append(want, vfs.EINVAL)
		}
		if dst != nil && dst.typ == vfs.TypeDir && within(from.n, dst) {
			want = append(want, vfs.ENOTEMPTY) // onto an ancestor of the source (Linux checks this first)
		}
		if dst != nil {
			switch {
			case src.typ == vfs.TypeDir && dst.typ != vfs.TypeDir:
				want = append(want, vfs.ENOTDIR)
			case src.typ != vfs.TypeDir && dst.typ == vfs.TypeDir:
				want = append(want, vfs.EISDIR)
			case dst.typ == vfs.TypeDir && len(dst.kids) > 0:
				want = append(want, vfs.ENOTEMPTY)
			}
		}
	}
	if len(want) > 0 {
		m.check(e, want, op)
		return
	}
	if !m.check(e, ok(), op) {
		return
	}
	delete(from.n.kids, name)
	if dst != nil {
		m.unlink(dst)
	}
	to.n.kids[toName] = src
	if src.typ == vfs.TypeDir {
		src.parent = to.n
	}
}

// compare checks the backend against the model: the whole tree, and the content of the files
// written since the last compare or, if full, of every file.
func (m *model) compare(full bool) {
	m.t.Helper()
	h := m.h
	dirs, others := m.walk()
	for _, d := range dirs {
		es := h.list(d.n.ino, d.p)
		if got, want := names(es), slices.Sorted(maps.Keys(d.n.kids)); !slices.Equal(got, want) {
			m.t.Errorf("ReadDir(%s) = %q, want %q", d.p, got, want)
			continue
		}
		for _, e := range es {
			kid := d.n.kids[e.Name]
			if e.Ino != kid.ino || e.Type != kid.typ {
				m.t.Errorf("ReadDir(%s) reports %q as (ino %d, %s), want (ino %d, %s)", d.p, e.Name, e.Ino, e.Type, kid.ino, kid.typ)
			}
		}
		subdirs := 0
		for _, kid := range d.n.kids {
			if kid.typ == vfs.TypeDir {
				subdirs++
			}
		}
		m.statCheck(d.p, d.n, uint64(2+subdirs), 0)
	}
	for _, o := range others {
		switch o.n.typ {
		case vfs.TypeRegular:
			m.statCheck(o.p, o.n, uint64(o.n.nlink), int64(len(o.n.data)))
			if full || m.dirty[o.n] {
				h.checkContent(o.n.ino, o.p, o.n.data)
			}
		case vfs.TypeSymlink:
			m.statCheck(o.p, o.n, uint64(o.n.nlink), int64(len(o.n.target)))
		}
	}
	for _, hd := range m.handles {
		what := fmt.Sprintf("handle on ino %d", hd.n.ino)
		m.statCheck(what, hd.n, uint64(hd.n.nlink), int64(len(hd.n.data)))
		if full || m.dirty[hd.n] {
			if d := diff(h.readAllFile(hd.f, hd.n.ino, what), hd.n.data); d != "" {
				m.t.Errorf("content through %s: %s", what, d)
			}
		}
	}
	clear(m.dirty)
	for _, g := range m.gone {
		if _, e := h.fs.Stat(g.ino); e != vfs.ENOENT {
			m.t.Errorf("Stat(removed ino %d, a %s) = %s, want ENOENT", g.ino, g.typ, e.Name())
		}
	}
}

func (m *model) statCheck(what string, n *mnode, nlink uint64, size int64) {
	m.t.Helper()
	st, e := m.h.fs.Stat(n.ino)
	if e != vfs.ESUCCESS {
		m.t.Errorf("Stat(%s) = %s, want ESUCCESS", what, e.Name())
		return
	}
	if st.Type != n.typ || st.Nlink != nlink || (n.typ != vfs.TypeDir && st.Size != size) {
		m.t.Errorf("Stat(%s) = (%s, nlink %d, size %d), want (%s, nlink %d, size %d)", what, st.Type, st.Nlink, st.Size, n.typ, nlink, size)
	}
}

// saveLog writes the whole operation log to the file VFSTEST_MODEL_LOG names, if set, and
// says where it is or how to get it.
func (m *model) saveLog() string {
	name := os.Getenv("VFSTEST_MODEL_LOG")
	if name == "" {
		return "\n(replay with VFSTEST_MODEL_LOG=<file> to save every step)"
	}
	if err := os.WriteFile(name, []byte(strings.Join(m.log, "\n")+"\n"), 0o644); err != nil {
		return "\n" + err.Error()
	}
	return "\nevery step is in " + name
}
