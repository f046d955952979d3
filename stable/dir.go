package stable

import (
	"math"
	"strings"

	"github.com/tidwall/btree"

	"github.com/wasmrun/wasmrun/stable/internal/kv"
	"github.com/wasmrun/wasmrun/vfs"
)

// The directory index: the cached names of directories (dirIndex.names by (parent, name),
// dirIndex.seqs by (parent, seq)), lookups that fill it from the dirents bucket, the sequence
// numbers that are readdir cookies, and listings (ReadDir) merged from the cache and the
// dirseqs bucket.
//
// Invariants, under FS.mu:
//   - every dent is in dirIndex.names; an entry (ino != 0) is also in dirIndex.seqs under its
//     seq, and an absent name (ino == 0, a negative lookup or a removal to commit) has seq 0;
//   - a name dirIndex.names has is newer than the store: the store is read only for names the
//     cache does not have;
//   - a directory marked listed has every one of its entries in dirIndex.names and
//     dirIndex.seqs, so a name it does not have is absent without a store read;
//   - a dent is dropped (evictNamesLocked) only when it is clean, not taken by the commit in
//     flight, and its directory is not being listed.

// dirIndex is the directory index: the cached names of directories. Guarded by FS.mu (see
// the invariants above).
type dirIndex struct {
	names *btree.BTreeG[*dent] // every cached name, by (parent, name)
	seqs  *btree.BTreeG[*dent] // the entries among them, by (parent, seq)
	negs  int                  // about the number of absent names cached (negative lookups)
	probe dent                 // cachedName's search key: here, it does not escape per call
}

// dent is the cached state of one name in a directory: an entry (ino != 0), or the absence of
// one (ino 0), which caches a negative lookup or, when dirty, a removal to commit. dirIndex.names
// indexes every cached dent by (parent, name); dirIndex.seqs indexes the entries by (parent, seq),
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
	dirty  bool // in committer.dirtyDents
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

// cachedName returns the cached dent of name in directory dir, if any.
func (f *FS) cachedName(dir vfs.Ino, name string) (*dent, bool) {
	// The search key lives in f, not on the stack: passed to the B-tree, it would escape.
	probe := &f.dir.probe
	probe.parent, probe.name = dir, name
	e, ok := f.dir.names.Get(probe)
	probe.name = ""
	return e, ok
}

// lookupLocked returns the dent of name in directory d: an entry if d has one of that name, an
// absent dent (ino 0) otherwise; never nil. If the cache does not have the name and d may have
// it in the store, it returns eMiss (see fill). Errors: eMiss.
func (f *FS) lookupLocked(d *inode, name string) (*dent, vfs.Errno) {
	e, ok := f.cachedName(d.ino, name)
	if ok {
		return e, vfs.ESUCCESS
	}
	if !d.listed && d.stored {
		f.rd.miss = miss{kind: missName, n: d, name: name}
		return nil, eMiss
	}
	// name may be part of a whole path: the cache keeps a copy.
	return f.setName(&dent{parent: d.ino, name: strings.Clone(name)}), vfs.ESUCCESS
}

// loadName reads the entry name of directory d into the cache, as an absent dent if d has
// none (see fill). Errors: EIO.
func (f *FS) loadName(d *inode, name string, unlocked bool) vfs.Errno {
	e := &dent{parent: d.ino, name: strings.Clone(name)} // name may be part of a whole path
	ok := true
	commits := f.rd.commits
	err := f.readStore(unlocked, func(r kv.Reader) error {
		if v := r.Get(bDirents, nameKey(d.ino, name)); v != nil {
			e.seq, e.typ, e.ino, ok = decodeNameVal(v)
			ok = ok && e.ino != 0
			e.stored = e.seq
		}
		return nil
	})
	switch _, cached := f.cachedName(d.ino, name); {
	case err != nil:
		return errnoOf(err)
	case cached || f.rd.commits != commits:
		return vfs.ESUCCESS // loaded meanwhile (and newer), or maybe stale: look again
	case !ok:
		return vfs.EIO
	}
	f.setName(e)
	return vfs.ESUCCESS
}

// setName puts e, which the cache does not have, in the directory index, and returns it.
func (f *FS) setName(e *dent) *dent {
	if e.ino == 0 {
		e.seq = 0
		f.dir.negs++
		if f.dir.negs > f.maxNegs {
			f.dropNegatives()
		}
	} else {
		f.dir.seqs.Set(e)
	}
	f.dir.names.Set(e)
	return e
}

// defaultMaxNegatives bounds the number of cached negative lookups; beyond it they are dropped.
const defaultMaxNegatives = 1 << 16

