package vfs

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// OFlag are the flags of Namespace.Open, mirroring open(2).
type OFlag uint16

// The open flags.
const (
	ORead      OFlag = 1 << iota // open for reading (or listing a directory)
	OWrite                       // open for writing
	OCreate                      // create a regular file if the final component does not exist
	OExcl                        // with OCreate: fail with EEXIST if it exists (a symlink counts, and is not followed)
	OTrunc                       // truncate a regular file to 0 (needs OWrite on Linux; here it implies it)
	ODirectory                   // fail with ENOTDIR unless the result is a directory
	ONoFollow                    // do not follow a symlink in the final component (ELOOP if it is one)
)

// Node is an inode located in the namespace: the mount it lives in and its Ino there. Nodes are
// comparable values; the zero Node is invalid.
type Node struct {
	m   *mount
	Ino Ino
}

// Handle is an open file or directory in the namespace: what an fd refers to.
type Handle struct {
	Node Node
	Type FileType
	File File
}

// MountInfo describes one mount.
type MountInfo struct {
	Path string // absolute guest path, "/" for the root
	FS   FS
	Dev  uint64 // the device number Stat reports for inodes of this mount
}

// Namespace is the guest's view of the filesystem: a root FS with other filesystems mounted at
// guest paths, walked like a Linux kernel walks its mount table. Paths are resolved component by
// component: "." stays, ".." goes to the parent directory (across a mount point to the directory
// the mount sits on; at "/" it stays at "/"), symlinks are followed up to SymlinkMax times in one
// resolution (ELOOP beyond), an absolute symlink target or absolute path starts again at the
// namespace root (never the host's), a component longer than NameMax or a path of PathMax bytes
// or more (also once a symlink is expanded into it) is ENAMETOOLONG, a NUL byte is EILSEQ, an
// empty path is ENOENT, and a relative path from the zero Node is EBADF. A method called after
// Close returns EBADF. A Namespace is safe for concurrent use.
//
// The mount table is keyed by the inode of the mount point, not by a path prefix, so a walk
// enters a mount exactly when it reaches the covered directory, however it got there.
//
// ".." within one walk goes back along the directories that walk came through; above the
// walk's starting directory it asks the backend (FS.Lookup of ".."), which keeps the parents:
// the Namespace keeps none. ".." from a removed directory is ENOENT.
type Namespace struct {
	mu  sync.Mutex                 // serializes Mount and Close
	tab atomic.Pointer[mountTable] // copy-on-write: walks load it once, lock-free
}

// mount is one mounted filesystem. It never changes once published.
type mount struct {
	fs     FS
	root   Ino    // fs.Root()
	dev    uint64 // device number, unique in the namespace
	path   string // guest path
	parent *mount // the mount holding the mount point; nil for "/"
	point  Ino    // the covered directory in parent
}

// mountTable is an immutable snapshot of the mounts; Mount replaces it whole.
type mountTable struct {
	mounts   []*mount        // root first, then by path
	rootNode Node            // "/"
	points   map[Node]*mount // covered directory -> the mount on it
	busy     map[Node]bool   // directories holding a mount point somewhere below: cannot be renamed
	closed   bool
}

// NewNamespace returns a namespace whose "/" is root.
func NewNamespace(root FS) *Namespace {
	m := &mount{fs: root, root: root.Root(), dev: 1, path: "/"}
	ns := &Namespace{}
	ns.tab.Store(&mountTable{
		mounts:   []*mount{m},
		rootNode: Node{m, m.root},
	})
	return ns
}

// Mount mounts fsys at the absolute guest path guestPath. A missing mount point directory is
// created in the filesystem below it (like mkdir -p, mode 0755); an existing non-directory is
// ENOTDIR. Symlinks on the way are followed. After Mount, every walk that reaches the mount
// point enters fsys's root, and ".." from fsys's root leaves to the mount point's parent.
// Mounting over an existing mount (its root, or "/") replaces nothing: it is EBUSY. A relative
// guestPath is EINVAL. Mounts are normally set up before guests run, but Mount is safe for
// concurrent use. The error wraps an Errno.
func (ns *Namespace) Mount(guestPath string, fsys FS) error {
	e := ns.mount(guestPath, fsys)
	if e != 0 {
		return fmt.Errorf("vfs: mount %q: %w", guestPath, e)
	}
	return nil
}

