package heap

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/tidwall/btree"

	"github.com/wasmrun/wasmrun/vfs"
)

// file is an open handle on an inode. It implements vfs.File.
type file struct {
	fsys   *FS
	n      *inode
	flags  vfs.OpenFlag
	closed atomic.Bool

	// listEnd is the highest entry sequence number a listing reports: the directory's last at
	// Open or at the last ReadDir from cookie 0. See ReadDir.
	listEnd atomic.Uint64

	rdMu sync.Mutex // guards rd; a ReadDir that finds it busy uses a scratch of its own
	rd   *readDirScratch
}

// readDirBatch is how many entries ReadDir copies out per hold of the namespace lock. The
// callback runs with no lock held, so it may call back into the FS.
const readDirBatch = 64

// readDirScratches pools the buffers of ReadDir: a File takes one at its first ReadDir and gives
// it back at Close, since most directories are opened, listed once and closed (os.walk, ls), and
// allocating the 4 KiB scratch per open was most of the cost of opening and listing one.
var readDirScratches = sync.Pool{New: func() any { return new(readDirScratch) }}

type readDirScratch struct {
	it    btree.IterG[dirent]
	ents  [readDirBatch]vfs.DirEntry
	ends  [readDirBatch]int
	names []byte
}

// check returns the errno for an operation that needs the access in need on a regular file.
func (f *file) check(need vfs.OpenFlag) vfs.Errno {
	switch {
	case f.closed.Load() || f.flags&need == 0:
		return vfs.EBADF
	case f.n.typ == vfs.TypeDir:
		return vfs.EISDIR
	case f.n.typ != vfs.TypeRegular:
		return vfs.EINVAL
	}
	return vfs.ESUCCESS
}

// ReadAt implements vfs.File.ReadAt. It takes only the inode's lock, shared, so reads of one
// file run in parallel. It sets atime as Linux's default relatime does: only when the file
// changed since it was last read.
// Errors: EBADF (closed, or not opened for reading), EISDIR, EINVAL (negative offset, or not a
// regular file).
func (f *file) ReadAt(p []byte, off int64) (int, vfs.Errno) {
	if e := f.check(vfs.OpenRead); e != 0 {
		return 0, e
	}
	if off < 0 {
		return 0, vfs.EINVAL
	}
	n := f.n
	n.mu.RLock()
	defer n.mu.RUnlock()
	if off >= n.size {
		return 0, vfs.ESUCCESS
	}
	if rest := n.size - off; int64(len(p)) > rest {
		p = p[:rest]
	}
	n.readPages(p, off)
	if at := n.atime.Load(); at <= n.mtime || at <= n.ctime {
		n.atime.Store(time.Now().UnixNano())
	}
	return len(p), vfs.ESUCCESS
}

// WriteAt implements vfs.File.WriteAt. Only the inode's lock is taken.
// Errors: EBADF (closed, or not opened for writing), EISDIR, EINVAL (negative offset, or not a
// regular file), EFBIG (past MaxFileSize), ENOSPC (MaxBytes reached: the count says how much was
// written).
func (f *file) WriteAt(p []byte, off int64) (int, vfs.Errno) {
	if e := f.check(vfs.OpenWrite); e != 0 {
		return 0, e
	}
	if off < 0 {
		return 0, vfs.EINVAL
	}
	n := f.n
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.write(f.fsys, p, off)
}

// Append implements vfs.File.Append: the write and the read of the size it lands at happen
// under one hold of the inode's lock. Errors: as WriteAt.
func (f *file) Append(p []byte) (int, int64, vfs.Errno) {
	if e := f.check(vfs.OpenWrite); e != 0 {
		return 0, 0, e
	}
	n := f.n
	n.mu.Lock()
	defer n.mu.Unlock()
	c, e := n.write(f.fsys, p, n.size)
	return c, n.size, e
}

