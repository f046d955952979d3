package stats_test

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/wasmrun/wasmrun/heap"
	"github.com/wasmrun/wasmrun/stable"
	"github.com/wasmrun/wasmrun/vfs"
	"github.com/wasmrun/wasmrun/vfs/hostfs"
	"github.com/wasmrun/wasmrun/vfs/iofs"
	"github.com/wasmrun/wasmrun/vfs/readonly"
	"github.com/wasmrun/wasmrun/vfs/stats"
	"github.com/wasmrun/wasmrun/vfs/vfstest"
)

// caps is the set of optional capabilities found through fsys's Unwrap chain (vfs.As), as a
// string such as "C-U-".
func caps(fsys vfs.FS) string {
	b := []byte("----")
	if _, ok := vfs.As[vfs.Committer](fsys); ok {
		b[0] = 'C'
	}
	if _, ok := vfs.As[vfs.Closer](fsys); ok {
		b[1] = 'L'
	}
	if _, ok := vfs.As[vfs.Usager](fsys); ok {
		b[2] = 'U'
	}
	if _, ok := vfs.As[stats.BackendStatser](fsys); ok {
		b[3] = 'B'
	}
	return string(b)
}

// commitCounter is a Committer that counts its calls and returns err.
type commitCounter struct {
	n   *atomic.Int64
	err vfs.Errno
}

func (c commitCounter) Commit() vfs.Errno { c.n.Add(1); return c.err }

type closeCounter struct{ n *atomic.Int64 }

func (c closeCounter) Close() error { c.n.Add(1); return nil }

type backendFigures struct{ m map[string]int64 }

func (b *backendFigures) BackendStats() map[string]int64 { return b.m }

