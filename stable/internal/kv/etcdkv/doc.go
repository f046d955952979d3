// Package etcdkv is the etcd engine of the kv seam: a store lives in a Raft-replicated etcd
// cluster (3.4 or later, with the server's default limits), so that it outlives the machine
// that writes it. A commit acknowledged by Update is committed by a quorum of the cluster.
//
// # Layout
//
// A store is every key that starts with its NAME and a NUL byte (many stores share a cluster;
// no NAME holds a NUL, so no store's keys are a prefix of another's):
//
//	NAME\0lock             the writer's lock: "HOST (pid N) since T", bound to its lease
//	NAME\0root             absent, or the id and chunk count of a published commit not yet
//	                       applied in full
//	NAME\0b<bucket>        empty: the bucket exists (buckets are numbered by kv.Bucket)
//	NAME\0d<bucket><key>   a key of a bucket and its value; etcd orders keys by their bytes,
//	                       as bbolt does, so a bucket's scan is one range
//	NAME\0s<id><chunk>     a chunk of a commit being staged (id: 8 bytes, chunk: 4, big-endian)
//
// # Reads
//
// A View reads at one etcd revision: the store's revision as of its last commit. So it sees
// one committed state however long it runs and whatever commits meanwhile, and only its own
// store's keys count. With a published commit not yet applied (below), the View reads it over
// the data keys.
//
// # Commits
//
// An Update's changes are kept in memory (reads in it see them) and folded into their net
// effect: each key set or deleted, and deleted ranges, a later Put winning over an earlier
// range. A commit that fits one etcd transaction under the default limits (128 operations,
// 1.5 MiB per request) is that one transaction. A larger one is staged: written in chunks of
// 1 MiB under a fresh id, where no reader looks; then published by one small transaction
// that sets the root key to name it: that is the commit point; then applied to the data keys
// in transactions under the limits; then retired (root and chunks deleted) by one more. A
// crash before the publication leaves the last state and chunks that the next writer deletes;
// a crash after it leaves a published commit that the next Open applies before anything else
// (reading it over the data keys, if read-only). Applying is idempotent, so a crash while
// applying is harmless.
//
// # One writer, fenced
//
// Open takes the store's lock: it creates the lock key, bound to a lease that the process
// keeps alive, if no one holds it, and otherwise waits up to Config.LockTimeout and fails with
// kv.ErrLocked naming the holder. A reader takes the lock too (what it reads cannot then
// change under it). Every write of the store, staging and applying included, is a transaction
// conditional on the lock key's create revision being the one this Store made: a writer that
// lost its lease (paused or cut off past its TTL, while another took the store) cannot write
// again, and its Update fails with ErrFenced. A dead writer's lease expires after
// Config.LeaseTTL, and the store is free.
//
// # History
//
// etcd keeps every revision of every key until the cluster is compacted, and a store rewrites
// its keys all the time. The store compacts the cluster itself: every Config.CompactBytes
// committed (or every 30 s of commits), up to its newest revision that is at least
// Config.CompactRetention old and that no View of this Store still reads. Compaction is
// cluster-wide: a View of any store whose revision was compacted moves to the latest one if
// its store wrote nothing since (its keys are the same there), which is always so for a
// reader holding the lock. Compaction frees space inside etcd's database for reuse; giving it
// back to the file system is etcdctl defrag's job, the operator's.
//
// # Errors
//
// A full cluster (etcd's "mvcc: database space exceeded", its space quota reached) is
// kv.ErrNoSpace. A read that fails inside a View or Update (the cluster
// unreachable past Config.RequestTimeout) ends the closure and is returned by View or
// Update.
package etcdkv
