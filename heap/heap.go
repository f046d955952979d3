package heap

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tidwall/btree"

	"github.com/wasmrun/wasmrun/vfs"
)

// Options are the limits of an FS. The zero value means no limits.
type Options struct {
	// MaxBytes bounds the bytes charged to the FS: every stored page of file data (PageSize
	// bytes each), plus a small constant per inode and per directory entry (see InodeCost and
	// EntryCost) and the bytes of names and symlink targets. An operation that would go beyond
	// it fails with ENOSPC and changes nothing (a write stops short, see File.WriteAt). Zero or
	// a negative value means unlimited.
	MaxBytes int64

	// MaxInodes bounds the number of inodes in use, the root directory included. Creating one
	// more fails with ENOSPC. Zero or a negative value means unlimited.
	MaxInodes int64
}

// The charges of the FS towards Options.MaxBytes, besides file pages.
const (
	// InodeCost is charged for every inode for as long as it exists: the Go memory of its
	// bookkeeping (measured by TestMemoryWithinLimit).
	InodeCost = 320
	// DirCost is charged on top of InodeCost for a directory (its two indexes).
	DirCost = 256
	// EntryCost is charged for every directory entry, plus the length of its name.
	EntryCost = 96
)

// maxNlink is the largest link count an inode may reach (EMLINK beyond).
const maxNlink = 1<<32 - 1

// FS is an in-memory file system. It implements vfs.FS and vfs.Usager. Create one with New; the
// zero FS is not usable. An FS is safe for concurrent use by many goroutines.
//
// Nothing an FS holds is ever durable: see the package documentation.
type FS struct {
	opts Options

	// mu guards the namespace: the inode table, every directory index, link counts, parent
	// pointers and the dead flag's transition. Lock order: mu before any inode.mu.
	mu      sync.RWMutex
	inodes  map[vfs.Ino]*inode
	root    *inode
	nextIno vfs.Ino // the last Ino handed out; never reused

	bytes  atomic.Int64 // charged bytes
	data   atomic.Int64 // the part of bytes charged for file pages
	ninode atomic.Int64 // inodes in use

	pages sync.Pool // of *page, reused across files (see newPage)
}

// inode is a file, directory or symlink.
type inode struct {
	ino vfs.Ino
	typ vfs.FileType

	// Guarded by FS.mu.
	nlink  uint64
	parent *inode    // directories: the directory holding its entry (the root: itself)
	dir    *dirIndex // directories only

	open     atomic.Int32 // open Files; with nlink == 0 and open == 0 the inode is released
	unlinked atomic.Bool  // nlink has reached 0 (set under FS.mu), so Close knows to look

	// mu guards the data and attributes below. ReadAt takes it shared, writers exclusive.
	mu     sync.RWMutex
	dead   bool // released: storage gone, Ino no longer in the table
	mode   uint32
	size   int64
	mtime  int64
	ctime  int64
	atime  atomic.Int64           // written under a shared mu by ReadAt
	head   []byte                 // regular files: page 0, possibly short (see PageSize); nil for a hole
	pages  *btree.BTreeG[pageRef] // regular files: the stored pages past the first; nil if none
	target string                 // symlinks
}

// dirent is a directory entry. Each directory indexes its entries twice: by name for Lookup and
// by seq for ReadDir, where seq is a per-directory counter stamped at insertion. A readdir
// cookie is the seq of the last entry reported, and a listing resumes at the first seq above
// it, so cookies stay valid whatever is added or removed meanwhile (an entry added during a
// listing has a higher seq and shows up at the end, unless it arrives after the end was
// reported; a removed entry simply disappears).
type dirent struct {
	name string
	seq  uint64
	node *inode
}

// named is what the name index maps a name to.
type named struct {
	seq  uint64
	node *inode
}

