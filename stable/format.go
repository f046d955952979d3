package stable

import (
	"encoding/binary"
	"math/bits"

	"github.com/wasmrun/wasmrun/stable/internal/kv"
	"github.com/wasmrun/wasmrun/vfs"
)

// The store format. See the package documentation, section "Store format", for the prose.

// formatVersion is the version of the store format this package writes. A store with a higher
// version is refused with ErrNewerFormat; lower versions do not exist yet.
const formatVersion = 1

// magic is the value of the superblock's "magic" key.
const magic = "wasmrun stable store\n"

// The buckets of a store.
const (
	bSuper   kv.Bucket = iota // superblock: magic, version, page size, creation time, counters
	bInodes                   // ino (8 bytes BE) -> inode record
	bDirents                  // parent ino (8 BE) + name hash (8 BE) -> chain of entries
	bPages                    // ino (8 BE) + page index (8 BE) -> one page of file data
	bOrphans                  // ino (8 BE) -> empty: unlinked inodes still open at commit
)

var bucketSpecs = []kv.BucketSpec{
	bSuper:   {Name: "super"},
	bInodes:  {Name: "inodes", FillPercent: 0.9}, // inode numbers only grow
	bDirents: {Name: "dirents"},
	bPages:   {Name: "pages", FillPercent: 1}, // files are mostly written in ascending order
	bOrphans: {Name: "orphans"},
}

// The superblock keys.
var (
	keyMagic    = []byte("magic")    // magic
	keyVersion  = []byte("version")  // uint32 BE
	keyPageSize = []byte("pagesize") // uint32 BE
	keyCreated  = []byte("created")  // int64 BE, Unix nanoseconds
	keyHashKey  = []byte("hashkey")  // 16 random bytes: the SipHash key of directory entries
	keyHashBits = []byte("hashbits") // uint32 BE: bits of the name hash, posHashBits
	keyNextIno  = []byte("nextino")  // uint64 BE: the next inode number to hand out
	keyBytes    = []byte("bytes")    // int64 BE: sum of the sizes of regular files
	keyInodes   = []byte("inodes")   // int64 BE: number of inode records
)

// rootIno is the inode number of the root directory.
const rootIno vfs.Ino = 1

func u64key(v uint64) []byte {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], v)
	return k[:]
}

func pairKey(a, b uint64) []byte {
	var k [16]byte
	binary.BigEndian.PutUint64(k[:8], a)
	binary.BigEndian.PutUint64(k[8:], b)
	return k[:]
}

func splitPair(k []byte) (a, b uint64) {
	return binary.BigEndian.Uint64(k[:8]), binary.BigEndian.Uint64(k[8:])
}

// inodeRecLen is the length of an inode record before a symlink's target.
const inodeRecLen = 61

// The inode record, all integers big-endian:
//
//	[0]      type (vfs.FileType)
//	[1:5]    permission bits
//	[5:13]   nlink
//	[13:21]  size (regular files: bytes; symlinks: target length; directories: 0)
//	[21:29]  atime, [29:37] mtime, [37:45] ctime (Unix nanoseconds)
//	[45:53]  parent directory (directories only; the root is its own parent)
//	[53:61]  number of entries (directories only)
//	[61:]    target (symlinks only)
func encodeInode(n *inode) []byte {
	b := make([]byte, inodeRecLen+len(n.target))
	b[0] = byte(n.typ)
	binary.BigEndian.PutUint32(b[1:], n.mode)
	binary.BigEndian.PutUint64(b[5:], n.nlink)
	binary.BigEndian.PutUint64(b[13:], uint64(n.size))
	binary.BigEndian.PutUint64(b[21:], uint64(n.atime))
	binary.BigEndian.PutUint64(b[29:], uint64(n.mtime))
	binary.BigEndian.PutUint64(b[37:], uint64(n.ctime))
	binary.BigEndian.PutUint64(b[45:], uint64(n.parent))
	binary.BigEndian.PutUint64(b[53:], n.nent)
	copy(b[inodeRecLen:], n.target)
	return b
}

