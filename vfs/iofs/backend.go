package iofs

import (
	"errors"
	"io"
	"io/fs"
	"path"
	"sync"

	"github.com/wasmrun/wasmrun/vfs"
	"github.com/wasmrun/wasmrun/vfs/readonly"
)

// FromFS returns a read-only backend (see package readonly) over any io/fs.FS, such as an embed.FS or
// a testing/fstest.MapFS. The FS must not change while it is mounted. Inode numbers are
// assigned per path the first time the path is seen and never reused; each inode has one link
// and atime, mtime and ctime all report the ModTime. Symlinks are reported as symlinks, with
// their targets, if fsys implements fs.ReadLinkFS; otherwise io/fs follows them and they look
// like what they point to. A listing is fs.ReadDir's (sorted by name) and its cookies are
// positions in it. Files use io.ReaderAt where fsys's files implement it, then io.Seeker, and
// otherwise read forward (reopening to go back).
func FromFS(fsys fs.FS) vfs.FS {
	b := &ioBackend{fsys: fsys, byPath: map[string]vfs.Ino{}}
	b.node(".")
	return readonly.New(b)
}

// ioBackend is the backend of FromFS: every method that would change it returns EROFS.
type ioBackend struct {
	fsys fs.FS

	mu     sync.RWMutex
	byPath map[string]vfs.Ino
	nodes  []*ioNode // Ino-1 -> node
}

// ioNode is one path of an ioBackend, with what has been learnt of it (the FS never changes).
type ioNode struct {
	path string

	once sync.Once
	st   vfs.Stat
	err  vfs.Errno

	dirOnce sync.Once
	ents    []fs.DirEntry
	dirErr  vfs.Errno
}

// node returns the Ino of path, assigning one if it is new.
func (b *ioBackend) node(path string) vfs.Ino {
	b.mu.RLock()
	ino, ok := b.byPath[path]
	b.mu.RUnlock()
	if ok {
		return ino
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if ino, ok := b.byPath[path]; ok {
		return ino
	}
	b.nodes = append(b.nodes, &ioNode{path: path})
	ino = vfs.Ino(len(b.nodes))
	b.byPath[path] = ino
	return ino
}

func (b *ioBackend) get(ino vfs.Ino) (*ioNode, vfs.Errno) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if ino == 0 || ino > vfs.Ino(len(b.nodes)) {
		return nil, vfs.ENOENT
	}
	return b.nodes[ino-1], vfs.ESUCCESS
}

// stat returns the (cached) metadata of n.
func (b *ioBackend) stat(ino vfs.Ino, n *ioNode) (vfs.Stat, vfs.Errno) {
	n.once.Do(func() {
		var (
			fi  fs.FileInfo
			err error
		)
		if l, ok := b.fsys.(fs.ReadLinkFS); ok {
			fi, err = l.Lstat(n.path)
		} else {
			fi, err = fs.Stat(b.fsys, n.path)
		}
		if err != nil {
			n.err = errnoOf(err)
			return
		}
		m := fi.Mode()
		var typ vfs.FileType
		switch {
		case m.IsRegular():
			typ = vfs.TypeRegular
		case m.IsDir():
			typ = vfs.TypeDir
		case m&fs.ModeSymlink != 0:
			typ = vfs.TypeSymlink
		case m&fs.ModeCharDevice != 0:
			typ = vfs.TypeCharDevice
		case m&fs.ModeDevice != 0:
			typ = vfs.TypeBlockDevice
		case m&fs.ModeSocket != 0:
			typ = vfs.TypeSocketStrm
		}
		perm := uint32(m.Perm())
		if m&fs.ModeSetuid != 0 {
			perm |= 0o4000
		}
		if m&fs.ModeSetgid != 0 {
			perm |= 0o2000
		}
		if m&fs.ModeSticky != 0 {
			perm |= 0o1000
		}
		t := fi.ModTime().UnixNano()
		n.st = vfs.Stat{Ino: ino, Type: typ, Mode: perm, Nlink: 1, Size: fi.Size(), Atime: t, Mtime: t, Ctime: t}
		if typ == vfs.TypeDir {
			n.st.Nlink = 2
		}
	})
	return n.st, n.err
}

// Root implements vfs.FS.Root.
func (b *ioBackend) Root() vfs.Ino { return 1 }

