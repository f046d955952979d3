package stable

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/wasmrun/wasmrun/stable/internal/failpoint"
	"github.com/wasmrun/wasmrun/vfs"
	"github.com/wasmrun/wasmrun/vfs/stats"
)

// TestBackendStats drives each counter of Stats and checks it, then checks that
// stats.Wrap passes them on and formats them.
func TestBackendStats(t *testing.T) {
	s := stats.Wrap(newT(t, Options{PageSize: 4096, CommitInterval: -1, NoSync: true}))
	fsys := s.FS()
	f := s.Unwrap().(*FS)
	data := bytes.Repeat([]byte("0123456789abcdef"), 4096) // 64 KiB: 16 pages
	ino := writeFileT(t, fsys, "/f", data)

	// A sync commits the 64 KiB written and reports it.
	h, e := fsys.Open(ino, vfs.OpenRead|vfs.OpenWrite)
	must(t, e, "open")
	defer h.Close()
	st := f.Stats()
	if st.PeakDirtyBytes < int64(len(data)) {
		t.Errorf("peak dirty %d bytes after writing %d, want at least that", st.PeakDirtyBytes, len(data))
	}
	must(t, h.Sync(false), "sync")
	// A commit through the Committer.
	_, e = h.WriteAt([]byte("x"), 0)
	must(t, e, "write")
	must(t, fsys.(vfs.Committer).Commit(), "commit")
	// A commit that fails, and its retry.
	_, e = h.WriteAt([]byte("y"), 0)
	must(t, e, "write")
	failpoint.Set(func(n failpoint.Name) error {
		if n == failpoint.BeforeCommit {
			return errors.New("injected")
		}
		return nil
	})
	e = f.Commit()
	failpoint.Set(nil)
	if e != vfs.EIO {
		t.Fatalf("commit with a failpoint = %v, want EIO", e)
	}
	must(t, f.Commit(), "commit")

	st = f.Stats()
	want := Stats{Commits: 3, SyncCommits: 1, ExplicitCommits: 2, FailedCommits: 1}
	got := Stats{Commits: st.Commits, SyncCommits: st.SyncCommits, ExplicitCommits: st.ExplicitCommits,
		SizeCommits: st.SizeCommits, AgeCommits: st.AgeCommits, FailedCommits: st.FailedCommits}
	if got != want {
		t.Errorf("commits %+v, want %+v", got, want)
	}
	if st.CommittedBytes < int64(len(data)) || st.CommittedBytes > 2*int64(len(data)) {
		t.Errorf("%d bytes committed, want about %d", st.CommittedBytes, len(data))
	}
	if l := st.CommitLatency; l.Count != 4 || l.Max <= 0 || l.P50 > l.Max || l.Total != st.CommitTime {
		t.Errorf("commit latency %+v (total time %v), want 4 commits timed", l, st.CommitTime)
	}

	// Reads: drop the clean pages, then read the file twice, at random offsets so that no
	// read-ahead window serves them: misses first, hits after.
	f.mu.Lock()
	cc := f.cacheCap
	f.cacheCap = 0
	f.evictLocked()
	f.cacheCap = cc
	f.mu.Unlock()
	before := f.Stats()
	buf := make([]byte, 100)
	for _, off := range []int64{40000, 5000, 60000} {
		_, e := h.ReadAt(buf, off)
		must(t, e, "read")
	}
	mid := f.Stats()
	for _, off := range []int64{40000, 5000, 60000} {
		_, e := h.ReadAt(buf, off)
		must(t, e, "read")
	}
	after := f.Stats()
	if m := mid.CacheMisses - before.CacheMisses; m < 1 || mid.PagesRead == before.PagesRead {
		t.Errorf("reads of evicted pages: %d misses, %d pages read, want some", m, mid.PagesRead-before.PagesRead)
	}
	if hits, m := after.CacheHits-mid.CacheHits, after.CacheMisses-mid.CacheMisses; hits != 3 || m != 0 {
		t.Errorf("reading the same pages again: %d hits, %d misses, want 3 and 0", hits, m)
	}

	b := s.Stats().Backend
	for k, v := range map[string]int64{"commits_sync": 1, "commits_explicit": 2, "commits_size": 0,
		"commits_age": 0, "commits_failed": 1, "cache_hits": after.CacheHits, "pages_read": after.PagesRead} {
		if b[k] != v {
			t.Errorf("BackendStats[%s] = %d, want %d (all: %v)", k, b[k], v, b)
		}
	}
	for _, k := range []string{"committed_bytes", "peak_dirty_bytes", "commit_p50_ns", "commit_max_ns", "pages_written", "cache_misses"} {
		if b[k] <= 0 {
			t.Errorf("BackendStats[%s] = %d, want more than 0", k, b[k])
		}
	}
	var out strings.Builder
	if err := s.Stats().Format(&out, "/data"); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s", out.String())
	for _, want := range []string{"commits_sync 1", "commits_failed 1", "peak_dirty_bytes ", "commit_p99_ns "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("--stats output lacks %q:\n%s", want, out.String())
		}
	}
}