// TestStatsCapabilities checks that the view has Committer, Closer, Usager and BackendStatser
// (found with vfs.As) exactly when the wrapped FS does, forwards them, and counts Commit; also
// behind a read-only wrapper, which used to drop BackendStatser.
func TestStatsCapabilities(t *testing.T) {
	commits, closes := new(atomic.Int64), new(atomic.Int64)
	hidden := func() vfs.FS { return struct{ vfs.FS }{heap.New(heap.Options{})} } // no Usager
	store, err := stable.Open(filepath.Join(t.TempDir(), "s.store"), stable.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	hostDir, err := hostfs.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		fsys vfs.FS
	}{
		{"heap", heap.New(heap.Options{})},
		{"stable", store},
		{"hostdir", hostDir},
		{"iofs", iofs.FromFS(fstest.MapFS{"a": {Data: []byte("x")}})},
		{"readonly-stable", readonly.New(store)},
		{"none", hidden()},
		{"commit", struct {
			vfs.FS
			vfs.Committer
		}{hidden(), commitCounter{n: commits}}},
		{"close", struct {
			vfs.FS
			vfs.Closer
		}{hidden(), closeCounter{closes}}},
		{"commit-close", struct {
			vfs.FS
			vfs.Committer
			vfs.Closer
		}{hidden(), commitCounter{n: commits}, closeCounter{closes}}},
		{"backend", struct {
			vfs.FS
			stats.BackendStatser
		}{heap.New(heap.Options{}), &backendFigures{map[string]int64{"cache_hits": 3}}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := stats.Wrap(c.fsys)
			v := s.FS()
			if got, want := caps(v), caps(c.fsys); got != want {
				t.Fatalf("view implements %s, backend %s", got, caps(c.fsys))
			}
			if s.Unwrap() != c.fsys {
				t.Fatal("Unwrap is not the wrapped FS")
			}
			if cm, ok := vfs.As[vfs.Committer](v); ok {
				before := commits.Load()
				if e := cm.Commit(); e != vfs.ESUCCESS {
					t.Fatal(e)
				}
				if st := s.Stats(); st.Ops[stats.OpCommit].Count != 1 || st.Commit.Count != 1 {
					t.Fatalf("commit not counted: %+v", st)
				}
				if c.name == "commit" && commits.Load() != before+1 {
					t.Fatal("commit not forwarded")
				}
			}
			if u, ok := vfs.As[vfs.Usager](v); ok {
				if got, want := u.Usage(), mustAs[vfs.Usager](t, c.fsys).Usage(); got != want {
					t.Fatalf("usage %+v, want %+v", got, want)
				}
			}
			if cl, ok := vfs.As[vfs.Closer](v); ok && c.name == "close" {
				before := closes.Load()
				cl.Close()
				if closes.Load() != before+1 {
					t.Fatal("close not forwarded")
				}
			}
			// The backend's own figures come through exactly when it has them; the fake one's
			// value proves they are the backend's, not a copy made elsewhere.
			if b := s.Stats().Backend; (b != nil) != (caps(c.fsys)[3] == 'B') || (c.name == "backend" && b["cache_hits"] != 3) {
				t.Fatalf("backend figures %v", b)
			}
		})
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
}

// mustAs is vfs.As for a capability fsys must have.
func mustAs[T any](t testing.TB, fsys vfs.FS) T {
	t.Helper()
	c, ok := vfs.As[T](fsys)
	if !ok {
		t.Fatalf("%T has no %T", fsys, &c)
	}
	return c
}

// statsFixture is a heap with /f (100 bytes), /d (a directory), /l (a symlink to f), wrapped;
// f is open for reading and writing and dir is /d open, both through the view.
type statsFixture struct {
	s       *stats.Counter
	v       vfs.FS
	root    vfs.Ino
	f, d, l vfs.Ino
	file    vfs.File
	dir     vfs.File
}

func newStatsFixture(t *testing.T, commitErr vfs.Errno) *statsFixture {
	t.Helper()
	h := heap.New(heap.Options{})
	root := h.Root()
	f, e1 := h.Create(root, "f", vfs.TypeRegular, 0o644, "")
	d, e2 := h.Create(root, "d", vfs.TypeDir, 0o755, "")
	l, e3 := h.Create(root, "l", vfs.TypeSymlink, 0o777, "f")
	if e1|e2|e3 != 0 {
		t.Fatal(e1, e2, e3)
	}
	hf, _ := h.Open(f, vfs.OpenWrite)
	hf.WriteAt(make([]byte, 100), 0)
	hf.Close()
	s := stats.Wrap(struct {
		vfs.FS
		vfs.Committer
	}{h, commitCounter{n: new(atomic.Int64), err: commitErr}})
	x := &statsFixture{s: s, v: s.FS(), root: root, f: f, d: d, l: l}
	var e vfs.Errno
	if x.file, e = x.v.Open(f, vfs.OpenRead|vfs.OpenWrite); e != 0 {
		t.Fatal(e)
	}
	if x.dir, e = x.v.Open(d, vfs.OpenRead); e != 0 {
		t.Fatal(e)
	}
	return x
}

// delta returns b minus a, Backend and latencies left out.
func delta(a, b stats.Snapshot) stats.Snapshot {
	var d stats.Snapshot
	for i := range a.Ops {
		d.Ops[i] = stats.OpStats{Count: b.Ops[i].Count - a.Ops[i].Count, Errors: b.Ops[i].Errors - a.Ops[i].Errors}
	}
	d.BytesRead = b.BytesRead - a.BytesRead
	d.BytesWritten = b.BytesWritten - a.BytesWritten
	return d
}

// TestStatsCounts makes one call per row through the view and checks that exactly that
// operation was counted, with its errors and bytes.
func TestStatsCounts(t *testing.T) {
	buf := make([]byte, 4096)
	for _, c := range []struct {
		name   string
		op     stats.Op
		failed bool
		read   int64
		wrote  int64
		do     func(x *statsFixture) vfs.Errno
	}{
		{"lookup", stats.OpLookup, false, 0, 0, func(x *statsFixture) vfs.Errno { _, _, e := x.v.Lookup(x.root, "f"); return e }},
		{"lookup-missing", stats.OpLookup, true, 0, 0, func(x *statsFixture) vfs.Errno { _, _, e := x.v.Lookup(x.root, "nope"); return e }},
		{"stat", stats.OpStat, false, 0, 0, func(x *statsFixture) vfs.Errno { _, e := x.v.Stat(x.f); return e }},
		{"setattr", stats.OpSetAttr, false, 0, 0, func(x *statsFixture) vfs.Errno {
			return x.v.SetAttr(x.f, &vfs.Attr{Valid: vfs.AttrSize, Size: 10})
		}},
		{"setattr-dir-size", stats.OpSetAttr, true, 0, 0, func(x *statsFixture) vfs.Errno {
			return x.v.SetAttr(x.d, &vfs.Attr{Valid: vfs.AttrSize, Size: 10})
		}},
		{"create", stats.OpCreate, false, 0, 0, func(x *statsFixture) vfs.Errno {
			_, e := x.v.Create(x.root, "g", vfs.TypeRegular, 0o644, "")
			return e
		}},
		{"create-exists", stats.OpCreate, true, 0, 0, func(x *statsFixture) vfs.Errno {
			_, e := x.v.Create(x.root, "f", vfs.TypeRegular, 0o644, "")
			return e
		}},
		{"link", stats.OpLink, false, 0, 0, func(x *statsFixture) vfs.Errno { return x.v.Link(x.f, x.d, "h") }},
		{"remove", stats.OpRemove, false, 0, 0, func(x *statsFixture) vfs.Errno { return x.v.Remove(x.root, "l", false) }},
		{"remove-dir-as-file", stats.OpRemove, true, 0, 0, func(x *statsFixture) vfs.Errno { return x.v.Remove(x.root, "d", false) }},
		{"rename", stats.OpRename, false, 0, 0, func(x *statsFixture) vfs.Errno { return x.v.Rename(x.root, "f", x.d, "f2") }},
		{"readlink", stats.OpReadlink, false, 0, 0, func(x *statsFixture) vfs.Errno { _, e := x.v.Readlink(x.l); return e }},
		{"readlink-file", stats.OpReadlink, true, 0, 0, func(x *statsFixture) vfs.Errno { _, e := x.v.Readlink(x.f); return e }},
		{"open", stats.OpOpen, false, 0, 0, func(x *statsFixture) vfs.Errno { _, e := x.v.Open(x.f, vfs.OpenRead); return e }},
		{"open-dir-write", stats.OpOpen, true, 0, 0, func(x *statsFixture) vfs.Errno { _, e := x.v.Open(x.d, vfs.OpenWrite); return e }},
		{"close", stats.OpClose, false, 0, 0, func(x *statsFixture) vfs.Errno { return x.file.Close() }},
		{"read", stats.OpRead, false, 100, 0, func(x *statsFixture) vfs.Errno { _, e := x.file.ReadAt(buf, 0); return e }},
		{"read-at-end", stats.OpRead, false, 0, 0, func(x *statsFixture) vfs.Errno { _, e := x.file.ReadAt(buf, 1000); return e }},
		{"read-negative", stats.OpRead, true, 0, 0, func(x *statsFixture) vfs.Errno { _, e := x.file.ReadAt(buf, -1); return e }},
		{"write", stats.OpWrite, false, 0, 4096, func(x *statsFixture) vfs.Errno { _, e := x.file.WriteAt(buf, 50); return e }},
		{"append", stats.OpAppend, false, 0, 7, func(x *statsFixture) vfs.Errno { _, _, e := x.file.Append(buf[:7]); return e }},
		{"readdir", stats.OpReadDir, false, 0, 0, func(x *statsFixture) vfs.Errno {
			return x.dir.ReadDir(0, func(*vfs.DirEntry) bool { return true })
		}},
		{"readdir-file", stats.OpReadDir, true, 0, 0, func(x *statsFixture) vfs.Errno {
			return x.file.ReadDir(0, func(*vfs.DirEntry) bool { return true })
		}},
		{"sync", stats.OpSync, false, 0, 0, func(x *statsFixture) vfs.Errno { return x.file.Sync(false) }},
		{"commit", stats.OpCommit, false, 0, 0, func(x *statsFixture) vfs.Errno { return mustAs[vfs.Committer](t, x.v).Commit() }},
	} {
		t.Run(c.name, func(t *testing.T) {
			x := newStatsFixture(t, 0)
			before := x.s.Stats()
			e := c.do(x)
			if (e != 0) != c.failed {
				t.Fatalf("errno %v", e)
			}
			var want stats.Snapshot
			want.Ops[c.op] = stats.OpStats{Count: 1}
			if c.failed {
				want.Ops[c.op].Errors = 1
			}
			want.BytesRead, want.BytesWritten = c.read, c.wrote
			if got := delta(before, x.s.Stats()); got.Ops != want.Ops || got.BytesRead != want.BytesRead || got.BytesWritten != want.BytesWritten {
				t.Fatalf("counted\n%v\nwant\n%v", got, want)
			}
		})
	}
}

// TestStatsCommitError checks a failed commit is counted as failed and still timed.
func TestStatsCommitError(t *testing.T) {
	x := newStatsFixture(t, vfs.EIO)
	if e := mustAs[vfs.Committer](t, x.v).Commit(); e != vfs.EIO {
		t.Fatalf("commit %v, want EIO", e)
	}
	st := x.s.Stats()
	if st.Ops[stats.OpCommit] != (stats.OpStats{Count: 1, Errors: 1}) || st.Commit.Count != 1 {
		t.Fatalf("%+v %+v", st.Ops[stats.OpCommit], st.Commit)
	}
}

// TestStatsConcurrent has goroutines work on a stable store through the view (create, write,
// read, sync, close, remove) while another commits and another takes snapshots; the totals
// must be exact. Run it with -race.
func TestStatsConcurrent(t *testing.T) {
	store, err := stable.Open(filepath.Join(t.TempDir(), "s.store"), stable.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	s := stats.Wrap(store)
	v := s.FS()
	const workers, rounds = 4, 100
	stop := make(chan struct{})
	var side sync.WaitGroup
	var commits atomic.Int64
	side.Add(2)
	go func() {
		defer side.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if e := mustAs[vfs.Committer](t, v).Commit(); e != 0 {
				t.Error(e)
			}
			commits.Add(1)
			time.Sleep(time.Millisecond)
		}
	}()
	go func() {
		defer side.Done()
		var last int64
		for {
			select {
			case <-stop:
				return
			default:
			}
			n := s.Stats().Ops[stats.OpWrite].Count
			if n < last {
				t.Errorf("write count went back from %d to %d", last, n)
			}
			last = n
			time.Sleep(100 * time.Microsecond)
		}
	}()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 4096)
			root := v.Root()
			for r := range rounds {
				name := "w" + strconv.Itoa(w) + "-" + strconv.Itoa(r)
				ino, e := v.Create(root, name, vfs.TypeRegular, 0o644, "")
				if e != 0 {
					t.Error(e)
					return
				}
				f, e := v.Open(ino, vfs.OpenRead|vfs.OpenWrite)
				if e != 0 {
					t.Error(e)
					return
				}
				f.WriteAt(buf, 0)
				f.Append(buf[:100])
				f.ReadAt(buf, 0)
				if r%10 == 0 {
					f.Sync(true)
				}
				f.Close()
				v.Lookup(root, name+"-missing")
				v.Remove(root, name, false)
			}
		}()
	}
	wg.Wait()
	close(stop)
	side.Wait()
	st := s.Stats()
	n := int64(workers * rounds)
	want := map[stats.Op]stats.OpStats{
		stats.OpCreate: {n, 0}, stats.OpOpen: {n, 0}, stats.OpWrite: {n, 0}, stats.OpAppend: {n, 0},
		stats.OpRead: {n, 0}, stats.OpSync: {n / 10, 0}, stats.OpClose: {n, 0}, stats.OpLookup: {n, n},
		stats.OpRemove: {n, 0}, stats.OpCommit: {commits.Load(), 0},
	}
	for op := stats.Op(0); op < stats.NumOps; op++ {
		if st.Ops[op] != want[op] {
			t.Errorf("%s: %+v, want %+v", op, st.Ops[op], want[op])
		}
	}
	if st.BytesWritten != n*4196 || st.BytesRead != n*4096 {
		t.Errorf("bytes read %d written %d", st.BytesRead, st.BytesWritten)
	}
	if st.Sync.Count != n/10 || st.Commit.Count != commits.Load() || st.Commit.Max <= 0 {
		t.Errorf("latencies: sync %+v commit %+v", st.Sync, st.Commit)
	}
	if err := mustAs[vfs.Closer](t, v).Close(); err != nil {
		t.Fatal(err)
	}
}

