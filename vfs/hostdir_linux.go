//go:build linux

package vfs

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// hostKey identifies a host inode.
type hostKey struct{ dev, ino uint64 }

// hostLoc is a directory entry known to name an inode.
type hostLoc struct {
	dir  Ino
	name string
}

// maxLocs bounds the entries remembered per inode (hard links beyond are found again by
// Lookup).
const maxLocs = 8

// hostNode is what the backend knows of one host inode.
type hostNode struct {
	ino  Ino
	key  hostKey
	typ  FileType
	locs []hostLoc // entries that named it when last seen
	dead bool      // removed through this FS: forgotten once open drops to 0

	// Open Files, so that an unlinked inode can still be statted.
	files []*os.File

	// Directories only.
	root       *os.Root          // opened lazily; the FS root always
	cookies    map[string]uint64 // readdir cookie of every name seen
	lastCookie uint64

	amu sync.Mutex // serializes Append
}

// hostFS implements FS over a host directory.
type hostFS struct {
	mu      sync.Mutex // guards everything below and every metadata call to the host
	nodes   map[Ino]*hostNode
	byKey   map[hostKey]*hostNode
	lastIno Ino
	closed  bool
}

func newHostDir(dir string) (FS, error) {
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	fi, err := r.Lstat(".")
	if err != nil {
		r.Close()
		return nil, err
	}
	fsys := &hostFS{nodes: map[Ino]*hostNode{}, byKey: map[hostKey]*hostNode{}}
	n := fsys.nodeFor(fi)
	n.root = r
	return fsys, nil
}

// hostErrno maps a host error to an Errno. It is the one place host errors are translated;
// anything it does not know is EIO.
func hostErrno(err error) Errno {
	if err == nil {
		return ESUCCESS
	}
	if e, ok := err.(Errno); ok {
		return e
	}
	var en syscall.Errno
	if errors.As(err, &en) {
		switch en {
		case syscall.EPERM:
			return EPERM
		case syscall.ENOENT:
			return ENOENT
		case syscall.EIO:
			return EIO
		case syscall.EBADF:
			return EBADF
		case syscall.EAGAIN:
			return EAGAIN
		case syscall.ENOMEM:
			return ENOMEM
		case syscall.EACCES:
			return EACCES
		case syscall.EFAULT:
			return EFAULT
		case syscall.EBUSY:
			return EBUSY
		case syscall.EEXIST:
			return EEXIST
		case syscall.EXDEV:
			return EXDEV
		case syscall.ENOTDIR:
			return ENOTDIR
		case syscall.EISDIR:
			return EISDIR
		case syscall.EINVAL:
			return EINVAL
		case syscall.ENFILE:
			return ENFILE
		case syscall.EMFILE:
			return EMFILE
		case syscall.EFBIG:
			return EFBIG
		case syscall.ENOSPC, syscall.EDQUOT:
			return ENOSPC
		case syscall.ESPIPE:
			return ESPIPE
		case syscall.EROFS:
			return EROFS
		case syscall.EMLINK:
			return EMLINK
		case syscall.ERANGE:
			return ERANGE
		case syscall.ENAMETOOLONG:
			return ENAMETOOLONG
		case syscall.ENOSYS:
			return ENOSYS
		case syscall.ENOTEMPTY:
			return ENOTEMPTY
		case syscall.ELOOP:
			return ELOOP
		case syscall.EOVERFLOW:
			return EOVERFLOW
		case syscall.EILSEQ:
			return EILSEQ
		case syscall.ENOTSUP:
			return ENOTSUP
		case syscall.ETIMEDOUT:
			return ETIMEDOUT
		case syscall.ECANCELED:
			return ECANCELED
		}
		return EIO
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return ENOENT
	case errors.Is(err, fs.ErrExist):
		return EEXIST
	case errors.Is(err, fs.ErrPermission):
		return EACCES
	case errors.Is(err, fs.ErrClosed):
		return EBADF
	}
	return EIO
}

// checkName enforces the FS name rules; it also keeps every host call to one component inside
// a directory handle, which is what confines the *at system calls below.
func checkName(name string) Errno {
	switch {
	case name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00"):
		return EINVAL
	case len(name) > NameMax:
		return ENAMETOOLONG
	}
	return ESUCCESS
}