func (ns *Namespace) mount(guestPath string, fsys FS) Errno {
	if fsys == nil || !strings.HasPrefix(guestPath, "/") {
		return EINVAL
	}
	if e := checkPath(guestPath); e != 0 {
		return e
	}
	ns.mu.Lock()
	defer ns.mu.Unlock()
	tab := ns.tab.Load()
	if tab.closed {
		return EBADF
	}
	// mkdir -p, one component at a time.
	for i := 1; i <= len(guestPath); i++ {
		if i < len(guestPath) && guestPath[i] != '/' || guestPath[i-1] == '/' {
			continue
		}
		if _, e := ns.StatAt(Node{}, guestPath[:i], true); e != ENOENT {
			continue // there already, or an error the walk below reports
		}
		if e := ns.Mkdir(Node{}, guestPath[:i], 0o755); e != 0 && e != EEXIST {
			return e
		}
	}
	var w walker
	if e := w.start(ns, Node{}, guestPath); e != 0 {
		return e
	}
	n, typ, e := w.resolve(true, nil)
	if e != 0 {
		return e
	}
	if typ != TypeDir {
		return ENOTDIR
	}
	if n.Ino == n.m.root {
		return EBUSY // the root of a mount (or "/"): no stacking
	}
	// The path shown by Mounts is guestPath cleaned lexically.
	m := &mount{
		fs:     fsys,
		root:   fsys.Root(),
		parent: n.m,
		point:  n.Ino,
		path:   cleanAbs(guestPath),
	}
	nt := &mountTable{
		mounts:   append(append([]*mount(nil), tab.mounts...), m),
		rootNode: tab.rootNode,
		points:   make(map[Node]*mount, len(tab.points)+1),
		busy:     make(map[Node]bool, len(tab.busy)+w.up.n+1),
	}
	m.dev = uint64(len(nt.mounts))
	for k, v := range tab.points {
		nt.points[k] = v
	}
	for k := range tab.busy {
		nt.busy[k] = true
	}
	nt.points[n] = m
	for i := 0; i < w.up.n; i++ {
		nt.busy[w.up.at(i)] = true
	}
	nt.busy[w.cur] = true
	sort.SliceStable(nt.mounts[1:], func(i, j int) bool {
		return nt.mounts[1+i].path < nt.mounts[1+j].path
	})
	ns.tab.Store(nt)
	return ESUCCESS
}

// cleanAbs cleans an absolute path lexically (for display only).
func cleanAbs(p string) string {
	var parts []string
	for _, c := range strings.Split(p, "/") {
		switch c {
		case "", ".":
		case "..":
			if len(parts) > 0 {
				parts = parts[:len(parts)-1]
			}
		default:
			parts = append(parts, c)
		}
	}
	return "/" + strings.Join(parts, "/")
}

// Mounts lists the mounts, root first, then by path.
func (ns *Namespace) Mounts() []MountInfo {
	tab := ns.tab.Load()
	out := make([]MountInfo, len(tab.mounts))
	for i, m := range tab.mounts {
		out[i] = MountInfo{Path: m.path, FS: m.fs, Dev: m.dev}
	}
	return out
}

// Root returns the Node of "/".
func (ns *Namespace) Root() Node { return ns.tab.Load().rootNode }

// FS returns the backend n lives in, or nil for the zero Node.
func (n Node) FS() FS {
	if n.m == nil {
		return nil
	}
	return n.m.fs
}

// Resolve walks path from directory at (an absolute path starts from the root) and returns the
// Node it names. With follow, a symlink in the final component is followed; symlinks in earlier
// components always are. A trailing "/" requires a directory (ENOTDIR) and follows a final
// symlink. An empty path is ENOENT.
// Errors: ENOENT, ENOTDIR, ELOOP, ENAMETOOLONG, EILSEQ (NUL byte), EBADF (relative path from the
// zero Node, or a closed namespace), EIO.
func (ns *Namespace) Resolve(at Node, path string, follow bool) (Node, Errno) {
	var w walker
	if e := w.start(ns, at, path); e != 0 {
		return Node{}, e
	}
	n, _, e := w.resolve(follow, nil)
	return n, e
}

