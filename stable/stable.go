package stable

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/bits"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/tidwall/btree"

	"github.com/wasmrun/wasmrun/stable/internal/kv"
	"github.com/wasmrun/wasmrun/stable/internal/kv/boltkv"
	"github.com/wasmrun/wasmrun/vfs"
)

// Defaults of Options.
const (
	// DefaultPageSize is the size of a file page when Options.PageSize is zero.
	DefaultPageSize = 8 << 10
	// DefaultCacheBytes is Options.CacheBytes when it is zero.
	DefaultCacheBytes = 256 << 20
	// DefaultCommitInterval is Options.CommitInterval when it is zero.
	DefaultCommitInterval = 5 * time.Second
	// DefaultLockTimeout is Options.LockTimeout when it is zero.
	DefaultLockTimeout = time.Second
)

// The bounds of Options.PageSize.
const (
	MinPageSize = 4 << 10
	MaxPageSize = 64 << 10
)

// MaxFileSize is the largest size a file may have (EFBIG beyond).
const MaxFileSize = 1 << 50

// maxNlink is the largest link count an inode may reach (EMLINK beyond).
const maxNlink = 1<<32 - 1

// Options configure Open. The zero value gives the documented defaults.
type Options struct {
	// PageSize is the size of the fixed pages file data is stored in, a power of two between
	// MinPageSize and MaxPageSize; zero means DefaultPageSize. It only matters when Open
	// creates the store: an existing store keeps the page size it was created with.
	PageSize int

	// CacheBytes sizes the write-back cache, like Linux's dirty_bytes and
	// dirty_background_bytes: when a quarter of it is taken by dirty file pages a commit
	// starts in the background (half of it when the pages are scattered over their files,
	// not in runs), and a writer that would take dirty and committing pages
	// together past CacheBytes waits for the commit in flight. Spare page buffers, kept for
	// writers to reuse, take at most the room dirty and committing pages leave in CacheBytes
	// (a quarter of it once nothing was written for CommitInterval), and clean pages kept for
	// reading the rest of 1.125*CacheBytes (at least an eighth of CacheBytes). So the cache
	// never holds more than 1.125*CacheBytes of page memory, and a write burst smaller than
	// CacheBytes runs at memory speed while it is committed behind it. CacheBytes also bounds
	// the metadata cache: one inode and one directory name per 2 KiB of it are kept, clean
	// ones beyond are evicted. Zero means DefaultCacheBytes; the smallest value used is 64
	// pages.
	CacheBytes int64

	// CommitInterval bounds the age of the oldest uncommitted change: a background commit
	// starts when it is reached. Zero means DefaultCommitInterval; a negative value turns
	// the age-based commit off (commits then happen on Sync, on Commit, on Close and when
	// CacheBytes are dirty).
	CommitInterval time.Duration

	// LockTimeout is how long Open waits for another process to release the store before
	// it fails with ErrLocked. Zero means DefaultLockTimeout; a negative value means one try.
	LockTimeout time.Duration

	// QuotaBytes bounds the sum of the sizes of the regular files in the store: a write or
	// truncate that would go beyond it fails with ENOSPC. Zero means unlimited.
	QuotaBytes int64

	// NoSync makes commits skip fdatasync. A commit is still atomic and survives a crash of
	// the process, but NOT a crash of the machine or a power loss: the last commits may be
	// lost, and the file may even be damaged. For tests and benchmarks only; never in
	// production.
	NoSync bool

	// Etcd configures a store in an etcd cluster (path "etcd://HOST:PORT[,...]/NAME"):
	// TLS, credentials, the lock's lease.
	Etcd EtcdOptions

	// ReadOnly opens the store shared and read-only: every change fails with EROFS, orphans
	// are left for the next writer to reclaim, and Open does not create a missing store.
	ReadOnly bool

	// AcceptLoss, if not nil, is called when Open finds the store's write-ahead log damaged
	// (not merely torn by a crash), with an error that Is ErrLoss and says what would be
	// dropped: if it returns true, the store opens without the log's commits from the damage
	// on (a copy of the log is kept, unless ReadOnly); otherwise Open fails with that error
	// (also ErrCorrupt), changing nothing.
	AcceptLoss func(damage error) bool

	// maxMeta, for tests only, bounds the cached inodes and names (0: from CacheBytes, see
	// metaBound), so that a test can make them be evicted all the time.
	maxMeta int

	// maxNegatives, for tests only, bounds the cached negative lookups (0: the default), so
	// that a test can make them be dropped all the time.
	maxNegatives int

	// fault, for tests only, makes the store's writes fail on demand (disk full, I/O error).
	fault *kv.Fault

	// walCheckpointBytes, for tests only, is the log size past which a commit checkpoints
	// (0: boltkv.DefaultCheckpointBytes).
	walCheckpointBytes int64

	// boltPageSize, for tests only, is the bbolt page size of a new store (0: the default,
	// boltPageSize(PageSize)), to make the small stores the fuzz test starts from.
	boltPageSize int
}

