package boltkv

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"slices"
	"sync"

	"github.com/wasmrun/wasmrun/stable/internal/kv"
)

// bbolt's file layout, as far as verify reads it (go.etcd.io/bbolt/internal/common).
const (
	pageHeaderSize   = 16 // id u64, flags u16, count u16, overflow u32
	elementSize      = 16 // branch: pos u32, ksize u32, pgid u64; leaf: flags u32, pos u32, ksize u32, vsize u32
	bucketHeaderSize = 16 // root pgid u64, sequence u64
	branchPageFlag   = 0x01
	leafPageFlag     = 0x02
	freelistPageFlag = 0x10
	bucketLeafFlag   = 0x01
	noFreelist       = ^uint64(0)
	maxTreeDepth     = 64 // far more than a B+tree of 2^64 pages needs
	// leafBudget bounds the leaf pages whose header verify reads without full: the first
	// leafBudget leaves of the walk (all of them in a store of up to 256 MiB of 64 KiB pages).
	leafBudget = 4096
	// leafReaders is how many reads of leaf headers verify keeps going at once.
	leafReaders = 8
	// The fields of a meta page, from the start of the page.
	metaRootOffset     = pageHeaderSize + 16
	metaFreelistOffset = pageHeaderSize + 32
	metaPgidOffset     = pageHeaderSize + 40
	metaTxidOffset     = pageHeaderSize + 48
)

// verifier walks the page graph of a bbolt file with reads of its own (pread, no memory map)
// and reports the first page that does not belong to a well-formed graph: a page id out of
// bounds or past the end of the file, a page reached twice (which a cycle is), a page whose id
// or type is not what its parent says, elements that run past their page, a tree deeper than
// any real one. bbolt trusts the file: on such a page it reads garbage, faults, or recurses
// without end (a stack overflow, which no recover catches), and its own Check does the same
// in a goroutine of its own.
type verifier struct {
	full      bool // read the header of every page, leaves included
	f         *os.File
	ps        int64  // page size
	hwm       uint64 // pages below the high-water mark
	seen      []uint64
	buf       []byte
	budget    int      // without full: how many leaf headers to read (leafBudget)
	leaves    []uint64 // without full: leaf pages whose header is still to read
	unchecked int      // without full: leaf pages past the budget, not read
}

// verify walks the page graph of the open bbolt file f, as the meta page of transaction txid
// describes it: the freelist page, the root bucket's tree (every page), and the tree of every
// bucket it names. With full it reads the header of every page; without, it reads the branch
// pages and one path down to the leaves, which tells the height of the tree, and then the
// header of the first leafBudget leaf pages (in page order, leafReaders reads at a time),
// each of which must be a leaf: a leaf page damaged into a branch page whose children point
// back up makes a cursor recurse until the stack overflows, which no recover catches. The
// leaves past the budget are only bounds-checked and marked: in a store of more than
// leafBudget leaf pages such damage still gets through Open (Fsck finds it). Reading every
// leaf's header costs a random read per page. Measured on a 2.2 GB store of 64 KiB pages
// (35750 leaves), out of the page cache and in it: the branch walk 11 ms and 0.7 ms, the
// 4096 leaf headers 140 ms and 6 ms, all the leaf headers 1 s and 0.1 s.
// It returns an error wrapping ErrCorrupt for the first malformed page, or the error of a
// read.
func verify(f *os.File, pageSize int, txid uint64, full bool) error {
	v := &verifier{f: f, ps: int64(pageSize), full: full, budget: leafBudget}
	return v.run(txid)
}