func keyOf(fi fs.FileInfo) hostKey {
	st := fi.Sys().(*syscall.Stat_t)
	return hostKey{dev: st.Dev, ino: st.Ino}
}

func typeOf(m fs.FileMode) FileType {
	switch m.Type() {
	case 0:
		return TypeRegular
	case fs.ModeDir:
		return TypeDir
	case fs.ModeSymlink:
		return TypeSymlink
	case fs.ModeDevice:
		return TypeBlockDevice
	case fs.ModeDevice | fs.ModeCharDevice:
		return TypeCharDevice
	case fs.ModeSocket:
		return TypeSocketStrm
	}
	return TypeUnknown
}

func hostStat(ino Ino, fi fs.FileInfo) Stat {
	st := fi.Sys().(*syscall.Stat_t)
	return Stat{
		Ino:   ino,
		Type:  typeOf(fi.Mode()),
		Mode:  st.Mode & 0o7777,
		Nlink: uint64(st.Nlink),
		Size:  st.Size,
		Atime: st.Atim.Nano(),
		Mtime: st.Mtim.Nano(),
		Ctime: st.Ctim.Nano(),
	}
}

// fileMode converts permission bits to an os.FileMode.
func fileMode(perm uint32) os.FileMode {
	m := os.FileMode(perm & 0o777)
	if perm&0o4000 != 0 {
		m |= os.ModeSetuid
	}
	if perm&0o2000 != 0 {
		m |= os.ModeSetgid
	}
	if perm&0o1000 != 0 {
		m |= os.ModeSticky
	}
	return m
}

// nodeFor returns the node of the host inode fi describes, making one if it is new. Called with
// mu held.
func (fsys *hostFS) nodeFor(fi fs.FileInfo) *hostNode {
	k := keyOf(fi)
	typ := typeOf(fi.Mode())
	if n, ok := fsys.byKey[k]; ok {
		if n.typ == typ {
			return n
		}
		// The host reused the inode number of something removed behind our back.
		fsys.forget(n)
	}
	fsys.lastIno++
	n := &hostNode{ino: fsys.lastIno, key: k, typ: typ}
	fsys.nodes[n.ino] = n
	fsys.byKey[k] = n
	return n
}

// forget drops n from the key index (its host inode is gone) and from the Ino index once no
// File holds it. Called with mu held.
func (fsys *hostFS) forget(n *hostNode) {
	if fsys.byKey[n.key] == n {
		delete(fsys.byKey, n.key)
	}
	n.dead = true
	n.locs = nil
	n.cookies = nil
	if n.root != nil {
		n.root.Close()
		n.root = nil
	}
	if len(n.files) == 0 {
		delete(fsys.nodes, n.ino)
	}
}

func (n *hostNode) addLoc(dir Ino, name string) {
	for _, l := range n.locs {
		if l.dir == dir && l.name == name {
			return
		}
	}
	if len(n.locs) == maxLocs {
		n.locs = n.locs[1:]
	}
	n.locs = append(n.locs, hostLoc{dir, name})
}

func (n *hostNode) removeLoc(dir Ino, name string) {
	n.locs = slices.DeleteFunc(n.locs, func(l hostLoc) bool { return l.dir == dir && l.name == name })
}

// node returns the live node ino. Called with mu held.
func (fsys *hostFS) node(ino Ino) (*hostNode, Errno) {
	if fsys.closed {
		return nil, EBADF
	}
	n, ok := fsys.nodes[ino]
	if !ok || n.dead {
		return nil, ENOENT
	}
	return n, ESUCCESS
}

// dirRoot returns the os.Root of directory n, opening it through one of its entries if needed.
// Called with mu held.
func (fsys *hostFS) dirRoot(n *hostNode) (*os.Root, Errno) {
	if n.typ != TypeDir {
		return nil, ENOTDIR
	}
	if n.root != nil {
		return n.root, ESUCCESS
	}
	for len(n.locs) > 0 {
		l := n.locs[0]
		if p, e := fsys.node(l.dir); e == 0 {
			if pr, e := fsys.dirRoot(p); e == 0 {
				if r, err := pr.OpenRoot(l.name); err == nil {
					if fi, err := r.Lstat("."); err == nil && keyOf(fi) == n.key {
						n.root = r
						return r, ESUCCESS
					}
					r.Close()
				}
			}
		}
		n.locs = n.locs[1:] // stale
	}
	return nil, ENOENT
}

