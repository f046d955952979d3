package powercut

import (
	"context"
	"path/filepath"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"
)

// node is a file or directory of the mount: go-fuse's loopback node, with every operation that
// changes a directory or a file's data recorded (see FS).
type node struct {
	*fs.LoopbackNode
	pc *FS
}

var (
	_ fs.NodeWrapChilder    = (*node)(nil)
	_ fs.NodeCreater        = (*node)(nil)
	_ fs.NodeOpener         = (*node)(nil)
	_ fs.NodeOpendirHandler = (*node)(nil)
	_ fs.NodeMkdirer        = (*node)(nil)
	_ fs.NodeRmdirer        = (*node)(nil)
	_ fs.NodeUnlinker       = (*node)(nil)
	_ fs.NodeRenamer        = (*node)(nil)
	_ fs.NodeLinker         = (*node)(nil)
	_ fs.NodeSymlinker      = (*node)(nil)
	_ fs.NodeMknoder        = (*node)(nil)
	_ fs.NodeTmpfiler       = (*node)(nil)
	_ fs.NodeSetattrer      = (*node)(nil)
	_ fs.NodeCopyFileRanger = (*node)(nil)
	_ fs.NodeFsyncer        = (*node)(nil)
	_ fs.FileReaddirenter   = (*dirHandle)(nil)
	_ fs.FileFsyncdirer     = (*dirHandle)(nil)
	_ fs.FileReleasedirer   = (*dirHandle)(nil)
	_ fs.FileSeekdirer      = (*dirHandle)(nil)
	_ fs.FileWriter         = (*handle)(nil)
	_ fs.FileReader         = (*handle)(nil)
	_ fs.FileFsyncer        = (*handle)(nil)
	_ fs.FileSetattrer      = (*handle)(nil)
	_ fs.FileGetattrer      = (*handle)(nil)
	_ fs.FileAllocater      = (*handle)(nil)
	_ fs.FileReleaser       = (*handle)(nil)
	_ fs.FileFlusher        = (*handle)(nil)
	_ fs.FileLseeker        = (*handle)(nil)
	_ fs.FileGetlker        = (*handle)(nil)
	_ fs.FileSetlker        = (*handle)(nil)
	_ fs.FileSetlkwer       = (*handle)(nil)
)

// WrapChild makes every node of the tree a node of this filesystem.
func (n *node) WrapChild(ctx context.Context, ops fs.InodeEmbedder) fs.InodeEmbedder {
	return &node{LoopbackNode: ops.(*fs.LoopbackNode), pc: n.pc}
}

// bpath returns the node's path in the backing directory.
func (n *node) bpath() string {
	return filepath.Join(n.RootData.Path, n.Path(nil))
}

func errnoOf(err error) syscall.Errno { return fs.ToErrno(err) }

// Create implements fs.NodeCreater: the entry is held back unless the file existed; O_TRUNC of
// an existing file is a held-back truncate.
func (n *node) Create(ctx context.Context, name string, flags uint32, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	f := n.pc
	if e := f.lock(); e != 0 {
		return nil, nil, 0, e
	}
	defer f.mu.Unlock()
	dir := n.bpath()
	var st unix.Stat_t
	existed := unix.Lstat(filepath.Join(dir, name), &st) == nil
	ch, fh, fl, e := n.LoopbackNode.Create(ctx, name, flags&^syscall.O_TRUNC, mode, out)
	if e != 0 {
		return nil, nil, 0, e
	}
	h, e := newHandle(f, fh)
	if e != 0 {
		fh.(fs.FileReleaser).Release(ctx)
		return nil, nil, 0, e
	}
	if !existed {
		if err := f.addDirLocked(dir, dirOp{name: name}); err != nil {
			return nil, nil, 0, errnoOf(err)
		}
	} else if flags&syscall.O_TRUNC != 0 {
		if e := h.truncateLocked(0); e != 0 {
			return nil, nil, 0, e
		}
	}
	return ch, h, fl, 0
}

