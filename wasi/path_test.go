package wasi

import (
	"strings"
	"testing"
)

func TestPathOps(t *testing.T) {
	e := newEnv(t)
	fd := e.open("/f", oflagCreat, 0)
	e.writeString(fd, "data")
	e.log.Reset()
	call2 := func(name string, fd uint64, path string) {
		p, n := e.str(1000, path)
		e.call(name, fd, p, n)
	}
	rename := func(oldPath string, newFd uint64, newPath string) {
		op, on := e.str(1000, oldPath)
		np, nn := e.str(1200, newPath)
		e.call("path_rename", 3, op, on, newFd, np, nn)
	}
	link := func(flags uint32, oldPath, newPath string) {
		op, on := e.str(1000, oldPath)
		np, nn := e.str(1200, newPath)
		e.call("path_link", 3, uint64(flags), op, on, 3, np, nn)
	}
	symlink := func(target, path string) {
		tp, tn := e.str(1200, target)
		p, n := e.str(1000, path)
		e.call("path_symlink", tp, tn, 3, p, n)
	}
	readlink := func(path string, bufLen uint32) {
		p, n := e.str(1000, path)
		e.call("path_readlink", 3, p, n, 2000, uint64(bufLen), 1900)
	}
	call2("path_create_directory", 3, "/d")
	call2("path_create_directory", 3, "/d")
	call2("path_create_directory", 3, "/nope/d")
	call2("path_create_directory", uint64(fd), "x")
	call2("path_create_directory", 99, "x")
	call2("path_unlink_file", 3, "/d")
	call2("path_remove_directory", 3, "/f")
	rename("/f", 3, "/d/g")
	rename("/d/g", 3, "/tmp/g")
	rename("/d", 3, "/d/sub")
	link(0, "/d/g", "/h")
	link(0, "/d", "/dl")
	link(0, "/d/g", "/tmp/h")
	symlink("d/g", "/s")
	symlink("", "/s2")
	readlink("/s", 100)
	readlink("/s", 2)
	readlink("/h", 100)
	link(lookupSymlinkFollow, "/s", "/s-followed")
	link(0, "/s", "/s-hard")
	call2("path_unlink_file", 3, "/h")
	call2("path_remove_directory", 3, "/d")
	call2("path_unlink_file", 3, "/d/g")
	call2("path_remove_directory", 3, "/d")
	call2("path_remove_directory", 3, "/tmp")
	call2("path_unlink_file", 3, "/s")
	e.requireTranscript(`
==> wasi_snapshot_preview1.path_create_directory(fd=3,path=/d)
<== errno=ESUCCESS
==> wasi_snapshot_preview1.path_create_directory(fd=3,path=/d)
<== errno=EEXIST
==> wasi_snapshot_preview1.path_create_directory(fd=3,path=/nope/d)
<== errno=ENOENT
==> wasi_snapshot_preview1.path_create_directory(fd=4,path=x)
<== errno=ENOTDIR
==> wasi_snapshot_preview1.path_create_directory(fd=99,path=x)
<== errno=EBADF
==> wasi_snapshot_preview1.path_unlink_file(fd=3,path=/d)
<== errno=EISDIR
==> wasi_snapshot_preview1.path_remove_directory(fd=3,path=/f)
<== errno=ENOTDIR
==> wasi_snapshot_preview1.path_rename(fd=3,old_path=/f,new_fd=3,new_path=/d/g)
<== errno=ESUCCESS
==> wasi_snapshot_preview1.path_rename(fd=3,old_path=/d/g,new_fd=3,new_path=/tmp/g)
<== errno=EXDEV
==> wasi_snapshot_preview1.path_rename(fd=3,old_path=/d,new_fd=3,new_path=/d/sub)
<== errno=EINVAL
==> wasi_snapshot_preview1.path_link(old_fd=3,old_flags=,old_path=/d/g,new_fd=3,new_path=/h)
<== errno=ESUCCESS
==> wasi_snapshot_preview1.path_link(old_fd=3,old_flags=,old_path=/d,new_fd=3,new_path=/dl)
<== errno=EPERM
==> wasi_snapshot_preview1.path_link(old_fd=3,old_flags=,old_path=/d/g,new_fd=3,new_path=/tmp/h)
<== errno=EXDEV
==> wasi_snapshot_preview1.path_symlink(old_path=d/g,fd=3,new_path=/s)
<== errno=ESUCCESS
==> wasi_snapshot_preview1.path_symlink(old_path=,fd=3,new_path=/s2)
<== errno=ENOENT
==> wasi_snapshot_preview1.path_readlink(fd=3,path=/s,buf=2000,buf_len=100)
<== (bufused=3,errno=ESUCCESS)
==> wasi_snapshot_preview1.path_readlink(fd=3,path=/s,buf=2000,buf_len=2)
<== (bufused=2,errno=ESUCCESS)
==> wasi_snapshot_preview1.path_readlink(fd=3,path=/h,buf=2000,buf_len=100)
<== (bufused=,errno=EINVAL)
==> wasi_snapshot_preview1.path_link(old_fd=3,old_flags=SYMLINK_FOLLOW,old_path=/s,new_fd=3,new_path=/s-followed)
<== errno=ESUCCESS
==> wasi_snapshot_preview1.path_link(old_fd=3,old_flags=,old_path=/s,new_fd=3,new_path=/s-hard)
<== errno=ESUCCESS
==> wasi_snapshot_preview1.path_unlink_file(fd=3,path=/h)
<== errno=ESUCCESS
==> wasi_snapshot_preview1.path_remove_directory(fd=3,path=/d)
<== errno=ENOTEMPTY
==> wasi_snapshot_preview1.path_unlink_file(fd=3,path=/d/g)
<== errno=ESUCCESS
==> wasi_snapshot_preview1.path_remove_directory(fd=3,path=/d)
<== errno=ESUCCESS
==> wasi_snapshot_preview1.path_remove_directory(fd=3,path=/tmp)
<== errno=EBUSY
==> wasi_snapshot_preview1.path_unlink_file(fd=3,path=/s)
<== errno=ESUCCESS
`)
	// The file lives on through its open fd and its other link (/s-followed, made through
	// the symlink while /d/g existed; /d/g and /h are gone, so nlink is 1).
	if got := e.readStringAt(fd, 0); got != "data" {
		t.Fatalf("content through the open fd: %q", got)
	}
	p, n := e.str(1000, "/s-followed")
	e.want(errSuccess, "path_filestat_get", 3, 0, p, n, 100)
	if typ, nlink := e.bytes(116, 1)[0], e.u64(124); typ != filetypeRegular || nlink != 1 {
		t.Fatalf("s-followed: type %d nlink %d", typ, nlink)
	}
	p, n = e.str(1000, "/s-hard")
	e.want(errSuccess, "path_filestat_get", 3, 0, p, n, 100)
	if typ := e.bytes(116, 1)[0]; typ != 7 {
		t.Fatalf("s-hard: type %d, want a symlink", typ)
	}
	// Relative paths resolve from the directory fd, absolute ones from the root.
	e.mkdir("/a")
	e.mkdir("/a/b")
	dfd := e.open("/a", oflagDirectory, 0)
	p, n = e.str(1000, "b")
	e.want(errSuccess, "path_filestat_get", uint64(dfd), 0, p, n, 100)
	p, n = e.str(1000, "/a")
	e.want(errSuccess, "path_filestat_get", uint64(dfd), 0, p, n, 100)
	p, n = e.str(1000, "../../../a/b")
	e.want(errSuccess, "path_filestat_get", uint64(dfd), 0, p, n, 100)
	p, n = e.str(1000, "b")
	e.want(errNoent, "path_filestat_get", 3, 0, p, n, 100)
	// Path length limits.
	p, n = e.str(1000, "/"+strings.Repeat("x/", 3000))
	e.want(errNametoolong, "path_filestat_get", 3, 0, p, n, 100)
	p, n = e.str(1000, "/a\x00b")
	e.want(errIlseq, "path_filestat_get", 3, 0, p, n, 100)
}

