package wasi

import (
	"context"
	"errors"
	"math"

	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"
	"github.com/wasmrun/wasmrun/vfs"
)

// lookup returns the entry of fd, which must hold the rights r in strict mode (see need).
// Errors: EBADF, ENOTCAPABLE.
func (p *Process) lookup(fd uint32, r uint64) (*fdEntry, vfs.Errno) {
	e := p.fds.get(fd)
	if e == nil {
		return nil, vfs.EBADF
	}
	return e, p.need(e, r)
}

// need is the rights check of strict mode: e must hold every right in r, or the call fails with
// ENOTCAPABLE, as in wasmtime's preview1. In the default mode rights are not enforced (see
// doc.go, Rights) and need always succeeds.
func (p *Process) need(e *fdEntry, r uint64) vfs.Errno {
	if p.strict && e.base&r != r {
		return vfs.ENOTCAPABLE
	}
	return vfs.ESUCCESS
}

// lookupAccess returns the entry of fd if it was opened with every access in want, as read(2)
// and write(2) require: EBADF otherwise. With seekable, it is for a call that needs a position
// (pread, pwrite, allocate): a standard stream is ESPIPE, as on a pipe or terminal, before the
// access mode is checked (Linux's order for pread and pwrite). In strict mode, the rights r are
// checked before the access mode. Errors: EBADF, ESPIPE, ENOTCAPABLE.
func (p *Process) lookupAccess(fd uint32, want access, seekable bool, r uint64) (*fdEntry, vfs.Errno) {
	e := p.fds.get(fd)
	if e == nil {
		return nil, vfs.EBADF
	}
	if seekable && e.h == nil {
		return nil, vfs.ESPIPE
	}
	if err := p.need(e, r); err != vfs.ESUCCESS {
		return nil, err
	}
	if e.access&want != want {
		return nil, vfs.EBADF
	}
	return e, vfs.ESUCCESS
}

// lookupPosition returns the entry of fd for fd_seek, fd_tell and fd_advise: a standard stream
// is ESPIPE, and for seek and tell (not advise) a directory is EBADF, as in wasmtime (directories
// have no position in WASI; wasi-testsuite accepts EBADF, EISDIR or ENOTCAPABLE).
// In strict mode the fd must then hold the rights r. Errors: EBADF, ESPIPE, ENOTCAPABLE.
func (p *Process) lookupPosition(fd uint32, dirOK bool, r uint64) (*fdEntry, vfs.Errno) {
	e := p.fds.get(fd)
	if e == nil {
		return nil, vfs.EBADF
	}
	if e.h == nil {
		return nil, vfs.ESPIPE
	}
	if e.kind == kindDir && !dirOK {
		return nil, vfs.EBADF
	}
	return e, p.need(e, r)
}

// exitGuest ends the guest because ctx is done while a host call was waiting, with the exit code
// wazero uses for a done context (sys.ExitCodeDeadlineExceeded or ExitCodeContextCanceled).
func exitGuest(ctx context.Context, mod api.Module) {
	code := sys.ExitCodeContextCanceled
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		code = sys.ExitCodeDeadlineExceeded
	}
	_ = mod.CloseWithExitCode(ctx, code)
	panic(sys.NewExitError(code))
}

// fdRead implements fd_read(fd, iovs, iovs_len) -> nread, reading at and advancing the fd's
// position. Errors: EBADF (not opened for reading: a write-only fd, stdout), EISDIR (a
// directory), EFAULT, EINVAL, EAGAIN (stdin with NONBLOCK and no data), EIO, and the backend's.
func fdRead(ctx context.Context, mod api.Module, p *Process, s []uint64) vfs.Errno {
	_ = s[3]
	return p.read(ctx, mod, u32(s[0]), u32(s[1]), u32(s[2]), -1, u32(s[3]))
}

// fdPread implements fd_pread(fd, iovs, iovs_len, offset) -> nread, leaving the position as it
// is. Errors: as fd_read, plus ESPIPE (a standard stream), EINVAL (offset beyond 2^63-1).
func fdPread(ctx context.Context, mod api.Module, p *Process, s []uint64) vfs.Errno {
	_ = s[4]
	if s[3] > math.MaxInt64 {
		if p.fds.get(u32(s[0])) == nil {
			return vfs.EBADF
		}
		return vfs.EINVAL
	}
	return p.read(ctx, mod, u32(s[0]), u32(s[1]), u32(s[2]), int64(s[3]), u32(s[4]))
}

