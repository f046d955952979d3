package stable

import (
	"encoding/binary"
	"math/bits"
	"slices"

	"github.com/tidwall/btree"

	"github.com/wasmrun/wasmrun/stable/internal/kv"
	"github.com/wasmrun/wasmrun/vfs"
)

// The page cache: the cached pages of regular files, each in one of three states (below), and
// the spare page buffers writers reuse. Invariants, under FS.mu:
//   - a page is in its inode's pages map while cached; a dirty page is in dirtyPages, a clean
//     one on the LRU list, a frozen one in the batch of the commit in flight only;
//   - dirtyBytes, flightBytes and cleanBytes are the buffer capacities (charge) of the dirty,
//     committing and clean pages; together with the spare buffers they stay within
//     pageLimit (writers wait in makeRoomLocked, clean pages are evicted);
//   - a page not cached, below its file's size and not cut off by a pending truncation
//     (inode.deadFrom) is as the store has it; a clean page is as the store has it;
//   - a frozen page's data is the commit's: it is never written (copy on write) nor reused.

// pageCache is the page cache's state beyond the pages maps of the inodes.
type pageCache struct {
	dirtyPages  *btree.BTreeG[*page] // by (inode, index): the commit writes them in key order
	dirtyBytes  int64                // bytes of dirty pages
	dirtyRuns   int                  // runs of adjacent dirty pages, about (see setDirtyLocked)
	flightBytes int64                // bytes of the pages of the commit in flight
	lru         pageList             // clean pages, least recently used last
	cleanBytes  int64
	free        [][]byte // spare page buffers, for reuse
}

// Page states.
const (
	pageClean  = iota // same as in the store; on the LRU list
	pageDirty         // changed since the last commit was taken; in pageCache.dirtyPages
	pageFrozen        // taken by the commit in flight: its data must not change (copy on write)
)

