//go:build linux

package hostfs

import (
	"io"
	"os"
	"slices"
	"sync/atomic"

	"github.com/wasmrun/wasmrun/vfs"
	"golang.org/x/sys/unix"
)

// hostFile implements vfs.File over an *os.File.
type hostFile struct {
	fsys   *hostFS
	n      *hostNode
	f      *os.File
	flags  vfs.OpenFlag
	closed atomic.Bool
}

func (h *hostFile) check(need vfs.OpenFlag) vfs.Errno {
	switch {
	case h.closed.Load():
		return vfs.EBADF
	case h.n.typ == vfs.TypeDir:
		return vfs.EISDIR
	case h.flags&need == 0:
		return vfs.EBADF
	}
	return vfs.ESUCCESS
}

// ReadAt implements vfs.File.ReadAt.
func (h *hostFile) ReadAt(p []byte, off int64) (int, vfs.Errno) {
	if e := h.check(vfs.OpenRead); e != 0 {
		return 0, e
	}
	if off < 0 {
		return 0, vfs.EINVAL
	}
	n, err := h.f.ReadAt(p, off)
	if err == io.EOF {
		err = nil
	}
	return n, hostErrno(err)
}

// WriteAt implements vfs.File.WriteAt.
func (h *hostFile) WriteAt(p []byte, off int64) (int, vfs.Errno) {
	if e := h.check(vfs.OpenWrite); e != 0 {
		return 0, e
	}
	if off < 0 {
		return 0, vfs.EINVAL
	}
	n, err := h.f.WriteAt(p, off)
	return n, hostErrno(err)
}

// Append implements vfs.File.Append. Appends through this FS are atomic with respect to each
// other; a host process writing the same file at the same time may interleave.
func (h *hostFile) Append(p []byte) (int, int64, vfs.Errno) {
	if e := h.check(vfs.OpenWrite); e != 0 {
		return 0, 0, e
	}
	h.n.amu.Lock()
	defer h.n.amu.Unlock()
	fi, err := h.f.Stat()
	if err != nil {
		return 0, 0, hostErrno(err)
	}
	n, err := h.f.WriteAt(p, fi.Size())
	return n, fi.Size() + int64(n), hostErrno(err)
}

// hostDirBatch is how many entries ReadDir lstats per lock hold.
const hostDirBatch = 64

// ReadDir implements vfs.File.ReadDir.
func (h *hostFile) ReadDir(cookie uint64, fn func(e *vfs.DirEntry) bool) vfs.Errno {
	if h.closed.Load() {
		return vfs.EBADF
	}
	if h.n.typ != vfs.TypeDir {
		return vfs.ENOTDIR
	}
	type pending struct {
		cookie uint64
		name   string
	}
	fsys := h.fsys
	fsys.mu.Lock()
	if h.n.dead || fsys.closed {
		fsys.mu.Unlock()
		return vfs.ESUCCESS // removed: empty
	}
	r, e := fsys.dirRoot(h.n)
	if e != 0 {
		fsys.mu.Unlock()
		return e
	}
	names, err := readNames(r)
	if err != nil {
		fsys.mu.Unlock()
		return hostErrno(err)
	}
	var todo []pending
	seen := make(map[string]bool, len(names))
	for _, name := range names {
		seen[name] = true
		if c := h.n.cookie(name); c > cookie {
			todo = append(todo, pending{c, name})
		}
	}
	for name := range h.n.cookies {
		if !seen[name] {
			delete(h.n.cookies, name) // gone from the host
		}
	}
	fsys.mu.Unlock()
	slices.SortFunc(todo, func(a, b pending) int {
		switch {
		case a.cookie < b.cookie:
			return -1
		case a.cookie > b.cookie:
			return 1
		}
		return 0
	})
	var (
		ents [hostDirBatch]vfs.DirEntry
		buf  []byte
	)
	for len(todo) > 0 {
		batch := todo[:min(len(todo), hostDirBatch)]
		todo = todo[len(batch):]
		fsys.mu.Lock()
		r, e := fsys.dirRoot(h.n)
		if e != 0 {
			fsys.mu.Unlock()
			return e
		}
		k := 0
		for _, p := range batch {
			fi, err := r.Lstat(p.name)
			if err != nil {
				continue // removed since the listing
			}
			n := fsys.nodeFor(fi)
			n.addLoc(h.n.ino, p.name)
			ents[k] = vfs.DirEntry{Next: p.cookie, Ino: n.ino, Type: n.typ}
			start := len(buf)
			buf = append(buf, p.name...)
			ents[k].Name = buf[start:len(buf):len(buf)]
			k++
		}
		fsys.mu.Unlock()
		for i := 0; i < k; i++ {
			if !fn(&ents[i]) {
				return vfs.ESUCCESS
			}
		}
		buf = buf[:0]
	}
	return vfs.ESUCCESS
}

// readNames lists the names in directory r.
func readNames(r *os.Root) ([]string, error) {
	d, err := r.Open(".")
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.Readdirnames(-1)
}

// Sync implements vfs.File.Sync.
func (h *hostFile) Sync(dataOnly bool) vfs.Errno {
	if h.closed.Load() {
		return vfs.EBADF
	}
	if dataOnly && h.n.typ != vfs.TypeDir {
		return hostErrno(unix.Fdatasync(int(h.f.Fd())))
	}
	return hostErrno(h.f.Sync())
}

// Close implements vfs.File.Close.
func (h *hostFile) Close() vfs.Errno {
	if h.closed.Swap(true) {
		return vfs.EBADF
	}
	fsys := h.fsys
	fsys.mu.Lock()
	h.n.files = slices.DeleteFunc(h.n.files, func(f *os.File) bool { return f == h.f })
	if h.n.dead && len(h.n.files) == 0 {
		delete(fsys.nodes, h.n.ino)
	}
	fsys.mu.Unlock()
	return hostErrno(h.f.Close())
}
