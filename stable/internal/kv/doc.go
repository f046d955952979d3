// Package kv is the transactional key-value seam under the stable backend.
//
// The stable package never touches its storage engine directly: it sees a Store of a few named
// buckets, each an ordered map from byte keys to byte values, read in View transactions and
// changed in Update transactions that commit atomically (all of the changes or none of them,
// also across a crash). Get, Put, Delete, an ordered Scan and a ranged Delete are the whole
// surface, so that another engine (etcd, TiKV, FoundationDB) can sit behind the same seam
// without touching the vfs or wasi packages.
//
// bbolt is the one engine (OpenBolt); OpenWAL puts a write-ahead log in front of it (WAL: a
// commit is one record appended to a log file and one fdatasync, checkpointed into bbolt in the
// background; see WAL and the stable package's RATIONALE.md). Transactions are touched only
// inside the closures passed to View and Update, and every byte slice a Reader returns is valid
// only until that closure returns: callers copy what they keep.
//
// # Errors
//
// Opening maps the engine's failures onto ErrLocked (another process holds the file),
// ErrInvalid (the file is not a database of this engine) and ErrCorrupt (the engine panicked or
// faulted while reading the file). A transaction that panics inside the engine, or faults on its
// memory map, is recovered and reported as ErrCorrupt rather than crashing the process.
package kv