// Errors of Open. Open wraps them in an *fs.PathError naming the file, so the message reads
// like "open /x/y.store: store is in use by another process"; test with errors.Is.
var (
	// ErrLocked means another process (or another FS in this process) has the store open
	// and did not let go within Options.LockTimeout.
	ErrLocked = errors.New("store is in use by another process")
	// ErrNotStore means the file is not a stable store (not a bbolt file, an empty file, or a
	// bbolt file without a stable superblock).
	ErrNotStore = errors.New("not a stable store")
	// ErrNewerFormat means the store was written by a newer version of this package, whose
	// format this one cannot read.
	ErrNewerFormat = errors.New("store has a newer format version")
	// ErrOlderFormat means the store was written by an older version of this package, in a
	// format this one no longer reads (there is no migration yet: export the data with the
	// older version and import it into a new store).
	ErrOlderFormat = errors.New("store has an older format version")
	// ErrCorrupt means the store is damaged: truncated, overwritten, or inconsistent.
	ErrCorrupt = errors.New("store is corrupted")
	// ErrLoss means Open found damage that would drop committed changes: the store's
	// write-ahead log is damaged, not torn by a crash (see Options.AcceptLoss). An error that
	// Is ErrLoss also Is ErrCorrupt.
	ErrLoss = kv.ErrLoss
)

// FS is a file system persisted in a store file. It implements vfs.FS, vfs.Committer,
// vfs.Closer, vfs.Usager and vfs.BackendStatser, and is safe for concurrent use by many
// goroutines. Create one with Open; see the package documentation for the store format and
// the durability contract, and its section "Rooms and locks" for how FS is made.
//
// FS is a thin type that composes the rooms of the backend, each a type with its own fields
// and invariants (stated where it is declared): the metadata cache (metaCache, meta.go), the
// directory index (dirIndex, dir.go), the page cache (pageCache, pages.go), the committer
// (committer, commit.go) and the store reads in flight (reads, read.go). The namespace
// operations (ops.go) and the File methods (file.go) go through them.
type FS struct {
	// Set by Open and never changed: read without a lock.
	path     string
	store    kv.Store
	readOnly bool
	quota    int64
	ps       int64 // page size
	pshift   uint  // log2(ps)
	cacheCap int64 // Options.CacheBytes
	interval time.Duration
	created  int64
	maxNegs  int // cached negative lookups before they are dropped

	// mu, the cache lock, guards the rooms below, and the inodes, names and pages they hold.
	// It is held for memory work only: neither store reads (see reads) nor commits (see
	// committer) happen under it. An operation takes it once, and releases it with unlock.
	mu     sync.Mutex
	cond   sync.Cond // signalled when a commit ends, and when the last read ends after Close
	closed bool

	// The superblock's counters as of now; each commit writes them.
	nextIno uint64
	bytes   int64 // sum of regular file sizes
	ninodes int64 // inode records

	meta   metaCache // inodes, and the eviction of inodes and names
	dir    dirIndex  // names of directories, by name and by sequence number
	pc     pageCache // file pages: dirty, committing, clean and spare
	commit committer // the dirty set of metadata, and the commits
	rd     reads     // store reads in flight without mu
	stats  Stats
}

