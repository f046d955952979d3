package stable

import (
	"strings"

	"github.com/wasmrun/wasmrun/vfs"
)

// The namespace operations of vfs.FS: each takes FS.mu, finds the inodes and names it needs
// in the metadata cache and the directory index, changes them and marks them dirty, and ends
// with FS.unlock.

// Root implements vfs.FS.Root.
func (f *FS) Root() vfs.Ino { return rootIno }

// Lookup implements vfs.FS.Lookup; ".." is the directory's parent field.
// Errors: ENOENT, ENOTDIR, ENAMETOOLONG, EINVAL, EIO.
func (f *FS) Lookup(dir vfs.Ino, name string) (vfs.Ino, vfs.FileType, vfs.Errno) {
	f.mu.Lock()
	defer f.unlock()
	for try := 0; ; try++ {
		ino, typ, e := f.lookupOpLocked(dir, name)
		if e == eMiss {
			if e = f.fill(try); e == vfs.ESUCCESS {
				continue
			}
		}
		return ino, typ, e
	}
}

// lookupOpLocked is Lookup under f.mu: it returns eMiss when it needs a store read (see fill).
func (f *FS) lookupOpLocked(dir vfs.Ino, name string) (vfs.Ino, vfs.FileType, vfs.Errno) {
	d, e := f.dirLocked(dir)
	if e != vfs.ESUCCESS {
		return 0, 0, e
	}
	if name == ".." {
		return d.parent, vfs.TypeDir, vfs.ESUCCESS
	}
	if e := checkName(name); e != vfs.ESUCCESS {
		return 0, 0, e
	}
	de, e := f.lookupLocked(d, name)
	if e != vfs.ESUCCESS {
		return 0, 0, e
	}
	if de.ino == 0 {
		return 0, 0, vfs.ENOENT
	}
	return de.ino, de.typ, vfs.ESUCCESS
}

// Stat implements vfs.FS.Stat. Errors: ENOENT, EIO.
func (f *FS) Stat(ino vfs.Ino) (vfs.Stat, vfs.Errno) {
	f.mu.Lock()
	defer f.unlock()
	for try := 0; ; try++ {
		r, e := f.statLocked(ino)
		if e == eMiss {
			if e = f.fill(try); e == vfs.ESUCCESS {
				continue
			}
		}
		return r, e
	}
}

// statLocked is Stat under f.mu: it returns eMiss when it needs a store read (see fill).
func (f *FS) statLocked(ino vfs.Ino) (vfs.Stat, vfs.Errno) {
	n, e := f.inodeLocked(ino)
	if e != vfs.ESUCCESS {
		return vfs.Stat{}, e
	}
	return n.stat(), vfs.ESUCCESS
}

// SetAttr implements vfs.FS.SetAttr. A size change also sets mtime (unless a.Valid names
// AttrMtime), as ftruncate does. Errors: ENOENT, EISDIR (size of a directory), EINVAL
// (negative size, size of a symlink), EFBIG, ENOSPC (Options.QuotaBytes), EROFS, EIO.
func (f *FS) SetAttr(ino vfs.Ino, a *vfs.Attr) vfs.Errno {
	f.mu.Lock()
	defer f.unlock()
	for try := 0; ; try++ {
		e := f.setAttrLocked(ino, a)
		if e == eMiss {
			if e = f.fill(try); e == vfs.ESUCCESS {
				continue
			}
		}
		return e
	}
}

// setAttrLocked is SetAttr under f.mu: it returns eMiss when it needs a store read (see fill).
func (f *FS) setAttrLocked(ino vfs.Ino, a *vfs.Attr) vfs.Errno {
	n, e := f.inodeLocked(ino)
	if e != vfs.ESUCCESS {
		return e
	}
	if f.readOnly {
		return vfs.EROFS
	}
	t := now()
	if a.Valid&vfs.AttrSize != 0 {
		switch {
		case n.typ == vfs.TypeDir:
			return vfs.EISDIR
		case n.typ != vfs.TypeRegular || a.Size < 0:
			return vfs.EINVAL
		case a.Size > MaxFileSize:
			return vfs.EFBIG
		case a.Size > n.size && f.quota > 0 && f.bytes+a.Size-n.size > f.quota:
			return vfs.ENOSPC
		}
		if a.Size != n.size {
			if e := f.truncateLocked(n, a.Size); e != vfs.ESUCCESS {
				return e
			}
		}
		n.mtime = t
	}
	if a.Valid&vfs.AttrMode != 0 {
		n.mode = a.Mode & 0o7777
	}
	if a.Valid&vfs.AttrAtime != 0 {
		n.atime = a.Atime
	}
	if a.Valid&vfs.AttrMtime != 0 {
		n.mtime = a.Mtime
	}
	n.ctime = t
	f.markDirty(n)
	return vfs.ESUCCESS
}

