package wasi

import (
	"strings"
	"testing"
)

// size returns the size of fd through fd_filestat_get, leaving the transcript untouched.
func (e *env) size(fd uint32) uint64 {
	e.t.Helper()
	mark := e.log.Len()
	e.want(errSuccess, "fd_filestat_get", uint64(fd), 60000)
	e.log.Truncate(mark)
	return e.u64(60000 + 32)
}

// writeAll writes s through fd_write at the fd's position and returns nwritten.
func (e *env) writeString(fd uint32, s string) uint32 {
	e.t.Helper()
	e.put(5000, []byte(s))
	e.iov(4000, 5000, uint32(len(s)))
	e.want(errSuccess, "fd_write", uint64(fd), 4000, 1, 4008)
	return e.u32(4008)
}

// readString reads up to n bytes through fd_read.
func (e *env) readString(fd uint32, n uint32) string {
	e.t.Helper()
	e.iov(4000, 5000, n)
	e.want(errSuccess, "fd_read", uint64(fd), 4000, 1, 4008)
	return string(e.bytes(5000, e.u32(4008)))
}

func TestFdAllocate(t *testing.T) {
	e := newEnv(t)
	fd := e.open("/f", oflagCreat, 0)
	e.writeString(fd, "0123456789")
	e.log.Reset()
	e.call("fd_allocate", 12345, 0, 10)
	e.call("fd_allocate", uint64(fd), 0, 0)
	e.call("fd_allocate", uint64(fd), ^uint64(0), 1)
	e.call("fd_allocate", uint64(fd), 1, 1<<63-1)
	e.call("fd_allocate", uint64(fd), 0, 10)
	e.call("fd_allocate", uint64(fd), 5, 5)
	e.call("fd_allocate", 3, 0, 10)
	e.call("fd_allocate", 1, 0, 10)
	e.requireTranscript(`
==> wasi_snapshot_preview1.fd_allocate(fd=12345,offset=0,len=10)
<== errno=EBADF
==> wasi_snapshot_preview1.fd_allocate(fd=4,offset=0,len=0)
<== errno=EINVAL
==> wasi_snapshot_preview1.fd_allocate(fd=4,offset=-1,len=1)
<== errno=EINVAL
==> wasi_snapshot_preview1.fd_allocate(fd=4,offset=1,len=9223372036854775807)
<== errno=EFBIG
==> wasi_snapshot_preview1.fd_allocate(fd=4,offset=0,len=10)
<== errno=ESUCCESS
==> wasi_snapshot_preview1.fd_allocate(fd=4,offset=5,len=5)
<== errno=ESUCCESS
==> wasi_snapshot_preview1.fd_allocate(fd=3,offset=0,len=10)
<== errno=EBADF
==> wasi_snapshot_preview1.fd_allocate(fd=1,offset=0,len=10)
<== errno=ESPIPE
`)
	if got := e.size(fd); got != 10 {
		t.Fatalf("size after allocations within the file = %d, want 10", got)
	}
	e.want(errSuccess, "fd_allocate", uint64(fd), 10, 10)
	if got := e.size(fd); got != 20 {
		t.Fatalf("size = %d, want 20", got)
	}
	e.iov(4000, 5000, 100)
	e.want(errSuccess, "fd_pread", uint64(fd), 4000, 1, 0, 4008)
	if got := string(e.bytes(5000, e.u32(4008))); got != "0123456789\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" {
		t.Fatalf("content %q", got)
	}
}

