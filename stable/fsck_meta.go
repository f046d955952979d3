package stable

import (
	"encoding/binary"

	"github.com/wasmrun/wasmrun/vfs"
)

// Fsck's checks of the superblock, the inode records, the orphan list and the usage counters.

// checkSuper checks what can be checked of the superblock alone: every key known, present
// and of its size. Its counters are checked against the totals at the end (checkCounters).
func (c *checker) checkSuper() error {
	r, rd := c.r, c.rd
	for _, k := range superKeys {
		if rd.Get(bSuper, k) == nil {
			r.problem("superblock: no %s", k)
		}
	}
	sizes := map[string]int{string(keyMagic): len(magic), string(keyVersion): 4, string(keyPageSize): 4,
		string(keyCreated): 8, string(keyNextIno): 8, string(keyBytes): 8, string(keyInodes): 8}
	err := scanOrdered(rd, r, bSuper, func(k, v []byte) bool {
		switch size, ok := sizes[string(k)]; {
		case !ok:
			r.problem("superblock: unknown key %x", clip(k))
		case len(v) != size:
			r.problem("superblock: %s has %d bytes, want %d", k, len(v), size)
		}
		return true
	})
	r.superBytes = int64(binary.BigEndian.Uint64(pad8(rd.Get(bSuper, keyBytes))))
	r.superInodes = int64(binary.BigEndian.Uint64(pad8(rd.Get(bSuper, keyInodes))))
	c.superNext = binary.BigEndian.Uint64(pad8(rd.Get(bSuper, keyNextIno)))
	return err
}

// checkInodes checks that every inode record is well formed, that no inode is 0 and that
// every one is below the next inode number, and counts them by type.
func (c *checker) checkInodes() error {
	r := c.r
	var maxIno uint64
	err := scanOrdered(c.rd, r, bInodes, func(k, v []byte) bool {
		if len(k) != 8 {
			r.problem("inodes: bad key %x", clip(k))
			return true
		}
		ino := binary.BigEndian.Uint64(k)
		n := &fsckInode{}
		n.ino = vfs.Ino(ino)
		if !decodeInode(&n.inode, v) {
			r.problem("inode %d: malformed record", ino)
			return true
		}
		c.inodes[n.ino] = n
		maxIno = max(maxIno, ino)
		r.Inodes++
		switch n.typ {
		case vfs.TypeDir:
			r.Dirs++
		case vfs.TypeRegular:
			r.Files++
			r.Bytes += n.size
		case vfs.TypeSymlink:
			r.Symlinks++
		}
		if ino == 0 {
			r.problem("inode 0 exists")
		}
		return true
	})
	if err != nil {
		return err
	}
	if maxIno >= c.superNext {
		r.problem("inode %d is not below the next inode number %d", maxIno, c.superNext)
	}
	return nil
}

// checkOrphans checks that every inode on the orphan list exists and has no link. (That every
// inode without links is on it, checkTree checks.)
func (c *checker) checkOrphans() error {
	r := c.r
	return scanOrdered(c.rd, r, bOrphans, func(k, v []byte) bool {
		if len(k) != 8 || len(v) != 0 {
			r.problem("orphans: bad key %x or value of %d bytes", clip(k), len(v))
			return true
		}
		r.Orphans++
		ino := binary.BigEndian.Uint64(k)
		switch n := c.inodes[vfs.Ino(ino)]; {
		case n == nil:
			r.problem("orphan %d: no such inode", ino)
		case n.nlink != 0:
			r.problem("orphan %d: has nlink %d", ino, n.nlink)
		default:
			n.orphan = true
		}
		return true
	})
}

// checkCounters checks the superblock's usage counters against what the store holds.
func (c *checker) checkCounters() {
	r := c.r
	if r.Bytes != r.superBytes {
		r.problem("superblock: %d bytes in files, counted %d", r.Bytes, r.superBytes)
	}
	if r.Inodes != r.superInodes {
		r.problem("superblock: %d inodes, counted %d", r.Inodes, r.superInodes)
	}
}
