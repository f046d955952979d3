package stable

import (
	"encoding/binary"

	"github.com/wasmrun/wasmrun/stable/internal/kv"
	"github.com/wasmrun/wasmrun/vfs"
)

// Page states.
const (
	pageClean  = iota // same as in the store; on the LRU list
	pageDirty         // changed since the last commit was taken; in FS.dirtyPages
	pageFrozen        // taken by the commit in flight: its data must not change (copy on write)
)

// page is one cached file page. data is nil for a page of zeros (only for dirty and frozen
// pages: it is deleted from the store at commit); otherwise it has the page size.
type page struct {
	n          *inode
	idx        uint64
	data       []byte
	state      uint8
	prev, next *page // the LRU list, for clean pages
}

func pageLess(a, b *page) bool {
	if a.n.ino != b.n.ino {
		return a.n.ino < b.n.ino
	}
	return a.idx < b.idx
}

// pageList is a doubly linked list of clean pages, most recently used first.
type pageList struct {
	head, tail *page
}

func (l *pageList) pushFront(p *page) {
	p.prev, p.next = nil, l.head
	if l.head != nil {
		l.head.prev = p
	} else {
		l.tail = p
	}
	l.head = p
}

func (l *pageList) remove(p *page) {
	if p.prev != nil {
		p.prev.next = p.next
	} else {
		l.head = p.next
	}
	if p.next != nil {
		p.next.prev = p.prev
	} else {
		l.tail = p.prev
	}
	p.prev, p.next = nil, nil
}

func (l *pageList) touch(p *page) {
	if l.head != p {
		l.remove(p)
		l.pushFront(p)
	}
}

// maxFree is how many spare page buffers an FS keeps for reuse.
const maxFree = 64

// newBuf returns a page buffer; its content is undefined unless zero is set.
func (f *FS) newBuf(zero bool) []byte {
	if n := len(f.free); n > 0 {
		b := f.free[n-1]
		f.free = f.free[:n-1]
		if zero {
			clear(b)
		}
		return b
	}
	return make([]byte, f.ps)
}

func (f *FS) freeBuf(b []byte) {
	if b != nil && len(f.free) < maxFree {
		f.free = append(f.free, b)
	}
}

// deadFrom returns the first page index from which n's pages in the store are dead (pending
// truncations), or noTrunc.
func (n *inode) deadFrom() uint64 { return min(n.truncDirty, n.truncFlight) }

// pageCount returns the number of pages a file of size bytes spans.
func (f *FS) pageCount(size int64) uint64 { return uint64((size + f.ps - 1) >> f.pshift) }

// readPageLocked returns the data of page idx of n for reading: nil for a page of zeros. ahead
// is how many pages after idx to fetch along if idx must be read from the store. Errors: EIO.
func (f *FS) readPageLocked(n *inode, idx uint64, ahead uint64) ([]byte, vfs.Errno) {
	if p := n.pages[idx]; p != nil {
		if p.state == pageClean {
			f.lru.touch(p)
		}
		return p.data, vfs.ESUCCESS
	}
	p, e := f.fetchLocked(n, idx, idx+1+ahead)
	if p == nil || e != vfs.ESUCCESS {
		return nil, e
	}
	return p.data, vfs.ESUCCESS
}

// fetchLocked reads the pages [from, to) of n from the store into the cache as clean pages,
// keeping the cached ones (they are newer), and returns the page at from: nil if it is a hole.
// Errors: EIO.
func (f *FS) fetchLocked(n *inode, from, to uint64) (*page, vfs.Errno) {
	to = min(to, from+1+maxReadAhead, f.pageCount(n.size), n.deadFrom())
	if from >= to || (from >= n.holeLo && from < n.holeHi) {
		return nil, vfs.ESUCCESS
	}
	ino := uint64(n.ino)
	next := uint64(noTrunc) // the first page at or after from in the store
	var loaded int64
	err := f.store.View(func(r kv.Reader) error {
		return r.Scan(bPages, pairKey(ino, from), pairKey(ino+1, 0), func(k, v []byte) bool {
			idx := binary.BigEndian.Uint64(k[8:])
			if next == noTrunc {
				next = idx
			}
			if idx >= to {
				return false
			}
			if n.pages[idx] == nil && len(v) == int(f.ps) {
				p := &page{n: n, idx: idx, data: f.newBuf(false)}
				copy(p.data, v)
				n.pages[idx] = p
				f.lru.pushFront(p)
				f.cleanBytes += f.ps
				loaded++
			}
			return true
		})
	})
	if err != nil {
		return nil, errnoOf(err)
	}
	f.stats.PagesRead += loaded
	if next != from {
		n.holeLo, n.holeHi = from, next
	}
	p := n.pages[from]
	if p != nil && p.state == pageClean {
		f.lru.touch(p) // the caller is about to use it: do not evict it now
	}
	f.evictLocked()
	if p == nil && next == from {
		return nil, vfs.EIO // a stored page of the wrong size
	}
	return p, vfs.ESUCCESS
}

