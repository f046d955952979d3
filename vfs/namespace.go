package vfs

// NOTE(integration): the signatures and doc comments in this file are the contract between vfs
// and wasi. The bodies are being written now; do not change a signature without telling the
// integrator.

// OFlag are the flags of Namespace.Open, mirroring open(2).
type OFlag uint16

// The open flags.
const (
	ORead      OFlag = 1 << iota // open for reading (or listing a directory)
	OWrite                       // open for writing
	OCreate                      // create a regular file if the final component does not exist
	OExcl                        // with OCreate: fail with EEXIST if it exists (a symlink counts, and is not followed)
	OTrunc                       // truncate a regular file to 0 (needs OWrite on Linux; here it implies it)
	ODirectory                   // fail with ENOTDIR unless the result is a directory
	ONoFollow                    // do not follow a symlink in the final component (ELOOP if it is one)
)

// Node is an inode located in the namespace: the mount it lives in and its Ino there. Nodes are
// comparable values; the zero Node is invalid.
type Node struct {
	m   *mount
	Ino Ino
}

// Handle is an open file or directory in the namespace: what an fd refers to.
type Handle struct {
	Node Node
	Type FileType
	File File
}

// MountInfo describes one mount.
type MountInfo struct {
	Path string // absolute guest path, "/" for the root
	FS   FS
	Dev  uint64 // the device number Stat reports for inodes of this mount
}

// Namespace is the guest's view of the filesystem: a root FS with other filesystems mounted at
// guest paths, walked like a Linux kernel walks its mount table. Paths are resolved component by
// component: "." stays, ".." goes to the parent directory (across a mount point to the directory
// the mount sits on; at "/" it stays at "/"), symlinks are followed up to SymlinkMax times in one
// resolution (ELOOP beyond), an absolute symlink target or absolute path starts again at the
// namespace root (never the host's), a component longer than NameMax or a path longer than PathMax
// is ENAMETOOLONG, a NUL byte is EILSEQ... (see each method). A Namespace is safe for concurrent
// use.
type Namespace struct {
	// filled in by the implementation
	mounts []*mount
}

type mount struct {
	// filled in by the implementation
	fs FS
}

// NewNamespace returns a namespace whose "/" is root.
func NewNamespace(root FS) *Namespace { panic("unimplemented") }

// Mount mounts fsys at the absolute guest path guestPath. A missing mount point directory is
// created in the filesystem below it (like mkdir -p); an existing non-directory is ENOTDIR. After
// Mount, every walk that reaches the mount point enters fsys's root, and ".." from fsys's root
// leaves to the mount point's parent. Mounting over an existing mount replaces nothing: it is
// EBUSY. Mounts are normally set up before guests run, but Mount is safe for concurrent use.
func (ns *Namespace) Mount(guestPath string, fsys FS) error { panic("unimplemented") }

// Mounts lists the mounts, root first, then by path.
func (ns *Namespace) Mounts() []MountInfo { panic("unimplemented") }

// Root returns the Node of "/".
func (ns *Namespace) Root() Node { panic("unimplemented") }

// FS returns the backend n lives in.
func (n Node) FS() FS { return n.m.fs }

// Resolve walks path from directory at (an absolute path starts from the root) and returns the
// Node it names. With follow, a symlink in the final component is followed; symlinks in earlier
// components always are. A trailing "/" requires a directory (ENOTDIR) and follows a final
// symlink. An empty path is ENOENT.
// Errors: ENOENT, ENOTDIR, ELOOP, ENAMETOOLONG, EILSEQ (NUL byte), EIO.
func (ns *Namespace) Resolve(at Node, path string, follow bool) (Node, Errno) {
	panic("unimplemented")
}

// Stat returns n's metadata with Dev set to its mount's device number.
// Errors: ENOENT, EIO.
func (ns *Namespace) Stat(n Node) (Stat, Errno) { panic("unimplemented") }

// StatAt resolves path from at (following a final symlink if follow) and stats it (fstatat).
// Errors: as Resolve.
func (ns *Namespace) StatAt(at Node, path string, follow bool) (Stat, Errno) {
	panic("unimplemented")
}

// SetAttr applies a to n (ftruncate, futimens). Errors: as FS.SetAttr.
func (ns *Namespace) SetAttr(n Node, a *Attr) Errno { panic("unimplemented") }

