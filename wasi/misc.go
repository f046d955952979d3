package wasi

import (
	"context"
	"io"
	"runtime"

	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"

	"github.com/wasmrun/wasmrun/vfs"
)

func u32(v uint64) uint32 { return uint32(v) }

// listSizes returns the count of strings and the bytes they take NUL-terminated.
func listSizes(list []string) (count, size uint32) {
	for _, s := range list {
		size += uint32(len(s)) + 1
	}
	return uint32(len(list)), size
}

// writeList writes list as args_get and environ_get lay it out: ptrs gets one u32 pointer per
// string, buf the strings, each NUL-terminated, back to back. Both regions are checked before
// anything is written.
func writeList(m api.Memory, list []string, ptrs, buf uint32) vfs.Errno {
	count, size := listSizes(list)
	pv, ok := viewN(m, ptrs, count, 4)
	if !ok {
		return vfs.EFAULT
	}
	bv, ok := view(m, buf, size)
	if !ok {
		return vfs.EFAULT
	}
	pos := uint32(0)
	for i, s := range list {
		le.PutUint32(pv[i*4:], buf+pos)
		pos += uint32(copy(bv[pos:], s))
		bv[pos] = 0
		pos++
	}
	return vfs.ESUCCESS
}

func writeSizes(m api.Memory, list []string, countPtr, sizePtr uint32) vfs.Errno {
	count, size := listSizes(list)
	if _, ok := view(m, countPtr, 4); !ok {
		return vfs.EFAULT
	}
	if !writeU32(m, sizePtr, size) {
		return vfs.EFAULT
	}
	writeU32(m, countPtr, count)
	return vfs.ESUCCESS
}

// argsGet implements args_get(argv, argv_buf). Errors: EFAULT.
func argsGet(_ context.Context, mod api.Module, p *Process, s []uint64) vfs.Errno {
	_ = s[1]
	return writeList(p.memory(mod), p.args, u32(s[0]), u32(s[1]))
}

// argsSizesGet implements args_sizes_get() -> (argc, argv_buf_size). Errors: EFAULT.
func argsSizesGet(_ context.Context, mod api.Module, p *Process, s []uint64) vfs.Errno {
	_ = s[1]
	return writeSizes(p.memory(mod), p.args, u32(s[0]), u32(s[1]))
}

// environGet implements environ_get(environ, environ_buf). Errors: EFAULT.
func environGet(_ context.Context, mod api.Module, p *Process, s []uint64) vfs.Errno {
	_ = s[1]
	return writeList(p.memory(mod), p.env, u32(s[0]), u32(s[1]))
}

// environSizesGet implements environ_sizes_get() -> (environc, environ_buf_size). Errors: EFAULT.
func environSizesGet(_ context.Context, mod api.Module, p *Process, s []uint64) vfs.Errno {
	_ = s[1]
	return writeSizes(p.memory(mod), p.env, u32(s[0]), u32(s[1]))
}

// clockNow reads clock id. The CPU-time clocks are emulated as the monotonic time since the
// Process was made: a preview1 guest has one thread, which is at most that busy. Errors: EINVAL
// (unknown clock).
func (p *Process) clockNow(id uint32) (int64, vfs.Errno) {
	switch id {
	case clockRealtime:
		return p.wall(), vfs.ESUCCESS
	case clockMonotonic:
		return p.nano(), vfs.ESUCCESS
	case clockProcessCPU, clockThreadCPU:
		return p.nano() - p.started, vfs.ESUCCESS
	}
	return 0, vfs.EINVAL
}

// clockResGet implements clock_res_get(id) -> timestamp: 1µs for the real-time clock, 1ns for
// the others. Errors: EINVAL (unknown clock), EFAULT.
func clockResGet(_ context.Context, mod api.Module, p *Process, s []uint64) vfs.Errno {
	_ = s[1]
	var res uint64
	switch u32(s[0]) {
	case clockRealtime:
		res = 1000
	case clockMonotonic, clockProcessCPU, clockThreadCPU:
		res = 1
	default:
		return vfs.EINVAL
	}
	if !writeU64(p.memory(mod), u32(s[1]), res) {
		return vfs.EFAULT
	}
	return vfs.ESUCCESS
}

// clockTimeGet implements clock_time_get(id, precision) -> timestamp; precision is ignored.
// Errors: EINVAL (unknown clock), EFAULT.
func clockTimeGet(_ context.Context, mod api.Module, p *Process, s []uint64) vfs.Errno {
	_ = s[2]
	t, e := p.clockNow(u32(s[0]))
	if e != vfs.ESUCCESS {
		return e
	}
	if !writeU64(p.memory(mod), u32(s[2]), uint64(t)) {
		return vfs.EFAULT
	}
	return vfs.ESUCCESS
}

// procExit implements proc_exit(rval): it closes the calling module with the exit code and
// unwinds the guest with *sys.ExitError, as wazero's own WASI does, so the caller of the guest
// sees the code. It does not need a Process.
func procExit(ctx context.Context, mod api.Module, s []uint64) {
	code := u32(s[0])
	_ = mod.CloseWithExitCode(ctx, code)
	panic(sys.NewExitError(code))
}

// procRaise implements proc_raise(sig): signals are not supported. Errors: ENOSYS.
func procRaise(context.Context, api.Module, *Process, []uint64) vfs.Errno { return vfs.ENOSYS }

// schedYield implements sched_yield by yielding the goroutine. It never fails.
func schedYield(context.Context, api.Module, *Process, []uint64) vfs.Errno {
	runtime.Gosched()
	return vfs.ESUCCESS
}

// randomGet implements random_get(buf, buf_len) from Config.Rand. Errors: EFAULT, EIO (the
// source failed).
func randomGet(_ context.Context, mod api.Module, p *Process, s []uint64) vfs.Errno {
	_ = s[1]
	b, ok := view(p.memory(mod), u32(s[0]), u32(s[1]))
	if !ok {
		return vfs.EFAULT
	}
	if _, err := io.ReadFull(p.rand, b); err != nil {
		return vfs.EIO
	}
	return vfs.ESUCCESS
}

// sockFd checks that fd is open: the sock_* functions answer EBADF for a closed fd and ENOTSOCK
// for any open one, since no socket can be opened (preview1 has no call that makes one, and
// wasmrun preopens none), as Linux answers for a file.
func sockFd(p *Process, fd uint32) vfs.Errno {
	if p.fds.get(fd) == nil {
		return vfs.EBADF
	}
	return vfs.ENOTSOCK
}

// sockAccept implements sock_accept. Errors: EBADF, ENOTSOCK.
func sockAccept(_ context.Context, _ api.Module, p *Process, s []uint64) vfs.Errno {
	_ = s[2]
	return sockFd(p, u32(s[0]))
}

// sockRecv implements sock_recv. Errors: EBADF, ENOTSOCK.
func sockRecv(_ context.Context, _ api.Module, p *Process, s []uint64) vfs.Errno {
	_ = s[5]
	return sockFd(p, u32(s[0]))
}

// sockSend implements sock_send. Errors: EBADF, ENOTSOCK.
func sockSend(_ context.Context, _ api.Module, p *Process, s []uint64) vfs.Errno {
	_ = s[4]
	return sockFd(p, u32(s[0]))
}

// sockShutdown implements sock_shutdown. Errors: EBADF, ENOTSOCK.
func sockShutdown(_ context.Context, _ api.Module, p *Process, s []uint64) vfs.Errno {
	_ = s[1]
	return sockFd(p, u32(s[0]))
}
