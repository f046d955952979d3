package stable

import (
	"bytes"
	"fmt"
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
// once, of the type its parent says); and bbolt's own check of its pages. It holds the FS
// (every other call waits) while it runs, as bbolt's check must not run alongside a commit.
// The error is for a store that cannot be read at all, or an FS already closed.
//
// Each invariant has its own check, in the order they run (see fsck_meta.go, fsck_tree.go
// and fsck_pages.go); the ones that need the whole store read first (links, reachability,
// counters) run on what the earlier ones gathered.
func (f *FS) Fsck() (*FsckReport, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for f.commit.committing {
		f.cond.Wait()
	}
	if f.closed {
		return nil, fmt.Errorf("fsck %s: closed", f.path)
	}
	c := &checker{
		r:        &FsckReport{},
		ps:       f.ps,
		inodes:   make(map[vfs.Ino]*fsckInode),
		children: make(map[vfs.Ino][]vfs.Ino),
		entries:  make(map[[2]uint64]entryRec),
	}
	err := f.store.View(func(rd kv.Reader) error {
		c.rd = rd
		for _, check := range []func() error{
			c.checkSuper,   // the superblock alone
			c.checkInodes,  // every record, below the next inode number
			c.checkSeqs,    // entries by sequence number
			c.checkNames,   // entries by name: agree with those by seq, name inodes of their type
			c.checkOrphans, // the orphan list: inodes without links
			c.checkTree,    // reachability, link and entry counts
			c.checkPages,   // pages of files, within their files
		} {
			if err := check(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("fsck %s: %w", f.path, storeError(err))
	}
	c.checkCounters()
	r := c.r
	if err := f.store.Check(func(e error) { r.problem("bbolt: %v", e) }); err != nil {
		return nil, fmt.Errorf("fsck %s: %w", f.path, storeError(err))
	}
	return r, nil
}

// checker is one run of Fsck: what the checks of each invariant gathered for the later ones.
type checker struct {
	rd kv.Reader
	r  *FsckReport
	ps int64 // page size

	superNext uint64 // the superblock's next inode number
	inodes    map[vfs.Ino]*fsckInode
	children  map[vfs.Ino][]vfs.Ino // directory -> the inodes its entries name
	// entries by (parent, seq) not yet matched by a name (checkSeqs fills it, checkNames
	// takes out those it matches)
	entries map[[2]uint64]entryRec
}

// fsckInode is an inode record with what the checks counted for it.
type fsckInode struct {
	inode
	links   uint64 // entries naming it
	ents    uint64 // directories: entries in it
	subdirs uint64 // directories: entries in it that are directories
	orphan  bool
	reached bool
}

// entryRec is an entry as the dirseqs bucket has it.
type entryRec struct {
	typ  vfs.FileType
	ino  vfs.Ino
	name string
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