// read is fd_read (at < 0) and fd_pread (at >= 0).
func (p *Process) read(ctx context.Context, mod api.Module, fd, iovs, count uint32, at int64, res uint32) vfs.Errno {
	r := rightFdRead
	if at >= 0 {
		r |= rightFdSeek
	}
	e, err := p.lookupAccess(fd, accRead, at >= 0, r)
	if err != vfs.ESUCCESS {
		return err
	}
	if e.kind == kindDir {
		return vfs.EISDIR
	}
	m := p.memory(mod)
	if _, ok := view(m, res, 4); !ok {
		return vfs.EFAULT
	}
	views, err := p.iovecs(m, iovs, count)
	if err != vfs.ESUCCESS {
		return err
	}
	var n uint32
	switch e.kind {
	case kindStdin:
		var done bool
		n, err, done = p.stdin.read(ctx, views, e.fdflags&fdflagNonblock != 0)
		if done {
			exitGuest(ctx, mod)
		}
		if err != vfs.ESUCCESS {
			return err
		}
	case kindFile, kindDir:
		pos := at
		if at < 0 {
			pos = e.offset
		}
		for _, v := range views {
			if len(v) == 0 {
				continue
			}
			c, verr := e.h.File.ReadAt(v, pos)
			pos += int64(c)
			n += uint32(c)
			if verr != vfs.ESUCCESS {
				if n == 0 {
					return verr
				}
				break
			}
			if c < len(v) {
				break
			}
		}
		if at < 0 {
			e.offset = pos
		}
	default:
		return vfs.EBADF
	}
	writeU32(m, res, n)
	return vfs.ESUCCESS
}

// fdWrite implements fd_write(fd, iovs, iovs_len) -> nwritten at the fd's position, or at the
// end of the file with the APPEND flag (the position then moves to the new end). With SYNC or
// DSYNC, the file is synced before returning. Errors: EBADF (not opened for writing: a
// read-only fd, a directory, stdin), EFAULT, EINVAL, EIO, and the backend's (ENOSPC, EFBIG,
// EROFS...).
func fdWrite(_ context.Context, mod api.Module, p *Process, s []uint64) vfs.Errno {
	_ = s[3]
	return p.write(mod, u32(s[0]), u32(s[1]), u32(s[2]), -1, u32(s[3]))
}

// fdPwrite implements fd_pwrite(fd, iovs, iovs_len, offset) -> nwritten at offset, leaving the
// position as it is; APPEND does not apply (POSIX pwrite). Errors: as fd_write, plus ESPIPE,
// EINVAL (offset beyond 2^63-1).
func fdPwrite(_ context.Context, mod api.Module, p *Process, s []uint64) vfs.Errno {
	_ = s[4]
	if s[3] > math.MaxInt64 {
		if p.fds.get(u32(s[0])) == nil {
			return vfs.EBADF
		}
		return vfs.EINVAL
	}
	return p.write(mod, u32(s[0]), u32(s[1]), u32(s[2]), int64(s[3]), u32(s[4]))
}

func (p *Process) write(mod api.Module, fd, iovs, count uint32, at int64, res uint32) vfs.Errno {
	r := rightFdWrite
	if at >= 0 {
		r |= rightFdSeek
	}
	e, err := p.lookupAccess(fd, accWrite, at >= 0, r)
	if err != vfs.ESUCCESS {
		return err
	}
	m := p.memory(mod)
	if _, ok := view(m, res, 4); !ok {
		return vfs.EFAULT
	}
	views, err := p.iovecs(m, iovs, count)
	if err != vfs.ESUCCESS {
		return err
	}
	var n uint32
	switch e.kind {
	case kindStdout:
		if n, err = e.out.write(views); err != vfs.ESUCCESS {
			return err
		}
	case kindFile, kindDir:
		f := e.h.File
		appending := at < 0 && e.fdflags&fdflagAppend != 0
		pos := at
		if at < 0 {
			pos = e.offset
		}
		var werr vfs.Errno
		for _, v := range views {
			if len(v) == 0 {
				continue
			}
			var c int
			if appending {
				var size int64
				c, size, werr = f.Append(v)
				if c > 0 || werr == vfs.ESUCCESS {
					pos = size
				}
			} else {
				c, werr = f.WriteAt(v, pos)
				pos += int64(c)
			}
			n += uint32(c)
			if werr != vfs.ESUCCESS || c < len(v) {
				break
			}
		}
		if at < 0 {
			e.offset = pos
		}
		if werr != vfs.ESUCCESS && n == 0 {
			return werr
		}
		if e.fdflags&(fdflagSync|fdflagDsync) != 0 && n > 0 {
			if serr := f.Sync(e.fdflags&fdflagSync == 0); serr != vfs.ESUCCESS {
				return serr
			}
		}
	default:
		return vfs.EBADF
	}
	writeU32(m, res, n)
	return vfs.ESUCCESS
}