// Open opens the store at path, creating it (with its parent directory's permissions
// untouched) if it does not exist. It waits up to Options.LockTimeout for another user of the
// store to let go; if the file was replaced meanwhile (by Compact), it opens the new one. After a crash it reclaims the orphans the crash left (files unlinked while
// open). Errors, each wrapped in an *fs.PathError naming the file: ErrLocked, ErrNotStore,
// ErrNewerFormat, ErrOlderFormat, ErrCorrupt, an invalid option, or the operating system's
// error.
func Open(path string, opts Options) (*FS, error) {
	f, err := open(path, opts)
	if err != nil {
		var pe *fs.PathError
		if !errors.As(err, &pe) {
			err = &fs.PathError{Op: "open", Path: redact(path), Err: err}
		}
		return nil, err
	}
	return f, nil
}

func open(path string, opts Options) (*FS, error) {
	if opts.PageSize == 0 {
		opts.PageSize = DefaultPageSize
	}
	if opts.PageSize < MinPageSize || opts.PageSize > MaxPageSize || bits.OnesCount(uint(opts.PageSize)) != 1 {
		return nil, fmt.Errorf("invalid page size %d (a power of two from %d to %d)", opts.PageSize, MinPageSize, MaxPageSize)
	}
	if opts.CacheBytes == 0 {
		opts.CacheBytes = DefaultCacheBytes
	}
	if opts.CommitInterval == 0 {
		opts.CommitInterval = DefaultCommitInterval
	}
	if opts.LockTimeout == 0 {
		opts.LockTimeout = DefaultLockTimeout
	}
	if opts.QuotaBytes < 0 {
		opts.QuotaBytes = 0
	}

	var store kv.Store
	var ver uint32
	var err error
	if IsURL(path) {
		if store, err = openEtcd(path, opts, &ver); err != nil {
			return nil, err
		}
	} else if store, err = openFile(path, opts, &ver); err != nil {
		return nil, err
	}
	f := &FS{
		path:     path,
		store:    store,
		readOnly: opts.ReadOnly,
		quota:    opts.QuotaBytes,
		interval: opts.CommitInterval,
		maxNegs:  cmp.Or(opts.maxNegatives, defaultMaxNegatives),
		meta:     metaCache{inodes: make(map[vfs.Ino]*inode)},
		dir: dirIndex{
			names: btree.NewBTreeGOptions(dentNameLess, btree.Options{NoLocks: true}),
			seqs:  btree.NewBTreeGOptions(dentSeqLess, btree.Options{NoLocks: true}),
		},
		pc:     pageCache{dirtyPages: btree.NewBTreeGOptions(pageLess, btree.Options{NoLocks: true})},
		commit: committer{gen: 1},
	}
	f.cond.L = &f.mu
	if err := f.loadSuper(); err != nil {
		_ = store.Close()
		return nil, storeError(err)
	}
	if ver < formatVersion && !f.readOnly {
		// A version 2 store has no log. Upgrade it before any commit can go to one, straight
		// into bbolt (UpdateBackground skips the log), so that a program reading only version
		// 2 refuses it from now on.
		err := f.store.UpdateBackground(func(w kv.Writer) error {
			return w.Put(bSuper, keyVersion, binary.BigEndian.AppendUint32(nil, formatVersion))
		})
		if err != nil {
			_ = store.Close()
			return nil, storeError(err)
		}
	}
	f.cacheCap = max(opts.CacheBytes, 64*f.ps)
	f.meta.init(cmp.Or(opts.maxMeta, metaBound(f.cacheCap)))
	if !f.readOnly {
		if err := f.reclaimOrphans(); err != nil {
			_ = store.Close()
			return nil, err
		}
	}
	if !f.readOnly && f.interval > 0 {
		f.commit.wake = make(chan struct{}, 1)
		f.commit.stop = make(chan struct{})
		f.commit.done = make(chan struct{})
		go f.background()
	}
	return f, nil
}

