package stable

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/wasmrun/wasmrun/stable/internal/kv"
	"github.com/wasmrun/wasmrun/vfs"
)

// FsckReport is the result of Fsck: what the store holds, and every violation of the store's
// invariants found, one readable line each.
type FsckReport struct {
	Inodes   int64 // inode records
	Dirs     int64
	Files    int64
	Symlinks int64
	Entries  int64 // directory entries
	Pages    int64 // stored file pages
	Orphans  int64 // inodes on the orphan list (unlinked while open)
	Bytes    int64 // sum of the sizes of the regular files

	Problems []string

	superBytes, superInodes int64 // the superblock's counters
}

// OK reports whether the check found no problem.
func (r *FsckReport) OK() bool { return len(r.Problems) == 0 }

// String summarises the report, one problem a line.
func (r *FsckReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d inodes (%d dirs, %d files, %d symlinks), %d entries, %d pages, %d orphans, %d bytes",
		r.Inodes, r.Dirs, r.Files, r.Symlinks, r.Entries, r.Pages, r.Orphans, r.Bytes)
	if r.OK() {
		b.WriteString(": ok")
	}
	for _, p := range r.Problems {
		b.WriteString("\n")
		b.WriteString(p)
	}
	return b.String()
}

func (r *FsckReport) problem(format string, args ...any) {
	if len(r.Problems) < maxProblems {
		r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
	} else if len(r.Problems) == maxProblems {
		r.Problems = append(r.Problems, "... (more problems not listed)")
	}
}

// maxProblems bounds FsckReport.Problems.
const maxProblems = 1000

type fsckInode struct {
	inode
	links   uint64 // entries naming it
	ents    uint64 // directories: entries in it
	subdirs uint64 // directories: entries in it that are directories
	orphan  bool
	reached bool
}

