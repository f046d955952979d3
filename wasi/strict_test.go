package wasi

import (
	"strings"
	"testing"

	"github.com/wasmrun/wasmrun/heap"
	"github.com/wasmrun/wasmrun/vfs"
)

// strictEnv is newEnv in strict mode with a heap mounted at /data holding /data/f ("data"),
// /data/sub/ and a symlink /data/up -> ../tmp; the preopens are preopens, in order.
func strictEnv(t *testing.T, preopens ...string) *env {
	t.Helper()
	return newEnv(t, func(c *Config) {
		c.Strict = true
		c.Preopens = preopens
		if err := c.NS.Mount("/data", heap.New(heap.Options{})); err != nil {
			t.Fatal(err)
		}
		root := c.NS.Root()
		h, e := c.NS.Open(root, "/data/f", vfs.OWrite|vfs.OCreate, 0o644)
		if e != 0 {
			t.Fatal(e)
		}
		h.File.WriteAt([]byte("data"), 0)
		h.File.Close()
		for _, err := range []vfs.Errno{
			c.NS.Mkdir(root, "/data/sub", 0o755),
			c.NS.Symlink("../tmp", root, "/data/up"),
			c.NS.Mkdir(root, "/tmp/t", 0o755),
		} {
			if err != 0 {
				t.Fatal(err)
			}
		}
	})
}

// TestStrictPreopens: in strict mode the preopens are exactly Config.Preopens, from fd 3 in
// order, each named by its guest path; with none, fd 3 is EBADF.
func TestStrictPreopens(t *testing.T) {
	e := strictEnv(t, "/data", "/tmp")
	e.log.Reset()
	e.call("fd_prestat_get", 3, 100)
	e.call("fd_prestat_dir_name", 3, 200, 5)
	e.call("fd_prestat_get", 4, 100)
	e.call("fd_prestat_dir_name", 4, 200, 4)
	e.call("fd_prestat_get", 5, 100)
	p, n := e.str(1000, "f")
	e.call("path_filestat_get", 4, 0, p, n, 400) // f is in /data (fd 3), not in /tmp (fd 4)
	if name := string(e.bytes(200, 4)); name != "/tmp" {
		t.Errorf("fd 4 is named %q, want /tmp", name)
	}
	e.requireTranscript(`
==> wasi_snapshot_preview1.fd_prestat_get(fd=3)
<== (prestat={pr_name_len=5},errno=ESUCCESS)
==> wasi_snapshot_preview1.fd_prestat_dir_name(fd=3)
<== (path=/data,errno=ESUCCESS)
==> wasi_snapshot_preview1.fd_prestat_get(fd=4)
<== (prestat={pr_name_len=4},errno=ESUCCESS)
==> wasi_snapshot_preview1.fd_prestat_dir_name(fd=4)
<== (path=/tmp,errno=ESUCCESS)
==> wasi_snapshot_preview1.fd_prestat_get(fd=5)
<== (prestat=,errno=EBADF)
==> wasi_snapshot_preview1.path_filestat_get(fd=4,flags=,path=f)
<== (filestat=,errno=ENOENT)
`)
	e.want(errSuccess, "path_filestat_get", 3, 0, p, n, 400)

	none := strictEnv(t)
	none.log.Reset()
	none.call("fd_prestat_get", 3, 100)
	p, n = none.str(1000, "data/f")
	none.call("path_open", 3, 0, p, n, 0, uint64(rightFdRead), 0, 0, 900)
	none.requireTranscript(`
==> wasi_snapshot_preview1.fd_prestat_get(fd=3)
<== (prestat=,errno=EBADF)
==> wasi_snapshot_preview1.path_open(fd=3,dirflags=,path=data/f,oflags=,fs_rights_base=FD_READ,fs_rights_inheriting=,fdflags=)
<== (opened_fd=,errno=EBADF)
`)

	if _, err := NewProcess(Config{NS: e.ns, Strict: true, Preopens: []string{"/data/f"}}); err == nil || !strings.Contains(err.Error(), `"/data/f"`) {
		t.Errorf("preopen of a file: %v, want an error naming it", err)
	}
	if _, err := NewProcess(Config{NS: e.ns, Strict: true, Preopens: []string{"data"}}); err == nil || !strings.Contains(err.Error(), `"data"`) {
		t.Errorf("relative preopen: %v, want an error naming it", err)
	}
	if _, err := NewProcess(Config{NS: e.ns, Strict: true, Preopens: []string{"/data", "/tmp"}, MaxFDs: 4}); err == nil {
		t.Error("MaxFDs 4 with two preopens: no error")
	}
}

