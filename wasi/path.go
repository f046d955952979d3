package wasi

import (
	"context"

	"github.com/tetratelabs/wazero/api"
	"github.com/wasmrun/wasmrun/vfs"
)

// dirAt returns the directory entry of fd for a path_* call. Its rights are not checked (see
// doc.go, Rights). Errors: EBADF, ENOTDIR (fd is open but not a directory).
func (p *Process) dirAt(fd uint32) (*fdEntry, errno) {
	e := p.fds.get(fd)
	if e == nil {
		return nil, errBadf
	}
	if e.kind != kindDir {
		return nil, errNotdir
	}
	return e, errSuccess
}

// pathArg decodes a (path, path_len) pair. Errors: EFAULT, ENAMETOOLONG.
func pathArg(m api.Memory, ptr, n uint64) (string, errno) {
	return readString(m, uint32(ptr), uint32(n))
}

// followFlag decodes lookupflags. Errors: EINVAL (unknown bits).
func followFlag(flags uint32) (bool, errno) {
	if flags&^lookupSymlinkFollow != 0 {
		return false, errInval
	}
	return flags&lookupSymlinkFollow != 0, errSuccess
}

// pathOpen implements path_open(fd, dirflags, path, path_len, oflags, fs_rights_base,
// fs_rights_inheriting, fdflags) -> fd.
//
// The new fd's rights are the requested ones within fd's inheriting rights, then cut to what
// applies to the opened type (a regular file or a directory): asking for more is not an error,
// as wasi-libc asks for every right. The access mode (open(2)'s O_RDONLY, O_WRONLY or O_RDWR,
// the one thing the rights decide) comes from those rights: the file is opened for writing iff
// fd_write is among them, for reading iff fd_read or fd_readdir is, or it is not opened for
// writing (no access right at all is O_RDONLY, whose value is 0). Only fd_write counts as write
// access: Go's wasip1 O_RDONLY asks for fd_filestat_set_size, so counting it would make
// os.Open fail on read-only mounts. A directory opens with or without oflags DIRECTORY, for
// reading; asking to write it is EISDIR, as open(2).
//
// No right of fd is required (see doc.go, Rights). Errors: EBADF, ENOTDIR, EINVAL (unknown flag
// bits), EFAULT, EMFILE, and the namespace's: ENOENT, EEXIST, EISDIR, ELOOP (a final symlink
// without SYMLINK_FOLLOW), ENAMETOOLONG, EILSEQ, ENOSPC, EROFS...
func pathOpen(_ context.Context, mod api.Module, p *Process, s []uint64) errno {
	_ = s[8]
	e, err := p.dirAt(u32(s[0]))
	if err != errSuccess {
		return err
	}
	follow, err := followFlag(u32(s[1]))
	if err != errSuccess {
		return err
	}
	oflags, fdflags := u32(s[4]), u32(s[7])
	if oflags&^uint32(oflagsAll) != 0 || fdflags&^uint32(fdflagsAll) != 0 {
		return errInval
	}
	m := p.memory(mod)
	path, err := pathArg(m, s[2], s[3])
	if err != errSuccess {
		return err
	}
	res := u32(s[8])
	if _, ok := view(m, res, 4); !ok {
		return errFault
	}
	base, inherit := s[5]&e.inherit, s[6]&e.inherit

	var flags vfs.OFlag
	write := base&rightFdWrite != 0
	if write {
		flags |= vfs.OWrite
	}
	if base&(rightFdRead|rightFdReaddir) != 0 || !write {
		flags |= vfs.ORead
	}
	if oflags&uint32(oflagCreat) != 0 {
		flags |= vfs.OCreate
	}
	if oflags&uint32(oflagExcl) != 0 {
		flags |= vfs.OExcl
	}
	if oflags&uint32(oflagTrunc) != 0 {
		flags |= vfs.OTrunc
	}
	if oflags&uint32(oflagDirectory) != 0 {
		flags |= vfs.ODirectory
	}
	if !follow {
		flags |= vfs.ONoFollow
	}
	h, verr := p.ns.Open(e.h.Node, path, flags, 0o644)
	if verr != vfs.ESUCCESS {
		return toErrno(verr)
	}
	ne := &fdEntry{kind: kindFile, filetype: uint8(h.Type), h: h, fdflags: uint16(fdflags), access: accRead}
	if write {
		ne.access = accWrite
		if flags&vfs.ORead != 0 {
			ne.access |= accRead
		}
	}
	if h.Type == vfs.TypeDir {
		ne.kind = kindDir
		ne.base = base & rightsDir
		ne.inherit = inherit & (rightsDir | rightsFile)
	} else {
		ne.base = base & rightsFile
	}
	fd, err := p.fds.insert(ne)
	if err != errSuccess {
		h.File.Close()
		return err
	}
	writeU32(m, res, fd)
	return errSuccess
}

