package vfs

import (
	"fmt"
	"io"
	"math"
	"math/bits"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Op is a kind of operation that StatsFS counts: one per FS and File method, and Commit.
type Op uint8

// The operations, in the order Stats.Format lists them.
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
// Close. StatsFS.Stats includes them when the wrapped FS implements it.
//
// Keys are short snake_case names. Stats.Format shows a value whose key ends in "_bytes" as a
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

// Stats is a snapshot of what a StatsFS counted.
type Stats struct {
	Ops          [NumOps]OpStats // by Op
	BytesRead    int64           // returned by File.ReadAt
	BytesWritten int64           // accepted by File.WriteAt and File.Append
	Sync         Latency         // File.Sync
	Commit       Latency         // Committer.Commit (not the backend's own commits)
	// Backend holds the wrapped backend's own figures (BackendStatser); nil if it has none.
	Backend map[string]int64
}

// StatsFS counts the operations made on a backend: calls and errors by kind, bytes read and
// written, and the latency of Sync and Commit. Counting is a few atomic adds per call and
// allocates nothing; timing (Sync and Commit only) adds two clock reads. Make one with
// WithStats, mount its FS, and read it with Stats at any time, from any goroutine.
//
// StatsFS sees only the calls that go through it: a commit a backend makes by itself (in the
// background, or in Close) is not counted, unless the backend reports it through
// BackendStatser.
type StatsFS struct {
	ops     [NumOps]opCounter
	read    paddedInt64
	written paddedInt64
	sync    Histogram
	commit  Histogram

	fs   FS
	view FS
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

// WithStats wraps fsys so that every operation made through the wrapper is counted. Mount
// s.FS(), not fsys; s.Stats() reads the counters.
func WithStats(fsys FS) *StatsFS {
	s := &StatsFS{fs: fsys}
	v := &statsView{s}
	c, isC := fsys.(Committer)
	cl, isCl := fsys.(Closer)
	u, isU := fsys.(Usager)
	sc := statsCommit{s, c}
	switch {
	case isC && isCl && isU:
		s.view = struct {
			*statsView
			Committer
			Closer
			Usager
		}{v, sc, cl, u}
	case isC && isCl:
		s.view = struct {
			*statsView
			Committer
			Closer
		}{v, sc, cl}
	case isC && isU:
		s.view = struct {
			*statsView
			Committer
			Usager
		}{v, sc, u}
	case isCl && isU:
		s.view = struct {
			*statsView
			Closer
			Usager
		}{v, cl, u}
	case isC:
		s.view = struct {
			*statsView
			Committer
		}{v, sc}
	case isCl:
		s.view = struct {
			*statsView
			Closer
		}{v, cl}
	case isU:
		s.view = struct {
			*statsView
			Usager
		}{v, u}
	default:
		s.view = v
	}
	return s
}

// FS returns the counting view of the wrapped backend, to mount in its place. It implements
// Committer, Closer and Usager exactly when the wrapped FS does: Commit is counted and timed,
// Close and Usage are forwarded as they are. Its methods return what the wrapped FS returns.
func (s *StatsFS) FS() FS { return s.view }

// Unwrap returns the wrapped FS, for the calls a caller makes on a backend's own type (a store's
// Fsck). Calls made on it directly are not counted.
func (s *StatsFS) Unwrap() FS { return s.fs }

// Stats returns a snapshot of the counters, with the backend's own figures if it implements
// BackendStatser. Counters are read one by one while operations may go on, so figures of a
// busy FS may be a few operations apart from each other.
func (s *StatsFS) Stats() Stats {
	var st Stats
	for i := range s.ops {
		st.Ops[i] = OpStats{Count: s.ops[i].n.Load(), Errors: s.ops[i].errs.Load()}
	}
	st.BytesRead = s.read.Load()
	st.BytesWritten = s.written.Load()
	st.Sync = s.sync.Latency()
	st.Commit = s.commit.Latency()
	if b, ok := s.fs.(BackendStatser); ok {
		st.Backend = b.BackendStats()
	}
	return st
}

func (s *StatsFS) count(op Op, e Errno) {
	c := &s.ops[op]
	c.n.Add(1)
	if e != ESUCCESS {
		c.errs.Add(1)
	}
}

// statsView implements FS for StatsFS.FS: each method calls the wrapped FS and counts.
type statsView struct{ s *StatsFS }

// Root implements FS.Root; it is not counted.
func (v *statsView) Root() Ino { return v.s.fs.Root() }

// Lookup implements FS.Lookup.
func (v *statsView) Lookup(dir Ino, name string) (Ino, FileType, Errno) {
	ino, typ, e := v.s.fs.Lookup(dir, name)
	v.s.count(OpLookup, e)
	return ino, typ, e
}

// Stat implements FS.Stat.
func (v *statsView) Stat(ino Ino) (Stat, Errno) {
	st, e := v.s.fs.Stat(ino)
	v.s.count(OpStat, e)
	return st, e
}

// SetAttr implements FS.SetAttr.
func (v *statsView) SetAttr(ino Ino, a *Attr) Errno {
	e := v.s.fs.SetAttr(ino, a)
	v.s.count(OpSetAttr, e)
	return e
}

// Create implements FS.Create.
func (v *statsView) Create(dir Ino, name string, typ FileType, perm uint32, target string) (Ino, Errno) {
	ino, e := v.s.fs.Create(dir, name, typ, perm, target)
	v.s.count(OpCreate, e)
	return ino, e
}

// Link implements FS.Link.
func (v *statsView) Link(ino Ino, dir Ino, name string) Errno {
	e := v.s.fs.Link(ino, dir, name)
	v.s.count(OpLink, e)
	return e
}

// Remove implements FS.Remove.
func (v *statsView) Remove(dir Ino, name string, dirOnly bool) Errno {
	e := v.s.fs.Remove(dir, name, dirOnly)
	v.s.count(OpRemove, e)
	return e
}

// Rename implements FS.Rename.
func (v *statsView) Rename(oldDir Ino, oldName string, newDir Ino, newName string) Errno {
	e := v.s.fs.Rename(oldDir, oldName, newDir, newName)
	v.s.count(OpRename, e)
	return e
}

// Readlink implements FS.Readlink.
func (v *statsView) Readlink(ino Ino) (string, Errno) {
	t, e := v.s.fs.Readlink(ino)
	v.s.count(OpReadlink, e)
	return t, e
}

// Open implements FS.Open. The File it returns counts its own operations.
func (v *statsView) Open(ino Ino, flags OpenFlag) (File, Errno) {
	f, e := v.s.fs.Open(ino, flags)
	v.s.count(OpOpen, e)
	if e != ESUCCESS {
		return nil, e
	}
	return &statsFile{f: f, s: v.s}, ESUCCESS
}

// statsCommit is the Committer of a StatsFS view: it counts and times Commit.
type statsCommit struct {
	s *StatsFS
	c Committer
}

// Commit implements Committer.Commit.
func (c statsCommit) Commit() Errno {
	start := time.Now()
	e := c.c.Commit()
	c.s.commit.Record(time.Since(start))
	c.s.count(OpCommit, e)
	return e
}

// statsFile implements File for StatsFS.
type statsFile struct {
	f File
	s *StatsFS
}

// ReadAt implements File.ReadAt.
func (f *statsFile) ReadAt(p []byte, off int64) (int, Errno) {
	n, e := f.f.ReadAt(p, off)
	f.s.count(OpRead, e)
	if n > 0 {
		f.s.read.Add(int64(n))
	}
	return n, e
}

// WriteAt implements File.WriteAt.
func (f *statsFile) WriteAt(p []byte, off int64) (int, Errno) {
	n, e := f.f.WriteAt(p, off)
	f.s.count(OpWrite, e)
	if n > 0 {
		f.s.written.Add(int64(n))
	}
	return n, e
}

// Append implements File.Append.
func (f *statsFile) Append(p []byte) (int, int64, Errno) {
	n, size, e := f.f.Append(p)
	f.s.count(OpAppend, e)
	if n > 0 {
		f.s.written.Add(int64(n))
	}
	return n, size, e
}

// ReadDir implements File.ReadDir; one call is one operation, however many entries it lists.
func (f *statsFile) ReadDir(cookie uint64, fn func(e *DirEntry) bool) Errno {
	e := f.f.ReadDir(cookie, fn)
	f.s.count(OpReadDir, e)
	return e
}

// Sync implements File.Sync, timed.
func (f *statsFile) Sync(dataOnly bool) Errno {
	start := time.Now()
	e := f.f.Sync(dataOnly)
	f.s.sync.Record(time.Since(start))
	f.s.count(OpSync, e)
	return e
}

// Close implements File.Close.
func (f *statsFile) Close() Errno {
	e := f.f.Close()
	f.s.count(OpClose, e)
	return e
}

// Histogram records durations for latency percentiles: a log-linear histogram in nanoseconds
// with fixed buckets (one per value below 8 ns, then 8 per power of two, so each bucket is at
// most 12.5% wide; 2^44 ns, about 4.9 hours, and more share the last), plus the exact count,
// total and maximum. Record is a few atomic adds and allocates nothing. The zero Histogram is
// ready to use; it is safe for concurrent use and must not be copied after first use. It takes
// about 2.7 KB.
type Histogram struct {
	buckets [histBuckets]atomic.Int64
	count   atomic.Int64
	total   atomic.Int64
	max     atomic.Int64
}

const (
	histSubBits = 3
	histSub     = 1 << histSubBits
	histMaxExp  = 44
	histBuckets = (histMaxExp - histSubBits + 1) * histSub
)

// histIndex returns the bucket of v (>= 0).
func histIndex(v uint64) int {
	if v < histSub {
		return int(v)
	}
	e := bits.Len64(v) - 1 // v is in [2^e, 2^(e+1))
	if e >= histMaxExp {
		return histBuckets - 1
	}
	sub := int(v>>(e-histSubBits)) & (histSub - 1)
	return (e-histSubBits+1)*histSub + sub
}

// histUpper returns the largest value of bucket i.
func histUpper(i int) uint64 {
	if i < histSub {
		return uint64(i)
	}
	e := i/histSub + histSubBits - 1
	sub := uint64(i % histSub)
	return (histSub+sub+1)<<(e-histSubBits) - 1
}

// Record adds one duration; a negative one counts as 0.
func (h *Histogram) Record(d time.Duration) {
	v := int64(d)
	if v < 0 {
		v = 0
	}
	h.buckets[histIndex(uint64(v))].Add(1)
	h.count.Add(1)
	h.total.Add(v)
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			return
		}
	}
}

