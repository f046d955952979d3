//go:build linux

package hostfs

import (
	"io/fs"
	"os"
	"strings"
	"syscall"

	"github.com/wasmrun/wasmrun/vfs"
	"golang.org/x/sys/unix"
)

// Root implements vfs.FS.Root.
func (fsys *hostFS) Root() vfs.Ino { return 1 }

// Lookup implements vfs.FS.Lookup. The parent of a directory ("..") is the directory of the entry
// that last named it, checked against the host.
func (fsys *hostFS) Lookup(dir vfs.Ino, name string) (vfs.Ino, vfs.FileType, vfs.Errno) {
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
	return n.ino, n.typ, vfs.ESUCCESS
}

// parent implements Lookup(dir, "..").
func (fsys *hostFS) parent(dir vfs.Ino) (vfs.Ino, vfs.FileType, vfs.Errno) {
	fsys.mu.Lock()
	defer fsys.mu.Unlock()
	d, e := fsys.node(dir)
	if e != 0 {
		return 0, 0, e
	}
	if d.typ != vfs.TypeDir {
		return 0, 0, vfs.ENOTDIR
	}
	if dir == fsys.Root() {
		return dir, vfs.TypeDir, vfs.ESUCCESS
	}
	if _, _, _, e := fsys.locate(d); e != 0 {
		return 0, 0, e
	}
	return d.locs[0].dir, vfs.TypeDir, vfs.ESUCCESS
}