// fdSeek implements fd_seek(fd, offset, whence) -> newoffset. Errors: EBADF (also a directory),
// ESPIPE (a standard stream), EINVAL (bad whence, a negative or overflowing result), EFAULT.
func fdSeek(_ context.Context, mod api.Module, p *Process, s []uint64) vfs.Errno {
	_ = s[3]
	fd, off, whence, res := u32(s[0]), int64(s[1]), u32(s[2]), u32(s[3])
	r := rightFdTell | rightFdSeek // as wasmtime: a seek reports the new position
	if off == 0 && whence == whenceCur {
		r = rightFdTell
	}
	e, err := p.lookupPosition(fd, false, r)
	if err != vfs.ESUCCESS {
		return err
	}
	var base int64
	switch whence {
	case whenceSet:
	case whenceCur:
		base = e.offset
	case whenceEnd:
		st, verr := p.ns.Stat(e.h.Node)
		if verr != vfs.ESUCCESS {
			return verr
		}
		base = st.Size
	default:
		return vfs.EINVAL
	}
	if _, ok := view(p.memory(mod), res, 8); !ok {
		return vfs.EFAULT
	}
	pos := base + off
	if (off > 0 && pos < base) || (off < 0 && pos > base) || pos < 0 {
		return vfs.EINVAL
	}
	e.offset = pos
	writeU64(p.memory(mod), res, uint64(pos))
	return vfs.ESUCCESS
}

// fdTell implements fd_tell(fd) -> offset. Errors: EBADF (also a directory), ESPIPE, EFAULT.
func fdTell(_ context.Context, mod api.Module, p *Process, s []uint64) vfs.Errno {
	_ = s[1]
	e, err := p.lookupPosition(u32(s[0]), false, rightFdTell)
	if err != vfs.ESUCCESS {
		return err
	}
	if !writeU64(p.memory(mod), u32(s[1]), uint64(e.offset)) {
		return vfs.EFAULT
	}
	return vfs.ESUCCESS
}

// fdAdvise implements fd_advise(fd, offset, len, advice): the advice is checked and ignored.
// Errors: EBADF, ESPIPE, EINVAL (unknown advice, negative offset or length).
func fdAdvise(_ context.Context, _ api.Module, p *Process, s []uint64) vfs.Errno {
	_ = s[3]
	if _, err := p.lookupPosition(u32(s[0]), true, rightFdAdvise); err != vfs.ESUCCESS {
		return err
	}
	if u32(s[3]) > 5 || int64(s[1]) < 0 || int64(s[2]) < 0 {
		return vfs.EINVAL
	}
	return vfs.ESUCCESS
}

// fdAllocate implements fd_allocate(fd, offset, len) as posix_fallocate: the file grows to
// offset+len if it is shorter (the new bytes read as zeros); it never shrinks. Errors: EBADF
// (not opened for writing, a directory included, as fallocate(2)), ESPIPE, EINVAL (offset < 0
// or len <= 0, as POSIX), EFBIG (offset+len overflows), and the backend's (ENOSPC...).
func fdAllocate(_ context.Context, _ api.Module, p *Process, s []uint64) vfs.Errno {
	_ = s[2]
	e, err := p.lookupAccess(u32(s[0]), accWrite, true, rightFdAllocate)
	if err != vfs.ESUCCESS {
		return err
	}
	off, n := int64(s[1]), int64(s[2])
	if off < 0 || n <= 0 {
		return vfs.EINVAL
	}
	if off > math.MaxInt64-n {
		return vfs.EFBIG
	}
	st, verr := p.ns.Stat(e.h.Node)
	if verr != vfs.ESUCCESS {
		return verr
	}
	if st.Type == vfs.TypeDir {
		return vfs.EISDIR
	}
	if st.Size >= off+n {
		return vfs.ESUCCESS
	}
	return p.ns.SetAttr(e.h.Node, &vfs.Attr{Valid: vfs.AttrSize, Size: off + n})
}

