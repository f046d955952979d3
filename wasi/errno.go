package wasi

import "github.com/wasmrun/wasmrun/vfs"

// errno is a WASI preview1 error code, as the witx $errno enum numbers them (u16 on the wire,
// returned to the guest widened to i32). It is distinct from vfs.Errno, which uses Linux numbers:
// toErrno is the one place that translates.
type errno uint16

// The WASI preview1 errno values (typenames.witx, in order).
const (
	errSuccess errno = iota
	err2big
	errAcces
	errAddrinuse
	errAddrnotavail
	errAfnosupport
	errAgain
	errAlready
	errBadf
	errBadmsg
	errBusy
	errCanceled
	errChild
	errConnaborted
	errConnrefused
	errConnreset
	errDeadlk
	errDestaddrreq
	errDom
	errDquot
	errExist
	errFault
	errFbig
	errHostunreach
	errIdrm
	errIlseq
	errInprogress
	errIntr
	errInval
	errIo
	errIsconn
	errIsdir
	errLoop
	errMfile
	errMlink
	errMsgsize
	errMultihop
	errNametoolong
	errNetdown
	errNetreset
	errNetunreach
	errNfile
	errNobufs
	errNodev
	errNoent
	errNoexec
	errNolck
	errNolink
	errNomem
	errNomsg
	errNoprotoopt
	errNospc
	errNosys
	errNotconn
	errNotdir
	errNotempty
	errNotrecoverable
	errNotsock
	errNotsup
	errNotty
	errNxio
	errOverflow
	errOwnerdead
	errPerm
	errPipe
	errProto
	errProtonosupport
	errPrototype
	errRange
	errRofs
	errSpipe
	errSrch
	errStale
	errTimedout
	errTxtbsy
	errXdev
	errNotcapable
)

var errnoNames = [...]string{
	"ESUCCESS", "E2BIG", "EACCES", "EADDRINUSE", "EADDRNOTAVAIL", "EAFNOSUPPORT", "EAGAIN",
	"EALREADY", "EBADF", "EBADMSG", "EBUSY", "ECANCELED", "ECHILD", "ECONNABORTED",
	"ECONNREFUSED", "ECONNRESET", "EDEADLK", "EDESTADDRREQ", "EDOM", "EDQUOT", "EEXIST",
	"EFAULT", "EFBIG", "EHOSTUNREACH", "EIDRM", "EILSEQ", "EINPROGRESS", "EINTR", "EINVAL",
	"EIO", "EISCONN", "EISDIR", "ELOOP", "EMFILE", "EMLINK", "EMSGSIZE", "EMULTIHOP",
	"ENAMETOOLONG", "ENETDOWN", "ENETRESET", "ENETUNREACH", "ENFILE", "ENOBUFS", "ENODEV",
	"ENOENT", "ENOEXEC", "ENOLCK", "ENOLINK", "ENOMEM", "ENOMSG", "ENOPROTOOPT", "ENOSPC",
	"ENOSYS", "ENOTCONN", "ENOTDIR", "ENOTEMPTY", "ENOTRECOVERABLE", "ENOTSOCK", "ENOTSUP",
	"ENOTTY", "ENXIO", "EOVERFLOW", "EOWNERDEAD", "EPERM", "EPIPE", "EPROTO",
	"EPROTONOSUPPORT", "EPROTOTYPE", "ERANGE", "EROFS", "ESPIPE", "ESRCH", "ESTALE",
	"ETIMEDOUT", "ETXTBSY", "EXDEV", "ENOTCAPABLE",
}

// String returns the symbolic name, such as "ENOENT", the way wazero's logging prints it.
func (e errno) String() string {
	if int(e) < len(errnoNames) {
		return errnoNames[e]
	}
	return "errno(" + itoa(uint64(e)) + ")"
}

func itoa(v uint64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			return string(b[i:])
		}
	}
}

// toErrno translates a vfs.Errno (Linux numbering) into WASI preview1's numbering. This is the
// single switch between the two: every vfs error that reaches a guest goes through it. An errno
// the switch does not know becomes EIO, so a backend can never hand the guest a number WASI does
// not define.
func toErrno(e vfs.Errno) errno {
	switch e {
	case vfs.ESUCCESS:
		return errSuccess
	case vfs.EPERM:
		return errPerm
	case vfs.ENOENT:
		return errNoent
	case vfs.EIO:
		return errIo
	case vfs.EBADF:
		return errBadf
	case vfs.EAGAIN:
		return errAgain
	case vfs.ENOMEM:
		return errNomem
	case vfs.EACCES:
		return errAcces
	case vfs.EFAULT:
		return errFault
	case vfs.EBUSY:
		return errBusy
	case vfs.EEXIST:
		return errExist
	case vfs.EXDEV:
		return errXdev
	case vfs.ENOTDIR:
		return errNotdir
	case vfs.EISDIR:
		return errIsdir
	case vfs.EINVAL:
		return errInval
	case vfs.ENFILE:
		return errNfile
	case vfs.EMFILE:
		return errMfile
	case vfs.EFBIG:
		return errFbig
	case vfs.ENOSPC:
		return errNospc
	case vfs.ESPIPE:
		return errSpipe
	case vfs.EROFS:
		return errRofs
	case vfs.EMLINK:
		return errMlink
	case vfs.ERANGE:
		return errRange
	case vfs.ENAMETOOLONG:
		return errNametoolong
	case vfs.ENOSYS:
		return errNosys
	case vfs.ENOTEMPTY:
		return errNotempty
	case vfs.ELOOP:
		return errLoop
	case vfs.EOVERFLOW:
		return errOverflow
	case vfs.EILSEQ:
		return errIlseq
	case vfs.ENOTSUP:
		return errNotsup
	case vfs.ETIMEDOUT:
		return errTimedout
	case vfs.ECANCELED:
		return errCanceled
	case vfs.ENOTSOCK:
		return errNotsock
	case vfs.ENOTCAPABLE:
		return errNotcapable
	}
	return errIo
}
