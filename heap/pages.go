package heap

import (
	"bytes"

	"github.com/tidwall/btree"
)

// PageSize is the unit in which file data is stored and charged.
//
// 4 KiB, not 16 KiB: it is the size guests write in (wasi-libc's stdio buffer, CPython's
// io.DEFAULT_BUFFER_SIZE is 8 KiB, Go's bufio 4 KiB), so an aligned write fills whole pages and a
// small file costs 4 KiB, not 16; and sequential and random 4 KiB I/O measured the same or faster
// than with 16 KiB pages (see heap_bench_test.go), because per-page index costs are small next
// to copying the bytes. A page is exactly one Go size class, so the allocator wastes nothing.
const PageSize = 1 << pageShift

const (
	pageShift = 12
	pageMask  = PageSize - 1
)

// MaxFileSize is the largest size a file may have (EFBIG beyond).
const MaxFileSize = 1 << 62

type page [PageSize]byte

// zeroPage is compared against to find all-zero data, which is never stored.
var zeroPage page

// pageRef is one stored page of a file: the page at byte offset idx*PageSize.
type pageRef struct {
	idx  int64
	data *page
}

func pageLess(a, b pageRef) bool { return a.idx < b.idx }

func isZero(b []byte) bool { return bytes.Equal(b, zeroPage[:len(b)]) }

// newPage returns a page from the pool (or a new one). Its contents are undefined: the caller
// overwrites or clears every byte.
func (fsys *FS) newPage() *page { return fsys.pages.Get().(*page) }

// freePage gives p back to the pool. Pages in the pool are not charged: they were charged while
// in use and the pool only grows when pages are freed, so stored plus pooled pages never exceed
// the most ever stored at once (at most MaxBytes), and the garbage collector drains the pool.
func (fsys *FS) freePage(p *page) { fsys.pages.Put(p) }

// getPage returns the page at index idx, nil for a hole. n.mu must be held (shared suffices).
func (n *inode) getPage(idx int64) *page {
	if n.pages == nil {
		return nil
	}
	r, _ := n.pages.Get(pageRef{idx: idx})
	return r.data
}

// setPage stores p at idx; n.mu must be held exclusively.
func (n *inode) setPage(idx int64, p *page) {
	if n.pages == nil {
		n.pages = btree.NewBTreeGOptions(pageLess, btree.Options{NoLocks: true})
	}
	n.pages.Set(pageRef{idx: idx, data: p})
}

// readPages copies the file bytes at off into p, holes as zeros. The caller has clipped p to the
// file size. n.mu must be held (shared suffices).
func (n *inode) readPages(p []byte, off int64) {
	for len(p) > 0 {
		idx, po := off>>pageShift, int(off&pageMask)
		c := min(len(p), PageSize-po)
		if pg := n.getPage(idx); pg != nil {
			copy(p[:c], pg[po:])
		} else {
			clear(p[:c])
		}
		p = p[c:]
		off += int64(c)
	}
}

// writePages copies p into the file at off, storing pages as needed, and returns how many bytes
// it wrote: less than len(p) only when MaxBytes is reached. All-zero data going to a hole stays
// a hole, and a page overwritten whole with zeros becomes one. It does not change the size.
// n.mu must be held exclusively.
func (n *inode) writePages(fsys *FS, p []byte, off int64) int {
	done := 0
	for done < len(p) {
		idx, po := off>>pageShift, int(off&pageMask)
		c := min(len(p)-done, PageSize-po)
		chunk := p[done : done+c]
		switch pg := n.getPage(idx); {
		case pg == nil:
			if isZero(chunk) {
				break
			}
			if !fsys.charge(PageSize) {
				return done
			}
			pg = fsys.newPage()
			clear(pg[:po])
			copy(pg[po:], chunk)
			clear(pg[po+c:])
			n.setPage(idx, pg)
		case c == PageSize && isZero(chunk):
			n.pages.Delete(pageRef{idx: idx})
			fsys.freePage(pg)
			fsys.uncharge(PageSize)
		default:
			copy(pg[po:], chunk)
		}
		done += c
		off += int64(c)
	}
	return done
}

// truncatePages drops the pages past size and zeroes the rest of the page size ends in (which
// is dropped too if that leaves it all zeros), so that growing the file later reads zeros. It
// returns the bytes freed, for the caller to uncharge. n.mu must be held exclusively.
func (n *inode) truncatePages(fsys *FS, size int64) int64 {
	if n.pages == nil {
		return 0
	}
	var freed int64
	keep := (size + pageMask) >> pageShift // pages [0, keep) survive
	for {
		r, ok := n.pages.Max()
		if !ok || r.idx < keep {
			break
		}
		n.pages.PopMax()
		fsys.freePage(r.data)
		freed += PageSize
	}
	if po := size & pageMask; po != 0 {
		idx := size >> pageShift
		if pg := n.getPage(idx); pg != nil {
			clear(pg[po:])
			if isZero(pg[:po]) {
				n.pages.Delete(pageRef{idx: idx})
				fsys.freePage(pg)
				freed += PageSize
			}
		}
	}
	if n.pages.Len() == 0 {
		n.pages = nil
	}
	return freed
}