// dir returns the root of the live directory ino.
func (fsys *hostFS) dir(ino Ino) (*hostNode, *os.Root, Errno) {
	d, e := fsys.node(ino)
	if e != 0 {
		return nil, nil, e
	}
	r, e := fsys.dirRoot(d)
	return d, r, e
}

// locate finds an entry that still names n: the root of its directory, its name, and its
// lstat. Stale entries are dropped. Called with mu held.
func (fsys *hostFS) locate(n *hostNode) (*os.Root, string, fs.FileInfo, Errno) {
	for len(n.locs) > 0 {
		l := n.locs[0]
		if p, e := fsys.node(l.dir); e == 0 {
			if pr, e := fsys.dirRoot(p); e == 0 {
				if fi, err := pr.Lstat(l.name); err == nil && keyOf(fi) == n.key {
					return pr, l.name, fi, ESUCCESS
				}
			}
		}
		n.locs = n.locs[1:]
	}
	return nil, "", nil, ENOENT
}

// Root implements FS.Root.
func (fsys *hostFS) Root() Ino { return 1 }

// Lookup implements FS.Lookup. The parent of a directory ("..") is the directory of the entry
// that last named it, checked against the host.
func (fsys *hostFS) Lookup(dir Ino, name string) (Ino, FileType, Errno) {
	if name == ".." {
		return fsys.parent(dir)
	}
	if e := checkName(name); e != 0 {
		return 0, 0, e
	}
	fsys.mu.Lock()
	defer fsys.mu.Unlock()
	_, r, e := fsys.dir(dir)
	if e != 0 {
		return 0, 0, e
	}
	fi, err := r.Lstat(name)
	if err != nil {
		return 0, 0, hostErrno(err)
	}
	n := fsys.nodeFor(fi)
	n.addLoc(dir, name)
	return n.ino, n.typ, ESUCCESS
}

// parent implements Lookup(dir, "..").
func (fsys *hostFS) parent(dir Ino) (Ino, FileType, Errno) {
	fsys.mu.Lock()
	defer fsys.mu.Unlock()
	d, e := fsys.node(dir)
	if e != 0 {
		return 0, 0, e
	}
	if d.typ != TypeDir {
		return 0, 0, ENOTDIR
	}
	if dir == fsys.Root() {
		return dir, TypeDir, ESUCCESS
	}
	if _, _, _, e := fsys.locate(d); e != 0 {
		return 0, 0, e
	}
	return d.locs[0].dir, TypeDir, ESUCCESS
}

// Stat implements FS.Stat.
func (fsys *hostFS) Stat(ino Ino) (Stat, Errno) {
	fsys.mu.Lock()
	defer fsys.mu.Unlock()
	n, ok := fsys.nodes[ino]
	if !ok || fsys.closed {
		return Stat{}, ENOENT
	}
	var fi fs.FileInfo
	e := ENOENT
	if !n.dead {
		if n.typ == TypeDir {
			var r *os.Root
			if r, e = fsys.dirRoot(n); e == 0 {
				var err error
				fi, err = r.Lstat(".")
				e = hostErrno(err)
			}
		} else {
			_, _, fi, e = fsys.locate(n)
		}
	}
	if e == ENOENT && len(n.files) > 0 {
		var err error
		fi, err = n.files[0].Stat()
		e = hostErrno(err)
	}
	if e != 0 {
		return Stat{}, e
	}
	return hostStat(ino, fi), ESUCCESS
}