// dropNegatives drops the cached absent names that the store agrees with: neither dirty nor
// taken by the commit in flight (which would put them back in the dirty set if it failed).
func (f *FS) dropNegatives() {
	var drop []*dent
	f.dir.names.Scan(func(e *dent) bool {
		if e.ino == 0 && !e.dirty && !e.flight {
			drop = append(drop, e)
		}
		return true
	})
	for _, e := range drop {
		f.dir.names.Delete(e)
	}
	f.dir.negs = 0
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
	f.dir.negs--
	e.seq, e.ino, e.typ = seq, n.ino, n.typ
	f.dir.seqs.Set(e)
	d.nent++
	f.markDentDirty(e)
	return vfs.ESUCCESS
}

// removeEntry removes the entry e of directory d.
func (f *FS) removeEntry(d *inode, e *dent) {
	f.dir.seqs.Delete(e)
	e.seq, e.ino, e.typ = 0, 0, 0
	f.dir.negs++
	d.nent--
	f.markDentDirty(e)
}

// ReadDir implements vfs.File.ReadDir. Entries come in the order they were added to the
// directory, and the cookie of an entry is its sequence number (below vfs.MaxCookie); see the
// package documentation. fn is called without any lock held. Errors: ENOTDIR, EBADF, EIO.
func (h *file) ReadDir(cookie uint64, fn func(e *vfs.DirEntry) bool) vfs.Errno {
	f := h.fs
	f.mu.Lock()
	switch {
	case h.closed || f.closed:
		f.mu.Unlock()
		return vfs.EBADF
	case h.n.typ != vfs.TypeDir:
		f.mu.Unlock()
		return vfs.ENOTDIR
	}
	d := h.n
	d.listing++ // its names stay cached until this call returns
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		if d.listing--; d.listing == 0 {
			f.meta.namesAt = min(f.meta.namesAt, f.meta.max) // they may go now
		}
		f.unlock()
	}()
	var batch []dirItem
	var de vfs.DirEntry
	var name []byte
	for cookie < vfs.MaxCookie { // no entry comes after a larger one
		f.mu.Lock()
		if h.closed || f.closed {
			f.mu.Unlock()
			return vfs.EBADF
		}
		var e vfs.Errno
		batch, e = f.dirBatchLocked(d, cookie, batch[:0])
		f.unlock()
		if e != vfs.ESUCCESS {
			return e
		}
		if len(batch) == 0 {
			return vfs.ESUCCESS
		}
		for _, it := range batch {
			name = append(name[:0], it.name...)
			de = vfs.DirEntry{Next: it.seq, Ino: it.ino, Type: it.typ, Name: name}
			if !fn(&de) {
				return vfs.ESUCCESS
			}
			cookie = it.seq
		}
	}
	return vfs.ESUCCESS
}

// dirItem is one entry of a listing.
type dirItem struct {
	seq  uint64
	ino  vfs.Ino
	typ  vfs.FileType
	name string
}

// dirBatch is about how many entries dirBatchLocked returns at a time.
const dirBatch = 64

