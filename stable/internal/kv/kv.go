package kv

import (
	"errors"
	"fmt"
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
	// and returns fn's error. Only one Update runs at a time.
	Update(fn func(w Writer) error) error

	// Check runs the engine's own consistency check of the file and reports each problem
	// found to fn.
	Check(fn func(problem error)) error

	// Path returns the path of the file the store lives in.
	Path() string

	// Close closes the store. Transactions must have ended.
	Close() error
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
	// ErrLocked means another process (or another Store in this process) holds the file.
	ErrLocked = errors.New("file is locked")
	// ErrInvalid means the file is not a database of this engine.
	ErrInvalid = errors.New("not a database file")
	// ErrCorrupt means the engine found the file damaged: it failed a checksum, panicked or
	// faulted while reading it.
	ErrCorrupt = errors.New("damaged database file")
)

// panicError turns a recovered panic into an ErrCorrupt error.
func panicError(r any) error {
	if e, ok := r.(error); ok {
		return fmt.Errorf("%w: %w", ErrCorrupt, e)
	}
	return fmt.Errorf("%w: %v", ErrCorrupt, r)
}
