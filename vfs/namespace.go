package vfs

import (
	"sync"
	"sync/atomic"
)

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
	m       *mount
	Ino     Ino
	beneath bool // a walk starting here is confined beneath it (see Beneath)
}

// Beneath returns n as the starting point of a walk confined to the tree beneath n, as Linux's
// openat2 RESOLVE_BENEATH and WASI preview1's capability model (wasmtime's cap-std) confine a
// lookup to its directory: every Namespace method given the result as its at Node (Open, StatAt,
// Mkdir, Remove, Rename, Link, Symlink, Readlink, SetAttrAt, Resolve) fails with ENOTCAPABLE for
// an absolute path, for a symlink whose target is absolute, and for a ".." that would leave n,
// even for a moment ("sub/../../n/x" too), whether it is in the path or in a relative symlink
// target. Mounts beneath n are entered as usual. Only the start of a walk reads the mark: the
// Nodes that methods return never carry it, and every other use of the result is n's.
func (n Node) Beneath() Node {
	n.beneath = true
	return n
}

// Handle is an open file or directory in the namespace: what an fd refers to.
type Handle struct {
	Node Node
	Type FileType
	File File
}

// Namespace is the guest's view of the filesystem: a root FS with other filesystems mounted at
// guest paths, walked like a Linux kernel walks its mount table. Paths are resolved component by
// component: "." stays, ".." goes to the parent directory (across a mount point to the directory
// the mount sits on; at "/" it stays at "/"), symlinks are followed up to SymlinkMax times in one
// resolution (ELOOP beyond), an absolute symlink target or absolute path starts again at the
// namespace root (never the host's), a component longer than NameMax or a path of PathMax bytes
// or more (also once a symlink is expanded into it) is ENAMETOOLONG, a NUL byte is EILSEQ, an
// empty path is ENOENT, and a relative path from the zero Node is EBADF. A method called after
// Close returns EBADF. A Namespace is safe for concurrent use.
//
// The mount table is keyed by the inode of the mount point, not by a path prefix, so a walk
// enters a mount exactly when it reaches the covered directory, however it got there.
//
// ".." within one walk goes back along the directories that walk came through; above the
// walk's starting directory it asks the backend (FS.Lookup of ".."), which keeps the parents:
// the Namespace keeps none. ".." from a removed directory is ENOENT.
type Namespace struct {
	mu  sync.Mutex                 // serializes Mount and Close
	tab atomic.Pointer[mountTable] // copy-on-write: walks load it once, lock-free
}

// mount is one mounted filesystem. It never changes once published.
type mount struct {
	fs     FS
	root   Ino    // fs.Root()
	dev    uint64 // device number, unique in the namespace
	path   string // guest path
	parent *mount // the mount holding the mount point; nil for "/"
	point  Ino    // the covered directory in parent
}

// mountTable is an immutable snapshot of the mounts; Mount replaces it whole.
type mountTable struct {
	mounts   []*mount        // root first, then by path
	rootNode Node            // "/"
	points   map[Node]*mount // covered directory -> the mount on it
	busy     map[Node]bool   // directories holding a mount point somewhere below: cannot be renamed
	closed   bool
}

// NewNamespace returns a namespace whose "/" is root.
func NewNamespace(root FS) *Namespace {
	m := &mount{fs: root, root: root.Root(), dev: 1, path: "/"}
	ns := &Namespace{}
	ns.tab.Store(&mountTable{
		mounts:   []*mount{m},
		rootNode: Node{m: m, Ino: m.root},
	})
	return ns
}

// Root returns the Node of "/".
func (ns *Namespace) Root() Node { return ns.tab.Load().rootNode }

// FS returns the backend n lives in, or nil for the zero Node.
func (n Node) FS() FS {
	if n.m == nil {
		return nil
	}
	return n.m.fs
}
