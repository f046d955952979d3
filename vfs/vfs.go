package vfs

// Ino is an inode number, unique within one FS. A backend never reuses an Ino while the FS is
// open, so a stale Ino held by the VFS can only ever name a deleted inode (ENOENT), never another
// file. Ino 0 is never a valid inode.
type Ino uint64

// FileType is the type of an inode. The values are WASI preview1's filetype values.
type FileType uint8

// The file types.
const (
	TypeUnknown     FileType = 0
	TypeBlockDevice FileType = 1
	TypeCharDevice  FileType = 2
	TypeDir         FileType = 3
	TypeRegular     FileType = 4
	TypeSocketDgram FileType = 5
	TypeSocketStrm  FileType = 6
	TypeSymlink     FileType = 7
)

// String returns a short name of the type ("dir", "file", "symlink", ...).
func (t FileType) String() string {
	switch t {
	case TypeBlockDevice:
		return "block"
	case TypeCharDevice:
		return "char"
	case TypeDir:
		return "dir"
	case TypeRegular:
		return "file"
	case TypeSocketDgram, TypeSocketStrm:
		return "socket"
	case TypeSymlink:
		return "symlink"
	}
	return "unknown"
}

// Limits every backend and the path walker enforce (ENAMETOOLONG beyond them).
const (
	NameMax = 255  // bytes in one path component
	PathMax = 4096 // bytes in a whole path, including the terminating NUL in POSIX terms
	// SymlinkMax is the number of symbolic links one path resolution may follow before ELOOP
	// (Linux's MAXSYMLINKS).
	SymlinkMax = 40
)

// Stat is the metadata of an inode, as fstat(2) reports it. Times are nanoseconds since the Unix
// epoch. Dev is filled in by the Namespace (one device number per mount); backends leave it 0.
type Stat struct {
	Dev   uint64
	Ino   Ino
	Type  FileType
	Mode  uint32 // permission bits (0o7777); the type is in Type
	Nlink uint64
	Size  int64
	Atime int64
	Mtime int64
	Ctime int64
}

// AttrMask selects the fields of an Attr that SetAttr changes.
type AttrMask uint8

// The Attr fields.
const (
	AttrSize AttrMask = 1 << iota
	AttrAtime
	AttrMtime
	AttrMode
)

// Attr is a metadata change for FS.SetAttr. Only the fields named in Valid are applied. The
// Namespace resolves WASI's *_NOW flags into concrete times before it calls a backend.
type Attr struct {
	Valid AttrMask
	Size  int64
	Atime int64
	Mtime int64
	Mode  uint32
}

// OpenFlag says how FS.Open opens an inode. Creation, exclusivity, truncation and the directory
// check are done by the Namespace before Open, so a backend only learns the access mode.
type OpenFlag uint8

// The open flags.
const (
	OpenRead  OpenFlag = 1 << iota // the handle will read (or list, for a directory)
	OpenWrite                      // the handle will write
)

// MaxCookie bounds the cookies a backend's File.ReadDir reports (DirEntry.Next < MaxCookie). The
// Namespace adds 2 for "." and "..", and wasi-libc's telldir returns the cookie as a C long, which
// is 32 bits on wasm32: a larger cookie would make seekdir(telldir()) land on the wrong entry in
// every C guest.
const MaxCookie = 1<<31 - 2

// DirEntry is one entry that File.ReadDir reports. Name is only valid during the callback that
// receives it (backends may hand out a view of an internal buffer); copy it to keep it.
type DirEntry struct {
	// Next is the cookie that resumes the listing just after this entry. Cookies are opaque to
	// the caller but must stay valid while other entries are added or removed: an entry that is
	// neither added nor removed during a listing is reported exactly once, and resuming from the
	// cookie of an entry since removed still continues after it. Backend cookies are below
	// MaxCookie; cookie 0 starts a listing.
	Next uint64
	Ino  Ino
	Type FileType
	Name []byte
}