// dirIndex is a directory's two indexes. The name index is a hash map, not an ordered tree: a
// lookup is every path component of every walk, and hashing beat the tree's string comparisons
// by 4-8x in a directory of 10,000 entries (BenchmarkLookup), nothing needing names in order. A
// Go map never shrinks, so remove rebuilds it once it holds under a quarter of the entries it was
// sized for: a directory emptied after holding many entries gives the memory back, as the
// charges say it does.
type dirIndex struct {
	byName  map[string]named
	sized   int // len(byName) when it was last rebuilt, or its peak since
	bySeq   *btree.BTreeG[dirent]
	lastSeq uint64
}

// maxCookie is the first cookie value that is not a valid backend cookie (vfs.DirEntry.Next).
const maxCookie = 1 << 63

func newDirIndex() *dirIndex {
	return &dirIndex{
		bySeq: btree.NewBTreeGOptions(func(a, b dirent) bool { return a.seq < b.seq }, btree.Options{NoLocks: true}),
	}
}

func (d *dirIndex) get(name string) (dirent, bool) {
	v, ok := d.byName[name]
	if !ok {
		return dirent{}, false
	}
	return dirent{name: name, seq: v.seq, node: v.node}, true
}

// insert adds an entry. It keeps a copy of name: the caller's string may be part of a longer
// one (a whole path), which the entry would otherwise keep alive uncharged.
func (d *dirIndex) insert(name string, n *inode) {
	if d.byName == nil {
		d.byName = make(map[string]named)
	}
	d.lastSeq++
	e := dirent{name: strings.Clone(name), seq: d.lastSeq, node: n}
	d.byName[e.name] = named{seq: e.seq, node: n}
	d.bySeq.Set(e)
	d.sized = max(d.sized, len(d.byName))
}

// remove drops the entry e (as returned by get).
func (d *dirIndex) remove(e dirent) {
	delete(d.byName, e.name)
	d.bySeq.Delete(e)
	if n := len(d.byName); d.sized > 64 && n < d.sized/4 {
		m := make(map[string]named, n)
		for k, v := range d.byName {
			m[k] = v
		}
		d.byName, d.sized = m, n
	}
}

func (d *dirIndex) len() int { return len(d.byName) }

// New returns an empty FS (a root directory with mode 0o755) with the limits in opts.
func New(opts Options) *FS {
	fsys := &FS{opts: opts, inodes: make(map[vfs.Ino]*inode)}
	fsys.pages.New = func() any {
		p := new(page)
		prefault(p)
		return p
	}
	now := time.Now().UnixNano()
	root := fsys.newInode(vfs.TypeDir, 0o755, now)
	root.parent = root
	root.nlink = 2
	fsys.root = root
	fsys.bytes.Add(InodeCost + DirCost)
	fsys.ninode.Add(1)
	return fsys
}

// newInode makes an inode and enters it in the table; mu must be held (or fsys unpublished).
// The caller has charged it.
func (fsys *FS) newInode(typ vfs.FileType, perm uint32, now int64) *inode {
	fsys.nextIno++
	n := &inode{ino: fsys.nextIno, typ: typ, mode: perm & 0o7777, mtime: now, ctime: now}
	n.atime.Store(now)
	if typ == vfs.TypeDir {
		n.dir = newDirIndex()
	}
	fsys.inodes[n.ino] = n
	return n
}

// charge reserves n bytes against MaxBytes and reports whether they fit.
func (fsys *FS) charge(n int64) bool {
	if fsys.opts.MaxBytes <= 0 {
		fsys.bytes.Add(n)
		return true
	}
	for {
		cur := fsys.bytes.Load()
		if cur+n > fsys.opts.MaxBytes {
			return false
		}
		if fsys.bytes.CompareAndSwap(cur, cur+n) {
			return true
		}
	}
}

func (fsys *FS) uncharge(n int64) { fsys.bytes.Add(-n) }

// chargeData is charge for file pages, which Usage also reports as data.
func (fsys *FS) chargeData(n int64) bool {
	if !fsys.charge(n) {
		return false
	}
	fsys.data.Add(n)
	return true
}

func (fsys *FS) unchargeData(n int64) {
	fsys.bytes.Add(-n)
	fsys.data.Add(-n)
}

