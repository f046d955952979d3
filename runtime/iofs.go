package runtime

import (
	"io"
	"io/fs"
	"os"
	"path"
	"sync"
	"time"

	"github.com/wasmrun/wasmrun/vfs"
	"github.com/wasmrun/wasmrun/vfs/iofs"
)

// MountFS mounts any io/fs.FS (an embed.FS, a testing/fstest.MapFS, os.DirFS...) read-only at
// the absolute guest path guestPath, with iofs.FromFS: guests read it, and every write is
// EROFS. fsys must not change while it is mounted. Errors: as Mount.
//
// To mount any other filesystem read-only, wrap it with readonly.New before Mount (a host
// directory: readonly.New(hostfs.New(dir))); a store that other processes read at the same
// time opens with stable.Options{ReadOnly: true}, which takes a shared lock.
func (r *Runtime) MountFS(guestPath string, fsys fs.FS) error {
	return r.Mount(guestPath, iofs.FromFS(fsys))
}

// FS returns the Runtime's filesystem, as every guest sees it, for Go code on the host: to
// seed files before modules run, read what they wrote, or both while they run. See FS.
func (r *Runtime) FS() *FS { return NewFS(r.ns) }

// FS is a read-write view of a vfs.Namespace with io/fs names: slash-separated paths without a
// leading slash, resolved from the namespace's root ("." is "/", "data/x" is "/data/x"),
// following symlinks the way a guest's paths do (an absolute target resolves inside the
// namespace, never on the host) and crossing mounts. Invalid names (fs.ValidPath) are
// fs.ErrInvalid.
//
// The read side is io/fs's: FS implements fs.FS, fs.StatFS, fs.ReadDirFS, fs.ReadFileFS and
// fs.ReadLinkFS, so fs.WalkDir, fs.Glob, fs.Sub, http.FS and testing/fstest work on it. The
// write side mirrors os.Root's methods: OpenFile, Create, WriteFile, Mkdir, MkdirAll, Remove,
// RemoveAll, Rename, Link, Symlink, Chmod, Chtimes and Truncate. There is no owner and no umask:
// a mode is stored as given.
//
// Errors are *fs.PathError values wrapping a vfs.Errno, so errors.Is matches them against
// fs.ErrNotExist, fs.ErrExist, fs.ErrPermission (EROFS on a read-only mount) and fs.ErrInvalid,
// and errors.As gives the Errno.
//
// Changes are visible to guests at once. On a stable mount they are durable after the next
// commit: Sync, the end of any Run, the store's background commit, or Runtime.Close. An FS is
// safe for concurrent use, also with running guests.
type FS struct {
	ns *vfs.Namespace
	ro fs.FS
}

var (
	_ fs.FS         = (*FS)(nil)
	_ fs.StatFS     = (*FS)(nil)
	_ fs.ReadDirFS  = (*FS)(nil)
	_ fs.ReadFileFS = (*FS)(nil)
	_ fs.ReadLinkFS = (*FS)(nil)

	_ fs.ReadDirFile     = (*File)(nil)
	_ io.ReadWriteSeeker = (*File)(nil)
	_ io.ReaderAt        = (*File)(nil)
	_ io.WriterAt        = (*File)(nil)
)

// NewFS returns the read-write view of ns (see FS). Runtime.FS is NewFS(r.Namespace()).
func NewFS(ns *vfs.Namespace) *FS {
	return &FS{ns: ns, ro: iofs.Of(ns)}
}

// The read side, the io/fs types and the error mapping are package iofs's, which this view
// extends with writes.
var perr = iofs.PathError

// path turns an io/fs name into a namespace path, or fails with fs.ErrInvalid.
func (f *FS) path(op, name string) (string, error) { return iofs.NamespacePath(op, name) }

// Open implements fs.FS: it opens name for reading.
func (f *FS) Open(name string) (fs.File, error) { return f.ro.Open(name) }

// Stat implements fs.StatFS, following a final symlink.
func (f *FS) Stat(name string) (fs.FileInfo, error) { return fs.Stat(f.ro, name) }

// Lstat implements fs.ReadLinkFS: as Stat, without following a final symlink.
func (f *FS) Lstat(name string) (fs.FileInfo, error) { return fs.Lstat(f.ro, name) }

// ReadLink implements fs.ReadLinkFS: the target of the symlink name.
func (f *FS) ReadLink(name string) (string, error) { return fs.ReadLink(f.ro, name) }

// ReadDir implements fs.ReadDirFS: the entries of directory name, sorted by name, without "."
// and "..".
func (f *FS) ReadDir(name string) ([]fs.DirEntry, error) { return fs.ReadDir(f.ro, name) }

// ReadFile implements fs.ReadFileFS: the whole content of name.
func (f *FS) ReadFile(name string) ([]byte, error) { return fs.ReadFile(f.ro, name) }