// TestStrictBeneath: every path_* call resolves beneath its directory fd; an absolute path, a
// ".." out of it (even into another preopen, even one that comes back), or a symlink leading
// out is ENOTCAPABLE, and so is creating a symlink with an absolute target.
func TestStrictBeneath(t *testing.T) {
	e := strictEnv(t, "/data", "/tmp")
	e.log.Reset()
	path1 := func(name string, fd uint64, path string) {
		p, n := e.str(1000, path)
		e.call(name, fd, p, n)
	}
	open := func(fd uint64, follow uint32, path string, oflags uint16) {
		p, n := e.str(1000, path)
		e.call("path_open", fd, uint64(follow), p, n, uint64(oflags), uint64(rightFdRead|rightFdWrite), 0, 0, 900)
	}
	stat := func(fd uint64, path string) {
		p, n := e.str(1000, path)
		e.call("path_filestat_get", fd, uint64(lookupSymlinkFollow), p, n, 400)
	}
	two := func(name string, oldPath, newPath string) {
		op, on := e.str(1000, oldPath)
		np, nn := e.str(1200, newPath)
		if name == "path_link" {
			e.call(name, 3, 0, op, on, 3, np, nn)
		} else {
			e.call(name, 3, op, on, 3, np, nn)
		}
	}
	symlink := func(target, path string) {
		tp, tn := e.str(1200, target)
		p, n := e.str(1000, path)
		e.call("path_symlink", tp, tn, 3, p, n)
	}
	open(3, lookupSymlinkFollow, "/data/f", 0)
	open(3, lookupSymlinkFollow, "../data/f", 0)
	open(3, lookupSymlinkFollow, "sub/../../data/f", 0)
	open(3, lookupSymlinkFollow, "../tmp/x", oflagCreat)
	open(4, lookupSymlinkFollow, "../data/f", 0)
	stat(3, "/")
	stat(3, "..")
	stat(3, "up")
	stat(3, "up/t")
	path1("path_create_directory", 3, "../d")
	path1("path_create_directory", 3, "/data/d")
	path1("path_create_directory", 3, "up/d")
	path1("path_remove_directory", 4, "../tmp/t")
	path1("path_unlink_file", 3, "../data/f")
	two("path_rename", "f", "../g")
	two("path_rename", "/data/f", "g")
	two("path_link", "f", "sub/../../g")
	symlink("/data/f", "abs")
	symlink("../etc/passwd", "rel-out")
	open(3, 0, "rel-out", 0)
	open(3, lookupSymlinkFollow, "rel-out", 0)
	p, n := e.str(1000, "up/t")
	e.call("path_readlink", 3, p, n, 2000, 100, 1900)
	p, n = e.str(1000, "../data/f")
	e.call("path_filestat_set_times", 3, 0, p, n, 0, 0, uint64(fstMtimNow))
	e.requireTranscript(`
==> wasi_snapshot_preview1.path_open(fd=3,dirflags=SYMLINK_FOLLOW,path=/data/f,oflags=,fs_rights_base=FD_READ|FD_WRITE,fs_rights_inheriting=,fdflags=)
<== (opened_fd=,errno=ENOTCAPABLE)
==> wasi_snapshot_preview1.path_open(fd=3,dirflags=SYMLINK_FOLLOW,path=../data/f,oflags=,fs_rights_base=FD_READ|FD_WRITE,fs_rights_inheriting=,fdflags=)
<== (opened_fd=,errno=ENOTCAPABLE)
==> wasi_snapshot_preview1.path_open(fd=3,dirflags=SYMLINK_FOLLOW,path=sub/../../data/f,oflags=,fs_rights_base=FD_READ|FD_WRITE,fs_rights_inheriting=,fdflags=)
<== (opened_fd=,errno=ENOTCAPABLE)
==> wasi_snapshot_preview1.path_open(fd=3,dirflags=SYMLINK_FOLLOW,path=../tmp/x,oflags=CREAT,fs_rights_base=FD_READ|FD_WRITE,fs_rights_inheriting=,fdflags=)
<== (opened_fd=,errno=ENOTCAPABLE)
==> wasi_snapshot_preview1.path_open(fd=4,dirflags=SYMLINK_FOLLOW,path=../data/f,oflags=,fs_rights_base=FD_READ|FD_WRITE,fs_rights_inheriting=,fdflags=)
<== (opened_fd=,errno=ENOTCAPABLE)
==> wasi_snapshot_preview1.path_filestat_get(fd=3,flags=SYMLINK_FOLLOW,path=/)
<== (filestat=,errno=ENOTCAPABLE)
==> wasi_snapshot_preview1.path_filestat_get(fd=3,flags=SYMLINK_FOLLOW,path=..)
<== (filestat=,errno=ENOTCAPABLE)
==> wasi_snapshot_preview1.path_filestat_get(fd=3,flags=SYMLINK_FOLLOW,path=up)
<== (filestat=,errno=ENOTCAPABLE)
==> wasi_snapshot_preview1.path_filestat_get(fd=3,flags=SYMLINK_FOLLOW,path=up/t)
<== (filestat=,errno=ENOTCAPABLE)
==> wasi_snapshot_preview1.path_create_directory(fd=3,path=../d)
<== errno=ENOTCAPABLE
==> wasi_snapshot_preview1.path_create_directory(fd=3,path=/data/d)
<== errno=ENOTCAPABLE
==> wasi_snapshot_preview1.path_create_directory(fd=3,path=up/d)
<== errno=ENOTCAPABLE
==> wasi_snapshot_preview1.path_remove_directory(fd=4,path=../tmp/t)
<== errno=ENOTCAPABLE
==> wasi_snapshot_preview1.path_unlink_file(fd=3,path=../data/f)
<== errno=ENOTCAPABLE
==> wasi_snapshot_preview1.path_rename(fd=3,old_path=f,new_fd=3,new_path=../g)
<== errno=ENOTCAPABLE
==> wasi_snapshot_preview1.path_rename(fd=3,old_path=/data/f,new_fd=3,new_path=g)
<== errno=ENOTCAPABLE
==> wasi_snapshot_preview1.path_link(old_fd=3,old_flags=,old_path=f,new_fd=3,new_path=sub/../../g)
<== errno=ENOTCAPABLE
==> wasi_snapshot_preview1.path_symlink(old_path=/data/f,fd=3,new_path=abs)
<== errno=ENOTCAPABLE
==> wasi_snapshot_preview1.path_symlink(old_path=../etc/passwd,fd=3,new_path=rel-out)
<== errno=ESUCCESS
==> wasi_snapshot_preview1.path_open(fd=3,dirflags=,path=rel-out,oflags=,fs_rights_base=FD_READ|FD_WRITE,fs_rights_inheriting=,fdflags=)
<== (opened_fd=,errno=ELOOP)
==> wasi_snapshot_preview1.path_open(fd=3,dirflags=SYMLINK_FOLLOW,path=rel-out,oflags=,fs_rights_base=FD_READ|FD_WRITE,fs_rights_inheriting=,fdflags=)
<== (opened_fd=,errno=ENOTCAPABLE)
==> wasi_snapshot_preview1.path_readlink(fd=3,path=up/t,buf=2000,buf_len=100)
<== (bufused=,errno=ENOTCAPABLE)
==> wasi_snapshot_preview1.path_filestat_set_times(fd=3,flags=,path=../data/f,atim=0,mtim=0,fst_flags=MTIM_NOW)
<== errno=ENOTCAPABLE
`)
	// What stays beneath works.
	p, n = e.str(1000, "sub/../f")
	e.want(errSuccess, "path_filestat_get", 3, 0, p, n, 400)
	if size := e.u64(400 + 32); size != 4 {
		t.Errorf("sub/../f has size %d, want 4", size)
	}
	p, n = e.str(1000, "rel-out")
	e.want(errSuccess, "path_readlink", 3, p, n, 2000, 100, 1900)
	p, n = e.str(1000, "t")
	e.want(errSuccess, "path_remove_directory", 4, p, n)
}

