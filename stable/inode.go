package stable

import (
	"strings"
	"time"

	"github.com/wasmrun/wasmrun/stable/internal/kv"
	"github.com/wasmrun/wasmrun/vfs"
)

// inode is the in-memory form of an inode: its record plus cache state. Every field is guarded
// by FS.mu. Inodes stay in FS.inodes from their first use until they are deleted and the
// deletion is committed, or until they are evicted (see evictMetaLocked): only clean, closed
// ones are.
type inode struct {
	// The record.
	ino     vfs.Ino
	typ     vfs.FileType
	mode    uint32
	nlink   uint64
	size    int64
	atime   int64
	mtime   int64
	ctime   int64
	parent  vfs.Ino // directories
	nent    uint64  // directories: number of entries
	nextSeq uint64  // directories: the sequence number of the next entry (see newSeq)
	target  string  // symlinks

	opens   int  // open Files
	dirty   bool // in FS.dirtyInodes
	deleted bool // gone; kept as a tombstone until its deletion commits
	stored  bool // a record may be in the store (loaded from it, or taken by a commit)
	listed  bool // directories: every entry of the directory is in FS.names and FS.seqs
	listing int  // directories: ReadDir calls in progress (its names are not evicted meanwhile)

	// Regular files: the cached pages by index (nil until the first is), and the pending
	// truncations: store pages at or past truncDirty (dirty set) or truncFlight (commit in
	// flight) are dead.
	pages       map[uint64]*page
	truncDirty  uint64
	truncFlight uint64
	// The store has no page of this file in [holeLo, holeHi).
	holeLo, holeHi uint64
	mod            uint64 // counts the changes of the file's data (for read-ahead windows)
}

func (n *inode) init() {
	n.truncDirty, n.truncFlight = noTrunc, noTrunc
}

// setPage caches p as page idx of n.
func (n *inode) setPage(idx uint64, p *page) {
	if n.pages == nil {
		n.pages = make(map[uint64]*page)
	}
	n.pages[idx] = p
}

// stat returns n's metadata.
func (n *inode) stat() vfs.Stat {
	st := vfs.Stat{Ino: n.ino, Type: n.typ, Mode: n.mode, Nlink: n.nlink, Size: n.size,
		Atime: n.atime, Mtime: n.mtime, Ctime: n.ctime}
	if n.typ == vfs.TypeDir {
		st.Size = int64(n.nent+2) * 20 // as package heap reports it
	}
	return st
}

// dent is the cached state of one name in a directory: an entry (ino != 0), or the absence of
// one (ino 0), which caches a negative lookup or, when dirty, a removal to commit. FS.names
// indexes every cached dent by (parent, name); FS.seqs indexes the entries by (parent, seq),
// the order ReadDir reports them in. Every field is guarded by FS.mu.
type dent struct {
	parent vfs.Ino
	name   string
	seq    uint64 // the entry's sequence number (its readdir cookie); 0 when absent
	ino    vfs.Ino
	typ    vfs.FileType
	// stored is the sequence number under which the store has this name, as of the last
	// commit taken (0: the store does not have it): the dirseqs key a commit must delete when
	// the name goes or comes back under another seq.
	stored uint64
	dirty  bool // in FS.dirtyDents
	flight bool // taken by the commit in flight
}

func dentNameLess(a, b *dent) bool {
	if a.parent != b.parent {
		return a.parent < b.parent
	}
	return a.name < b.name
}

func dentSeqLess(a, b *dent) bool {
	if a.parent != b.parent {
		return a.parent < b.parent
	}
	return a.seq < b.seq
}

func now() int64 { return time.Now().UnixNano() }

// checkName validates a single path component.
func checkName(name string) vfs.Errno {
	switch {
	case name == "" || name == "." || name == "..":
		return vfs.EINVAL
	case len(name) > vfs.NameMax:
		return vfs.ENAMETOOLONG
	case strings.IndexByte(name, '/') >= 0 || strings.IndexByte(name, 0) >= 0:
		return vfs.EINVAL
	}
	return vfs.ESUCCESS
}

// markDirty records a change of n's record in the dirty set.
func (f *FS) markDirty(n *inode) {
	if !n.dirty {
		n.dirty = true
		f.dirtyInodes = append(f.dirtyInodes, n)
		f.noteDirty()
	}
}

