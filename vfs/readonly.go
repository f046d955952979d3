package vfs

import (
	"io"
	"io/fs"
	"path"
	"sync"
)

// ReadOnly returns fsys with every change refused: SetAttr, Create, Link, Remove, Rename and
// Open with OpenWrite return EROFS, after the checks Linux makes first on a read-only mount (a
// missing name is still ENOENT, an existing one EEXIST for Create, a directory EISDIR for
// OpenWrite). Lookup, Stat, Readlink, Open for reading and the Files it returns are fsys's
// own. The result implements Committer, Closer and Usager exactly when fsys does, and forwards
// them (so the runtime still commits and closes a store mounted read-only).
func ReadOnly(fsys FS) FS {
	ro := &readOnly{fs: fsys}
	c, isC := fsys.(Committer)
	cl, isCl := fsys.(Closer)
	u, isU := fsys.(Usager)
	switch {
	case isC && isCl && isU:
		return struct {
			*readOnly
			Committer
			Closer
			Usager
		}{ro, c, cl, u}
	case isC && isCl:
		return struct {
			*readOnly
			Committer
			Closer
		}{ro, c, cl}
	case isC && isU:
		return struct {
			*readOnly
			Committer
			Usager
		}{ro, c, u}
	case isCl && isU:
		return struct {
			*readOnly
			Closer
			Usager
		}{ro, cl, u}
	case isC:
		return struct {
			*readOnly
			Committer
		}{ro, c}
	case isCl:
		return struct {
			*readOnly
			Closer
		}{ro, cl}
	case isU:
		return struct {
			*readOnly
			Usager
		}{ro, u}
	}
	return ro
}

// readOnly implements FS for ReadOnly.
type readOnly struct{ fs FS }

func (r *readOnly) Root() Ino { return r.fs.Root() }
func (r *readOnly) Lookup(dir Ino, name string) (Ino, FileType, Errno) {
	return r.fs.Lookup(dir, name)
}
func (r *readOnly) Stat(ino Ino) (Stat, Errno)                    { return r.fs.Stat(ino) }
func (r *readOnly) Readlink(ino Ino) (string, Errno)              { return r.fs.Readlink(ino) }
func (r *readOnly) Link(ino Ino, dir Ino, name string) Errno      { return r.refuseNew(dir, name) }
func (r *readOnly) Remove(dir Ino, name string, _ bool) Errno     { return r.refuseOld(dir, name) }
func (r *readOnly) Rename(d Ino, n string, _ Ino, _ string) Errno { return r.refuseOld(d, n) }

// SetAttr implements FS.SetAttr: EROFS for an existing inode.
func (r *readOnly) SetAttr(ino Ino, _ *Attr) Errno {
	if _, e := r.fs.Stat(ino); e != 0 {
		return e
	}
	return EROFS
}

// Create implements FS.Create: EEXIST if the name exists, else EROFS.
func (r *readOnly) Create(dir Ino, name string, _ FileType, _ uint32, _ string) (Ino, Errno) {
	return 0, r.refuseNew(dir, name)
}

// refuseNew is the answer to a request to make dir/name.
func (r *readOnly) refuseNew(dir Ino, name string) Errno {
	switch _, _, e := r.fs.Lookup(dir, name); e {
	case ESUCCESS:
		return EEXIST
	case ENOENT:
		if _, e := r.fs.Stat(dir); e != 0 {
			return e
		}
		return EROFS
	default:
		return e
	}
}

// refuseOld is the answer to a request to change the existing dir/name.
func (r *readOnly) refuseOld(dir Ino, name string) Errno {
	if _, _, e := r.fs.Lookup(dir, name); e != 0 {
		return e
	}
	return EROFS
}

// Open implements FS.Open: OpenWrite is EISDIR on a directory and EROFS otherwise.
func (r *readOnly) Open(ino Ino, flags OpenFlag) (File, Errno) {
	if flags&OpenWrite != 0 {
		st, e := r.fs.Stat(ino)
		switch {
		case e != 0:
			return nil, e
		case st.Type == TypeDir:
			return nil, EISDIR
		}
		return nil, EROFS
	}
	return r.fs.Open(ino, flags)
}