// run is verify.
func (v *verifier) run(txid uint64) error {
	st, err := v.f.Stat()
	if err != nil {
		return err
	}
	meta := -1
	for i := range 2 {
		m, err := v.read(int64(i)*v.ps, pageHeaderSize+64)
		if err != nil {
			return err
		}
		if binary.LittleEndian.Uint64(m[metaTxidOffset:]) == txid {
			meta = i
			break
		}
	}
	if meta < 0 {
		return fmt.Errorf("%w: no meta page of transaction %d", kv.ErrCorrupt, txid)
	}
	m, _ := v.read(int64(meta)*v.ps, pageHeaderSize+64)
	m = append([]byte(nil), m...)
	v.hwm = binary.LittleEndian.Uint64(m[metaPgidOffset:])
	if v.hwm < 2 || v.hwm > uint64(st.Size()/v.ps) {
		return fmt.Errorf("%w: the file has %d bytes, %d pages of %d bytes are in use", kv.ErrCorrupt, st.Size(), v.hwm, v.ps)
	}
	v.seen = make([]uint64, (v.hwm+63)/64)
	v.mark(0, 2)
	if fl := binary.LittleEndian.Uint64(m[metaFreelistOffset:]); fl != noFreelist {
		if err := v.freelist(fl); err != nil {
			return err
		}
	}
	if err := v.tree(binary.LittleEndian.Uint64(m[metaRootOffset:]), 0, 0, true); err != nil {
		return err
	}
	return v.readLeaves()
}

// readLeaves reads the header of each page of v.leaves, marked already, which must be a leaf
// page inside the file; it marks its overflow pages.
func (v *verifier) readLeaves() error {
	slices.Sort(v.leaves)
	hdrs := make([][pageHeaderSize]byte, len(v.leaves))
	errs := make([]error, leafReaders)
	var wg sync.WaitGroup
	for w := range leafReaders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(v.leaves); i += leafReaders {
				if _, err := v.f.ReadAt(hdrs[i][:], int64(v.leaves[i])*v.ps); err != nil {
					if errors.Is(err, io.EOF) {
						err = fmt.Errorf("%w: leaf page %d past the end of the file", kv.ErrCorrupt, v.leaves[i])
					}
					errs[w] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for i, id := range v.leaves {
		h := hdrs[i][:]
		if got := binary.LittleEndian.Uint64(h); got != id {
			return fmt.Errorf("%w: leaf page %d says it is page %d", kv.ErrCorrupt, id, got)
		}
		if flags := binary.LittleEndian.Uint16(h[8:]); flags != leafPageFlag {
			return fmt.Errorf("%w: page %d has type %#x where a leaf page belongs", kv.ErrCorrupt, id, flags)
		}
		n := uint64(binary.LittleEndian.Uint32(h[12:])) + 1
		if n > v.hwm-id {
			return fmt.Errorf("%w: leaf page %d runs past the last page", kv.ErrCorrupt, id)
		}
		if err := v.mark(id+1, n-1); err != nil {
			return err
		}
	}
	return nil
}

// read returns n bytes of the file at off, valid until the next read.
func (v *verifier) read(off int64, n int) ([]byte, error) {
	if cap(v.buf) < n {
		v.buf = make([]byte, n)
	}
	b := v.buf[:n]
	if _, err := v.f.ReadAt(b, off); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: page at %d past the end of the file", kv.ErrCorrupt, off)
		}
		return nil, err
	}
	return b, nil
}

// mark records pages [id, id+n) as reached, or reports that one was reached before.
func (v *verifier) mark(id, n uint64) error {
	for p := id; p < id+n; p++ {
		if v.seen[p/64]&(1<<(p%64)) != 0 {
			return fmt.Errorf("%w: page %d is reached twice", kv.ErrCorrupt, p)
		}
		v.seen[p/64] |= 1 << (p % 64)
	}
	return nil
}