// OpenFile opens name with os.OpenFile's flags: one of os.O_RDONLY, os.O_WRONLY and os.O_RDWR,
// with os.O_CREATE (perm is then the new file's mode), os.O_EXCL, os.O_TRUNC and os.O_APPEND.
// A directory opens with os.O_RDONLY only, for ReadDir. Other flags are ignored.
func (f *FS) OpenFile(name string, flag int, perm fs.FileMode) (*File, error) {
	p, err := f.path("open", name)
	if err != nil {
		return nil, err
	}
	var of vfs.OFlag
	switch flag & (os.O_RDONLY | os.O_WRONLY | os.O_RDWR) {
	case os.O_RDONLY:
		of = vfs.ORead
	case os.O_WRONLY:
		of = vfs.OWrite
	default:
		of = vfs.ORead | vfs.OWrite
	}
	if flag&os.O_CREATE != 0 {
		of |= vfs.OCreate
	}
	if flag&os.O_EXCL != 0 {
		of |= vfs.OExcl
	}
	if flag&os.O_TRUNC != 0 {
		of |= vfs.OTrunc
	}
	if flag&os.O_APPEND != 0 {
		of |= vfs.OWrite
	}
	h, e := f.ns.Open(vfs.Node{}, p, of, modeBits(perm))
	if e != 0 {
		return nil, perr("open", name, e)
	}
	return &File{
		ns: f.ns, h: h, name: name, cookie: 2,
		read: of&vfs.ORead != 0, write: of&vfs.OWrite != 0, append: flag&os.O_APPEND != 0,
	}, nil
}

// Create creates or truncates name for reading and writing, as os.Create; a new file gets mode
// 0644.
func (f *FS) Create(name string) (*File, error) {
	return f.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
}

// WriteFile writes data to name, creating it with perm if needed and truncating it otherwise,
// as os.WriteFile.
func (f *FS) WriteFile(name string, data []byte, perm fs.FileMode) error {
	file, err := f.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	_, err = file.Write(data)
	if cerr := file.Close(); err == nil {
		err = cerr
	}
	return err
}

// Mkdir creates the directory name with mode perm. Errors: fs.ErrExist if name exists, and
// ENOENT if its parent does not.
func (f *FS) Mkdir(name string, perm fs.FileMode) error {
	p, err := f.path("mkdir", name)
	if err != nil {
		return err
	}
	return perr("mkdir", name, f.ns.Mkdir(vfs.Node{}, p, modeBits(perm)))
}

// MkdirAll creates the directory name and any missing parents, with mode perm, as os.MkdirAll.
// An existing directory is not an error; an existing non-directory on the way is ENOTDIR.
func (f *FS) MkdirAll(name string, perm fs.FileMode) error {
	if _, err := f.path("mkdir", name); err != nil {
		return err
	}
	if name == "." {
		return nil
	}
	for i := 0; i <= len(name); i++ {
		if i < len(name) && name[i] != '/' {
			continue
		}
		e := f.ns.Mkdir(vfs.Node{}, "/"+name[:i], modeBits(perm))
		if e == vfs.EEXIST {
			var st vfs.Stat
			if st, e = f.ns.StatAt(vfs.Node{}, "/"+name[:i], true); e == 0 && st.Type != vfs.TypeDir {
				e = vfs.ENOTDIR
			}
		}
		if e != 0 {
			return perr("mkdir", name[:i], e)
		}
	}
	return nil
}

// Remove removes the file, symlink or empty directory name, as os.Remove. Errors: ENOENT,
// ENOTEMPTY, EBUSY (a mount point).
func (f *FS) Remove(name string) error {
	p, err := f.path("remove", name)
	if err != nil {
		return err
	}
	e := f.ns.Remove(vfs.Node{}, p, false)
	if e == vfs.EISDIR {
		e = f.ns.Remove(vfs.Node{}, p, true)
	}
	return perr("remove", name, e)
}

// RemoveAll removes name and everything below it, as os.RemoveAll: a missing name is not an
// error. Symlinks are removed, never followed; a mount point below name is EBUSY (the mount
// stays).
func (f *FS) RemoveAll(name string) error {
	p, err := f.path("removeall", name)
	if err != nil {
		return err
	}
	if name == "." {
		return &fs.PathError{Op: "removeall", Path: name, Err: vfs.EBUSY}
	}
	return removeAll(f.ns, p)
}