// fdClose implements fd_close(fd). A preopen or a standard stream may be closed too. The fd is
// released even when the backend reports an error on close. Errors: EBADF, and the backend's.
func fdClose(_ context.Context, _ api.Module, p *Process, s []uint64) vfs.Errno {
	_ = s[0]
	e := p.fds.remove(u32(s[0]))
	if e == nil {
		return vfs.EBADF
	}
	return closeEntry(e)
}

// fdSync implements fd_sync(fd): data and metadata durable. Errors: EBADF, EINVAL (a standard
// stream, as fsync(2) on a pipe or terminal), and the backend's (EIO, ENOSPC).
func fdSync(_ context.Context, _ api.Module, p *Process, s []uint64) vfs.Errno {
	_ = s[0]
	return p.sync(u32(s[0]), false, rightFdSync)
}

// fdDatasync implements fd_datasync(fd): data durable. Errors: as fd_sync.
func fdDatasync(_ context.Context, _ api.Module, p *Process, s []uint64) vfs.Errno {
	_ = s[0]
	return p.sync(u32(s[0]), true, rightFdDatasync)
}

func (p *Process) sync(fd uint32, dataOnly bool, r uint64) vfs.Errno {
	e, err := p.lookup(fd, r)
	if err != vfs.ESUCCESS {
		return err
	}
	if e.h == nil {
		return vfs.EINVAL
	}
	return e.h.File.Sync(dataOnly)
}

// fdFdstatGet implements fd_fdstat_get(fd) -> fdstat (24 bytes: filetype u8 at 0, fdflags u16 at
// 2, rights base u64 at 8, inheriting u64 at 16). Errors: EBADF, EFAULT.
func fdFdstatGet(_ context.Context, mod api.Module, p *Process, s []uint64) vfs.Errno {
	_ = s[1]
	e := p.fds.get(u32(s[0]))
	if e == nil {
		return vfs.EBADF
	}
	b, ok := view(p.memory(mod), u32(s[1]), sizeFdstat)
	if !ok {
		return vfs.EFAULT
	}
	clear(b)
	b[0] = e.filetype
	le.PutUint16(b[2:], e.fdflags)
	le.PutUint64(b[8:], e.base)
	le.PutUint64(b[16:], e.inherit)
	return vfs.ESUCCESS
}

// fdFdstatSetFlags implements fd_fdstat_set_flags(fd, flags). Every fdflags bit is supported:
// APPEND moves each write to the end, SYNC and DSYNC sync after each write, NONBLOCK makes a
// read of stdin without data EAGAIN, RSYNC is accepted and has no further effect (reads always
// see every write). Errors: EBADF, EINVAL (unknown bits).
func fdFdstatSetFlags(_ context.Context, _ api.Module, p *Process, s []uint64) vfs.Errno {
	_ = s[1]
	e, err := p.lookup(u32(s[0]), rightFdFdstatSetFlags)
	if err != vfs.ESUCCESS {
		return err
	}
	flags := u32(s[1])
	if flags&^uint32(fdflagsAll) != 0 {
		return vfs.EINVAL
	}
	e.fdflags = uint16(flags)
	return vfs.ESUCCESS
}

// fdFdstatSetRights implements fd_fdstat_set_rights(fd, base, inheriting): rights can only be
// dropped. Dropping fd_read or fd_write takes the access away (later reads or writes are
// EBADF); in the default mode the other rights are only recorded (see doc.go, Rights), in
// strict mode every call checks its own. Errors: EBADF, ENOTCAPABLE (a right the fd does not
// have).
func fdFdstatSetRights(_ context.Context, _ api.Module, p *Process, s []uint64) vfs.Errno {
	_ = s[2]
	e := p.fds.get(u32(s[0]))
	if e == nil {
		return vfs.EBADF
	}
	base, inherit := s[1], s[2]
	if base&^e.base != 0 || inherit&^e.inherit != 0 {
		return vfs.ENOTCAPABLE
	}
	e.base, e.inherit = base, inherit
	if base&rightFdRead == 0 {
		e.access &^= accRead
	}
	if base&rightFdWrite == 0 {
		e.access &^= accWrite
	}
	return vfs.ESUCCESS
}

// putFilestat writes the 64-byte filestat record.
func putFilestat(b []byte, st *vfs.Stat) {
	clear(b[:sizeFilestat])
	le.PutUint64(b[0:], st.Dev)
	le.PutUint64(b[8:], uint64(st.Ino))
	b[16] = byte(st.Type)
	le.PutUint64(b[24:], st.Nlink)
	le.PutUint64(b[32:], uint64(st.Size))
	le.PutUint64(b[40:], uint64(st.Atime))
	le.PutUint64(b[48:], uint64(st.Mtime))
	le.PutUint64(b[56:], uint64(st.Ctime))
}

