package stable

import (
	"encoding/binary"

	"github.com/wasmrun/wasmrun/stable/internal/kv"
	"github.com/wasmrun/wasmrun/vfs"
)

// The store format. See the package documentation, section "Store format", for the prose.

// formatVersion is the version of the store format this package writes. Version 3 is version 2
// with a write-ahead log: commits may live in the file's log (boltkv.WAL) until a checkpoint, so a
// program that reads only version 2 would miss them, and must refuse the store. A store with a
// higher version is refused with ErrNewerFormat; one of version 2 is opened and, at its first
// read-write open, upgraded in place to version 3 (the version key only, written straight to
// bbolt before any commit goes to a log); one of version 1 (entries keyed by a hash of their
// name, with 62-bit readdir cookies) is refused with ErrOlderFormat.
const formatVersion = 3

// minFormatVersion is the oldest store format this package opens.
const minFormatVersion = 2

// magic is the value of the superblock's "magic" key.
const magic = "wasmrun stable store\n"

// The buckets of a store.
const (
	bSuper   kv.Bucket = iota // superblock: magic, version, page size, creation time, counters
	bInodes                   // ino (8 bytes BE) -> inode record
	bDirents                  // parent ino (8 BE) + name -> seq (8 BE), type, ino (8 BE)
	bDirSeqs                  // parent ino (8 BE) + seq (8 BE) -> type, ino (8 BE), name
	bPages                    // ino (8 BE) + page index (8 BE) -> one page of file data
	bOrphans                  // ino (8 BE) -> empty: unlinked inodes still open at commit
)

var bucketSpecs = []kv.BucketSpec{
	bSuper:   {Name: "super"},
	bInodes:  {Name: "inodes", FillPercent: 0.9}, // inode numbers only grow
	bDirents: {Name: "dirents"},
	bDirSeqs: {Name: "dirseqs", FillPercent: 0.9}, // sequence numbers only grow
	bPages:   {Name: "pages", FillPercent: 1},     // files are mostly written in ascending order
	bOrphans: {Name: "orphans"},
}

// The superblock keys.
var (
	keyMagic    = []byte("magic")    // magic
	keyVersion  = []byte("version")  // uint32 BE
	keyPageSize = []byte("pagesize") // uint32 BE
	keyCreated  = []byte("created")  // int64 BE, Unix nanoseconds
	keyNextIno  = []byte("nextino")  // uint64 BE: the next inode number to hand out
	keyBytes    = []byte("bytes")    // int64 BE: sum of the sizes of regular files
	keyInodes   = []byte("inodes")   // int64 BE: number of inode records
)

// superKeys are the keys every superblock has.
var superKeys = [][]byte{keyMagic, keyVersion, keyPageSize, keyCreated, keyNextIno, keyBytes, keyInodes}

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
const inodeRecLen = 69

// The inode record, all integers big-endian:
//
//	[0]      type (vfs.FileType)
//	[1:5]    permission bits
//	[5:13]   nlink
//	[13:21]  size (regular files: bytes; symlinks: target length; directories: 0)
//	[21:29]  atime, [29:37] mtime, [37:45] ctime (Unix nanoseconds)
//	[45:53]  parent directory (directories only; the root is its own parent)
//	[53:61]  number of entries (directories only)
//	[61:69]  the sequence number the next entry gets (directories only; see newSeq)
//	[69:]    target (symlinks only)
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
	binary.BigEndian.PutUint64(b[61:], n.nextSeq)
	copy(b[inodeRecLen:], n.target)
	return b
}

// decodeInode fills n from record b and reports whether b is well formed. It checks the
// length of b before it copies anything out of it (a damaged store may hold a huge value).
func decodeInode(n *inode, b []byte) bool {
	if len(b) < inodeRecLen || len(b) > inodeRecLen+vfs.PathMax {
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
	n.nextSeq = binary.BigEndian.Uint64(b[61:])
	n.target = string(b[inodeRecLen:])
	switch n.typ {
	case vfs.TypeDir:
		return len(b) == inodeRecLen && n.nextSeq >= 1 && n.nextSeq <= vfs.MaxCookie
	case vfs.TypeRegular:
		return len(b) == inodeRecLen && n.size >= 0
	case vfs.TypeSymlink:
		return n.size == int64(len(n.target))
	}
	return false
}

// A directory entry is stored twice, in the same commit: under its name in the dirents bucket,
// for Lookup, and under its sequence number in the dirseqs bucket, for ReadDir. The sequence
// number (seq) is handed out by the directory when the entry is added (see newSeq) and kept for
// the entry's life, so a directory lists in the order its entries were added, a listing is a
// range scan of (parent, seq) keys, and a seq is a readdir cookie that stays valid while other
// entries come and go.
//
//	dirents: parent (8) | name          ->  seq (8) | type (1) | ino (8)
//	dirseqs: parent (8) | seq (8)       ->  type (1) | ino (8) | name
const nameValLen = 17

// nameKey returns the dirents key of name in directory parent.
func nameKey(parent vfs.Ino, name string) []byte {
	k := make([]byte, 8, 8+len(name))
	binary.BigEndian.PutUint64(k, uint64(parent))
	return append(k, name...)
}

func encodeNameVal(seq uint64, typ vfs.FileType, ino vfs.Ino) []byte {
	b := make([]byte, nameValLen)
	binary.BigEndian.PutUint64(b, seq)
	b[8] = byte(typ)
	binary.BigEndian.PutUint64(b[9:], uint64(ino))
	return b
}

// decodeNameVal parses a dirents value, or reports false if v is malformed.
func decodeNameVal(v []byte) (seq uint64, typ vfs.FileType, ino vfs.Ino, ok bool) {
	if len(v) != nameValLen {
		return 0, 0, 0, false
	}
	seq = binary.BigEndian.Uint64(v)
	return seq, vfs.FileType(v[8]), vfs.Ino(binary.BigEndian.Uint64(v[9:])), validSeq(seq)
}

func encodeEntryVal(typ vfs.FileType, ino vfs.Ino, name string) []byte {
	b := make([]byte, 9, 9+len(name))
	b[0] = byte(typ)
	binary.BigEndian.PutUint64(b[1:], uint64(ino))
	return append(b, name...)
}

// decodeEntryVal parses a dirseqs value, or reports false if v is malformed.
func decodeEntryVal(v []byte) (typ vfs.FileType, ino vfs.Ino, name string, ok bool) {
	if len(v) < 10 || len(v) > 9+vfs.NameMax {
		return 0, 0, "", false
	}
	return vfs.FileType(v[0]), vfs.Ino(binary.BigEndian.Uint64(v[1:])), string(v[9:]), true
}

// validSeq reports whether seq is a sequence number an entry may have: a readdir cookie the
// Namespace can pass on to a guest whose telldir returns a 32-bit long (vfs.MaxCookie).
func validSeq(seq uint64) bool { return seq >= 1 && seq < vfs.MaxCookie }

// isZero reports whether every byte of b is zero.
func isZero(b []byte) bool { return len(trimZeros(b)) == 0 }