// removeAll removes the tree at the namespace path p.
func removeAll(ns *vfs.Namespace, p string) error {
	st, e := ns.StatAt(vfs.Node{}, p, false)
	switch {
	case e == vfs.ENOENT:
		return nil
	case e != 0:
		return perr("removeall", p[1:], e)
	case st.Type != vfs.TypeDir:
		if e := ns.Remove(vfs.Node{}, p, false); e != 0 && e != vfs.ENOENT {
			return perr("removeall", p[1:], e)
		}
		return nil
	}
	h, e := ns.Open(vfs.Node{}, p, vfs.ORead|vfs.ODirectory|vfs.ONoFollow, 0)
	if e != 0 {
		return perr("removeall", p[1:], e)
	}
	var names []string
	e = ns.ReadDir(h, 0, func(d *vfs.DirEntry) bool {
		if n := string(d.Name); n != "." && n != ".." {
			names = append(names, n)
		}
		return true
	})
	h.File.Close()
	if e != 0 {
		return perr("removeall", p[1:], e)
	}
	for _, n := range names {
		if err := removeAll(ns, p+"/"+n); err != nil {
			return err
		}
	}
	if e := ns.Remove(vfs.Node{}, p, true); e != 0 && e != vfs.ENOENT {
		return perr("removeall", p[1:], e)
	}
	return nil
}

// Rename renames oldname to newname, replacing newname atomically, as os.Rename. Errors: those
// of rename(2), and EXDEV across mounts.
func (f *FS) Rename(oldname, newname string) error {
	op, err := f.path("rename", oldname)
	if err != nil {
		return err
	}
	np, err := f.path("rename", newname)
	if err != nil {
		return err
	}
	if e := f.ns.Rename(vfs.Node{}, op, vfs.Node{}, np); e != 0 {
		return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: e}
	}
	return nil
}

// Link makes newname a hard link to oldname (not following a final symlink), as os.Link.
func (f *FS) Link(oldname, newname string) error {
	op, err := f.path("link", oldname)
	if err != nil {
		return err
	}
	np, err := f.path("link", newname)
	if err != nil {
		return err
	}
	if e := f.ns.Link(vfs.Node{}, op, false, vfs.Node{}, np); e != 0 {
		return &os.LinkError{Op: "link", Old: oldname, New: newname, Err: e}
	}
	return nil
}

// Symlink makes newname a symlink to target, stored as given; it is resolved when walked, in
// the namespace (an absolute target from its root).
func (f *FS) Symlink(target, newname string) error {
	np, err := f.path("symlink", newname)
	if err != nil {
		return err
	}
	if e := f.ns.Symlink(target, vfs.Node{}, np); e != 0 {
		return &os.LinkError{Op: "symlink", Old: target, New: newname, Err: e}
	}
	return nil
}

// Chmod sets the permission bits of name (following a final symlink) to mode's, including
// setuid, setgid and sticky.
func (f *FS) Chmod(name string, mode fs.FileMode) error {
	return f.setAttr("chmod", name, &vfs.Attr{Valid: vfs.AttrMode, Mode: modeBits(mode)})
}

// Chtimes sets the access and modification times of name (following a final symlink); a zero
// time.Time leaves that time as it is, as os.Chtimes.
func (f *FS) Chtimes(name string, atime, mtime time.Time) error {
	a := &vfs.Attr{}
	if !atime.IsZero() {
		a.Valid |= vfs.AttrAtime
		a.Atime = atime.UnixNano()
	}
	if !mtime.IsZero() {
		a.Valid |= vfs.AttrMtime
		a.Mtime = mtime.UnixNano()
	}
	if a.Valid == 0 {
		_, err := f.Stat(name)
		return err
	}
	return f.setAttr("chtimes", name, a)
}

// Truncate changes the size of the file name, as os.Truncate: growing it adds a hole that
// reads as zeros.
func (f *FS) Truncate(name string, size int64) error {
	return f.setAttr("truncate", name, &vfs.Attr{Valid: vfs.AttrSize, Size: size})
}

func (f *FS) setAttr(op, name string, a *vfs.Attr) error {
	p, err := f.path(op, name)
	if err != nil {
		return err
	}
	return perr(op, name, f.ns.SetAttrAt(vfs.Node{}, p, true, a))
}

// Sync commits every mount that has a write-back layer (vfs.Namespace.Commit): when it returns
// nil, every change made so far to a stable mount is on disk.
func (f *FS) Sync() error { return f.ns.Commit() }

// modeBits turns an fs.FileMode's permission and special bits into POSIX mode bits.
func modeBits(m fs.FileMode) uint32 {
	b := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		b |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		b |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		b |= 0o1000
	}
	return b
}

// File is a file or directory opened by FS.OpenFile, with a read and write offset, as an
// *os.File. It is safe for concurrent use.
type File struct {
	ns    *vfs.Namespace
	h     *vfs.Handle
	name  string
	read  bool
	write bool

	append bool

	mu     sync.Mutex
	off    int64
	cookie uint64 // ReadDir, past "." and ".."
	closed bool
}

// Name returns the name File was opened with.
func (f *File) Name() string { return f.name }