// page is one cached file page. data holds a prefix of the page: the bytes past len(data), up
// to the page size, are zeros (nil data is a page of zeros). So a small file costs a small
// buffer, and a page is stored with its trailing zeros cut off.
type page struct {
	n          *inode
	idx        uint64
	data       []byte
	charge     int64 // bytes counted for it in pageCache.dirtyBytes or pageCache.cleanBytes (0 when frozen)
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

// newBuf returns a buffer of length n (at most the page size) whose content is undefined.
// Buffers of more than half a page, or wanted whole, are page-sized, from the spare ones if
// any; smaller ones (the pages of small files) are rounded up to a power of two.
func (f *FS) newBuf(n int, whole bool) []byte {
	if whole || int64(n) > f.ps/2 {
		if k := len(f.pc.free); k > 0 {
			b := f.pc.free[k-1]
			f.pc.free = f.pc.free[:k-1]
			return b[:n]
		}
		// With the cache full, the least recently used clean page gives its buffer up.
		for f.pageBytes()+f.ps > f.pageLimit() && f.pc.lru.tail != nil {
			if b := f.evictTailLocked(); int64(cap(b)) == f.ps {
				return b[:n]
			}
		}
		return make([]byte, n, f.ps)
	}
	return f.allocBuf(n)
}

// takeSpare takes up to k spare page buffers, for a read from the store that may run
// without f.mu (loadPages); the caller gives back those it did not use with freeBuf. It never
// takes the buffer of a clean page: loadPages evicts once the pages it read are in.
func (f *FS) takeSpare(k int) [][]byte {
	k = min(k, len(f.pc.free))
	if k == 0 {
		return nil
	}
	rest := len(f.pc.free) - k
	spare := slices.Clone(f.pc.free[rest:]) // f.pc.free's array is appended to meanwhile
	clear(f.pc.free[rest:])
	f.pc.free = f.pc.free[:rest]
	return spare
}

// allocBuf returns a fresh buffer of length n (at most the page size): page-sized if n is
// more than half a page, else rounded up to a power of two (as newBuf does). It needs no lock.
func (f *FS) allocBuf(n int) []byte {
	if int64(n) > f.ps/2 {
		return make([]byte, n, f.ps)
	}
	c := 64
	if n > c {
		c = 1 << bits.Len(uint(n-1))
	}
	return make([]byte, n, c)
}

// freeBuf keeps b for reuse if it is page-sized and the spare buffers fit in the room dirty
// and committing pages leave in the cache: a writer streaming a big file then writes into the
// buffers its last commits gave back rather than into fresh memory, which costs a page fault
// and zeroing per 4 KiB (a third of the CPU time of a 1 MiB sequential write). Dirty,
// committing and spare page buffers together stay within CacheBytes; the background committer
// gives back those beyond a quarter of it when nothing was written for CommitInterval
// (trimSpareLocked). b must not be referenced any more.
func (f *FS) freeBuf(b []byte) {
	if spare := int64(len(f.pc.free)+1) * f.ps; int64(cap(b)) == f.ps &&
		spare+f.pc.dirtyBytes+f.pc.flightBytes <= f.cacheCap && f.pageBytes()+f.ps <= f.pageLimit() {
		f.pc.free = append(f.pc.free, b[:0])
	}
}

// pageBytes returns the page memory of the cache: dirty, committing, clean and spare.
func (f *FS) pageBytes() int64 {
	return f.pc.dirtyBytes + f.pc.flightBytes + f.pc.cleanBytes + int64(len(f.pc.free))*f.ps
}

// pageLimit returns the most page memory the cache holds: CacheBytes and an eighth. Dirty,
// committing and spare pages take at most CacheBytes (writers wait beyond it), so clean pages
// always have an eighth of it, and all of the room the others leave.
func (f *FS) pageLimit() int64 { return f.cacheCap + f.cacheCap/8 }

// trimSpareLocked drops the spare page buffers beyond a quarter of the cache size.
func (f *FS) trimSpareLocked() {
	if keep := int(f.cacheCap / 4 / f.ps); len(f.pc.free) > keep {
		clear(f.pc.free[keep:])
		f.pc.free = f.pc.free[:keep]
	}
}

// trimZeros returns b without its trailing zero bytes.
func trimZeros(b []byte) []byte {
	i := len(b)
	for i >= 8 && binary.LittleEndian.Uint64(b[i-8:i]) == 0 {
		i -= 8
	}
	for i > 0 && b[i-1] == 0 {
		i--
	}
	return b[:i]
}

// deadFrom returns the first page index from which n's pages in the store are dead (pending
// truncations), or noTrunc.
func (n *inode) deadFrom() uint64 { return min(n.truncDirty, n.truncFlight) }

// pageCount returns the number of pages a file of size bytes spans.
func (f *FS) pageCount(size int64) uint64 { return uint64((size + f.ps - 1) >> f.pshift) }

// readPageLocked returns the data of page idx of n for reading (a prefix of the page, the rest
// zeros; nil for a page of zeros). ahead is how many pages after idx to fetch along if idx
// must be read from the store. If it must, and mayMiss is set, it returns eMiss (see fill);
// otherwise it reads under f.mu. The slice is valid until f.mu is released. Errors: EIO, eMiss.
func (f *FS) readPageLocked(n *inode, idx uint64, ahead uint64, mayMiss bool) ([]byte, vfs.Errno) {
	if p := n.pages[idx]; p != nil {
		if p.state == pageClean {
			f.pc.lru.touch(p)
		}
		if p == f.rd.filled {
			f.rd.filled = nil // this read's fill counted it as a miss
		} else {
			f.stats.CacheHits++
		}
		return p.data, vfs.ESUCCESS
	}
	p, e := f.fetchLocked(n, idx, idx+1+ahead, mayMiss)
	if p == nil || e != vfs.ESUCCESS {
		return nil, e
	}
	return p.data, vfs.ESUCCESS
}

// fetchLocked returns page from of n, which the cache does not have, reading the pages
// [from, to) of n from the store into the cache as clean pages: nil if it is a hole. If it
// must read and mayMiss is set, it returns eMiss instead (see fill). Errors: EIO, eMiss.
func (f *FS) fetchLocked(n *inode, from, to uint64, mayMiss bool) (*page, vfs.Errno) {
	to = min(to, from+1+maxReadAhead, f.pageCount(n.size), n.deadFrom())
	if from >= to || (from >= n.holeLo && from < n.holeHi) {
		f.stats.CacheHits++ // a hole the cache knows of, or a page past the end or cut off
		return nil, vfs.ESUCCESS
	}
	if mayMiss {
		f.rd.miss = miss{kind: missPages, n: n, from: from, to: to}
		return nil, eMiss
	}
	if e := f.loadPages(n, from, to, false); e != vfs.ESUCCESS {
		return nil, e
	}
	f.rd.filled = nil // the caller counts no hit for it
	p := n.pages[from]
	if p != nil && p.state == pageClean {
		f.pc.lru.touch(p) // the caller is about to use it: do not evict it now
	}
	return p, vfs.ESUCCESS
}

// pageMissLocked reports whether page idx of n must be read from the store (the cache does
// not have it, and it is not known to be a hole, past the end or cut off), and if so records
// the miss (see fill).
func (f *FS) pageMissLocked(n *inode, idx uint64) bool {
	if n.pages[idx] != nil || idx >= min(f.pageCount(n.size), n.deadFrom()) || (idx >= n.holeLo && idx < n.holeHi) {
		return false
	}
	f.rd.miss = miss{kind: missPages, n: n, from: idx, to: idx + 1}
	return true
}

// loadPages reads the pages [from, to) of n from the store into the cache as clean pages,
// keeping the cached ones (they are newer); see fill. It counts a cache miss. Errors: EIO.
func (f *FS) loadPages(n *inode, from, to uint64, unlocked bool) vfs.Errno {
	f.stats.CacheMisses++
	ino := uint64(n.ino)
	next := uint64(noTrunc) // the first page at or after from in the store
	type loaded struct {
		idx  uint64
		data []byte
	}
	got := make([]loaded, 0, to-from)
	// Page-sized buffers come from the spare ones, taken now: the read may run without f.mu.
	spare := f.takeSpare(int(to - from))
	bad := false
	mod, commits := n.mod, n.commits
	err := f.readStore(unlocked, func(r kv.Reader) error {
		last := uint64(0)
		return r.Scan(bPages, pairKey(ino, from), pairKey(ino+1, 0), func(k, v []byte) bool {
			if len(k) != 16 || binary.BigEndian.Uint64(k) != ino {
				bad = true // a damaged store whose keys are out of order
				return false
			}
			idx := binary.BigEndian.Uint64(k[8:])
			if next == noTrunc {
				next = idx
			} else if idx <= last {
				bad = true
				return false
			}
			last = idx
			if idx >= to {
				return false
			}
			if len(v) == 0 || int64(len(v)) > f.ps || idx < from {
				bad = true
				return false
			}
			var b []byte
			if k := len(spare); k > 0 && int64(len(v)) > f.ps/2 {
				b, spare = spare[k-1][:len(v)], spare[:k-1]
			} else {
				b = f.allocBuf(len(v))
			}
			copy(b, v)
			got = append(got, loaded{idx, b})
			return true
		})
	})
	for _, b := range spare {
		f.freeBuf(b)
	}
	switch {
	case err != nil:
		return errnoOf(err)
	case bad:
		return vfs.EIO // a stored page of the wrong size
	case f.meta.inodes[n.ino] != n || n.mod != mod || n.commits != commits:
		// n was evicted (an inode that is not open), changed, or had a commit meanwhile:
		// what was read may be stale. The caller looks again.
		for _, l := range got {
			f.freeBuf(l.data)
		}
		return vfs.ESUCCESS
	}
	f.stats.PagesRead += int64(len(got))
	end := min(f.pageCount(n.size), n.deadFrom())
	for _, l := range got {
		if n.pages[l.idx] != nil || l.idx >= end {
			f.freeBuf(l.data)
			continue
		}
		p := &page{n: n, idx: l.idx, data: l.data, charge: int64(cap(l.data))}
		n.setPage(l.idx, p)
		f.pc.lru.pushFront(p)
		f.pc.cleanBytes += p.charge
	}
	if next != from {
		n.holeLo, n.holeHi = from, next
	}
	if p := n.pages[from]; p != nil && p.state == pageClean {
		f.pc.lru.touch(p) // the caller is about to use it: do not evict it now
		f.rd.filled = p
	}
	f.evictLocked()
	return vfs.ESUCCESS
}

// maxDirect is the most pages one store transaction copies straight into a reader's buffer.
const maxDirect = 256

// directRun returns how many of the at most max pages of n from idx on are not cached.
func (f *FS) directRun(n *inode, idx, max uint64) uint64 {
	k := uint64(0)
	for k < max && k < maxDirect && n.pages[idx+k] == nil {
		k++
	}
	return k
}

// readDirect fills dst, a whole number of pages, with pages of n from idx on as the store has
// them (the caller overlays the cached ones), without f.mu if unlocked (see read.go). It
// reports whether what it read may be stale: n's data changed or a commit of n finished
// meanwhile, and the caller must look again. dst must be the caller's alone. Errors: EIO.
func (f *FS) readDirect(n *inode, dst []byte, idx uint64, unlocked bool) (stale bool, _ vfs.Errno) {
	count := uint64(len(dst)) >> f.pshift
	to := min(idx+count, n.deadFrom()) // pages from the first dead one are zeros
	filled := uint64(0)                // pages of dst done
	bad := false
	var found int64
	if idx < to {
		ino := uint64(n.ino)
		mod, commits := n.mod, n.commits
		err := f.readStore(unlocked, func(r kv.Reader) error {
			return r.Scan(bPages, pairKey(ino, idx), pairKey(ino, to), func(k, v []byte) bool {
				// A damaged store whose keys are out of order may give any key here.
				if len(k) != 16 || binary.BigEndian.Uint64(k) != ino {
					bad = true
					return false
				}
				i := binary.BigEndian.Uint64(k[8:]) - idx
				if len(v) == 0 || int64(len(v)) > f.ps || i < filled || i >= count {
					bad = true
					return false
				}
				clear(dst[filled<<f.pshift : i<<f.pshift]) // holes
				pg := dst[i<<f.pshift : (i+1)<<f.pshift]
				clear(pg[copy(pg, v):])
				filled = i + 1
				found++
				return true
			})
		})
		switch {
		case err != nil:
			return false, errnoOf(err)
		case bad:
			return false, vfs.EIO
		case n.mod != mod || n.commits != commits:
			return true, vfs.ESUCCESS
		}
	}
	clear(dst[filled<<f.pshift:])
	f.stats.PagesRead += found
	return false, vfs.ESUCCESS
}

// evictLocked drops least recently used clean pages while the cache holds more than its
// page memory bound (pageLimit): clean pages take the room dirty, committing and spare pages
// leave, and at least an eighth of the cache size. (The store's memory map, that is the
// operating system's page cache, caches them too: a clean page evicted costs a copy to read
// again, not a disk read.)
func (f *FS) evictLocked() {
	// The most recently used page stays: it is the one a fetch is about to return.
	for f.pageBytes() > f.pageLimit() && f.pc.lru.tail != nil && f.pc.lru.tail != f.pc.lru.head {
		f.evictTailLocked()
	}
}

// evictTailLocked drops the least recently used clean page from the cache and returns its
// buffer, which nothing references any more: the caller reuses it or lets it go.
func (f *FS) evictTailLocked() []byte {
	p := f.pc.lru.tail
	f.pc.lru.remove(p)
	f.pc.cleanBytes -= p.charge
	n := p.n
	delete(n.pages, p.idx)
	if p.idx >= n.holeLo && p.idx < n.holeHi {
		n.holeLo, n.holeHi = 0, 0
	}
	b := p.data
	p.data, p.charge = nil, 0
	return b
}

// writePageLocked returns page idx of n, dirty, with data at least end bytes long, ready for
// the caller to write bytes [start, end) of it. Errors: EIO.
func (f *FS) writePageLocked(n *inode, idx uint64, start, end int64) (*page, vfs.Errno) {
	// A page of a file bigger than half a page gets a whole buffer at once: it will most
	// likely fill up, and growing it piece by piece would copy it each time.
	whole := n.size > f.ps/2 || int64(idx)<<f.pshift+end > f.ps/2
	p := n.pages[idx]
	if p == nil {
		if start > 0 || end < f.ps {
			// Partly written: the rest of the page comes from the store (or is zeros).
			if _, e := f.readPageLocked(n, idx, 0, false); e != vfs.ESUCCESS {
				return nil, e
			}
			p = n.pages[idx]
		}
		if p == nil {
			p = &page{n: n, idx: idx, state: pageDirty}
			n.setPage(idx, p)
			f.setDirtyLocked(p)
			f.noteDirty()
		}
	}
	switch p.state {
	case pageClean:
		f.pc.lru.remove(p)
		f.pc.cleanBytes -= p.charge
		p.charge = 0
		p.state = pageDirty
		f.setDirtyLocked(p)
		f.noteDirty()
	case pageFrozen:
		// The commit in flight owns p.data: copy on write.
		old := p.data
		p.data = f.newBuf(max(len(old), int(end)), whole)[:len(old)]
		copy(p.data, old)
		p.charge = 0
		p.state = pageDirty
		f.setDirtyLocked(p)
		f.noteDirty()
	}
	if l := int64(len(p.data)); end > l {
		if end <= int64(cap(p.data)) {
			p.data = p.data[:end]
		} else {
			nb := f.newBuf(int(end), whole)
			copy(nb, p.data)
			f.freeBuf(p.data)
			p.data = nb
		}
		if start > l {
			clear(p.data[l:start]) // the caller writes [start, end)
		}
	}
	if c := int64(cap(p.data)); c != p.charge {
		f.pc.dirtyBytes += c - p.charge
		p.charge = c
		f.noteDirtyPeak()
		f.evictLocked()
	}
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
			f.pc.lru.remove(p)
			f.pc.cleanBytes -= p.charge
			f.freeBuf(p.data)
		case pageDirty:
			f.pc.dirtyPages.Delete(p)
			f.pc.dirtyBytes -= p.charge
			f.freeBuf(p.data)
		case pageFrozen:
			// The commit in flight still writes p.data; it is not reused.
		}
		p.data, p.charge = nil, 0
	}
}

