package vfs

import (
	"errors"
	"io"
	"io/fs"
	"slices"
	"strings"
	"sync"
	"time"
)

// IOFS returns a read-only io/fs view of the namespace, for Go code on the host. Names are
// io/fs names (slash-separated, unrooted, no "." or ".." elements; "." is the root) and are
// resolved from the namespace root, following symlinks (an absolute target inside the
// namespace, as for a guest) and crossing mounts. The value implements fs.FS, fs.ReadDirFS,
// fs.StatFS, fs.ReadFileFS and fs.ReadLinkFS, and its files implement fs.File, io.ReaderAt,
// io.Seeker and fs.ReadDirFile. Errors are *fs.PathError wrapping an Errno, so errors.Is
// matches them against fs.ErrNotExist and the other io/fs sentinels.
func (ns *Namespace) IOFS() fs.FS { return &ioFS{ns: ns} }

// NewIOFS returns the io/fs view (see Namespace.IOFS) of a namespace made of fsys alone.
func NewIOFS(fsys FS) fs.FS { return NewNamespace(fsys).IOFS() }

// ioFS implements the io/fs interfaces over a Namespace.
type ioFS struct{ ns *Namespace }

var (
	_ fs.FS         = (*ioFS)(nil)
	_ fs.ReadDirFS  = (*ioFS)(nil)
	_ fs.StatFS     = (*ioFS)(nil)
	_ fs.ReadFileFS = (*ioFS)(nil)
	_ fs.ReadLinkFS = (*ioFS)(nil)

	_ fs.ReadDirFile = (*ioFile)(nil)
	_ io.ReaderAt    = (*ioFile)(nil)
	_ io.Seeker      = (*ioFile)(nil)
)

// abs turns an io/fs name into a namespace path.
func abs(op, name string) (string, error) {
	if !fs.ValidPath(name) {
		return "", &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	return "/" + name, nil
}

// pathErr wraps e, unless it is ESUCCESS.
func pathErr(op, name string, e Errno) error {
	if e == 0 {
		return nil
	}
	return &fs.PathError{Op: op, Path: name, Err: e}
}

// Open implements fs.FS.
func (f *ioFS) Open(name string) (fs.File, error) {
	p, err := abs("open", name)
	if err != nil {
		return nil, err
	}
	h, e := f.ns.Open(Node{}, p, ORead, 0)
	if e != 0 {
		return nil, pathErr("open", name, e)
	}
	return &ioFile{ns: f.ns, h: h, name: name, cookie: 2}, nil
}

// Stat implements fs.StatFS.
func (f *ioFS) Stat(name string) (fs.FileInfo, error) { return f.stat("stat", name, true) }

// Lstat implements fs.ReadLinkFS.
func (f *ioFS) Lstat(name string) (fs.FileInfo, error) { return f.stat("lstat", name, false) }

func (f *ioFS) stat(op, name string, follow bool) (fs.FileInfo, error) {
	p, err := abs(op, name)
	if err != nil {
		return nil, err
	}
	st, e := f.ns.StatAt(Node{}, p, follow)
	if e != 0 {
		return nil, pathErr(op, name, e)
	}
	return &fileInfo{name: base(name), st: st}, nil
}

// ReadLink implements fs.ReadLinkFS.
func (f *ioFS) ReadLink(name string) (string, error) {
	p, err := abs("readlink", name)
	if err != nil {
		return "", err
	}
	s, e := f.ns.Readlink(Node{}, p)
	return s, pathErr("readlink", name, e)
}

// ReadFile implements fs.ReadFileFS.
func (f *ioFS) ReadFile(name string) ([]byte, error) {
	p, err := abs("readfile", name)
	if err != nil {
		return nil, err
	}
	h, e := f.ns.Open(Node{}, p, ORead, 0)
	if e != 0 {
		return nil, pathErr("readfile", name, e)
	}
	defer h.File.Close()
	if h.Type == TypeDir {
		return nil, pathErr("readfile", name, EISDIR)
	}
	st, e := f.ns.Stat(h.Node)
	if e != 0 {
		return nil, pathErr("readfile", name, e)
	}
	buf := make([]byte, 0, max(st.Size, 0)+1)
	for {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, 4096)
		}
		n, e := h.File.ReadAt(buf[len(buf):cap(buf)], int64(len(buf)))
		if e != 0 {
			return nil, pathErr("readfile", name, e)
		}
		if n == 0 {
			return buf, nil
		}
		buf = buf[:len(buf)+n]
	}
}

// ReadDir implements fs.ReadDirFS: the entries sorted by name, without "." and "..".
func (f *ioFS) ReadDir(name string) ([]fs.DirEntry, error) {
	file, err := f.Open(name)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	d := file.(*ioFile)
	if d.h.Type != TypeDir {
		return nil, pathErr("readdir", name, ENOTDIR)
	}
	list, err := d.ReadDir(-1)
	slices.SortFunc(list, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return list, err
}

// base returns the last element of an io/fs name.
func base(name string) string {
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		return name[i+1:]
	}
	return name
}

// ioFile is an open file of an ioFS.
type ioFile struct {
	ns   *Namespace
	h    *Handle
	name string

	mu     sync.Mutex
	off    int64  // Read and Seek
	cookie uint64 // ReadDir; starts past "." and ".."
	closed bool
}

// Stat implements fs.File.
func (f *ioFile) Stat() (fs.FileInfo, error) {
	st, e := f.ns.Stat(f.h.Node)
	if e != 0 {
		return nil, pathErr("stat", f.name, e)
	}
	return &fileInfo{name: base(f.name), st: st}, nil
}

