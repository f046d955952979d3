package boltkv

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/wasmrun/wasmrun/stable/internal/kv"
)

// BoltOptions configure OpenBolt.
type BoltOptions struct {
	// Buckets are the buckets of the store; a Bucket value indexes this list.
	Buckets []kv.BucketSpec
	// PageSize is the engine's page size for a new file (an existing file keeps its own).
	// Zero means the OS page size.
	PageSize int
	// LockTimeout is how long to wait for another holder of the file to let go before
	// ErrLocked. Zero means do not wait (one try).
	LockTimeout time.Duration
	// ReadOnly opens the file shared and read-only: Update fails.
	ReadOnly bool
	// NoSync skips fdatasync at commit: a crash of the machine (not of the process) may then
	// lose or tear committed transactions. For tests and benchmarks only.
	NoSync bool
	// InitialMmapSize is the initial size of the memory map (see bbolt.Options); zero means
	// 1 GiB or twice the file's size, whichever is larger. bbolt must copy every value a write
	// transaction holds whenever the map grows, and that dominates the cost of big commits;
	// mapping address space ahead of the file avoids it and costs no memory.
	InitialMmapSize int
	// Fault, if not nil, makes writes fail on demand: a test seam (see Fault).
	Fault *kv.Fault
}

type boltStore struct {
	db      *bolt.DB
	file    *os.File // bbolt's file, read by verify
	buckets []kv.BucketSpec
	names   [][]byte
	fault   *kv.Fault

	// The read transaction Views reuse (see View), guarded by rmu. bbolt's Begin and
	// Rollback cost more than a point read, so Views between two Updates share one. bbolt
	// remaps its file during a write transaction only once every read transaction has
	// ended, so an Update closes the kept one first, and no View keeps one while an Update
	// runs.
	rmu     sync.Mutex
	rtx     boltTx // rtx.tx is nil when none is kept
	rbusy   bool   // a View is using rtx
	rstale  bool   // an Update started while a View used rtx: it must not be kept
	writers int    // Updates running
	closed  bool
}

// maxReopens bounds how many times OpenBolt follows a file replaced under it.
const maxReopens = 100

// OpenBolt opens the bbolt file at path, which must exist (an empty file is made a new,
// empty database unless opts.ReadOnly is set). It waits up to opts.LockTimeout for the file's
// lock. Once it has the lock it checks that path still names the file it opened and locked:
// if another process renamed a new file over it meanwhile (a compaction), it opens that one
// instead, so that it never works on a file that is no longer the store. Errors: ErrLocked,
// ErrInvalid, ErrCorrupt (all wrapped), or the os error (fs.ErrNotExist if path is missing).
func OpenBolt(path string, opts BoltOptions) (kv.Store, error) {
	deadline := time.Now().Add(opts.LockTimeout)
	for range maxReopens {
		s, same, err := openBolt(path, opts)
		if err != nil || same {
			return s, err
		}
		_ = s.Close()
		opts.LockTimeout = max(time.Until(deadline), 0)
	}
	return nil, fmt.Errorf("%w (replaced %d times while waiting for its lock)", kv.ErrLocked, maxReopens)
}