// Open implements fs.NodeOpener: the handle records its writes; O_TRUNC is a held-back
// truncate.
func (n *node) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	fh, fl, e := n.LoopbackNode.Open(ctx, flags&^syscall.O_TRUNC)
	if e != 0 {
		return nil, 0, e
	}
	h, e := newHandle(n.pc, fh)
	if e != 0 {
		fh.(fs.FileReleaser).Release(ctx)
		return nil, 0, e
	}
	if flags&syscall.O_TRUNC != 0 {
		if e := n.pc.lock(); e != 0 {
			h.Release(ctx)
			return nil, 0, e
		}
		e := h.truncateLocked(0)
		n.pc.mu.Unlock()
		if e != 0 {
			h.Release(ctx)
			return nil, 0, e
		}
	}
	return h, fl, 0
}

// OpendirHandle implements fs.NodeOpendirHandler: the handle's fsync makes the directory's
// held-back changes durable.
func (n *node) OpendirHandle(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	p := n.bpath()
	var st unix.Stat_t
	if err := unix.Stat(p, &st); err != nil {
		return nil, 0, errnoOf(err)
	}
	ds, e := fs.NewLoopbackDirStream(p)
	if e != 0 {
		return nil, 0, e
	}
	return &dirHandle{ds: ds, pc: n.pc, ino: st.Ino}, 0, 0
}

// Fsync implements fs.NodeFsyncer, for an fsync without a handle of ours.
func (n *node) Fsync(ctx context.Context, fh fs.FileHandle, flags uint32) syscall.Errno {
	if h, ok := fh.(*handle); ok {
		return h.Fsync(ctx, flags)
	}
	f := n.pc
	if e := f.lock(); e != 0 {
		return e
	}
	defer f.mu.Unlock()
	var st unix.Stat_t
	if err := unix.Stat(n.bpath(), &st); err != nil {
		return errnoOf(err)
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		f.syncDirLocked(st.Ino)
	} else {
		f.syncFileLocked(st.Ino)
	}
	return 0
}

// Mkdir implements fs.NodeMkdirer.
func (n *node) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	f := n.pc
	if e := f.lock(); e != 0 {
		return nil, e
	}
	defer f.mu.Unlock()
	ch, e := n.LoopbackNode.Mkdir(ctx, name, mode, out)
	if e != 0 {
		return nil, e
	}
	return ch, errnoOf(f.addDirLocked(n.bpath(), dirOp{name: name}))
}

// Symlink implements fs.NodeSymlinker.
func (n *node) Symlink(ctx context.Context, target, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	f := n.pc
	if e := f.lock(); e != 0 {
		return nil, e
	}
	defer f.mu.Unlock()
	ch, e := n.LoopbackNode.Symlink(ctx, target, name, out)
	if e != 0 {
		return nil, e
	}
	return ch, errnoOf(f.addDirLocked(n.bpath(), dirOp{name: name}))
}

// Link implements fs.NodeLinker.
func (n *node) Link(ctx context.Context, target fs.InodeEmbedder, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	f := n.pc
	if e := f.lock(); e != 0 {
		return nil, e
	}
	defer f.mu.Unlock()
	t, ok := target.(*node)
	if !ok {
		return nil, syscall.EXDEV
	}
	ch, e := n.LoopbackNode.Link(ctx, t.LoopbackNode, name, out)
	if e != 0 {
		return nil, e
	}
	return ch, errnoOf(f.addDirLocked(n.bpath(), dirOp{name: name}))
}

// Mknod implements fs.NodeMknoder: refused.
func (n *node) Mknod(ctx context.Context, name string, mode, rdev uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	return nil, syscall.ENOTSUP
}

// Tmpfile implements fs.NodeTmpfiler: refused.
func (n *node) Tmpfile(ctx context.Context, flags uint32, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	return nil, nil, 0, syscall.ENOTSUP
}

