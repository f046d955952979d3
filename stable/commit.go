package stable

import (
	"bytes"
	"cmp"
	"errors"
	"io/fs"
	"slices"
	"syscall"
	"time"

	"github.com/wasmrun/wasmrun/stable/internal/failpoint"
	"github.com/wasmrun/wasmrun/stable/internal/kv"
	"github.com/wasmrun/wasmrun/vfs"
	"github.com/wasmrun/wasmrun/vfs/stats"
)

// The committer: the dirty set of metadata (the pages' is the page cache's), and the commits
// that make it durable, one at a time. Invariants, under FS.mu:
//   - gen is the generation of the dirty set; a commit takes the whole dirty set (takeLocked),
//     gen goes up, and once its store transaction is written (without FS.mu) durable
//     becomes the generation it took: every change made before a Commit returns is in a
//     generation up to durable;
//   - at most one commit is in flight (committing); its batch is flight, and what it took
//     stays pinned (frozen pages, flight dents, truncFlight) until finishLocked: on success
//     it becomes clean, on failure it goes back to the dirty set to be retried;
//   - callers that want their changes durable wait on FS.cond for durable (or failGen) to
//     reach their generation, so concurrent Syncs share commits.

// committer is the committer's state.
type committer struct {
	dirtyInodes []*inode  // inodes changed since the last commit was taken
	dirtyDents  []*dent   // names changed since then
	superDirty  bool      // the dirty set is not empty (the counters are written)
	dirtySince  time.Time // when the oldest change of the dirty set was made

	gen        uint64 // generation of the dirty set; the commit taking it makes it durable
	durable    uint64 // every generation up to this one is committed
	committing bool   // a commit is in flight
	flight     *batch
	failGen    uint64          // the last failed commit's generation
	failErr    vfs.Errno       // and its error
	failCause  error           // and the store's error it came from, for Close's message
	lastFailed bool            // the most recent commit failed
	commitLat  stats.Histogram // durations of the commits, successful or not

	wake chan struct{} // to the background committer: the dirty set is no longer empty
	stop chan struct{}
	done chan struct{}
}

// batch is a dirty set taken for a commit: every record to write, in key order.
type batch struct {
	trigger trigger // what started the commit
	written int64   // bytes of keys and values put, counted by writeBatch
	gen     uint64
	nextIno uint64
	bytes   int64
	ninodes int64
	inodes  []inodeOp
	dents   []dentOp // the directory names taken, by (parent, name)
	names   []keyOp  // dirents bucket, in key order
	entries []keyOp  // dirseqs bucket, in key order
	truncs  []truncOp
	pages   []pageOp
}

type inodeOp struct {
	n      *inode
	rec    []byte // nil: delete the inode (and its orphan entry)
	orphan bool   // put an orphan entry
}

type dentOp struct {
	e    *dent
	prev uint64 // e.stored before the batch: restored if the commit fails
}

type keyOp struct {
	key []byte
	val []byte // nil: delete
}

type truncOp struct {
	ino  uint64
	from uint64 // delete the pages from this index on
}

type pageOp struct {
	p    *page
	ino  uint64
	idx  uint64
	data []byte // nil: delete
	zero bool   // set by writeBatch: data was all zeros and the page was deleted
}

// takeLocked moves the dirty set into a new batch for the commit about to run, and freezes
// its pages. The caller sets f.commit.committing.
func (f *FS) takeLocked(t trigger) *batch {
	b := &batch{trigger: t, gen: f.commit.gen, nextIno: f.nextIno, bytes: f.bytes, ninodes: f.ninodes}
	f.commit.gen++

	slices.SortFunc(f.commit.dirtyInodes, func(x, y *inode) int { return cmp.Compare(x.ino, y.ino) })
	for _, n := range f.commit.dirtyInodes {
		n.dirty = false
		if n.truncDirty != noTrunc {
			if n.stored {
				b.truncs = append(b.truncs, truncOp{uint64(n.ino), n.truncDirty})
			}
			n.truncFlight = n.truncDirty
			n.truncDirty = noTrunc
		}
		switch {
		case n.deleted && n.stored:
			b.inodes = append(b.inodes, inodeOp{n: n})
		case n.deleted:
			// Born and gone since the last commit: nothing to write, nothing to keep.
			if f.meta.inodes[n.ino] == n {
				delete(f.meta.inodes, n.ino)
			}
		default:
			b.inodes = append(b.inodes, inodeOp{n: n, rec: encodeInode(n), orphan: n.nlink == 0})
			n.stored = true
		}
	}
	f.commit.dirtyInodes = f.commit.dirtyInodes[:0]

	f.takeDentsLocked(b)

	b.pages = make([]pageOp, 0, f.pc.dirtyPages.Len())
	f.pc.dirtyPages.Scan(func(p *page) bool {
		p.state = pageFrozen
		b.pages = append(b.pages, pageOp{p: p, ino: uint64(p.n.ino), idx: p.idx, data: p.data})
		p.charge = 0
		return true
	})
	f.pc.dirtyPages.Clear()
	f.pc.dirtyRuns = 0
	f.pc.flightBytes = f.pc.dirtyBytes
	f.pc.dirtyBytes = 0
	f.commit.superDirty = false
	f.commit.dirtySince = time.Time{}
	f.commit.flight = b
	return b
}