func (f *FS) markDentDirty(e *dent) {
	if !e.dirty {
		e.dirty = true
		f.dirtyDents = append(f.dirtyDents, e)
		f.noteDirty()
	}
}

// noteDirty is called for each object that joins the dirty set: the first one starts the age
// clock of the background committer.
func (f *FS) noteDirty() {
	f.superDirty = true
	if f.dirtySince.IsZero() {
		f.dirtySince = time.Now()
		if f.wake != nil {
			select {
			case f.wake <- struct{}{}:
			default:
			}
		}
	}
}

func (f *FS) dirtyEmpty() bool {
	return len(f.dirtyInodes) == 0 && len(f.dirtyDents) == 0 && f.dirtyPages.Len() == 0 && !f.superDirty
}

// inodeLocked returns the live inode ino, loading it from the store if needed.
// Errors: ENOENT, EIO.
func (f *FS) inodeLocked(ino vfs.Ino) (*inode, vfs.Errno) {
	if f.closed {
		return nil, vfs.EIO
	}
	if n, ok := f.inodes[ino]; ok {
		if n.deleted {
			return nil, vfs.ENOENT
		}
		return n, vfs.ESUCCESS
	}
	if ino == 0 || uint64(ino) >= f.nextIno {
		return nil, vfs.ENOENT
	}
	n := &inode{ino: ino, stored: true}
	found, ok := false, false
	err := f.store.View(func(r kv.Reader) error {
		if rec := r.Get(bInodes, u64key(uint64(ino))); rec != nil {
			found, ok = true, decodeInode(n, rec)
		}
		return nil
	})
	switch {
	case err != nil:
		return nil, errnoOf(err)
	case !found:
		return nil, vfs.ENOENT
	case !ok:
		return nil, vfs.EIO
	}
	n.init()
	f.inodes[ino] = n
	return n, vfs.ESUCCESS
}

// dirLocked returns the live directory ino. Errors: ENOENT, ENOTDIR, EIO.
func (f *FS) dirLocked(ino vfs.Ino) (*inode, vfs.Errno) {
	d, e := f.inodeLocked(ino)
	if e != vfs.ESUCCESS {
		return nil, e
	}
	if d.typ != vfs.TypeDir {
		return nil, vfs.ENOTDIR
	}
	if d.nlink == 0 {
		return nil, vfs.ENOENT // removed, still open
	}
	return d, vfs.ESUCCESS
}

// entryLocked returns the entry name of directory d and its inode. Errors: ENOENT, EIO (an
// entry without its inode: fsck reports it), and those of lookupLocked. f.mu must be held.
func (f *FS) entryLocked(d *inode, name string) (*dent, *inode, vfs.Errno) {
	de, e := f.lookupLocked(d, name)
	if e != vfs.ESUCCESS {
		return nil, nil, e
	}
	if de.ino == 0 {
		return nil, nil, vfs.ENOENT
	}
	n, e := f.inodeLocked(de.ino)
	if e != vfs.ESUCCESS {
		return nil, nil, vfs.EIO
	}
	return de, n, vfs.ESUCCESS
}

// cachedName returns the cached dent of name in directory dir, if any.
func (f *FS) cachedName(dir vfs.Ino, name string) (*dent, bool) {
	// The search key lives in f, not on the stack: passed to the B-tree, it would escape.
	probe := &f.meta.probe
	probe.parent, probe.name = dir, name
	e, ok := f.names.Get(probe)
	probe.name = ""
	return e, ok
}

// lookupLocked returns the dent of name in directory d, loading it from the store if needed:
// an entry if d has one of that name, an absent dent (ino 0) otherwise; never nil.
// Errors: EIO.
func (f *FS) lookupLocked(d *inode, name string) (*dent, vfs.Errno) {
	e, ok := f.cachedName(d.ino, name)
	if ok {
		return e, vfs.ESUCCESS
	}
	e = &dent{parent: d.ino, name: strings.Clone(name)} // name may be part of a whole path
	if !d.listed && d.stored {
		ok := true
		err := f.store.View(func(r kv.Reader) error {
			if v := r.Get(bDirents, nameKey(d.ino, name)); v != nil {
				e.seq, e.typ, e.ino, ok = decodeNameVal(v)
				ok = ok && e.ino != 0
				e.stored = e.seq
			}
			return nil
		})
		if err != nil {
			return nil, errnoOf(err)
		}
		if !ok {
			return nil, vfs.EIO
		}
	}
	if e.ino == 0 {
		e.seq = 0
		f.negs++
		if f.negs > f.maxNegs {
			f.dropNegatives()
		}
	} else {
		f.seqs.Set(e)
	}
	f.names.Set(e)
	return e, vfs.ESUCCESS
}

