package vfs

import "sync"

// This file holds the Namespace's path operations, the *at system calls: each walks its
// path with a walker (walk.go) and makes one or two backend calls.

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
		if m, ok := st.tab.points[Node{m: st.m, Ino: e.Ino}]; ok {
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
	_, isMount := w.tab.points[Node{m: w.cur.m, Ino: ino}]
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
	src := Node{m: ow.cur.m, Ino: ino}
	if _, ok := tab.points[src]; ok || tab.busy[src] {
		return EBUSY
	}
	if len(tab.points) > 0 || len(tab.busy) > 0 {
		if dstIno, _, e := fsys.Lookup(nw.cur.Ino, newName); e == 0 {
			dst := Node{m: nw.cur.m, Ino: dstIno}
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