// Create implements vfs.FS.Create. Errors: EEXIST, ENOENT, ENOTDIR, ENOSPC, EMLINK, EROFS,
// EINVAL, ENAMETOOLONG, EIO.
func (f *FS) Create(dir vfs.Ino, name string, typ vfs.FileType, perm uint32, target string) (vfs.Ino, vfs.Errno) {
	f.mu.Lock()
	defer f.unlock()
	for try := 0; ; try++ {
		r, e := f.createLocked(dir, name, typ, perm, target)
		if e == eMiss {
			if e = f.fill(try); e == vfs.ESUCCESS {
				continue
			}
		}
		return r, e
	}
}

// createLocked is Create under f.mu: it returns eMiss when it needs a store read (see fill).
func (f *FS) createLocked(dir vfs.Ino, name string, typ vfs.FileType, perm uint32, target string) (vfs.Ino, vfs.Errno) {
	d, e := f.dirLocked(dir)
	if e != vfs.ESUCCESS {
		return 0, e
	}
	if e := checkName(name); e != vfs.ESUCCESS {
		return 0, e
	}
	switch typ {
	case vfs.TypeRegular, vfs.TypeDir:
		target = ""
	case vfs.TypeSymlink:
		if len(target) > vfs.PathMax {
			return 0, vfs.ENAMETOOLONG
		}
		if strings.IndexByte(target, 0) >= 0 {
			return 0, vfs.EINVAL
		}
	default:
		return 0, vfs.EINVAL
	}
	if f.readOnly {
		return 0, vfs.EROFS
	}
	de, e := f.lookupLocked(d, name)
	if e != vfs.ESUCCESS {
		return 0, e
	}
	if de.ino != 0 {
		return 0, vfs.EEXIST
	}
	if typ == vfs.TypeDir && d.nlink >= maxNlink {
		return 0, vfs.EMLINK
	}
	t := now()
	n := &inode{ino: vfs.Ino(f.nextIno), typ: typ, mode: perm & 0o7777, nlink: 1,
		atime: t, mtime: t, ctime: t, target: target}
	switch typ {
	case vfs.TypeDir:
		n.nlink, n.parent, n.listed, n.nextSeq = 2, d.ino, true, 1
	case vfs.TypeSymlink:
		n.size = int64(len(target))
	}
	n.init()
	if e := f.addEntry(d, de, n); e != vfs.ESUCCESS {
		return 0, e
	}
	f.nextIno++
	f.ninodes++
	f.meta.inodes[n.ino] = n
	if typ == vfs.TypeDir {
		d.nlink++
	}
	d.mtime, d.ctime = t, t
	f.markDirty(d)
	f.markDirty(n)
	return n.ino, vfs.ESUCCESS
}

// Link implements vfs.FS.Link. Errors: EEXIST, ENOENT, ENOTDIR, EPERM, EMLINK, ENOSPC, EROFS,
// EINVAL, ENAMETOOLONG, EIO.
func (f *FS) Link(ino vfs.Ino, dir vfs.Ino, name string) vfs.Errno {
	f.mu.Lock()
	defer f.unlock()
	for try := 0; ; try++ {
		e := f.linkLocked(ino, dir, name)
		if e == eMiss {
			if e = f.fill(try); e == vfs.ESUCCESS {
				continue
			}
		}
		return e
	}
}

// linkLocked is Link under f.mu: it returns eMiss when it needs a store read (see fill).
func (f *FS) linkLocked(ino vfs.Ino, dir vfs.Ino, name string) vfs.Errno {
	n, e := f.inodeLocked(ino)
	if e != vfs.ESUCCESS {
		return e
	}
	d, e := f.dirLocked(dir)
	if e != vfs.ESUCCESS {
		return e
	}
	if e := checkName(name); e != vfs.ESUCCESS {
		return e
	}
	switch {
	case n.typ == vfs.TypeDir:
		return vfs.EPERM
	case n.nlink == 0:
		return vfs.ENOENT
	case f.readOnly:
		return vfs.EROFS
	}
	de, e := f.lookupLocked(d, name)
	if e != vfs.ESUCCESS {
		return e
	}
	if de.ino != 0 {
		return vfs.EEXIST
	}
	if n.nlink >= maxNlink {
		return vfs.EMLINK
	}
	if e := f.addEntry(d, de, n); e != vfs.ESUCCESS {
		return e
	}
	t := now()
	n.nlink++
	n.ctime = t
	d.mtime, d.ctime = t, t
	f.markDirty(n)
	f.markDirty(d)
	return vfs.ESUCCESS
}