// Latency summarises what h recorded so far. Each percentile is the upper bound of the bucket
// holding it, capped at Max: never below the true value, and at most 12.5% above it (a
// percentile in the last bucket, past 2^44 ns, is Max).
func (h *Histogram) Latency() Latency {
	var counts [histBuckets]int64
	var n int64
	for i := range h.buckets {
		counts[i] = h.buckets[i].Load()
		n += counts[i]
	}
	l := Latency{Count: n, Total: time.Duration(h.total.Load()), Max: time.Duration(h.max.Load())}
	if n == 0 {
		return l
	}
	quantile := func(q float64) time.Duration {
		// The rank of the smallest value with at least q of the values at or below it.
		rank := max(int64(math.Ceil(q*float64(n))), 1)
		var seen int64
		for i, c := range counts {
			seen += c
			if seen >= rank {
				if i == histBuckets-1 { // the last bucket has no upper bound
					return l.Max
				}
				return min(time.Duration(histUpper(i)), l.Max)
			}
		}
		return l.Max
	}
	l.P50, l.P90, l.P99 = quantile(0.50), quantile(0.90), quantile(0.99)
	return l
}

// Format writes s as a compact block of text headed by mountPath, the way the CLI's --stats
// prints each mount at exit:
//
//	/data
//	  ops      lookup 120 (20 failed), stat 340, create 12, open 50, close 50, read 200, write 400, sync 3, commit 1
//	  bytes    read 1.20 MiB, written 3.40 MiB
//	  sync     3, p50 1.20ms, p90 2.00ms, p99 2.00ms, max 2.10ms
//	  commit   1, p50 4.50ms, p90 4.50ms, p99 4.50ms, max 4.50ms
//	  backend  cache_hits 1234, cache_misses 56, peak_dirty_bytes 4.00 MiB
//
// Operations never called are left out, as are the sync, commit and backend lines when they
// have nothing to show. The error is w's.
func (s Stats) Format(w io.Writer, mountPath string) error {
	var b strings.Builder
	b.WriteString(mountPath)
	b.WriteString("\n  ops      ")
	some := false
	for i, o := range s.Ops {
		if o.Count == 0 {
			continue
		}
		if some {
			b.WriteString(", ")
		}
		some = true
		fmt.Fprintf(&b, "%s %d", Op(i), o.Count)
		if o.Errors > 0 {
			fmt.Fprintf(&b, " (%d failed)", o.Errors)
		}
	}
	if !some {
		b.WriteString("none")
	}
	fmt.Fprintf(&b, "\n  bytes    read %s, written %s\n", fmtBytes(s.BytesRead), fmtBytes(s.BytesWritten))
	for _, l := range []struct {
		name string
		lat  Latency
	}{{"sync", s.Sync}, {"commit", s.Commit}} {
		if l.lat.Count == 0 {
			continue
		}
		fmt.Fprintf(&b, "  %-8s %d, p50 %s, p90 %s, p99 %s, max %s\n", l.name, l.lat.Count,
			fmtDuration(l.lat.P50), fmtDuration(l.lat.P90), fmtDuration(l.lat.P99), fmtDuration(l.lat.Max))
	}
	if len(s.Backend) > 0 {
		keys := make([]string, 0, len(s.Backend))
		for k := range s.Backend {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteString("  backend  ")
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			v := s.Backend[k]
			switch {
			case strings.HasSuffix(k, "_bytes"):
				fmt.Fprintf(&b, "%s %s", k, fmtBytes(v))
			case strings.HasSuffix(k, "_ns"):
				fmt.Fprintf(&b, "%s %s", k, fmtDuration(time.Duration(v)))
			default:
				fmt.Fprintf(&b, "%s %d", k, v)
			}
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// String returns s formatted as by Format, without the heading line.
func (s Stats) String() string {
	var b strings.Builder
	s.Format(&b, "")
	_, rest, _ := strings.Cut(b.String(), "\n")
	return rest
}

// fmtBytes shows n bytes with a binary unit and three significant digits ("512 B", "1.50 KiB",
// "12.3 MiB").
func fmtBytes(n int64) string {
	if n < 1024 && n > -1024 {
		return strconv.FormatInt(n, 10) + " B"
	}
	v := float64(n)
	for _, unit := range []string{"KiB", "MiB", "GiB", "TiB"} {
		v /= 1024
		if v < 1024 && v > -1024 || unit == "TiB" {
			return fmtSig3(v) + " " + unit
		}
	}
	panic("unreachable")
}

// fmtDuration shows d with three significant digits ("850ns", "12.3µs", "4.56ms", "1.23s").
func fmtDuration(d time.Duration) string {
	switch {
	case d < time.Microsecond:
		return strconv.FormatInt(int64(d), 10) + "ns"
	case d < time.Millisecond:
		return fmtSig3(float64(d)/1e3) + "µs"
	case d < time.Second:
		return fmtSig3(float64(d)/1e6) + "ms"
	}
	return fmtSig3(d.Seconds()) + "s"
}

// fmtSig3 shows v (at least 1 in magnitude) with three significant digits.
func fmtSig3(v float64) string {
	a := v
	if a < 0 {
		a = -a
	}
	switch {
	case a >= 99.95:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 9.995:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}