// chargeInode reserves one inode and its bytes; mu must be held, which serialises inode counts.
func (fsys *FS) chargeInode(bytes int64) vfs.Errno {
	if fsys.opts.MaxInodes > 0 && fsys.ninode.Load() >= fsys.opts.MaxInodes {
		return vfs.ENOSPC
	}
	if !fsys.charge(bytes) {
		return vfs.ENOSPC
	}
	fsys.ninode.Add(1)
	return vfs.ESUCCESS
}

// inodeBytes is what an inode is charged for itself.
func inodeBytes(typ vfs.FileType, target string) int64 {
	c := int64(InodeCost + len(target))
	if typ == vfs.TypeDir {
		c += DirCost
	}
	return c
}

func entryBytes(name string) int64 { return int64(EntryCost + len(name)) }

// release frees n after its last link and last open File are gone: it leaves the table, its
// pages go back to the pool and every byte it was charged is returned. mu must be held.
func (fsys *FS) release(n *inode) {
	delete(fsys.inodes, n.ino)
	n.mu.Lock()
	n.dead = true
	freed := n.truncatePages(fsys, 0)
	n.mu.Unlock()
	fsys.unchargeData(freed)
	fsys.uncharge(inodeBytes(n.typ, n.target))
	fsys.ninode.Add(-1)
}

// maybeRelease releases n if nothing refers to it any more; mu must be held.
func (fsys *FS) maybeRelease(n *inode) {
	if n.nlink == 0 && n.open.Load() == 0 && !n.dead {
		fsys.release(n)
	}
}

// touch sets the mtime and ctime of n to now.
func (n *inode) touch(now int64) {
	n.mu.Lock()
	n.mtime, n.ctime = now, now
	n.mu.Unlock()
}

func (n *inode) touchCtime(now int64) {
	n.mu.Lock()
	n.ctime = now
	n.mu.Unlock()
}

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

// dirLocked returns the live directory ino; mu must be held.
func (fsys *FS) dirLocked(ino vfs.Ino) (*inode, vfs.Errno) {
	n := fsys.inodes[ino]
	if n == nil || n.nlink == 0 {
		return nil, vfs.ENOENT
	}
	if n.typ != vfs.TypeDir {
		return nil, vfs.ENOTDIR
	}
	return n, vfs.ESUCCESS
}

// Root implements vfs.FS.Root.
func (fsys *FS) Root() vfs.Ino { return fsys.root.ino }

// Lookup implements vfs.FS.Lookup; ".." is the directory's parent pointer.
// Errors: ENOENT, ENOTDIR, EINVAL or ENAMETOOLONG (a malformed name).
func (fsys *FS) Lookup(dir vfs.Ino, name string) (vfs.Ino, vfs.FileType, vfs.Errno) {
	if name != ".." {
		if e := checkName(name); e != 0 {
			return 0, 0, e
		}
	}
	fsys.mu.RLock()
	defer fsys.mu.RUnlock()
	d, e := fsys.dirLocked(dir)
	if e != 0 {
		return 0, 0, e
	}
	if name == ".." {
		return d.parent.ino, vfs.TypeDir, vfs.ESUCCESS
	}
	ent, ok := d.dir.get(name)
	if !ok {
		return 0, 0, vfs.ENOENT
	}
	return ent.node.ino, ent.node.typ, vfs.ESUCCESS
}

// Stat implements vfs.FS.Stat. A directory's size is 20 bytes per entry, "." and ".." included,
// as on Linux's tmpfs. Errors: ENOENT.
func (fsys *FS) Stat(ino vfs.Ino) (vfs.Stat, vfs.Errno) {
	fsys.mu.RLock()
	n := fsys.inodes[ino]
	if n == nil {
		fsys.mu.RUnlock()
		return vfs.Stat{}, vfs.ENOENT
	}
	st := vfs.Stat{Ino: n.ino, Type: n.typ, Nlink: n.nlink}
	if n.dir != nil {
		st.Size = int64(n.dir.len()+2) * 20
	}
	fsys.mu.RUnlock()

	n.mu.RLock()
	defer n.mu.RUnlock()
	if n.dead {
		return vfs.Stat{}, vfs.ENOENT
	}
	st.Mode = n.mode
	if n.dir == nil {
		st.Size = n.size
	}
	st.Mtime, st.Ctime = n.mtime, n.ctime
	st.Atime = n.atime.Load()
	return st, vfs.ESUCCESS
}