// CopyFileRange implements fs.NodeCopyFileRanger: refused with ENOSYS, so that the kernel
// copies with reads and writes, which are recorded.
func (n *node) CopyFileRange(ctx context.Context, fhIn fs.FileHandle, offIn uint64, out *fs.Inode, fhOut fs.FileHandle, offOut uint64, length uint64, flags uint64) (uint32, syscall.Errno) {
	return 0, syscall.ENOSYS
}

// Rmdir implements fs.NodeRmdirer.
func (n *node) Rmdir(ctx context.Context, name string) syscall.Errno {
	f := n.pc
	if e := f.lock(); e != 0 {
		return e
	}
	defer f.mu.Unlock()
	dir := n.bpath()
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(dir, name), &st); err != nil {
		return errnoOf(err)
	}
	if e := n.LoopbackNode.Rmdir(ctx, name); e != 0 {
		return e
	}
	return errnoOf(f.addDirLocked(dir, dirOp{name: name, wasDir: true, dirMode: st.Mode & 0o7777}))
}

// Unlink implements fs.NodeUnlinker: the file is kept in the grave until the unlink is
// durable.
func (n *node) Unlink(ctx context.Context, name string) syscall.Errno {
	f := n.pc
	if e := f.lock(); e != 0 {
		return e
	}
	defer f.mu.Unlock()
	dir := n.bpath()
	g, err := f.buryLocked(filepath.Join(dir, name))
	if err != nil {
		return errnoOf(err)
	}
	if e := n.LoopbackNode.Unlink(ctx, name); e != 0 {
		f.unburyLocked(g)
		return e
	}
	return errnoOf(f.addDirLocked(dir, dirOp{name: name, grave: g}))
}

// Rename implements fs.NodeRenamer: a file's rename is two held-back changes, the old name's
// removal and the new name's replacement. A directory's is durable at once.
func (n *node) Rename(ctx context.Context, name string, newParent fs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	f := n.pc
	if e := f.lock(); e != 0 {
		return e
	}
	defer f.mu.Unlock()
	np, ok := newParent.(*node)
	if !ok {
		return syscall.EXDEV
	}
	if flags&^unix.RENAME_NOREPLACE != 0 {
		return syscall.EINVAL
	}
	src, dst := n.bpath(), np.bpath()
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(src, name), &st); err != nil {
		return errnoOf(err)
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return n.LoopbackNode.Rename(ctx, name, np.LoopbackNode, newName, flags)
	}
	var gOld, gNew string
	var err error
	if gOld, err = f.buryLocked(filepath.Join(src, name)); err != nil {
		return errnoOf(err)
	}
	var dst0 unix.Stat_t
	if unix.Lstat(filepath.Join(dst, newName), &dst0) == nil && dst0.Mode&unix.S_IFMT != unix.S_IFDIR {
		if dst0.Ino == st.Ino {
			f.unburyLocked(gOld) // rename onto a link of itself: nothing happens
			return n.LoopbackNode.Rename(ctx, name, np.LoopbackNode, newName, flags)
		}
		if gNew, err = f.buryLocked(filepath.Join(dst, newName)); err != nil {
			f.unburyLocked(gOld)
			return errnoOf(err)
		}
	}
	if e := n.LoopbackNode.Rename(ctx, name, np.LoopbackNode, newName, flags); e != 0 {
		f.unburyLocked(gOld)
		f.unburyLocked(gNew)
		return e
	}
	if err := f.addDirLocked(src, dirOp{name: name, grave: gOld}); err != nil {
		return errnoOf(err)
	}
	return errnoOf(f.addDirLocked(dst, dirOp{name: newName, grave: gNew}))
}