// TestStatsConformance runs the conformance kit through the view over heap: the wrapper
// changes no behaviour.
func TestStatsConformance(t *testing.T) {
	var all []*stats.Counter
	var mu sync.Mutex
	vfstest.Run(t, func(t *testing.T) vfs.FS {
		s := stats.Wrap(heap.New(heap.Options{}))
		mu.Lock()
		all = append(all, s)
		mu.Unlock()
		return s.FS()
	}, vfstest.Options{
		NewLimitedFS: func(t *testing.T, maxBytes int64) vfs.FS {
			return stats.Wrap(heap.New(heap.Options{MaxBytes: maxBytes})).FS()
		},
		NewReadOnlyFS: func(t *testing.T, fill func(vfs.FS)) vfs.FS {
			fsys := heap.New(heap.Options{})
			fill(fsys)
			return stats.Wrap(readonly.New(fsys)).FS()
		},
	})
	var ops int64
	for _, s := range all {
		for _, o := range s.Stats().Ops {
			ops += o.Count
		}
	}
	if ops == 0 {
		t.Fatal("the kit ran through the views but nothing was counted")
	}
}

// TestStatsNoAllocs checks that counting adds no allocation to I/O calls.
func TestStatsNoAllocs(t *testing.T) {
	x := newStatsFixture(t, 0)
	buf := make([]byte, 4096)
	cm := mustAs[vfs.Committer](t, x.v)
	for _, c := range []struct {
		name string
		do   func()
	}{
		{"WriteAt", func() { x.file.WriteAt(buf, 0) }},
		{"ReadAt", func() { x.file.ReadAt(buf, 0) }},
		{"Lookup", func() { x.v.Lookup(x.root, "f") }},
		{"Stat", func() { x.v.Stat(x.f) }},
		{"Sync", func() { x.file.Sync(true) }},
		{"Commit", func() { cm.Commit() }},
	} {
		c.do()
		if n := testing.AllocsPerRun(100, c.do); n != 0 {
			t.Errorf("%s: %.1f allocations", c.name, n)
		}
	}
}

