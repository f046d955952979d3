// Package heap is the in-memory file system backend: what wasmrun mounts at /tmp.
//
// # Nothing here is durable
//
// An FS lives in the Go heap and nowhere else. Its contents are gone when the FS is garbage
// collected or the process exits, and File.Sync succeeds without doing anything because there
// is nothing to make durable. Use the stable backend for data that must survive.
//
// # Layout
//
// Every inode has a number from a counter that is never reused. A directory keeps its entries in
// two indexes: a hash map by name for Lookup, and an ordered index (tidwall/btree) by a
// per-directory sequence number stamped when the entry is inserted, for ReadDir. A readdir
// cookie is such a sequence number, so it stays valid while entries come and go (see
// vfs.DirEntry); a listing reports only the entries that existed when it started, so it ends
// even while entries are added. File data is stored in PageSize pages in an ordered index keyed
// by page index; pages that would be all zeros are not stored, so holes and sparse files cost
// nothing, and reads and writes work at any offset and length, across pages.
//
// # Limits
//
// Options.MaxBytes bounds the bytes charged: PageSize for every stored page, plus InodeCost,
// DirCost and EntryCost for the bookkeeping, so that the Go memory an FS holds stays close to
// its charge and a guest filling /tmp gets ENOSPC before the host runs out of memory.
// Options.MaxInodes bounds the number of inodes. An unlinked inode keeps its charge until its
// last File is closed. Usage reports the bytes of stored file data (vfs.Usage.Bytes) and the
// inodes in use.
//
// # Concurrency
//
// An FS is safe for concurrent use. Namespace operations (Lookup, Create, Remove, Rename, Link,
// the listing of a directory) take one read-write lock over the tree; reads and writes of file
// data take only their inode's lock, shared for ReadAt, so data I/O on different files, and reads
// of the same file, run in parallel. File.Append is atomic with respect to every other write of
// the inode. ReadAt and WriteAt allocate nothing in steady state: freed pages are pooled.
package heap
