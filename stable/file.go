package stable

import (
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
//
// Pages the cache does not have are read from the store without f.mu (see read.go). The read
// is atomic all the same: if the file's data changed while f.mu was released, it starts over,
// so that every byte it returns is the file's as of its last hold of f.mu.
func (h *file) ReadAt(p []byte, off int64) (int, vfs.Errno) {
	f := h.fs
	f.mu.Lock()
	defer f.unlock()
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
	if len(p) == 0 {
		return 0, vfs.ESUCCESS
	}
	sequential := off == h.readEnd
	var ahead uint64
	if sequential {
		ahead = maxReadAhead
	}
	tries := 0 // store reads so far without f.mu
restart:
	if off >= n.size {
		return 0, vfs.ESUCCESS
	}
	end := min(off+int64(len(p)), n.size)
	mod := n.mod
	done := 0
	for pos := off; pos < end; {
		idx := uint64(pos >> f.pshift)
		po := pos & (f.ps - 1)
		c := min(f.ps-po, end-pos)
		unlocked := tries < maxUnlockedTries
		if po == 0 && c == f.ps && n.pages[idx] == nil {
			// Whole pages that are not cached are copied straight from the store into p,
			// without going through (and churning) the cache.
			k := f.directRun(n, idx, uint64((end-pos)>>f.pshift))
			if k > 1 {
				f.stats.CacheMisses += int64(k)
				stale, e := f.readDirect(n, p[done:done+int(k)<<f.pshift], idx, unlocked)
				if unlocked {
					tries++
					switch {
					case h.closed || f.closed:
						return 0, vfs.EBADF
					case n.mod != mod:
						goto restart
					}
				}
				if e != vfs.ESUCCESS {
					return done, e
				}
				if !stale {
					done += int(k) << f.pshift
					pos += int64(k) << f.pshift
				}
				continue
			}
		}
		var data []byte
		if sequential && n.pages[idx] == nil {
			// A sequential reader of pages not cached reads through its window.
			if !h.inWindow(idx) {
				e := h.fillWindow(idx, unlocked)
				if unlocked {
					tries++
					switch {
					case h.closed || f.closed:
						return 0, vfs.EBADF
					case n.mod != mod:
						goto restart
					}
				}
				if e != vfs.ESUCCESS {
					return done, e
				}
				if !h.inWindow(idx) || n.pages[idx] != nil {
					continue // stale, or cached meanwhile: look again
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
			data, e = f.readPageLocked(n, idx, max(ahead, last-idx), unlocked)
			if e == eMiss {
				e = f.fill(tries)
				tries++
				switch {
				case h.closed || f.closed:
					return 0, vfs.EBADF
				case n.mod != mod:
					goto restart
				case e == vfs.ESUCCESS:
					continue // the page is cached now, or a hole (or was lost again: fetch again)
				}
			}
			if e != vfs.ESUCCESS {
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

// inWindow reports whether h's read-ahead window holds page idx of its file as it is now.
func (h *file) inWindow(idx uint64) bool {
	return h.winMod == h.n.mod && idx >= h.winIdx && idx < h.winIdx+uint64(len(h.win)>>h.fs.pshift)
}

// fillWindow fills h's read-ahead window with the pages of its file from idx on, without f.mu
// if unlocked (see read.go). If what it read may be stale, it leaves the window empty.
func (h *file) fillWindow(idx uint64, unlocked bool) vfs.Errno {
	f, n := h.fs, h.n
	count := min(uint64(windowPages), f.pageCount(n.size)-idx)
	// The window is h's own, but another ReadAt of h may run while f.mu is released: it
	// finds no window meanwhile.
	buf := h.win
	h.win = nil
	if buf == nil {
		buf = make([]byte, windowPages<<f.pshift)
	}
	buf = buf[:count<<f.pshift]
	mod := n.mod
	stale, e := f.readDirect(n, buf, idx, unlocked)
	if e != vfs.ESUCCESS {
		return e
	}
	h.win, h.winIdx, h.winMod = buf, idx, mod
	if stale {
		h.win = buf[:0]
		return vfs.ESUCCESS
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
	defer f.unlock()
	if e := h.writable(); e != vfs.ESUCCESS {
		return 0, e
	}
	if off < 0 {
		return 0, vfs.EINVAL
	}
	return h.write(p, off, false)
}

// Append implements vfs.File.Append. Errors: as WriteAt.
func (h *file) Append(p []byte) (int, int64, vfs.Errno) {
	f := h.fs
	f.mu.Lock()
	defer f.unlock()
	if e := h.writable(); e != vfs.ESUCCESS {
		return 0, h.n.size, e
	}
	n, e := h.write(p, 0, true)
	return n, h.n.size, e
}

// write writes p at off, or at the end of the file if appending, reading the pages it writes
// in part from the store first if the cache does not have them (see read.go).
func (h *file) write(p []byte, off int64, appending bool) (int, vfs.Errno) {
	f := h.fs
	for try := 0; ; try++ {
		n, e := h.writeLocked(p, off, appending, try < maxUnlockedTries)
		if e != eMiss {
			return n, e
		}
		e = f.fill(try)
		if h.closed || f.closed {
			return 0, vfs.EBADF
		}
		if e != vfs.ESUCCESS {
			return 0, e
		}
	}
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
// after that wait happens without releasing f.mu, so an append is atomic. If mayMiss is set
// and a page written in part must be read from the store, it returns eMiss before it changes
// anything; otherwise such pages are read under f.mu. Errors: those of WriteAt, eMiss.
func (h *file) writeLocked(p []byte, off int64, appending, mayMiss bool) (int, vfs.Errno) {
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
	first, last := uint64(off>>f.pshift), uint64((end-1)>>f.pshift)
	if mayMiss && ((off&(f.ps-1) != 0 || end < int64(first+1)<<f.pshift) && f.pageMissLocked(n, first) ||
		last != first && end&(f.ps-1) != 0 && f.pageMissLocked(n, last)) {
		return 0, eMiss
	}
	n.mod++ // before the first page changes: a reader without f.mu must know (see read.go)
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

// Sync implements vfs.File.Sync: it commits every change of the whole FS (Commit), so that
// the file's data and metadata are durable when it returns. With nothing dirty it writes
// nothing. Errors: EBADF, EIO, ENOSPC.
func (h *file) Sync(dataOnly bool) vfs.Errno {
	f := h.fs
	f.mu.Lock()
	defer f.unlock()
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