// Setattr implements fs.NodeSetattrer: a size change is a held-back truncate.
func (n *node) Setattr(ctx context.Context, fh fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	if _, ok := fh.(*handle); ok {
		return n.LoopbackNode.Setattr(ctx, fh, in, out) // calls handle.Setattr
	}
	if sz, ok := in.GetSize(); ok {
		fd, err := unix.Open(n.bpath(), unix.O_RDWR|unix.O_CLOEXEC, 0)
		if err != nil {
			return errnoOf(err)
		}
		h := &handle{pc: n.pc, fd: fd}
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			unix.Close(fd)
			return errnoOf(err)
		}
		h.ino = st.Ino
		if e := n.pc.lock(); e != 0 {
			unix.Close(fd)
			return e
		}
		e := h.truncateLocked(int64(sz))
		n.pc.mu.Unlock()
		unix.Close(fd)
		if e != 0 {
			return e
		}
		in.Valid &^= fuse.FATTR_SIZE
	}
	if n.pc.frozenNow() {
		return syscall.EIO
	}
	return n.LoopbackNode.Setattr(ctx, fh, in, out)
}

// dirHandle is an open directory: its fsync makes the directory's held-back changes durable.
type dirHandle struct {
	ds  fs.DirStream
	pc  *FS
	ino uint64
}

func (d *dirHandle) Readdirent(ctx context.Context) (*fuse.DirEntry, syscall.Errno) {
	return d.ds.(fs.FileReaddirenter).Readdirent(ctx)
}

func (d *dirHandle) Seekdir(ctx context.Context, off uint64) syscall.Errno {
	return d.ds.(fs.FileSeekdirer).Seekdir(ctx, off)
}

func (d *dirHandle) Releasedir(ctx context.Context, flags uint32) {
	d.ds.(fs.FileReleasedirer).Releasedir(ctx, flags)
}

// Fsyncdir implements fs.FileFsyncdirer.
func (d *dirHandle) Fsyncdir(ctx context.Context, flags uint32) syscall.Errno {
	if e := d.pc.lock(); e != 0 {
		return e
	}
	defer d.pc.mu.Unlock()
	d.pc.syncDirLocked(d.ino)
	return 0
}

// handle is an open file: go-fuse's loopback file, with writes, truncates and allocates
// recorded, and fsync making them durable.
type handle struct {
	lf  *fs.LoopbackFile
	pc  *FS
	fd  int
	ino uint64
}

func newHandle(f *FS, fh fs.FileHandle) (*handle, syscall.Errno) {
	lf, ok := fh.(*fs.LoopbackFile)
	if !ok {
		return nil, syscall.EIO
	}
	fd, ok := lf.PassthroughFd()
	if !ok {
		return nil, syscall.EBADF
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, errnoOf(err)
	}
	return &handle{lf: lf, pc: f, fd: fd, ino: st.Ino}, 0
}

func (h *handle) size() (int64, syscall.Errno) {
	var st unix.Stat_t
	if err := unix.Fstat(h.fd, &st); err != nil {
		return 0, errnoOf(err)
	}
	return st.Size, 0
}

// Write implements fs.FileWriter.
func (h *handle) Write(ctx context.Context, data []byte, off int64) (uint32, syscall.Errno) {
	f := h.pc
	if e := f.lock(); e != 0 {
		return 0, e
	}
	defer f.mu.Unlock()
	held, err := f.fileLocked(h.fd, h.ino)
	if err != nil {
		return 0, errnoOf(err)
	}
	size, e := h.size()
	if e != 0 {
		return 0, e
	}
	var pre []byte
	if off < size {
		pre = make([]byte, min(int64(len(data)), size-off))
		if _, err := unix.Pread(held.fd, pre, off); err != nil {
			return 0, errnoOf(err)
		}
	}
	n, err := unix.Pwrite(h.fd, data, off)
	if n > 0 {
		f.addDataLocked(held, dataOp{kind: opWrite, off: off, data: append([]byte(nil), data[:n]...),
			pre: pre[:min(len(pre), n)], oldSize: size})
	}
	if err != nil {
		return uint32(max(n, 0)), errnoOf(err)
	}
	return uint32(n), 0
}