// openFile opens (creating it if missing, unless read-only) the local store file at path.
func openFile(path string, opts Options, ver *uint32) (kv.Store, error) {
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist) && !opts.ReadOnly:
		if err := create(path, opts.PageSize, cmp.Or(opts.boltPageSize, boltPageSize(opts.PageSize))); err != nil {
			return nil, createError(path, err)
		}
	case err != nil:
		return nil, err
	case st.IsDir():
		return nil, fmt.Errorf("%w: is a directory", ErrNotStore)
	case st.Size() == 0:
		return nil, fmt.Errorf("%w: empty file", ErrNotStore)
	}

	// Every store has a write-ahead log in front of its bbolt file (see boltkv.WAL): opening
	// it replays the commits a crash left in it. The format is checked before (Accept): a log
	// of a newer format must not be checkpointed into the file.
	store, err := boltkv.Open(path, kv.Options{
		Buckets:     bucketSpecs,
		LockTimeout: opts.LockTimeout,
		ReadOnly:    opts.ReadOnly,
		NoSync:      opts.NoSync,
		Fault:       opts.fault,
		LogBytes:    cmp.Or(opts.walCheckpointBytes, walCheckpointBytes(opts.CacheBytes)),
		Accept:      func(r kv.Reader) (err error) { *ver, err = checkVersion(r); return err },
		AcceptLoss:  opts.AcceptLoss,
	})
	if err != nil {
		return nil, storeError(err)
	}
	return store, nil
}

// walCheckpointBytes is the size of the log past which it is checkpointed, for a cache of
// cacheBytes: an eighth of the cache, from 1 to 16 MiB. The log's commits are held in memory
// until then, and a checkpoint copies them once more (into bbolt's pages), so the log's
// memory is kept in proportion to the cache's.
func walCheckpointBytes(cacheBytes int64) int64 {
	return min(max(cacheBytes/8, 1<<20), boltkv.DefaultCheckpointBytes)
}

// storeError maps an error of the kv layer to the errors of Open. Errors already of this
// package (ErrNotStore, ErrCorrupt, ...) pass through.
func storeError(err error) error {
	switch {
	case errors.Is(err, ErrNotStore), errors.Is(err, ErrCorrupt), errors.Is(err, ErrNewerFormat),
		errors.Is(err, ErrOlderFormat), errors.Is(err, ErrLocked):
		return err
	case errors.Is(err, kv.ErrLocked):
		return ErrLocked
	case errors.Is(err, kv.ErrInvalid):
		return fmt.Errorf("%w: %w", ErrNotStore, err)
	case errors.Is(err, kv.ErrCorrupt):
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return err
}

// boltPageSize is the bbolt page size of a store of file pages of ps bytes: big enough that a
// bbolt leaf holds seven pages with their keys, so that page writes never take bbolt's
// multi-page (overflow) path and a leaf of file pages is 7/8 data. See RATIONALE.md.
func boltPageSize(ps int) int { return 8 * ps }

// createError is the error of a store that create could not make at path. It names path and
// what is wrong with its directory, never the temporary file create works on, and wraps the
// system's error (errors.Is(err, fs.ErrPermission) works).
func createError(path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err // pe.Path is the temporary file
	}
	dir := filepath.Dir(path)
	st, serr := os.Stat(dir)
	switch {
	case serr != nil:
		if errors.As(serr, &pe) {
			serr = pe.Err
		}
		err = fmt.Errorf("directory %s: %w", dir, serr)
	case !st.IsDir():
		err = fmt.Errorf("%s is not a directory: %w", dir, syscall.ENOTDIR)
	case errors.Is(err, fs.ErrNotExist):
		// An existing directory where creating a file says ENOENT: /proc, /sys.
		err = fmt.Errorf("the file system of %s does not allow new files: %w", dir, err)
	default:
		err = fmt.Errorf("cannot create a file in %s: %w", dir, err)
	}
	return &fs.PathError{Op: "create store", Path: path, Err: err}
}

// create makes a new, empty store at path, with bbolt pages of boltPage bytes. It builds it under a temporary name in the same
// directory and links it into place only when it is complete and synced, so a crash during
// creation never leaves a half-made store at path.
func create(path string, pageSize, boltPage int) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".new-*")
	if err != nil {
		return err
	}
	name := tmp.Name()
	_ = tmp.Close()
	defer os.Remove(name)

	s, err := boltkv.OpenBolt(name, boltkv.BoltOptions{Buckets: bucketSpecs, PageSize: boltPage})
	if err != nil {
		return err
	}
	err = s.Update(func(w kv.Writer) error { return initStore(w, pageSize) })
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Link(name, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil // created meanwhile by someone else: open theirs
		}
		// A file system without hard links: rename, which cannot refuse to replace a store
		// created meanwhile by another process, so check just before.
		if _, serr := os.Lstat(path); serr == nil {
			return nil
		}
		if rerr := os.Rename(name, path); rerr != nil {
			return err
		}
	}
	kv.SyncDir(dir)
	return nil
}