// dirBatchLocked appends to batch the next entries of directory d after cookie, in sequence
// order, and returns it; an empty batch means the listing is done. A directory whose names are
// all cached is listed from the cache; a small one is loaded whole into the cache first
// (listLocked), so that lookups of names it does not have need no store read; a big one is
// read from the store a batch at a time, without caching its names, and merged with the cached
// names, which are newer: a name the cache has is listed as the cache has it (at its sequence
// number, or not at all when it was removed). So listing a directory of any size takes memory
// for one batch. The store is read without f.mu (see read.go). Errors: EIO, EBADF.
func (f *FS) dirBatchLocked(d *inode, cookie uint64, batch []dirItem) ([]dirItem, vfs.Errno) {
	cached := func(from, to uint64, batch []dirItem) []dirItem {
		f.dir.seqs.Ascend(&dent{parent: d.ino, seq: from}, func(e *dent) bool {
			if e.parent != d.ino || e.seq > to {
				return false
			}
			batch = append(batch, dirItem{e.seq, e.ino, e.typ, e.name})
			return len(batch) < dirBatch || to != math.MaxUint64
		})
		return batch
	}
	tries := 0 // store reads so far without f.mu
	for !d.listed && d.stored && d.nent <= uint64(min(1024, f.meta.max/8)) {
		unlocked := tries < maxUnlockedTries
		tries++
		if e := f.listLocked(d, unlocked); e != vfs.ESUCCESS {
			return batch, e
		}
	}
	if d.listed || !d.stored {
		return cached(cookie+1, math.MaxUint64, batch), vfs.ESUCCESS
	}
	for cookie < vfs.MaxCookie {
		// The store's next entries, up to dirBatch of them.
		var stored []dirItem
		full, bad := false, false
		ino := uint64(d.ino)
		unlocked := tries < maxUnlockedTries
		tries++
		commits := f.rd.commits
		err := f.readStore(unlocked, func(r kv.Reader) error {
			return r.Scan(bDirSeqs, pairKey(ino, cookie+1), pairKey(ino+1, 0), func(k, v []byte) bool {
				if len(stored) == dirBatch {
					full = true
					return false
				}
				if len(k) != 16 {
					bad = true
					return false
				}
				parent, seq := splitPair(k)
				typ, eino, name, ok := decodeEntryVal(v)
				if !ok || !validSeq(seq) || eino == 0 || parent != ino || seq <= cookie {
					bad = true
					return false
				}
				stored = append(stored, dirItem{seq, eino, typ, name})
				return true
			})
		})
		switch {
		case f.closed:
			return batch, vfs.EBADF
		case err != nil:
			return batch, errnoOf(err)
		case bad:
			return batch, vfs.EIO
		case f.rd.commits != commits:
			continue // the cache may have lost names newer than what was read: read again
		}
		// The cached entries in the same range of sequence numbers. When the store has no more
		// entries (!full), cached stops at dirBatch of them, and none is lost: sequence numbers
		// only grow, so a cached entry below the last stored seq is one of the stored entries
		// (same seq), of which there are at most dirBatch; the cached entries past them are
		// newer than every stored one and come in the next batches.
		limit := uint64(math.MaxUint64)
		if full {
			limit = stored[len(stored)-1].seq
		}
		mine := cached(cookie+1, limit, nil)
		i, j := 0, 0
		for i < len(stored) || j < len(mine) {
			if j < len(mine) && (i == len(stored) || mine[j].seq <= stored[i].seq) {
				if i < len(stored) && stored[i].seq == mine[j].seq {
					i++ // the cache is newer
				}
				batch = append(batch, mine[j])
				j++
				continue
			}
			it := stored[i]
			i++
			if _, known := f.cachedName(d.ino, it.name); !known {
				batch = append(batch, it)
			}
		}
		if len(batch) > 0 || !full {
			return batch, vfs.ESUCCESS
		}
		cookie = limit // a batch of names all cached elsewhere or removed: on to the next
	}
	return batch, vfs.ESUCCESS
}

// listLocked makes sure every entry of directory d is in f.dir.names and f.dir.seqs: it loads those
// of the store with one range scan of d's dirseqs keys, without f.mu if unlocked (see
// read.go). A name already cached is newer than the store and stays as it is. If a commit
// finished while f.mu was released, it leaves d unlisted: the caller tries again. Errors: EIO,
// EBADF (the FS was closed meanwhile).
func (f *FS) listLocked(d *inode, unlocked bool) vfs.Errno {
	if d.listed || !d.stored {
		d.listed = true
		return vfs.ESUCCESS
	}
	var loaded []*dent
	bad := false
	commits := f.rd.commits
	err := f.readStore(unlocked, func(r kv.Reader) error {
		return r.Scan(bDirSeqs, pairKey(uint64(d.ino), 0), pairKey(uint64(d.ino)+1, 0), func(k, v []byte) bool {
			if len(k) != 16 {
				bad = true
				return false
			}
			parent, seq := splitPair(k) // another parent's only if the store is damaged
			typ, ino, name, ok := decodeEntryVal(v)
			if !ok || !validSeq(seq) || ino == 0 || parent != uint64(d.ino) {
				bad = true
				return false
			}
			loaded = append(loaded, &dent{parent: d.ino, name: name, seq: seq, ino: ino, typ: typ, stored: seq})
			return true
		})
	})
	switch {
	case f.closed:
		return vfs.EBADF
	case err != nil:
		return errnoOf(err)
	case bad:
		return vfs.EIO
	case f.rd.commits != commits || d.listed:
		return vfs.ESUCCESS // maybe stale, or listed meanwhile
	}
	for _, e := range loaded {
		if _, ok := f.dir.names.Get(e); ok {
			continue
		}
		if _, ok := f.dir.seqs.Get(e); ok {
			continue // another name took the seq meanwhile (renumbered): the cache is newer
		}
		f.dir.names.Set(e)
		f.dir.seqs.Set(e)
	}
	d.listed = true
	return vfs.ESUCCESS
}
