package wasi

import (
	"context"

	"github.com/tetratelabs/wazero/api"
	"github.com/wasmrun/wasmrun/vfs"
)

// dirAt returns the directory entry of fd for a path_* call, which must hold the rights r in
// strict mode (see need). Errors: EBADF, ENOTDIR (fd is open but not a directory), ENOTCAPABLE.
func (p *Process) dirAt(fd uint32, r uint64) (*fdEntry, vfs.Errno) {
	e := p.fds.get(fd)
	if e == nil {
		return nil, vfs.EBADF
	}
	if e.kind != kindDir {
		return nil, vfs.ENOTDIR
	}
	return e, p.need(e, r)
}

// at is the node a path_* call resolves its path from: the directory of e, confined beneath it
// in strict mode (vfs.Node.Beneath: absolute paths, absolute symlink targets and ".." out of it
// are ENOTCAPABLE).
func (p *Process) at(e *fdEntry) vfs.Node {
	if p.strict {
		return e.h.Node.Beneath()
	}
	return e.h.Node
}

// pathAt is the prologue every path_* call shares. It finds the directory fd (with the rights r
// in strict mode), then reports pre
// (the caller's verdict on its other arguments, such as EINVAL for unknown flag bits, computed
// without side effects before the call), then reads the path at (ptr, n) from guest memory:
// the order of doc.go's "Checks come in this order". The namespace resolves the path from the
// directory's node (p.at). Errors: EBADF, ENOTDIR, ENOTCAPABLE, pre, EFAULT, ENAMETOOLONG.
func (p *Process) pathAt(m api.Memory, fd uint32, r uint64, ptr, n uint64, pre vfs.Errno) (*fdEntry, string, vfs.Errno) {
	e, err := p.dirAt(fd, r)
	if err != vfs.ESUCCESS {
		return nil, "", err
	}
	if pre != vfs.ESUCCESS {
		return nil, "", pre
	}
	path, err := pathArg(m, ptr, n)
	if err != vfs.ESUCCESS {
		return nil, "", err
	}
	return e, path, vfs.ESUCCESS
}

// pathArg decodes a (path, path_len) pair. Errors: EFAULT, ENAMETOOLONG.
func pathArg(m api.Memory, ptr, n uint64) (string, vfs.Errno) {
	return readString(m, uint32(ptr), uint32(n))
}

// firstErr returns the first of errs that is not ESUCCESS.
func firstErr(errs ...vfs.Errno) vfs.Errno {
	for _, e := range errs {
		if e != vfs.ESUCCESS {
			return e
		}
	}
	return vfs.ESUCCESS
}