// initStore writes the superblock and the root directory of a new store, and creates every
// bucket, so that a store always has all of them.
func initStore(w kv.Writer, pageSize int) error {
	now := time.Now().UnixNano()
	root := &inode{ino: rootIno, typ: vfs.TypeDir, mode: 0o755, nlink: 2, parent: rootIno,
		nextSeq: 1, atime: now, mtime: now, ctime: now}
	puts := []struct {
		b    kv.Bucket
		k, v []byte
	}{
		{bSuper, keyMagic, []byte(magic)},
		{bSuper, keyVersion, binary.BigEndian.AppendUint32(nil, formatVersion)},
		{bSuper, keyPageSize, binary.BigEndian.AppendUint32(nil, uint32(pageSize))},
		{bSuper, keyCreated, u64key(uint64(now))},
		{bSuper, keyNextIno, u64key(uint64(rootIno) + 1)},
		{bSuper, keyBytes, u64key(0)},
		{bSuper, keyInodes, u64key(1)},
		{bInodes, u64key(uint64(rootIno)), encodeInode(root)},
	}
	for _, p := range puts {
		if err := w.Put(p.b, p.k, p.v); err != nil {
			return err
		}
	}
	for _, b := range []kv.Bucket{bDirents, bDirSeqs, bPages, bOrphans} {
		if err := w.Put(b, []byte{0}, nil); err != nil {
			return err
		}
		if err := w.Delete(b, []byte{0}); err != nil {
			return err
		}
	}
	return nil
}

// checkVersion reads and checks the magic and the format version of a store. Errors:
// ErrNotStore, ErrCorrupt, ErrNewerFormat, ErrOlderFormat (see formatVersion).
func checkVersion(r kv.Reader) (uint32, error) {
	if !r.Exists(bSuper) {
		return 0, fmt.Errorf("%w: no superblock", ErrNotStore)
	}
	if string(r.Get(bSuper, keyMagic)) != magic {
		return 0, fmt.Errorf("%w: bad magic", ErrNotStore)
	}
	v := r.Get(bSuper, keyVersion)
	if len(v) != 4 {
		return 0, fmt.Errorf("%w: bad format version", ErrCorrupt)
	}
	switch ver := binary.BigEndian.Uint32(v); {
	case ver > formatVersion:
		return 0, fmt.Errorf("%w: version %d, this program reads versions %d to %d", ErrNewerFormat, ver, minFormatVersion, formatVersion)
	case ver == 0:
		return 0, fmt.Errorf("%w: format version 0", ErrCorrupt)
	case ver < minFormatVersion:
		return 0, fmt.Errorf("%w: version %d, this program reads versions %d to %d (export the data with the program that wrote it, and import it into a new store)", ErrOlderFormat, ver, minFormatVersion, formatVersion)
	default:
		return ver, nil
	}
}

// loadSuper reads and checks the superblock and the root inode.
func (f *FS) loadSuper() error {
	return f.store.View(func(r kv.Reader) error {
		if _, err := checkVersion(r); err != nil {
			return err
		}
		ps := r.Get(bSuper, keyPageSize)
		if len(ps) != 4 {
			return fmt.Errorf("%w: bad page size", ErrCorrupt)
		}
		size := int64(binary.BigEndian.Uint32(ps))
		if size < MinPageSize || size > MaxPageSize || bits.OnesCount64(uint64(size)) != 1 {
			return fmt.Errorf("%w: bad page size %d", ErrCorrupt, size)
		}
		f.ps, f.pshift = size, uint(bits.TrailingZeros64(uint64(size)))
		created := r.Get(bSuper, keyCreated)
		next := r.Get(bSuper, keyNextIno)
		nbytes := r.Get(bSuper, keyBytes)
		ninodes := r.Get(bSuper, keyInodes)
		if len(created) != 8 || len(next) != 8 || len(nbytes) != 8 || len(ninodes) != 8 {
			return fmt.Errorf("%w: incomplete superblock", ErrCorrupt)
		}
		for _, b := range []kv.Bucket{bInodes, bDirents, bDirSeqs, bPages, bOrphans} {
			if !r.Exists(b) {
				return fmt.Errorf("%w: no %s bucket", ErrCorrupt, bucketSpecs[b].Name)
			}
		}
		f.created = int64(binary.BigEndian.Uint64(created))
		f.nextIno = binary.BigEndian.Uint64(next)
		f.bytes = int64(binary.BigEndian.Uint64(nbytes))
		f.ninodes = int64(binary.BigEndian.Uint64(ninodes))
		root := &inode{ino: rootIno, stored: true}
		if !decodeInode(root, r.Get(bInodes, u64key(uint64(rootIno)))) || root.typ != vfs.TypeDir || f.nextIno <= uint64(rootIno) {
			return fmt.Errorf("%w: no root directory", ErrCorrupt)
		}
		root.init()
		f.meta.inodes[rootIno] = root
		return nil
	})
}

