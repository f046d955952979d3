package stats

import (
	"strconv"
	"sync/atomic"
	"time"

	"github.com/wasmrun/wasmrun/vfs"
)

// Op is a kind of operation that Counter counts: one per FS and File method, and Commit.
type Op uint8

// The operations, in the order Snapshot.Format lists them.
const (
	OpLookup   Op = iota // FS.Lookup
	OpStat               // FS.Stat
	OpSetAttr            // FS.SetAttr
	OpCreate             // FS.Create
	OpLink               // FS.Link
	OpRemove             // FS.Remove
	OpRename             // FS.Rename
	OpReadlink           // FS.Readlink
	OpOpen               // FS.Open
	OpClose              // File.Close
	OpRead               // File.ReadAt
	OpWrite              // File.WriteAt
	OpAppend             // File.Append
	OpReadDir            // File.ReadDir
	OpSync               // File.Sync
	OpCommit             // Committer.Commit

	NumOps = iota // the number of operations
)

var opNames = [NumOps]string{
	"lookup", "stat", "setattr", "create", "link", "remove", "rename", "readlink", "open",
	"close", "read", "write", "append", "readdir", "sync", "commit",
}

// String returns the lower-case name of the operation ("lookup", "readdir", ...).
func (o Op) String() string {
	if int(o) < len(opNames) {
		return opNames[o]
	}
	return "Op(" + strconv.Itoa(int(o)) + ")"
}

// BackendStatser is implemented by backends that keep figures of their own, which a wrapper
// cannot see: cache hits and misses, peak dirty bytes, commits made in the background or on
// Close. Counter.Stats includes them when anything on the wrapped FS's Unwrap chain (found
// with vfs.As, so also behind a read-only wrapper) implements it.
//
// Keys are short snake_case names. Snapshot.Format shows a value whose key ends in "_bytes" as a
// size and one whose key ends in "_ns" as a duration. BackendStats must be safe to call
// concurrently with every other method, and after Close.
type BackendStatser interface {
	BackendStats() map[string]int64
}

// OpStats are the figures of one kind of operation.
type OpStats struct {
	Count  int64 // calls
	Errors int64 // calls that returned an Errno other than ESUCCESS
}

// Latency summarises the durations of one kind of operation. The percentiles come from a
// histogram with 8 buckets per power of two, so each is exact to within 12.5% (and never
// above Max); Max and Total are exact.
type Latency struct {
	Count         int64
	Total         time.Duration
	P50, P90, P99 time.Duration
	Max           time.Duration
}

// Snapshot is what a Counter counted, at one moment.
type Snapshot struct {
	Ops          [NumOps]OpStats // by Op
	BytesRead    int64           // returned by File.ReadAt
	BytesWritten int64           // accepted by File.WriteAt and File.Append
	Sync         Latency         // File.Sync
	Commit       Latency         // Committer.Commit (not the backend's own commits)
	// Backend holds the wrapped backend's own figures (BackendStatser); nil if it has none.
	Backend map[string]int64
}

// Counter counts the operations made on a backend: calls and errors by kind, bytes read and
// written, and the latency of Sync and Commit. Counting is a few atomic adds per call and
// allocates nothing; timing (Sync and Commit only) adds two clock reads. Make one with
// Wrap, mount its FS, and read it with Stats at any time, from any goroutine.
//
// Counter sees only the calls that go through it: a commit a backend makes by itself (in the
// background, or in Close) is not counted, unless the backend reports it through
// BackendStatser.
type Counter struct {
	ops     [NumOps]opCounter
	read    paddedInt64
	written paddedInt64
	sync    Histogram
	commit  Histogram

	fs   vfs.FS
	view vfs.FS
}

// opCounter is padded to a cache line so that goroutines counting different operations do not
// contend for one line.
type opCounter struct {
	n, errs atomic.Int64
	_       [48]byte
}

type paddedInt64 struct {
	atomic.Int64
	_ [56]byte
}

// Wrap wraps fsys so that every operation made through the wrapper is counted. Mount
// c.FS(), not fsys; c.Stats() reads the counters.
func Wrap(fsys vfs.FS) *Counter {
	c := &Counter{fs: fsys}
	v := &view{c}
	// The one capability the view changes is Commit, which it counts and times: it has it
	// exactly when something down fsys's chain does. Every other capability is found through
	// the view's Unwrap.
	if cm, ok := vfs.As[vfs.Committer](fsys); ok {
		c.view = &commitView{v, cm}
	} else {
		c.view = v
	}
	return c
}

// FS returns the counting view of the wrapped backend, to mount in its place. It is a
// vfs.Wrapper: every optional capability of the backend is found through it with vfs.As;
// Commit is counted and timed, the others (Close, Usage, a backend's own figures) are the
// backend's. Its methods return what the wrapped FS returns.
func (s *Counter) FS() vfs.FS { return s.view }

// Unwrap returns the wrapped FS, for the calls a caller makes on a backend's own type (a store's
// Fsck). Calls made on it directly are not counted.
func (s *Counter) Unwrap() vfs.FS { return s.fs }

// Stats returns a snapshot of the counters, with the backend's own figures if it implements
// BackendStatser. Counters are read one by one while operations may go on, so figures of a
// busy FS may be a few operations apart from each other.
func (s *Counter) Stats() Snapshot {
	var st Snapshot
	for i := range s.ops {
		st.Ops[i] = OpStats{Count: s.ops[i].n.Load(), Errors: s.ops[i].errs.Load()}
	}
	st.BytesRead = s.read.Load()
	st.BytesWritten = s.written.Load()
	st.Sync = s.sync.Latency()
	st.Commit = s.commit.Latency()
	if b, ok := vfs.As[BackendStatser](s.fs); ok {
		st.Backend = b.BackendStats()
	}
	return st
}