// FS is one backend filesystem: a tree of inodes the Namespace mounts at a guest path. FS speaks
// inodes, not paths: the Namespace walks paths component by component with Lookup, so symlinks,
// "..", mount points and the name and path limits are handled once, above every backend, and a
// backend can never be asked to resolve a path that leaves it.
//
// Every method is safe for concurrent use by many goroutines. Methods that take a directory Ino
// return ENOTDIR when it is not a directory and ENOENT when it no longer exists. Names are single
// components: never empty, never ".", "..", nor containing '/' or NUL (the Namespace guarantees
// this; backends may return EINVAL otherwise), at most NameMax bytes; Lookup alone also takes
// "..". An FS that cannot change
// (a read-only mount) returns EROFS from every method that would.
//
// Optional capabilities are separate interfaces, discovered with As (a type assertion along
// the Unwrap chain of decorators): Committer, Closer, Usager.
type FS interface {
	// Root returns the Ino of the root directory. It never fails.
	Root() Ino

	// Lookup returns the Ino and the type of the entry name in directory dir (like one step of
	// namei), so that a walk learns whether to descend, follow a symlink or stop without a Stat
	// per component. The name ".." is the one exception to the name rules: it returns dir's
	// parent directory (the root is its own parent), which is how the Namespace goes up from a
	// directory it did not walk through; the backend keeps the parents, the Namespace none.
	// Errors: ENOENT (no such entry, or dir is gone: ".." of a removed directory too), ENOTDIR.
	Lookup(dir Ino, name string) (Ino, FileType, Errno)

	// Stat returns the metadata of ino (fstat). An unlinked inode that is still open can be
	// statted until its last File is closed. Errors: ENOENT.
	Stat(ino Ino) (Stat, Errno)

	// SetAttr changes the fields of ino that a.Valid names (truncate, futimens, chmod). Growing
	// the size adds a hole that reads as zeros. Any change also sets ctime to now. It works on an
	// unlinked inode that is still open (ftruncate on such an fd). Errors: ENOENT, EISDIR (size
	// of a directory), EINVAL (negative size), EFBIG, ENOSPC, EROFS.
	SetAttr(ino Ino, a *Attr) Errno

	// Create makes a new entry name in dir of type typ (TypeRegular, TypeDir or TypeSymlink)
	// with permission bits perm, and returns its Ino. For a symlink, target is its content
	// (any bytes but NUL, fewer than PathMax); otherwise target is ignored. A new directory has
	// nlink 2 and adds one to dir's nlink. Adding or removing an entry (here and in Link,
	// Remove, Rename) sets the directory's mtime and ctime. Errors: EEXIST (name exists,
	// whatever its type), ENOENT, ENOTDIR, ENOSPC, EMLINK, EROFS, ENAMETOOLONG (name longer than
	// NameMax or target not shorter than PathMax), EINVAL (unsupported type).
	Create(dir Ino, name string, typ FileType, perm uint32, target string) (Ino, Errno)

	// Link adds a new entry name in dir for the existing non-directory ino (link(2)).
	// Errors: EEXIST, ENOENT, ENOTDIR, EPERM (ino is a directory), EMLINK, ENOSPC, EROFS,
	// ENAMETOOLONG.
	Link(ino Ino, dir Ino, name string) Errno

	// Remove removes the entry name from dir. With dirOnly it is rmdir(2): the entry must be an
	// empty directory (ENOTDIR if not a directory, ENOTEMPTY if not empty). Without it, it is
	// unlink(2): the entry must not be a directory (EISDIR). The inode lives on while it has
	// other links or open Files; its storage is reclaimed after the last of either goes.
	// Errors: ENOENT, ENOTDIR, EISDIR, ENOTEMPTY, EROFS.
	Remove(dir Ino, name string, dirOnly bool) Errno

	// Rename moves oldDir/oldName to newDir/newName atomically (rename(2)). An existing
	// target is replaced: a file by a file, a directory by a directory if the target is empty.
	// Renaming an entry onto another name for the same inode does nothing. Errors: ENOENT,
	// ENOTDIR (source is a directory, target is not), EISDIR (source is not a directory, target
	// is), ENOTEMPTY, EINVAL (a directory into its own subtree), EMLINK, ENOSPC, EROFS,
	// ENAMETOOLONG.
	Rename(oldDir Ino, oldName string, newDir Ino, newName string) Errno

	// Readlink returns the target of the symlink ino. Errors: ENOENT, EINVAL (not a symlink).
	Readlink(ino Ino) (string, Errno)

	// Open returns a handle on ino, which keeps the inode alive while it is open even if it is
	// unlinked. Directories are opened for ReadDir and Sync. Errors: ENOENT, EISDIR
	// (OpenWrite on a directory), EROFS (OpenWrite on a read-only FS), EMFILE, ENFILE.
	Open(ino Ino, flags OpenFlag) (File, Errno)
}