// Read implements fs.File.
func (f *ioFile) Read(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return 0, pathErr("read", f.name, EBADF)
	}
	if f.h.Type == TypeDir {
		return 0, pathErr("read", f.name, EISDIR)
	}
	if len(p) == 0 {
		return 0, nil
	}
	n, e := f.h.File.ReadAt(p, f.off)
	f.off += int64(n)
	if e != 0 {
		return n, pathErr("read", f.name, e)
	}
	if n == 0 {
		return 0, io.EOF
	}
	return n, nil
}

// ReadAt implements io.ReaderAt: it fills p or returns an error (io.EOF at the end).
func (f *ioFile) ReadAt(p []byte, off int64) (int, error) {
	if f.h.Type == TypeDir {
		return 0, pathErr("read", f.name, EISDIR)
	}
	if off < 0 {
		return 0, pathErr("read", f.name, EINVAL)
	}
	total := 0
	for total < len(p) {
		n, e := f.h.File.ReadAt(p[total:], off+int64(total))
		total += n
		if e != 0 {
			return total, pathErr("read", f.name, e)
		}
		if n == 0 {
			return total, io.EOF
		}
	}
	return total, nil
}

// Seek implements io.Seeker.
func (f *ioFile) Seek(offset int64, whence int) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return 0, pathErr("seek", f.name, EBADF)
	}
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += f.off
	case io.SeekEnd:
		st, e := f.ns.Stat(f.h.Node)
		if e != 0 {
			return 0, pathErr("seek", f.name, e)
		}
		offset += st.Size
	default:
		return 0, pathErr("seek", f.name, EINVAL)
	}
	if offset < 0 {
		return 0, pathErr("seek", f.name, EINVAL)
	}
	f.off = offset
	return offset, nil
}

// ReadDir implements fs.ReadDirFile.
func (f *ioFile) ReadDir(n int) ([]fs.DirEntry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil, pathErr("readdir", f.name, EBADF)
	}
	if f.h.Type != TypeDir {
		return nil, pathErr("readdir", f.name, ENOTDIR)
	}
	var out []fs.DirEntry
	e := f.ns.ReadDir(f.h, f.cookie, func(e *DirEntry) bool {
		f.cookie = e.Next
		out = append(out, &dirEntry{dir: f, name: string(e.Name), typ: e.Type})
		return n <= 0 || len(out) < n
	})
	if e != 0 {
		return out, pathErr("readdir", f.name, e)
	}
	if n > 0 && len(out) == 0 {
		return nil, io.EOF
	}
	return out, nil
}

// Close implements fs.File.
func (f *ioFile) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return pathErr("close", f.name, EBADF)
	}
	f.closed = true
	return pathErr("close", f.name, f.h.File.Close())
}

// dirEntry implements fs.DirEntry.
type dirEntry struct {
	dir  *ioFile
	name string
	typ  FileType
}

func (d *dirEntry) Name() string      { return d.name }
func (d *dirEntry) IsDir() bool       { return d.typ == TypeDir }
func (d *dirEntry) Type() fs.FileMode { return typeMode(d.typ) }
func (d *dirEntry) String() string    { return fs.FormatDirEntry(d) }

// Info returns the entry's metadata, not following a symlink (as lstat).
func (d *dirEntry) Info() (fs.FileInfo, error) {
	st, e := d.dir.ns.StatAt(d.dir.h.Node, d.name, false)
	if e != 0 {
		return nil, pathErr("stat", d.dir.name+"/"+d.name, e)
	}
	return &fileInfo{name: d.name, st: st}, nil
}

// fileInfo implements fs.FileInfo over a Stat.
type fileInfo struct {
	name string
	st   Stat
}

func (fi *fileInfo) Name() string       { return fi.name }
func (fi *fileInfo) Size() int64        { return fi.st.Size }
func (fi *fileInfo) ModTime() time.Time { return time.Unix(0, fi.st.Mtime) }
func (fi *fileInfo) IsDir() bool        { return fi.st.Type == TypeDir }
func (fi *fileInfo) String() string     { return fs.FormatFileInfo(fi) }

// Sys returns the *Stat.
func (fi *fileInfo) Sys() any { return &fi.st }

// Mode returns the permission bits and the type.
func (fi *fileInfo) Mode() fs.FileMode {
	m := fs.FileMode(fi.st.Mode&0o777) | typeMode(fi.st.Type)
	if fi.st.Mode&0o4000 != 0 {
		m |= fs.ModeSetuid
	}
	if fi.st.Mode&0o2000 != 0 {
		m |= fs.ModeSetgid
	}
	if fi.st.Mode&0o1000 != 0 {
		m |= fs.ModeSticky
	}
	return m
}

// typeMode returns the fs.FileMode type bits of t.
func typeMode(t FileType) fs.FileMode {
	switch t {
	case TypeRegular:
		return 0
	case TypeDir:
		return fs.ModeDir
	case TypeSymlink:
		return fs.ModeSymlink
	case TypeBlockDevice:
		return fs.ModeDevice
	case TypeCharDevice:
		return fs.ModeDevice | fs.ModeCharDevice
	case TypeSocketDgram, TypeSocketStrm:
		return fs.ModeSocket
	}
	return fs.ModeIrregular
}

// errnoOf returns the Errno inside an io/fs error.
func errnoOf(err error) Errno {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return ToErrno(pe.Err)
	}
	return ToErrno(err)
}
