package stable

import (
	"github.com/wasmrun/wasmrun/stable/internal/kv"
	"github.com/wasmrun/wasmrun/vfs"
)

// The metadata cache: inodes by number (metaCache.inodes), loaded from the inodes bucket on
// first use, and the eviction that keeps them and the directory index's names within their
// bound.
//
// Invariants, under FS.mu:
//   - an inode in metaCache.inodes is newer than its record in the store: the store is read
//     only for numbers the cache does not have, and a number at or past FS.nextIno has no
//     inode;
//   - a deleted inode stays as a tombstone until its deletion commits;
//   - eviction (evictMetaLocked) happens only in unlock, between operations, when no operation
//     holds a pointer to an inode or a dent but those that pin them (an open File, a ReadDir
//     in progress, the dirty set, the commit in flight), and never while a commit is in
//     flight.

// inodeLocked returns the live inode ino. If the cache does not have it: ENOENT if the store
// has no such inode either, as far as the cache knows, and eMiss otherwise (see fill).
// Errors: ENOENT, EIO, eMiss.
func (f *FS) inodeLocked(ino vfs.Ino) (*inode, vfs.Errno) {
	if f.closed {
		return nil, vfs.EIO
	}
	if n, ok := f.meta.inodes[ino]; ok {
		if n.deleted {
			return nil, vfs.ENOENT
		}
		return n, vfs.ESUCCESS
	}
	if ino == 0 || uint64(ino) >= f.nextIno || ino == f.rd.noIno {
		return nil, vfs.ENOENT
	}
	f.rd.miss = miss{kind: missInode, ino: ino}
	return nil, eMiss
}

// loadInode reads the record of inode ino into the cache (see fill). An inode the store does
// not have becomes f.rd.noIno: inode numbers are never reused, so it never comes back. Errors:
// EIO.
func (f *FS) loadInode(ino vfs.Ino, unlocked bool) vfs.Errno {
	n := &inode{ino: ino, stored: true}
	found, ok := false, false
	commits := f.rd.commits
	err := f.readStore(unlocked, func(r kv.Reader) error {
		if rec := r.Get(bInodes, u64key(uint64(ino))); rec != nil {
			found, ok = true, decodeInode(n, rec)
		}
		return nil
	})
	switch _, cached := f.meta.inodes[ino]; {
	case err != nil:
		return errnoOf(err)
	case cached || f.rd.commits != commits:
		return vfs.ESUCCESS // loaded meanwhile (and newer), or maybe stale: look again
	case !found:
		f.rd.noIno = ino
	case !ok:
		return vfs.EIO
	default:
		n.init()
		f.meta.inodes[ino] = n
	}
	return vfs.ESUCCESS
}

// dirLocked returns the live directory ino. Errors: ENOENT, ENOTDIR, EIO, eMiss.
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
// entry without its inode: fsck reports it), eMiss, and those of lookupLocked.
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
		return nil, nil, missOr(e, vfs.EIO) // a miss, or an entry without its inode
	}
	return de, n, vfs.ESUCCESS
}

// metaCache is the metadata cache: every inode in use, and the bounds of the sweeps that
// evict clean inodes and names beyond them. Guarded by FS.mu (see the invariants above).
type metaCache struct {
	inodes   map[vfs.Ino]*inode
	max      int    // a sweep leaves at most 3/4 of it of each, if it can
	inodesAt int    // a sweep runs when the inodes cached pass it
	namesAt  int    // or the names
	swept    uint64 // the committer's durable generation at the last sweep: one runs after each commit
	hand     dent   // the (parent, name) the last sweep of names stopped at
}

// metaBound returns the number of inodes, and of names, the cache keeps for a cache of
// cacheBytes: one of each per 2 KiB (131,072 for DefaultCacheBytes), about 100 bytes of
// metadata per KiB of page cache, and at least 1024.
func metaBound(cacheBytes int64) int { return int(max(cacheBytes>>11, 1024)) }

func (m *metaCache) init(bound int) {
	m.max = max(bound, 4)
	m.inodesAt, m.namesAt = m.max, m.max
}

// unlock ends every operation of f (of the FS and of its Files alike): it evicts clean
// metadata if the cache holds too much of it, and releases f.mu. Eviction happens only here,
// between operations, when no operation holds a pointer to an inode or a dent other than
// those that pin them (an open File, a ReadDir in progress, the dirty set, the commit in
// flight). The check costs three comparisons when there is nothing to evict.
func (f *FS) unlock() {
	if len(f.meta.inodes) > f.meta.inodesAt || f.dir.names.Len() > f.meta.namesAt ||
		(f.commit.durable != f.meta.swept && max(len(f.meta.inodes), f.dir.names.Len()) > f.meta.max) {
		f.evictMetaLocked()
	}
	f.rd.filled = nil
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
	if f.commit.committing || f.closed {
		return
	}
	target := f.meta.max * 3 / 4
	if need := f.dir.names.Len() - target; need > 0 {
		f.evictNamesLocked(need)
	}
	if need := len(f.meta.inodes) - target; need > 0 {
		for ino, n := range f.meta.inodes {
			if need == 0 {
				break
			}
			if ino == rootIno || !f.inodeEvictable(n) {
				continue
			}
			f.dropPagesLocked(n, 0) // all clean (inodeEvictable)
			n.pages = nil
			delete(f.meta.inodes, ino)
			f.stats.InodesEvicted++
			need--
		}
	}
	f.meta.swept = f.commit.durable
	at := func(left int) int { return max(f.meta.max, left+left/4) }
	f.meta.inodesAt, f.meta.namesAt = at(len(f.meta.inodes)), at(f.dir.names.Len())
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

// evictNamesLocked drops up to need clean names, going round dirIndex.names from where the last
// sweep stopped.
func (f *FS) evictNamesLocked(need int) {
	drop := make([]*dent, 0, need)
	pick := func(e *dent) bool {
		if !e.dirty && !e.flight {
			if d := f.meta.inodes[e.parent]; d == nil || d.listing == 0 {
				drop = append(drop, e)
			}
		}
		return len(drop) < need
	}
	hand := f.meta.hand
	wrapped := true
	f.dir.names.Ascend(&hand, func(e *dent) bool {
		if !pick(e) {
			wrapped = false
			return false
		}
		return true
	})
	if wrapped {
		// Round from the start to the hand (the names at the hand were seen above).
		f.dir.names.Scan(func(e *dent) bool {
			return dentNameLess(e, &hand) && pick(e)
		})
	}
	for _, e := range drop {
		f.dir.names.Delete(e)
		if e.ino == 0 {
			f.dir.negs--
		} else if s, ok := f.dir.seqs.Get(e); ok && s == e {
			f.dir.seqs.Delete(e)
		}
		if d := f.meta.inodes[e.parent]; d != nil {
			d.listed = false
		}
		f.stats.NamesEvicted++
	}
	if k := len(drop); k > 0 {
		f.meta.hand = dent{parent: drop[k-1].parent, name: drop[k-1].name}
	}
}