// TestHistogram checks the percentiles of known sets of durations, table-driven.
func TestHistogram(t *testing.T) {
	ms := time.Millisecond
	for _, c := range []struct {
		name          string
		values        []time.Duration
		p50, p90, p99 time.Duration
	}{
		{"empty", nil, 0, 0, 0},
		{"one", []time.Duration{3 * ms}, 3 * ms, 3 * ms, 3 * ms},
		{"small-exact", []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 5, 9, 10},
		{"negative-is-zero", []time.Duration{-5}, 0, 0, 0},
		// 90 fast, 10 slow: p50 and p90 in the fast bucket ([1966080, 2097151] ns holds 2 ms), p99 is the max.
		{"bimodal", append(slices.Repeat([]time.Duration{2 * ms}, 90), slices.Repeat([]time.Duration{100 * ms}, 10)...),
			2097151, 2097151, 100 * ms},
		{"huge", []time.Duration{1000 * time.Hour}, 1000 * time.Hour, 1000 * time.Hour, 1000 * time.Hour},
	} {
		t.Run(c.name, func(t *testing.T) {
			var h stats.Histogram
			var total, maxV time.Duration
			for _, v := range c.values {
				h.Record(v)
				total += max(v, 0)
				maxV = max(maxV, v)
			}
			l := h.Latency()
			want := stats.Latency{Count: int64(len(c.values)), Total: total, P50: c.p50, P90: c.p90, P99: c.p99, Max: maxV}
			if l != want {
				t.Fatalf("%+v\nwant %+v", l, want)
			}
		})
	}
}

