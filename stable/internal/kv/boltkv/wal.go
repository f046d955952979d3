package boltkv

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/wasmrun/wasmrun/stable/internal/failpoint"
	"github.com/wasmrun/wasmrun/stable/internal/kv"
)

// WALOptions configure OpenWAL.
type WALOptions struct {
	// CheckpointBytes is the size of the log past which the overlay is checkpointed into the
	// inner store and the log reset, in the background (see WAL). Zero means
	// DefaultCheckpointBytes.
	CheckpointBytes int64
	// DirectBytes is the size of a commit past which the commit skips the log: it is
	// checkpointed straight into the inner store, with the overlay, in one transaction. Zero
	// means DefaultDirectBytes. (On a file system short of space both limits shrink: see
	// setLimit.)
	DirectBytes int64
	// ReadOnly replays the log into memory and never writes: Update fails as the inner
	// store's does. The inner store must be read-only too.
	ReadOnly bool
	// NoSync skips the fdatasync of log writes (see BoltOptions.NoSync).
	NoSync bool
	// Fault, if not nil, makes Puts fail on demand (see Fault). It belongs here and not on the
	// inner store, whose Puts are the checkpoints'.
	Fault *kv.Fault
	// AcceptLoss, as kv.Options.AcceptLoss: called with the damage a replay finds in the log
	// (see parseLog), it decides whether the store opens without the records from the damage
	// on. If it does, a copy of the log is kept (the log's path plus DamagedSuffix) unless
	// read-only.
	AcceptLoss func(damage error) bool
}

// DamagedSuffix is added to a log's path to name the copy kept of it when a damaged log is
// replayed up to its damage (WALOptions.AcceptLoss).
const DamagedSuffix = ".damaged"

// The defaults of WALOptions.
const (
	DefaultCheckpointBytes = 16 << 20
	DefaultDirectBytes     = 256 << 20
)

// testCheckpointBytes, if positive, replaces DefaultCheckpointBytes (see
// SetTestCheckpointBytes).
var testCheckpointBytes atomic.Int64

// SetTestCheckpointBytes makes n the checkpoint size of the stores opened afterwards, whatever
// their WALOptions.CheckpointBytes; 0 restores them. For tests of other packages (the crash
// test of the stable package's failpoints), which open stores through stable.Open.
func SetTestCheckpointBytes(n int64) { testCheckpointBytes.Store(n) }

// testAfterApply, if not nil, runs between a checkpoint's commit into the inner store and the
// publishing of its overlay: tests widen that window with it.
var testAfterApply func()

// LogSuffix is added to a store file's path to name its log file.
const LogSuffix = "-wal"

// walBucket is the bucket of the inner store that holds the log's salt and generation (under
// walKey, 16 bytes): they bind a log file to the store file and tell the log's current records
// from those already checkpointed. The stable package's copies never copy it.
var (
	walBucket = []byte("wal")
	walKey    = []byte("log")
)

