//go:build linux

package heap

import (
	"errors"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// prefaultOff is set once the kernel has refused MADV_POPULATE_WRITE (Linux before 5.14).
var prefaultOff atomic.Bool

// prefault maps every 4 KiB page of a new page writable in one madvise(MADV_POPULATE_WRITE)
// call, before the write that is about to fill it. A page just allocated is often memory the Go
// runtime has only now obtained from the kernel, never touched: without this, copying into it
// takes one page fault per 4 KiB, a trap each, and on the benchmark VM those faults are what a
// 64 MiB write into a new file spent most of its time on (filling 4096 fresh 16 KiB pages:
// 40-45 ms with faults, 25-28 ms with prefault, 8 ms into pooled pages; the kernel's own work,
// zeroing and mapping, is 17-20 ms of it). The call changes no byte (the memory already reads as
// zeros, or as whatever Go cleared it to) and is cheap on memory already mapped.
func prefault(p *page) {
	if prefaultOff.Load() {
		return
	}
	// Go allocates 16 KiB objects 8 KiB-aligned; round inwards anyway, madvise wants page
	// alignment.
	b := p[:]
	if o := int(uintptr(unsafe.Pointer(&b[0])) & 4095); o != 0 {
		b = b[4096-o:]
	}
	b = b[:len(b)&^4095]
	if err := unix.Madvise(b, unix.MADV_POPULATE_WRITE); errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
		prefaultOff.Store(true)
	}
}
