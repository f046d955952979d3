package wasi

import (
	"testing"
)

func TestFileIO(t *testing.T) {
	e := newEnv(t)
	fd := e.open("/f", oflagCreat, 0)
	if n := e.writeString(fd, "hello world"); n != 11 {
		t.Fatalf("wrote %d", n)
	}
	e.log.Reset()
	e.call("fd_tell", uint64(fd), 100)
	e.call("fd_seek", uint64(fd), 0, whenceSet, 100)
	e.call("fd_seek", uint64(fd), 6, whenceCur, 100)
	e.call("fd_seek", uint64(fd), uint64(1<<64-3), whenceEnd, 100) // -3
	e.call("fd_seek", uint64(fd), uint64(1<<64-1), whenceSet, 100) // -1
	e.call("fd_seek", uint64(fd), 1<<63-1, whenceCur, 100)         // overflow
	e.call("fd_seek", uint64(fd), 0, 3, 100)
	e.call("fd_seek", uint64(fd), 0, whenceCur, 65535)
	e.call("fd_seek", 3, 0, whenceCur, 100)
	e.call("fd_seek", 0, 0, whenceCur, 100)
	e.call("fd_tell", 1, 100)
	e.call("fd_tell", 3, 100)
	e.requireTranscript(`
==> wasi_snapshot_preview1.fd_tell(fd=4,result.offset=100)
<== errno=ESUCCESS
==> wasi_snapshot_preview1.fd_seek(fd=4,offset=0,whence=0)
<== (newoffset=0,errno=ESUCCESS)
==> wasi_snapshot_preview1.fd_seek(fd=4,offset=6,whence=1)
<== (newoffset=6,errno=ESUCCESS)
==> wasi_snapshot_preview1.fd_seek(fd=4,offset=-3,whence=2)
<== (newoffset=8,errno=ESUCCESS)
==> wasi_snapshot_preview1.fd_seek(fd=4,offset=-1,whence=0)
<== (newoffset=,errno=EINVAL)
==> wasi_snapshot_preview1.fd_seek(fd=4,offset=9223372036854775807,whence=1)
<== (newoffset=,errno=EINVAL)
==> wasi_snapshot_preview1.fd_seek(fd=4,offset=0,whence=3)
<== (newoffset=,errno=EINVAL)
==> wasi_snapshot_preview1.fd_seek(fd=4,offset=0,whence=1)
<== (newoffset=,errno=EFAULT)
==> wasi_snapshot_preview1.fd_seek(fd=3,offset=0,whence=1)
<== (newoffset=,errno=EBADF)
==> wasi_snapshot_preview1.fd_seek(fd=0,offset=0,whence=1)
<== (newoffset=,errno=ESPIPE)
==> wasi_snapshot_preview1.fd_tell(fd=1,result.offset=100)
<== errno=ESPIPE
==> wasi_snapshot_preview1.fd_tell(fd=3,result.offset=100)
<== errno=EBADF
`)
	if got := e.readString(fd, 100); got != "rld" {
		t.Fatalf("read after seek: %q", got)
	}
	if got := e.readString(fd, 100); got != "" {
		t.Fatalf("read at EOF: %q", got)
	}
	// Scatter read: two iovecs, the second partly filled.
	e.want(errSuccess, "fd_seek", uint64(fd), 0, whenceSet, 100)
	e.iov(4000, 5000, 5)
	e.iov(4008, 6000, 100)
	e.want(errSuccess, "fd_read", uint64(fd), 4000, 2, 4016)
	if n, a, b := e.u32(4016), string(e.bytes(5000, 5)), string(e.bytes(6000, 6)); n != 11 || a != "hello" || b != " world" {
		t.Fatalf("readv: %d %q %q", n, a, b)
	}
	// Gather write at a position, then pread/pwrite leave the position alone.
	e.want(errSuccess, "fd_seek", uint64(fd), 6, whenceSet, 100)
	e.put(5000, []byte("WO"))
	e.put(6000, []byte("RLD!"))
	e.iov(4000, 5000, 2)
	e.iov(4008, 6000, 4)
	e.want(errSuccess, "fd_write", uint64(fd), 4000, 2, 4016)
	e.put(5000, []byte("HE"))
	e.iov(4000, 5000, 2)
	e.want(errSuccess, "fd_pwrite", uint64(fd), 4000, 1, 0, 4016)
	e.want(errSuccess, "fd_tell", uint64(fd), 100)
	if pos := e.u64(100); pos != 12 {
		t.Fatalf("position %d, want 12", pos)
	}
	e.iov(4000, 5000, 100)
	e.want(errSuccess, "fd_pread", uint64(fd), 4000, 1, 0, 4016)
	if got := string(e.bytes(5000, e.u32(4016))); got != "HEllo WORLD!" {
		t.Fatalf("content %q", got)
	}
	e.want(errSuccess, "fd_pread", uint64(fd), 4000, 1, 1000, 4016)
	if n := e.u32(4016); n != 0 {
		t.Fatalf("pread past EOF: %d", n)
	}
	e.want(errInval, "fd_pread", uint64(fd), 4000, 1, 1<<63, 4016)
	e.want(errInval, "fd_pwrite", uint64(fd), 4000, 1, 1<<63, 4016)
	e.want(errSpipe, "fd_pread", 0, 4000, 1, 0, 4016)
	e.want(errSpipe, "fd_pwrite", 1, 4000, 1, 0, 4016)
	e.want(errIsdir, "fd_read", 3, 4000, 1, 4016)
	e.want(errIsdir, "fd_pread", 3, 4000, 1, 0, 4016)
	e.want(errBadf, "fd_write", 3, 4000, 1, 4016)
	e.want(errBadf, "fd_pwrite", 3, 4000, 1, 0, 4016)
	e.want(errBadf, "fd_read", 77, 4000, 1, 4016)
	e.want(errBadf, "fd_write", 77, 4000, 1, 4016)
	e.want(errInval, "fd_write", uint64(fd), 4000, iovMax+1, 4016)
	e.iov(4000, 5000, 1<<31)
	e.iov(4008, 5000, 1<<31)
	e.want(errFault, "fd_write", uint64(fd), 4000, 2, 4016)

	// Append: every write lands at the end, the position follows, pwrite ignores APPEND.
	afd := e.open("/f", 0, fdflagAppend)
	e.writeString(afd, "+A")
	e.want(errSuccess, "fd_tell", uint64(afd), 100)
	if pos := e.u64(100); pos != 14 {
		t.Fatalf("append position %d", pos)
	}
	e.writeString(fd, "#") // the other fd writes at its own position, 12
	e.writeString(afd, "+B")
	e.put(5000, []byte("h"))
	e.iov(4000, 5000, 1)
	e.want(errSuccess, "fd_pwrite", uint64(afd), 4000, 1, 0, 4016)
	e.iov(4000, 5000, 100)
	e.want(errSuccess, "fd_pread", uint64(fd), 4000, 1, 0, 4016)
	if got := string(e.bytes(5000, e.u32(4016))); got != "hEllo WORLD!#A+B" {
		t.Fatalf("content %q", got)
	}

	// fd_fdstat_set_flags turns APPEND off and on; SYNC makes each write a synced one.
	e.want(errSuccess, "fd_fdstat_set_flags", uint64(fd), uint64(fdflagAppend|fdflagSync))
	e.writeString(fd, "$")
	e.want(errSuccess, "fd_fdstat_get", uint64(fd), 100)
	if fl := le.Uint16(e.bytes(102, 2)); fl != fdflagAppend|fdflagSync {
		t.Fatalf("flags %x", fl)
	}
	e.want(errInval, "fd_fdstat_set_flags", uint64(fd), 1<<5)
	if s := e.size(fd); s != 17 {
		t.Fatalf("size %d", s)
	}
	e.want(errSuccess, "fd_sync", uint64(fd))
	e.want(errSuccess, "fd_datasync", uint64(fd))
	e.want(errSuccess, "fd_sync", 3)
	e.want(errInval, "fd_sync", 1)
	e.want(errBadf, "fd_datasync", 99)
	e.want(errSuccess, "fd_advise", uint64(fd), 0, 100, 5)
	e.want(errInval, "fd_advise", uint64(fd), 0, 100, 6)
	e.want(errInval, "fd_advise", uint64(fd), 0, 1<<63, 0)
	e.want(errSpipe, "fd_advise", 1, 0, 100, 0)
	e.want(errSuccess, "fd_advise", 3, 0, 100, 0)
}

