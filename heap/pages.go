package heap

import (
	"bytes"
	"math/bits"

	"github.com/tidwall/btree"
)

// PageSize is the unit in which file data is stored and charged, except for the first page of a
// file (see below).
//
// 16 KiB rather than 4 KiB, because it measured faster on large I/O and no slower on small I/O
// (heap_bench_test.go, on a shared 2-core Xeon, 16 KiB against 4 KiB pages: 1 MiB sequential
// reads 62 µs against 88, 1 MiB overwrites 66 µs against 100, 1 MiB appends 90 µs against 160;
// 4 KiB reads, writes and random reads within the noise of each other, 230 to 550 ns). Pages
// are separate Go allocations, so a bigger page means fewer TLB misses and a longer run for the
// hardware prefetcher per lookup, besides a quarter of the index work.
//
// What a bigger page costs, a small file paying for a whole page, is avoided by letting the
// first page of a file be short: it is allocated at the next power of two (at least minHeadSize)
// of the bytes it holds and grows by doubling, so a 100-byte file costs 128 bytes. Every page
// beyond the first is a full page, so a growing file reallocates only while it is smaller than
// one page. All sizes are Go size classes, so the allocator wastes nothing.
const PageSize = 1 << pageShift

const (
	pageShift   = 14
	pageMask    = PageSize - 1
	minHeadSize = 64
)

// MaxFileSize is the largest size a file may have (EFBIG beyond).
const MaxFileSize = 1 << 62

type page [PageSize]byte

// zeroPage is compared against to find all-zero data, which is never stored.
var zeroPage page

// pageRef is one stored page of a file, beyond the first: the page at byte offset
// idx*PageSize. The first page is inode.head.
type pageRef struct {
	idx  int64
	data *page
}

func pageLess(a, b pageRef) bool { return a.idx < b.idx }

func isZero(b []byte) bool { return bytes.Equal(b, zeroPage[:len(b)]) }

// newPage returns a full page from the pool (or a new one). Its contents are undefined: the
// caller overwrites or clears every byte.
func (fsys *FS) newPage() *page { return fsys.pages.Get().(*page) }

// freePage gives p back to the pool. Pages in the pool are not charged: they were charged while
// in use and the pool only grows when pages are freed, so stored plus pooled pages never exceed
// the most ever stored at once (at most MaxBytes), and the garbage collector drains the pool.
func (fsys *FS) freePage(p *page) { fsys.pages.Put(p) }

// freeBytes releases a page given as a slice: full pages go back to the pool, short first
// pages to the garbage collector. It returns the bytes to uncharge.
func (fsys *FS) freeBytes(b []byte) int64 {
	if len(b) == PageSize {
		fsys.freePage((*page)(b))
	}
	return int64(len(b))
}

// headSize is the allocation size of a first page that must hold need bytes.
func headSize(need int) int {
	if need <= minHeadSize {
		return minHeadSize
	}
	return min(1<<bits.Len(uint(need-1)), PageSize)
}

// pageAt returns the page at index idx (len PageSize, or shorter for the first page), nil for a
// hole. n.mu must be held (shared suffices). hint, the caller's own (nil for none), remembers
// where in the index the last page was found: a read or write of many pages looks each up next
// to the one before instead of from the root, which was 10% of the CPU of a 256 MiB sequential
// write and read back.
func (n *inode) pageAt(idx int64, hint *btree.PathHint) []byte {
	if idx == 0 {
		return n.head
	}
	if n.pages == nil {
		return nil
	}
	if r, ok := n.pages.GetHint(pageRef{idx: idx}, hint); ok {
		return r.data[:]
	}
	return nil
}

// setPage stores the full page p at idx > 0; n.mu must be held exclusively. hint is as for
// pageAt.
func (n *inode) setPage(idx int64, p *page, hint *btree.PathHint) {
	if n.pages == nil {
		n.pages = btree.NewBTreeGOptions(pageLess, btree.Options{NoLocks: true})
	}
	n.pages.SetHint(pageRef{idx: idx, data: p}, hint)
}

// dropPage removes the page at idx and returns its bytes to uncharge; n.mu must be held
// exclusively.
func (n *inode) dropPage(fsys *FS, idx int64, pg []byte) int64 {
	if idx == 0 {
		n.head = nil
	} else {
		n.pages.Delete(pageRef{idx: idx})
	}
	return fsys.freeBytes(pg)
}

// storedBytes is what the pages of n are charged; n.mu must be held.
func (n *inode) storedBytes() int64 {
	b := int64(len(n.head))
	if n.pages != nil {
		b += int64(n.pages.Len()) * PageSize
	}
	return b
}

