package stable

import "github.com/wasmrun/wasmrun/vfs"

// checkPages checks every stored file page: a page of an existing regular file, of 1 to
// page-size bytes without trailing zeros (so none all zeros: a page of zeros is not stored),
// holding no data past the end of its file.
func (c *checker) checkPages() error {
	r := c.r
	return scanOrdered(c.rd, r, bPages, func(k, v []byte) bool {
		if len(k) != 16 {
			r.problem("pages: bad key %x", clip(k))
			return true
		}
		r.Pages++
		ino, idx := splitPair(k)
		n := c.inodes[vfs.Ino(ino)]
		switch {
		case n == nil:
			r.problem("page %d of missing inode %d", idx, ino)
		case n.typ != vfs.TypeRegular:
			r.problem("page %d of inode %d, a %v", idx, ino, n.typ)
		case len(v) == 0 || int64(len(v)) > c.ps:
			r.problem("page %d of inode %d: %d bytes, want 1 to %d", idx, ino, len(v), c.ps)
		case v[len(v)-1] == 0:
			r.problem("page %d of inode %d: stored with trailing zeros", idx, ino)
		case int64(idx)*c.ps+int64(len(v)) > n.size:
			r.problem("page %d of inode %d: data past its end (size %d)", idx, ino, n.size)
		}
		return true
	})
}