func TestFilestat(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Walltime = func() int64 { return 1_700_000_000_000_000_000 } })
	fd := e.open("/f", oflagCreat, 0)
	e.writeString(fd, "12345")
	e.log.Reset()
	e.call("fd_filestat_set_size", uint64(fd), 3)
	e.call("fd_filestat_set_size", uint64(fd), 1<<63)
	e.call("fd_filestat_set_size", 3, 0)
	e.call("fd_filestat_set_times", uint64(fd), 1000, 2000, uint64(fstAtim|fstMtim))
	e.call("fd_filestat_get", uint64(fd), 100)
	e.call("fd_filestat_set_times", uint64(fd), 0, 0, uint64(fstAtimNow))
	e.call("fd_filestat_set_times", uint64(fd), 0, 0, uint64(fstAtim|fstAtimNow))
	e.call("fd_filestat_set_times", uint64(fd), 0, 0, uint64(fstMtim|fstMtimNow))
	e.call("fd_filestat_set_times", uint64(fd), 0, 0, 16)
	e.call("fd_filestat_set_times", uint64(fd), 1<<63, 0, uint64(fstAtim))
	e.call("fd_filestat_get", uint64(fd), 65535)
	e.call("fd_filestat_get", 1, 100)
	p, n := e.str(1000, "/f")
	e.call("path_filestat_set_times", 3, uint64(lookupSymlinkFollow), p, n, 5, 6, uint64(fstAtim|fstMtim))
	e.call("path_filestat_get", 3, uint64(lookupSymlinkFollow), p, n, 100)
	e.call("path_filestat_set_times", 3, 0, p, n, 0, 0, 0)
	e.call("path_filestat_get", 3, 2, p, n, 100)
	pm, nm := e.str(1000, "/missing")
	e.call("path_filestat_get", 3, 0, pm, nm, 100)
	e.call("path_filestat_set_times", 3, 0, pm, nm, 0, 0, 0)
	e.requireTranscript(`
==> wasi_snapshot_preview1.fd_filestat_set_size(fd=4,size=3)
<== errno=ESUCCESS
==> wasi_snapshot_preview1.fd_filestat_set_size(fd=4,size=-9223372036854775808)
<== errno=EINVAL
==> wasi_snapshot_preview1.fd_filestat_set_size(fd=3,size=0)
<== errno=EINVAL
==> wasi_snapshot_preview1.fd_filestat_set_times(fd=4,atim=1000,mtim=2000,fst_flags=ATIM|MTIM)
<== errno=ESUCCESS
==> wasi_snapshot_preview1.fd_filestat_get(fd=4)
<== (filestat={filetype=REGULAR_FILE,size=3,mtim=2000},errno=ESUCCESS)
==> wasi_snapshot_preview1.fd_filestat_set_times(fd=4,atim=0,mtim=0,fst_flags=ATIM_NOW)
<== errno=ESUCCESS
==> wasi_snapshot_preview1.fd_filestat_set_times(fd=4,atim=0,mtim=0,fst_flags=ATIM|ATIM_NOW)
<== errno=EINVAL
==> wasi_snapshot_preview1.fd_filestat_set_times(fd=4,atim=0,mtim=0,fst_flags=MTIM|MTIM_NOW)
<== errno=EINVAL
==> wasi_snapshot_preview1.fd_filestat_set_times(fd=4,atim=0,mtim=0,fst_flags=)
<== errno=EINVAL
==> wasi_snapshot_preview1.fd_filestat_set_times(fd=4,atim=-9223372036854775808,mtim=0,fst_flags=ATIM)
<== errno=EINVAL
==> wasi_snapshot_preview1.fd_filestat_get(fd=4)
<== (filestat=,errno=EFAULT)
==> wasi_snapshot_preview1.fd_filestat_get(fd=1)
<== (filestat={filetype=UNKNOWN,size=0,mtim=0},errno=ESUCCESS)
==> wasi_snapshot_preview1.path_filestat_set_times(fd=3,flags=SYMLINK_FOLLOW,path=/f,atim=5,mtim=6,fst_flags=ATIM|MTIM)
<== errno=ESUCCESS
==> wasi_snapshot_preview1.path_filestat_get(fd=3,flags=SYMLINK_FOLLOW,path=/f)
<== (filestat={filetype=REGULAR_FILE,size=3,mtim=6},errno=ESUCCESS)
==> wasi_snapshot_preview1.path_filestat_set_times(fd=3,flags=,path=/f,atim=0,mtim=0,fst_flags=)
<== errno=ESUCCESS
==> wasi_snapshot_preview1.path_filestat_get(fd=3,flags=,path=/f)
<== (filestat=,errno=EINVAL)
==> wasi_snapshot_preview1.path_filestat_get(fd=3,flags=,path=/missing)
<== (filestat=,errno=ENOENT)
==> wasi_snapshot_preview1.path_filestat_set_times(fd=3,flags=,path=/missing,atim=0,mtim=0,fst_flags=)
<== errno=ENOENT
`)
	// ATIM_NOW used the configured real-time clock; the full record is laid out per witx.
	e.want(errSuccess, "fd_filestat_set_times", uint64(fd), 0, 0, uint64(fstAtimNow|fstMtimNow))
	e.want(errSuccess, "fd_filestat_get", uint64(fd), 100)
	b := e.bytes(100, 64)
	if le.Uint64(b[40:]) != 1_700_000_000_000_000_000 || le.Uint64(b[48:]) != 1_700_000_000_000_000_000 {
		t.Fatalf("times % x", b)
	}
	if le.Uint64(b[8:]) == 0 || b[16] != filetypeRegular || le.Uint64(b[24:]) != 1 || le.Uint64(b[32:]) != 3 {
		t.Fatalf("filestat % x", b)
	}
	// A symlink is statted as itself without SYMLINK_FOLLOW.
	e.symlink("f", "/l")
	p, n = e.str(1000, "/l")
	e.want(errSuccess, "path_filestat_get", 3, 0, p, n, 100)
	if e.bytes(116, 1)[0] != 7 {
		t.Fatal("symlink type")
	}
	// path_filestat_set_times does not follow without the flag: the target keeps its times.
	e.want(errSuccess, "path_filestat_set_times", 3, 0, p, n, 42, 42, uint64(fstAtim|fstMtim))
	e.want(errSuccess, "fd_filestat_get", uint64(fd), 100)
	if le.Uint64(e.bytes(148, 8)) == 42 {
		t.Fatal("set_times without follow changed the target")
	}
	e.want(errSuccess, "path_filestat_set_times", 3, uint64(lookupSymlinkFollow), p, n, 42, 42, uint64(fstAtim|fstMtim))
	e.want(errSuccess, "fd_filestat_get", uint64(fd), 100)
	if le.Uint64(e.bytes(148, 8)) != 42 {
		t.Fatal("set_times with follow did not change the target")
	}
}