// Fsck checks every invariant of the committed state of the store (call Commit first to
// include the changes still in the cache): the keys of every bucket in strictly ascending
// order; the superblock (every key known and of its size) and its counters; every inode record
// well formed and below the next inode number; every directory entry in a directory, stored
// under its name and under its sequence number alike (below the directory's next one and
// below vfs.MaxCookie), naming an existing inode of its type; every inode with links reachable
// from the root; link counts (a file's nlink is its number of entries, a directory's is 2 plus
// its subdirectories) and entry counts; each directory's parent; the orphan list holding
// exactly the inodes with no link; no page of a missing inode or of a non-file, none longer
// than the page size or stored with trailing zeros (so none all zeros), none holding data
// past the end of its file; the page graph of the file (every page inside the file, reached
// once, of the type its parent says); and bbolt's own check of its pages. It holds the FS (every other call waits) while it runs, as
// bbolt's check must not run alongside a commit. The error is for a store that cannot be read
// at all, or an FS already closed.
func (f *FS) Fsck() (*FsckReport, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for f.committing {
		f.cond.Wait()
	}
	if f.closed {
		return nil, fmt.Errorf("fsck %s: closed", f.path)
	}
	r := &FsckReport{}
	inodes := make(map[vfs.Ino]*fsckInode)
	children := make(map[vfs.Ino][]vfs.Ino)
	err := f.store.View(func(rd kv.Reader) error {
		if err := f.fsckSuper(rd, r); err != nil {
			return err
		}
		var maxIno uint64
		err := scanOrdered(rd, r, bInodes, func(k, v []byte) bool {
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
			inodes[n.ino] = n
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
		if next := f.superNext(rd); maxIno >= next {
			r.problem("inode %d is not below the next inode number %d", maxIno, next)
		}

		// Every entry is under its name and under its seq: check that the two agree, one
		// to one, and take the links from the names.
		type entryRec struct {
			typ  vfs.FileType
			ino  vfs.Ino
			name string
		}
		entries := make(map[[2]uint64]entryRec)
		err = scanOrdered(rd, r, bDirSeqs, func(k, v []byte) bool {
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
				entries[[2]uint64{parent, seq}] = entryRec{typ, ino, name}
			}
			return true
		})
		if err != nil {
			return err
		}
		err = scanOrdered(rd, r, bDirents, func(k, v []byte) bool {
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
			d := inodes[vfs.Ino(parent)]
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
			switch en, found := entries[ek]; {
			case !found:
				r.problem("%s: no entry under its sequence number %d", where, seq)
			case en.name != name || en.ino != ino || en.typ != typ:
				r.problem("%s: its sequence number %d holds %q (inode %d, %v), want inode %d, %v", where, seq, en.name, en.ino, en.typ, ino, typ)
				delete(entries, ek)
			default:
				delete(entries, ek)
			}
			n := inodes[ino]
			if n == nil {
				r.problem("%s: names missing inode %d", where, ino)
				return true
			}
			if n.typ != typ {
				r.problem("%s: type %v, but inode %d is a %v", where, typ, ino, n.typ)
			}
			n.links++
			children[vfs.Ino(parent)] = append(children[vfs.Ino(parent)], ino)
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
		for _, k := range slices.SortedFunc(maps.Keys(entries), func(a, b [2]uint64) int {
			return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1]))
		}) {
			r.problem("directory %d, entry %q: sequence number %d without its name", k[0], entries[k].name, k[1])
		}

		err = scanOrdered(rd, r, bOrphans, func(k, v []byte) bool {
			if len(k) != 8 || len(v) != 0 {
				r.problem("orphans: bad key %x or value of %d bytes", clip(k), len(v))
				return true
			}
			r.Orphans++
			ino := binary.BigEndian.Uint64(k)
			switch n := inodes[vfs.Ino(ino)]; {
			case n == nil:
				r.problem("orphan %d: no such inode", ino)
			case n.nlink != 0:
				r.problem("orphan %d: has nlink %d", ino, n.nlink)
			default:
				n.orphan = true
			}
			return true
		})
		if err != nil {
			return err
		}

		// Reachability from the root.
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
				for _, c := range children[d] {
					if n := inodes[c]; n != nil && !n.reached {
						n.reached = true
						if n.typ == vfs.TypeDir {
							queue = append(queue, c)
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

		err = scanOrdered(rd, r, bPages, func(k, v []byte) bool {
			if len(k) != 16 {
				r.problem("pages: bad key %x", clip(k))
				return true
			}
			r.Pages++
			ino, idx := splitPair(k)
			n := inodes[vfs.Ino(ino)]
			switch {
			case n == nil:
				r.problem("page %d of missing inode %d", idx, ino)
			case n.typ != vfs.TypeRegular:
				r.problem("page %d of inode %d, a %v", idx, ino, n.typ)
			case len(v) == 0 || int64(len(v)) > f.ps:
				r.problem("page %d of inode %d: %d bytes, want 1 to %d", idx, ino, len(v), f.ps)
			case v[len(v)-1] == 0:
				r.problem("page %d of inode %d: stored with trailing zeros", idx, ino)
			case int64(idx)*f.ps+int64(len(v)) > n.size:
				r.problem("page %d of inode %d: data past its end (size %d)", idx, ino, n.size)
			}
			return true
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("fsck %s: %w", f.path, storeError(err))
	}
	if r.Bytes != r.superBytes {
		r.problem("superblock: %d bytes in files, counted %d", r.Bytes, r.superBytes)
	}
	if r.Inodes != r.superInodes {
		r.problem("superblock: %d inodes, counted %d", r.Inodes, r.superInodes)
	}
	if err := f.store.Check(func(e error) { r.problem("bbolt: %v", e) }); err != nil {
		return nil, fmt.Errorf("fsck %s: %w", f.path, storeError(err))
	}
	return r, nil
}

// fsckSuper checks the superblock's counters against the report's totals later; here it
// checks what can be checked alone.
func (f *FS) fsckSuper(rd kv.Reader, r *FsckReport) error {
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
	return err
}

func (f *FS) superNext(rd kv.Reader) uint64 {
	return binary.BigEndian.Uint64(pad8(rd.Get(bSuper, keyNextIno)))
}

// scanOrdered scans bucket b whole, as rd.Scan, and reports a key that is not above the one
// before it: a damaged page, which bbolt's own check does not look at in an inline bucket.
func scanOrdered(rd kv.Reader, r *FsckReport, b kv.Bucket, fn func(k, v []byte) bool) error {
	var prev []byte // valid until the transaction ends
	return rd.Scan(b, nil, nil, func(k, v []byte) bool {
		if prev != nil && bytes.Compare(prev, k) >= 0 {
			r.problem("%s: key %x is not above the key before it, %x", bucketSpecs[b].Name, clip(k), clip(prev))
		}
		prev = k
		return fn(k, v)
	})
}

// clip returns at most the first 32 bytes of b, for a report.
func clip(b []byte) []byte { return b[:min(len(b), 32)] }

func pad8(b []byte) []byte {
	if len(b) == 8 {
		return b
	}
	return make([]byte, 8)
}