// pathCreateDirectory implements path_create_directory(fd, path) as mkdirat. Errors: EBADF,
// ENOTDIR, EFAULT, and the namespace's (EEXIST, ENOENT, ENOSPC, EROFS...).
func pathCreateDirectory(_ context.Context, mod api.Module, p *Process, s []uint64) errno {
	_ = s[2]
	e, err := p.dirAt(u32(s[0]))
	if err != errSuccess {
		return err
	}
	path, err := pathArg(p.memory(mod), s[1], s[2])
	if err != errSuccess {
		return err
	}
	return toErrno(p.ns.Mkdir(e.h.Node, path, 0o755))
}

// pathRemoveDirectory implements path_remove_directory(fd, path) as rmdir. Errors: EBADF,
// ENOTDIR, EFAULT, and the namespace's (ENOTEMPTY, EBUSY, EINVAL, ENOENT...).
func pathRemoveDirectory(_ context.Context, mod api.Module, p *Process, s []uint64) errno {
	_ = s[2]
	e, err := p.dirAt(u32(s[0]))
	if err != errSuccess {
		return err
	}
	path, err := pathArg(p.memory(mod), s[1], s[2])
	if err != errSuccess {
		return err
	}
	return toErrno(p.ns.Remove(e.h.Node, path, true))
}

// pathUnlinkFile implements path_unlink_file(fd, path) as unlinkat without AT_REMOVEDIR.
// Errors: EBADF, ENOTDIR, EFAULT, and the namespace's (EISDIR, ENOENT...).
func pathUnlinkFile(_ context.Context, mod api.Module, p *Process, s []uint64) errno {
	_ = s[2]
	e, err := p.dirAt(u32(s[0]))
	if err != errSuccess {
		return err
	}
	path, err := pathArg(p.memory(mod), s[1], s[2])
	if err != errSuccess {
		return err
	}
	return toErrno(p.ns.Remove(e.h.Node, path, false))
}

// pathFilestatGet implements path_filestat_get(fd, flags, path) -> filestat as fstatat.
// Errors: EBADF, ENOTDIR, EINVAL (unknown flags), EFAULT, and the namespace's.
func pathFilestatGet(_ context.Context, mod api.Module, p *Process, s []uint64) errno {
	_ = s[4]
	e, err := p.dirAt(u32(s[0]))
	if err != errSuccess {
		return err
	}
	follow, err := followFlag(u32(s[1]))
	if err != errSuccess {
		return err
	}
	m := p.memory(mod)
	path, err := pathArg(m, s[2], s[3])
	if err != errSuccess {
		return err
	}
	b, ok := view(m, u32(s[4]), sizeFilestat)
	if !ok {
		return errFault
	}
	st, verr := p.ns.StatAt(e.h.Node, path, follow)
	if verr != vfs.ESUCCESS {
		return toErrno(verr)
	}
	putFilestat(b, &st)
	return errSuccess
}

// pathFilestatSetTimes implements path_filestat_set_times(fd, flags, path, atim, mtim,
// fst_flags) as utimensat. With no time to set, it only checks that path resolves. Errors:
// EBADF, ENOTDIR, EINVAL (unknown flags, ATIM with ATIM_NOW, MTIM with MTIM_NOW),
// EFAULT, and the namespace's.
func pathFilestatSetTimes(_ context.Context, mod api.Module, p *Process, s []uint64) errno {
	_ = s[6]
	e, err := p.dirAt(u32(s[0]))
	if err != errSuccess {
		return err
	}
	follow, err := followFlag(u32(s[1]))
	if err != errSuccess {
		return err
	}
	a, err := p.timesAttr(s[4], s[5], u32(s[6]))
	if err != errSuccess {
		return err
	}
	path, err := pathArg(p.memory(mod), s[2], s[3])
	if err != errSuccess {
		return err
	}
	if a.Valid == 0 {
		_, verr := p.ns.StatAt(e.h.Node, path, follow)
		return toErrno(verr)
	}
	return toErrno(p.ns.SetAttrAt(e.h.Node, path, follow, &a))
}