// FromIOFS returns a read-only backend (see ReadOnly) over any io/fs.FS, such as an embed.FS or
// a testing/fstest.MapFS. The FS must not change while it is mounted. Inode numbers are
// assigned per path the first time the path is seen and never reused; each inode has one link
// and atime, mtime and ctime all report the ModTime. Symlinks are reported as symlinks, with
// their targets, if fsys implements fs.ReadLinkFS; otherwise io/fs follows them and they look
// like what they point to. A listing is fs.ReadDir's (sorted by name) and its cookies are
// positions in it. Files use io.ReaderAt where fsys's files implement it, then io.Seeker, and
// otherwise read forward (reopening to go back).
func FromIOFS(fsys fs.FS) FS {
	b := &ioBackend{fsys: fsys, byPath: map[string]Ino{}}
	b.node(".")
	return ReadOnly(b)
}

// ioBackend is the backend of FromIOFS: every method that would change it returns EROFS.
type ioBackend struct {
	fsys fs.FS

	mu     sync.RWMutex
	byPath map[string]Ino
	nodes  []*ioNode // Ino-1 -> node
}

// ioNode is one path of an ioBackend, with what has been learnt of it (the FS never changes).
type ioNode struct {
	path string

	once sync.Once
	st   Stat
	err  Errno

	dirOnce sync.Once
	ents    []fs.DirEntry
	dirErr  Errno
}

// node returns the Ino of path, assigning one if it is new.
func (b *ioBackend) node(path string) Ino {
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
	ino = Ino(len(b.nodes))
	b.byPath[path] = ino
	return ino
}

func (b *ioBackend) get(ino Ino) (*ioNode, Errno) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if ino == 0 || ino > Ino(len(b.nodes)) {
		return nil, ENOENT
	}
	return b.nodes[ino-1], ESUCCESS
}

// stat returns the (cached) metadata of n.
func (b *ioBackend) stat(ino Ino, n *ioNode) (Stat, Errno) {
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
		var typ FileType
		switch {
		case m.IsRegular():
			typ = TypeRegular
		case m.IsDir():
			typ = TypeDir
		case m&fs.ModeSymlink != 0:
			typ = TypeSymlink
		case m&fs.ModeCharDevice != 0:
			typ = TypeCharDevice
		case m&fs.ModeDevice != 0:
			typ = TypeBlockDevice
		case m&fs.ModeSocket != 0:
			typ = TypeSocketStrm
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
		n.st = Stat{Ino: ino, Type: typ, Mode: perm, Nlink: 1, Size: fi.Size(), Atime: t, Mtime: t, Ctime: t}
		if typ == TypeDir {
			n.st.Nlink = 2
		}
	})
	return n.st, n.err
}

// Root implements FS.Root.
func (b *ioBackend) Root() Ino { return 1 }

// Lookup implements FS.Lookup. The parent of a directory is the directory of its path.
func (b *ioBackend) Lookup(dir Ino, name string) (Ino, FileType, Errno) {
	d, e := b.get(dir)
	if e != 0 {
		return 0, 0, e
	}
	st, e := b.stat(dir, d)
	if e != 0 {
		return 0, 0, e
	}
	if st.Type != TypeDir {
		return 0, 0, ENOTDIR
	}
	if name == ".." {
		if d.path == "." {
			return dir, TypeDir, ESUCCESS
		}
		return b.node(path.Dir(d.path)), TypeDir, ESUCCESS
	}
	p := name
	if d.path != "." {
		p = d.path + "/" + name
	}
	if !fs.ValidPath(p) {
		return 0, 0, ENOENT // "." or a name io/fs cannot hold
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
			return 0, 0, ENOENT
		}
		ino = b.node(p)
	}
	st, e = b.Stat(ino)
	if e != 0 {
		return 0, 0, e
	}
	return ino, st.Type, ESUCCESS
}

// readDir returns the (cached) listing of directory n.
func (b *ioBackend) readDir(n *ioNode) ([]fs.DirEntry, Errno) {
	n.dirOnce.Do(func() {
		ents, err := fs.ReadDir(b.fsys, n.path)
		n.ents = ents
		if err != nil {
			n.dirErr = errnoOf(err)
		}
	})
	return n.ents, n.dirErr
}

// Stat implements FS.Stat.
func (b *ioBackend) Stat(ino Ino) (Stat, Errno) {
	n, e := b.get(ino)
	if e != 0 {
		return Stat{}, e
	}
	return b.stat(ino, n)
}