// truncateLocked changes the size of regular file n to size, which differs from n.size. Bytes
// past a new, smaller size are cut from the last page and the pages past it are dropped (and
// deleted from the store at the next commit), so that growing the file again reads zeros.
// Errors: EIO.
func (f *FS) truncateLocked(n *inode, size int64) vfs.Errno {
	if size < n.size {
		keep := f.pageCount(size) // pages that keep some data
		if off := size & (f.ps - 1); off != 0 {
			idx := keep - 1
			data, e := f.readPageLocked(n, idx, 0, true)
			if e != vfs.ESUCCESS {
				return e
			}
			if int64(len(data)) > off {
				p, e := f.writePageLocked(n, idx, off, off)
				if e != vfs.ESUCCESS {
					return e
				}
				p.data = p.data[:off]
			}
		}
		f.dropPagesLocked(n, keep)
		// Pages from keep on must go from the store. (A commit in flight may delete from an
		// earlier index, but it may also put pages written after that truncation: it does not
		// make this one needless.)
		n.truncDirty = min(n.truncDirty, keep)
	}
	f.bytes += size - n.size
	n.size = size
	n.mod++
	f.markDirty(n)
	return vfs.ESUCCESS
}

// setDirtyLocked adds p, just made dirty, to the dirty set, and counts the runs of adjacent
// dirty pages the set is made of (see wantCommitLocked): p starts a new run unless the page
// before it in its file is dirty too. The count only grows until the set is taken.
func (f *FS) setDirtyLocked(p *page) {
	f.pc.dirtyPages.Set(p)
	if p.idx == 0 {
		f.pc.dirtyRuns++
		return
	}
	if q := p.n.pages[p.idx-1]; q == nil || q.state != pageDirty {
		f.pc.dirtyRuns++
	}
}