// TestStrictRights: in strict mode every call needs its right (ENOTCAPABLE without it), as in
// wasmtime's preview1: fd_fdstat_set_rights only drops, path_open gives the new fd what it asked
// for within the directory's inheriting rights and needs PATH_OPEN, PATH_CREATE_FILE for CREAT
// and PATH_FILESTAT_SET_SIZE for TRUNC.
func TestStrictRights(t *testing.T) {
	e := strictEnv(t, "/data")
	openAt := func(dir uint64, path string, oflags uint16, base uint64) {
		p, n := e.str(1000, path)
		e.call("path_open", dir, 0, p, n, uint64(oflags), base, 0, 0, 900)
	}
	e.iov(500, 600, 4)
	e.log.Reset()
	openAt(3, "f", 0, rightFdRead) // fd 4
	e.call("fd_read", 4, 500, 1, 510)
	e.call("fd_write", 4, 500, 1, 510)
	e.call("fd_pread", 4, 500, 1, 0, 510)
	e.call("fd_seek", 4, 0, whenceSet, 520)
	e.call("fd_tell", 4, 520)
	e.call("fd_filestat_get", 4, 530)
	e.call("fd_filestat_set_size", 4, 0)
	e.call("fd_advise", 4, 0, 0, 0)
	e.call("fd_sync", 4)
	e.call("fd_fdstat_set_rights", 4, uint64(rightFdRead|rightFdWrite), 0)
	e.call("fd_fdstat_set_rights", 4, 0, 0)
	e.call("fd_read", 4, 500, 1, 510)
	e.call("fd_sync", 1)
	e.call("fd_fdstat_set_rights", 3, uint64(rightsDir&^(rightPathFilestatSetSize|rightPathCreateDirectory|rightPathCreateFile)), uint64((rightsDir|rightsFile)&^rightFdWrite))
	openAt(3, "f", oflagTrunc, rightFdRead|rightFdWrite)
	openAt(3, "new", oflagCreat, rightFdRead|rightFdWrite)
	p, n := e.str(1000, "d")
	e.call("path_create_directory", 3, p, n)
	openAt(3, "f", 0, rightFdRead|rightFdWrite|rightFdSeek) // fd 5, without FD_WRITE
	e.call("fd_fdstat_get", 5, 540)
	e.call("fd_write", 5, 500, 1, 510)
	e.call("fd_seek", 5, 0, whenceEnd, 520)
	openAt(3, "sub", oflagDirectory, rightPathOpen) // fd 6
	e.call("fd_readdir", 6, 2000, 100, 0, 510)
	e.call("fd_filestat_get", 6, 530)
	openAt(6, "x", oflagCreat, rightFdRead)
	e.requireTranscript(`
==> wasi_snapshot_preview1.path_open(fd=3,dirflags=,path=f,oflags=,fs_rights_base=FD_READ,fs_rights_inheriting=,fdflags=)
<== (opened_fd=4,errno=ESUCCESS)
==> wasi_snapshot_preview1.fd_read(fd=4,iovs=500,iovs_len=1)
<== (nread=4,errno=ESUCCESS)
==> wasi_snapshot_preview1.fd_write(fd=4,iovs=500,iovs_len=1)
<== (nwritten=,errno=ENOTCAPABLE)
==> wasi_snapshot_preview1.fd_pread(fd=4,iovs=500,iovs_len=1,offset=0)
<== (nread=,errno=ENOTCAPABLE)
==> wasi_snapshot_preview1.fd_seek(fd=4,offset=0,whence=0)
<== (newoffset=,errno=ENOTCAPABLE)
==> wasi_snapshot_preview1.fd_tell(fd=4,result.offset=520)
<== errno=ENOTCAPABLE
==> wasi_snapshot_preview1.fd_filestat_get(fd=4)
<== (filestat=,errno=ENOTCAPABLE)
==> wasi_snapshot_preview1.fd_filestat_set_size(fd=4,size=0)
<== errno=ENOTCAPABLE
==> wasi_snapshot_preview1.fd_advise(fd=4,offset=0,len=0,advice=0)
<== errno=ENOTCAPABLE
==> wasi_snapshot_preview1.fd_sync(fd=4)
<== errno=ENOTCAPABLE
==> wasi_snapshot_preview1.fd_fdstat_set_rights(fd=4,fs_rights_base=FD_READ|FD_WRITE,fs_rights_inheriting=)
<== errno=ENOTCAPABLE
==> wasi_snapshot_preview1.fd_fdstat_set_rights(fd=4,fs_rights_base=,fs_rights_inheriting=)
<== errno=ESUCCESS
==> wasi_snapshot_preview1.fd_read(fd=4,iovs=500,iovs_len=1)
<== (nread=,errno=ENOTCAPABLE)
==> wasi_snapshot_preview1.fd_sync(fd=1)
<== errno=ENOTCAPABLE
==> wasi_snapshot_preview1.fd_fdstat_set_rights(fd=3,fs_rights_base=FD_DATASYNC|FDSTAT_SET_FLAGS|FD_SYNC|PATH_LINK_SOURCE|PATH_LINK_TARGET|PATH_OPEN|FD_READDIR|PATH_READLINK|PATH_RENAME_SOURCE|PATH_RENAME_TARGET|PATH_FILESTAT_GET|PATH_FILESTAT_SET_TIMES|FD_FILESTAT_GET|FD_FILESTAT_SET_TIMES|PATH_SYMLINK|PATH_REMOVE_DIRECTORY|PATH_UNLINK_FILE,fs_rights_inheriting=FD_DATASYNC|FD_READ|FD_SEEK|FDSTAT_SET_FLAGS|FD_SYNC|FD_TELL|FD_ADVISE|FD_ALLOCATE|PATH_CREATE_DIRECTORY|PATH_CREATE_FILE|PATH_LINK_SOURCE|PATH_LINK_TARGET|PATH_OPEN|FD_READDIR|PATH_READLINK|PATH_RENAME_SOURCE|PATH_RENAME_TARGET|PATH_FILESTAT_GET|PATH_FILESTAT_SET_SIZE|PATH_FILESTAT_SET_TIMES|FD_FILESTAT_GET|FD_FILESTAT_SET_SIZE|FD_FILESTAT_SET_TIMES|PATH_SYMLINK|PATH_REMOVE_DIRECTORY|PATH_UNLINK_FILE|POLL_FD_READWRITE)
<== errno=ESUCCESS
==> wasi_snapshot_preview1.path_open(fd=3,dirflags=,path=f,oflags=TRUNC,fs_rights_base=FD_READ|FD_WRITE,fs_rights_inheriting=,fdflags=)
<== (opened_fd=,errno=ENOTCAPABLE)
==> wasi_snapshot_preview1.path_open(fd=3,dirflags=,path=new,oflags=CREAT,fs_rights_base=FD_READ|FD_WRITE,fs_rights_inheriting=,fdflags=)
<== (opened_fd=,errno=ENOTCAPABLE)
==> wasi_snapshot_preview1.path_create_directory(fd=3,path=d)
<== errno=ENOTCAPABLE
==> wasi_snapshot_preview1.path_open(fd=3,dirflags=,path=f,oflags=,fs_rights_base=FD_READ|FD_SEEK|FD_WRITE,fs_rights_inheriting=,fdflags=)
<== (opened_fd=5,errno=ESUCCESS)
==> wasi_snapshot_preview1.fd_fdstat_get(fd=5)
<== (stat={filetype=REGULAR_FILE,fdflags=,fs_rights_base=FD_READ|FD_SEEK,fs_rights_inheriting=},errno=ESUCCESS)
==> wasi_snapshot_preview1.fd_write(fd=5,iovs=500,iovs_len=1)
<== (nwritten=,errno=ENOTCAPABLE)
==> wasi_snapshot_preview1.fd_seek(fd=5,offset=0,whence=2)
<== (newoffset=,errno=ENOTCAPABLE)
==> wasi_snapshot_preview1.path_open(fd=3,dirflags=,path=sub,oflags=DIRECTORY,fs_rights_base=PATH_OPEN,fs_rights_inheriting=,fdflags=)
<== (opened_fd=6,errno=ESUCCESS)
==> wasi_snapshot_preview1.fd_readdir(fd=6,buf=2000,buf_len=100,cookie=0)
<== (bufused=,errno=ENOTCAPABLE)
==> wasi_snapshot_preview1.fd_filestat_get(fd=6)
<== (filestat=,errno=ENOTCAPABLE)
==> wasi_snapshot_preview1.path_open(fd=6,dirflags=,path=x,oflags=CREAT,fs_rights_base=FD_READ,fs_rights_inheriting=,fdflags=)
<== (opened_fd=,errno=ENOTCAPABLE)
`)
}