// Stat implements vfs.FS.Stat.
func (fsys *hostFS) Stat(ino vfs.Ino) (vfs.Stat, vfs.Errno) {
	fsys.mu.Lock()
	defer fsys.mu.Unlock()
	n, ok := fsys.nodes[ino]
	if !ok || fsys.closed {
		return vfs.Stat{}, vfs.ENOENT
	}
	var fi fs.FileInfo
	e := vfs.ENOENT
	if !n.dead {
		if n.typ == vfs.TypeDir {
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
	if e == vfs.ENOENT && len(n.files) > 0 {
		var err error
		fi, err = n.files[0].Stat()
		e = hostErrno(err)
	}
	if e != 0 {
		return vfs.Stat{}, e
	}
	return hostStat(ino, fi), vfs.ESUCCESS
}

// SetAttr implements vfs.FS.SetAttr. An inode with no entry left (unlinked while open) is changed
// through one of its open files.
func (fsys *hostFS) SetAttr(ino vfs.Ino, a *vfs.Attr) vfs.Errno {
	fsys.mu.Lock()
	defer fsys.mu.Unlock()
	n, ok := fsys.nodes[ino]
	if !ok || fsys.closed {
		return vfs.ENOENT
	}
	if a.Valid&vfs.AttrSize != 0 {
		switch {
		case n.typ == vfs.TypeDir:
			return vfs.EISDIR
		case n.typ != vfs.TypeRegular:
			return vfs.EINVAL
		case a.Size < 0:
			return vfs.EINVAL
		}
	}
	if a.Valid&vfs.AttrMode != 0 && n.typ == vfs.TypeSymlink {
		return vfs.ENOTSUP // Linux cannot chmod a symlink
	}
	// Reach the inode: by its own root and "." for a directory, else by an entry, else (an
	// unlinked inode) by /proc/self/fd of an open file.
	var (
		r    *os.Root
		name = "."
		e    = vfs.ENOENT
	)
	if !n.dead {
		if n.typ == vfs.TypeDir {
			r, e = fsys.dirRoot(n)
		} else {
			r, name, _, e = fsys.locate(n)
		}
	}
	if e == vfs.ENOENT && len(n.files) > 0 {
		return setAttrFd(n.files[0], a)
	}
	if e != 0 {
		return e
	}
	if a.Valid&vfs.AttrSize != 0 {
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
	if a.Valid&vfs.AttrMode != 0 {
		if err := r.Chmod(name, fileMode(a.Mode)); err != nil {
			return hostErrno(err)
		}
	}
	if a.Valid&(vfs.AttrAtime|vfs.AttrMtime) != 0 {
		ts := timespecs(a)
		if e := withDirFd(r, func(fd int) error {
			return unix.UtimesNanoAt(fd, name, ts, unix.AT_SYMLINK_NOFOLLOW)
		}); e != 0 {
			return e
		}
	}
	return vfs.ESUCCESS
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

// Create implements vfs.FS.Create.
func (fsys *hostFS) Create(dir vfs.Ino, name string, typ vfs.FileType, perm uint32, target string) (vfs.Ino, vfs.Errno) {
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
	case vfs.TypeRegular:
		var f *os.File
		f, err = r.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY|syscall.O_NOFOLLOW, fileMode(perm)&0o777)
		if err == nil {
			f.Close()
		}
	case vfs.TypeDir:
		err = r.Mkdir(name, fileMode(perm)&0o777)
	case vfs.TypeSymlink:
		if target == "" || strings.IndexByte(target, 0) >= 0 {
			return 0, vfs.EINVAL
		}
		err = r.Symlink(target, name)
	default:
		return 0, vfs.EINVAL
	}
	if err != nil {
		return 0, hostErrno(err)
	}
	fi, err := r.Lstat(name)
	if err != nil {
		return 0, hostErrno(err)
	}
	if typ != vfs.TypeSymlink && fi.Sys().(*syscall.Stat_t).Mode&0o7777 != perm&0o7777 {
		// Undo the host's umask.
		if err := r.Chmod(name, fileMode(perm)); err != nil {
			return 0, hostErrno(err)
		}
	}
	n := fsys.nodeFor(fi)
	n.addLoc(dir, name)
	d.cookie(name)
	return n.ino, vfs.ESUCCESS
}

// Link implements vfs.FS.Link.
func (fsys *hostFS) Link(ino vfs.Ino, dir vfs.Ino, name string) vfs.Errno {
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
	if n.typ == vfs.TypeDir {
		return vfs.EPERM
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
	return vfs.ESUCCESS
}

// Remove implements vfs.FS.Remove.
func (fsys *hostFS) Remove(dir vfs.Ino, name string, dirOnly bool) vfs.Errno {
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
		return vfs.ENOTDIR
	case !dirOnly && isDir:
		return vfs.EISDIR
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
	return vfs.ESUCCESS
}

// Rename implements vfs.FS.Rename.
func (fsys *hostFS) Rename(oldDir vfs.Ino, oldName string, newDir vfs.Ino, newName string) vfs.Errno {
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
		return vfs.ESUCCESS // two names of one inode: rename(2) does nothing
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
	return vfs.ESUCCESS
}

// Readlink implements vfs.FS.Readlink.
func (fsys *hostFS) Readlink(ino vfs.Ino) (string, vfs.Errno) {
	fsys.mu.Lock()
	defer fsys.mu.Unlock()
	n, e := fsys.node(ino)
	if e != 0 {
		return "", e
	}
	if n.typ != vfs.TypeSymlink {
		return "", vfs.EINVAL
	}
	r, name, _, e := fsys.locate(n)
	if e != 0 {
		return "", e
	}
	s, err := r.Readlink(name)
	return s, hostErrno(err)
}

// Open implements vfs.FS.Open.
func (fsys *hostFS) Open(ino vfs.Ino, flags vfs.OpenFlag) (vfs.File, vfs.Errno) {
	fsys.mu.Lock()
	defer fsys.mu.Unlock()
	n, e := fsys.node(ino)
	if e != 0 {
		return nil, e
	}
	var f *os.File
	switch n.typ {
	case vfs.TypeDir:
		if flags&vfs.OpenWrite != 0 {
			return nil, vfs.EISDIR
		}
		r, e := fsys.dirRoot(n)
		if e != 0 {
			return nil, e
		}
		var err error
		if f, err = r.Open("."); err != nil {
			return nil, hostErrno(err)
		}
	case vfs.TypeRegular:
		r, name, _, e := fsys.locate(n)
		if e != 0 {
			return nil, e
		}
		mode := os.O_RDONLY
		switch {
		case flags&(vfs.OpenRead|vfs.OpenWrite) == vfs.OpenRead|vfs.OpenWrite:
			mode = os.O_RDWR
		case flags&vfs.OpenWrite != 0:
			mode = os.O_WRONLY
		}
		var err error
		if f, err = r.OpenFile(name, mode|syscall.O_NOFOLLOW, 0); err != nil {
			return nil, hostErrno(err)
		}
		if fi, err := f.Stat(); err != nil || keyOf(fi) != n.key {
			f.Close()
			return nil, vfs.ENOENT // replaced between the lstat and the open
		}
	case vfs.TypeSymlink:
		return nil, vfs.ELOOP
	default:
		return nil, vfs.EACCES
	}
	n.files = append(n.files, f)
	return &hostFile{fsys: fsys, n: n, f: f, flags: flags}, vfs.ESUCCESS
}

// Close releases the directory handles; the FS is unusable afterwards. It implements vfs.Closer.
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