// header reads the header of page id and checks the bounds of the page and its overflow
// pages; n is their number.
func (v *verifier) header(id uint64, what string) (flags uint16, count int, n uint64, err error) {
	if id < 2 || id >= v.hwm {
		return 0, 0, 0, fmt.Errorf("%w: %s page %d out of bounds (%d pages)", kv.ErrCorrupt, what, id, v.hwm)
	}
	h, err := v.read(int64(id)*v.ps, pageHeaderSize)
	if err != nil {
		return 0, 0, 0, err
	}
	if got := binary.LittleEndian.Uint64(h); got != id {
		return 0, 0, 0, fmt.Errorf("%w: %s page %d says it is page %d", kv.ErrCorrupt, what, id, got)
	}
	flags = binary.LittleEndian.Uint16(h[8:])
	count = int(binary.LittleEndian.Uint16(h[10:]))
	n = uint64(binary.LittleEndian.Uint32(h[12:])) + 1
	if n > v.hwm-id {
		return 0, 0, 0, fmt.Errorf("%w: %s page %d runs past the last page", kv.ErrCorrupt, what, id)
	}
	return flags, count, n, nil
}

// page reads the header of page id, checks the bounds of the page and its overflow pages,
// and marks them. If body says so, it returns the whole page (valid until the next read).
func (v *verifier) page(id uint64, what string, body func(flags uint16) bool) (flags uint16, count int, p []byte, err error) {
	flags, count, n, err := v.header(id, what)
	if err != nil {
		return 0, 0, nil, err
	}
	if err := v.mark(id, n); err != nil {
		return 0, 0, nil, err
	}
	if !body(flags) {
		return flags, count, nil, nil
	}
	if p, err = v.read(int64(id)*v.ps, int(n)*int(v.ps)); err != nil {
		return 0, 0, nil, err
	}
	return flags, count, p, nil
}

func (v *verifier) freelist(id uint64) error {
	flags, count, p, err := v.page(id, "freelist", func(f uint16) bool { return f == freelistPageFlag })
	if err != nil {
		return err
	}
	if flags != freelistPageFlag {
		return fmt.Errorf("%w: freelist page %d has type %#x", kv.ErrCorrupt, id, flags)
	}
	ids := uint64(count)
	if count == 0xFFFF { // the count is the first element
		ids = binary.LittleEndian.Uint64(p[pageHeaderSize:])
		if ids < uint64(len(p)) {
			ids++
		}
	}
	if ids > uint64(len(p)-pageHeaderSize)/8 {
		return fmt.Errorf("%w: freelist page %d holds %d ids, more than fit", kv.ErrCorrupt, id, ids)
	}
	return nil
}

// tree walks the tree of pages under id, whose leaves are at depth leaf (0 if not known yet:
// the tree of a bucket, whose height height finds). In the root bucket's tree, which it reads
// whole, it also walks the bucket each leaf element names.
func (v *verifier) tree(id uint64, depth, leaf int, rootBucket bool) error {
	if depth > maxTreeDepth {
		return fmt.Errorf("%w: tree deeper than %d pages at page %d", kv.ErrCorrupt, maxTreeDepth, id)
	}
	if leaf == 0 && !rootBucket {
		h, err := v.height(id)
		if err != nil {
			return err
		}
		leaf = h - 1
	}
	flags, count, p, err := v.page(id, "tree", func(f uint16) bool { return f == branchPageFlag || f == leafPageFlag && rootBucket })
	if err != nil {
		return err
	}
	if p != nil && pageHeaderSize+count*elementSize > len(p) {
		return fmt.Errorf("%w: page %d: %d elements do not fit", kv.ErrCorrupt, id, count)
	}
	if leaf > 0 && (depth == leaf) != (flags == leafPageFlag) {
		return fmt.Errorf("%w: page %d (type %#x) at depth %d of a tree whose leaves are at depth %d", kv.ErrCorrupt, id, flags, depth, leaf)
	}
	switch flags {
	case branchPageFlag:
		children := make([]uint64, count)
		for i := range children {
			children[i] = binary.LittleEndian.Uint64(p[pageHeaderSize+i*elementSize+8:])
		}
		for _, c := range children {
			if depth+1 == leaf && !v.full {
				// A leaf: in bounds and reached once; its header is read at the end
				// (readLeaves) if it is within the budget.
				if c < 2 || c >= v.hwm {
					return fmt.Errorf("%w: leaf page %d out of bounds (%d pages)", kv.ErrCorrupt, c, v.hwm)
				}
				if err := v.mark(c, 1); err != nil {
					return err
				}
				if len(v.leaves) < v.budget {
					v.leaves = append(v.leaves, c)
				} else {
					v.unchecked++
				}
				continue
			}
			if err := v.tree(c, depth+1, leaf, rootBucket); err != nil {
				return err
			}
		}
		return nil
	case leafPageFlag:
		if !rootBucket {
			return nil
		}
		return v.buckets(id, append([]byte(nil), p...), count)
	}
	return fmt.Errorf("%w: page %d has type %#x where a branch or leaf page belongs", kv.ErrCorrupt, id, flags)
}