// Remove implements vfs.FS.Remove. Errors: ENOENT, ENOTDIR, EISDIR, ENOTEMPTY, EROFS, EINVAL,
// ENAMETOOLONG, EIO.
func (f *FS) Remove(dir vfs.Ino, name string, dirOnly bool) vfs.Errno {
	f.mu.Lock()
	defer f.unlock()
	for try := 0; ; try++ {
		e := f.removeLocked(dir, name, dirOnly)
		if e == eMiss {
			if e = f.fill(try); e == vfs.ESUCCESS {
				continue
			}
		}
		return e
	}
}

// removeLocked is Remove under f.mu: it returns eMiss when it needs a store read (see fill).
func (f *FS) removeLocked(dir vfs.Ino, name string, dirOnly bool) vfs.Errno {
	d, e := f.dirLocked(dir)
	if e != vfs.ESUCCESS {
		return e
	}
	if e := checkName(name); e != vfs.ESUCCESS {
		return e
	}
	if f.readOnly {
		return vfs.EROFS
	}
	de, n, e := f.entryLocked(d, name)
	if e != vfs.ESUCCESS {
		return e
	}
	switch {
	case dirOnly && n.typ != vfs.TypeDir:
		return vfs.ENOTDIR
	case !dirOnly && n.typ == vfs.TypeDir:
		return vfs.EISDIR
	case n.typ == vfs.TypeDir && n.nent > 0:
		return vfs.ENOTEMPTY
	}
	f.removeEntry(d, de)
	t := now()
	d.mtime, d.ctime = t, t
	f.markDirty(d)
	f.unlinkLocked(d, n, t)
	return vfs.ESUCCESS
}

// unlinkLocked drops one link of n, whose entry in d was just removed, and frees n if that was
// its last link and it is not open.
func (f *FS) unlinkLocked(d, n *inode, t int64) {
	if n.typ == vfs.TypeDir {
		d.nlink--
		n.nlink = 0
	} else {
		n.nlink--
	}
	n.ctime = t
	f.markDirty(n)
	if n.nlink == 0 && n.opens == 0 {
		f.freeLocked(n)
	}
}

// freeLocked deletes n and its pages: its record becomes a tombstone until the deletion
// commits (or goes at once if the store never had it).
func (f *FS) freeLocked(n *inode) {
	if n.typ == vfs.TypeRegular {
		f.dropPagesLocked(n, 0)
		f.bytes -= n.size
		if n.stored {
			n.truncDirty = 0
		}
	}
	n.deleted = true
	f.ninodes--
	f.markDirty(n)
	if !n.stored {
		// Born and gone since the last commit took the dirty set: the store never had it,
		// so nothing needs its tombstone (a lookup of its number finds none in the store).
		delete(f.meta.inodes, n.ino)
	}
}

// Rename implements vfs.FS.Rename. Errors: ENOENT, ENOTDIR, EISDIR, ENOTEMPTY, EINVAL, EMLINK,
// ENOSPC, EROFS, ENAMETOOLONG, EIO.
func (f *FS) Rename(oldDir vfs.Ino, oldName string, newDir vfs.Ino, newName string) vfs.Errno {
	f.mu.Lock()
	defer f.unlock()
	for try := 0; ; try++ {
		e := f.renameLocked(oldDir, oldName, newDir, newName)
		if e == eMiss {
			if e = f.fill(try); e == vfs.ESUCCESS {
				continue
			}
		}
		return e
	}
}

