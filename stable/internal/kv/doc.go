// Package kv is the transactional key-value seam under the stable backend: the only way the
// stable package reaches a storage engine.
//
// The stable package never touches its storage engine directly: it sees a Store of a few named
// buckets, each an ordered map from byte keys to byte values, read in View transactions and
// changed in Update transactions that commit atomically (all of the changes or none of them,
// also across a crash). Get, Put, Delete, an ordered Scan and a ranged Delete are the whole
// surface, plus two things a store's owner asks of any engine: UpdateBackground, a commit
// nobody waits on (an engine may trade its latency for less work), and Detach, letting go of
// every file named after the store's path before a compaction renames another file over it.
// Another engine (etcd, TiKV, FoundationDB) sits behind the same seam without touching the
// stable, vfs or wasi packages.
//
// This package holds no engine and imports none. The engines live in packages of their own
// beside it: boltkv (a bbolt file with a write-ahead log in front of it, the local engine; it
// is the only package that imports bbolt), and others that import this package. The kit in
// kvtest checks an engine against what the stable package relies on; every engine runs it.
//
// Transactions are touched only inside the closures passed to View and Update, and every byte
// slice a Reader returns is valid only until that closure returns: callers copy what they
// keep. A value given to Put must not change until the transaction ends; the engine copies
// what it keeps.
//
// # Errors
//
// Engines map their own errors onto the seam's, so that the stable package never sees an
// engine's error types: opening onto ErrLocked (another process holds the store), ErrInvalid
// (the file or place is not a store of this engine) and ErrCorrupt (the engine found it damaged,
// or panicked or faulted while reading it); commits onto ErrNoSpace (a full disk or an engine's
// size limit), fs.ErrPermission (a read-only store), ErrClosed, and ErrCorrupt. A transaction
// that panics inside the engine, or faults on its memory map, is recovered and reported as
// ErrCorrupt rather than crashing the process. Operating-system errors (an *fs.PathError naming
// the file) pass through.
package kv
