package stable

import (
	"math"

	"github.com/wasmrun/wasmrun/stable/internal/failpoint"
	"github.com/wasmrun/wasmrun/stable/internal/kv"
	"github.com/wasmrun/wasmrun/vfs"
)

// Store reads. The caches (metadata, directory index, pages) read the store only for what
// they do not hold, and they do it without FS.mu, so that a read that waits for the disk (or
// for a commit holding the store) keeps no other operation waiting. The protocol:
//
//  1. Under f.mu, an operation finds something missing. If it has changed nothing yet, the
//     helper that found the miss records it in f.rd.miss and returns eMiss; the operation
//     passes eMiss up and calls fill, which reads what is missing (releasing f.mu
//     meanwhile), puts it in the cache, and the operation starts over. Paths that cannot
//     start over (ReadAt's direct and windowed reads, ReadDir's batches) release f.mu around
//     their own reads the same way (readUnlocked) and look at what changed afterwards.
//  2. What was read is put in the cache only if nothing the read could miss happened
//     meanwhile: no commit finished (reads.commits for metadata; inode.commits and inode.mod,
//     which count the commits and the changes of one file's data, for its pages), and the
//     cache did not get the same item meanwhile (it is newer than the store then). A commit
//     that finishes makes clean, and so evictable, what was dirty when the read began: the
//     read may have seen the store from before that commit, and the cache may no longer
//     have the newer copy to win over it. Otherwise, anything the cache did not have when the
//     read began is as the store has it, then and when f.mu is taken again.
//  3. An operation that starts over maxUnlockedTries times (the cache keeps losing what it
//     read, to eviction or to commits of a busy file) reads under f.mu from then on, so that
//     it always ends.
//
// reads.reading counts the reads in flight without f.mu: Close waits for them to end before it
// closes the store.

// reads is the state of the store reads, guarded by FS.mu.
type reads struct {
	reading int     // store reads in flight without FS.mu (see readStore)
	commits uint64  // commits finished (successful): a read begun before may be stale
	miss    miss    // what the operation that returned eMiss needs (see fill)
	noIno   vfs.Ino // an inode number the store has no inode of (see loadInode)
	filled  *page   // the page the operation's last fill read: its next hit was counted a miss
}

// eMiss is what the helpers of an operation return when what it needs is not cached and must
// be read from the store (f.rd.miss says what). It never leaves the package: the operation calls
// fill and starts over.
const eMiss vfs.Errno = math.MaxUint16

// maxUnlockedTries is how many times an operation reads without f.mu before it reads under it.
const maxUnlockedTries = 16

// missKind says what a miss needs.
type missKind uint8

const (
	missInode missKind = iota + 1 // the inode record of ino
	missName                      // the entry name of directory n
	missPages                     // pages [from, to) of file n
)

// miss is what an operation that returned eMiss needs from the store.
type miss struct {
	kind     missKind
	ino      vfs.Ino
	n        *inode
	name     string
	from, to uint64
}

// fill reads what f.rd.miss names into the cache, without f.mu if try (the operation's count of
// fills so far) is below maxUnlockedTries. What it reads may not make it into the cache (see
// above): the caller starts over anyway and finds out. Errors: those of the store (EIO), and
// EIO if the FS was closed meanwhile.
func (f *FS) fill(try int) vfs.Errno {
	m := f.rd.miss
	f.rd.miss = miss{}
	unlocked := try < maxUnlockedTries
	switch m.kind {
	case missInode:
		return f.loadInode(m.ino, unlocked)
	case missName:
		return f.loadName(m.n, m.name, unlocked)
	case missPages:
		return f.loadPages(m.n, m.from, m.to, unlocked)
	}
	return vfs.EIO // an eMiss without a miss: a bug, but not one to panic on
}

// readStore runs fn in a read transaction of the store, releasing f.mu meanwhile if unlocked.
// f.mu is held on return either way; the caller checks f.closed and what may have changed.
// Every read of the cache goes through here, and so through failpoint.StoreRead, inside the
// transaction.
func (f *FS) readStore(unlocked bool, fn func(r kv.Reader) error) error {
	if f.closed {
		return vfs.EIO
	}
	view := func(r kv.Reader) error {
		if err := failpoint.Inject(failpoint.StoreRead); err != nil {
			return err
		}
		return fn(r)
	}
	if !unlocked {
		return f.store.View(view)
	}
	f.rd.reading++
	f.mu.Unlock()
	err := f.store.View(view)
	f.mu.Lock()
	if f.rd.reading--; f.rd.reading == 0 && f.closed {
		f.cond.Broadcast() // Close waits for the reads in flight
	}
	if err == nil && f.closed {
		err = vfs.EIO
	}
	return err
}

// missOr returns e if it is eMiss, else other: for the callers that turn the errors of a
// lookup into one of their own.
func missOr(e, other vfs.Errno) vfs.Errno {
	if e == eMiss {
		return e
	}
	return other
}