// Stat returns n's metadata with Dev set to its mount's device number.
// Errors: ENOENT, EBADF (the zero Node), EIO.
func (ns *Namespace) Stat(n Node) (Stat, Errno) {
	if n.m == nil {
		return Stat{}, EBADF
	}
	st, e := n.m.fs.Stat(n.Ino)
	if e != 0 {
		return Stat{}, e
	}
	st.Dev = n.m.dev
	return st, ESUCCESS
}

// StatAt resolves path from at (following a final symlink if follow) and stats it (fstatat).
// Errors: as Resolve.
func (ns *Namespace) StatAt(at Node, path string, follow bool) (Stat, Errno) {
	var w walker
	if e := w.start(ns, at, path); e != 0 {
		return Stat{}, e
	}
	n, _, e := w.resolve(follow, nil)
	if e != 0 {
		return Stat{}, e
	}
	return ns.Stat(n)
}

// SetAttr applies a to n (ftruncate, futimens). Errors: as FS.SetAttr, plus EBADF (the zero
// Node).
func (ns *Namespace) SetAttr(n Node, a *Attr) Errno {
	if n.m == nil {
		return EBADF
	}
	return n.m.fs.SetAttr(n.Ino, a)
}

// SetAttrAt resolves path from at and applies a (utimensat, truncate). Errors: as Resolve and
// FS.SetAttr.
func (ns *Namespace) SetAttrAt(at Node, path string, follow bool, a *Attr) Errno {
	var w walker
	if e := w.start(ns, at, path); e != 0 {
		return e
	}
	n, _, e := w.resolve(follow, nil)
	if e != 0 {
		return e
	}
	return n.m.fs.SetAttr(n.Ino, a)
}

// Open opens path relative to at with open(2)'s semantics for flags (see OFlag); perm is used
// when a file is created. In Linux's order of checks:
//   - OCreate|ODirectory is EINVAL (as Linux 6.4+);
//   - OCreate on a path with a trailing slash, or whose last component is "/", "." or "..", is
//     EISDIR;
//   - OCreate|OExcl on an existing name (a dangling symlink included) is EEXIST;
//   - a symlink in the final component is followed unless ONoFollow (a trailing slash still
//     follows it); with OCreate a dangling one creates its target, as Linux does;
//   - ODirectory (or a trailing slash) on a non-directory, a symlink not followed included, is
//     ENOTDIR; then ONoFollow on a final symlink is ELOOP;
//   - a directory with OWrite, OTrunc or OCreate is EISDIR.
//
// OTrunc truncates an existing regular file through FS.SetAttr once it is opened.
// Errors: as Resolve, plus EEXIST, EISDIR, EINVAL, ENOSPC, EROFS, EMFILE, ENFILE.
func (ns *Namespace) Open(at Node, path string, flags OFlag, perm uint32) (*Handle, Errno) {
	if flags&OCreate != 0 && flags&ODirectory != 0 {
		return nil, EINVAL
	}
	if flags&OTrunc != 0 {
		flags |= OWrite
	}
	var w walker
	if e := w.start(ns, at, path); e != 0 {
		return nil, e
	}
	var c *creating
	if flags&OCreate != 0 {
		c = &creating{excl: flags&OExcl != 0, perm: perm}
	}
	n, typ, e := w.resolve(flags&ONoFollow == 0, c)
	if e != 0 {
		return nil, e
	}
	switch {
	case typ != TypeDir && flags&ODirectory != 0:
		return nil, ENOTDIR
	case typ == TypeSymlink:
		return nil, ELOOP
	case typ == TypeDir && flags&(OWrite|OCreate) != 0:
		return nil, EISDIR
	}
	var of OpenFlag
	if flags&ORead != 0 {
		of |= OpenRead
	}
	if flags&OWrite != 0 {
		of |= OpenWrite
	}
	f, e := n.m.fs.Open(n.Ino, of)
	if e != 0 {
		return nil, e
	}
	if flags&OTrunc != 0 && (c == nil || !c.created) && typ == TypeRegular {
		if e := n.m.fs.SetAttr(n.Ino, &Attr{Valid: AttrSize}); e != 0 {
			f.Close()
			return nil, e
		}
	}
	return &Handle{Node: n, Type: typ, File: f}, ESUCCESS
}