// Lookup implements vfs.FS.Lookup. The parent of a directory is the directory of its path.
func (b *ioBackend) Lookup(dir vfs.Ino, name string) (vfs.Ino, vfs.FileType, vfs.Errno) {
	d, e := b.get(dir)
	if e != 0 {
		return 0, 0, e
	}
	st, e := b.stat(dir, d)
	if e != 0 {
		return 0, 0, e
	}
	if st.Type != vfs.TypeDir {
		return 0, 0, vfs.ENOTDIR
	}
	if name == ".." {
		if d.path == "." {
			return dir, vfs.TypeDir, vfs.ESUCCESS
		}
		return b.node(path.Dir(d.path)), vfs.TypeDir, vfs.ESUCCESS
	}
	p := name
	if d.path != "." {
		p = d.path + "/" + name
	}
	if !fs.ValidPath(p) {
		return 0, 0, vfs.ENOENT // "." or a name io/fs cannot hold
	}
	b.mu.RLock()
	ino, ok := b.byPath[p]
	b.mu.RUnlock()
	if !ok {
		// Only names that exist get an Ino.
		if _, e := b.readDir(d); e != 0 {
			return 0, 0, e
		}
		found := false
		for _, de := range d.ents {
			if de.Name() == name {
				found = true
				break
			}
		}
		if !found {
			return 0, 0, vfs.ENOENT
		}
		ino = b.node(p)
	}
	st, e = b.Stat(ino)
	if e != 0 {
		return 0, 0, e
	}
	return ino, st.Type, vfs.ESUCCESS
}

// readDir returns the (cached) listing of directory n.
func (b *ioBackend) readDir(n *ioNode) ([]fs.DirEntry, vfs.Errno) {
	n.dirOnce.Do(func() {
		ents, err := fs.ReadDir(b.fsys, n.path)
		n.ents = ents
		if err != nil {
			n.dirErr = errnoOf(err)
		}
	})
	return n.ents, n.dirErr
}

// Stat implements vfs.FS.Stat.
func (b *ioBackend) Stat(ino vfs.Ino) (vfs.Stat, vfs.Errno) {
	n, e := b.get(ino)
	if e != 0 {
		return vfs.Stat{}, e
	}
	return b.stat(ino, n)
}

// Readlink implements vfs.FS.Readlink.
func (b *ioBackend) Readlink(ino vfs.Ino) (string, vfs.Errno) {
	st, e := b.Stat(ino)
	if e != 0 {
		return "", e
	}
	l, ok := b.fsys.(fs.ReadLinkFS)
	if st.Type != vfs.TypeSymlink || !ok {
		return "", vfs.EINVAL
	}
	n, _ := b.get(ino)
	s, err := l.ReadLink(n.path)
	return s, errnoOf(err)
}

// SetAttr, Create, Link, Remove and Rename implement vfs.FS: EROFS (readonly.New, wrapped
// around the backend, answers EEXIST and ENOENT first).
func (b *ioBackend) SetAttr(vfs.Ino, *vfs.Attr) vfs.Errno { return vfs.EROFS }
func (b *ioBackend) Create(vfs.Ino, string, vfs.FileType, uint32, string) (vfs.Ino, vfs.Errno) {
	return 0, vfs.EROFS
}
func (b *ioBackend) Link(vfs.Ino, vfs.Ino, string) vfs.Errno           { return vfs.EROFS }
func (b *ioBackend) Remove(vfs.Ino, string, bool) vfs.Errno            { return vfs.EROFS }
func (b *ioBackend) Rename(vfs.Ino, string, vfs.Ino, string) vfs.Errno { return vfs.EROFS }

// Open implements vfs.FS.Open.
func (b *ioBackend) Open(ino vfs.Ino, flags vfs.OpenFlag) (vfs.File, vfs.Errno) {
	st, e := b.Stat(ino)
	if e != 0 {
		return nil, e
	}
	n, _ := b.get(ino)
	switch {
	case flags&vfs.OpenWrite != 0 && st.Type == vfs.TypeDir:
		return nil, vfs.EISDIR
	case flags&vfs.OpenWrite != 0:
		return nil, vfs.EROFS
	case st.Type == vfs.TypeDir:
		return &ioDir{b: b, n: n}, vfs.ESUCCESS
	case st.Type == vfs.TypeSymlink:
		return nil, vfs.ELOOP
	}
	f, err := b.fsys.Open(n.path)
	if err != nil {
		return nil, errnoOf(err)
	}
	return &ioReg{b: b, n: n, f: f, flags: flags}, vfs.ESUCCESS
}

// ioDir is an open directory of an ioBackend.
type ioDir struct {
	b      *ioBackend
	n      *ioNode
	mu     sync.Mutex
	closed bool
}