// SetAttr implements vfs.FS.SetAttr. A size change also sets mtime (unless a.Valid names
// AttrMtime), as ftruncate does. Shrinking frees the pages past the new end and returns their
// bytes; growing stores nothing, so SetAttr never fails with ENOSPC.
// Errors: ENOENT, EISDIR (size of a directory), EINVAL (negative size, size of a symlink),
// EFBIG (size above MaxFileSize).
func (fsys *FS) SetAttr(ino vfs.Ino, a *vfs.Attr) vfs.Errno {
	fsys.mu.RLock()
	n := fsys.inodes[ino]
	fsys.mu.RUnlock()
	if n == nil {
		return vfs.ENOENT
	}
	if a.Valid&vfs.AttrSize != 0 {
		switch {
		case n.typ == vfs.TypeDir:
			return vfs.EISDIR
		case n.typ != vfs.TypeRegular || a.Size < 0:
			return vfs.EINVAL
		case a.Size > MaxFileSize:
			return vfs.EFBIG
		}
	}
	now := time.Now().UnixNano()
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.dead {
		return vfs.ENOENT
	}
	if a.Valid&vfs.AttrSize != 0 {
		fsys.unchargeData(n.truncatePages(fsys, a.Size))
		n.size = a.Size
		n.mtime = now
	}
	if a.Valid&vfs.AttrAtime != 0 {
		n.atime.Store(a.Atime)
	}
	if a.Valid&vfs.AttrMtime != 0 {
		n.mtime = a.Mtime
	}
	if a.Valid&vfs.AttrMode != 0 {
		n.mode = a.Mode & 0o7777
	}
	n.ctime = now
	return vfs.ESUCCESS
}

// Create implements vfs.FS.Create. It charges InodeCost (plus DirCost for a directory and the
// target's length for a symlink) and EntryCost plus the name's length.
// Errors: EEXIST, ENOENT, ENOTDIR, ENOSPC (MaxBytes or MaxInodes reached), EMLINK, EINVAL (a
// malformed name, an unsupported type, a symlink target with a NUL byte), ENAMETOOLONG.
func (fsys *FS) Create(dir vfs.Ino, name string, typ vfs.FileType, perm uint32, target string) (vfs.Ino, vfs.Errno) {
	if e := checkName(name); e != 0 {
		return 0, e
	}
	switch typ {
	case vfs.TypeRegular, vfs.TypeDir:
		target = ""
	case vfs.TypeSymlink:
		switch {
		case target == "":
			return 0, vfs.ENOENT
		case len(target) > vfs.PathMax:
			return 0, vfs.ENAMETOOLONG
		case strings.IndexByte(target, 0) >= 0:
			return 0, vfs.EINVAL
		}
	default:
		return 0, vfs.EINVAL
	}

	fsys.mu.Lock()
	defer fsys.mu.Unlock()
	d, e := fsys.dirLocked(dir)
	if e != 0 {
		return 0, e
	}
	if _, ok := d.dir.get(name); ok {
		return 0, vfs.EEXIST
	}
	if typ == vfs.TypeDir && d.nlink >= maxNlink {
		return 0, vfs.EMLINK
	}
	if !fsys.charge(entryBytes(name)) {
		return 0, vfs.ENOSPC
	}
	if e := fsys.chargeInode(inodeBytes(typ, target)); e != 0 {
		fsys.uncharge(entryBytes(name))
		return 0, e
	}
	now := time.Now().UnixNano()
	n := fsys.newInode(typ, perm, now)
	n.target = target
	n.size = int64(len(target))
	n.nlink = 1
	if typ == vfs.TypeDir {
		n.nlink = 2
		n.parent = d
		d.nlink++
	}
	d.dir.insert(name, n)
	d.touch(now)
	return n.ino, vfs.ESUCCESS
}

