package iofs

import (
	"io"
	"io/fs"
	"slices"
	"strings"
	"sync"

	"github.com/wasmrun/wasmrun/vfs"
)

// Of returns a read-only io/fs view of the namespace, for Go code on the host. Names are io/fs
// names (slash-separated, unrooted, no "." or ".." elements; "." is the root) and are resolved
// from the namespace root, following symlinks (an absolute target inside the namespace, as for
// a guest) and crossing mounts. The value implements fs.FS, fs.ReadDirFS, fs.StatFS,
// fs.ReadFileFS and fs.ReadLinkFS, and its files implement fs.File, io.ReaderAt, io.Seeker and
// fs.ReadDirFile. Errors are *fs.PathError wrapping a vfs.Errno, so errors.Is matches them
// against fs.ErrNotExist and the other io/fs sentinels.
func Of(ns *vfs.Namespace) fs.FS { return &ioFS{ns: ns} }

// OfBackend returns the io/fs view (see Of) of a namespace made of fsys alone.
func OfBackend(fsys vfs.FS) fs.FS { return Of(vfs.NewNamespace(fsys)) }

// ioFS implements the io/fs interfaces over a Namespace.
type ioFS struct{ ns *vfs.Namespace }

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

// NamespacePath turns the io/fs name name into the absolute namespace path it stands for, or
// fails with an *fs.PathError wrapping fs.ErrInvalid (for op) if name is not fs.ValidPath.
func NamespacePath(op, name string) (string, error) {
	if !fs.ValidPath(name) {
		return "", &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	return "/" + name, nil
}

// PathError returns e as an *fs.PathError for op on name, or nil for ESUCCESS.
func PathError(op, name string, e vfs.Errno) error {
	if e == 0 {
		return nil
	}
	return &fs.PathError{Op: op, Path: name, Err: e}
}

// Open implements fs.FS.
func (f *ioFS) Open(name string) (fs.File, error) {
	p, err := NamespacePath("open", name)
	if err != nil {
		return nil, err
	}
	h, e := f.ns.Open(vfs.Node{}, p, vfs.ORead, 0)
	if e != 0 {
		return nil, PathError("open", name, e)
	}
	return &ioFile{ns: f.ns, h: h, name: name, cookie: 2}, nil
}

// Stat implements fs.StatFS.
func (f *ioFS) Stat(name string) (fs.FileInfo, error) { return f.stat("stat", name, true) }

// Lstat implements fs.ReadLinkFS.
func (f *ioFS) Lstat(name string) (fs.FileInfo, error) { return f.stat("lstat", name, false) }

func (f *ioFS) stat(op, name string, follow bool) (fs.FileInfo, error) {
	p, err := NamespacePath(op, name)
	if err != nil {
		return nil, err
	}
	st, e := f.ns.StatAt(vfs.Node{}, p, follow)
	if e != 0 {
		return nil, PathError(op, name, e)
	}
	return FileInfo(base(name), st), nil
}

// ReadLink implements fs.ReadLinkFS.
func (f *ioFS) ReadLink(name string) (string, error) {
	p, err := NamespacePath("readlink", name)
	if err != nil {
		return "", err
	}
	s, e := f.ns.Readlink(vfs.Node{}, p)
	return s, PathError("readlink", name, e)
}

// ReadFile implements fs.ReadFileFS.
func (f *ioFS) ReadFile(name string) ([]byte, error) {
	p, err := NamespacePath("readfile", name)
	if err != nil {
		return nil, err
	}
	h, e := f.ns.Open(vfs.Node{}, p, vfs.ORead, 0)
	if e != 0 {
		return nil, PathError("readfile", name, e)
	}
	defer h.File.Close()
	if h.Type == vfs.TypeDir {
		return nil, PathError("readfile", name, vfs.EISDIR)
	}
	st, e := f.ns.Stat(h.Node)
	if e != 0 {
		return nil, PathError("readfile", name, e)
	}
	buf := make([]byte, 0, max(st.Size, 0)+1)
	for {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, 4096)
		}
		n, e := h.File.ReadAt(buf[len(buf):cap(buf)], int64(len(buf)))
		if e != 0 {
			return nil, PathError("readfile", name, e)
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
	if d.h.Type != vfs.TypeDir {
		return nil, PathError("readdir", name, vfs.ENOTDIR)
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
	ns   *vfs.Namespace
	h    *vfs.Handle
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
		return nil, PathError("stat", f.name, e)
	}
	return FileInfo(base(f.name), st), nil
}

// Read implements fs.File.
func (f *ioFile) Read(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return 0, PathError("read", f.name, vfs.EBADF)
	}
	if f.h.Type == vfs.TypeDir {
		return 0, PathError("read", f.name, vfs.EISDIR)
	}
	if len(p) == 0 {
		return 0, nil
	}
	n, e := f.h.File.ReadAt(p, f.off)
	f.off += int64(n)
	if e != 0 {
		return n, PathError("read", f.name, e)
	}
	if n == 0 {
		return 0, io.EOF
	}
	return n, nil
}

// ReadAt implements io.ReaderAt: it fills p or returns an error (io.EOF at the end).
func (f *ioFile) ReadAt(p []byte, off int64) (int, error) {
	if f.h.Type == vfs.TypeDir {
		return 0, PathError("read", f.name, vfs.EISDIR)
	}
	if off < 0 {
		return 0, PathError("read", f.name, vfs.EINVAL)
	}
	total := 0
	for total < len(p) {
		n, e := f.h.File.ReadAt(p[total:], off+int64(total))
		total += n
		if e != 0 {
			return total, PathError("read", f.name, e)
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
		return 0, PathError("seek", f.name, vfs.EBADF)
	}
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += f.off
	case io.SeekEnd:
		st, e := f.ns.Stat(f.h.Node)
		if e != 0 {
			return 0, PathError("seek", f.name, e)
		}
		offset += st.Size
	default:
		return 0, PathError("seek", f.name, vfs.EINVAL)
	}
	if offset < 0 {
		return 0, PathError("seek", f.name, vfs.EINVAL)
	}
	f.off = offset
	return offset, nil
}

// ReadDir implements fs.ReadDirFile.
func (f *ioFile) ReadDir(n int) ([]fs.DirEntry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil, PathError("readdir", f.name, vfs.EBADF)
	}
	if f.h.Type != vfs.TypeDir {
		return nil, PathError("readdir", f.name, vfs.ENOTDIR)
	}
	var out []fs.DirEntry
	e := f.ns.ReadDir(f.h, f.cookie, func(e *vfs.DirEntry) bool {
		f.cookie = e.Next
		out = append(out, DirEntry(f.ns, f.h.Node, f.name, e))
		return n <= 0 || len(out) < n
	})
	if e != 0 {
		return out, PathError("readdir", f.name, e)
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
		return PathError("close", f.name, vfs.EBADF)
	}
	f.closed = true
	return PathError("close", f.name, f.h.File.Close())
}