func (s *Counter) count(op Op, e vfs.Errno) {
	c := &s.ops[op]
	c.n.Add(1)
	if e != vfs.ESUCCESS {
		c.errs.Add(1)
	}
}

// view implements vfs.FS for Counter.FS: each method calls the wrapped FS and counts.
type view struct{ s *Counter }

// Unwrap implements vfs.Wrapper.
func (v *view) Unwrap() vfs.FS { return v.s.fs }

// Root implements vfs.FS.Root; it is not counted.
func (v *view) Root() vfs.Ino { return v.s.fs.Root() }

// Lookup implements vfs.FS.Lookup.
func (v *view) Lookup(dir vfs.Ino, name string) (vfs.Ino, vfs.FileType, vfs.Errno) {
	ino, typ, e := v.s.fs.Lookup(dir, name)
	v.s.count(OpLookup, e)
	return ino, typ, e
}

// Stat implements vfs.FS.Stat.
func (v *view) Stat(ino vfs.Ino) (vfs.Stat, vfs.Errno) {
	st, e := v.s.fs.Stat(ino)
	v.s.count(OpStat, e)
	return st, e
}

// SetAttr implements vfs.FS.SetAttr.
func (v *view) SetAttr(ino vfs.Ino, a *vfs.Attr) vfs.Errno {
	e := v.s.fs.SetAttr(ino, a)
	v.s.count(OpSetAttr, e)
	return e
}

// Create implements vfs.FS.Create.
func (v *view) Create(dir vfs.Ino, name string, typ vfs.FileType, perm uint32, target string) (vfs.Ino, vfs.Errno) {
	ino, e := v.s.fs.Create(dir, name, typ, perm, target)
	v.s.count(OpCreate, e)
	return ino, e
}

// Link implements vfs.FS.Link.
func (v *view) Link(ino vfs.Ino, dir vfs.Ino, name string) vfs.Errno {
	e := v.s.fs.Link(ino, dir, name)
	v.s.count(OpLink, e)
	return e
}

// Remove implements vfs.FS.Remove.
func (v *view) Remove(dir vfs.Ino, name string, dirOnly bool) vfs.Errno {
	e := v.s.fs.Remove(dir, name, dirOnly)
	v.s.count(OpRemove, e)
	return e
}

// Rename implements vfs.FS.Rename.
func (v *view) Rename(oldDir vfs.Ino, oldName string, newDir vfs.Ino, newName string) vfs.Errno {
	e := v.s.fs.Rename(oldDir, oldName, newDir, newName)
	v.s.count(OpRename, e)
	return e
}

// Readlink implements vfs.FS.Readlink.
func (v *view) Readlink(ino vfs.Ino) (string, vfs.Errno) {
	t, e := v.s.fs.Readlink(ino)
	v.s.count(OpReadlink, e)
	return t, e
}

// Open implements vfs.FS.Open. The File it returns counts its own operations.
func (v *view) Open(ino vfs.Ino, flags vfs.OpenFlag) (vfs.File, vfs.Errno) {
	f, e := v.s.fs.Open(ino, flags)
	v.s.count(OpOpen, e)
	if e != vfs.ESUCCESS {
		return nil, e
	}
	return &statsFile{f: f, s: v.s}, vfs.ESUCCESS
}

// commitView is the view of a backend with a Committer: it counts and times Commit.
type commitView struct {
	*view
	c vfs.Committer
}

// Commit implements vfs.Committer.Commit.
func (v *commitView) Commit() vfs.Errno {
	start := time.Now()
	e := v.c.Commit()
	v.s.commit.Record(time.Since(start))
	v.s.count(OpCommit, e)
	return e
}

// statsFile implements vfs.File for Counter.
type statsFile struct {
	f vfs.File
	s *Counter
}

// ReadAt implements vfs.File.ReadAt.
func (f *statsFile) ReadAt(p []byte, off int64) (int, vfs.Errno) {
	n, e := f.f.ReadAt(p, off)
	f.s.count(OpRead, e)
	if n > 0 {
		f.s.read.Add(int64(n))
	}
	return n, e
}

// WriteAt implements vfs.File.WriteAt.
func (f *statsFile) WriteAt(p []byte, off int64) (int, vfs.Errno) {
	n, e := f.f.WriteAt(p, off)
	f.s.count(OpWrite, e)
	if n > 0 {
		f.s.written.Add(int64(n))
	}
	return n, e
}

// Append implements vfs.File.Append.
func (f *statsFile) Append(p []byte) (int, int64, vfs.Errno) {
	n, size, e := f.f.Append(p)
	f.s.count(OpAppend, e)
	if n > 0 {
		f.s.written.Add(int64(n))
	}
	return n, size, e
}

// ReadDir implements vfs.File.ReadDir; one call is one operation, however many entries it lists.
func (f *statsFile) ReadDir(cookie uint64, fn func(e *vfs.DirEntry) bool) vfs.Errno {
	e := f.f.ReadDir(cookie, fn)
	f.s.count(OpReadDir, e)
	return e
}

// Sync implements vfs.File.Sync, timed.
func (f *statsFile) Sync(dataOnly bool) vfs.Errno {
	start := time.Now()
	e := f.f.Sync(dataOnly)
	f.s.sync.Record(time.Since(start))
	f.s.count(OpSync, e)
	return e
}

// Close implements vfs.File.Close.
func (f *statsFile) Close() vfs.Errno {
	e := f.f.Close()
	f.s.count(OpClose, e)
	return e
}