// Link implements vfs.FS.Link. It charges EntryCost plus the name's length.
// Errors: EEXIST, ENOENT (ino or dir gone, or ino already unlinked), ENOTDIR, EPERM (ino is a
// directory), EMLINK, ENOSPC, EINVAL or ENAMETOOLONG (a malformed name).
func (fsys *FS) Link(ino vfs.Ino, dir vfs.Ino, name string) vfs.Errno {
	if e := checkName(name); e != 0 {
		return e
	}
	fsys.mu.Lock()
	defer fsys.mu.Unlock()
	n := fsys.inodes[ino]
	if n == nil || n.nlink == 0 {
		return vfs.ENOENT
	}
	d, e := fsys.dirLocked(dir)
	if e != 0 {
		return e
	}
	if n.typ == vfs.TypeDir {
		return vfs.EPERM
	}
	if _, ok := d.dir.get(name); ok {
		return vfs.EEXIST
	}
	if n.nlink >= maxNlink {
		return vfs.EMLINK
	}
	if !fsys.charge(entryBytes(name)) {
		return vfs.ENOSPC
	}
	n.nlink++
	d.dir.insert(name, n)
	now := time.Now().UnixNano()
	n.touchCtime(now)
	d.touch(now)
	return vfs.ESUCCESS
}

// unlinkLocked drops the entry e of directory d and one link of its inode (all of a directory's),
// releasing the inode if that was the last reference. mu must be held.
func (fsys *FS) unlinkLocked(d *inode, e dirent, now int64) {
	d.dir.remove(e)
	fsys.uncharge(entryBytes(e.name))
	n := e.node
	if n.typ == vfs.TypeDir {
		n.nlink = 0
		d.nlink--
	} else {
		n.nlink--
	}
	if n.nlink > 0 {
		n.touchCtime(now)
		return
	}
	// Close reads unlinked after dropping its count, and this reads the count after setting
	// unlinked, so the last of the two releases n.
	n.unlinked.Store(true)
	fsys.maybeRelease(n)
}

// Remove implements vfs.FS.Remove. The entry's bytes are returned at once, the inode's when it
// is released (at its last Close if it is open).
// Errors: ENOENT, ENOTDIR, EISDIR, ENOTEMPTY, EINVAL or ENAMETOOLONG (a malformed name).
func (fsys *FS) Remove(dir vfs.Ino, name string, dirOnly bool) vfs.Errno {
	if e := checkName(name); e != 0 {
		return e
	}
	fsys.mu.Lock()
	defer fsys.mu.Unlock()
	d, e := fsys.dirLocked(dir)
	if e != 0 {
		return e
	}
	ent, ok := d.dir.get(name)
	if !ok {
		return vfs.ENOENT
	}
	n := ent.node
	if dirOnly {
		if n.typ != vfs.TypeDir {
			return vfs.ENOTDIR
		}
		if n.dir.len() != 0 {
			return vfs.ENOTEMPTY
		}
	} else if n.typ == vfs.TypeDir {
		return vfs.EISDIR
	}
	now := time.Now().UnixNano()
	fsys.unlinkLocked(d, ent, now)
	d.touch(now)
	return vfs.ESUCCESS
}