// TestDefaultRightsNotEnforced: the calls TestStrictRights refuses run in the default mode,
// where only the access mode counts (see doc.go, Rights).
func TestDefaultRightsNotEnforced(t *testing.T) {
	e := newEnv(t)
	fd := uint64(e.open("/f", oflagCreat, 0))
	e.want(errSuccess, "fd_close", fd)
	p, n := e.str(1000, "/f")
	e.want(errSuccess, "path_open", 3, 0, p, n, 0, uint64(rightFdRead), 0, 0, 900)
	fd = uint64(e.u32(900))
	e.iov(500, 600, 4)
	e.want(errSuccess, "fd_seek", fd, 0, whenceSet, 520)
	e.want(errSuccess, "fd_tell", fd, 520)
	e.want(errSuccess, "fd_filestat_get", fd, 530)
	e.want(errBadf, "fd_write", fd, 500, 1, 510) // the access mode: not opened for writing
	e.want(errSuccess, "fd_fdstat_set_rights", 3, uint64(rightsDir&^rightPathCreateDirectory), uint64(rightsDir|rightsFile))
	p, n = e.str(1000, "/d")
	e.want(errSuccess, "path_create_directory", 3, p, n)
	p, n = e.str(1000, "../tmp/../d")
	e.want(errSuccess, "path_filestat_get", 3, 0, p, n, 400)
	e.want(errInval, "fd_sync", 1)
}

