// Package vfs is wasmrun's virtual filesystem: the contract every storage backend implements
// (FS and File, which speak inodes, never paths), the one error type (Errno), and the kernel:
// the Namespace that mounts backends at guest paths and walks paths over them the way a Linux
// kernel does. The wasi package exposes a Namespace to WebAssembly guests; Go code on the host
// reads it through package iofs. Everything else lives in its own package below vfs: backends
// (hostfs), adapters (iofs) and decorators (readonly, stats).
//
// # Backends
//
// A backend implements FS: Lookup, Stat, SetAttr, Create, Link, Remove, Rename, Readlink and
// Open on inode numbers (Ino), each a single step with POSIX semantics. Optional capabilities
// are separate interfaces: Committer (a write-back layer to make durable), Closer (resources
// to release), Usager (space accounting) and stats.BackendStatser (a backend's own figures).
// The backends are:
//
//   - heap (package heap): Go memory, for /tmp; never durable.
//   - stable (package stable): pages in a bbolt file, durable at every commit.
//   - hostfs (package vfs/hostfs): a directory of the host, confined with os.Root.
//   - iofs.FromFS (package vfs/iofs): any io/fs.FS (embed.FS, fstest.MapFS, os.DirFS),
//     read-only.
//
// The package vfs/vfstest is the conformance kit: a backend passes it or it is not done.
//
// # Decorators and capabilities
//
// A decorator wraps a backend and is an FS itself: readonly.New refuses every change (EROFS),
// stats.Wrap counts and times what goes through it. A decorator implements Wrapper (Unwrap
// returns what it wraps) and only the capabilities it changes; As finds a capability along the
// Unwrap chain, the way errors.As walks an error chain, so a capability no decorator knows of
// still reaches the Namespace (Commit, Close) and the CLI (a store's figures behind a
// read-only mount). Every caller discovers capabilities with As, never a bare type assertion.
//
// # Namespace and path walking
//
// NewNamespace takes the backend of "/" and Mount adds others at guest paths. The mount table is
// keyed by the inode of the covered directory, so a walk enters a mount exactly when it reaches
// that directory, however it got there ("/tmp/../data" is "/data", and ".." from a mount's root
// leaves to the directory holding the mount point).
//
// Every path is walked component by component with FS.Lookup, in one place, so the rules hold
// for every backend alike:
//
//   - An absolute path, and an absolute symlink target, start again at the namespace root:
//     never at the host's root.
//   - "." stays; ".." goes to the parent directory, across mounts; ".." at "/" stays at "/".
//   - Symlinks in the middle of a path are always followed; in the final component as the
//     operation says (Open follows unless ONoFollow, Rename and Remove never do). One resolution
//     follows at most SymlinkMax of them (ELOOP beyond).
//   - A component of more than NameMax bytes, a path of PathMax bytes or more, or a path that
//     grows to PathMax bytes once a symlink is expanded into it, is ENAMETOOLONG.
//   - A path with a NUL byte is EILSEQ. WASI passes paths as UTF-8 strings with a length, so a
//     NUL is a malformed string rather than a name: it is refused the way wasmtime refuses
//     invalid UTF-8, and it can never reach a host system call.
//   - An empty path is ENOENT; a trailing slash requires a directory (ENOTDIR) and follows a
//     final symlink; a non-directory in the middle of a path is ENOTDIR.
//
// The Namespace methods mirror the *at system calls (openat, mkdirat, unlinkat, renameat,
// linkat, symlinkat, readlinkat, utimensat, fstatat) and return the errno Linux returns in
// each case, in Linux's order of checks; each method's documentation lists them. Rename and
// Link across mounts are EXDEV; removing or renaming a mount point is EBUSY. Stat reports one
// device number (Dev) per mount. ReadDir adds "." and ".." to a backend's listing.
//
// Lookup tells the walk the type of each entry, so it descends, follows a symlink or stops
// without a Stat per component. Within one walk, ".." goes back along the directories the walk
// came through; above a walk's starting directory it asks the backend (Lookup of ".."), which
// keeps each directory's parent: the Namespace keeps no table of parents.
//
// A walk can be confined beneath its starting directory, as Linux's openat2 RESOLVE_BENEATH
// confines one (WASI's strict capability mode uses it): pass Node.Beneath() as the at Node, and
// an absolute path, an absolute symlink target, or a ".." above the start (even one that comes
// back down) is ENOTCAPABLE, an errno Linux does not have. Otherwise the walk is the same.
//
// # Errors
//
// Errno is the only error of the layer, with Linux's numbering; ESUCCESS (0) is success.
// Backends translate their storage errors into it in one function each (unknown errors become
// EIO), and the wasi package translates it to WASI numbers in one switch. Errno implements
// error and matches the io/fs sentinels with errors.Is (ENOENT is fs.ErrNotExist); ToErrno goes
// the other way. Mount, Commit and Close, which are Go APIs, return errors wrapping an Errno;
// the io/fs view (iofs.Of) returns *fs.PathError values wrapping one.
//
// # Concurrency
//
// Every FS, File and Namespace method is safe for concurrent use. The mount table is an
// immutable snapshot replaced whole by Mount (copy-on-write), so walks read it without a lock
// and take no lock of the Namespace at all. Walking a path of up to 16 directories allocates nothing,
// and neither does ReadDir.
package vfs
