package wasi

import (
	"math/bits"

	"github.com/wasmrun/wasmrun/vfs"
)

// entryKind says what an fd refers to.
type entryKind uint8

const (
	kindFile   entryKind = iota // a *vfs.Handle on a regular file, symlink or other non-directory
	kindDir                     // a *vfs.Handle on a directory
	kindStdin                   // the process's standard input stream
	kindStdout                  // an output stream (standard output or error)
)

// access is the access mode of an fd, open(2)'s O_RDONLY, O_WRONLY or O_RDWR.
type access uint8

const (
	accRead  access = 1 << iota // fd_read and fd_pread are allowed
	accWrite                    // fd_write, fd_pwrite, fd_allocate, fd_filestat_set_size are
)

// fdEntry is one open file descriptor.
type fdEntry struct {
	kind     entryKind
	filetype uint8       // the WASI filetype fd_fdstat_get reports
	h        *vfs.Handle // kindFile, kindDir
	out      *outStream  // kindStdout
	offset   int64       // the file position (kindFile)
	fdflags  uint16
	access   access // what the fd was opened for: the only rights checked (see doc.go, Rights)
	base     uint64 // rights base, as reported by fd_fdstat_get
	inherit  uint64 // rights inheriting
	preopen  string // the name fd_prestat_get reports; "" if not a preopen
}

// fdTable maps fds to entries. A bitmask keeps the lowest free fd one scan away, as POSIX
// requires for open(2): bit i of masks[i/64] is set iff entries[i] is in use.
type fdTable struct {
	masks   []uint64
	entries []*fdEntry
	max     int // fds are < max
}

// get returns the entry of fd, or nil.
func (t *fdTable) get(fd uint32) *fdEntry {
	if uint64(fd) < uint64(len(t.entries)) {
		return t.entries[fd]
	}
	return nil
}

// insert puts e at the lowest free fd and returns it. Errors: EMFILE.
func (t *fdTable) insert(e *fdEntry) (uint32, vfs.Errno) {
	for i, m := range t.masks {
		if m != ^uint64(0) {
			fd := i*64 + bits.TrailingZeros64(^m)
			if fd >= t.max {
				return 0, vfs.EMFILE
			}
			t.set(fd, e)
			return uint32(fd), vfs.ESUCCESS
		}
	}
	fd := len(t.masks) * 64
	if fd >= t.max {
		return 0, vfs.EMFILE
	}
	t.set(fd, e)
	return uint32(fd), vfs.ESUCCESS
}

// set puts e at fd, growing the table; whatever was at fd is dropped (the caller closes it).
func (t *fdTable) set(fd int, e *fdEntry) {
	for fd/64 >= len(t.masks) {
		t.masks = append(t.masks, 0)
	}
	for fd >= len(t.entries) {
		t.entries = append(t.entries, nil)
	}
	t.masks[fd/64] |= 1 << (fd % 64)
	t.entries[fd] = e
}

// remove drops fd and returns its entry, or nil if it was not open.
func (t *fdTable) remove(fd uint32) *fdEntry {
	e := t.get(fd)
	if e != nil {
		t.masks[fd/64] &^= 1 << (fd % 64)
		t.entries[fd] = nil
	}
	return e
}

// each calls fn for every open fd in ascending order.
func (t *fdTable) each(fn func(fd uint32, e *fdEntry)) {
	for i, m := range t.masks {
		for m != 0 {
			b := bits.TrailingZeros64(m)
			m &^= 1 << b
			fd := uint32(i*64 + b)
			fn(fd, t.entries[fd])
		}
	}
}