// TestStrictTestsuite makes, in strict mode, the assertions of the WebAssembly wasi-testsuite's
// preview1 tests on paths and rights (interesting_paths, truncation_rights, fd_fdstat_set_rights,
// symlink_create, close_preopen), rewritten here: the suite itself cannot be vendored, and CI
// has no network. Where the suite accepts EPERM or ENOTCAPABLE, strict mode answers ENOTCAPABLE.
func TestStrictTestsuite(t *testing.T) {
	e := strictEnv(t, "/data")
	str := func(s string) (uint64, uint64) { return e.str(1000, s) }
	open := func(want errno, path string, oflags uint16, base uint64) uint32 {
		t.Helper()
		p, n := str(path)
		e.want(want, "path_open", 3, 0, p, n, uint64(oflags), base, 0, 0, 900)
		return e.u32(900)
	}
	// interesting_paths
	for _, d := range []string{"dir", "dir/nested"} {
		p, n := str(d)
		e.want(errSuccess, "path_create_directory", 3, p, n)
	}
	e.want(errSuccess, "fd_close", uint64(open(errSuccess, "dir/nested/file", oflagCreat, 0)))
	open(errNotcapable, "/dir/nested/file", 0, 0)
	e.want(errSuccess, "fd_close", uint64(open(errSuccess, "dir/.//nested/../../dir/nested/../nested///./file", 0, 0)))
	open(errIlseq, "dir/nested/file\x00", 0, 0)
	open(errNotdir, "dir/nested/file/", 0, 0)
	open(errNotdir, "dir/nested/file///", 0, 0)
	e.want(errSuccess, "fd_close", uint64(open(errSuccess, "dir/nested///", 0, 0)))
	open(errNotcapable, "dir/nested/../../../dir/nested/file", 0, 0)

	// truncation_rights: O_TRUNC needs PATH_FILESTAT_SET_SIZE, not FD_FILESTAT_SET_SIZE.
	e.want(errSuccess, "fd_close", uint64(open(errSuccess, "dir/nested/file", oflagTrunc, 0)))
	e.want(errSuccess, "fd_fdstat_set_rights", 3, uint64(rightsDir), uint64((rightsDir|rightsFile)&^rightFdFilestatSetSize))
	e.want(errSuccess, "fd_close", uint64(open(errSuccess, "dir/nested/file", oflagTrunc, 0)))
	e.want(errSuccess, "fd_fdstat_set_rights", 3, uint64(rightsDir&^rightPathFilestatSetSize), uint64((rightsDir|rightsFile)&^rightFdFilestatSetSize))
	open(errNotcapable, "dir/nested/file", oflagTrunc, 0)

	// fd_fdstat_set_rights: dropped FD_READ and FD_WRITE are ENOTCAPABLE; rights never grow.
	fd := uint64(open(errSuccess, "rights", oflagCreat, rightFdRead|rightFdWrite|rightFdSeek|rightFdTell))
	e.put(600, []byte{0, 1, 2, 3})
	e.iov(500, 600, 4)
	e.want(errSuccess, "fd_write", fd, 500, 1, 510)
	e.want(errSuccess, "fd_seek", fd, 0, whenceSet, 520)
	e.want(errSuccess, "fd_read", fd, 500, 1, 510)
	e.want(errSuccess, "fd_fdstat_set_rights", fd, uint64(rightFdSeek|rightFdTell), 0)
	e.want(errNotcapable, "fd_read", fd, 500, 1, 510)
	e.want(errNotcapable, "fd_write", fd, 500, 1, 510)
	e.want(errNotcapable, "fd_fdstat_set_rights", fd, uint64(rightFdSeek|rightFdTell|rightFdRead|rightFdWrite), uint64(rightFdRead|rightFdWrite))

	// symlink_create: a symlink to an absolute path cannot be made.
	tp, tn := e.str(1200, "/")
	p, n := str("symlink")
	e.want(errNotcapable, "path_symlink", tp, tn, 3, p, n)

	// close_preopen: a preopen may be closed, and is then EBADF.
	e.want(errSuccess, "fd_close", 3)
	e.want(errBadf, "fd_fdstat_get", 3, 540)
}