func (f *File) err(op string, e vfs.Errno) error { return perr(op, f.name, e) }

// Read reads up to len(p) bytes at the offset and advances it; io.EOF at the end.
func (f *File) Read(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return 0, f.err("read", vfs.EBADF)
	}
	n, err := f.readAt(p, f.off, false)
	f.off += int64(n)
	return n, err
}

// ReadAt reads len(p) bytes at off, as io.ReaderAt: fewer only with an error (io.EOF at the
// end).
func (f *File) ReadAt(p []byte, off int64) (int, error) {
	if f.isClosed() {
		return 0, f.err("read", vfs.EBADF)
	}
	return f.readAt(p, off, true)
}

func (f *File) readAt(p []byte, off int64, full bool) (int, error) {
	switch {
	case f.h.Type == vfs.TypeDir:
		return 0, f.err("read", vfs.EISDIR)
	case !f.read:
		return 0, f.err("read", vfs.EBADF)
	case off < 0:
		return 0, f.err("read", vfs.EINVAL)
	case len(p) == 0:
		return 0, nil
	}
	total := 0
	for total < len(p) {
		n, e := f.h.File.ReadAt(p[total:], off+int64(total))
		total += n
		if e != 0 {
			return total, f.err("read", e)
		}
		if n == 0 {
			return total, io.EOF
		}
		if !full {
			break
		}
	}
	return total, nil
}

// Write writes p at the offset (at the end with os.O_APPEND) and advances it.
func (f *File) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return 0, f.err("write", vfs.EBADF)
	}
	if !f.write {
		return 0, f.err("write", vfs.EBADF)
	}
	if f.append {
		n, size, e := f.h.File.Append(p)
		if e == 0 {
			f.off = size
		}
		return n, f.err("write", e)
	}
	n, e := f.h.File.WriteAt(p, f.off)
	f.off += int64(n)
	return n, f.err("write", e)
}

// WriteAt writes p at off, as io.WriterAt. As for an *os.File, a file opened with os.O_APPEND
// refuses it (EINVAL).
func (f *File) WriteAt(p []byte, off int64) (int, error) {
	if f.isClosed() || !f.write {
		return 0, f.err("write", vfs.EBADF)
	}
	if f.append || off < 0 {
		return 0, f.err("write", vfs.EINVAL)
	}
	n, e := f.h.File.WriteAt(p, off)
	return n, f.err("write", e)
}

// Seek sets the offset for the next Read or Write, as io.Seeker.
func (f *File) Seek(offset int64, whence int) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return 0, f.err("seek", vfs.EBADF)
	}
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += f.off
	case io.SeekEnd:
		st, e := f.ns.Stat(f.h.Node)
		if e != 0 {
			return 0, f.err("seek", e)
		}
		offset += st.Size
	default:
		return 0, f.err("seek", vfs.EINVAL)
	}
	if offset < 0 {
		return 0, f.err("seek", vfs.EINVAL)
	}
	f.off = offset
	return offset, nil
}

// Stat returns the file's metadata (it works on a file unlinked while open).
func (f *File) Stat() (fs.FileInfo, error) {
	st, e := f.ns.Stat(f.h.Node)
	if e != 0 {
		return nil, f.err("stat", e)
	}
	return iofs.FileInfo(path.Base(f.name), st), nil
}

// ReadDir reads the directory's entries, as fs.ReadDirFile: up to n (all when n <= 0) in the
// backend's order, from where the last call stopped.
func (f *File) ReadDir(n int) ([]fs.DirEntry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil, f.err("readdir", vfs.EBADF)
	}
	var out []fs.DirEntry
	e := f.ns.ReadDir(f.h, f.cookie, func(d *vfs.DirEntry) bool {
		f.cookie = d.Next
		out = append(out, iofs.DirEntry(f.ns, f.h.Node, f.name, d))
		return n <= 0 || len(out) < n
	})
	if e != 0 {
		return out, f.err("readdir", e)
	}
	if n > 0 && len(out) == 0 {
		return nil, io.EOF
	}
	return out, nil
}

// Truncate changes the file's size.
func (f *File) Truncate(size int64) error {
	if f.isClosed() {
		return f.err("truncate", vfs.EBADF)
	}
	return f.err("truncate", f.ns.SetAttr(f.h.Node, &vfs.Attr{Valid: vfs.AttrSize, Size: size}))
}

// Sync makes the file durable (fsync): on a stable mount it commits the whole store.
func (f *File) Sync() error {
	if f.isClosed() {
		return f.err("sync", vfs.EBADF)
	}
	return f.err("sync", f.h.File.Sync(false))
}

// Close closes the file; a second Close is EBADF.
func (f *File) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return f.err("close", vfs.EBADF)
	}
	f.closed = true
	return f.err("close", f.h.File.Close())
}

func (f *File) isClosed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.closed
}