// readDirState is the per-call state of Namespace.ReadDir, pooled so that listing a directory
// does not allocate.
type readDirState struct {
	tab  *mountTable
	m    *mount
	fn   func(e *DirEntry) bool
	e    DirEntry
	dots [2]byte
	cb   func(e *DirEntry) bool // st.forward, bound once
}

var readDirPool = sync.Pool{New: func() any {
	st := new(readDirState)
	st.cb = st.forward
	return st
}}

// forward passes a copy of a backend entry on, with the cookie shifted past "." and ".." and a
// mount point's Ino replaced by the mounted root's. It never changes *e: the backend may still
// need it (the heap resumes its batches from the last entry's Next).
func (st *readDirState) forward(e *DirEntry) bool {
	st.e = *e
	st.e.Next += 2
	if len(st.tab.points) > 0 {
		if m, ok := st.tab.points[Node{st.m, e.Ino}]; ok {
			st.e.Ino = m.root
			st.e.Type = TypeDir
		}
	}
	return st.fn(&st.e)
}

// ReadDir lists the directory open in h starting after cookie, like File.ReadDir, but with "."
// (cookie 0 starts there; its Next is 1) and ".." (the parent directory, across mounts, and "/"
// for the root; its Next is 2) first; backend cookie c is reported as c+2. The Ino of each entry
// that is a mount point is set to the mounted root's (Linux reports the covered inode; we report
// the one a stat would show, so that ino matches between readdir and stat). The Ino of ".." is
// the parent's within its own mount (0 if the directory has been removed).
// Errors: ENOTDIR, EBADF (nil h), EIO.
func (ns *Namespace) ReadDir(h *Handle, cookie uint64, fn func(e *DirEntry) bool) Errno {
	if h == nil || h.File == nil || h.Node.m == nil {
		return EBADF
	}
	if h.Type != TypeDir {
		return ENOTDIR
	}
	tab := ns.tab.Load()
	st := readDirPool.Get().(*readDirState)
	defer func() {
		st.tab, st.m, st.fn, st.e = nil, nil, nil, DirEntry{}
		readDirPool.Put(st)
	}()
	if cookie == 0 {
		st.dots = [2]byte{'.', '.'}
		st.e = DirEntry{Next: 1, Ino: h.Node.Ino, Type: TypeDir, Name: st.dots[:1]}
		if !fn(&st.e) {
			return ESUCCESS
		}
		cookie = 1
	}
	if cookie == 1 {
		var ino Ino
		if p, e := tab.parentOf(h.Node); e == 0 {
			ino = p.Ino
		}
		st.dots = [2]byte{'.', '.'}
		st.e = DirEntry{Next: 2, Ino: ino, Type: TypeDir, Name: st.dots[:2]}
		if !fn(&st.e) {
			return ESUCCESS
		}
		cookie = 2
	}
	st.tab, st.m, st.fn = tab, h.Node.m, fn
	return h.File.ReadDir(cookie-2, st.cb)
}

// Mkdir creates directory path relative to at (mkdirat). A trailing slash is allowed.
// Errors: EEXIST (anything there, a dangling symlink, "/", "." and ".." included), plus those of
// Resolve and FS.Create.
func (ns *Namespace) Mkdir(at Node, path string, perm uint32) Errno {
	var w walker
	if e := w.start(ns, at, path); e != 0 {
		return e
	}
	name, kind, _, e := w.walkParent()
	if e != 0 {
		return e
	}
	if kind != lastNorm {
		return EEXIST
	}
	_, e = w.cur.m.fs.Create(w.cur.Ino, name, TypeDir, perm&0o7777, "")
	return e
}