// Rename implements vfs.FS.Rename. The entry gets a new readdir position in newDir (it is
// listed again by a listing of newDir in progress, like an entry just created).
// Errors: ENOENT, ENOTDIR, EISDIR, ENOTEMPTY, EINVAL (a directory into its own subtree, or a
// malformed name), ENAMETOOLONG, EMLINK, ENOSPC (the new name is longer and MaxBytes is
// reached).
func (fsys *FS) Rename(oldDir vfs.Ino, oldName string, newDir vfs.Ino, newName string) vfs.Errno {
	if e := checkName(oldName); e != 0 {
		return e
	}
	if e := checkName(newName); e != 0 {
		return e
	}
	fsys.mu.Lock()
	defer fsys.mu.Unlock()
	od, e := fsys.dirLocked(oldDir)
	if e != 0 {
		return e
	}
	nd, e := fsys.dirLocked(newDir)
	if e != 0 {
		return e
	}
	src, ok := od.dir.get(oldName)
	if !ok {
		return vfs.ENOENT
	}
	n := src.node
	if n.typ == vfs.TypeDir && od != nd {
		// Into its own subtree: checked first, as Linux does.
		for p := nd; p != fsys.root; p = p.parent {
			if p == n {
				return vfs.EINVAL
			}
		}
	}
	dst, exists := nd.dir.get(newName)
	if exists {
		if dst.node == n {
			return vfs.ESUCCESS // the same inode (or the same entry): nothing to do
		}
		if n.typ == vfs.TypeDir {
			if dst.node.typ != vfs.TypeDir {
				return vfs.ENOTDIR
			}
			if dst.node.dir.len() != 0 {
				return vfs.ENOTEMPTY
			}
		} else if dst.node.typ == vfs.TypeDir {
			return vfs.EISDIR
		}
	}
	if n.typ == vfs.TypeDir {
		if od != nd && !(exists && dst.node.typ == vfs.TypeDir) && nd.nlink >= maxNlink {
			return vfs.EMLINK
		}
	}
	// The moved entry is charged for its new name; a replaced entry gives back all of its
	// bytes, more than a longer name needs, so only a rename to a free name can be ENOSPC.
	grow := int64(len(newName) - len(oldName))
	if !exists && grow > 0 && !fsys.charge(grow) {
		return vfs.ENOSPC
	}

	now := time.Now().UnixNano()
	if exists {
		fsys.unlinkLocked(nd, dst, now)
	}
	if exists || grow < 0 {
		fsys.bytes.Add(grow)
	}
	od.dir.remove(src)
	nd.dir.insert(newName, n)
	if n.typ == vfs.TypeDir && od != nd {
		od.nlink--
		nd.nlink++
		n.parent = nd
	}
	n.touchCtime(now)
	od.touch(now)
	if nd != od {
		nd.touch(now)
	}
	return vfs.ESUCCESS
}

// Readlink implements vfs.FS.Readlink. Errors: ENOENT, EINVAL (not a symlink).
func (fsys *FS) Readlink(ino vfs.Ino) (string, vfs.Errno) {
	fsys.mu.RLock()
	defer fsys.mu.RUnlock()
	n := fsys.inodes[ino]
	if n == nil {
		return "", vfs.ENOENT
	}
	if n.typ != vfs.TypeSymlink {
		return "", vfs.EINVAL
	}
	return n.target, vfs.ESUCCESS
}

// Open implements vfs.FS.Open. Errors: ENOENT, EISDIR (OpenWrite on a directory).
func (fsys *FS) Open(ino vfs.Ino, flags vfs.OpenFlag) (vfs.File, vfs.Errno) {
	fsys.mu.RLock()
	defer fsys.mu.RUnlock()
	n := fsys.inodes[ino]
	if n == nil {
		return nil, vfs.ENOENT
	}
	if n.typ == vfs.TypeDir && flags&vfs.OpenWrite != 0 {
		return nil, vfs.EISDIR
	}
	n.open.Add(1)
	f := &file{fsys: fsys, n: n, flags: flags}
	if n.dir != nil {
		f.listEnd.Store(n.dir.lastSeq)
	}
	return f, vfs.ESUCCESS
}

// Usage implements vfs.Usager. Bytes counts the stored pages of file data, as vfs.Usage says;
// Options.MaxBytes also covers the per-inode and per-entry costs, so ENOSPC comes when Bytes is
// a little under LimitBytes.
func (fsys *FS) Usage() vfs.Usage {
	return vfs.Usage{
		Bytes:      fsys.data.Load(),
		Inodes:     fsys.ninode.Load(),
		LimitBytes: max(fsys.opts.MaxBytes, 0),
	}
}

var (
	_ vfs.FS     = (*FS)(nil)
	_ vfs.Usager = (*FS)(nil)
)