// followFlag decodes lookupflags. Errors: EINVAL (unknown bits).
func followFlag(flags uint32) (bool, vfs.Errno) {
	if flags&^lookupSymlinkFollow != 0 {
		return false, vfs.EINVAL
	}
	return flags&lookupSymlinkFollow != 0, vfs.ESUCCESS
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
// In the default mode no right of fd is required (see doc.go, Rights); in strict mode fd needs
// path_open, plus path_create_file with CREAT and path_filestat_set_size with TRUNC, and the
// path resolves beneath fd. Errors: EBADF, ENOTDIR, ENOTCAPABLE (strict), EINVAL (unknown flag
// bits), EFAULT, EMFILE, and the namespace's: ENOENT, EEXIST, EISDIR, ELOOP (a final symlink
// without SYMLINK_FOLLOW), ENAMETOOLONG, EILSEQ, ENOSPC, EROFS...
func pathOpen(_ context.Context, mod api.Module, p *Process, s []uint64) vfs.Errno {
	_ = s[8]
	follow, err := followFlag(u32(s[1]))
	oflags, fdflags := u32(s[4]), u32(s[7])
	if err == vfs.ESUCCESS && (oflags&^uint32(oflagsAll) != 0 || fdflags&^uint32(fdflagsAll) != 0) {
		err = vfs.EINVAL
	}
	r := rightPathOpen
	if oflags&uint32(oflagCreat) != 0 {
		r |= rightPathCreateFile
	}
	if oflags&uint32(oflagTrunc) != 0 {
		r |= rightPathFilestatSetSize
	}
	m := p.memory(mod)
	e, path, err := p.pathAt(m, u32(s[0]), r, s[2], s[3], err)
	if err != vfs.ESUCCESS {
		return err
	}
	res := u32(s[8])
	if _, ok := view(m, res, 4); !ok {
		return vfs.EFAULT
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
	h, verr := p.ns.Open(p.at(e), path, flags, 0o644)
	if verr != vfs.ESUCCESS {
		return verr
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
	if err != vfs.ESUCCESS {
		h.File.Close()
		return err
	}
	writeU32(m, res, fd)
	return vfs.ESUCCESS
}

// pathCreateDirectory implements path_create_directory(fd, path) as mkdirat. Errors: EBADF,
// ENOTDIR, EFAULT, and the namespace's (EEXIST, ENOENT, ENOSPC, EROFS...).
func pathCreateDirectory(_ context.Context, mod api.Module, p *Process, s []uint64) vfs.Errno {
	_ = s[2]
	e, path, err := p.pathAt(p.memory(mod), u32(s[0]), rightPathCreateDirectory, s[1], s[2], vfs.ESUCCESS)
	if err != vfs.ESUCCESS {
		return err
	}
	return p.ns.Mkdir(p.at(e), path, 0o755)
}

// pathRemoveDirectory implements path_remove_directory(fd, path) as rmdir. Errors: EBADF,
// ENOTDIR, EFAULT, and the namespace's (ENOTEMPTY, EBUSY, EINVAL, ENOENT...).
func pathRemoveDirectory(_ context.Context, mod api.Module, p *Process, s []uint64) vfs.Errno {
	_ = s[2]
	e, path, err := p.pathAt(p.memory(mod), u32(s[0]), rightPathRemoveDirectory, s[1], s[2], vfs.ESUCCESS)
	if err != vfs.ESUCCESS {
		return err
	}
	return p.ns.Remove(p.at(e), path, true)
}

// pathUnlinkFile implements path_unlink_file(fd, path) as unlinkat without AT_REMOVEDIR.
// Errors: EBADF, ENOTDIR, EFAULT, and the namespace's (EISDIR, ENOENT...).
func pathUnlinkFile(_ context.Context, mod api.Module, p *Process, s []uint64) vfs.Errno {
	_ = s[2]
	e, path, err := p.pathAt(p.memory(mod), u32(s[0]), rightPathUnlinkFile, s[1], s[2], vfs.ESUCCESS)
	if err != vfs.ESUCCESS {
		return err
	}
	return p.ns.Remove(p.at(e), path, false)
}

// pathFilestatGet implements path_filestat_get(fd, flags, path) -> filestat as fstatat.
// Errors: EBADF, ENOTDIR, EINVAL (unknown flags), EFAULT, and the namespace's.
func pathFilestatGet(_ context.Context, mod api.Module, p *Process, s []uint64) vfs.Errno {
	_ = s[4]
	follow, err := followFlag(u32(s[1]))
	m := p.memory(mod)
	e, path, err := p.pathAt(m, u32(s[0]), rightPathFilestatGet, s[2], s[3], err)
	if err != vfs.ESUCCESS {
		return err
	}
	b, ok := view(m, u32(s[4]), sizeFilestat)
	if !ok {
		return vfs.EFAULT
	}
	st, verr := p.ns.StatAt(p.at(e), path, follow)
	if verr != vfs.ESUCCESS {
		return verr
	}
	putFilestat(b, &st)
	return vfs.ESUCCESS
}

// pathFilestatSetTimes implements path_filestat_set_times(fd, flags, path, atim, mtim,
// fst_flags) as utimensat. With no time to set, it only checks that path resolves. Errors:
// EBADF, ENOTDIR, EINVAL (unknown flags, ATIM with ATIM_NOW, MTIM with MTIM_NOW),
// EFAULT, and the namespace's.
func pathFilestatSetTimes(_ context.Context, mod api.Module, p *Process, s []uint64) vfs.Errno {
	_ = s[6]
	follow, ferr := followFlag(u32(s[1]))
	var a vfs.Attr
	var aerr vfs.Errno
	if ferr == vfs.ESUCCESS {
		a, aerr = p.timesAttr(s[4], s[5], u32(s[6]))
	}
	e, path, err := p.pathAt(p.memory(mod), u32(s[0]), rightPathFilestatSetTimes, s[2], s[3], firstErr(ferr, aerr))
	if err != vfs.ESUCCESS {
		return err
	}
	if a.Valid == 0 {
		_, verr := p.ns.StatAt(p.at(e), path, follow)
		return verr
	}
	return p.ns.SetAttrAt(p.at(e), path, follow, &a)
}

// pathLink implements path_link(old_fd, old_flags, old_path, new_fd, new_path) as linkat;
// SYMLINK_FOLLOW in old_flags follows a final symlink in old_path. Errors: EBADF, ENOTDIR,
// EINVAL, EFAULT, and the namespace's (EEXIST, EXDEV, EPERM for a directory...).
func pathLink(_ context.Context, mod api.Module, p *Process, s []uint64) vfs.Errno {
	_ = s[6]
	ne, nerr := p.dirAt(u32(s[4]), rightPathLinkTarget)
	follow, ferr := followFlag(u32(s[1]))
	m := p.memory(mod)
	oe, oldPath, err := p.pathAt(m, u32(s[0]), rightPathLinkSource, s[2], s[3], firstErr(nerr, ferr))
	if err != vfs.ESUCCESS {
		return err
	}
	newPath, err := pathArg(m, s[5], s[6])
	if err != vfs.ESUCCESS {
		return err
	}
	return p.ns.Link(p.at(oe), oldPath, follow, p.at(ne), newPath)
}

// pathRename implements path_rename(fd, old_path, new_fd, new_path) as renameat. Errors: EBADF,
// ENOTDIR, EFAULT, and the
// namespace's (EXDEV, EBUSY, ENOTEMPTY, EISDIR, EINVAL...).
func pathRename(_ context.Context, mod api.Module, p *Process, s []uint64) vfs.Errno {
	_ = s[5]
	ne, nerr := p.dirAt(u32(s[3]), rightPathRenameTarget)
	m := p.memory(mod)
	oe, oldPath, err := p.pathAt(m, u32(s[0]), rightPathRenameSource, s[1], s[2], nerr)
	if err != vfs.ESUCCESS {
		return err
	}
	newPath, err := pathArg(m, s[4], s[5])
	if err != vfs.ESUCCESS {
		return err
	}
	return p.ns.Rename(p.at(oe), oldPath, p.at(ne), newPath)
}

// pathSymlink implements path_symlink(old_path, fd, new_path) as symlinkat: new_path becomes a
// symlink whose content is old_path, stored as given. Errors: EBADF, ENOTDIR,
// EFAULT, and the namespace's (EEXIST, ENOENT for an empty target...).
func pathSymlink(_ context.Context, mod api.Module, p *Process, s []uint64) vfs.Errno {
	_ = s[4]
	m := p.memory(mod)
	target, terr := pathArg(m, s[0], s[1]) // the target, read first, is not a path resolved here
	e, path, err := p.pathAt(m, u32(s[2]), rightPathSymlink, s[3], s[4], terr)
	if err != vfs.ESUCCESS {
		return err
	}
	if p.strict && len(target) > 0 && target[0] == '/' {
		return vfs.ENOTCAPABLE // it could never be followed beneath a directory fd
	}
	return p.ns.Symlink(target, p.at(e), path)
}

// pathReadlink implements path_readlink(fd, path, buf, buf_len) -> bufused as readlinkat: the
// target is copied without a NUL and cut at buf_len. Errors: EBADF, ENOTDIR,
// EFAULT, and the namespace's (EINVAL for a non-symlink, ENOENT...).
func pathReadlink(_ context.Context, mod api.Module, p *Process, s []uint64) vfs.Errno {
	_ = s[5]
	m := p.memory(mod)
	e, path, err := p.pathAt(m, u32(s[0]), rightPathReadlink, s[1], s[2], vfs.ESUCCESS)
	if err != vfs.ESUCCESS {
		return err
	}
	b, ok := view(m, u32(s[3]), u32(s[4]))
	if !ok {
		return vfs.EFAULT
	}
	if _, ok := view(m, u32(s[5]), 4); !ok {
		return vfs.EFAULT
	}
	target, verr := p.ns.Readlink(p.at(e), path)
	if verr != vfs.ESUCCESS {
		return verr
	}
	writeU32(m, u32(s[5]), uint32(copy(b, target)))
	return vfs.ESUCCESS
}