// evictLocked drops least recently used clean pages while they take more than the cache size.
func (f *FS) evictLocked() {
	for f.cleanBytes > f.cacheCap && f.lru.tail != nil {
		p := f.lru.tail
		f.lru.remove(p)
		f.cleanBytes -= f.ps
		n := p.n
		delete(n.pages, p.idx)
		if p.idx >= n.holeLo && p.idx < n.holeHi {
			n.holeLo, n.holeHi = 0, 0
		}
		f.freeBuf(p.data)
		p.data = nil
	}
}

// writePageLocked returns page idx of n ready to be changed: dirty, with data (zeroed past the
// end of the file). full says the caller overwrites the whole page, so its old content need not
// be read. Errors: EIO.
func (f *FS) writePageLocked(n *inode, idx uint64, full bool) (*page, vfs.Errno) {
	p := n.pages[idx]
	if p == nil {
		var data []byte
		if !full {
			old, e := f.readPageLocked(n, idx, 0)
			if e != vfs.ESUCCESS {
				return nil, e
			}
			// The fetch may have cached the page clean: take it from there.
			if p = n.pages[idx]; p == nil && old != nil {
				return nil, vfs.EIO
			}
		}
		if p == nil {
			data = f.newBuf(!full)
			p = &page{n: n, idx: idx, data: data, state: pageDirty}
			n.pages[idx] = p
			f.dirtyPages.Set(p)
			f.dirtyBytes += f.ps
			f.noteDirty()
			return p, vfs.ESUCCESS
		}
	}
	switch p.state {
	case pageClean:
		f.lru.remove(p)
		f.cleanBytes -= f.ps
	case pageFrozen:
		// The commit in flight owns p.data: copy on write.
		if p.data != nil {
			d := f.newBuf(false)
			copy(d, p.data)
			p.data = d
		}
	case pageDirty:
		if p.data == nil {
			p.data = f.newBuf(true)
		}
		return p, vfs.ESUCCESS
	}
	if p.data == nil {
		p.data = f.newBuf(true)
	}
	p.state = pageDirty
	f.dirtyPages.Set(p)
	f.dirtyBytes += f.ps
	f.noteDirty()
	return p, vfs.ESUCCESS
}

// dropPagesLocked removes n's cached pages at or past index from from the cache.
func (f *FS) dropPagesLocked(n *inode, from uint64) {
	for idx, p := range n.pages {
		if idx < from {
			continue
		}
		delete(n.pages, idx)
		switch p.state {
		case pageClean:
			f.lru.remove(p)
			f.cleanBytes -= f.ps
			f.freeBuf(p.data)
		case pageDirty:
			f.dirtyPages.Delete(p)
			f.dirtyBytes -= f.ps
			f.freeBuf(p.data)
		case pageFrozen:
			// The commit in flight still writes p.data; it is not reused.
		}
		p.data = nil
	}
}

// truncateLocked changes the size of regular file n to size, which differs from n.size. Bytes
// past a new, smaller size are zeroed in the last page and the pages past it are dropped (and
// deleted from the store at the next commit), so that growing the file again reads zeros.
// Errors: EIO.
func (f *FS) truncateLocked(n *inode, size int64) vfs.Errno {
	if size < n.size {
		keep := f.pageCount(size) // pages that keep some data
		if off := size & (f.ps - 1); off != 0 {
			idx := keep - 1
			data, e := f.readPageLocked(n, idx, 0)
			if e != vfs.ESUCCESS {
				return e
			}
			if data != nil {
				p, e := f.writePageLocked(n, idx, false)
				if e != vfs.ESUCCESS {
					return e
				}
				clear(p.data[off:])
			}
		}
		f.dropPagesLocked(n, keep)
		if keep < n.deadFrom() && keep < f.pageCount(n.size) {
			n.truncDirty = min(n.truncDirty, keep)
		}
	}
	f.bytes += size - n.size
	n.size = size
	f.markDirty(n)
	return vfs.ESUCCESS
}