// height returns the number of levels of the tree under root, following its first children.
func (v *verifier) height(root uint64) (int, error) {
	id := root
	for h := 1; h <= maxTreeDepth; h++ {
		flags, count, _, err := v.header(id, "tree")
		if err != nil {
			return 0, err
		}
		switch {
		case flags == leafPageFlag:
			return h, nil
		case flags != branchPageFlag || count == 0:
			return 0, fmt.Errorf("%w: page %d has type %#x and %d elements where a branch or leaf page belongs", kv.ErrCorrupt, id, flags, count)
		}
		e, err := v.read(int64(id)*v.ps+pageHeaderSize, elementSize)
		if err != nil {
			return 0, err
		}
		id = binary.LittleEndian.Uint64(e[8:])
	}
	return 0, fmt.Errorf("%w: tree deeper than %d pages under page %d", kv.ErrCorrupt, maxTreeDepth, root)
}

// buckets walks the buckets named by the count elements of p, a leaf page (or an inline one)
// of the root bucket.
func (v *verifier) buckets(id uint64, p []byte, count int) error {
	var roots []uint64
	for i := range count {
		e := p[pageHeaderSize+i*elementSize:]
		flags := binary.LittleEndian.Uint32(e)
		pos := uint64(binary.LittleEndian.Uint32(e[4:]))
		ksize := uint64(binary.LittleEndian.Uint32(e[8:]))
		vsize := uint64(binary.LittleEndian.Uint32(e[12:]))
		start := uint64(pageHeaderSize+i*elementSize) + pos + ksize
		if start+vsize > uint64(len(p)) {
			return fmt.Errorf("%w: page %d: element %d runs past its page", kv.ErrCorrupt, id, i)
		}
		if flags&bucketLeafFlag == 0 {
			continue
		}
		val := p[start : start+vsize]
		if len(val) < bucketHeaderSize {
			return fmt.Errorf("%w: page %d: bucket %d has a short header", kv.ErrCorrupt, id, i)
		}
		if root := binary.LittleEndian.Uint64(val); root != 0 {
			roots = append(roots, root)
			continue
		}
		// An inline bucket: its one page, a leaf, follows the header within the value. bbolt
		// copies an unaligned one into the Go heap and makes slices of its elements by pointer
		// arithmetic: an element past its end would be a pointer into the heap that the
		// garbage collector finds bad (a fatal error), so every element must lie within it.
		in := val[bucketHeaderSize:]
		if len(in) < pageHeaderSize || binary.LittleEndian.Uint16(in[8:]) != leafPageFlag {
			return fmt.Errorf("%w: page %d: inline bucket %d is not a leaf page", kv.ErrCorrupt, id, i)
		}
		n := int(binary.LittleEndian.Uint16(in[10:]))
		if pageHeaderSize+n*elementSize > len(in) {
			return fmt.Errorf("%w: page %d: inline bucket %d: %d elements do not fit", kv.ErrCorrupt, id, i, n)
		}
		for j := range n {
			at := pageHeaderSize + j*elementSize
			e := in[at:]
			end := uint64(at) + uint64(binary.LittleEndian.Uint32(e[4:])) +
				uint64(binary.LittleEndian.Uint32(e[8:])) + uint64(binary.LittleEndian.Uint32(e[12:]))
			if binary.LittleEndian.Uint32(e)&bucketLeafFlag != 0 || end > uint64(len(in)) {
				return fmt.Errorf("%w: page %d: inline bucket %d: element %d is a bucket or runs past its page", kv.ErrCorrupt, id, i, j)
			}
		}
	}
	for _, r := range roots {
		if err := v.tree(r, 0, 0, false); err != nil {
			return err
		}
	}
	return nil
}

