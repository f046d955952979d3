//go:build linux

package hostfs

import (
	"errors"
	"io/fs"
	"os"
	"strconv"
	"syscall"

	"github.com/wasmrun/wasmrun/vfs"
	"golang.org/x/sys/unix"
)

// hostErrno maps a host error to an Errno. It is the one place host errors are translated;
// anything it does not know is EIO.
func hostErrno(err error) vfs.Errno {
	if err == nil {
		return vfs.ESUCCESS
	}
	if e, ok := err.(vfs.Errno); ok {
		return e
	}
	var en syscall.Errno
	if errors.As(err, &en) {
		switch en {
		case syscall.EPERM:
			return vfs.EPERM
		case syscall.ENOENT:
			return vfs.ENOENT
		case syscall.EIO:
			return vfs.EIO
		case syscall.EBADF:
			return vfs.EBADF
		case syscall.EAGAIN:
			return vfs.EAGAIN
		case syscall.ENOMEM:
			return vfs.ENOMEM
		case syscall.EACCES:
			return vfs.EACCES
		case syscall.EFAULT:
			return vfs.EFAULT
		case syscall.EBUSY:
			return vfs.EBUSY
		case syscall.EEXIST:
			return vfs.EEXIST
		case syscall.EXDEV:
			return vfs.EXDEV
		case syscall.ENOTDIR:
			return vfs.ENOTDIR
		case syscall.EISDIR:
			return vfs.EISDIR
		case syscall.EINVAL:
			return vfs.EINVAL
		case syscall.ENFILE:
			return vfs.ENFILE
		case syscall.EMFILE:
			return vfs.EMFILE
		case syscall.EFBIG:
			return vfs.EFBIG
		case syscall.ENOSPC, syscall.EDQUOT:
			return vfs.ENOSPC
		case syscall.ESPIPE:
			return vfs.ESPIPE
		case syscall.EROFS:
			return vfs.EROFS
		case syscall.EMLINK:
			return vfs.EMLINK
		case syscall.ERANGE:
			return vfs.ERANGE
		case syscall.ENAMETOOLONG:
			return vfs.ENAMETOOLONG
		case syscall.ENOSYS:
			return vfs.ENOSYS
		case syscall.ENOTEMPTY:
			return vfs.ENOTEMPTY
		case syscall.ELOOP:
			return vfs.ELOOP
		case syscall.EOVERFLOW:
			return vfs.EOVERFLOW
		case syscall.EILSEQ:
			return vfs.EILSEQ
		case syscall.ENOTSUP:
			return vfs.ENOTSUP
		case syscall.ETIMEDOUT:
			return vfs.ETIMEDOUT
		case syscall.ECANCELED:
			return vfs.ECANCELED
		}
		return vfs.EIO
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return vfs.ENOENT
	case errors.Is(err, fs.ErrExist):
		return vfs.EEXIST
	case errors.Is(err, fs.ErrPermission):
		return vfs.EACCES
	case errors.Is(err, fs.ErrClosed):
		return vfs.EBADF
	}
	return vfs.EIO
}

// timespecs returns the utimensat times of a, UTIME_OMIT for a time a leaves alone.
func timespecs(a *vfs.Attr) []unix.Timespec {
	ts := []unix.Timespec{{Nsec: unix.UTIME_OMIT}, {Nsec: unix.UTIME_OMIT}}
	if a.Valid&vfs.AttrAtime != 0 {
		ts[0] = unix.NsecToTimespec(a.Atime)
	}
	if a.Valid&vfs.AttrMtime != 0 {
		ts[1] = unix.NsecToTimespec(a.Mtime)
	}
	return ts
}

// setAttrFd applies a to the inode open as f, which may have no name left.
func setAttrFd(f *os.File, a *vfs.Attr) vfs.Errno {
	sc, err := f.SyscallConn()
	if err != nil {
		return hostErrno(err)
	}
	var e vfs.Errno
	err = sc.Control(func(fd uintptr) {
		proc := "/proc/self/fd/" + strconv.Itoa(int(fd))
		if a.Valid&vfs.AttrSize != 0 {
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
		if a.Valid&vfs.AttrMode != 0 {
			if e = hostErrno(unix.Fchmod(int(fd), uint32(a.Mode&0o7777))); e != 0 {
				return
			}
		}
		if a.Valid&(vfs.AttrAtime|vfs.AttrMtime) != 0 {
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
func withDirFd(r *os.Root, f func(fd int) error) vfs.Errno {
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
func withDirFds(r1, r2 *os.Root, f func(fd1, fd2 int) error) vfs.Errno {
	return withDirFd(r1, func(fd1 int) error {
		if r1 == r2 {
			return f(fd1, fd1)
		}
		return withDirFd(r2, func(fd2 int) error { return f(fd1, fd2) }).Err()
	})
}