// ReadAt, WriteAt and Append implement vfs.File: EISDIR. Sync implements vfs.File.Sync: there
// is nothing to make durable.
func (d *ioDir) ReadAt([]byte, int64) (int, vfs.Errno)  { return 0, vfs.EISDIR }
func (d *ioDir) WriteAt([]byte, int64) (int, vfs.Errno) { return 0, vfs.EISDIR }
func (d *ioDir) Append([]byte) (int, int64, vfs.Errno)  { return 0, 0, vfs.EISDIR }
func (d *ioDir) Sync(bool) vfs.Errno                    { return vfs.ESUCCESS }

// ReadDir implements vfs.File.ReadDir; the cookie of the i-th entry (from 0) is i+1.
func (d *ioDir) ReadDir(cookie uint64, fn func(e *vfs.DirEntry) bool) vfs.Errno {
	d.mu.Lock()
	closed := d.closed
	d.mu.Unlock()
	if closed {
		return vfs.EBADF
	}
	ents, e := d.b.readDir(d.n)
	if e != 0 {
		return e
	}
	var de vfs.DirEntry
	for i := cookie; i < uint64(len(ents)); i++ {
		name := ents[i].Name()
		p := name
		if d.n.path != "." {
			p = d.n.path + "/" + name
		}
		ino := d.b.node(p)
		typ := vfs.TypeRegular
		if st, e := d.b.Stat(ino); e == 0 {
			typ = st.Type
		}
		de = vfs.DirEntry{Next: i + 1, Ino: ino, Type: typ, Name: []byte(name)}
		if !fn(&de) {
			break
		}
	}
	return vfs.ESUCCESS
}

// Close implements vfs.File.Close.
func (d *ioDir) Close() vfs.Errno {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return vfs.EBADF
	}
	d.closed = true
	return vfs.ESUCCESS
}

// ioReg is an open regular file of an ioBackend.
type ioReg struct {
	b     *ioBackend
	n     *ioNode
	flags vfs.OpenFlag
	mu    sync.Mutex
	f     fs.File // nil once closed
	pos   int64   // of f, when it is read forward
}

// ReadAt implements vfs.File.ReadAt.
func (r *ioReg) ReadAt(p []byte, off int64) (int, vfs.Errno) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.f == nil || r.flags&vfs.OpenRead == 0:
		return 0, vfs.EBADF
	case off < 0:
		return 0, vfs.EINVAL
	case len(p) == 0 || off >= r.n.st.Size:
		return 0, vfs.ESUCCESS // some io/fs files refuse offsets past the end
	}
	var (
		n   int
		err error
	)
	switch f := r.f.(type) {
	case io.ReaderAt:
		n, err = f.ReadAt(p, off)
	case io.Seeker:
		if _, err = f.Seek(off, io.SeekStart); err == nil {
			n, err = io.ReadFull(r.f, p)
		}
	default:
		if off < r.pos {
			nf, err := r.b.fsys.Open(r.n.path)
			if err != nil {
				return 0, errnoOf(err)
			}
			r.f.Close()
			r.f, r.pos = nf, 0
		}
		if off > r.pos {
			k, err := io.CopyN(io.Discard, r.f, off-r.pos)
			r.pos += k
			if err == io.EOF {
				return 0, vfs.ESUCCESS
			}
			if err != nil {
				return 0, errnoOf(err)
			}
		}
		n, err = io.ReadFull(r.f, p)
		r.pos += int64(n)
	}
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		err = nil
	}
	return n, errnoOf(err)
}

// WriteAt and Append implement vfs.File: EBADF (never opened for writing). ReadDir is ENOTDIR;
// Sync has nothing to make durable.
func (r *ioReg) WriteAt([]byte, int64) (int, vfs.Errno) { return 0, vfs.EBADF }
func (r *ioReg) Append([]byte) (int, int64, vfs.Errno)  { return 0, 0, vfs.EBADF }
func (r *ioReg) ReadDir(uint64, func(*vfs.DirEntry) bool) vfs.Errno {
	return vfs.ENOTDIR
}
func (r *ioReg) Sync(bool) vfs.Errno { return vfs.ESUCCESS }

// Close implements vfs.File.Close.
func (r *ioReg) Close() vfs.Errno {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return vfs.EBADF
	}
	r.f.Close()
	r.f = nil
	return vfs.ESUCCESS
}

// errnoOf returns the Errno inside an io/fs error.
func errnoOf(err error) vfs.Errno {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return vfs.ToErrno(pe.Err)
	}
	return vfs.ToErrno(err)
}