// reclaimOrphans frees the inodes a crash left on the orphan list: files that were unlinked
// while open and whose last close never came.
func (f *FS) reclaimOrphans() error {
	var orphans []uint64
	err := f.store.View(func(r kv.Reader) error {
		return r.Scan(bOrphans, nil, nil, func(k, _ []byte) bool {
			if len(k) == 8 {
				orphans = append(orphans, binary.BigEndian.Uint64(k))
			}
			return true
		})
	})
	if err != nil || len(orphans) == 0 {
		return storeError(err)
	}
	err = f.store.Update(func(w kv.Writer) error {
		for _, ino := range orphans {
			key := u64key(ino)
			var n inode
			if rec := w.Get(bInodes, key); rec != nil && decodeInode(&n, rec) && n.nlink == 0 {
				if n.typ == vfs.TypeRegular {
					f.bytes -= n.size
				}
				f.ninodes--
				if _, err := w.DeleteRange(bPages, pairKey(ino, 0), pairKey(ino+1, 0)); err != nil {
					return err
				}
				if err := w.Delete(bInodes, key); err != nil {
					return err
				}
			}
			if err := w.Delete(bOrphans, key); err != nil {
				return err
			}
		}
		return f.putCounters(w)
	})
	return storeError(err)
}

func (f *FS) putCounters(w kv.Writer) error {
	for _, p := range []struct {
		k []byte
		v uint64
	}{{keyNextIno, f.nextIno}, {keyBytes, uint64(f.bytes)}, {keyInodes, uint64(f.ninodes)}} {
		if err := w.Put(bSuper, p.k, u64key(p.v)); err != nil {
			return err
		}
	}
	return nil
}

// Path returns the path of the store file.
func (f *FS) Path() string { return f.path }

// PageSize returns the store's file page size.
func (f *FS) PageSize() int { return int(f.ps) }

// Usage implements vfs.Usager: Bytes is the sum of the sizes of the regular files (holes
// included), Inodes the number of inodes, LimitBytes Options.QuotaBytes.
func (f *FS) Usage() vfs.Usage {
	f.mu.Lock()
	defer f.mu.Unlock()
	return vfs.Usage{Bytes: f.bytes, Inodes: f.ninodes, LimitBytes: f.quota}
}

// Close commits every change, stops the background committer and closes the store file. Open
// Files become unusable (EBADF); an unlinked file still open is reclaimed by the next Open.
// It returns the commit's error, if any (the store is closed anyway, and the changes that
// could not be committed are lost); a second Close returns nil.
func (f *FS) Close() error {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil
	}
	var cerr error
	if !f.readOnly {
		if e := f.commitLocked(byExplicit); e != vfs.ESUCCESS {
			cerr = fmt.Errorf("stable: close %s: commit: %w", f.path, e)
			if f.commit.lastFailed && f.commit.failCause != nil {
				cerr = fmt.Errorf("stable: close %s: commit: %w (%v)", f.path, e, f.commit.failCause)
			}
		}
	}
	for f.commit.committing {
		f.cond.Wait()
	}
	f.closed = true
	for f.rd.reading > 0 {
		f.cond.Wait() // the store must not close under a read
	}
	f.mu.Unlock()
	if f.commit.stop != nil {
		close(f.commit.stop)
		<-f.commit.done
	}
	if err := f.store.Close(); err != nil && cerr == nil {
		cerr = err
	}
	return cerr
}

// noTrunc is the "no pending truncation" value of inode.truncDirty and truncFlight.
const noTrunc = math.MaxUint64
