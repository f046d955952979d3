package stable

import (
	"math"

	"github.com/wasmrun/wasmrun/stable/internal/kv"
	"github.com/wasmrun/wasmrun/vfs"
)

// file implements vfs.File. Its fields are guarded by fs.mu.
type file struct {
	fs     *FS
	n      *inode
	flags  vfs.OpenFlag
	closed bool

	// The read-ahead window of a sequential reader: pages [winIdx, winIdx+len(win)/ps) of the
	// file as they were when n.mod was winMod, copied in one store transaction. Reads of
	// pages that are not cached are served from it while n has not changed since.
	win    []byte
	winIdx uint64
	winMod uint64
	// readEnd is where the last read through this File ended.
	readEnd int64
}

// maxReadAhead is the most pages a read fetches into the cache from the store past the ones
// it needs.
const maxReadAhead = 32

// windowPages is the size of a sequential reader's read-ahead window, in pages.
const windowPages = 32

// ReadAt implements vfs.File.ReadAt. It sets atime as Linux's relatime does: only when atime
// is not after mtime or ctime. Errors: EBADF, EISDIR, EINVAL, EIO.
func (h *file) ReadAt(p []byte, off int64) (int, vfs.Errno) {
	f := h.fs
	f.mu.Lock()
	defer f.mu.Unlock()
	n := h.n
	switch {
	case h.closed || f.closed:
		return 0, vfs.EBADF
	case n.typ == vfs.TypeDir:
		return 0, vfs.EISDIR
	case h.flags&vfs.OpenRead == 0:
		return 0, vfs.EBADF
	case off < 0:
		return 0, vfs.EINVAL
	case n.typ != vfs.TypeRegular:
		return 0, vfs.EINVAL
	}
	if off >= n.size || len(p) == 0 {
		return 0, vfs.ESUCCESS
	}
	end := min(off+int64(len(p)), n.size)
	sequential := off == h.readEnd
	var ahead uint64
	if sequential {
		ahead = maxReadAhead
	}
	done := 0
	for pos := off; pos < end; {
		idx := uint64(pos >> f.pshift)
		po := pos & (f.ps - 1)
		c := min(f.ps-po, end-pos)
		if po == 0 && c == f.ps && n.pages[idx] == nil {
			// Whole pages that are not cached are copied straight from the store into p,
			// without going through (and churning) the cache.
			k := f.directRun(n, idx, uint64((end-pos)>>f.pshift))
			if k > 1 {
				f.stats.CacheMisses += int64(k)
				if e := f.readDirectLocked(n, p[done:done+int(k)<<f.pshift], idx); e != vfs.ESUCCESS {
					return done, e
				}
				done += int(k) << f.pshift
				pos += int64(k) << f.pshift
				continue
			}
		}
		var data []byte
		if sequential && n.pages[idx] == nil {
			// A sequential reader of pages not cached reads through its window.
			if h.win == nil || h.winMod != n.mod || idx < h.winIdx || idx >= h.winIdx+uint64(len(h.win)>>f.pshift) {
				if e := h.fillWindow(idx); e != vfs.ESUCCESS {
					return done, e
				}
				f.stats.CacheMisses++
			} else {
				f.stats.CacheHits++
			}
			i := (idx - h.winIdx) << f.pshift
			data = h.win[i : i+uint64(f.ps)]
		} else {
			last := uint64((end - 1) >> f.pshift)
			var e vfs.Errno
			if data, e = f.readPageLocked(n, idx, max(ahead, last-idx)); e != vfs.ESUCCESS {
				return done, e
			}
		}
		dst := p[done : done+int(c)]
		k := 0
		if po < int64(len(data)) {
			k = copy(dst, data[po:])
		}
		clear(dst[k:])
		done += int(c)
		pos += c
	}
	h.readEnd = end
	if !f.readOnly && (n.atime <= n.mtime || n.atime <= n.ctime) {
		n.atime = now()
		f.markDirty(n)
	}
	return done, vfs.ESUCCESS
}

// fillWindow fills h's read-ahead window with the pages of its file from idx on.
func (h *file) fillWindow(idx uint64) vfs.Errno {
	f, n := h.fs, h.n
	count := min(uint64(windowPages), f.pageCount(n.size)-idx)
	if h.win == nil {
		h.win = make([]byte, windowPages<<f.pshift)
	}
	h.win = h.win[:count<<f.pshift]
	h.winIdx, h.winMod = idx, n.mod
	if e := f.readDirectLocked(n, h.win, idx); e != vfs.ESUCCESS {
		h.win = nil
		return e
	}
	// Cached pages are newer than the store: they win.
	for i := uint64(0); i < count; i++ {
		if p := n.pages[idx+i]; p != nil {
			pg := h.win[i<<f.pshift : (i+1)<<f.pshift]
			clear(pg[copy(pg, p.data):])
		}
	}
	return vfs.ESUCCESS
}

// WriteAt implements vfs.File.WriteAt. Errors: EBADF, EISDIR, EINVAL, EFBIG, ENOSPC, EROFS,
// EIO.
func (h *file) WriteAt(p []byte, off int64) (int, vfs.Errno) {
	f := h.fs
	f.mu.Lock()
	defer f.mu.Unlock()
	if e := h.writable(); e != vfs.ESUCCESS {
		return 0, e
	}
	if off < 0 {
		return 0, vfs.EINVAL
	}
	return h.writeLocked(p, off, false)
}