// Remove removes path relative to at: with dirOnly as rmdir (an empty directory; "." as the last
// component is EINVAL, ".." is ENOTEMPTY, "/" is EBUSY; a mount point is EBUSY), otherwise as
// unlink (EISDIR for a directory, a mount point, "/", "." or ".."; a final symlink is removed,
// not followed). A trailing slash on a non-directory (a symlink included) is ENOTDIR.
// Errors: as Resolve and FS.Remove, plus EBUSY.
func (ns *Namespace) Remove(at Node, path string, dirOnly bool) Errno {
	var w walker
	if e := w.start(ns, at, path); e != 0 {
		return e
	}
	name, kind, slash, e := w.walkParent()
	if e != 0 {
		return e
	}
	switch {
	case !dirOnly && kind != lastNorm:
		return EISDIR
	case kind == lastRoot:
		return EBUSY
	case kind == lastDot:
		return EINVAL
	case kind == lastDotDot:
		return ENOTEMPTY
	}
	fsys := w.cur.m.fs
	ino, typ, e := fsys.Lookup(w.cur.Ino, name)
	if e != 0 {
		return e
	}
	_, isMount := w.tab.points[Node{w.cur.m, ino}]
	if !dirOnly {
		if isMount {
			return EISDIR
		}
		if slash {
			if typ == TypeDir {
				return EISDIR
			}
			return ENOTDIR
		}
		return fsys.Remove(w.cur.Ino, name, false)
	}
	if isMount {
		return EBUSY
	}
	return fsys.Remove(w.cur.Ino, name, true)
}

// Rename renames oldPath (relative to oldAt) to newPath (relative to newAt) as renameat(2):
// neither final component is followed; across mounts it is EXDEV; a mount point as either side,
// or a directory with a mount point somewhere below it, is EBUSY; "/", "." or ".." as either
// final component is EBUSY (as Linux); a trailing slash on either side when the source is not a
// directory is ENOTDIR.
// Errors: as Resolve and FS.Rename, plus EXDEV, EBUSY.
func (ns *Namespace) Rename(oldAt Node, oldPath string, newAt Node, newPath string) Errno {
	var ow, nw walker
	if e := ow.start(ns, oldAt, oldPath); e != 0 {
		return e
	}
	oldName, oldKind, oldSlash, e := ow.walkParent()
	if e != 0 {
		return e
	}
	if e := nw.start(ns, newAt, newPath); e != 0 {
		return e
	}
	newName, newKind, newSlash, e := nw.walkParent()
	if e != 0 {
		return e
	}
	if ow.cur.m != nw.cur.m {
		return EXDEV
	}
	if oldKind != lastNorm || newKind != lastNorm {
		return EBUSY
	}
	fsys := ow.cur.m.fs
	ino, typ, e := fsys.Lookup(ow.cur.Ino, oldName)
	if e != 0 {
		return e
	}
	if typ != TypeDir && (oldSlash || newSlash) {
		return ENOTDIR
	}
	tab := ow.tab
	src := Node{ow.cur.m, ino}
	if _, ok := tab.points[src]; ok || tab.busy[src] {
		return EBUSY
	}
	if len(tab.points) > 0 || len(tab.busy) > 0 {
		if dstIno, _, e := fsys.Lookup(nw.cur.Ino, newName); e == 0 {
			dst := Node{nw.cur.m, dstIno}
			if _, ok := tab.points[dst]; ok || tab.busy[dst] {
				return EBUSY
			}
		}
	}
	return fsys.Rename(ow.cur.Ino, oldName, nw.cur.Ino, newName)
}

// createTarget walks to the parent of a path that is about to be created by link or symlink
// (Linux's filename_create): "/", "." and ".." are EEXIST, and a trailing slash is EEXIST if
// the name exists and ENOENT otherwise.
func (w *walker) createTarget() (string, Errno) {
	name, kind, slash, e := w.walkParent()
	if e != 0 {
		return "", e
	}
	if kind != lastNorm {
		return "", EEXIST
	}
	if slash {
		if _, _, e := w.cur.m.fs.Lookup(w.cur.Ino, name); e == 0 {
			return "", EEXIST
		}
		return "", ENOENT
	}
	return name, ESUCCESS
}