// defaultMaxNegatives bounds the number of cached negative lookups; beyond it they are dropped.
const defaultMaxNegatives = 1 << 16

// dropNegatives drops the cached absent names that the store agrees with: neither dirty nor
// taken by the commit in flight (which would put them back in the dirty set if it failed).
func (f *FS) dropNegatives() {
	var drop []*dent
	f.names.Scan(func(e *dent) bool {
		if e.ino == 0 && !e.dirty && !e.flight {
			drop = append(drop, e)
		}
		return true
	})
	for _, e := range drop {
		f.names.Delete(e)
	}
	f.negs = 0
}

// newSeq hands out the sequence number of a new entry of directory d: the directory's
// counter, which only grows, so that a readdir cookie (an entry's seq) stays valid while
// entries come and go. Sequence numbers are below vfs.MaxCookie. When d's counter reaches it
// (after about two billion entries added to d), d is renumbered from 1 if it is empty, which
// no cookie can tell: a listing of an empty directory has no entry to resume after. Otherwise
// the new entry is refused with ENOSPC until d is emptied. The caller marks d dirty.
func (f *FS) newSeq(d *inode) (uint64, vfs.Errno) {
	if d.nextSeq >= vfs.MaxCookie || d.nextSeq == 0 {
		if d.nent > 0 {
			return 0, vfs.ENOSPC
		}
		d.nextSeq = 1
	}
	seq := d.nextSeq
	d.nextSeq++
	return seq, vfs.ESUCCESS
}

// addEntry makes the absent dent e of directory d an entry for n. Errors: ENOSPC (d's
// sequence numbers are used up, see newSeq).
func (f *FS) addEntry(d *inode, e *dent, n *inode) vfs.Errno {
	seq, errno := f.newSeq(d)
	if errno != vfs.ESUCCESS {
		return errno
	}
	f.negs--
	e.seq, e.ino, e.typ = seq, n.ino, n.typ
	f.seqs.Set(e)
	d.nent++
	f.markDentDirty(e)
	return vfs.ESUCCESS
}

// removeEntry removes the entry e of directory d.
func (f *FS) removeEntry(d *inode, e *dent) {
	f.seqs.Delete(e)
	e.seq, e.ino, e.typ = 0, 0, 0
	f.negs++
	d.nent--
	f.markDentDirty(e)
}

// Root implements vfs.FS.Root.
func (f *FS) Root() vfs.Ino { return rootIno }

// Lookup implements vfs.FS.Lookup; ".." is the directory's parent field.
// Errors: ENOENT, ENOTDIR, ENAMETOOLONG, EINVAL, EIO.
func (f *FS) Lookup(dir vfs.Ino, name string) (vfs.Ino, vfs.FileType, vfs.Errno) {
	f.mu.Lock()
	defer f.unlock()
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
	f.inodes[n.ino] = n
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
		delete(f.inodes, n.ino)
	}
}