// decodeInode fills n from record b and reports whether b is well formed.
func decodeInode(n *inode, b []byte) bool {
	if len(b) < inodeRecLen {
		return false
	}
	n.typ = vfs.FileType(b[0])
	n.mode = binary.BigEndian.Uint32(b[1:])
	n.nlink = binary.BigEndian.Uint64(b[5:])
	n.size = int64(binary.BigEndian.Uint64(b[13:]))
	n.atime = int64(binary.BigEndian.Uint64(b[21:]))
	n.mtime = int64(binary.BigEndian.Uint64(b[29:]))
	n.ctime = int64(binary.BigEndian.Uint64(b[37:]))
	n.parent = vfs.Ino(binary.BigEndian.Uint64(b[45:]))
	n.nent = binary.BigEndian.Uint64(b[53:])
	n.target = string(b[inodeRecLen:])
	switch n.typ {
	case vfs.TypeRegular, vfs.TypeDir:
		return len(b) == inodeRecLen && n.size >= 0
	case vfs.TypeSymlink:
		return n.size == int64(len(n.target))
	}
	return false
}

// A directory entry lives in a chain: the value stored under (parent, hash(name)). Nearly every
// chain holds one entry; names whose hashes collide share one. Each entry of a chain has a slot
// number, unique in the chain and kept for the entry's life, so that hash|slot is a position in
// the directory that survives other entries coming and going: the readdir cookie.
//
// A chain is a sequence of entries, each:
//
//	[0]    slot
//	[1]    type (vfs.FileType)
//	[2:10] ino, big-endian
//	[10]   name length n (1..255)
//	[11:11+n] name
type dent struct {
	slot uint8
	typ  vfs.FileType
	ino  vfs.Ino
	name string
}

func encodeChain(ents []dent) []byte {
	n := 0
	for _, e := range ents {
		n += 11 + len(e.name)
	}
	b := make([]byte, 0, n)
	for _, e := range ents {
		b = append(b, e.slot, byte(e.typ))
		b = binary.BigEndian.AppendUint64(b, uint64(e.ino))
		b = append(b, byte(len(e.name)))
		b = append(b, e.name...)
	}
	return b
}

// decodeChain parses a chain, or reports false if b is malformed.
func decodeChain(b []byte) ([]dent, bool) {
	var ents []dent
	for len(b) > 0 {
		if len(b) < 11 {
			return nil, false
		}
		n := int(b[10])
		if n == 0 || len(b) < 11+n {
			return nil, false
		}
		ents = append(ents, dent{
			slot: b[0],
			typ:  vfs.FileType(b[1]),
			ino:  vfs.Ino(binary.BigEndian.Uint64(b[2:])),
			name: string(b[11 : 11+n]),
		})
		b = b[11+n:]
	}
	return ents, len(ents) > 0
}

// Directory positions. The hash of a name is SipHash-2-4 under the store's random key, cut to
// posHashBits bits and shifted left by 8: the low byte of a position is the slot. Positions are
// below 1<<62, so a cookie (position+1) is below 1<<63 as vfs.DirEntry requires.
const (
	posHashBits = 54
	slotBits    = 8
)

// nameHash returns the chain key of name: the hash part of its positions. The store's hash
// has f.hashBits bits: posHashBits, unless a test made a store with fewer to force collisions.
func (f *FS) nameHash(name string) uint64 {
	return (sipHash(f.hashKey[0], f.hashKey[1], name) >> (64 - f.hashBits)) << slotBits
}

// sipHash is SipHash-2-4 of s under the key (k0, k1).
func sipHash(k0, k1 uint64, s string) uint64 {
	v0 := k0 ^ 0x736f6d6570736575
	v1 := k1 ^ 0x646f72616e646f6d
	v2 := k0 ^ 0x6c7967656e657261
	v3 := k1 ^ 0x7465646279746573
	round := func() {
		v0 += v1
		v1 = bits.RotateLeft64(v1, 13)
		v1 ^= v0
		v0 = bits.RotateLeft64(v0, 32)
		v2 += v3
		v3 = bits.RotateLeft64(v3, 16)
		v3 ^= v2
		v0 += v3
		v3 = bits.RotateLeft64(v3, 21)
		v3 ^= v0
		v2 += v1
		v1 = bits.RotateLeft64(v1, 17)
		v1 ^= v2
		v2 = bits.RotateLeft64(v2, 32)
	}
	n := len(s)
	for len(s) >= 8 {
		m := uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
			uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
		v3 ^= m
		round()
		round()
		v0 ^= m
		s = s[8:]
	}
	m := uint64(n) << 56
	for i := len(s) - 1; i >= 0; i-- {
		m |= uint64(s[i]) << (8 * i)
	}
	v3 ^= m
	round()
	round()
	v0 ^= m
	v2 ^= 0xff
	round()
	round()
	round()
	round()
	return v0 ^ v1 ^ v2 ^ v3
}

// isZero reports whether every byte of b is zero.
func isZero(b []byte) bool { return len(trimZeros(b)) == 0 }