// File is an open handle on an inode. It has no position: the caller (the fd table) keeps the
// offset and passes it to ReadAt and WriteAt, as pread(2) and pwrite(2). A File is safe for
// concurrent use; operations on the same inode through different Files see each other at once.
type File interface {
	// ReadAt reads up to len(p) bytes at offset off. At or past the end of the file it returns
	// (0, ESUCCESS); a short count means the end was reached. Holes read as zeros. Errors:
	// EBADF (not opened for reading), EISDIR, EINVAL (negative offset), EIO.
	ReadAt(p []byte, off int64) (int, Errno)

	// WriteAt writes p at offset off, growing the file if needed; a gap between the old end
	// and off reads as zeros. It updates mtime and ctime. A zero-length write changes nothing,
	// not even the size. A short count comes with an errno. Errors: EBADF (not opened for
	// writing), EISDIR, EINVAL (negative offset), EFBIG or EINVAL (the end would pass the
	// largest int64 offset; Linux says EINVAL), ENOSPC, EROFS, EIO.
	WriteAt(p []byte, off int64) (int, Errno)

	// Append writes p at the current end of the file, atomically with respect to other writers
	// of the same inode (O_APPEND), and returns the count and the new size.
	// Errors: as WriteAt.
	Append(p []byte) (n int, size int64, err Errno)

	// ReadDir calls fn for each entry of the directory, in the backend's order, starting after
	// the entry whose DirEntry.Next was cookie (0 starts at the beginning), until fn returns
	// false or the entries run out. It does not report "." and "..": the Namespace adds them.
	// fn must neither keep nor modify *e; the Namespace passes on a copy.
	// Errors: ENOTDIR, EBADF, EIO.
	ReadDir(cookie uint64, fn func(e *DirEntry) bool) Errno

	// Sync makes the file's data (and, unless dataOnly, its metadata) durable, as fsync(2) and
	// fdatasync(2). A backend that is never durable (heap) returns ESUCCESS and says so in its
	// documentation. Errors: EIO, ENOSPC.
	Sync(dataOnly bool) Errno

	// Close releases the handle. After the last Close of an unlinked inode its storage is
	// reclaimed. Close never fails for backends that write back lazily; a second Close returns
	// EBADF.
	Close() Errno
}

// Committer is implemented by backends with a write-back layer (stable). Commit makes every
// change made so far durable in one atomic step; the runtime calls it when a module exits, however
// it exits. Errors: EIO, ENOSPC.
type Committer interface {
	Commit() Errno
}

// Closer is implemented by backends that hold resources (a store file). The runtime calls Close
// when the mount goes away; a backend with a write-back layer commits first.
type Closer interface {
	Close() error
}

// Usage is what a backend has in use and may still use, as statfs(2) would report it.
type Usage struct {
	// Bytes is the file data the backend charges against LimitBytes. Each backend documents
	// its measure (stored pages, so holes are free, or apparent sizes); either way it returns to
	// its earlier value once files are removed and closed.
	Bytes      int64
	Inodes     int64 // inodes in use
	LimitBytes int64 // 0 means unlimited
}

// Usager is implemented by backends that can report their usage.
type Usager interface {
	Usage() Usage
}

// Wrapper is implemented by a decorator: an FS that wraps another (read-only, statistics) and
// forwards to it. Unwrap returns the wrapped FS. A decorator implements only the optional
// capabilities it changes (statistics count Commit); the others are found through the chain
// by As, so a capability a decorator does not know of is never lost.
type Wrapper interface {
	Unwrap() FS
}

// As returns the first FS in fsys's Unwrap chain (fsys itself first) that implements the
// capability T, such as Committer, Closer or Usager, as errors.As does for error chains. It is
// how every caller discovers a capability: a plain type assertion misses one behind a
// decorator.
func As[T any](fsys FS) (T, bool) {
	for fsys != nil {
		if t, ok := fsys.(T); ok {
			return t, true
		}
		w, ok := fsys.(Wrapper)
		if !ok {
			break
		}
		fsys = w.Unwrap()
	}
	var zero T
	return zero, false
}
