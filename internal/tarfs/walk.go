package tarfs

import (
	"fmt"
	"io"
	"path"
	"slices"

	"github.com/wasmrun/wasmrun/vfs"
)

// Options tune Export, Import and Copy. The zero value is fine.
type Options struct {
	// Progress, if not nil, is called after each chunk of file data with the number of bytes
	// of file data copied so far.
	Progress func(done int64)
	// Warn, if not nil, receives one line for each entry that is skipped (device files, FIFOs,
	// sockets, tar entry types with no meaning here).
	Warn func(msg string)
}

// Stats count what Export, Import or Copy did.
type Stats struct {
	Files    int64 // regular files (hard links not included)
	Dirs     int64
	Symlinks int64
	Links    int64 // hard links: names for an inode already counted
	Skipped  int64 // entries skipped (see Options.Warn)
	Bytes    int64 // bytes of file data
}

// entry is one file of a tree being copied, in the order a tar archive lists them: a directory
// before what it holds.
type entry struct {
	name   string // "." for the top of the tree, else a clean relative slash-separated path
	typ    vfs.FileType
	mode   uint32 // permission bits, 0o7777
	size   int64  // regular files
	atime  int64  // Unix nanoseconds
	mtime  int64
	target string      // symlinks: the target
	linkTo string      // hard links: the name of the earlier entry for the same inode
	sparse *sparseFile // a sparse regular file from an archive: its map and data
}

// chunk is the size of the reads and writes of file data.
const chunk = 256 << 10

// walker reads a subtree of a namespace, in pre-order, each directory's entries sorted by name,
// and hands each entry to fn with the open file for a regular file (nil otherwise).
type walker struct {
	ns    *vfs.Namespace
	fn    func(e *entry, f vfs.File) error
	seen  map[inodeKey]string // non-directories with more than one link: the first name
	names []string
}

type inodeKey struct {
	dev uint64
	ino vfs.Ino
}

// walk walks the tree at dir (an absolute namespace path; a final symlink is followed). When dir
// is not a directory the tree is that one file, named by its base name.
func walk(ns *vfs.Namespace, dir string, fn func(e *entry, f vfs.File) error) error {
	w := &walker{ns: ns, fn: fn, seen: map[inodeKey]string{}}
	st, e := ns.StatAt(vfs.Node{}, dir, true)
	if e != 0 {
		return fmt.Errorf("%s: %w", dir, e)
	}
	if st.Type != vfs.TypeDir {
		return w.file(vfs.Node{}, dir, path.Base(dir), st)
	}
	h, e := ns.Open(vfs.Node{}, dir, vfs.ORead|vfs.ODirectory, 0)
	if e != 0 {
		return fmt.Errorf("%s: %w", dir, e)
	}
	defer h.File.Close()
	if err := fn(&entry{name: ".", typ: vfs.TypeDir, mode: st.Mode, atime: st.Atime, mtime: st.Mtime}, nil); err != nil {
		return err
	}
	return w.dir(h, ".")
}

// dir walks the directory open in h, whose entry name is name.
func (w *walker) dir(h *vfs.Handle, name string) error {
	var names []string
	e := w.ns.ReadDir(h, 0, func(d *vfs.DirEntry) bool {
		if n := string(d.Name); n != "." && n != ".." {
			names = append(names, n)
		}
		return true
	})
	if e != 0 {
		return fmt.Errorf("%s: %w", name, e)
	}
	slices.Sort(names)
	for _, n := range names {
		child := path.Join(name, n)
		st, e := w.ns.StatAt(h.Node, n, false)
		if e == vfs.ENOENT {
			continue // removed since the listing
		}
		if e != 0 {
			return fmt.Errorf("%s: %w", child, e)
		}
		if st.Type != vfs.TypeDir {
			if err := w.file(h.Node, n, child, st); err != nil {
				return err
			}
			continue
		}
		ch, e := w.ns.Open(h.Node, n, vfs.ORead|vfs.ODirectory|vfs.ONoFollow, 0)
		if e != 0 {
			return fmt.Errorf("%s: %w", child, e)
		}
		err := w.fn(&entry{name: child, typ: vfs.TypeDir, mode: st.Mode, atime: st.Atime, mtime: st.Mtime}, nil)
		if err == nil {
			err = w.dir(ch, child)
		}
		ch.File.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// file hands on the non-directory at (at, p), whose entry name is name and metadata st.
func (w *walker) file(at vfs.Node, p, name string, st vfs.Stat) error {
	e := &entry{name: name, typ: st.Type, mode: st.Mode, atime: st.Atime, mtime: st.Mtime}
	if st.Nlink > 1 {
		k := inodeKey{st.Dev, st.Ino}
		if first, ok := w.seen[k]; ok {
			e.linkTo = first
			return w.fn(e, nil)
		}
		w.seen[k] = name
	}
	switch st.Type {
	case vfs.TypeSymlink:
		t, en := w.ns.Readlink(at, p)
		if en != 0 {
			return fmt.Errorf("%s: %w", name, en)
		}
		e.target = t
	case vfs.TypeRegular:
		h, en := w.ns.Open(at, p, vfs.ORead|vfs.ONoFollow, 0)
		if en != 0 {
			return fmt.Errorf("%s: %w", name, en)
		}
		defer h.File.Close()
		e.size = st.Size
		return w.fn(e, h.File)
	}
	return w.fn(e, nil)
}

// fileReader reads a vfs.File from the start, exactly size bytes: zeros past its real end if
// it shrank meanwhile, and not beyond size if it grew.
type fileReader struct {
	f    vfs.File
	off  int64
	size int64
	eof  bool // the file ended before size
}

func (r *fileReader) Read(p []byte) (int, error) {
	if r.off >= r.size {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), r.size-r.off)]
	if r.eof {
		clear(p)
		r.off += int64(len(p))
		return len(p), nil
	}
	n, e := r.f.ReadAt(p, r.off)
	if e != 0 {
		return 0, e
	}
	if n == 0 {
		r.eof = true
		return r.Read(p)
	}
	r.off += int64(n)
	return n, nil
}

// Walk counts the tree at dir (see Export) without reading file data: what Export or Copy of
// the same tree would report in Stats, for a progress bar's total.
func Walk(ns *vfs.Namespace, dir string) (Stats, error) {
	var s Stats
	err := walk(ns, dir, func(e *entry, _ vfs.File) error {
		s.count(e)
		return nil
	})
	return s, err
}

// count adds e to s.
func (s *Stats) count(e *entry) {
	switch {
	case e.linkTo != "":
		s.Links++
	case e.typ == vfs.TypeDir:
		s.Dirs++
	case e.typ == vfs.TypeRegular:
		s.Files++
		s.Bytes += e.size
	case e.typ == vfs.TypeSymlink:
		s.Symlinks++
	default:
		s.Skipped++
	}
}
