package stable

import (
	"time"

	"github.com/wasmrun/wasmrun/vfs/stats"
)

// Stats are the counters of an FS since Open.
type Stats struct {
	// Commits is the number of commits that wrote a store transaction: the sum of the four
	// below, which count them by what started them. A commit other callers joined (group
	// commit) counts once, for the caller that started it.
	Commits         int64
	SyncCommits     int64 // started by File.Sync (fd_sync, fd_datasync)
	ExplicitCommits int64 // started by FS.Commit (the runtime, at module exit) or by Close
	// SizeCommits were started because a quarter of CacheBytes was dirty (half, when the dirty
	// pages are scattered), or all of it.
	SizeCommits   int64
	AgeCommits    int64 // started by the background committer: CommitInterval reached
	FailedCommits int64 // commits that failed (their changes stay dirty and are retried)

	CommitTime     time.Duration // total time spent in commits, successful or not
	CommitLatency  stats.Latency // the distribution of those durations
	CommittedBytes int64         // keys and values written by successful commits
	PagesWritten   int64         // file pages put or deleted by successful commits
	PagesRead      int64         // file pages read from the store

	// CacheHits and CacheMisses count the file pages reads and partial writes needed: a hit
	// found the page in memory (the cache, or a sequential reader's read-ahead window), a miss
	// read it from the store (its memory map, so not always the disk).
	CacheHits   int64
	CacheMisses int64
	// InodesEvicted and NamesEvicted count the inodes and directory names dropped from the
	// metadata cache to keep it within its bound (see Options.CacheBytes); they are read
	// from the store again when needed.
	InodesEvicted int64
	NamesEvicted  int64
	// PeakDirtyBytes is the most memory that dirty file pages and the pages of the commit in
	// flight took at one time (the bound is CacheBytes).
	PeakDirtyBytes int64
}

// Stats returns the FS's counters. It may be called at any time, also after Close.
func (f *FS) Stats() Stats {
	f.mu.Lock()
	st := f.stats
	f.mu.Unlock()
	st.CommitLatency = f.commit.commitLat.Latency()
	return st
}

// BackendStats implements stats.BackendStatser: the counters of Stats under snake_case keys,
// which --stats prints on its "backend" line:
//
//	cache_hits, cache_misses, peak_dirty_bytes, pages_read, pages_written,
//	commits_sync, commits_explicit, commits_size, commits_age, commits_failed,
//	committed_bytes, commit_p50_ns, commit_p90_ns, commit_p99_ns, commit_max_ns,
//	inodes_evicted, names_evicted
//
// The commit latencies cover every commit the FS made, whatever started it; a stats.Counter sees
// only the Commit calls that go through it. Safe to call at any time, also after Close.
func (f *FS) BackendStats() map[string]int64 {
	st := f.Stats()
	return map[string]int64{
		"cache_hits":       st.CacheHits,
		"cache_misses":     st.CacheMisses,
		"peak_dirty_bytes": st.PeakDirtyBytes,
		"pages_read":       st.PagesRead,
		"pages_written":    st.PagesWritten,
		"commits_sync":     st.SyncCommits,
		"commits_explicit": st.ExplicitCommits,
		"commits_size":     st.SizeCommits,
		"commits_age":      st.AgeCommits,
		"commits_failed":   st.FailedCommits,
		"committed_bytes":  st.CommittedBytes,
		"commit_p50_ns":    int64(st.CommitLatency.P50),
		"commit_p90_ns":    int64(st.CommitLatency.P90),
		"commit_p99_ns":    int64(st.CommitLatency.P99),
		"commit_max_ns":    int64(st.CommitLatency.Max),
		"inodes_evicted":   st.InodesEvicted,
		"names_evicted":    st.NamesEvicted,
	}
}

// trigger says what started a commit.
type trigger uint8

const (
	bySync     trigger = iota // File.Sync
	byExplicit                // FS.Commit, Close
	bySize                    // dirty pages past a quarter of the cache, or a full cache
	byAge                     // the background committer
)

// countCommit adds a successful commit started by t to the counters.
func (s *Stats) countCommit(t trigger) {
	s.Commits++
	switch t {
	case bySync:
		s.SyncCommits++
	case byExplicit:
		s.ExplicitCommits++
	case bySize:
		s.SizeCommits++
	case byAge:
		s.AgeCommits++
	}
}

// noteDirtyPeak records the dirty page memory after it grew.
func (f *FS) noteDirtyPeak() {
	if d := f.pc.dirtyBytes + f.pc.flightBytes; d > f.stats.PeakDirtyBytes {
		f.stats.PeakDirtyBytes = d
	}
}