// openBolt opens path once, and reports whether path still names the file it opened once it
// has the file's lock.
func openBolt(path string, opts BoltOptions) (_ *boltStore, same bool, err error) {
	if opts.InitialMmapSize == 0 {
		opts.InitialMmapSize = 1 << 30
		if st, err := os.Stat(path); err == nil && st.Size() > 1<<29 {
			opts.InitialMmapSize = int(2 * st.Size())
		}
	}
	timeout := opts.LockTimeout
	if timeout <= 0 {
		// bbolt reads zero as "wait forever"; one try is the smallest positive wait.
		timeout = time.Nanosecond
	}
	bo := &bolt.Options{
		Timeout:         timeout,
		ReadOnly:        opts.ReadOnly,
		NoSync:          opts.NoSync,
		NoGrowSync:      opts.NoSync, // no fsync at all with NoSync
		PageSize:        opts.PageSize,
		FreelistType:    bolt.FreelistMapType,
		InitialMmapSize: opts.InitialMmapSize,
		NoStatistics:    true,
	}
	// If bbolt panics or faults on a damaged file half-way through Open, close the file it
	// opened so that its lock goes with it. bbolt would create a missing file: it must not.
	var file *os.File
	bo.OpenFile = func(name string, flag int, perm os.FileMode) (*os.File, error) {
		f, err := os.OpenFile(name, flag&^os.O_CREATE, perm)
		file = f
		return f, err
	}
	defer func() {
		if r := recover(); r != nil {
			err = panicError(r)
			if file != nil {
				_ = file.Close()
			}
		}
	}()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	if err := checkMeta(path); err != nil {
		return nil, false, err
	}
	db, err := bolt.Open(path, 0o600, bo)
	if err != nil {
		switch {
		case errors.Is(err, berrors.ErrTimeout):
			return nil, false, fmt.Errorf("%w (waited %v)", kv.ErrLocked, opts.LockTimeout)
		case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrVersionMismatch):
			return nil, false, fmt.Errorf("%w: %w", kv.ErrInvalid, err)
		case errors.Is(err, berrors.ErrChecksum), errors.Is(err, berrors.ErrInvalidMapping):
			return nil, false, fmt.Errorf("%w: %w", kv.ErrCorrupt, err)
		}
		var pe *fs.PathError
		var errno syscall.Errno
		if errors.As(err, &pe) || errors.As(err, &errno) {
			return nil, false, err // the operating system's error
		}
		// bbolt's other complaints about an existing file ("file size too small", ...).
		return nil, false, fmt.Errorf("%w: %w", kv.ErrCorrupt, err)
	}
	s := &boltStore{db: db, file: file, buckets: opts.Buckets, fault: opts.Fault}
	for _, b := range opts.Buckets {
		s.names = append(s.names, []byte(b.Name))
	}
	if err := s.verify(); err != nil {
		_ = s.Close()
		return nil, false, err
	}
	locked, err := file.Stat()
	if err != nil {
		_ = s.Close()
		return nil, false, err
	}
	now, err := os.Stat(path)
	if err != nil {
		_ = s.Close()
		return nil, false, err // removed while we waited
	}
	return s, os.SameFile(locked, now), nil
}

// panicError turns a recovered panic into an ErrCorrupt error.
func panicError(r any) error {
	if e, ok := r.(error); ok {
		return fmt.Errorf("%w: %w", kv.ErrCorrupt, e)
	}
	return fmt.Errorf("%w: %v", kv.ErrCorrupt, r)
}

// guard turns a panic of the engine (or a fault on its memory map, made a panic by
// debug.SetPanicOnFault) into ErrCorrupt in *err.
func guard(err *error) {
	if r := recover(); r != nil {
		*err = panicError(r)
	}
}

func (s *boltStore) Path() string { return s.db.Path() }

// View runs fn in the kept read transaction, which sees the last Update committed (it is
// closed when an Update starts), opening it if there is none. While an Update runs, or while
// another View uses the kept transaction, fn runs in a transaction of its own.
func (s *boltStore) View(fn func(r kv.Reader) error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer guard(&err)
	s.rmu.Lock()
	if s.writers > 0 || s.rbusy || s.closed {
		s.rmu.Unlock()
		err := s.db.View(func(tx *bolt.Tx) error {
			return fn(&boltTx{s: s, tx: tx})
		})
		if errors.Is(err, berrors.ErrDatabaseNotOpen) {
			err = fmt.Errorf("%w: %w", kv.ErrClosed, err)
		}
		return err
	}
	if s.rtx.tx == nil {
		// No Update runs (writers is 0 under rmu), so Begin waits for no remap.
		tx, err := s.db.Begin(false)
		if err != nil {
			s.rmu.Unlock()
			return err
		}
		s.rtx = boltTx{s: s, tx: tx}
	}
	s.rbusy = true
	s.rmu.Unlock()
	done := false
	defer func() {
		s.rmu.Lock()
		s.rbusy = false
		// An Update started meanwhile waits for this transaction to end before it can
		// remap; after a panic (a damaged page) the transaction is not trusted any more.
		if !done || s.rstale || s.writers > 0 || s.closed {
			s.rstale = false
			s.dropReadLocked()
		}
		s.rmu.Unlock()
	}()
	err = fn(&s.rtx)
	done = true
	return err
}