// write is WriteAt with n.mu held exclusively.
func (n *inode) write(fsys *FS, p []byte, off int64) (int, vfs.Errno) {
	var errno vfs.Errno
	if off > MaxFileSize-int64(len(p)) {
		if off >= MaxFileSize {
			return 0, vfs.EFBIG
		}
		p, errno = p[:MaxFileSize-off], vfs.EFBIG
	}
	c := n.writePages(fsys, p, off)
	if c < len(p) {
		errno = vfs.ENOSPC
	}
	if c > 0 {
		if end := off + int64(c); end > n.size {
			n.size = end
		}
		now := time.Now().UnixNano()
		n.mtime, n.ctime = now, now
	}
	return c, errno
}

// ReadDir implements vfs.File.ReadDir. Entries come in creation order (a renamed entry counts
// as created in its new directory); a cookie is the creation sequence number of the entry
// reported last, so it stays valid whatever is added or removed (see dirent). A listing reports
// no entry created after it started (at Open, or at the last ReadDir from cookie 0), as Linux's
// tmpfs does, so it comes to an end even while entries keep being added: a guest that creates
// one file per file it lists in the same directory does not loop forever. fn is called with no
// lock held, so it may call back into the FS.
// Errors: EBADF (closed, or not opened for reading), ENOTDIR.
func (f *file) ReadDir(cookie uint64, fn func(e *vfs.DirEntry) bool) vfs.Errno {
	switch {
	case f.closed.Load() || f.flags&vfs.OpenRead == 0:
		return vfs.EBADF
	case f.n.typ != vfs.TypeDir:
		return vfs.ENOTDIR
	}
	var s *readDirScratch
	if f.rdMu.TryLock() {
		defer f.rdMu.Unlock()
		if f.rd == nil {
			f.rd = readDirScratches.Get().(*readDirScratch)
		}
		s = f.rd
	} else {
		s = readDirScratches.Get().(*readDirScratch)
		defer readDirScratches.Put(s)
	}
	for cookie < maxCookie-1 {
		k := f.fillReadDir(s, cookie)
		start := 0
		for i := range k {
			e := &s.ents[i]
			e.Name = s.names[start:s.ends[i]]
			start = s.ends[i]
			if !fn(e) {
				return vfs.ESUCCESS
			}
		}
		if k < readDirBatch {
			break
		}
		cookie = s.ents[k-1].Next
	}
	return vfs.ESUCCESS
}

// fillReadDir copies up to readDirBatch entries after cookie into s and returns how many.
func (f *file) fillReadDir(s *readDirScratch, cookie uint64) int {
	f.fsys.mu.RLock()
	defer f.fsys.mu.RUnlock()
	dir := f.n.dir
	if cookie == 0 {
		f.listEnd.Store(dir.lastSeq)
	}
	end := f.listEnd.Load()
	s.names = s.names[:0]
	k := 0
	s.it.Init(dir.bySeq, false)
	for ok := s.it.Seek(dirent{seq: cookie + 1}); ok && k < readDirBatch; ok = s.it.Next() {
		d := s.it.Item()
		if d.seq > end {
			break
		}
		s.ents[k] = vfs.DirEntry{Next: d.seq, Ino: d.node.ino, Type: d.node.typ}
		s.names = append(s.names, d.name...)
		s.ends[k] = len(s.names)
		k++
	}
	s.it.Release()
	return k
}

// Sync implements vfs.File.Sync. The heap is never durable, so there is nothing to do.
// Errors: EBADF (closed).
func (f *file) Sync(dataOnly bool) vfs.Errno {
	if f.closed.Load() {
		return vfs.EBADF
	}
	return vfs.ESUCCESS
}

// Close implements vfs.File.Close. The last Close of an unlinked inode releases it.
// Errors: EBADF (already closed).
func (f *file) Close() vfs.Errno {
	if !f.closed.CompareAndSwap(false, true) {
		return vfs.EBADF
	}
	if f.n.typ == vfs.TypeDir {
		f.rdMu.Lock()
		if f.rd != nil {
			readDirScratches.Put(f.rd)
			f.rd = nil
		}
		f.rdMu.Unlock()
	}
	n := f.n
	if n.open.Add(-1) == 0 && n.unlinked.Load() {
		f.fsys.mu.Lock()
		f.fsys.maybeRelease(n)
		f.fsys.mu.Unlock()
	}
	return vfs.ESUCCESS
}