// SetAttrAt resolves path from at and applies a (utimensat, truncate). Errors: as Resolve and
// FS.SetAttr.
func (ns *Namespace) SetAttrAt(at Node, path string, follow bool, a *Attr) Errno {
	panic("unimplemented")
}

// Open opens path relative to at with open(2)'s semantics for flags (see OFlag); perm is used
// when a file is created. Opening a directory with OWrite is EISDIR; OCreate on a path with a
// trailing slash is EISDIR; OCreate|OExcl on an existing name (a dangling symlink included) is
// EEXIST; ODirectory on a non-directory is ENOTDIR; ONoFollow on a final symlink is ELOOP.
// A symlink in the final component with OCreate (and not OExcl) is followed, and a dangling
// one creates its target, as Linux does.
// Errors: as Resolve, plus EEXIST, EISDIR, ENOSPC, EROFS, EMFILE, ENFILE.
func (ns *Namespace) Open(at Node, path string, flags OFlag, perm uint32) (*Handle, Errno) {
	panic("unimplemented")
}

// ReadDir lists the directory open in h starting after cookie, like File.ReadDir, but with "."
// (cookie 0 starts there) and ".." (the parent directory, across mounts, and "/" for the
// root) first, and with Ino of each entry that is a mount point set to the mounted root's
// (Linux reports the covered inode; we report the one a stat would show, so that
// ino matches between readdir and stat).
// Errors: ENOTDIR, EBADF, EIO.
func (ns *Namespace) ReadDir(h *Handle, cookie uint64, fn func(e *DirEntry) bool) Errno {
	panic("unimplemented")
}

// Mkdir creates directory path relative to at (mkdirat). A trailing slash is allowed.
// Errors: EEXIST (anything there, a dangling symlink included), plus those of Resolve and
// FS.Create.
func (ns *Namespace) Mkdir(at Node, path string, perm uint32) Errno { panic("unimplemented") }

// Remove removes path relative to at: with dirOnly as rmdir (an empty directory; "." as the last
// component is EINVAL, ".." is ENOTEMPTY; a mount point is EBUSY), otherwise as unlink (EISDIR
// for a directory; a final symlink is removed, not followed). A trailing slash on a non-directory
// is ENOTDIR. Errors: as Resolve and FS.Remove, plus EBUSY.
func (ns *Namespace) Remove(at Node, path string, dirOnly bool) Errno { panic("unimplemented") }

// Rename renames oldPath (relative to oldAt) to newPath (relative to newAt) as renameat(2):
// neither final component is followed; across mounts it is EXDEV; a mount point as either side
// is EBUSY; "." or ".." as a final component is EINVAL (old) or EBUSY/EINVAL (new, as Linux).
// Errors: as Resolve and FS.Rename, plus EXDEV, EBUSY.
func (ns *Namespace) Rename(oldAt Node, oldPath string, newAt Node, newPath string) Errno {
	panic("unimplemented")
}

// Link creates newPath (relative to newAt) as a hard link to oldPath (relative to oldAt),
// following a final symlink in oldPath only if follow (linkat's AT_SYMLINK_FOLLOW). Across
// mounts it is EXDEV; a directory is EPERM. Errors: as Resolve and FS.Link, plus EXDEV.
func (ns *Namespace) Link(oldAt Node, oldPath string, follow bool, newAt Node, newPath string) Errno {
	panic("unimplemented")
}

// Symlink creates path (relative to at) as a symlink to target (symlinkat). target is stored as
// given, absolute or not; it is only interpreted when walked, inside this namespace.
// Errors: EEXIST, ENOENT (empty target), ENAMETOOLONG, plus those of Resolve and FS.Create.
func (ns *Namespace) Symlink(target string, at Node, path string) Errno { panic("unimplemented") }

// Readlink returns the target of the symlink at path relative to at (readlinkat); the final
// component is not followed. Errors: EINVAL (not a symlink), plus those of Resolve.
func (ns *Namespace) Readlink(at Node, path string) (string, Errno) { panic("unimplemented") }

// Commit commits every mounted backend that implements Committer and returns the first error.
func (ns *Namespace) Commit() error { panic("unimplemented") }

// Close commits and closes every mounted backend that implements Closer, then makes the
// namespace unusable. It returns the first error.
func (ns *Namespace) Close() error { panic("unimplemented") }
