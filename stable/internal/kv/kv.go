package kv

import (
	"errors"
	"os"
	"time"
)

// Bucket names one of the ordered maps of a Store: an index into the BucketSpec list the Store
// was opened with.
type Bucket uint8

// BucketSpec describes one bucket of a Store.
type BucketSpec struct {
	// Name is the bucket's name in the file.
	Name string
	// FillPercent is how full the engine packs a page before it splits it, between 0.1 and 1;
	// zero means the engine's default. Buckets written in ascending key order (file pages) pack
	// best near 1.
	FillPercent float64
}

// Store is a transactional key-value store of named buckets. It is safe for concurrent use:
// many View transactions may run at once and alongside one Update.
type Store interface {
	// View runs fn in a read-only transaction that sees one committed state of the store.
	// Slices fn receives are valid only until fn returns. It returns fn's error, or
	// ErrCorrupt if the engine panicked or faulted on its file.
	View(fn func(r Reader) error) error

	// Update runs fn in a read-write transaction and commits it atomically (and durably,
	// unless the store was opened with NoSync) if fn returns nil; otherwise it rolls it back
	// and returns fn's error. Only one Update runs at a time. Errors: fn's, ErrNoSpace (the
	// store cannot grow: a full disk, an engine's size limit), an error that Is
	// fs.ErrPermission on a read-only store, ErrClosed, ErrCorrupt, or the operating system's.
	Update(fn func(w Writer) error) error

	// UpdateBackground is Update for a commit nobody waits on (the background write-back of
	// a cache): the same atomicity, durability and errors, but the engine may spend more
	// latency on it to do less work in all. An engine with a log in front of its main file
	// commits it straight into the file, writing its values once rather than twice (to the
	// log now, to the file at the next checkpoint). An engine without such a trade-off
	// implements it as Update.
	UpdateBackground(fn func(w Writer) error) error

	// Check runs the engine's own consistency check of what it stores and reports each
	// problem found to fn. Its error is for a check that could not run.
	Check(fn func(problem error)) error

	// Detach makes the store's main file (Path) hold every committed change and stops the
	// store from using any other file named after Path (a log), so that another file may be
	// renamed over Path while the store stays open and locked (a compaction); later commits
	// go to the main file directly. An engine that keeps nothing beside its main file, or has
	// no file, does nothing.
	Detach() error

	// Path returns where the store lives, for messages: a file's path, or an engine's URL.
	Path() string

	// Close closes the store. Transactions must have ended. Later calls return nil; other
	// methods return ErrClosed.
	Close() error
}

// Opener is the shape of an engine's open function: where names the store (a file's path, an
// engine's URL), and the store is created empty if the engine's place for it is empty. Errors:
// ErrLocked, ErrInvalid, ErrCorrupt (all wrapped), Accept's, or the operating system's.
type Opener func(where string, opts Options) (Store, error)

// Options are what the stable package asks of any engine when it opens a store. Options an
// engine has no use for are ignored.
type Options struct {
	// Buckets are the buckets of the store; a Bucket value indexes this list.
	Buckets []BucketSpec
	// LockTimeout is how long to wait for another holder of the store to let go before
	// ErrLocked. Zero means do not wait (one try).
	LockTimeout time.Duration
	// ReadOnly opens the store for reading only: Update fails (see Store.Update).
	ReadOnly bool
	// NoSync makes commits not durable across a crash of the machine (not of the process).
	// For tests and benchmarks only.
	NoSync bool
	// LogBytes bounds how many bytes of commits an engine with a log may hold in it (and in
	// memory) before it writes them into its main file; 0 means the engine's default.
	LogBytes int64
	// Accept, if not nil, is called on the store as it is before the engine recovers
	// anything (replays a log into it): an error from it ends Open, with nothing changed.
	Accept func(r Reader) error
	// AcceptLoss, if not nil, is called when Open finds damage that loses committed changes
	// (an error that Is ErrLoss, saying what is lost): if it returns true, Open goes on with
	// what can be read (an engine with a log replays it up to the damage, keeps a copy of the
	// damaged log, and moves on so that the damage is not found again); otherwise Open fails
	// with that error, having changed nothing.
	AcceptLoss func(damage error) bool
	// Fault, if not nil, makes writes fail on demand: a test seam (see Fault).
	Fault *Fault
}

// Reader reads inside a transaction. Every slice it returns is valid only until the
// transaction's closure returns.
type Reader interface {
	// Exists reports whether bucket b exists in the file (a fresh file has none).
	Exists(b Bucket) bool

	// Get returns the value of key in b, or nil if there is none.
	Get(b Bucket, key []byte) []byte

	// Scan calls fn for each key k in b with from <= k < to, in ascending order, until fn
	// returns false; a nil to means no upper bound. It returns ErrCorrupt on a damaged file.
	Scan(b Bucket, from, to []byte, fn func(k, v []byte) bool) error
}

// Writer reads and writes inside a read-write transaction.
type Writer interface {
	Reader

	// Put sets key to value in b, creating b if needed. value must not change until the
	// transaction ends.
	Put(b Bucket, key, value []byte) error

	// Delete removes key from b; a missing key is not an error.
	Delete(b Bucket, key []byte) error

	// DeleteRange removes every key k in b with from <= k < to (a nil to means no upper
	// bound) without reading their values, and returns how many it removed.
	DeleteRange(b Bucket, from, to []byte) (int, error)
}

// Errors of Open and of transactions. Each is wrapped with details; test with errors.Is.
var (
	// ErrNoSpace means a commit did not fit: the disk is full, or the engine reached its size
	// limit. The commit was rolled back; it may fit once space is freed.
	ErrNoSpace = errors.New("no space left for the store")
	// ErrLoss means Open found damage that loses committed changes (a damaged log whose
	// records cannot all be replayed): the store opens only if Options.AcceptLoss accepts the
	// loss. Errors wrapping it also wrap ErrCorrupt, and say what would be lost.
	ErrLoss = errors.New("committed changes cannot be read back")
	// ErrClosed means the store was closed.
	ErrClosed = errors.New("store is closed")
	// ErrLocked means another process (or another Store in this process) holds the file.
	ErrLocked = errors.New("file is locked")
	// ErrInvalid means the file is not a database of this engine.
	ErrInvalid = errors.New("not a database file")
	// ErrCorrupt means the engine found the file damaged: it failed a checksum, panicked or
	// faulted while reading it.
	ErrCorrupt = errors.New("damaged database file")
)

// NoSpace returns err (a failed commit's error) marked as ErrNoSpace, for engines to map
// their own "full" errors at the seam: errors.Is(NoSpace(err), ErrNoSpace) holds, and the
// message and the rest of the chain are err's.
func NoSpace(err error) error {
	if err == nil || errors.Is(err, ErrNoSpace) {
		return err
	}
	return noSpace{err}
}

type noSpace struct{ err error }

func (e noSpace) Error() string        { return e.err.Error() }
func (e noSpace) Unwrap() error        { return e.err }
func (e noSpace) Is(target error) bool { return target == ErrNoSpace }

// SyncDir makes a create, rename or link in dir durable (best effort: not every system can
// sync a directory).
func SyncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}