// dropReadLocked ends the kept read transaction, if any; if a View is using it, that View
// ends it when it returns. s.rmu must be held.
func (s *boltStore) dropReadLocked() {
	switch {
	case s.rtx.tx == nil:
	case s.rbusy:
		s.rstale = true // it may return after the Update has committed: it would not see it
	default:
		_ = s.rtx.tx.Rollback()
		s.rtx = boltTx{}
	}
}

// The bounds of the slack bbolt adds when a commit grows the file (bbolt.DB.AllocSize).
const (
	minAllocSize = 1 << 20
	maxAllocSize = 16 << 20 // bbolt's default
)

// allocSize returns the slack to add when a commit grows a file of size bytes: an eighth of
// it, from 1 to 16 MiB. (bbolt adds its fixed DefaultAllocSize, 16 MiB, whenever its memory
// map is bigger than that, which InitialMmapSize makes it always: every new store would be
// 17 MB.)
func allocSize(size int64) int {
	return int(min(max(size/8, minAllocSize), maxAllocSize))
}

func (s *boltStore) Update(fn func(w kv.Writer) error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer guard(&err)
	// End the kept read transaction (a View using it ends it when it returns), and keep
	// Views from keeping one until this transaction has committed: the next View then
	// opens one that sees it.
	s.rmu.Lock()
	s.writers++
	s.dropReadLocked()
	s.rmu.Unlock()
	defer func() {
		s.rmu.Lock()
		s.writers--
		s.rmu.Unlock()
	}()
	err = s.db.Update(func(tx *bolt.Tx) error {
		// Read by this transaction's commit, under the same writer lock.
		s.db.AllocSize = allocSize(tx.Size())
		return fn(&boltTx{s: s, tx: tx})
	})
	return mapError(err)
}

// mapError maps bbolt's errors of a commit onto the seam's: a read-only store's onto
// os.ErrPermission, a closed one's onto kv.ErrClosed, a full disk's or a store past bbolt's
// size limit onto kv.ErrNoSpace (the message stays bbolt's or the operating system's).
func mapError(err error) error {
	switch {
	case err == nil, errors.Is(err, os.ErrPermission), errors.Is(err, kv.ErrClosed):
		return err
	case errors.Is(err, berrors.ErrDatabaseReadOnly), errors.Is(err, berrors.ErrTxNotWritable):
		return fmt.Errorf("%w: %w", os.ErrPermission, err)
	case errors.Is(err, berrors.ErrDatabaseNotOpen):
		return fmt.Errorf("%w: %w", kv.ErrClosed, err)
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, berrors.ErrMaxSizeReached):
		return kv.NoSpace(err)
	}
	return err
}

// UpdateBackground is Update: a bbolt commit has no cheaper form for a commit nobody waits
// on.
func (s *boltStore) UpdateBackground(fn func(w kv.Writer) error) error { return s.Update(fn) }

// Detach does nothing: a bbolt store keeps nothing beside its file.
func (s *boltStore) Detach() error { return nil }

// Check walks the page graph first (see verify): bbolt's own check runs in a goroutine of its
// own, where a fault on a page past the end of the file kills the process and a cycle of pages
// overflows the stack, so it runs only on a graph found sound.
func (s *boltStore) Check(fn func(error)) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer guard(&err)
	return s.db.View(func(tx *bolt.Tx) error {
		if err := verify(s.file, s.db.Info().PageSize, uint64(tx.ID()), true); err != nil {
			fn(err)
			return nil
		}
		for e := range tx.Check() {
			fn(e)
		}
		return nil
	})
}