// Link creates newPath (relative to newAt) as a hard link to oldPath (relative to oldAt),
// following a final symlink in oldPath only if follow (linkat's AT_SYMLINK_FOLLOW). Across
// mounts it is EXDEV; a directory is EPERM; newPath as "/", "." or "..", or an existing name
// with a trailing slash, is EEXIST; a missing name with a trailing slash is ENOENT.
// Errors: as Resolve and FS.Link, plus EXDEV.
func (ns *Namespace) Link(oldAt Node, oldPath string, follow bool, newAt Node, newPath string) Errno {
	var ow, nw walker
	if e := ow.start(ns, oldAt, oldPath); e != 0 {
		return e
	}
	old, typ, e := ow.resolve(follow, nil)
	if e != 0 {
		return e
	}
	if e := nw.start(ns, newAt, newPath); e != 0 {
		return e
	}
	name, e := nw.createTarget()
	if e != 0 {
		return e
	}
	if old.m != nw.cur.m {
		return EXDEV
	}
	if typ == TypeDir {
		return EPERM
	}
	return old.m.fs.Link(old.Ino, nw.cur.Ino, name)
}

// Symlink creates path (relative to at) as a symlink to target (symlinkat). target is stored as
// given, absolute or not; it is only interpreted when walked, inside this namespace. path as
// "/", "." or "..", or an existing name with a trailing slash, is EEXIST; a missing name with a
// trailing slash is ENOENT.
// Errors: EEXIST, ENOENT (empty target), ENAMETOOLONG (target of PathMax bytes or more), EILSEQ
// (NUL in target), plus those of Resolve and FS.Create.
func (ns *Namespace) Symlink(target string, at Node, path string) Errno {
	if e := checkPath(target); e != 0 {
		return e
	}
	var w walker
	if e := w.start(ns, at, path); e != 0 {
		return e
	}
	name, e := w.createTarget()
	if e != 0 {
		return e
	}
	_, e = w.cur.m.fs.Create(w.cur.Ino, name, TypeSymlink, 0o777, target)
	return e
}

// Readlink returns the target of the symlink at path relative to at (readlinkat); the final
// component is not followed (unless a trailing slash says so). Errors: EINVAL (not a symlink),
// plus those of Resolve.
func (ns *Namespace) Readlink(at Node, path string) (string, Errno) {
	var w walker
	if e := w.start(ns, at, path); e != 0 {
		return "", e
	}
	n, typ, e := w.resolve(false, nil)
	if e != 0 {
		return "", e
	}
	if typ != TypeSymlink {
		return "", EINVAL
	}
	return n.m.fs.Readlink(n.Ino)
}

// Commit commits every mounted backend that implements Committer and returns the first error.
func (ns *Namespace) Commit() error {
	var first error
	for _, m := range ns.tab.Load().mounts {
		if c, ok := m.fs.(Committer); ok {
			if e := c.Commit(); e != 0 && first == nil {
				first = fmt.Errorf("vfs: commit %s: %w", m.path, e)
			}
		}
	}
	return first
}

// Close commits and closes every mounted backend that implements Closer (children before their
// parents), then makes the namespace unusable: every later call returns EBADF. It returns the
// first error. A second Close returns nil.
func (ns *Namespace) Close() error {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	tab := ns.tab.Load()
	if tab.closed {
		return nil
	}
	ns.tab.Store(&mountTable{mounts: tab.mounts, rootNode: tab.rootNode, closed: true})
	var first error
	for i := len(tab.mounts) - 1; i >= 0; i-- {
		m := tab.mounts[i]
		if c, ok := m.fs.(Closer); ok {
			if err := c.Close(); err != nil && first == nil {
				first = fmt.Errorf("vfs: close %s: %w", m.path, err)
			}
		} else if c, ok := m.fs.(Committer); ok {
			if e := c.Commit(); e != 0 && first == nil {
				first = fmt.Errorf("vfs: commit %s: %w", m.path, e)
			}
		}
	}
	return first
}