// WAL is a Store that puts a write-ahead log in front of a bbolt store: a commit appends one
// record to the log file (the store's path plus LogSuffix) and syncs it, one fdatasync, instead
// of committing a bbolt transaction (two, and the rewrite of every page on the path to each
// changed key). The commits in the log live in memory too, in an overlay that reads see over
// the bbolt store; when the log passes WALOptions.CheckpointBytes (in a goroutine of the WAL's,
// which holds commits off meanwhile), and at Close, the overlay is checkpointed: written to
// bbolt in one transaction, after which the log is reset. A commit bigger than
// WALOptions.DirectBytes skips the log and is checkpointed at once.
//
// The salt and generation kept in the bbolt file bind the log to it: a log of another store
// file (a copy, a file put back from a backup) or of a generation already checkpointed is
// ignored. A closed WAL leaves no log file: the store is again the one bbolt file.
type WAL struct {
	inner *boltStore
	path  string // of the log
	opts  WALOptions

	wmu      sync.Mutex // held by Update, UpdateBackground, checkpoints, Close, Detach, Check
	work     *overlay   // the committed overlay, writer-private (it is cloned, which marks it)
	log      *os.File   // nil if read-only without a log, or detached
	salt     uint64
	gen      uint64
	end      int64  // where the next record goes
	limit    int64  // the log size past which the log is checkpointed (see setLimit)
	direct   int64  // the commit size past which a commit skips the log (see setLimit)
	broken   bool   // a record's write or sync failed: what follows end is unsure
	stale    bool   // a checkpoint moved the generation on and the log's header is older
	dirSync  bool   // the log was created: sync its directory before the first record
	innerID  uint64 // the ID of the inner store's last transaction
	closed   bool
	detached bool
	lost     bool // Open accepted the loss of a damaged log's records (see replay)

	pub atomic.Pointer[overlay] // the committed overlay Views read; never changed

	// Record buffers, which the overlay's values alias (see buffer).
	live    [][]byte     // the buffers of the records of the committed overlay
	cur     []byte       // the chunk small records go into, one of live
	retired [][]byte     // checkpointed, perhaps still read by a View
	free    [][]byte     // read by no View: to reuse
	views   atomic.Int64 // Views running

	kick     chan struct{} // wakes the checkpointer (see checkpointer)
	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

// OpenWAL opens the log of inner, a store OpenBolt returned (opened read-only if opts.ReadOnly),
// and replays it: the longest valid prefix of records of the current generation is applied,
// in order, then (unless read-only) checkpointed into inner and the log reset. The WAL owns
// inner from then on: closing it closes inner. On error inner is left open, and the log as it
// was. Errors: a damaged log (Is kv.ErrCorrupt and kv.ErrLoss, see parseLog and
// WALOptions.AcceptLoss), the inner store's errors, or the operating system's.
func OpenWAL(inner kv.Store, opts WALOptions) (*WAL, error) {
	bs, ok := inner.(*boltStore)
	if !ok {
		return nil, fmt.Errorf("kv: OpenWAL needs a store of OpenBolt, not %T", inner)
	}
	if opts.CheckpointBytes <= 0 {
		opts.CheckpointBytes = DefaultCheckpointBytes
	}
	if n := testCheckpointBytes.Load(); n > 0 {
		opts.CheckpointBytes = n
	}
	if opts.DirectBytes <= 0 {
		opts.DirectBytes = DefaultDirectBytes
	}
	s := &WAL{inner: bs, path: bs.Path() + LogSuffix, end: logHeaderSize, opts: opts, work: newOverlay()}
	var have bool
	err := bs.View(func(r kv.Reader) error {
		if bk := r.(*boltTx).tx.Bucket(walBucket); bk != nil {
			if v := bk.Get(walKey); len(v) == 16 {
				s.salt, s.gen, have = binary.LittleEndian.Uint64(v), binary.LittleEndian.Uint64(v[8:]), true
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if s.opts.ReadOnly {
		data, err := os.ReadFile(s.path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return nil, err
		case have:
			if err := s.replay(data); err != nil {
				return nil, err
			}
		}
		s.publish(s.work.clone()) // base 0: a read-only inner store does not change
		return s, nil
	}
	if !have {
		var b [8]byte
		_, _ = rand.Read(b[:])
		s.salt, s.gen = binary.LittleEndian.Uint64(b[:]), 1
		if err := bs.Update(func(w kv.Writer) error { return s.putMeta(w, s.gen) }); err != nil {
			return nil, err
		}
	}
	mode := os.FileMode(0o600)
	if st, err := os.Stat(bs.Path()); err == nil {
		mode = st.Mode().Perm()
	}
	_, statErr := os.Stat(s.path)
	f, err := os.OpenFile(s.path, os.O_RDWR|os.O_CREATE, mode)
	if err != nil {
		return nil, err
	}
	s.log = f
	// The log's name must be durable before its first record is: the first append syncs the
	// directory (not Open: a store opened only to be read never pays for it).
	s.dirSync = errors.Is(statErr, fs.ErrNotExist) && !opts.NoSync
	data, err := io.ReadAll(f)
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	if err := s.replay(data); err != nil {
		_ = f.Close()
		return nil, err
	}
	if err := bs.View(func(r kv.Reader) error { s.innerID = uint64(r.(*boltTx).tx.ID()); return nil }); err != nil {
		_ = f.Close()
		return nil, err
	}
	s.work.base = s.innerID
	s.publish(s.work.clone())
	s.setLimit()
	h, ok := decodeHeader(data)
	ours := ok && h.salt == s.salt && h.gen == s.gen
	switch {
	case s.lost:
		// The records after the damage are of the current generation: move it on, or the
		// next Open would find them again.
		err = s.checkpointLocked(s.work)
	case !s.work.empty() || len(data) > int(s.end):
		// Commits to checkpoint, or bytes past the last record replayed: a torn record, or
		// records a crash left behind a header it did not (records of this generation behind
		// an older header that a power cut kept when it dropped the header's write). Moving
		// the generation on kills them all: else a later append could end where one of them
		// begins, or a reset of the header make them this generation's again, and a commit
		// never acknowledged would be replayed.
		//
		// A checkpoint that fails (a full disk) leaves the log as it was: the store opens with
		// the log's commits in memory, and the next checkpoint tries again.
		if cerr := s.checkpointLocked(s.work); cerr != nil && !ours {
			err = s.resetLog()
		}
	case !ours:
		err = s.resetLog()
	}
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	s.kick, s.stop, s.done = make(chan struct{}, 1), make(chan struct{}), make(chan struct{})
	go s.checkpointer()
	return s, nil
}

// replay applies the commits of the log data (its longest valid prefix of records of the
// current salt and generation) to the overlay and sets the log's end after them. A damaged log
// (see parseLog) is an error, unless opts.AcceptLoss accepts it: then its commits before the
// damage are applied, a copy of the log is kept (unless read-only) and s.lost is set, so that
// Open moves the generation on and the damage is not found again. Errors: a *logDamage (Is
// ErrCorrupt and ErrLoss), the operating system's (keeping the copy).
func (s *WAL) replay(data []byte) error {
	commits, end, err := parseLog(data, s.salt, s.gen)
	if d, ok := err.(*logDamage); ok {
		d.path = s.path
		if s.opts.AcceptLoss == nil || !s.opts.AcceptLoss(d) {
			return d
		}
		if !s.opts.ReadOnly {
			if err := writeFileSync(s.path+DamagedSuffix, data); err != nil {
				return err
			}
		}
		s.lost = true
	}
	for _, ops := range commits {
		s.work.apply(ops)
	}
	s.end = int64(end)
	return nil
}

// writeFileSync writes data to a new file at path (replacing one there) and syncs it and its
// directory.
func writeFileSync(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		kv.SyncDir(filepath.Dir(path))
	}
	return err
}

// setLimit sets the log size past which the log is checkpointed: WALOptions.CheckpointBytes, or
// less on a file system short of space, where the log's commits must still fit into the bbolt
// file (a log that filled the disk could not be checkpointed, nor its space given back).
func (s *WAL) setLimit() {
	s.limit, s.direct = s.opts.CheckpointBytes, s.opts.DirectBytes
	var st unix.Statfs_t
	if err := unix.Statfs(filepath.Dir(s.path), &st); err == nil {
		avail := int64(st.Bavail) * int64(st.Bsize)
		s.limit = max(min(s.limit, avail/8), min(s.limit, 64<<10))
		s.direct = max(min(s.opts.DirectBytes, avail/8), min(s.opts.DirectBytes, 64<<10))
	}
}

// putMeta records the log's salt and generation gen in the inner store, in w's transaction.
func (s *WAL) putMeta(w kv.Writer, gen uint64) error {
	bk, err := w.(*boltTx).tx.CreateBucketIfNotExists(walBucket)
	if err != nil {
		return err
	}
	v := make([]byte, 16)
	binary.LittleEndian.PutUint64(v, s.salt)
	binary.LittleEndian.PutUint64(v[8:], gen)
	return bk.Put(walKey, v)
}

// publish makes o the overlay Views read. o must never change afterwards.
func (s *WAL) publish(o *overlay) { s.pub.Store(o) }

// Path returns the path of the inner store's file.
func (s *WAL) Path() string { return s.inner.Path() }

// LogPath returns the path of the log file.
func (s *WAL) LogPath() string { return s.path }

// errRetry makes View start again: a checkpoint began while it opened its transaction.
var errRetry = errors.New("retry")

// View runs fn over the committed overlay and a read transaction of the inner store that
// agree. The inner store changes only at a checkpoint (or an UpdateBackground), which publishes the
// new (empty) overlay once the inner transaction committed: an overlay records the inner
// transaction it sits on (base), and a View whose inner transaction is newer than its overlay's
// base (it began in the moment between the checkpoint's commit and its publishing) starts again.
func (s *WAL) View(fn func(r kv.Reader) error) error {
	s.views.Add(1) // before the overlay is loaded (see buffer)
	defer s.views.Add(-1)
	for {
		o := s.pub.Load()
		err := s.inner.View(func(r kv.Reader) error {
			if o.base != 0 && uint64(r.(*boltTx).tx.ID()) != o.base {
				return errRetry
			}
			return fn(&view{o: o, r: r})
		})
		if err != errRetry {
			return err
		}
		runtime.Gosched()
	}
}

// walTx is the Writer of an Update: it applies each change to a private clone of the overlay
// (so that the transaction reads its own writes) and records it for the log.
type walTx struct {
	view
	s     *WAL
	ops   []op
	bytes int
}

func (t *walTx) Put(b kv.Bucket, key, value []byte) error {
	if f := t.s.opts.Fault; f != nil {
		if err := f.Charge(t.s.Path(), len(key)+len(value)); err != nil {
			return err
		}
	}
	k := append([]byte(nil), key...)
	t.ops = append(t.ops, op{kind: opPut, b: b, key: k, val: value})
	t.bytes += len(key) + len(value)
	t.o.put(b, k, value)
	return nil
}

func (t *walTx) Delete(b kv.Bucket, key []byte) error {
	k := append([]byte(nil), key...)
	t.ops = append(t.ops, op{kind: opDelete, b: b, key: k})
	t.bytes += len(key)
	t.o.del(b, k)
	return nil
}

func (t *walTx) DeleteRange(b kv.Bucket, from, to []byte) (int, error) {
	n := 0
	if err := t.Scan(b, from, to, func(_, _ []byte) bool { n++; return true }); err != nil {
		return 0, err
	}
	f := append([]byte{}, from...)
	var tt []byte
	if to != nil {
		tt = append([]byte{}, to...)
	}
	t.ops = append(t.ops, op{kind: opDeleteRange, b: b, key: f, val: tt})
	t.bytes += len(from) + len(to)
	t.o.delRange(b, f, tt)
	return n, nil
}

// UpdateBackground is Update for a commit no one waits on (a background flush of a cache): it
// skips the log, whatever its size, and commits the overlay with it into the inner store.
// Through the log its values would be written twice, to the log now and to bbolt at the next
// checkpoint; directly, once, with the latency of a bbolt commit.
func (s *WAL) UpdateBackground(fn func(w kv.Writer) error) error {
	return mapError(s.updateBackground(fn))
}

func (s *WAL) updateBackground(fn func(w kv.Writer) error) error {
	if s.opts.ReadOnly {
		return s.inner.Update(fn)
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	switch {
	case s.closed:
		return fmt.Errorf("%s: %w", s.Path(), kv.ErrClosed)
	case s.detached:
		return s.inner.Update(fn)
	}
	// Checkpoint the overlay first (usually empty: commits that go through the log are
	// checkpointed in the background), then run fn in a bbolt transaction of its own, with no
	// overlay to build and no values to copy.
	if !s.work.empty() || s.broken || s.stale {
		if err := s.checkpointLocked(s.work); err != nil {
			return err
		}
	}
	var id uint64
	err := s.inner.Update(func(w kv.Writer) error {
		id = uint64(w.(*boltTx).tx.ID())
		return fn(directWriter{w, s.opts.Fault, s.Path()})
	})
	if err == nil {
		s.innerID = id
		s.work = newOverlay()
		s.work.base = id
		s.publish(s.work.clone())
	}
	return err
}

// directWriter is the Writer of UpdateBackground: bbolt's, with Puts charged to the Fault if any,
// and a nil value put as an empty one (bbolt's Get returns nil for a nil value put in the same
// transaction, an empty value once committed; the overlay always gives the empty one).
type directWriter struct {
	kv.Writer
	f    *kv.Fault
	path string
}

func (w directWriter) Put(b kv.Bucket, key, value []byte) error {
	if w.f != nil {
		if err := w.f.Charge(w.path, len(key)+len(value)); err != nil {
			return err
		}
	}
	if value == nil {
		value = []byte{}
	}
	return w.Writer.Put(b, key, value)
}

// Update runs fn against a clone of the committed overlay over a read transaction of the
// inner store, then commits its changes: a small commit as one record appended to the log and
// synced, a big one (over WALOptions.DirectBytes) straight into the inner store. Once it
// returns nil the commit is durable (unless NoSync). Errors: fn's, os.ErrPermission (wrapped)
// if read-only, ErrCorrupt, or the operating system's (writing or syncing the log).
func (s *WAL) Update(fn func(w kv.Writer) error) error {
	return mapError(s.update(fn))
}

func (s *WAL) update(fn func(w kv.Writer) error) error {
	if s.opts.ReadOnly {
		return s.inner.Update(fn) // fails as the read-only inner store does
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.closed {
		return fmt.Errorf("%s: %w", s.Path(), kv.ErrClosed)
	}
	if s.detached {
		return s.inner.Update(fn)
	}
	if err := s.repairLocked(); err != nil {
		return err
	}
	tx := &walTx{s: s, view: view{o: s.work.clone()}}
	err := s.inner.View(func(r kv.Reader) error {
		tx.r = r
		return fn(tx)
	})
	if err != nil || len(tx.ops) == 0 {
		return err
	}
	if int64(tx.bytes) > s.direct {
		// tx.o holds the values fn gave, valid until Update returns.
		return s.checkpointLocked(tx.o)
	}
	// The overlay keeps the values: it points at the record's copy of them (decoding the
	// record, the very code a replay runs) rather than at fn's.
	n := recordSize(tx.ops)
	var rec []byte
	var next *overlay
	prepare := func() {
		rec = appendRecord(s.buffer(n), tx.ops, s.salt, s.gen)
		ops, err := decodeOps(rec[recHeaderSize:])
		if err != nil {
			panic(err) // appendRecord and decodeOps disagree
		}
		next = s.work.clone()
		next.apply(ops)
	}
	var size int
	if n < overlapBytes {
		prepare()
		size = len(rec)
		if _, err := s.log.WriteAt(rec, s.end); err != nil {
			s.broken = true
			return err
		}
	} else {
		// A big record is written from fn's values, and the overlay's copy is made while the
		// disk syncs it: for 64 MiB, the copy (page faults on its buffer) took as long as the
		// write and sync, on the other core it costs the commit nothing.
		var err error
		if size, err = s.writeGather(tx.ops); err != nil {
			s.broken = true
			return err
		}
	}
	if err := failpoint.Inject(failpoint.LogWritten); err != nil {
		s.broken = true
		return err
	}
	if rec != nil {
		err = s.syncLog()
	} else {
		synced := make(chan error, 1)
		go func() { synced <- s.syncLog() }()
		prepare()
		err = <-synced
		if len(rec) != size {
			panic(fmt.Sprintf("kv: record of %d bytes written as %d", len(rec), size))
		}
	}
	if err != nil {
		s.broken = true
		return err
	}
	s.end += int64(len(rec))
	s.work = next
	s.publish(s.work.clone())
	switch {
	case s.end-int64(len(rec)) > s.limit:
		// The log was past its limit before this commit: the checkpointer has not kept up.
		// The commit is durable in the log: a failed checkpoint is retried by the next one.
		_ = s.checkpointLocked(s.work)
	case s.end > s.limit:
		select {
		case s.kick <- struct{}{}:
		default: // already kicked
		}
	}
	return nil
}

// overlapBytes is the size of a record from which Update writes it from fn's values and copies
// them while the record syncs (see writeGather). A variable for tests.
var overlapBytes = 1 << 20

// syncLog makes the log's writes durable (and its name, if the log is new).
func (s *WAL) syncLog() error {
	if s.opts.NoSync {
		return nil
	}
	if s.dirSync {
		kv.SyncDir(filepath.Dir(s.path))
		s.dirSync = false
	}
	if err := unix.Fdatasync(int(s.log.Fd())); err != nil {
		return &fs.PathError{Op: "fdatasync", Path: s.path, Err: err}
	}
	return nil
}

// writeGather writes the record of ops at the log's end without encoding it into one buffer:
// the header and the ops' small fields go into a small buffer, and the values are written from
// where they are, with pwritev. It returns the record's size, which appendRecord's encoding of
// the same ops has too.
func (s *WAL) writeGather(ops []op) (int, error) {
	small := recHeaderSize
	for i := range ops {
		small += ops[i].size()
		if ops[i].kind == opPut {
			small -= len(ops[i].val)
		}
	}
	meta := make([]byte, recHeaderSize, small) // never grows: the pieces below alias it
	pieces := [][]byte{nil}
	mark := len(meta)
	flush := func() {
		if len(meta) > mark {
			pieces = append(pieces, meta[mark:len(meta):len(meta)])
			mark = len(meta)
		}
	}
	payload := 0
	for i := range ops {
		o := &ops[i]
		meta = append(meta, o.kind, byte(o.b))
		meta = binary.AppendUvarint(meta, uint64(len(o.key)))
		meta = append(meta, o.key...)
		switch o.kind {
		case opPut:
			meta = binary.AppendUvarint(meta, uint64(len(o.val)))
			if len(o.val) > 0 {
				flush()
				pieces = append(pieces, o.val)
				payload += len(o.val)
			}
		case opDeleteRange:
			if o.val == nil {
				meta = append(meta, 0)
			} else {
				meta = binary.AppendUvarint(meta, uint64(len(o.val))+1)
				meta = append(meta, o.val...)
			}
		}
	}
	flush()
	payload += len(meta) - recHeaderSize
	hdr := meta[:recHeaderSize:recHeaderSize]
	pieces[0] = hdr
	binary.LittleEndian.PutUint32(hdr[0:], recMagic)
	binary.LittleEndian.PutUint32(hdr[4:], uint32(payload))
	binary.LittleEndian.PutUint64(hdr[8:], s.gen)
	var salt [8]byte
	binary.LittleEndian.PutUint64(salt[:], s.salt)
	c := crc32.Update(0, castagnoli, salt[:])
	c = crc32.Update(c, castagnoli, hdr[4:16])
	for _, p := range pieces[1:] {
		c = crc32.Update(c, castagnoli, p)
	}
	binary.LittleEndian.PutUint32(hdr[16:], c)
	off := s.end
	for len(pieces) > 0 {
		batch := pieces[:min(len(pieces), 1024)] // IOV_MAX
		want := 0
		for _, p := range batch {
			want += len(p)
		}
		n, err := unix.Pwritev(int(s.log.Fd()), batch, off)
		if err != nil {
			return 0, &fs.PathError{Op: "pwritev", Path: s.path, Err: err}
		}
		if n < want { // a short write: the rest piece by piece
			skip := n
			for _, p := range batch {
				if skip >= len(p) {
					skip -= len(p)
					continue
				}
				if _, err := s.log.WriteAt(p[skip:], off+int64(n)); err != nil {
					return 0, err
				}
				n += len(p) - skip
				skip = 0
			}
		}
		off += int64(want)
		pieces = pieces[len(batch):]
	}
	return int(off - s.end), nil
}

// chunkSize is the size of the buffers small records share.
const chunkSize = 1 << 20

// buffer returns an empty buffer with room for n bytes, for a record. A record's buffer is the
// overlay's copy of its values, so a big commit needs as much memory again: fresh memory costs
// a page fault per 4 KiB, which took as long as writing and syncing the record (40-120 ms for
// 64 MiB), so buffers are reused once their records are checkpointed and no View can still
// read them. A View counts itself in s.views before it loads the overlay it reads, and a
// checkpoint publishes the overlay without the records before it retires their buffers: once
// s.views is seen zero, no View holds an overlay that reads a retired buffer, and every later
// View loads one that does not. Small records share chunks.
func (s *WAL) buffer(n int) []byte {
	if len(s.retired) > 0 && s.views.Load() == 0 {
		s.free = append(s.free, s.retired...)
		s.retired = nil
		// Keep the biggest buffer (the next big commit's) and up to the log's limit more.
		slices.SortFunc(s.free, func(a, b []byte) int { return cap(b) - cap(a) })
		total := 0
		for i, b := range s.free {
			if i > 0 && total+cap(b) > int(s.limit) {
				clear(s.free[i:])
				s.free = s.free[:i]
				break
			}
			total += cap(b)
		}
	}
	if n > chunkSize/4 {
		b := s.take(n)
		s.live = append(s.live, b)
		return b
	}
	if cap(s.cur)-len(s.cur) < n {
		s.cur = s.take(chunkSize)
		s.live = append(s.live, s.cur)
	}
	l := len(s.cur)
	s.cur = s.cur[:l+n]
	return s.cur[l : l : l+n]
}

// take returns a free buffer of at least n bytes (the smallest), or a new one.
func (s *WAL) take(n int) []byte {
	best := -1
	for i, b := range s.free {
		if cap(b) >= n && (best < 0 || cap(b) < cap(s.free[best])) {
			best = i
		}
	}
	if best >= 0 {
		b := s.free[best]
		s.free = append(s.free[:best], s.free[best+1:]...)
		return b[:0]
	}
	return make([]byte, 0, n)
}

// checkpointer checkpoints the log in the background once a commit took it past its limit,
// so that the commit that did returns as soon as its record is synced: the bbolt transaction
// (which copies every value into its pages, writes them to new places in the file and syncs
// twice) runs while the guest goes on. It holds the writer lock meanwhile, so that commits wait
// for it rather than pile up.
func (s *WAL) checkpointer() {
	defer close(s.done)
	for {
		select {
		case <-s.stop:
			return
		case <-s.kick:
		}
		s.wmu.Lock()
		if !s.closed && !s.detached && s.end > s.limit {
			_ = s.checkpointLocked(s.work)
		}
		s.wmu.Unlock()
	}
}

// stopCheckpointer stops the checkpointer and waits for it to end. It must be called without
// the writer lock.
func (s *WAL) stopCheckpointer() {
	if s.stop == nil {
		return
	}
	s.stopOnce.Do(func() { close(s.stop) })
	<-s.done
}

// repairLocked makes the log fit for the next append after a failure. A stale header is
// rewritten. A record whose write or sync failed may be in the file, whole, after end, and
// must never be replayed (its commit was reported failed): its header is overwritten with
// zeros in place (which needs no new space on a full disk), or if that fails too, a
// checkpoint moves the generation on.
func (s *WAL) repairLocked() error {
	if s.stale {
		return s.resetLog()
	}
	if !s.broken {
		return nil
	}
	var err error
	if _, err = s.log.WriteAt(make([]byte, recHeaderSize), s.end); err == nil && !s.opts.NoSync {
		err = unix.Fdatasync(int(s.log.Fd()))
	}
	if err == nil {
		s.broken = false
		return nil
	}
	return s.checkpointLocked(s.work)
}

// Checkpoint writes the committed overlay into the inner store and resets the log. Errors: the
// inner store's, the operating system's.
func (s *WAL) Checkpoint() error {
	if s.opts.ReadOnly {
		return nil
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.closed || s.detached || s.work.empty() && !s.broken && !s.stale {
		return nil
	}
	return s.checkpointLocked(s.work)
}

// checkpointLocked writes o (the committed overlay, or it with an Update's changes on top) into
// the inner store in one transaction that also moves the generation on, then makes o's state
// the committed one with an empty overlay, and resets the log.
func (s *WAL) checkpointLocked(o *overlay) error {
	_, err := s.applyInner(o, true, true)
	if err != nil && o == s.work {
		// On a full disk the puts may fit only in the pages the deletions free, which bbolt
		// reuses only once the deleting transaction committed: delete in a transaction of its
		// own first. Reads do not notice, as the overlay still decides every key it touches, and
		// a replay after a crash applies the log's commits again, in order.
		var id uint64
		if id, err = s.applyInner(o, true, false); err == nil {
			s.work.base = id
			s.publish(s.work.clone())
			_, err = s.applyInner(o, false, true)
		}
	}
	if err != nil {
		return err
	}
	if testAfterApply != nil {
		testAfterApply()
	}
	s.gen++
	s.work = newOverlay()
	s.work.base = s.innerID
	s.publish(s.work.clone())
	// The records' buffers are no longer in the committed overlay; Views that began before
	// may still read them (see buffer).
	s.retired = append(s.retired, s.live...)
	s.live, s.cur = nil, nil
	s.stale = true // until the reset below is done
	if err := failpoint.Inject(failpoint.Checkpointed); err != nil {
		return err
	}
	return s.resetLog()
}

// applyInner writes o into the inner store in one transaction: its deletions (range
// tombstones, then tombstones) if dels, its puts and the next generation if puts. It returns
// the transaction's ID, also left in s.innerID.
func (s *WAL) applyInner(o *overlay, dels, puts bool) (uint64, error) {
	var id uint64
	err := s.inner.Update(func(w kv.Writer) error {
		id = uint64(w.(*boltTx).tx.ID())
		if dels {
			for b, ss := range o.ranges {
				for _, sp := range ss {
					if _, err := w.DeleteRange(b, sp.from, sp.to); err != nil {
						return err
					}
				}
			}
		}
		var err error
		o.tree.Scan(func(e entry) bool {
			switch {
			case e.del && dels:
				err = w.Delete(e.b, e.key)
			case !e.del && puts:
				err = w.Put(e.b, e.key, e.val)
			}
			return err == nil
		})
		if err != nil || !puts {
			return err
		}
		// A bucket a Put created stays when the Put's key is gone, as in bbolt.
		for b := range kv.Bucket(64) {
			if o.made&(1<<b) != 0 {
				if _, err := w.(*boltTx).bucket(b, true); err != nil {
					return err
				}
			}
		}
		return s.putMeta(w, s.gen+1)
	})
	if err == nil {
		s.innerID = id
	}
	return id, err
}

// resetLog writes a header of the current generation at the start of the log: the records
// after it, of older generations, are dead. It does not sync it: until the next record's
// fdatasync makes both durable, a crash leaves the old header, of a generation the bbolt file
// has moved past, so the log is ignored either way. The file keeps its size and blocks, so that
// the next appends overwrite allocated blocks and their fdatasync has no size to record.
func (s *WAL) resetLog() error {
	if _, err := s.log.WriteAt(logHeader{salt: s.salt, gen: s.gen}.encode(), 0); err != nil {
		s.stale = true
		return err
	}
	s.end = logHeaderSize
	s.broken, s.stale = false, false
	s.setLimit()
	return nil
}

// Detach checkpoints the overlay, closes and removes the log: later commits go straight to the
// inner store. Compact calls it before it renames a new store file over this one, so that the
// log, whose name goes with the path, is not touched once the path names another store.
func (s *WAL) Detach() error {
	if s.opts.ReadOnly {
		return nil
	}
	s.stopCheckpointer()
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.closed || s.detached {
		return nil
	}
	if !s.work.empty() || s.broken || s.stale {
		if err := s.checkpointLocked(s.work); err != nil {
			return err
		}
	}
	s.detached = true
	s.work = newOverlay() // base 0: Views read the inner store as it is
	s.publish(s.work.clone())
	err := s.log.Close()
	s.log = nil
	if rerr := os.Remove(s.path); err == nil {
		err = rerr
	}
	return err
}

// Check runs the inner store's check, with commits held off, then reads the log back and
// reports a log whose records do not end where this WAL's do, or one that does not decode.
func (s *WAL) Check(fn func(problem error)) error {
	// No commit or checkpoint meanwhile: bbolt's check of its freelist and the page walk of
	// verify read the file as of one transaction, with no writer changing it.
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if err := s.inner.Check(fn); err != nil {
		return err
	}
	if s.detached || s.closed {
		return nil
	}
	data, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) && s.opts.ReadOnly {
		data, err = nil, nil
	}
	if err != nil {
		return err
	}
	if s.broken || s.stale {
		return nil // the next commit repairs it
	}
	commits, end, err := parseLog(data, s.salt, s.gen)
	if d, ok := err.(*logDamage); ok {
		d.path = s.path
		fn(d)
		return nil
	}
	if int64(end) != s.end && (len(data) > 0 || s.end != logHeaderSize) {
		fn(fmt.Errorf("log %s: %d records end at offset %d, the store's end at %d", s.path, len(commits), end, s.end))
	}
	return nil
}

// Close checkpoints the overlay, removes the log and closes the inner store. If the checkpoint
// fails, the log is kept (the next Open replays it) and Close returns the error.
func (s *WAL) Close() error {
	s.stopCheckpointer()
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var err error
	if s.log != nil {
		if !s.work.empty() || s.broken || s.stale {
			err = s.checkpointLocked(s.work)
		}
		cerr := s.log.Close()
		if err == nil {
			err = cerr
			if rerr := os.Remove(s.path); err == nil {
				err = rerr
			}
		}
	}
	if cerr := s.inner.Close(); err == nil {
		err = cerr
	}
	return err
}