// Rename implements vfs.FS.Rename. Errors: ENOENT, ENOTDIR, EISDIR, ENOTEMPTY, EINVAL, EMLINK,
// ENOSPC, EROFS, ENAMETOOLONG, EIO.
func (f *FS) Rename(oldDir vfs.Ino, oldName string, newDir vfs.Ino, newName string) vfs.Errno {
	f.mu.Lock()
	defer f.unlock()
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
			return vfs.EIO
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
				return vfs.EIO
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

// metaCache bounds the metadata cache: the inodes in FS.inodes and the names in FS.names.
type metaCache struct {
	max      int    // a sweep leaves at most 3/4 of it of each, if it can
	inodesAt int    // a sweep runs when the inodes cached pass it
	namesAt  int    // or the names
	durable  uint64 // FS.durable at the last sweep: a sweep also runs after each commit
	hand     dent   // the (parent, name) the last sweep of names stopped at
	probe    dent   // lookupLocked's search key, kept here so that it does not escape per call
}

// metaBound returns the number of inodes, and of names, the cache keeps for a cache of
// cacheBytes: one of each per 2 KiB (131,072 for DefaultCacheBytes), about 100 bytes of
// metadata per KiB of page cache, and at least 1024.
func metaBound(cacheBytes int64) int { return int(max(cacheBytes>>11, 1024)) }

func (m *metaCache) init(bound int) {
	m.max = max(bound, 4)
	m.inodesAt, m.namesAt = m.max, m.max
}

// unlock ends an operation of f: it evicts clean metadata if the cache holds too much of it,
// and releases f.mu. Eviction happens only here, between operations, when no operation holds
// a pointer to an inode or a dent other than those that pin them (an open File, a dirty set,
// a commit in flight). The data paths (ReadAt, WriteAt, Append, Sync) release f.mu directly:
// they add no inodes or names, so they leave the check to the next metadata operation.
func (f *FS) unlock() {
	if len(f.inodes) > f.meta.inodesAt || f.names.Len() > f.meta.namesAt ||
		(f.durable != f.meta.durable && max(len(f.inodes), f.names.Len()) > f.meta.max) {
		f.evictMetaLocked()
	}
	f.mu.Unlock()
}

// evictMetaLocked drops cached names and inodes that the store has as they are, until at
// most 3/4 of the bound of each is left, if so many can go. A name can go if it is neither
// dirty nor taken by the commit in flight, and its directory is not being listed (a ReadDir
// in progress relies on having every entry); its directory, if cached, is then no longer known
// to be listed whole. An inode can go if it is stored, neither dirty, deleted nor open, has no
// page but clean ones (which go with it), and is not the root. Nothing goes while a commit
// is in flight: the next operation after it sweeps. A sweep that cannot reach its target
// leaves the next one for when the cache has grown by a quarter, a commit has made dirty
// entries clean, or a listing has ended, so that sweeps cost in proportion to the growth of
// the cache and to commits.
func (f *FS) evictMetaLocked() {
	if f.committing || f.closed {
		return
	}
	target := f.meta.max * 3 / 4
	if need := f.names.Len() - target; need > 0 {
		f.evictNamesLocked(need)
	}
	if need := len(f.inodes) - target; need > 0 {
		for ino, n := range f.inodes {
			if need == 0 {
				break
			}
			if ino == rootIno || !f.inodeEvictable(n) {
				continue
			}
			f.dropPagesLocked(n, 0) // all clean (inodeEvictable)
			n.pages = nil
			delete(f.inodes, ino)
			f.stats.InodesEvicted++
			need--
		}
	}
	f.meta.durable = f.durable
	at := func(left int) int { return max(f.meta.max, left+left/4) }
	f.meta.inodesAt, f.meta.namesAt = at(len(f.inodes)), at(f.names.Len())
}

// inodeEvictable reports whether n is the same as its record in the store, unused, and
// without pages but clean ones.
func (f *FS) inodeEvictable(n *inode) bool {
	if n.dirty || n.deleted || n.opens > 0 || !n.stored || n.truncFlight != noTrunc || n.truncDirty != noTrunc {
		return false
	}
	for _, p := range n.pages {
		if p.state != pageClean {
			return false
		}
	}
	return true
}

// evictNamesLocked drops up to need clean names, going round FS.names from where the last
// sweep stopped.
func (f *FS) evictNamesLocked(need int) {
	drop := make([]*dent, 0, need)
	pick := func(e *dent) bool {
		if !e.dirty && !e.flight {
			if d := f.inodes[e.parent]; d == nil || d.listing == 0 {
				drop = append(drop, e)
			}
		}
		return len(drop) < need
	}
	hand := f.meta.hand
	wrapped := true
	f.names.Ascend(&hand, func(e *dent) bool {
		if !pick(e) {
			wrapped = false
			return false
		}
		return true
	})
	if wrapped {
		// Round from the start to the hand (the names at the hand were seen above).
		f.names.Scan(func(e *dent) bool {
			return dentNameLess(e, &hand) && pick(e)
		})
	}
	for _, e := range drop {
		f.names.Delete(e)
		if e.ino == 0 {
			f.negs--
		} else if s, ok := f.seqs.Get(e); ok && s == e {
			f.seqs.Delete(e)
		}
		if d := f.inodes[e.parent]; d != nil {
			d.listed = false
		}
		f.stats.NamesEvicted++
	}
	if k := len(drop); k > 0 {
		f.meta.hand = dent{parent: drop[k-1].parent, name: drop[k-1].name}
	}
}