func TestPathOpenErrors(t *testing.T) {
	e := newEnv(t)
	e.open("/file", oflagCreat, 0)
	e.mkdir("/dir")
	e.symlink("/file", "/link")
	e.log.Reset()

	rw := rightFdRead | rightFdWrite
	open := func(fd uint32, lookup uint32, path string, oflags uint16, base uint64, fdflags uint16) {
		p, n := e.str(1000, path)
		e.call("path_open", uint64(fd), uint64(lookup), p, n, uint64(oflags), base, 0, uint64(fdflags), 900)
	}
	follow := lookupSymlinkFollow
	open(42, follow, "/file", 0, rw, 0)
	open(1, follow, "/file", 0, rw, 0)
	open(3, follow, "/missing", 0, rw, 0)
	open(3, follow, "/file", oflagCreat|oflagExcl, rw, 0)
	open(3, follow, "/file", oflagDirectory, rightFdRead, 0)
	open(3, follow, "/dir", 0, rw, 0)
	open(3, 0, "/link", 0, rightFdRead, 0)
	open(3, follow, "/file", 1<<4, rw, 0)
	open(3, follow, "/file", 0, rw, 1<<5)
	open(3, 2, "/file", 0, rw, 0)
	open(3, follow, "/file/x", 0, rw, 0)
	open(3, follow, "/"+strings.Repeat("a", 256), oflagCreat, rw, 0)
	open(3, follow, "", 0, rw, 0)
	open(3, follow, "/dir", 0, rightFdRead, 0)
	open(3, follow, "/tmp/../file", 0, rightFdRead, 0)
	open(3, follow, "/link", oflagTrunc, rw, fdflagAppend)
	open(3, follow, "/tmp/new", oflagCreat|oflagExcl, rw, 0)
	e.requireTranscript(`
==> wasi_snapshot_preview1.path_open(fd=42,dirflags=SYMLINK_FOLLOW,path=/file,oflags=,fs_rights_base=FD_READ|FD_WRITE,fs_rights_inheriting=,fdflags=)
<== (opened_fd=,errno=EBADF)
==> wasi_snapshot_preview1.path_open(fd=1,dirflags=SYMLINK_FOLLOW,path=/file,oflags=,fs_rights_base=FD_READ|FD_WRITE,fs_rights_inheriting=,fdflags=)
<== (opened_fd=,errno=ENOTDIR)
==> wasi_snapshot_preview1.path_open(fd=3,dirflags=SYMLINK_FOLLOW,path=/missing,oflags=,fs_rights_base=FD_READ|FD_WRITE,fs_rights_inheriting=,fdflags=)
<== (opened_fd=,errno=ENOENT)
==> wasi_snapshot_preview1.path_open(fd=3,dirflags=SYMLINK_FOLLOW,path=/file,oflags=CREAT|EXCL,fs_rights_base=FD_READ|FD_WRITE,fs_rights_inheriting=,fdflags=)
<== (opened_fd=,errno=EEXIST)
==> wasi_snapshot_preview1.path_open(fd=3,dirflags=SYMLINK_FOLLOW,path=/file,oflags=DIRECTORY,fs_rights_base=FD_READ,fs_rights_inheriting=,fdflags=)
<== (opened_fd=,errno=ENOTDIR)
==> wasi_snapshot_preview1.path_open(fd=3,dirflags=SYMLINK_FOLLOW,path=/dir,oflags=,fs_rights_base=FD_READ|FD_WRITE,fs_rights_inheriting=,fdflags=)
<== (opened_fd=,errno=EISDIR)
==> wasi_snapshot_preview1.path_open(fd=3,dirflags=,path=/link,oflags=,fs_rights_base=FD_READ,fs_rights_inheriting=,fdflags=)
<== (opened_fd=,errno=ELOOP)
==> wasi_snapshot_preview1.path_open(fd=3,dirflags=SYMLINK_FOLLOW,path=/file,oflags=,fs_rights_base=FD_READ|FD_WRITE,fs_rights_inheriting=,fdflags=)
<== (opened_fd=,errno=EINVAL)
==> wasi_snapshot_preview1.path_open(fd=3,dirflags=SYMLINK_FOLLOW,path=/file,oflags=,fs_rights_base=FD_READ|FD_WRITE,fs_rights_inheriting=,fdflags=)
<== (opened_fd=,errno=EINVAL)
==> wasi_snapshot_preview1.path_open(fd=3,dirflags=,path=/file,oflags=,fs_rights_base=FD_READ|FD_WRITE,fs_rights_inheriting=,fdflags=)
<== (opened_fd=,errno=EINVAL)
==> wasi_snapshot_preview1.path_open(fd=3,dirflags=SYMLINK_FOLLOW,path=/file/x,oflags=,fs_rights_base=FD_READ|FD_WRITE,fs_rights_inheriting=,fdflags=)
<== (opened_fd=,errno=ENOTDIR)
==> wasi_snapshot_preview1.path_open(fd=3,dirflags=SYMLINK_FOLLOW,path=/` + strings.Repeat("a", 256) + `,oflags=CREAT,fs_rights_base=FD_READ|FD_WRITE,fs_rights_inheriting=,fdflags=)
<== (opened_fd=,errno=ENAMETOOLONG)
==> wasi_snapshot_preview1.path_open(fd=3,dirflags=SYMLINK_FOLLOW,path=,oflags=,fs_rights_base=FD_READ|FD_WRITE,fs_rights_inheriting=,fdflags=)
<== (opened_fd=,errno=ENOENT)
==> wasi_snapshot_preview1.path_open(fd=3,dirflags=SYMLINK_FOLLOW,path=/dir,oflags=,fs_rights_base=FD_READ,fs_rights_inheriting=,fdflags=)
<== (opened_fd=5,errno=ESUCCESS)
==> wasi_snapshot_preview1.path_open(fd=3,dirflags=SYMLINK_FOLLOW,path=/tmp/../file,oflags=,fs_rights_base=FD_READ,fs_rights_inheriting=,fdflags=)
<== (opened_fd=6,errno=ESUCCESS)
==> wasi_snapshot_preview1.path_open(fd=3,dirflags=SYMLINK_FOLLOW,path=/link,oflags=TRUNC,fs_rights_base=FD_READ|FD_WRITE,fs_rights_inheriting=,fdflags=APPEND)
<== (opened_fd=7,errno=ESUCCESS)
==> wasi_snapshot_preview1.path_open(fd=3,dirflags=SYMLINK_FOLLOW,path=/tmp/new,oflags=CREAT|EXCL,fs_rights_base=FD_READ|FD_WRITE,fs_rights_inheriting=,fdflags=)
<== (opened_fd=8,errno=ESUCCESS)
`)
	// The directory fd got directory rights only; the file fds got what they asked for.
	for _, c := range []struct {
		fd       uint32
		filetype byte
		base     uint64
		flags    uint16
	}{
		{5, filetypeDirectory, 0, 0},
		{6, filetypeRegular, rightFdRead, 0},
		{7, filetypeRegular, rw, fdflagAppend},
	} {
		e.want(errSuccess, "fd_fdstat_get", uint64(c.fd), 100)
		if b := e.bytes(100, 24); b[0] != c.filetype || le.Uint16(b[2:]) != c.flags || le.Uint64(b[8:]) != c.base {
			t.Errorf("fd %d: fdstat % x", c.fd, b)
		}
	}

}

