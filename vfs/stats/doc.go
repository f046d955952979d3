// Package stats is a decorator that counts what goes through a vfs.FS, for the CLI's --stats
// and for tests that count backend calls.
//
// Wrap wraps a backend in a Counter, which counts calls and failed calls of each kind of
// operation (Op: lookup, stat, setattr, create, link, remove, rename, readlink, open, close,
// read, write, append, readdir, sync, commit), bytes read and written, and the latency of
// File.Sync and Committer.Commit in a Histogram (p50, p90, p99, max). Mount the view c.FS() in
// place of the backend. c.Stats() is a Snapshot, and Snapshot.Format prints it as a short block
// per mount.
//
// # Capabilities
//
// The view is a vfs.Wrapper. It implements vfs.Committer (counted and timed) exactly when
// vfs.As finds one down the backend's chain, and nothing else: Close, Usage and a backend's
// own figures are found through Unwrap with vfs.As, so the Namespace still commits and closes
// the backend, and a decorator below (readonly) hides nothing. A backend's own figures (cache
// hits, peak dirty bytes, commits made in the background or on Close, which no wrapper can
// see) come through the optional BackendStatser interface into Snapshot.Backend.
//
// # Cost
//
// Counting costs a few uncontended atomic adds per call and allocates nothing
// (BenchmarkStats, TestStatsNoAllocs); opening a File allocates one small wrapper.
package stats