// TestHistogramRandom checks against exact percentiles of random sets that each reported
// percentile is at or above the true one and at most 12.5% above it. Set STATS_SEED to replay.
func TestHistogramRandom(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("STATS_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		seed = v
	}
	t.Logf("STATS_SEED=%d", seed)
	r := rand.New(rand.NewPCG(seed, seed))
	for round := 0; round < 200; round++ {
		n := 1 + r.IntN(2000)
		values := make([]time.Duration, n)
		var h stats.Histogram
		for i := range values {
			// log-uniform between 1 ns and about 17 minutes
			values[i] = time.Duration(r.Uint64N(1 << r.IntN(40)))
			h.Record(values[i])
		}
		slices.Sort(values)
		l := h.Latency()
		for _, q := range []struct {
			p   float64
			got time.Duration
		}{{0.5, l.P50}, {0.9, l.P90}, {0.99, l.P99}} {
			rank := int(float64(n)*q.p + 0.9999999)
			exact := values[max(rank, 1)-1]
			if q.got < exact || float64(q.got) > float64(exact)*1.125 || q.got > l.Max {
				t.Fatalf("round %d n %d p%.0f: %v, exact %v, max %v", round, n, q.p*100, q.got, exact, l.Max)
			}
		}
		if l.Max != values[n-1] || l.Count != int64(n) {
			t.Fatalf("max %v count %d, want %v %d", l.Max, l.Count, values[n-1], n)
		}
	}
}