// readPages copies the file bytes at off into p, holes as zeros. The caller has clipped p to the
// file size. n.mu must be held (shared suffices).
func (n *inode) readPages(p []byte, off int64) {
	var hint btree.PathHint
	for len(p) > 0 {
		idx, po := off>>pageShift, int(off&pageMask)
		c := min(len(p), PageSize-po)
		k := 0
		if pg := n.pageAt(idx, &hint); po < len(pg) {
			k = copy(p[:c], pg[po:])
		}
		clear(p[k:c])
		p = p[c:]
		off += int64(c)
	}
}

// writePages copies p into the file at off, storing pages as needed, and returns how many bytes
// it wrote: less than len(p) only when MaxBytes is reached. All-zero data going to a hole stays
// a hole, and a page that a write of zeros leaves all zero becomes one. It does not change the size.
// n.mu must be held exclusively.
func (n *inode) writePages(fsys *FS, p []byte, off int64) int {
	var hint btree.PathHint
	done := 0
	for done < len(p) {
		idx, po := off>>pageShift, int(off&pageMask)
		c := min(len(p)-done, PageSize-po)
		chunk := p[done : done+c]
		pg := n.pageAt(idx, &hint)
		switch {
		case c == PageSize && isZero(chunk):
			// A page overwritten whole with zeros becomes a hole.
			if pg != nil {
				fsys.unchargeData(n.dropPage(fsys, idx, pg))
			}
		case len(pg) < po+c && isZero(chunk[max(len(pg)-po, 0):]):
			// Zeros past the end of the stored page (or into a hole): they read as zeros
			// already.
			if po < len(pg) {
				copy(pg[po:], chunk)
			}
		case len(pg) < po+c:
			// A new page, or a short first page too small for the write.
			var failed bool
			if pg, failed = n.growPage(fsys, idx, pg, po, po+c, &hint); failed {
				return done
			}
			fallthrough
		default:
			copy(pg[po:], chunk)
			// Zeros over the last non-zero bytes of a page make it a hole again. The end bytes
			// reject almost every write at once, and isZero stops at the first non-zero byte.
			if chunk[0] == 0 && chunk[c-1] == 0 && isZero(chunk) && isZero(pg) {
				fsys.unchargeData(n.dropPage(fsys, idx, pg))
			}
		}
		done += c
		off += int64(c)
	}
	return done
}

// growPage stores a page at idx able to hold need bytes, in place of pg (nil or a short first
// page, whose bytes it keeps), charging the difference. The caller is about to write
// [from, need), so only the bytes outside that range and pg are cleared: clearing a whole new
// page that a sequential write then overwrites cost 41% of the CPU of a 1 MiB-chunk write.
// It reports failure (MaxBytes) with true.
func (n *inode) growPage(fsys *FS, idx int64, pg []byte, from, need int, hint *btree.PathHint) ([]byte, bool) {
	size := PageSize
	if idx == 0 {
		size = max(headSize(need), 2*len(pg))
		size = min(size, PageSize)
	}
	if !fsys.chargeData(int64(size - len(pg))) {
		return nil, true
	}
	var np []byte
	if size == PageSize {
		np = fsys.newPage()[:]
	} else {
		np = make([]byte, size)
	}
	k := copy(np, pg)
	if k < from {
		clear(np[k:from])
	}
	clear(np[max(k, need):])
	if idx == 0 {
		n.head = np
	} else {
		n.setPage(idx, (*page)(np), hint)
	}
	return np, false
}

// truncatePages drops the pages past size and zeroes the rest of the page size ends in (which
// is dropped too if that leaves it all zeros), so that growing the file later reads zeros. It
// returns the bytes freed, for the caller to uncharge. n.mu must be held exclusively.
func (n *inode) truncatePages(fsys *FS, size int64) int64 {
	var freed int64
	keep := (size + pageMask) >> pageShift // pages [0, keep) survive
	for n.pages != nil {
		r, ok := n.pages.Max()
		if !ok || r.idx < keep {
			break
		}
		n.pages.PopMax()
		freed += fsys.freeBytes(r.data[:])
	}
	if n.pages != nil && n.pages.Len() == 0 {
		n.pages = nil
	}
	if keep == 0 && n.head != nil {
		freed += n.dropPage(fsys, 0, n.head)
	}
	if po := int(size & pageMask); po != 0 {
		idx := size >> pageShift
		if pg := n.pageAt(idx, nil); pg != nil {
			if po < len(pg) {
				clear(pg[po:])
			}
			if isZero(pg[:min(po, len(pg))]) {
				freed += n.dropPage(fsys, idx, pg)
			}
		}
	}
	return freed
}