// bbolt's meta page, after the page header.
const (
	metaMagic          = 0xED0CDAED
	metaPageSizeOffset = pageHeaderSize + 8
	metaChecksumOffset = pageHeaderSize + 56
)

// checkMeta reads the meta pages of the bbolt file at path (with pread, before bbolt maps it)
// and checks that the one bbolt will use (the valid one of the highest transaction) describes
// pages inside the file: bbolt's Open reads the freelist page that meta names through its
// memory map without a bounds check, and a truncated file makes it dereference a nil page.
// Worse than the panic (which openBolt recovers), the memory map then outlives the failed
// Open, and the file's lock with it: the store stayed locked for the rest of the process.
// A file with no valid meta page is left to bbolt (ErrInvalid). It runs before bbolt takes the
// file's lock, while a writer may be committing: a meta page torn by that write fails its
// checksum and is skipped, and the file's size is read after the meta pages. Errors:
// ErrCorrupt, or the error of a read.
func checkMeta(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return nil // bbolt's Open says it
	}
	defer f.Close()
	var best []byte
	var bestPS int64
	var page [pageHeaderSize + 64]byte
	for _, off := range []int64{0, -1} {
		ps := bestPS
		if off < 0 {
			// The second meta page is one page in, at the page size the first one gives, or
			// at the operating system's if the first is not valid.
			if ps == 0 {
				ps = int64(os.Getpagesize())
			}
			off = ps
		}
		if n, _ := f.ReadAt(page[:], off); n < len(page) {
			continue
		}
		m := page[pageHeaderSize:]
		if binary.LittleEndian.Uint32(m) != metaMagic {
			continue
		}
		h := fnv.New64a()
		_, _ = h.Write(page[pageHeaderSize:metaChecksumOffset])
		if h.Sum64() != binary.LittleEndian.Uint64(page[metaChecksumOffset:]) {
			continue
		}
		if off == 0 {
			bestPS = int64(binary.LittleEndian.Uint32(page[metaPageSizeOffset:]))
		}
		if best == nil || binary.LittleEndian.Uint64(page[metaTxidOffset:]) > binary.LittleEndian.Uint64(best[metaTxidOffset:]) {
			best = slices.Clone(page[:])
		}
		if bestPS == 0 {
			bestPS = int64(binary.LittleEndian.Uint32(page[metaPageSizeOffset:]))
		}
	}
	if best == nil || bestPS < 1024 {
		return nil
	}
	// The size after the meta pages were read: a writer holding the file grows it before it
	// writes a meta page that uses the new pages, and a store file never shrinks.
	st, err := f.Stat()
	if err != nil {
		return err
	}
	pages := uint64(st.Size() / bestPS)
	hwm := binary.LittleEndian.Uint64(best[metaPgidOffset:])
	fl := binary.LittleEndian.Uint64(best[metaFreelistOffset:])
	root := binary.LittleEndian.Uint64(best[metaRootOffset:])
	switch {
	case hwm < 2 || hwm > pages:
		return fmt.Errorf("%w: the file has %d bytes, %d pages of %d bytes are in use", kv.ErrCorrupt, st.Size(), hwm, bestPS)
	case fl != noFreelist && (fl < 2 || fl >= hwm):
		return fmt.Errorf("%w: the freelist page %d is outside the %d pages in use", kv.ErrCorrupt, fl, hwm)
	case root < 2 || root >= hwm:
		return fmt.Errorf("%w: the root page %d is outside the %d pages in use", kv.ErrCorrupt, root, hwm)
	}
	return nil
}