// readStringAt reads up to 100 bytes at off with fd_pread.
func (e *env) readStringAt(fd uint32, off uint64) string {
	e.t.Helper()
	e.iov(4000, 5000, 100)
	e.want(errSuccess, "fd_pread", uint64(fd), 4000, 1, off, 4008)
	return string(e.bytes(5000, e.u32(4008)))
}

func TestRightsAndFds(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxFDs = 8 })
	ro := e.openRights("/f", oflagCreat, rightFdRead|rightFdSeek|rightFdTell|rightFdFdstatSetFlags)
	e.log.Reset()
	// The access mode is enforced as on Linux: a read-only fd refuses writes, even empty ones.
	e.call("fd_write", uint64(ro), 4000, 0, 4008)
	e.call("fd_pwrite", uint64(ro), 4000, 0, 0, 4008)
	e.call("fd_allocate", uint64(ro), 0, 10)
	e.call("fd_filestat_set_size", uint64(ro), 0)
	// Other rights are recorded, reported and can only be dropped, but restrict nothing.
	e.call("fd_fdstat_set_rights", uint64(ro), rightFdRead|rightFdSeek, 0)
	e.call("fd_tell", uint64(ro), 100)
	e.call("fd_fdstat_set_rights", uint64(ro), rightFdRead|rightFdWrite, 0)
	e.call("fd_fdstat_set_rights", uint64(ro), rightFdRead, 0)
	e.call("fd_seek", uint64(ro), 0, whenceCur, 100)
	e.call("fd_fdstat_set_flags", uint64(ro), 0)
	e.call("fd_read", uint64(ro), 4000, 0, 4008)
	// Dropping fd_read takes the read access away.
	e.call("fd_fdstat_set_rights", uint64(ro), 0, 0)
	e.call("fd_read", uint64(ro), 4000, 0, 4008)
	e.call("fd_fdstat_get", uint64(ro), 100)
	e.requireTranscript(`
==> wasi_snapshot_preview1.fd_write(fd=4,iovs=4000,iovs_len=0)
<== (nwritten=,errno=EBADF)
==> wasi_snapshot_preview1.fd_pwrite(fd=4,iovs=4000,iovs_len=0,offset=0)
<== (nwritten=,errno=EBADF)
==> wasi_snapshot_preview1.fd_allocate(fd=4,offset=0,len=10)
<== errno=EBADF
==> wasi_snapshot_preview1.fd_filestat_set_size(fd=4,size=0)
<== errno=EINVAL
==> wasi_snapshot_preview1.fd_fdstat_set_rights(fd=4,fs_rights_base=FD_READ|FD_SEEK,fs_rights_inheriting=)
<== errno=ESUCCESS
==> wasi_snapshot_preview1.fd_tell(fd=4,result.offset=100)
<== errno=ESUCCESS
==> wasi_snapshot_preview1.fd_fdstat_set_rights(fd=4,fs_rights_base=FD_READ|FD_WRITE,fs_rights_inheriting=)
<== errno=ENOTCAPABLE
==> wasi_snapshot_preview1.fd_fdstat_set_rights(fd=4,fs_rights_base=FD_READ,fs_rights_inheriting=)
<== errno=ESUCCESS
==> wasi_snapshot_preview1.fd_seek(fd=4,offset=0,whence=1)
<== (newoffset=0,errno=ESUCCESS)
==> wasi_snapshot_preview1.fd_fdstat_set_flags(fd=4,flags=)
<== errno=ESUCCESS
==> wasi_snapshot_preview1.fd_read(fd=4,iovs=4000,iovs_len=0)
<== (nread=0,errno=ESUCCESS)
==> wasi_snapshot_preview1.fd_fdstat_set_rights(fd=4,fs_rights_base=,fs_rights_inheriting=)
<== errno=ESUCCESS
==> wasi_snapshot_preview1.fd_read(fd=4,iovs=4000,iovs_len=0)
<== (nread=,errno=EBADF)
==> wasi_snapshot_preview1.fd_fdstat_get(fd=4)
<== (stat={filetype=REGULAR_FILE,fdflags=,fs_rights_base=,fs_rights_inheriting=},errno=ESUCCESS)
`)
	// A write-only fd refuses reads.
	wo := e.openRights("/f", 0, rightFdWrite)
	e.want(errBadf, "fd_read", uint64(wo), 4000, 0, 4008)
	e.want(errBadf, "fd_pread", uint64(wo), 4000, 0, 0, 4008)
	e.writeString(wo, "w")
	e.want(errSuccess, "fd_close", uint64(wo))

	// A directory fd whose inheriting rights lost fd_write hands out read-only files. Without
	// path_create_file nor path_filestat_set_size in its base rights it still creates and
	// truncates: Go's wasip1 opens directories without them, and its os.Root relies on this.
	d := e.openRights("/", oflagDirectory, rightsDir)
	e.want(errSuccess, "fd_fdstat_set_rights", uint64(d), rightsDir&^(rightPathCreateFile|rightPathFilestatSetSize), (rightsDir|rightsFile)&^rightFdWrite)
	p, n := e.str(1000, "f")
	e.want(errSuccess, "path_open", uint64(d), 0, p, n, 0, rightsAll, rightsAll, 0, 900)
	nfd := e.u32(900)
	e.want(errSuccess, "fd_fdstat_get", uint64(nfd), 100)
	if base := e.u64(108); base&rightFdWrite != 0 || base&rightFdRead == 0 {
		t.Fatalf("rights %x", base)
	}
	e.want(errBadf, "fd_write", uint64(nfd), 4000, 0, 4008)
	p, n = e.str(1000, "new")
	e.want(errSuccess, "path_open", uint64(d), 0, p, n, uint64(oflagCreat), rightsAll, rightsAll, 0, 900)
	e.want(errSuccess, "fd_close", uint64(e.u32(900)))
	e.want(errSuccess, "path_open", uint64(d), 0, p, n, uint64(oflagTrunc), rightsAll, rightsAll, 0, 900)
	e.want(errSuccess, "fd_close", uint64(e.u32(900)))
	e.want(errSuccess, "path_unlink_file", uint64(d), p, n)

	// fds 0-3 stdio and preopen, 4 ro, 5 d, 6 nfd, 7 one more: the table is full.
	if got := e.openRights("/f", 0, rightFdRead); got != 7 {
		t.Fatalf("opened %d, want 7", got)
	}
	p, n = e.str(1000, "/f")
	e.want(errMfile, "path_open", 3, 0, p, n, 0, rightFdRead, 0, 0, 900)
	// Close frees the lowest fd, which the next open takes.
	e.want(errSuccess, "fd_close", 4)
	e.want(errBadf, "fd_close", 4)
	got := e.openRights("/f", 0, rightFdRead)
	if got != 4 {
		t.Fatalf("reopened as %d, want 4", got)
	}
	// Renumber moves 7 onto 4 (closing it); 7 is then free.
	e.want(errSuccess, "fd_renumber", 7, 4)
	e.want(errBadf, "fd_fdstat_get", 7, 100)
	e.want(errBadf, "fd_renumber", 7, 4)
	e.want(errBadf, "fd_renumber", 4, 7)
	e.want(errSuccess, "fd_renumber", 4, 4)
	// The preopen can be closed and renumbered too.
	e.want(errSuccess, "fd_prestat_get", 3, 100)
	if tag, l := e.bytes(100, 1)[0], e.u32(104); tag != 0 || l != 1 {
		t.Fatalf("prestat tag %d len %d", tag, l)
	}
	e.want(errNametoolong, "fd_prestat_dir_name", 3, 200, 0)
	e.want(errSuccess, "fd_prestat_dir_name", 3, 200, 10)
	if name := string(e.bytes(200, 1)); name != "/" {
		t.Fatalf("name %q", name)
	}
	e.want(errBadf, "fd_prestat_get", 4, 100)
	e.want(errBadf, "fd_prestat_get", 1, 100)
	e.want(errBadf, "fd_prestat_dir_name", 4, 200, 10)
	e.want(errSuccess, "fd_renumber", 3, 6)
	e.want(errSuccess, "fd_prestat_get", 6, 100)
	e.want(errBadf, "fd_prestat_get", 3, 100)
	e.want(errSuccess, "fd_close", 6)
	e.want(errSuccess, "fd_close", 0)
	e.want(errSuccess, "fd_close", 1)
	if got := e.openRightsAt(4, "f2", oflagCreat, rightFdRead); got != 0 {
		t.Fatalf("open from a file fd gave %d", got)
	}
	// The freed fds 0 and 1 are reused first.
	if got := e.openRightsAt(5, "f", 0, rightFdRead); got != 0 {
		t.Fatalf("reuse gave %d, want 0", got)
	}
}

// openRights opens path from the preopen with the given rights and returns the fd.
func (e *env) openRights(path string, oflags uint16, base uint64) uint32 {
	e.t.Helper()
	p, n := e.str(1000, path)
	e.want(errSuccess, "path_open", 3, uint64(lookupSymlinkFollow), p, n, uint64(oflags), base, rightsAll, 0, 900)
	return e.u32(900)
}

// openRightsAt is openRights from dir, returning 0 if the open failed with ENOTDIR.
func (e *env) openRightsAt(dir uint32, path string, oflags uint16, base uint64) uint32 {
	e.t.Helper()
	p, n := e.str(1000, path)
	if got := e.call("path_open", uint64(dir), 0, p, n, uint64(oflags), base, rightsAll, 0, 900); got != errSuccess {
		if got != errNotdir {
			e.t.Fatalf("path_open from %d: %v", dir, got)
		}
		return 0
	}
	return e.u32(900)
}