// Readlink implements FS.Readlink.
func (b *ioBackend) Readlink(ino Ino) (string, Errno) {
	st, e := b.Stat(ino)
	if e != 0 {
		return "", e
	}
	l, ok := b.fsys.(fs.ReadLinkFS)
	if st.Type != TypeSymlink || !ok {
		return "", EINVAL
	}
	n, _ := b.get(ino)
	s, err := l.ReadLink(n.path)
	return s, errnoOf(err)
}

func (b *ioBackend) SetAttr(Ino, *Attr) Errno                                  { return EROFS }
func (b *ioBackend) Create(Ino, string, FileType, uint32, string) (Ino, Errno) { return 0, EROFS }
func (b *ioBackend) Link(Ino, Ino, string) Errno                               { return EROFS }
func (b *ioBackend) Remove(Ino, string, bool) Errno                            { return EROFS }
func (b *ioBackend) Rename(Ino, string, Ino, string) Errno                     { return EROFS }

// Open implements FS.Open.
func (b *ioBackend) Open(ino Ino, flags OpenFlag) (File, Errno) {
	st, e := b.Stat(ino)
	if e != 0 {
		return nil, e
	}
	n, _ := b.get(ino)
	switch {
	case flags&OpenWrite != 0 && st.Type == TypeDir:
		return nil, EISDIR
	case flags&OpenWrite != 0:
		return nil, EROFS
	case st.Type == TypeDir:
		return &ioDir{b: b, n: n}, ESUCCESS
	case st.Type == TypeSymlink:
		return nil, ELOOP
	}
	f, err := b.fsys.Open(n.path)
	if err != nil {
		return nil, errnoOf(err)
	}
	return &ioReg{b: b, n: n, f: f, flags: flags}, ESUCCESS
}

// ioDir is an open directory of an ioBackend.
type ioDir struct {
	b      *ioBackend
	n      *ioNode
	mu     sync.Mutex
	closed bool
}

func (d *ioDir) ReadAt([]byte, int64) (int, Errno)  { return 0, EISDIR }
func (d *ioDir) WriteAt([]byte, int64) (int, Errno) { return 0, EISDIR }
func (d *ioDir) Append([]byte) (int, int64, Errno)  { return 0, 0, EISDIR }
func (d *ioDir) Sync(bool) Errno                    { return ESUCCESS }

// ReadDir implements File.ReadDir; the cookie of the i-th entry (from 0) is i+1.
func (d *ioDir) ReadDir(cookie uint64, fn func(e *DirEntry) bool) Errno {
	d.mu.Lock()
	closed := d.closed
	d.mu.Unlock()
	if closed {
		return EBADF
	}
	ents, e := d.b.readDir(d.n)
	if e != 0 {
		return e
	}
	var de DirEntry
	for i := cookie; i < uint64(len(ents)); i++ {
		name := ents[i].Name()
		p := name
		if d.n.path != "." {
			p = d.n.path + "/" + name
		}
		ino := d.b.node(p)
		typ := TypeRegular
		if st, e := d.b.Stat(ino); e == 0 {
			typ = st.Type
		}
		de = DirEntry{Next: i + 1, Ino: ino, Type: typ, Name: []byte(name)}
		if !fn(&de) {
			break
		}
	}
	return ESUCCESS
}

func (d *ioDir) Close() Errno {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return EBADF
	}
	d.closed = true
	return ESUCCESS
}

// ioReg is an open regular file of an ioBackend.
type ioReg struct {
	b     *ioBackend
	n     *ioNode
	flags OpenFlag
	mu    sync.Mutex
	f     fs.File // nil once closed
	pos   int64   // of f, when it is read forward
}

// ReadAt implements File.ReadAt.
func (r *ioReg) ReadAt(p []byte, off int64) (int, Errno) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.f == nil || r.flags&OpenRead == 0:
		return 0, EBADF
	case off < 0:
		return 0, EINVAL
	case len(p) == 0 || off >= r.n.st.Size:
		return 0, ESUCCESS // some io/fs files refuse offsets past the end
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
				return 0, ESUCCESS
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

func (r *ioReg) WriteAt([]byte, int64) (int, Errno) { return 0, EBADF }
func (r *ioReg) Append([]byte) (int, int64, Errno)  { return 0, 0, EBADF }
func (r *ioReg) ReadDir(uint64, func(*DirEntry) bool) Errno {
	return ENOTDIR
}
func (r *ioReg) Sync(bool) Errno { return ESUCCESS }

func (r *ioReg) Close() Errno {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return EBADF
	}
	r.f.Close()
	r.f = nil
	return ESUCCESS
}
