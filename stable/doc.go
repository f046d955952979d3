// Package stable is the persistent backend of wasmrun: a vfs.FS whose files, directories and
// symlinks live in one bbolt file, the store, and survive the process, upgrades and crashes.
//
// Open a store with Open (it is created if missing), use the *FS as a vfs.FS, and Close it when
// done:
//
//	fsys, err := stable.Open("/var/lib/app/data.store", stable.Options{})
//	if err != nil {
//		return err // "open /var/lib/app/data.store: store is in use by another process"
//	}
//	defer fsys.Close()
//
// # Durability
//
// Every change (file pages and metadata alike: inodes, sizes, times, directory entries,
// renames, unlinks) lands first in a write-back cache in memory and is visible to every open
// File at once. A commit writes the whole dirty set, in key order, as one transaction of the
// store: a commit someone waits on (a Sync, a Commit) as one record appended to the store's
// write-ahead log and made durable with one fdatasync; a commit no one waits on (the cache's
// size or age bound) as one bbolt transaction (see "Write-ahead log" below). The contract:
//
//  1. When File.Sync (fd_sync, fd_datasync) or FS.Commit returns ESUCCESS, every change made
//     before the call is on disk. A Sync commits the whole FS, not just its file. With nothing
//     dirty it writes nothing and returns at once.
//  2. Each commit is atomic: after a crash (of the process or of the machine) the store is
//     exactly the state of the last commit. No torn page, no half-renamed file, no orphan that
//     Fsck cannot explain. Changes after the last commit are lost.
//  3. Commits also happen with no call from the guest: when a module exits (the runtime calls
//     Commit), when a quarter of CacheBytes is taken by dirty file pages (DefaultCacheBytes is
//     256 MiB, so 64 MiB; half of it when the pages are scattered over their files rather
//     than in runs, as random writes leave them), when the oldest uncommitted change is CommitInterval old (default
//     DefaultCommitInterval, 5 s), and on Close.
//  4. Concurrent Syncs share commits (group commit): a Sync that arrives while a commit is
//     being written waits for it and then joins the next one with every other waiter, so n
//     concurrent Syncs cost about two commits, not n.
//
// When a commit cannot write its transaction (a full disk: ENOSPC; an I/O error: EIO), the
// store is left as it was, at the last commit, and File.Sync and FS.Commit return the error (so
// fd_sync does). The changes stay in the cache, visible to every File, and the next commit (a
// later Sync, a background commit) tries all of them again: a guest that frees space (removing
// or truncating files drops their pages from the cache) gets its commits through again without
// losing anything. Once the cache is full of changes that cannot be committed, writes fail with
// the same error rather than fill memory. If the commit of Close (module exit) fails, Close
// returns the error and the changes since the last commit are lost: the store, reopened, is the
// last commit and passes Fsck.
//
// Options.NoSync drops fdatasync from commits: commits then survive a crash of the process but
// not of the machine. It is for tests and benchmarks only.
//
// # Write-ahead log
//
// Next to the store file, while a writer has it open, is its log: the store's path with "-wal"
// added (like SQLite's). A commit through the log costs one write and one fdatasync, where a
// bbolt transaction costs two fdatasyncs and the rewrite of every bbolt page on the way to each
// changed key. The log's commits are kept in memory too, and reads see them over the bbolt
// file. When the log passes a limit (an eighth of CacheBytes, from 1 to 16 MiB, less on a file
// system short of space), a checkpoint, in the background, writes its commits into the bbolt
// file in one transaction and resets the log; Close does the same and removes the log. Open
// replays a log a crash left: the commits whose records are whole, in order (a torn last
// record is a commit that never returned), then checkpoints them. A read-only Open replays
// them in memory and writes nothing. Fsck checks the log too.
//
// The log's header and the bbolt file share a random salt and a generation number: a log that
// is not this store file's (left by another file of the same name) or whose commits are
// already in the file is ignored. So:
//
//   - A closed store is one file: copy it, move it, back it up as any file.
//   - A store that was not closed (the process was killed, the machine crashed) is the two
//     files together: copy, move or restore both, or open it once (read-only suffices to read
//     it, but only a writable Open folds the log into the file) and close it first. The store
//     file alone is the state of the last checkpoint, consistent but without the commits since.
//   - Backup and Compact copy the state with the log's commits in it, into a single file.
//
// # Store format
//
// The store is a bbolt file with six buckets (and the log's, below):
//
//   - super: the superblock. "magic" ("wasmrun stable store\n"), "version" (uint32), "pagesize"
//     (uint32), "created" (Unix nanoseconds), "nextino" (the next inode number: numbers are
//     never reused), "bytes" and "inodes" (usage counters).
//   - inodes: inode number (8 bytes big-endian) to the inode record: type, permissions, nlink,
//     size, atime, mtime, ctime, and for directories the parent, the entry count and the
//     sequence number of the next entry, for symlinks the target. The root directory is
//     inode 1.
//   - dirents: parent inode number (8 bytes big-endian) and the entry's name, to its sequence
//     number, type and inode number. Lookup is one get.
//   - dirseqs: parent inode number and sequence number (16 bytes big-endian), to the entry's
//     type, inode number and name. A directory's entries are one range of keys, in the order
//     they were added, so a listing is a range scan. Each entry is in both buckets, written by
//     the same commit.
//   - pages: inode number and page index (16 bytes big-endian) to one page of file data
//     (Options.PageSize bytes, 8 KiB by default) with its trailing zeros cut off. A file's
//     pages are contiguous in the tree. All-zero pages are not stored: holes and sparse files
//     cost nothing, and a small file costs its size, not a page. No page holds data past the
//     end of its file.
//   - orphans: inode numbers of inodes unlinked while open, present in the store only until
//     their last close is committed. Open reclaims those a crash left behind.
//
// A seventh bucket, wal, holds the write-ahead log's salt and generation (key "log": two
// uint64, little-endian); copies (Backup, Compact) leave it out and get their own.
//
// The format version is 3. Stores of version 2 (the same format without a write-ahead log) are
// opened, and upgraded to version 3 in place at their first read-write open, so that an older
// wasmrun, which would not replay the log, refuses them with its ErrNewerFormat instead of
// missing the commits a crash left in the log. Stores of format version 1 (entries keyed by a
// hash of their name) are refused with ErrOlderFormat: there is no migration, as no store of
// that version was ever released.
//
// A file is never read or written whole: reads fetch the pages they need (with read-ahead when
// sequential), writes change the pages they touch, and truncating or deleting a file removes
// its pages by key range without reading them. Memory is bounded by the cache size, not by the
// file size.
//
// # Readdir cookies
//
// Each directory numbers its entries as they are added (1, 2, 3, ...; a counter kept in its
// inode record), and an entry keeps its sequence number for as long as it exists; replacing
// it by rename keeps it too. A directory lists in sequence order, and the cookie of an entry
// is its sequence number, so a cookie stays valid while other entries come and go, across
// reopens, and resuming from the cookie of a removed entry continues after where it was.
//
// Cookies are below vfs.MaxCookie (2^31-2), so that a C guest's telldir, a 32-bit long on
// wasm32, keeps them whole. A directory that has had that many entries added has no sequence
// number left: if it is empty at that moment it is renumbered from 1 (no cookie can tell, as
// a listing of an empty directory has no entry to resume after); otherwise adding an entry to
// it (create, link, rename into it) fails with ENOSPC until it is emptied.
//
// # Caching and memory
//
// File pages are cached in at most 1.125 x Options.CacheBytes (288 MiB by default), whatever
// the size of the files: dirty and committing pages and spare page buffers take at most
// CacheBytes, and clean pages (least recently used first out) the rest, at least an eighth of
// CacheBytes, so a file written just before stays cached for reading when it fits. Large reads
// of pages not cached are copied straight from the store, and a sequential reader reads
// through a window of its own, so streaming a big file does not push everything else out of
// the cache. Metadata is cached up to one inode and one directory name per 2 KiB of
// CacheBytes (131,072 of each by default): past that, clean inodes that no File has open, and
// clean names of directories no ReadDir is listing, are evicted and read from the store again
// when needed. Dirty metadata stays until its commit. Listing a small directory (up to 1024
// entries, fewer with a small cache) caches all its entries; a bigger one is read from the
// store a batch of entries at a time, so listing takes memory for one batch.
//
// # Figures
//
// FS.Stats counts commits by what started them (a sync, a Commit or Close, the dirty-size
// bound, the age bound), failed commits, commit latency, bytes committed, cache hits and
// misses, pages read and written, and the peak of dirty page memory. FS.BackendStats gives
// the same figures to stats.Counter, which is how the CLI's --stats prints them.
//
// # Rooms and locks
//
// FS is a thin type over rooms, each a type with its own state and invariants, stated where it
// is declared:
//
//   - the metadata cache (metaCache, meta.go): inodes by number, loaded on first use, and the
//     eviction of clean inodes and names beyond the bound;
//   - the directory index (dirIndex, dir.go): names by (directory, name) and entries by
//     (directory, sequence number), lookups, readdir cookies and listings;
//   - the page cache (pageCache, pages.go): dirty, committing, clean (LRU) and spare pages;
//   - the committer (committer, commit.go): the dirty set, its generations, group commit and
//     the background committer;
//   - the store reads (reads, read.go): reads of what the caches miss, and what makes them
//     safe without the cache lock;
//   - the checker (Fsck, fsck*.go): one check per invariant of the store.
//
// The rooms share one lock, FS.mu, the cache lock, held for memory work only. Store reads
// are made without it: an operation that misses the cache records what it misses, releases
// the lock, reads, and starts over (so a cache miss on one file keeps no operation on another
// waiting); what it read enters the cache only if no commit could have made it stale meanwhile.
// Commits write without it too: the committer takes the dirty set under the lock and writes
// it with none, one commit at a time (the committing flag, waited on through FS.cond). The
// store engine has its own locks below (one writer, many readers). Every operation ends with
// FS.unlock, the one place where clean metadata is evicted.
//
// # Locking and errors
//
// A store is locked (flock) by the FS that has it open: a second Open, from this process or
// another, waits up to Options.LockTimeout and then fails with ErrLocked. A file that is not a
// store fails with ErrNotStore, a store from a newer version of this package with
// ErrNewerFormat, one of an older format with ErrOlderFormat, a damaged store with ErrCorrupt,
// each naming the file; Open never panics on a bad file and never resets one. Fsck checks
// every invariant of a store.
package stable