// SetAttr implements FS.SetAttr. An inode with no entry left (unlinked while open) is changed
// through one of its open files.
func (fsys *hostFS) SetAttr(ino Ino, a *Attr) Errno {
	fsys.mu.Lock()
	defer fsys.mu.Unlock()
	n, ok := fsys.nodes[ino]
	if !ok || fsys.closed {
		return ENOENT
	}
	if a.Valid&AttrSize != 0 {
		switch {
		case n.typ == TypeDir:
			return EISDIR
		case n.typ != TypeRegular:
			return EINVAL
		case a.Size < 0:
			return EINVAL
		}
	}
	if a.Valid&AttrMode != 0 && n.typ == TypeSymlink {
		return ENOTSUP // Linux cannot chmod a symlink
	}
	// Reach the inode: by its own root and "." for a directory, else by an entry, else (an
	// unlinked inode) by /proc/self/fd of an open file.
	var (
		r    *os.Root
		name = "."
		e    = ENOENT
	)
	if !n.dead {
		if n.typ == TypeDir {
			r, e = fsys.dirRoot(n)
		} else {
			r, name, _, e = fsys.locate(n)
		}
	}
	if e == ENOENT && len(n.files) > 0 {
		return setAttrFd(n.files[0], a)
	}
	if e != 0 {
		return e
	}
	if a.Valid&AttrSize != 0 {
		f, err := r.OpenFile(name, os.O_WRONLY|syscall.O_NOFOLLOW, 0)
		if err != nil {
			return hostErrno(err)
		}
		err = f.Truncate(a.Size)
		f.Close()
		if err != nil {
			return hostErrno(err)
		}
	}
	if a.Valid&AttrMode != 0 {
		if err := r.Chmod(name, fileMode(a.Mode)); err != nil {
			return hostErrno(err)
		}
	}
	if a.Valid&(AttrAtime|AttrMtime) != 0 {
		ts := timespecs(a)
		if e := withDirFd(r, func(fd int) error {
			return unix.UtimesNanoAt(fd, name, ts, unix.AT_SYMLINK_NOFOLLOW)
		}); e != 0 {
			return e
		}
	}
	return ESUCCESS
}

// timespecs returns the utimensat times of a, UTIME_OMIT for a time a leaves alone.
func timespecs(a *Attr) []unix.Timespec {
	ts := []unix.Timespec{{Nsec: unix.UTIME_OMIT}, {Nsec: unix.UTIME_OMIT}}
	if a.Valid&AttrAtime != 0 {
		ts[0] = unix.NsecToTimespec(a.Atime)
	}
	if a.Valid&AttrMtime != 0 {
		ts[1] = unix.NsecToTimespec(a.Mtime)
	}
	return ts
}

// setAttrFd applies a to the inode open as f, which may have no name left.
func setAttrFd(f *os.File, a *Attr) Errno {
	sc, err := f.SyscallConn()
	if err != nil {
		return hostErrno(err)
	}
	var e Errno
	err = sc.Control(func(fd uintptr) {
		proc := "/proc/self/fd/" + strconv.Itoa(int(fd))
		if a.Valid&AttrSize != 0 {
			w, err := os.OpenFile(proc, os.O_WRONLY, 0)
			if err != nil {
				e = hostErrno(err)
				return
			}
			err = w.Truncate(a.Size)
			w.Close()
			if e = hostErrno(err); e != 0 {
				return
			}
		}
		if a.Valid&AttrMode != 0 {
			if e = hostErrno(unix.Fchmod(int(fd), uint32(a.Mode&0o7777))); e != 0 {
				return
			}
		}
		if a.Valid&(AttrAtime|AttrMtime) != 0 {
			e = hostErrno(unix.UtimesNanoAt(unix.AT_FDCWD, proc, timespecs(a), 0))
		}
	})
	if err != nil {
		return hostErrno(err)
	}
	return e
}

// withDirFd calls f with a file descriptor of the directory r, for the *at system calls
// os.Root has no method for. f is only ever given single-component names (see checkName).
func withDirFd(r *os.Root, f func(fd int) error) Errno {
	d, err := r.Open(".")
	if err != nil {
		return hostErrno(err)
	}
	defer d.Close()
	sc, err := d.SyscallConn()
	if err != nil {
		return hostErrno(err)
	}
	var ferr error
	if err := sc.Control(func(fd uintptr) { ferr = f(int(fd)) }); err != nil {
		return hostErrno(err)
	}
	return hostErrno(ferr)
}

// withDirFds is withDirFd for two directories.
func withDirFds(r1, r2 *os.Root, f func(fd1, fd2 int) error) Errno {
	return withDirFd(r1, func(fd1 int) error {
		if r1 == r2 {
			return f(fd1, fd1)
		}
		return withDirFd(r2, func(fd2 int) error { return f(fd1, fd2) }).Err()
	})
}

// cookie returns the readdir cookie of name in directory d, assigning the next one if new.
func (d *hostNode) cookie(name string) uint64 {
	if d.cookies == nil {
		d.cookies = map[string]uint64{}
	}
	c, ok := d.cookies[name]
	if !ok {
		d.lastCookie++
		c = d.lastCookie
		d.cookies[name] = c
	}
	return c
}