// verify walks the page graph of the store's file as its current transaction sees it (see
// verify; without full, so reading the headers of the first leafBudget leaf pages only): every
// page a read could reach is inside the file, of the type its parent says, and reached once (no
// cycle), so that a read of the store's trees faults outside the file or recurses without end
// only if a leaf page past the budget was damaged into a branch page. Errors: ErrCorrupt.
func (s *boltStore) verify() (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer guard(&err)
	return s.db.View(func(tx *bolt.Tx) error {
		return verify(s.file, s.db.Info().PageSize, uint64(tx.ID()), false)
	})
}

func (s *boltStore) Close() error {
	s.rmu.Lock()
	s.closed = true
	s.dropReadLocked()
	s.rmu.Unlock()
	return s.db.Close()
}

// boltTx implements Writer (and Reader) over one bbolt transaction. Bucket handles are looked
// up once per transaction.
type boltTx struct {
	s    *boltStore
	tx   *bolt.Tx
	bkts [8]*bolt.Bucket
}

func (t *boltTx) bucket(b kv.Bucket, create bool) (*bolt.Bucket, error) {
	if int(b) < len(t.bkts) && t.bkts[b] != nil {
		return t.bkts[b], nil
	}
	if int(b) >= len(t.s.names) {
		return nil, fmt.Errorf("kv: no bucket %d", b)
	}
	bk := t.tx.Bucket(t.s.names[b])
	if bk == nil {
		if !create {
			return nil, nil
		}
		var err error
		if bk, err = t.tx.CreateBucket(t.s.names[b]); err != nil {
			return nil, err
		}
	}
	if f := t.s.buckets[b].FillPercent; f > 0 {
		bk.FillPercent = f
	}
	if int(b) < len(t.bkts) {
		t.bkts[b] = bk
	}
	return bk, nil
}

func (t *boltTx) Exists(b kv.Bucket) bool {
	bk, _ := t.bucket(b, false)
	return bk != nil
}

func (t *boltTx) Get(b kv.Bucket, key []byte) []byte {
	bk, _ := t.bucket(b, false)
	if bk == nil {
		return nil
	}
	return bk.Get(key)
}

func (t *boltTx) Scan(b kv.Bucket, from, to []byte, fn func(k, v []byte) bool) error {
	bk, err := t.bucket(b, false)
	if bk == nil {
		return err
	}
	c := bk.Cursor()
	for k, v := c.Seek(from); k != nil; k, v = c.Next() {
		if to != nil && bytes.Compare(k, to) >= 0 {
			break
		}
		if !fn(k, v) {
			break
		}
	}
	return nil
}

func (t *boltTx) Put(b kv.Bucket, key, value []byte) error {
	if f := t.s.fault; f != nil {
		if err := f.Charge(t.s.db.Path(), len(key)+len(value)); err != nil {
			return err
		}
	}
	bk, err := t.bucket(b, true)
	if err != nil {
		return err
	}
	return bk.Put(key, value)
}

func (t *boltTx) Delete(b kv.Bucket, key []byte) error {
	bk, err := t.bucket(b, false)
	if bk == nil {
		return err
	}
	return bk.Delete(key)
}

func (t *boltTx) DeleteRange(b kv.Bucket, from, to []byte) (int, error) {
	bk, err := t.bucket(b, false)
	if bk == nil {
		return 0, err
	}
	// Collect a run of keys, then delete them by exact key. (Deleting under a cursor and
	// seeking again would walk the nodes emptied so far at every step: quadratic.)
	const run = 1024
	keys := make([][]byte, 0, run)
	buf := make([]byte, 0, 16*run)
	start := from
	n := 0
	for {
		keys, buf = keys[:0], buf[:0]
		c := bk.Cursor()
		for k, _ := c.Seek(start); k != nil && len(keys) < run; k, _ = c.Next() {
			if to != nil && bytes.Compare(k, to) >= 0 {
				break
			}
			if len(buf)+len(k) > cap(buf) {
				buf = make([]byte, 0, max(16*run, len(k)))
			}
			buf = append(buf, k...)
			keys = append(keys, buf[len(buf)-len(k):])
		}
		for _, k := range keys {
			if err := bk.Delete(k); err != nil {
				return n, err
			}
			n++
		}
		if len(keys) < run {
			return n, nil
		}
		start = keys[len(keys)-1]
	}
}