// pathLink implements path_link(old_fd, old_flags, old_path, new_fd, new_path) as linkat;
// SYMLINK_FOLLOW in old_flags follows a final symlink in old_path. Errors: EBADF, ENOTDIR,
// EINVAL, EFAULT, and the namespace's (EEXIST, EXDEV, EPERM for a directory...).
func pathLink(_ context.Context, mod api.Module, p *Process, s []uint64) errno {
	_ = s[6]
	oe, err := p.dirAt(u32(s[0]))
	if err != errSuccess {
		return err
	}
	ne, err := p.dirAt(u32(s[4]))
	if err != errSuccess {
		return err
	}
	follow, err := followFlag(u32(s[1]))
	if err != errSuccess {
		return err
	}
	m := p.memory(mod)
	oldPath, err := pathArg(m, s[2], s[3])
	if err != errSuccess {
		return err
	}
	newPath, err := pathArg(m, s[5], s[6])
	if err != errSuccess {
		return err
	}
	return toErrno(p.ns.Link(oe.h.Node, oldPath, follow, ne.h.Node, newPath))
}

// pathRename implements path_rename(fd, old_path, new_fd, new_path) as renameat. Errors: EBADF,
// ENOTDIR, EFAULT, and the
// namespace's (EXDEV, EBUSY, ENOTEMPTY, EISDIR, EINVAL...).
func pathRename(_ context.Context, mod api.Module, p *Process, s []uint64) errno {
	_ = s[5]
	oe, err := p.dirAt(u32(s[0]))
	if err != errSuccess {
		return err
	}
	ne, err := p.dirAt(u32(s[3]))
	if err != errSuccess {
		return err
	}
	m := p.memory(mod)
	oldPath, err := pathArg(m, s[1], s[2])
	if err != errSuccess {
		return err
	}
	newPath, err := pathArg(m, s[4], s[5])
	if err != errSuccess {
		return err
	}
	return toErrno(p.ns.Rename(oe.h.Node, oldPath, ne.h.Node, newPath))
}

// pathSymlink implements path_symlink(old_path, fd, new_path) as symlinkat: new_path becomes a
// symlink whose content is old_path, stored as given. Errors: EBADF, ENOTDIR,
// EFAULT, and the namespace's (EEXIST, ENOENT for an empty target...).
func pathSymlink(_ context.Context, mod api.Module, p *Process, s []uint64) errno {
	_ = s[4]
	e, err := p.dirAt(u32(s[2]))
	if err != errSuccess {
		return err
	}
	m := p.memory(mod)
	target, err := pathArg(m, s[0], s[1])
	if err != errSuccess {
		return err
	}
	path, err := pathArg(m, s[3], s[4])
	if err != errSuccess {
		return err
	}
	return toErrno(p.ns.Symlink(target, e.h.Node, path))
}

// pathReadlink implements path_readlink(fd, path, buf, buf_len) -> bufused as readlinkat: the
// target is copied without a NUL and cut at buf_len. Errors: EBADF, ENOTDIR,
// EFAULT, and the namespace's (EINVAL for a non-symlink, ENOENT...).
func pathReadlink(_ context.Context, mod api.Module, p *Process, s []uint64) errno {
	_ = s[5]
	e, err := p.dirAt(u32(s[0]))
	if err != errSuccess {
		return err
	}
	m := p.memory(mod)
	path, err := pathArg(m, s[1], s[2])
	if err != errSuccess {
		return err
	}
	b, ok := view(m, u32(s[3]), u32(s[4]))
	if !ok {
		return errFault
	}
	if _, ok := view(m, u32(s[5]), 4); !ok {
		return errFault
	}
	target, verr := p.ns.Readlink(e.h.Node, path)
	if verr != vfs.ESUCCESS {
		return toErrno(verr)
	}
	writeU32(m, u32(s[5]), uint32(copy(b, target)))
	return errSuccess
}