// Append implements vfs.File.Append. Errors: as WriteAt.
func (h *file) Append(p []byte) (int, int64, vfs.Errno) {
	f := h.fs
	f.mu.Lock()
	defer f.mu.Unlock()
	if e := h.writable(); e != vfs.ESUCCESS {
		return 0, h.n.size, e
	}
	n, e := h.writeLocked(p, 0, true)
	return n, h.n.size, e
}

func (h *file) writable() vfs.Errno {
	switch {
	case h.closed || h.fs.closed:
		return vfs.EBADF
	case h.n.typ == vfs.TypeDir:
		return vfs.EISDIR
	case h.flags&vfs.OpenWrite == 0:
		return vfs.EBADF
	case h.fs.readOnly:
		return vfs.EROFS
	case h.n.typ != vfs.TypeRegular:
		return vfs.EINVAL
	}
	return vfs.ESUCCESS
}

// writeLocked writes p at off, or at the end of the file if appending. It may first wait
// (releasing f.mu) for the commit in flight when the cache is full of dirty pages; everything
// after that wait happens without releasing f.mu, so an append is atomic.
func (h *file) writeLocked(p []byte, off int64, appending bool) (int, vfs.Errno) {
	f, n := h.fs, h.n
	if len(p) == 0 {
		return 0, vfs.ESUCCESS
	}
	if e := f.makeRoomLocked(); e != vfs.ESUCCESS {
		return 0, e
	}
	if h.closed || f.closed || n.deleted {
		return 0, vfs.EBADF
	}
	if appending {
		off = n.size
	}
	if off > MaxFileSize || int64(len(p)) > MaxFileSize-off {
		return 0, vfs.EFBIG
	}
	end := off + int64(len(p))
	if f.quota > 0 && end > n.size && f.bytes+end-n.size > f.quota {
		return 0, vfs.ENOSPC
	}
	done := 0
	for pos := off; pos < end; {
		idx := uint64(pos >> f.pshift)
		po := pos & (f.ps - 1)
		c := min(f.ps-po, end-pos)
		pg, e := f.writePageLocked(n, idx, po, po+c)
		if e != vfs.ESUCCESS {
			h.grow(off + int64(done))
			return done, e
		}
		copy(pg.data[po:po+c], p[done:done+int(c)])
		done += int(c)
		pos += c
	}
	h.grow(end)
	n.mod++
	t := now()
	n.mtime, n.ctime = t, t
	f.markDirty(n)
	if f.wantCommitLocked() {
		f.startCommitLocked(bySize)
	}
	return done, vfs.ESUCCESS
}

// grow raises the size of h's file to end if it is smaller.
func (h *file) grow(end int64) {
	if n := h.n; end > n.size {
		h.fs.bytes += end - n.size
		n.size = end
	}
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
// for one batch. Errors: EIO.
func (f *FS) dirBatchLocked(d *inode, cookie uint64, batch []dirItem) ([]dirItem, vfs.Errno) {
	cached := func(from, to uint64, batch []dirItem) []dirItem {
		f.seqs.Ascend(&dent{parent: d.ino, seq: from}, func(e *dent) bool {
			if e.parent != d.ino || e.seq > to {
				return false
			}
			batch = append(batch, dirItem{e.seq, e.ino, e.typ, e.name})
			return len(batch) < dirBatch || to != math.MaxUint64
		})
		return batch
	}
	if !d.listed && d.stored && d.nent <= uint64(min(1024, f.meta.max/8)) {
		if e := f.listLocked(d); e != vfs.ESUCCESS {
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
		err := f.store.View(func(r kv.Reader) error {
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
		if err != nil {
			return batch, errnoOf(err)
		}
		if bad {
			return batch, vfs.EIO
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

// listLocked makes sure every entry of directory d is in f.names and f.seqs: it loads those
// of the store with one range scan of d's dirseqs keys. A name already cached is newer than
// the store and stays as it is. Errors: EIO.
func (f *FS) listLocked(d *inode) vfs.Errno {
	if d.listed || !d.stored {
		d.listed = true
		return vfs.ESUCCESS
	}
	var loaded []*dent
	bad := false
	err := f.store.View(func(r kv.Reader) error {
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
	if err != nil {
		return errnoOf(err)
	}
	if bad {
		return vfs.EIO
	}
	for _, e := range loaded {
		if _, ok := f.names.Get(e); ok {
			continue
		}
		if _, ok := f.seqs.Get(e); ok {
			continue // another name took the seq meanwhile (renumbered): the cache is newer
		}
		f.names.Set(e)
		f.seqs.Set(e)
	}
	d.listed = true
	return vfs.ESUCCESS
}

// Sync implements vfs.File.Sync: it commits every change of the whole FS (Commit), so that
// the file's data and metadata are durable when it returns. With nothing dirty it writes
// nothing. Errors: EBADF, EIO, ENOSPC.
func (h *file) Sync(dataOnly bool) vfs.Errno {
	f := h.fs
	f.mu.Lock()
	defer f.mu.Unlock()
	if h.closed || f.closed {
		return vfs.EBADF
	}
	if f.readOnly {
		return vfs.ESUCCESS
	}
	return f.commitLocked(bySync)
}

// Close implements vfs.File.Close. The last Close of an unlinked inode frees it. Errors:
// EBADF (second Close).
func (h *file) Close() vfs.Errno {
	f := h.fs
	f.mu.Lock()
	defer f.unlock()
	if h.closed {
		return vfs.EBADF
	}
	h.closed = true
	h.win = nil
	n := h.n
	n.opens--
	if n.opens == 0 && n.nlink == 0 && !n.deleted && !f.closed {
		f.freeLocked(n)
	}
	return vfs.ESUCCESS
}