// TestStrictSocketsAndPoll: sock_* on an fd that is not a socket is ENOTSOCK in strict mode too
// (EBADF for a closed fd), and a poll_oneoff subscription on an fd without POLL_FD_READWRITE
// reports ENOTCAPABLE in its event.
func TestStrictSocketsAndPoll(t *testing.T) {
	e := strictEnv(t, "/data")
	e.log.Reset()
	e.call("sock_accept", 3, 0, 100)
	e.call("sock_recv", 1, 100, 1, 0, 200, 204)
	e.call("sock_send", 0, 100, 1, 0, 200)
	e.call("sock_shutdown", 9, 3)
	e.requireTranscript(`
==> wasi_snapshot_preview1.sock_accept(fd=3,flags=)
<== (fd=,errno=ENOTSOCK)
==> wasi_snapshot_preview1.sock_recv(fd=1,ri_data=100,ri_data_len=1,ri_flags=)
<== (ro_datalen=,ro_flags=,errno=ENOTSOCK)
==> wasi_snapshot_preview1.sock_send(fd=0,si_data=100,si_data_len=1,si_flags=)
<== (so_datalen=,errno=ENOTSOCK)
==> wasi_snapshot_preview1.sock_shutdown(fd=9,how=RD|WR)
<== errno=EBADF
`)
	p, n := e.str(1000, "f")
	e.want(errSuccess, "path_open", 3, 0, p, n, 0, uint64(rightFdRead), 0, 0, 900) // no POLL_FD_READWRITE
	fd := e.u32(900)
	e.want(errSuccess, "path_open", 3, 0, p, n, 0, uint64(rightFdRead|rightPollFdReadwrite), 0, 0, 900)
	fd2 := e.u32(900)
	got, events := e.poll(fdSub(1, eventFdRead, fd), fdSub(2, eventFdRead, fd2))
	if got != errSuccess || len(events) != 2 || events[0].err != errNotcapable || events[1].err != errSuccess {
		t.Errorf("poll_oneoff = %v, %+v; want ENOTCAPABLE for the fd without POLL_FD_READWRITE only", got, events)
	}
}