// takeDentsLocked moves the dirty directory names into b: for each, the put or delete of its
// dirents key and of its dirseqs keys. A name that comes back under another seq (removed and
// added again, or its directory renumbered) deletes its old dirseqs key; two names may then
// delete and put one dirseqs key in the same batch, and the delete goes first.
func (f *FS) takeDentsLocked(b *batch) {
	slices.SortFunc(f.commit.dirtyDents, func(x, y *dent) int {
		if x.parent != y.parent {
			return cmp.Compare(x.parent, y.parent)
		}
		return cmp.Compare(x.name, y.name)
	})
	for _, e := range f.commit.dirtyDents {
		e.dirty = false
		if e.ino == 0 && e.stored == 0 {
			continue // added and removed again since the last commit: nothing to write
		}
		b.dents = append(b.dents, dentOp{e: e, prev: e.stored})
		e.flight = true
		if e.stored != 0 && e.stored != e.seq {
			b.entries = append(b.entries, keyOp{key: pairKey(uint64(e.parent), e.stored)})
		}
		key := nameKey(e.parent, e.name)
		if e.ino == 0 {
			b.names = append(b.names, keyOp{key: key})
			e.stored = 0
			continue
		}
		b.names = append(b.names, keyOp{key: key, val: encodeNameVal(e.seq, e.typ, e.ino)})
		b.entries = append(b.entries, keyOp{key: pairKey(uint64(e.parent), e.seq), val: encodeEntryVal(e.typ, e.ino, e.name)})
		e.stored = e.seq
	}
	f.commit.dirtyDents = f.commit.dirtyDents[:0]
	slices.SortStableFunc(b.entries, func(x, y keyOp) int {
		if c := bytes.Compare(x.key, y.key); c != 0 {
			return c
		}
		// Deletes before puts of the same key.
		return cmp.Compare(boolInt(x.val != nil), boolInt(y.val != nil))
	})
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// writeBatch writes b to the store in one transaction. It runs without f.mu.
func (f *FS) writeBatch(b *batch) error {
	if err := failpoint.Inject(failpoint.BeforeTx); err != nil {
		return err
	}
	b.written = 0
	update := f.store.Update
	if b.trigger == bySize || b.trigger == byAge {
		// No one waits on this commit: it need not go through the log (see
		// kv.Store.UpdateBackground).
		update = f.store.UpdateBackground
	}
	err := update(func(kw kv.Writer) error {
		w := countingWriter{kw, &b.written}
		for _, p := range []struct {
			k []byte
			v uint64
		}{{keyNextIno, b.nextIno}, {keyBytes, uint64(b.bytes)}, {keyInodes, uint64(b.ninodes)}} {
			if err := w.Put(bSuper, p.k, u64key(p.v)); err != nil {
				return err
			}
		}
		for _, op := range b.inodes {
			key := u64key(uint64(op.n.ino))
			var err error
			switch {
			case op.rec == nil:
				if err = w.Delete(bInodes, key); err == nil {
					err = w.Delete(bOrphans, key)
				}
			case op.orphan:
				if err = w.Put(bInodes, key, op.rec); err == nil {
					err = w.Put(bOrphans, key, nil)
				}
			default:
				err = w.Put(bInodes, key, op.rec)
			}
			if err != nil {
				return err
			}
		}
		for _, ops := range []struct {
			b   kv.Bucket
			ops []keyOp
		}{{bDirents, b.names}, {bDirSeqs, b.entries}} {
			for _, op := range ops.ops {
				var err error
				if op.val == nil {
					err = w.Delete(ops.b, op.key)
				} else {
					err = w.Put(ops.b, op.key, op.val)
				}
				if err != nil {
					return err
				}
			}
		}
		if err := failpoint.Inject(failpoint.BeforePages); err != nil {
			return err
		}
		for _, t := range b.truncs {
			if _, err := w.DeleteRange(bPages, pairKey(t.ino, t.from), pairKey(t.ino+1, 0)); err != nil {
				return err
			}
		}
		for i := range b.pages {
			if i == len(b.pages)/2 {
				if err := failpoint.Inject(failpoint.DuringPages); err != nil {
					return err
				}
			}
			op := &b.pages[i]
			key := pairKey(op.ino, op.idx)
			var err error
			// A page is stored without its trailing zeros; a page of zeros is not stored.
			v := trimZeros(op.data)
			if op.zero = len(v) == 0; op.zero {
				err = w.Delete(bPages, key)
			} else {
				err = w.Put(bPages, key, v)
			}
			if err != nil {
				return err
			}
		}
		return failpoint.Inject(failpoint.BeforeCommit)
	})
	if err != nil {
		return err
	}
	return failpoint.Inject(failpoint.AfterCommit)
}

// finishLocked records the end of the commit of b: on success its pages become clean, on
// failure its changes go back into the dirty set to be retried.
func (f *FS) finishLocked(b *batch, err error, took time.Duration) {
	f.commit.committing = false
	f.commit.flight = nil
	f.pc.flightBytes = 0
	f.stats.CommitTime += took
	f.commit.commitLat.Record(took)
	if err == nil {
		f.commit.durable = b.gen
		f.rd.commits++ // a store read begun before may be stale (see read.go)
		f.commit.lastFailed = false
		f.stats.countCommit(b.trigger)
		f.stats.CommittedBytes += b.written
		f.stats.PagesWritten += int64(len(b.pages))
		for _, op := range b.inodes {
			n := op.n
			n.commits++
			n.truncFlight = noTrunc
			if n.deleted && !n.dirty && f.meta.inodes[n.ino] == n {
				delete(f.meta.inodes, n.ino)
			}
		}
		for _, op := range b.dents {
			op.e.flight = false
		}
		for _, op := range b.pages {
			p := op.p
			p.n.commits++
			live := p.n.pages[p.idx] == p
			switch {
			case live && p.state == pageFrozen && op.zero:
				// Not in the store: a hole.
				delete(p.n.pages, p.idx)
				f.freeBuf(op.data)
			case live && p.state == pageFrozen:
				p.state = pageClean
				p.charge = int64(cap(p.data))
				f.pc.lru.pushFront(p)
				f.pc.cleanBytes += p.charge
			default:
				f.freeBuf(op.data) // rewritten (copied) or dropped since
			}
		}
		f.evictLocked()
		if f.wantCommitLocked() {
			// Writers dirtied enough meanwhile: keep the pipeline going.
			f.startCommitLocked(bySize)
		}
	} else {
		f.commit.failGen, f.commit.failErr, f.commit.failCause = b.gen, errnoOf(err), err
		f.commit.lastFailed = true
		f.stats.FailedCommits++
		for _, op := range b.inodes {
			n := op.n
			n.truncDirty = min(n.truncDirty, n.truncFlight)
			n.truncFlight = noTrunc
			f.markDirty(n)
		}
		for _, op := range b.dents {
			// The store still has what it had before the batch.
			op.e.flight = false
			op.e.stored = op.prev
			f.markDentDirty(op.e)
		}
		for _, op := range b.pages {
			p := op.p
			if p.n.pages[p.idx] == p && p.state == pageFrozen {
				p.state = pageDirty
				p.charge = int64(cap(p.data))
				f.pc.dirtyPages.Set(p)
				f.pc.dirtyRuns++ // counted as scattered
				f.pc.dirtyBytes += p.charge
				f.noteDirty()
			}
		}
		f.commit.superDirty = true
	}
	f.cond.Broadcast()
}

// commitLocked makes every change made before the call durable: it takes the dirty set and
// writes it, or waits for the commit in flight to do so (group commit: every caller that
// arrives while a commit is being written shares the next one). With nothing dirty and no
// commit in flight it returns at once. It releases f.mu while it writes or waits. t says who
// asks, for the counters.
func (f *FS) commitLocked(t trigger) vfs.Errno {
	target := f.commit.gen
	if f.dirtyEmpty() {
		if !f.commit.committing {
			return vfs.ESUCCESS
		}
		target = f.commit.gen - 1 // the generation in flight
	}
	for {
		switch {
		case f.commit.durable >= target:
			return vfs.ESUCCESS
		case f.commit.failGen >= target:
			return f.commit.failErr
		case f.commit.committing:
			f.cond.Wait()
			continue
		case f.closed:
			return vfs.EIO
		}
		f.runCommitLocked(t)
	}
}

// runCommitLocked takes the dirty set and commits it, releasing f.mu meanwhile.
func (f *FS) runCommitLocked(t trigger) {
	f.commit.committing = true
	b := f.takeLocked(t)
	f.mu.Unlock()
	start := time.Now()
	err := f.writeBatch(b)
	took := time.Since(start)
	f.mu.Lock()
	f.finishLocked(b, err, took)
}

// wantCommitLocked reports whether the dirty set is big enough for a commit no one waits on to
// start now, in the background (trigger bySize). How big depends on how the dirty pages lie
// in their files, as a bbolt commit costs the leaves it rewrites (seven 8 KiB pages each), not
// the pages: pages mostly in runs (fewer than one run per 16 pages: files written in order)
// are committed from a quarter of the cache on; scattered pages (random writes) wait until
// half the cache is dirty, since a commit of them rewrites nearly every leaf it touches,
// whatever their number, so fewer and bigger commits write less. Writers block only when
// dirty and committing pages fill the cache.
func (f *FS) wantCommitLocked() bool {
	if f.commit.committing || f.closed {
		return false
	}
	if f.pc.dirtyRuns*16 <= f.pc.dirtyPages.Len() {
		return f.pc.dirtyBytes >= f.cacheCap/4
	}
	return f.pc.dirtyBytes >= f.cacheCap/2
}

// startCommitLocked starts a commit of the dirty set in a new goroutine.
func (f *FS) startCommitLocked(t trigger) {
	f.commit.committing = true
	b := f.takeLocked(t)
	go func() {
		start := time.Now()
		err := f.writeBatch(b)
		took := time.Since(start)
		f.mu.Lock()
		f.finishLocked(b, err, took)
		f.mu.Unlock()
	}()
}

// makeRoomLocked waits, before a write, while dirty and committing pages take CacheBytes and a
// commit is in flight, and starts a commit when they do and none is. If the last commit failed
// it commits in the caller instead and returns that commit's error, so that a full disk stops
// writers rather than filling memory.
func (f *FS) makeRoomLocked() vfs.Errno {
	for f.pc.dirtyBytes+f.pc.flightBytes >= f.cacheCap && !f.closed {
		switch {
		case f.commit.committing:
			f.cond.Wait()
		case f.commit.lastFailed:
			if e := f.commitLocked(bySize); e != vfs.ESUCCESS {
				return e
			}
		default:
			f.startCommitLocked(bySize)
		}
	}
	return vfs.ESUCCESS
}

// Commit implements vfs.Committer: it makes every change made so far durable in one atomic
// store transaction (see the package documentation, "Durability"). Concurrent callers share
// commits; with nothing changed it writes nothing and returns at once. After a failure the
// changes stay in the cache and the next commit retries them. Errors: EIO, ENOSPC.
func (f *FS) Commit() vfs.Errno {
	f.mu.Lock()
	defer f.unlock()
	if f.closed || f.readOnly {
		return vfs.ESUCCESS
	}
	return f.commitLocked(byExplicit)
}

// background commits when the oldest dirty change is Options.CommitInterval old, and gives
// back the spare page buffers beyond a quarter of the cache once nothing was dirty for as
// long.
func (f *FS) background() {
	defer close(f.commit.done)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var idleSince time.Time // when the dirty set was first seen empty, with spare buffers to trim
	for {
		f.mu.Lock()
		wait := time.Duration(-1)
		if !f.closed && f.dirtyEmpty() && !f.commit.committing && int64(len(f.pc.free))*f.ps > f.cacheCap/4 {
			if idleSince.IsZero() {
				idleSince = time.Now()
			}
			if wait = time.Until(idleSince.Add(f.interval)); wait <= 0 {
				f.trimSpareLocked()
				idleSince, wait = time.Time{}, -1
			}
		} else {
			idleSince = time.Time{}
		}
		if !f.closed && !f.dirtyEmpty() {
			wait = time.Until(f.commit.dirtySince.Add(f.interval))
			if wait <= 0 && !f.commit.committing {
				f.runCommitLocked(byAge)
				if f.commit.lastFailed {
					// Retry after a full interval, not in a tight loop.
					f.commit.dirtySince = time.Now()
				}
				f.mu.Unlock()
				continue
			}
			if wait <= 0 {
				wait = f.interval / 10 // a commit is in flight: look again soon
			}
		}
		f.mu.Unlock()
		var tc <-chan time.Time
		if wait > 0 {
			timer.Reset(wait)
			tc = timer.C
		}
		select {
		case <-f.commit.stop:
			timer.Stop()
			return
		case <-f.commit.wake:
		case <-tc:
		}
		timer.Stop()
	}
}

// countingWriter counts the bytes of the keys and values put through it.
type countingWriter struct {
	kv.Writer
	n *int64
}

func (w countingWriter) Put(b kv.Bucket, key, value []byte) error {
	*w.n += int64(len(key) + len(value))
	return w.Writer.Put(b, key, value)
}

// errnoOf maps an error of the store to an errno: the one place this package does.
func errnoOf(err error) vfs.Errno {
	var e vfs.Errno
	switch {
	case err == nil:
		return vfs.ESUCCESS
	case errors.As(err, &e):
		return e
	case errors.Is(err, kv.ErrNoSpace), errors.Is(err, syscall.ENOSPC):
		return vfs.ENOSPC
	case errors.Is(err, fs.ErrPermission), errors.Is(err, syscall.EROFS):
		return vfs.EROFS
	}
	return vfs.EIO
}