func (e *env) mkdir(path string) {
	e.t.Helper()
	p, n := e.str(1000, path)
	e.want(errSuccess, "path_create_directory", 3, p, n)
}

func (e *env) symlink(target, path string) {
	e.t.Helper()
	tp, tn := e.str(1100, target)
	p, n := e.str(1000, path)
	e.want(errSuccess, "path_symlink", tp, tn, 3, p, n)
}

// dirent is a decoded fd_readdir record.
type dirent struct {
	next uint64
	ino  uint64
	typ  byte
	name string
}

// parseDirents decodes buf; a cut last record is returned with cut set.
func parseDirents(buf []byte) (ds []dirent, cut bool) {
	for len(buf) > 0 {
		if len(buf) < sizeDirent {
			return ds, true
		}
		n := int(le.Uint32(buf[16:]))
		if len(buf) < sizeDirent+n {
			return ds, true
		}
		ds = append(ds, dirent{le.Uint64(buf), le.Uint64(buf[8:]), buf[20], string(buf[24 : 24+n])})
		buf = buf[sizeDirent+n:]
	}
	return ds, false
}

func TestFdReaddir(t *testing.T) {
	e := newEnv(t)
	e.mkdir("/d")
	for _, name := range []string{"a", "bb", "ccc"} {
		e.open("/d/"+name, oflagCreat, 0)
	}
	e.mkdir("/d/sub")
	dir := e.open("/d", oflagDirectory, 0)
	file := e.open("/d/a", 0, 0)
	e.log.Reset()

	// The whole listing in one call.
	e.want(errSuccess, "fd_readdir", uint64(dir), 10000, 4096, 0, 200)
	used := e.u32(200)
	all, cut := parseDirents(e.bytes(10000, used))
	if cut || used >= 4096 {
		t.Fatalf("used %d, cut %v", used, cut)
	}
	var names []string
	for _, d := range all {
		names = append(names, d.name)
	}
	if got := strings.Join(names, ","); got != ".,..,a,bb,ccc,sub" {
		t.Fatalf("names %s", got)
	}
	for _, d := range all {
		want := byte(filetypeRegular)
		if d.name == "." || d.name == ".." || d.name == "sub" {
			want = filetypeDirectory
		}
		if d.typ != want || d.ino == 0 {
			t.Errorf("%+v", d)
		}
		// d_ino matches what a stat reports.
		p, n := e.str(1000, "/d/"+d.name)
		e.want(errSuccess, "path_filestat_get", 3, 0, p, n, 300)
		if ino := e.u64(308); ino != d.ino {
			t.Errorf("%s: readdir ino %d, stat ino %d", d.name, d.ino, ino)
		}
	}

	// Resuming from each cookie gives the rest of the listing.
	for i, d := range all {
		e.want(errSuccess, "fd_readdir", uint64(dir), 10000, 4096, d.next, 200)
		rest, _ := parseDirents(e.bytes(10000, e.u32(200)))
		if len(rest) != len(all)-i-1 {
			t.Fatalf("after %q: %d entries, want %d", d.name, len(rest), len(all)-i-1)
		}
	}

	// Every buffer size: the last record is cut, bufused == buf_len says there is more, and
	// a guest that resumes from the last whole record sees every entry exactly once.
	for size := uint32(1); size < 200; size++ {
		var got []string
		cookie := uint64(0)
		for rounds := 0; ; rounds++ {
			if rounds > 100 {
				t.Fatalf("size %d: no progress", size)
			}
			e.want(errSuccess, "fd_readdir", uint64(dir), 10000, uint64(size), cookie, 200)
			used := e.u32(200)
			if used > size {
				t.Fatalf("size %d: used %d", size, used)
			}
			ds, cut := parseDirents(e.bytes(10000, used))
			if cut && used != size {
				t.Fatalf("size %d: cut record but used %d", size, used)
			}
			for _, d := range ds {
				got = append(got, d.name)
				cookie = d.next
			}
			if used < size {
				break
			}
			if len(ds) == 0 {
				// Not even one record fits: a real guest grows its buffer. Skip the
				// entry to keep the walk going (its header told us its cookie).
				hdr := e.bytes(10000, min(used, sizeDirent))
				if len(hdr) < 8 {
					break
				}
				cookie = le.Uint64(hdr)
				got = append(got, "?")
			}
		}
		if size >= sizeDirent+3 {
			if g := strings.Join(got, ","); g != ".,..,a,bb,ccc,sub" {
				t.Fatalf("size %d: %s", size, g)
			}
		}
	}
	e.log.Reset()

	e.call("fd_readdir", 99, 10000, 100, 0, 200)
	e.call("fd_readdir", uint64(file), 10000, 100, 0, 200)
	e.call("fd_readdir", uint64(dir), 65530, 100, 0, 200)
	e.call("fd_readdir", uint64(dir), 10000, 100, 0, 65535)
	e.call("fd_readdir", uint64(dir), 10000, 0, 0, 200)
	e.requireTranscript(`
==> wasi_snapshot_preview1.fd_readdir(fd=99,buf=10000,buf_len=100,cookie=0)
<== (bufused=,errno=EBADF)
==> wasi_snapshot_preview1.fd_readdir(fd=8,buf=10000,buf_len=100,cookie=0)
<== (bufused=,errno=ENOTDIR)
==> wasi_snapshot_preview1.fd_readdir(fd=7,buf=65530,buf_len=100,cookie=0)
<== (bufused=,errno=EFAULT)
==> wasi_snapshot_preview1.fd_readdir(fd=7,buf=10000,buf_len=100,cookie=0)
<== (bufused=,errno=EFAULT)
==> wasi_snapshot_preview1.fd_readdir(fd=7,buf=10000,buf_len=0,cookie=0)
<== (bufused=0,errno=ESUCCESS)
`)
}