// truncateLocked sets the file's size to size, held back.
func (h *handle) truncateLocked(size int64) syscall.Errno {
	f := h.pc
	held, err := f.fileLocked(h.fd, h.ino)
	if err != nil {
		return errnoOf(err)
	}
	old, e := h.size()
	if e != 0 {
		return e
	}
	var pre []byte
	if size < old {
		pre = make([]byte, old-size)
		if _, err := unix.Pread(held.fd, pre, size); err != nil {
			return errnoOf(err)
		}
	}
	if err := unix.Ftruncate(h.fd, size); err != nil {
		return errnoOf(err)
	}
	f.addDataLocked(held, dataOp{kind: opTruncate, pre: pre, oldSize: old, newSize: size})
	return 0
}

// Setattr implements fs.FileSetattrer: a size change is a held-back truncate.
func (h *handle) Setattr(ctx context.Context, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	if e := h.pc.lock(); e != 0 {
		return e
	}
	if sz, ok := in.GetSize(); ok {
		if e := h.truncateLocked(int64(sz)); e != 0 {
			h.pc.mu.Unlock()
			return e
		}
		in.Valid &^= fuse.FATTR_SIZE
	}
	h.pc.mu.Unlock()
	return h.lf.Setattr(ctx, in, out)
}

// Allocate implements fs.FileAllocater: mode 0 and FALLOC_FL_KEEP_SIZE only.
func (h *handle) Allocate(ctx context.Context, off uint64, size uint64, mode uint32) syscall.Errno {
	if mode&^unix.FALLOC_FL_KEEP_SIZE != 0 {
		return syscall.ENOTSUP
	}
	f := h.pc
	if e := f.lock(); e != 0 {
		return e
	}
	defer f.mu.Unlock()
	held, err := f.fileLocked(h.fd, h.ino)
	if err != nil {
		return errnoOf(err)
	}
	old, e := h.size()
	if e != 0 {
		return e
	}
	if err := unix.Fallocate(h.fd, mode, int64(off), int64(size)); err != nil {
		return errnoOf(err)
	}
	f.addDataLocked(held, dataOp{kind: opAllocate, off: int64(off), length: int64(size), allocMod: mode, oldSize: old})
	return 0
}

// Fsync implements fs.FileFsyncer: the file's held-back operations become durable (the backing
// file itself is not synced: the model, not the backing disk, decides what survives).
func (h *handle) Fsync(ctx context.Context, flags uint32) syscall.Errno {
	if e := h.pc.lock(); e != 0 {
		return e
	}
	defer h.pc.mu.Unlock()
	h.pc.syncFileLocked(h.ino)
	return 0
}

// Read implements fs.FileReader. Reads go on after the freeze (the process sees what it wrote,
// as it would until the power actually fails): a test may then close a store in the process
// that froze the filesystem without its reads failing (bbolt reads through mmap, where a failed
// read is a SIGBUS).
func (h *handle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	n, err := unix.Pread(h.fd, dest, off)
	if err != nil {
		return nil, errnoOf(err)
	}
	return fuse.ReadResultData(dest[:n]), 0
}

func (h *handle) Getattr(ctx context.Context, out *fuse.AttrOut) syscall.Errno {
	return h.lf.Getattr(ctx, out)
}

func (h *handle) Release(ctx context.Context) syscall.Errno {
	if h.lf == nil {
		return 0
	}
	return h.lf.Release(ctx)
}

func (h *handle) Flush(ctx context.Context) syscall.Errno { return 0 }

func (h *handle) Lseek(ctx context.Context, off uint64, whence uint32) (uint64, syscall.Errno) {
	return h.lf.Lseek(ctx, off, whence)
}

func (h *handle) Getlk(ctx context.Context, owner uint64, lk *fuse.FileLock, flags uint32, out *fuse.FileLock) syscall.Errno {
	return h.lf.Getlk(ctx, owner, lk, flags, out)
}

func (h *handle) Setlk(ctx context.Context, owner uint64, lk *fuse.FileLock, flags uint32) syscall.Errno {
	return h.lf.Setlk(ctx, owner, lk, flags)
}

func (h *handle) Setlkw(ctx context.Context, owner uint64, lk *fuse.FileLock, flags uint32) syscall.Errno {
	return h.lf.Setlkw(ctx, owner, lk, flags)
}
