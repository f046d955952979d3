// Package failpoint holds the named failpoints of the stable backend: hooks at every durability
// boundary of a commit that tests use to inject an error or to kill the process at an exact
// point. In production no hook is set and a failpoint costs one atomic load.
package failpoint

import "sync/atomic"

// Name names a failpoint.
type Name string

// The failpoints, in the order a commit passes them.
const (
	// BeforeTx is reached after the dirty set was taken for a commit and before the store
	// transaction begins.
	BeforeTx Name = "beforeTx"
	// BeforePages is reached inside the transaction after the metadata (superblock, inodes,
	// directory entries, orphans) was written and before the first file page is written.
	BeforePages Name = "beforePages"
	// DuringPages is reached inside the transaction when about half of the file pages were
	// written (once per commit, and only for a commit with at least one page).
	DuringPages Name = "duringPages"
	// BeforeCommit is reached inside the transaction after every change was written and before
	// the transaction commits (before the store writes and syncs anything to its file).
	BeforeCommit Name = "beforeCommit"
	// AfterCommit is reached after the transaction committed durably and before the cache
	// learns of it.
	AfterCommit Name = "afterCommit"

	// The store's write-ahead log (see boltkv.WAL) has two more, inside the store transaction's
	// commit. A process killed at either keeps the commit: its record is in the log file (in
	// the page cache, not yet synced) or in the bbolt file.

	// LogWritten is reached after a commit's record was written to the log and before the log
	// is synced.
	LogWritten Name = "logWritten"
	// Checkpointed is reached after a checkpoint committed the log's changes into the bbolt
	// file and before the log is reset.
	Checkpointed Name = "checkpointed"
)

// The etcd engine's staged commits (see etcdkv: a commit too big for one etcd transaction is
// written in chunks, published by one transaction, then applied) pass five more. A process
// killed before EtcdPublished has not committed; at it or after, the next Open finishes the
// commit.
const (
	// EtcdStaged is reached after each chunk of a staged commit was written.
	EtcdStaged Name = "etcdStaged"
	// EtcdPublish is reached after every chunk was written and before the transaction that
	// publishes the commit.
	EtcdPublish Name = "etcdPublish"
	// EtcdPublished is reached after the publishing transaction and before the commit is
	// applied to the data keys.
	EtcdPublished Name = "etcdPublished"
	// EtcdApplied is reached after each transaction applying a published commit.
	EtcdApplied Name = "etcdApplied"
	// EtcdRetire is reached after a published commit was applied and before the transaction
	// that retires it (deletes its chunks and the root that names it).
	EtcdRetire Name = "etcdRetire"
)

// Etcd lists the etcd engine's failpoints, which All (the local engine's) does not hold.
var Etcd = []Name{EtcdStaged, EtcdPublish, EtcdPublished, EtcdApplied, EtcdRetire}

// StoreRead is not a durability boundary and not in All: it is reached at the start of every
// read transaction the cache makes (for an inode, a name, a listing, file pages), without
// FS.mu held, so that a test can stop a read there and show that other operations go on
// meanwhile, and that what changes meanwhile does not make the read's result stale.
const StoreRead Name = "storeRead"

// All lists every failpoint at a durability boundary of the local engine's commits.
var All = []Name{BeforeTx, BeforePages, DuringPages, BeforeCommit, LogWritten, Checkpointed, AfterCommit}

var hook atomic.Pointer[func(Name) error]

// Set installs fn as the hook every failpoint calls; nil removes it. A non-nil error from fn
// fails the commit at that point with that error (the transaction is rolled back). fn may also
// never return (kill the process) to simulate a crash at that point.
func Set(fn func(Name) error) {
	if fn == nil {
		hook.Store(nil)
		return
	}
	hook.Store(&fn)
}

// Inject calls the hook installed with Set, if any, and returns its error.
func Inject(n Name) error {
	if h := hook.Load(); h != nil {
		return (*h)(n)
	}
	return nil
}