// Create implements FS.Create.
func (fsys *hostFS) Create(dir Ino, name string, typ FileType, perm uint32, target string) (Ino, Errno) {
	if e := checkName(name); e != 0 {
		return 0, e
	}
	fsys.mu.Lock()
	defer fsys.mu.Unlock()
	d, r, e := fsys.dir(dir)
	if e != 0 {
		return 0, e
	}
	var err error
	switch typ {
	case TypeRegular:
		var f *os.File
		f, err = r.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY|syscall.O_NOFOLLOW, fileMode(perm)&0o777)
		if err == nil {
			f.Close()
		}
	case TypeDir:
		err = r.Mkdir(name, fileMode(perm)&0o777)
	case TypeSymlink:
		if target == "" || strings.IndexByte(target, 0) >= 0 {
			return 0, EINVAL
		}
		err = r.Symlink(target, name)
	default:
		return 0, EINVAL
	}
	if err != nil {
		return 0, hostErrno(err)
	}
	fi, err := r.Lstat(name)
	if err != nil {
		return 0, hostErrno(err)
	}
	if typ != TypeSymlink && fi.Sys().(*syscall.Stat_t).Mode&0o7777 != perm&0o7777 {
		// Undo the host's umask.
		if err := r.Chmod(name, fileMode(perm)); err != nil {
			return 0, hostErrno(err)
		}
	}
	n := fsys.nodeFor(fi)
	n.addLoc(dir, name)
	d.cookie(name)
	return n.ino, ESUCCESS
}

// Link implements FS.Link.
func (fsys *hostFS) Link(ino Ino, dir Ino, name string) Errno {
	if e := checkName(name); e != 0 {
		return e
	}
	fsys.mu.Lock()
	defer fsys.mu.Unlock()
	n, e := fsys.node(ino)
	if e != 0 {
		return e
	}
	d, r, e := fsys.dir(dir)
	if e != 0 {
		return e
	}
	if n.typ == TypeDir {
		return EPERM
	}
	or, oldName, _, e := fsys.locate(n)
	if e != 0 {
		return e
	}
	if e := withDirFds(or, r, func(ofd, nfd int) error {
		return unix.Linkat(ofd, oldName, nfd, name, 0)
	}); e != 0 {
		return e
	}
	n.addLoc(dir, name)
	d.cookie(name)
	return ESUCCESS
}

// Remove implements FS.Remove.
func (fsys *hostFS) Remove(dir Ino, name string, dirOnly bool) Errno {
	if e := checkName(name); e != 0 {
		return e
	}
	fsys.mu.Lock()
	defer fsys.mu.Unlock()
	d, r, e := fsys.dir(dir)
	if e != 0 {
		return e
	}
	fi, err := r.Lstat(name)
	if err != nil {
		return hostErrno(err)
	}
	isDir := fi.IsDir()
	switch {
	case dirOnly && !isDir:
		return ENOTDIR
	case !dirOnly && isDir:
		return EISDIR
	}
	flags := 0
	if dirOnly {
		flags = unix.AT_REMOVEDIR
	}
	if e := withDirFd(r, func(fd int) error { return unix.Unlinkat(fd, name, flags) }); e != 0 {
		return e
	}
	delete(d.cookies, name)
	if n, ok := fsys.byKey[keyOf(fi)]; ok {
		n.removeLoc(dir, name)
		if isDir || fi.Sys().(*syscall.Stat_t).Nlink <= 1 {
			fsys.forget(n)
		}
	}
	return ESUCCESS
}