// TestHistogramConcurrent records from several goroutines: count, total and max are exact.
func TestHistogramConcurrent(t *testing.T) {
	var h stats.Histogram
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1000 {
				h.Record(time.Duration(g*1000 + i))
			}
		}()
	}
	wg.Wait()
	l := h.Latency()
	if l.Count != 4000 || l.Max != 3999 || l.Total != 3999*4000/2 {
		t.Fatalf("%+v", l)
	}
}

// TestStatsFormat checks the text of a snapshot, golden.
func TestStatsFormat(t *testing.T) {
	var st stats.Snapshot
	st.Ops[stats.OpLookup] = stats.OpStats{Count: 120, Errors: 20}
	st.Ops[stats.OpOpen] = stats.OpStats{Count: 50}
	st.Ops[stats.OpWrite] = stats.OpStats{Count: 400}
	st.Ops[stats.OpSync] = stats.OpStats{Count: 3}
	st.Ops[stats.OpCommit] = stats.OpStats{Count: 1, Errors: 1}
	st.BytesRead = 1258291
	st.BytesWritten = 512
	st.Sync = stats.Latency{Count: 3, P50: 1200 * time.Microsecond, P90: 2 * time.Millisecond, P99: 2 * time.Millisecond, Max: 2100 * time.Microsecond}
	st.Commit = stats.Latency{Count: 1, P50: 850, P90: 850, P99: 850, Max: 1234567890}
	st.Backend = map[string]int64{"cache_misses": 56, "cache_hits": 1234, "peak_dirty_bytes": 4 << 20, "slowest_commit_ns": 45600}
	var b bytes.Buffer
	if err := st.Format(&b, "/data"); err != nil {
		t.Fatal(err)
	}
	want := `/data
  ops      lookup 120 (20 failed), open 50, write 400, sync 3, commit 1 (1 failed)
  bytes    read 1.20 MiB, written 512 B
  sync     3, p50 1.20ms, p90 2.00ms, p99 2.00ms, max 2.10ms
  commit   1, p50 850ns, p90 850ns, p99 850ns, max 1.23s
  backend  cache_hits 1234, cache_misses 56, peak_dirty_bytes 4.00 MiB, slowest_commit_ns 45.6µs
`
	if b.String() != want {
		t.Fatalf("got:\n%s\nwant:\n%s", b.String(), want)
	}
	var empty stats.Snapshot
	if got := empty.String(); got != "  ops      none\n  bytes    read 0 B, written 0 B\n" {
		t.Fatalf("empty: %q", got)
	}
}

// BenchmarkStats compares 4 KiB WriteAt and ReadAt on a heap file, unwrapped and through a
// StatsFS view.
func BenchmarkStats(b *testing.B) {
	for _, wrapped := range []bool{false, true} {
		name := "heap"
		if wrapped {
			name = "heap+stats"
		}
		newFile := func(b *testing.B) vfs.File {
			var fsys vfs.FS = heap.New(heap.Options{})
			if wrapped {
				fsys = stats.Wrap(fsys).FS()
			}
			ino, e := fsys.Create(fsys.Root(), "f", vfs.TypeRegular, 0o644, "")
			if e != 0 {
				b.Fatal(e)
			}
			f, e := fsys.Open(ino, vfs.OpenRead|vfs.OpenWrite)
			if e != 0 {
				b.Fatal(e)
			}
			data := make([]byte, 1<<20) // not zeros: a backend may store zero pages as holes
			for i := range data {
				data[i] = byte(i)
			}
			f.WriteAt(data, 0)
			return f
		}
		b.Run(name+"/WriteAt4K", func(b *testing.B) {
			f := newFile(b)
			buf := bytes.Repeat([]byte{7}, 4096)
			b.SetBytes(4096)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				f.WriteAt(buf, int64(i%256)*4096)
			}
		})
		b.Run(name+"/ReadAt4K", func(b *testing.B) {
			f := newFile(b)
			buf := make([]byte, 4096)
			b.SetBytes(4096)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				f.ReadAt(buf, int64(i%256)*4096)
			}
		})
	}
}