// fdFilestatGet implements fd_filestat_get(fd) -> filestat. A standard stream reports only its
// filetype. Errors: EBADF, EFAULT, and the backend's.
func fdFilestatGet(_ context.Context, mod api.Module, p *Process, s []uint64) vfs.Errno {
	_ = s[1]
	e, err := p.lookup(u32(s[0]), rightFdFilestatGet)
	if err != vfs.ESUCCESS {
		return err
	}
	b, ok := view(p.memory(mod), u32(s[1]), sizeFilestat)
	if !ok {
		return vfs.EFAULT
	}
	var st vfs.Stat
	if e.h == nil {
		st.Type = vfs.FileType(e.filetype)
	} else {
		var verr vfs.Errno
		if st, verr = p.ns.Stat(e.h.Node); verr != vfs.ESUCCESS {
			return verr
		}
	}
	putFilestat(b, &st)
	return vfs.ESUCCESS
}

// fdFilestatSetSize implements fd_filestat_set_size(fd, size) as ftruncate. Errors: EBADF,
// EINVAL (size beyond 2^63-1; a directory, a standard stream or an fd not opened for writing, as
// ftruncate(2) on Linux), and the backend's (EFBIG, ENOSPC, EROFS).
func fdFilestatSetSize(_ context.Context, _ api.Module, p *Process, s []uint64) vfs.Errno {
	_ = s[1]
	e, err := p.lookup(u32(s[0]), rightFdFilestatSetSize)
	if err != vfs.ESUCCESS {
		return err
	}
	if s[1] > math.MaxInt64 || e.h == nil || e.kind == kindDir || e.access&accWrite == 0 {
		return vfs.EINVAL
	}
	return p.ns.SetAttr(e.h.Node, &vfs.Attr{Valid: vfs.AttrSize, Size: int64(s[1])})
}

// timesAttr turns fst_flags and the two timestamps into an Attr, resolving the *_NOW flags with
// the real-time clock. Errors: EINVAL (unknown bits, ATIM with ATIM_NOW, MTIM with MTIM_NOW, a
// timestamp beyond 2^63-1).
func (p *Process) timesAttr(atim, mtim uint64, fst uint32) (vfs.Attr, vfs.Errno) {
	var a vfs.Attr
	if fst&^uint32(fstAll) != 0 ||
		fst&uint32(fstAtim|fstAtimNow) == uint32(fstAtim|fstAtimNow) ||
		fst&uint32(fstMtim|fstMtimNow) == uint32(fstMtim|fstMtimNow) {
		return a, vfs.EINVAL
	}
	var now int64
	if fst&uint32(fstAtimNow|fstMtimNow) != 0 {
		now = p.wall()
	}
	switch {
	case fst&uint32(fstAtim) != 0:
		if atim > math.MaxInt64 {
			return a, vfs.EINVAL
		}
		a.Valid |= vfs.AttrAtime
		a.Atime = int64(atim)
	case fst&uint32(fstAtimNow) != 0:
		a.Valid |= vfs.AttrAtime
		a.Atime = now
	}
	switch {
	case fst&uint32(fstMtim) != 0:
		if mtim > math.MaxInt64 {
			return a, vfs.EINVAL
		}
		a.Valid |= vfs.AttrMtime
		a.Mtime = int64(mtim)
	case fst&uint32(fstMtimNow) != 0:
		a.Valid |= vfs.AttrMtime
		a.Mtime = now
	}
	return a, vfs.ESUCCESS
}

// fdFilestatSetTimes implements fd_filestat_set_times(fd, atim, mtim, fst_flags) as futimens.
// Errors: EBADF, EINVAL (see fst_flags), and the backend's.
func fdFilestatSetTimes(_ context.Context, _ api.Module, p *Process, s []uint64) vfs.Errno {
	_ = s[3]
	e, err := p.lookup(u32(s[0]), rightFdFilestatSetTimes)
	if err != vfs.ESUCCESS {
		return err
	}
	a, err := p.timesAttr(s[1], s[2], u32(s[3]))
	if err != vfs.ESUCCESS {
		return err
	}
	if e.h == nil {
		return vfs.EINVAL
	}
	if a.Valid == 0 {
		return vfs.ESUCCESS
	}
	return p.ns.SetAttr(e.h.Node, &a)
}

