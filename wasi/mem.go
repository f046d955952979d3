package wasi

import (
	"github.com/tetratelabs/wazero/api"
	"github.com/wasmrun/wasmrun/vfs"
)

// Guest memory access. Every pointer and length the guest passes goes through these helpers,
// which bounds-check through api.Memory (a module without memory has no valid pointer at all) and
// report EFAULT instead of panicking. Views returned by view alias guest memory: they are used
// within one host call, which cannot grow the memory, and never kept.

// view returns the n bytes at off, or false if any is outside memory.
func view(m api.Memory, off, n uint32) ([]byte, bool) {
	if m == nil {
		return nil, false
	}
	return m.Read(off, n)
}

// viewN returns count records of size bytes at off; the product may not overflow 32 bits.
func viewN(m api.Memory, off, count, size uint32) ([]byte, bool) {
	total := uint64(count) * uint64(size)
	if total > 1<<32-1 {
		return nil, false
	}
	return view(m, off, uint32(total))
}

func writeU32(m api.Memory, off, v uint32) bool {
	b, ok := view(m, off, 4)
	if ok {
		le.PutUint32(b, v)
	}
	return ok
}

func writeU64(m api.Memory, off uint32, v uint64) bool {
	b, ok := view(m, off, 8)
	if ok {
		le.PutUint64(b, v)
	}
	return ok
}

// readString copies the n bytes at off into a string (a path or a symlink target). Errors:
// EFAULT, ENAMETOOLONG (longer than vfs.PathMax, checked after the bounds, before copying).
func readString(m api.Memory, off, n uint32) (string, vfs.Errno) {
	b, ok := view(m, off, n)
	if !ok {
		return "", vfs.EFAULT
	}
	if n > vfs.PathMax {
		return "", vfs.ENAMETOOLONG
	}
	return string(b), vfs.ESUCCESS
}

// iovecs decodes count iovec records at iovs into p.iovs (reused), each a view of the guest
// buffer it names, and returns them with their total length. The records are decoded before any
// I/O, as readv(2) copies its iovec array, so a read into the array itself changes nothing.
// Errors: EFAULT (the array or a buffer outside memory), EINVAL (more than iovMax records, or the
// total exceeds the guest's SSIZE_MAX, 2^31-1, as readv(2) and writev(2)).
// iovMax is Linux's IOV_MAX.
const iovMax = 1024

func (p *Process) iovecs(m api.Memory, iovs, count uint32) ([][]byte, vfs.Errno) {
	arr, ok := viewN(m, iovs, count, sizeIovec)
	if !ok {
		return nil, vfs.EFAULT
	}
	if count > iovMax {
		return nil, vfs.EINVAL
	}
	p.iovs = p.iovs[:0]
	var total uint64
	for i := uint32(0); i < count; i++ {
		rec := arr[i*sizeIovec : i*sizeIovec+sizeIovec]
		v, ok := view(m, le.Uint32(rec), le.Uint32(rec[4:]))
		if !ok {
			return nil, vfs.EFAULT
		}
		total += uint64(len(v))
		p.iovs = append(p.iovs, v)
	}
	if total > 1<<31-1 {
		return nil, vfs.EINVAL
	}
	return p.iovs, vfs.ESUCCESS
}

// memory returns the calling module's memory, or nil if it has none. wazero's Module.Memory
// returns a nil *MemoryInstance inside a non-nil api.Memory for a module without memory, which
// no method can be called on; whether the module has memory is found out once per module (by
// a guarded call) and cached on the Process, so the check costs nothing per call.
func (p *Process) memory(mod api.Module) api.Memory {
	if mod != p.memMod {
		p.memMod = mod
		p.mem = mod.Memory()
		if p.mem != nil && !usable(p.mem) {
			p.mem = nil
		}
	}
	return p.mem
}

func usable(m api.Memory) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	m.Size()
	return true
}
