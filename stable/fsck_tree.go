package stable

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"maps"
	"slices"

	"github.com/wasmrun/wasmrun/vfs"
)

// Fsck's checks of the directory tree: every entry under its name and under its sequence
// number alike, naming an inode of its type; every inode with links reachable from the root;
// link counts, entry counts and parents.

// checkSeqs reads the entries by sequence number (the dirseqs bucket): each well formed and
// with a sequence number in range. checkNames matches them with the entries by name.
func (c *checker) checkSeqs() error {
	r := c.r
	return scanOrdered(c.rd, r, bDirSeqs, func(k, v []byte) bool {
		if len(k) != 16 {
			r.problem("entries: bad key %x", clip(k))
			return true
		}
		parent, seq := splitPair(k)
		typ, ino, name, ok := decodeEntryVal(v)
		switch {
		case !ok:
			r.problem("directory %d, entry %d: malformed", parent, seq)
		case !validSeq(seq):
			r.problem("directory %d, entry %q: sequence number %d out of range", parent, name, seq)
		default:
			c.entries[[2]uint64{parent, seq}] = entryRec{typ, ino, name}
		}
		return true
	})
}

// checkNames checks every entry by name (the dirents bucket): a valid name in an existing
// directory, a sequence number below the directory's next one, the same entry under its
// sequence number (one to one: an entry by seq left without its name is reported too), and
// an existing inode of the entry's type, whose parent, for a directory, is the entry's
// directory. It counts the links of each inode and the entries of each directory for
// checkTree.
func (c *checker) checkNames() error {
	r := c.r
	err := scanOrdered(c.rd, r, bDirents, func(k, v []byte) bool {
		if len(k) < 9 || len(k) > 8+vfs.NameMax {
			r.problem("dirents: bad key %x", clip(k))
			return true
		}
		parent := binary.BigEndian.Uint64(k)
		name := string(k[8:])
		where := fmt.Sprintf("directory %d, entry %q", parent, name)
		if checkName(name) != vfs.ESUCCESS {
			where = fmt.Sprintf("directory %d, entry %x", parent, name)
			r.problem("%s: invalid name", where)
		}
		d := c.inodes[vfs.Ino(parent)]
		switch {
		case d == nil:
			r.problem("%s: no such directory", where)
		case d.typ != vfs.TypeDir:
			r.problem("%s: in inode %d, a %v", where, parent, d.typ)
		}
		seq, typ, ino, ok := decodeNameVal(v)
		if !ok {
			r.problem("%s: malformed (%x)", where, clip(v))
			return true
		}
		r.Entries++
		if d != nil {
			d.ents++
			if d.typ == vfs.TypeDir && seq >= d.nextSeq {
				r.problem("%s: sequence number %d, not below the directory's next, %d", where, seq, d.nextSeq)
			}
		}
		ek := [2]uint64{parent, seq}
		switch en, found := c.entries[ek]; {
		case !found:
			r.problem("%s: no entry under its sequence number %d", where, seq)
		case en.name != name || en.ino != ino || en.typ != typ:
			r.problem("%s: its sequence number %d holds %q (inode %d, %v), want inode %d, %v", where, seq, en.name, en.ino, en.typ, ino, typ)
			delete(c.entries, ek)
		default:
			delete(c.entries, ek)
		}
		n := c.inodes[ino]
		if n == nil {
			r.problem("%s: names missing inode %d", where, ino)
			return true
		}
		if n.typ != typ {
			r.problem("%s: type %v, but inode %d is a %v", where, typ, ino, n.typ)
		}
		n.links++
		c.children[vfs.Ino(parent)] = append(c.children[vfs.Ino(parent)], ino)
		if n.typ == vfs.TypeDir {
			if d != nil {
				d.subdirs++
			}
			if n.parent != vfs.Ino(parent) {
				r.problem("%s: directory %d says its parent is %d", where, ino, n.parent)
			}
		}
		return true
	})
	if err != nil {
		return err
	}
	for _, k := range slices.SortedFunc(maps.Keys(c.entries), func(a, b [2]uint64) int {
		return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1]))
	}) {
		r.problem("directory %d, entry %q: sequence number %d without its name", k[0], c.entries[k].name, k[1])
	}
	return nil
}

// checkTree checks, from what checkNames and checkOrphans counted, that the root is a
// directory that is its own parent and named by no entry, that every inode with links is
// reachable from it, that each directory's entry count is its number of entries, and that
// each inode's link count is its number of entries (a directory's: 2 plus its
// subdirectories), or 0 for an orphan, which no entry names.
func (c *checker) checkTree() error {
	r, inodes := c.r, c.inodes
	if root := inodes[rootIno]; root == nil || root.typ != vfs.TypeDir {
		r.problem("no root directory")
	} else {
		if root.parent != rootIno {
			r.problem("root directory: parent %d, want itself", root.parent)
		}
		if root.links != 0 {
			r.problem("root directory: named by %d entries", root.links)
		}
		root.reached = true
		queue := []vfs.Ino{rootIno}
		for len(queue) > 0 {
			d := queue[0]
			queue = queue[1:]
			for _, ch := range c.children[d] {
				if n := inodes[ch]; n != nil && !n.reached {
					n.reached = true
					if n.typ == vfs.TypeDir {
						queue = append(queue, ch)
					}
				}
			}
		}
	}
	for ino, n := range inodes {
		want := n.links
		if n.typ == vfs.TypeDir {
			if n.ents != n.nent {
				r.problem("directory %d: %d entries, record says %d", ino, n.ents, n.nent)
			}
			want = 2 + n.subdirs
			if n.links > 1 {
				r.problem("directory %d: named by %d entries", ino, n.links)
			}
			if n.links == 0 && ino != rootIno {
				want = 0
			}
			if n.nlink == 0 && n.ents != 0 {
				r.problem("directory %d: removed but has %d entries", ino, n.ents)
			}
		}
		switch {
		case n.nlink == 0 && !n.orphan:
			r.problem("inode %d: no links and not an orphan", ino)
		case n.nlink == 0 && n.links != 0:
			r.problem("inode %d: orphan named by %d entries", ino, n.links)
		case n.nlink != 0 && n.nlink != want:
			r.problem("inode %d: nlink %d, want %d", ino, n.nlink, want)
		}
		if n.nlink != 0 && !n.reached {
			r.problem("inode %d: not reachable from the root", ino)
		}
	}
	return nil
}