// Rename implements FS.Rename.
func (fsys *hostFS) Rename(oldDir Ino, oldName string, newDir Ino, newName string) Errno {
	if e := checkName(oldName); e != 0 {
		return e
	}
	if e := checkName(newName); e != 0 {
		return e
	}
	fsys.mu.Lock()
	defer fsys.mu.Unlock()
	od, or, e := fsys.dir(oldDir)
	if e != 0 {
		return e
	}
	nd, nr, e := fsys.dir(newDir)
	if e != 0 {
		return e
	}
	ofi, err := or.Lstat(oldName)
	if err != nil {
		return hostErrno(err)
	}
	nfi, nerr := nr.Lstat(newName)
	if nerr == nil && keyOf(nfi) == keyOf(ofi) {
		return ESUCCESS // two names of one inode: rename(2) does nothing
	}
	if e := withDirFds(or, nr, func(ofd, nfd int) error {
		return unix.Renameat(ofd, oldName, nfd, newName)
	}); e != 0 {
		return e
	}
	if nerr == nil {
		if t, ok := fsys.byKey[keyOf(nfi)]; ok {
			t.removeLoc(newDir, newName)
			if nfi.IsDir() || nfi.Sys().(*syscall.Stat_t).Nlink <= 1 {
				fsys.forget(t)
			}
		}
	}
	n := fsys.nodeFor(ofi)
	n.removeLoc(oldDir, oldName)
	n.addLoc(newDir, newName)
	delete(od.cookies, oldName)
	nd.cookie(newName)
	return ESUCCESS
}

// Readlink implements FS.Readlink.
func (fsys *hostFS) Readlink(ino Ino) (string, Errno) {
	fsys.mu.Lock()
	defer fsys.mu.Unlock()
	n, e := fsys.node(ino)
	if e != 0 {
		return "", e
	}
	if n.typ != TypeSymlink {
		return "", EINVAL
	}
	r, name, _, e := fsys.locate(n)
	if e != 0 {
		return "", e
	}
	s, err := r.Readlink(name)
	return s, hostErrno(err)
}

// Open implements FS.Open.
func (fsys *hostFS) Open(ino Ino, flags OpenFlag) (File, Errno) {
	fsys.mu.Lock()
	defer fsys.mu.Unlock()
	n, e := fsys.node(ino)
	if e != 0 {
		return nil, e
	}
	var f *os.File
	switch n.typ {
	case TypeDir:
		if flags&OpenWrite != 0 {
			return nil, EISDIR
		}
		r, e := fsys.dirRoot(n)
		if e != 0 {
			return nil, e
		}
		var err error
		if f, err = r.Open("."); err != nil {
			return nil, hostErrno(err)
		}
	case TypeRegular:
		r, name, _, e := fsys.locate(n)
		if e != 0 {
			return nil, e
		}
		mode := os.O_RDONLY
		switch {
		case flags&(OpenRead|OpenWrite) == OpenRead|OpenWrite:
			mode = os.O_RDWR
		case flags&OpenWrite != 0:
			mode = os.O_WRONLY
		}
		var err error
		if f, err = r.OpenFile(name, mode|syscall.O_NOFOLLOW, 0); err != nil {
			return nil, hostErrno(err)
		}
		if fi, err := f.Stat(); err != nil || keyOf(fi) != n.key {
			f.Close()
			return nil, ENOENT // replaced between the lstat and the open
		}
	case TypeSymlink:
		return nil, ELOOP
	default:
		return nil, EACCES
	}
	n.files = append(n.files, f)
	return &hostFile{fsys: fsys, n: n, f: f, flags: flags}, ESUCCESS
}

// Close releases the directory handles; the FS is unusable afterwards. It implements Closer.
func (fsys *hostFS) Close() error {
	fsys.mu.Lock()
	defer fsys.mu.Unlock()
	if fsys.closed {
		return nil
	}
	fsys.closed = true
	for _, n := range fsys.nodes {
		if n.root != nil {
			n.root.Close()
			n.root = nil
		}
	}
	return nil
}

// hostFile implements File over an *os.File.
type hostFile struct {
	fsys   *hostFS
	n      *hostNode
	f      *os.File
	flags  OpenFlag
	closed atomic.Bool
}

func (h *hostFile) check(need OpenFlag) Errno {
	switch {
	case h.closed.Load():
		return EBADF
	case h.n.typ == TypeDir:
		return EISDIR
	case h.flags&need == 0:
		return EBADF
	}
	return ESUCCESS
}

// ReadAt implements File.ReadAt.
func (h *hostFile) ReadAt(p []byte, off int64) (int, Errno) {
	if e := h.check(OpenRead); e != 0 {
		return 0, e
	}
	if off < 0 {
		return 0, EINVAL
	}
	n, err := h.f.ReadAt(p, off)
	if err == io.EOF {
		err = nil
	}
	return n, hostErrno(err)
}

