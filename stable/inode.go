package stable

import (
	"time"

	"github.com/wasmrun/wasmrun/vfs"
)

// inode is the in-memory form of an inode: its record plus cache state. Every field is guarded
// by FS.mu. Inodes stay in metaCache.inodes from their first use until they are deleted and the
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
	dirty   bool // in committer.dirtyInodes
	deleted bool // gone; kept as a tombstone until its deletion commits
	stored  bool // a record may be in the store (loaded from it, or taken by a commit)
	listed  bool // directories: every entry of the directory is in dirIndex.names and dirIndex.seqs
	listing int  // directories: ReadDir calls in progress (its names are not evicted meanwhile)

	// Regular files: the cached pages by index (nil until the first is), and the pending
	// truncations: store pages at or past truncDirty (dirty set) or truncFlight (commit in
	// flight) are dead.
	pages       map[uint64]*page
	truncDirty  uint64
	truncFlight uint64
	// The store has no page of this file in [holeLo, holeHi).
	holeLo, holeHi uint64
	mod            uint64 // counts the changes of the file's data (see read.go)
	commits        uint64 // counts the commits of its record or pages that finished (see read.go)
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

func now() int64 { return time.Now().UnixNano() }

// markDirty records a change of n's record in the dirty set.
func (f *FS) markDirty(n *inode) {
	if !n.dirty {
		n.dirty = true
		f.commit.dirtyInodes = append(f.commit.dirtyInodes, n)
		f.noteDirty()
	}
}

func (f *FS) markDentDirty(e *dent) {
	if !e.dirty {
		e.dirty = true
		f.commit.dirtyDents = append(f.commit.dirtyDents, e)
		f.noteDirty()
	}
}

// noteDirty is called for each object that joins the dirty set: the first one starts the age
// clock of the background committer.
func (f *FS) noteDirty() {
	f.commit.superDirty = true
	if f.commit.dirtySince.IsZero() {
		f.commit.dirtySince = time.Now()
		if f.commit.wake != nil {
			select {
			case f.commit.wake <- struct{}{}:
			default:
			}
		}
	}
}

func (f *FS) dirtyEmpty() bool {
	return len(f.commit.dirtyInodes) == 0 && len(f.commit.dirtyDents) == 0 && f.pc.dirtyPages.Len() == 0 && !f.commit.superDirty
}