// fdPrestatGet implements fd_prestat_get(fd) -> prestat (8 bytes: tag u8 0 = dir at 0, name
// length u32 at 4). Errors: EBADF (not open, or not a preopen: wasi-libc stops scanning at the
// first EBADF), EFAULT.
func fdPrestatGet(_ context.Context, mod api.Module, p *Process, s []uint64) vfs.Errno {
	_ = s[1]
	e := p.fds.get(u32(s[0]))
	if e == nil || e.preopen == "" {
		return vfs.EBADF
	}
	b, ok := view(p.memory(mod), u32(s[1]), sizePrestat)
	if !ok {
		return vfs.EFAULT
	}
	clear(b)
	le.PutUint32(b[4:], uint32(len(e.preopen)))
	return vfs.ESUCCESS
}

// fdPrestatDirName implements fd_prestat_dir_name(fd, path, path_len): the preopen's name,
// without a NUL. Errors: EBADF, ENAMETOOLONG (path_len shorter than the name), EFAULT.
func fdPrestatDirName(_ context.Context, mod api.Module, p *Process, s []uint64) vfs.Errno {
	_ = s[2]
	e := p.fds.get(u32(s[0]))
	if e == nil || e.preopen == "" {
		return vfs.EBADF
	}
	if u32(s[2]) < uint32(len(e.preopen)) {
		return vfs.ENAMETOOLONG
	}
	b, ok := view(p.memory(mod), u32(s[1]), uint32(len(e.preopen)))
	if !ok {
		return vfs.EFAULT
	}
	copy(b, e.preopen)
	return vfs.ESUCCESS
}

// fdRenumber implements fd_renumber(fd, to): to is closed, then fd moves to it. Both must be
// open (as wasmtime and wazero require); renumbering an fd onto itself does nothing. Errors:
// EBADF, and the backend's error closing the old to.
func fdRenumber(_ context.Context, _ api.Module, p *Process, s []uint64) vfs.Errno {
	_ = s[1]
	from, to := u32(s[0]), u32(s[1])
	if p.fds.get(from) == nil || p.fds.get(to) == nil {
		return vfs.EBADF
	}
	if from == to {
		return vfs.ESUCCESS
	}
	old := p.fds.remove(to)
	p.fds.set(int(to), p.fds.remove(from))
	return closeEntry(old)
}

// fdReaddir implements fd_readdir(fd, buf, buf_len, cookie) -> bufused. Entries, starting after
// cookie ("." and ".." first), are packed as a 24-byte dirent header (d_next u64, d_ino u64,
// d_namlen u32, d_type u8) followed by the name; the last entry is cut at the end of the buffer,
// and bufused == buf_len tells the guest there may be more (it resumes from the d_next of the
// last whole entry). Errors: EBADF, ENOTDIR (not a directory), EFAULT, and the backend's.
func fdReaddir(_ context.Context, mod api.Module, p *Process, s []uint64) vfs.Errno {
	_ = s[4]
	e, err := p.lookup(u32(s[0]), 0)
	if err != vfs.ESUCCESS {
		return err
	}
	if e.kind != kindDir {
		return vfs.ENOTDIR
	}
	if err := p.need(e, rightFdReaddir); err != vfs.ESUCCESS {
		return err
	}
	m := p.memory(mod)
	b, ok := view(m, u32(s[1]), u32(s[2]))
	if !ok {
		return vfs.EFAULT
	}
	if _, ok := view(m, u32(s[4]), 4); !ok {
		return vfs.EFAULT
	}
	p.dirBuf, p.dirPos = b, 0
	verr := vfs.ESUCCESS
	if len(b) > 0 {
		verr = p.ns.ReadDir(e.h, s[3], p.direntFn)
	}
	used := p.dirPos
	p.dirBuf = nil
	if verr != vfs.ESUCCESS {
		return verr
	}
	writeU32(m, u32(s[4]), uint32(used))
	return vfs.ESUCCESS
}

// packDirent appends one dirent to p.dirBuf, cutting it at the end; it returns false when the
// buffer is full.
func (p *Process) packDirent(d *vfs.DirEntry) bool {
	var hdr [sizeDirent]byte
	le.PutUint64(hdr[0:], d.Next)
	le.PutUint64(hdr[8:], uint64(d.Ino))
	le.PutUint32(hdr[16:], uint32(len(d.Name)))
	hdr[20] = byte(d.Type)
	p.dirPos += copy(p.dirBuf[p.dirPos:], hdr[:])
	p.dirPos += copy(p.dirBuf[p.dirPos:], d.Name)
	return p.dirPos < len(p.dirBuf)
}