// renameLocked is Rename under f.mu: it returns eMiss when it needs a store read (see fill).
func (f *FS) renameLocked(oldDir vfs.Ino, oldName string, newDir vfs.Ino, newName string) vfs.Errno {
	od, e := f.dirLocked(oldDir)
	if e != vfs.ESUCCESS {
		return e
	}
	nd, e := f.dirLocked(newDir)
	if e != vfs.ESUCCESS {
		return e
	}
	if e := checkName(oldName); e != vfs.ESUCCESS {
		return e
	}
	if e := checkName(newName); e != vfs.ESUCCESS {
		return e
	}
	if f.readOnly {
		return vfs.EROFS
	}
	oe, src, e := f.entryLocked(od, oldName)
	if e != vfs.ESUCCESS {
		return e
	}
	ne, e := f.lookupLocked(nd, newName)
	if e != vfs.ESUCCESS {
		return e
	}
	var dst *inode
	if ne.ino != 0 {
		if dst, e = f.inodeLocked(ne.ino); e != vfs.ESUCCESS {
			return missOr(e, vfs.EIO)
		}
		if dst == src {
			return vfs.ESUCCESS // two names of one inode (or the same name): nothing to do
		}
	}
	if src.typ == vfs.TypeDir {
		// The target directory must not be src or lie below it.
		for p := nd; ; {
			if p == src {
				return vfs.EINVAL
			}
			if p.ino == rootIno {
				break
			}
			if p, e = f.inodeLocked(p.parent); e != vfs.ESUCCESS {
				return missOr(e, vfs.EIO)
			}
		}
	}
	if dst != nil {
		switch {
		case src.typ == vfs.TypeDir && dst.typ != vfs.TypeDir:
			return vfs.ENOTDIR
		case src.typ != vfs.TypeDir && dst.typ == vfs.TypeDir:
			return vfs.EISDIR
		case dst.typ == vfs.TypeDir && dst.nent > 0:
			return vfs.ENOTEMPTY
		}
	} else if src.typ == vfs.TypeDir && od != nd && nd.nlink >= maxNlink {
		return vfs.EMLINK
	}

	t := now()
	// Add the new name first: the only failure (nd's sequence numbers used up) then leaves all
	// as it was. A replaced entry keeps its sequence number, so its place in a listing.
	if dst != nil {
		ne.ino, ne.typ = src.ino, src.typ
		f.markDentDirty(ne)
		f.unlinkLocked(nd, dst, t)
		if dst.typ == vfs.TypeDir {
			nd.nlink++ // unlinkLocked dropped the link of dst's "..", src brings one back below
		}
	} else if e := f.addEntry(nd, ne, src); e != vfs.ESUCCESS {
		return e
	} else if src.typ == vfs.TypeDir {
		nd.nlink++
	}
	f.removeEntry(od, oe)
	if src.typ == vfs.TypeDir {
		od.nlink--
		src.parent = nd.ino
	}
	src.ctime = t
	od.mtime, od.ctime = t, t
	nd.mtime, nd.ctime = t, t
	f.markDirty(src)
	f.markDirty(od)
	f.markDirty(nd)
	return vfs.ESUCCESS
}

// Readlink implements vfs.FS.Readlink. Errors: ENOENT, EINVAL, EIO.
func (f *FS) Readlink(ino vfs.Ino) (string, vfs.Errno) {
	f.mu.Lock()
	defer f.unlock()
	for try := 0; ; try++ {
		r, e := f.readlinkLocked(ino)
		if e == eMiss {
			if e = f.fill(try); e == vfs.ESUCCESS {
				continue
			}
		}
		return r, e
	}
}

// readlinkLocked is Readlink under f.mu: it returns eMiss when it needs a store read (see fill).
func (f *FS) readlinkLocked(ino vfs.Ino) (string, vfs.Errno) {
	n, e := f.inodeLocked(ino)
	if e != vfs.ESUCCESS {
		return "", e
	}
	if n.typ != vfs.TypeSymlink {
		return "", vfs.EINVAL
	}
	return n.target, vfs.ESUCCESS
}

// Open implements vfs.FS.Open. Errors: ENOENT, EISDIR, EROFS, EIO.
func (f *FS) Open(ino vfs.Ino, flags vfs.OpenFlag) (vfs.File, vfs.Errno) {
	f.mu.Lock()
	defer f.unlock()
	for try := 0; ; try++ {
		r, e := f.openLocked(ino, flags)
		if e == eMiss {
			if e = f.fill(try); e == vfs.ESUCCESS {
				continue
			}
		}
		return r, e
	}
}

// openLocked is Open under f.mu: it returns eMiss when it needs a store read (see fill).
func (f *FS) openLocked(ino vfs.Ino, flags vfs.OpenFlag) (vfs.File, vfs.Errno) {
	n, e := f.inodeLocked(ino)
	if e != vfs.ESUCCESS {
		return nil, e
	}
	if flags&vfs.OpenWrite != 0 {
		if n.typ == vfs.TypeDir {
			return nil, vfs.EISDIR
		}
		if f.readOnly {
			return nil, vfs.EROFS
		}
	}
	n.opens++
	return &file{fs: f, n: n, flags: flags}, vfs.ESUCCESS
}