// WriteAt implements File.WriteAt.
func (h *hostFile) WriteAt(p []byte, off int64) (int, Errno) {
	if e := h.check(OpenWrite); e != 0 {
		return 0, e
	}
	if off < 0 {
		return 0, EINVAL
	}
	n, err := h.f.WriteAt(p, off)
	return n, hostErrno(err)
}

// Append implements File.Append. Appends through this FS are atomic with respect to each
// other; a host process writing the same file at the same time may interleave.
func (h *hostFile) Append(p []byte) (int, int64, Errno) {
	if e := h.check(OpenWrite); e != 0 {
		return 0, 0, e
	}
	h.n.amu.Lock()
	defer h.n.amu.Unlock()
	fi, err := h.f.Stat()
	if err != nil {
		return 0, 0, hostErrno(err)
	}
	n, err := h.f.WriteAt(p, fi.Size())
	return n, fi.Size() + int64(n), hostErrno(err)
}

// hostDirBatch is how many entries ReadDir lstats per lock hold.
const hostDirBatch = 64

// ReadDir implements File.ReadDir.
func (h *hostFile) ReadDir(cookie uint64, fn func(e *DirEntry) bool) Errno {
	if h.closed.Load() {
		return EBADF
	}
	if h.n.typ != TypeDir {
		return ENOTDIR
	}
	type pending struct {
		cookie uint64
		name   string
	}
	fsys := h.fsys
	fsys.mu.Lock()
	if h.n.dead || fsys.closed {
		fsys.mu.Unlock()
		return ESUCCESS // removed: empty
	}
	r, e := fsys.dirRoot(h.n)
	if e != 0 {
		fsys.mu.Unlock()
		return e
	}
	names, err := readNames(r)
	if err != nil {
		fsys.mu.Unlock()
		return hostErrno(err)
	}
	var todo []pending
	seen := make(map[string]bool, len(names))
	for _, name := range names {
		seen[name] = true
		if c := h.n.cookie(name); c > cookie {
			todo = append(todo, pending{c, name})
		}
	}
	for name := range h.n.cookies {
		if !seen[name] {
			delete(h.n.cookies, name) // gone from the host
		}
	}
	fsys.mu.Unlock()
	slices.SortFunc(todo, func(a, b pending) int {
		switch {
		case a.cookie < b.cookie:
			return -1
		case a.cookie > b.cookie:
			return 1
		}
		return 0
	})
	var (
		ents [hostDirBatch]DirEntry
		buf  []byte
	)
	for len(todo) > 0 {
		batch := todo[:min(len(todo), hostDirBatch)]
		todo = todo[len(batch):]
		fsys.mu.Lock()
		r, e := fsys.dirRoot(h.n)
		if e != 0 {
			fsys.mu.Unlock()
			return e
		}
		k := 0
		for _, p := range batch {
			fi, err := r.Lstat(p.name)
			if err != nil {
				continue // removed since the listing
			}
			n := fsys.nodeFor(fi)
			n.addLoc(h.n.ino, p.name)
			ents[k] = DirEntry{Next: p.cookie, Ino: n.ino, Type: n.typ}
			start := len(buf)
			buf = append(buf, p.name...)
			ents[k].Name = buf[start:len(buf):len(buf)]
			k++
		}
		fsys.mu.Unlock()
		for i := 0; i < k; i++ {
			if !fn(&ents[i]) {
				return ESUCCESS
			}
		}
		buf = buf[:0]
	}
	return ESUCCESS
}

// readNames lists the names in directory r.
func readNames(r *os.Root) ([]string, error) {
	d, err := r.Open(".")
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.Readdirnames(-1)
}

// Sync implements File.Sync.
func (h *hostFile) Sync(dataOnly bool) Errno {
	if h.closed.Load() {
		return EBADF
	}
	if dataOnly && h.n.typ != TypeDir {
		return hostErrno(unix.Fdatasync(int(h.f.Fd())))
	}
	return hostErrno(h.f.Sync())
}

// Close implements File.Close.
func (h *hostFile) Close() Errno {
	if h.closed.Swap(true) {
		return EBADF
	}
	fsys := h.fsys
	fsys.mu.Lock()
	h.n.files = slices.DeleteFunc(h.n.files, func(f *os.File) bool { return f == h.f })
	if h.n.dead && len(h.n.files) == 0 {
		delete(fsys.nodes, h.n.ino)
	}
	fsys.mu.Unlock()
	return hostErrno(h.f.Close())
}
