package vfs

import (
	"errors"
	"io/fs"
	"strconv"
)

// Errno is the one error type of the VFS layer. The zero value, ESUCCESS, means success; every
// other value names a POSIX error. The numbering is Linux's, so a value reads the same in a debugger
// as in strace, but it is this package's own enumeration: the wasi package translates it to WASI
// preview1 numbers in a single switch, and backends translate their storage errors into it in a
// single function each (unknown errors become EIO).
//
// Errno implements error so that Go callers may return it, but VFS methods return Errno itself:
// a method that succeeded returns ESUCCESS (0), never a nil-but-typed interface.
type Errno uint16

// The errno values used by the VFS. Their meanings follow POSIX.
const (
	ESUCCESS     Errno = 0
	EPERM        Errno = 1
	ENOENT       Errno = 2
	EIO          Errno = 5
	EBADF        Errno = 9
	EAGAIN       Errno = 11
	ENOMEM       Errno = 12
	EACCES       Errno = 13
	EFAULT       Errno = 14
	EBUSY        Errno = 16
	EEXIST       Errno = 17
	EXDEV        Errno = 18
	ENOTDIR      Errno = 20
	EISDIR       Errno = 21
	EINVAL       Errno = 22
	ENFILE       Errno = 23
	EMFILE       Errno = 24
	EFBIG        Errno = 27
	ENOSPC       Errno = 28
	ESPIPE       Errno = 29
	EROFS        Errno = 30
	EMLINK       Errno = 31
	ERANGE       Errno = 34
	ENAMETOOLONG Errno = 36
	ENOSYS       Errno = 38
	ENOTEMPTY    Errno = 39
	ELOOP        Errno = 40
	EOVERFLOW    Errno = 75
	EILSEQ       Errno = 84
	ENOTSOCK     Errno = 88
	ENOTSUP      Errno = 95
	ETIMEDOUT    Errno = 110
	ECANCELED    Errno = 125

	// ENOTCAPABLE is not a Linux errno: it is the capability error of WASI preview1 (and of
	// Capsicum, where it is 93), which a lookup confined beneath a directory returns for a path
	// that would leave it. It takes the first number after Linux's last errno.
	ENOTCAPABLE Errno = 134
)

var errnoNames = map[Errno]string{
	ESUCCESS: "ESUCCESS", EPERM: "EPERM", ENOENT: "ENOENT", EIO: "EIO", EBADF: "EBADF",
	EAGAIN: "EAGAIN", ENOMEM: "ENOMEM", EACCES: "EACCES", EFAULT: "EFAULT", EBUSY: "EBUSY",
	EEXIST: "EEXIST", EXDEV: "EXDEV", ENOTDIR: "ENOTDIR", EISDIR: "EISDIR", EINVAL: "EINVAL",
	ENFILE: "ENFILE", EMFILE: "EMFILE", EFBIG: "EFBIG", ENOSPC: "ENOSPC", ESPIPE: "ESPIPE",
	EROFS: "EROFS", EMLINK: "EMLINK", ERANGE: "ERANGE", ENAMETOOLONG: "ENAMETOOLONG",
	ENOSYS: "ENOSYS", ENOTEMPTY: "ENOTEMPTY", ELOOP: "ELOOP", EOVERFLOW: "EOVERFLOW",
	EILSEQ: "EILSEQ", ENOTSUP: "ENOTSUP", ETIMEDOUT: "ETIMEDOUT", ECANCELED: "ECANCELED",
	ENOTSOCK: "ENOTSOCK", ENOTCAPABLE: "ENOTCAPABLE",
}

// Name returns the symbolic name of e, such as "ENOENT".
func (e Errno) Name() string {
	if n, ok := errnoNames[e]; ok {
		return n
	}
	return "Errno(" + strconv.Itoa(int(e)) + ")"
}

// Error implements error.
func (e Errno) Error() string { return e.Name() }

// Is lets errors.Is match an Errno against the io/fs sentinel errors
// (fs.ErrNotExist, fs.ErrExist, fs.ErrPermission, fs.ErrInvalid).
func (e Errno) Is(target error) bool {
	switch target {
	case fs.ErrNotExist:
		return e == ENOENT
	case fs.ErrExist:
		return e == EEXIST || e == ENOTEMPTY
	case fs.ErrPermission:
		return e == EPERM || e == EACCES || e == EROFS
	case fs.ErrInvalid:
		return e == EINVAL
	}
	return false
}

// Err returns nil for ESUCCESS and e otherwise, for Go APIs that return error.
func (e Errno) Err() error {
	if e == ESUCCESS {
		return nil
	}
	return e
}

// ToErrno extracts an Errno from err: nil is ESUCCESS, an Errno (possibly wrapped) is itself, the
// io/fs sentinels map to their POSIX values, and anything else is EIO.
func ToErrno(err error) Errno {
	if err == nil {
		return ESUCCESS
	}
	var e Errno
	if errors.As(err, &e) {
		return e
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return ENOENT
	case errors.Is(err, fs.ErrExist):
		return EEXIST
	case errors.Is(err, fs.ErrPermission):
		return EPERM
	case errors.Is(err, fs.ErrInvalid):
		return EINVAL
	}
	return EIO
}
