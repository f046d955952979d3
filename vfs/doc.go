// Package vfs is wasmrun's virtual filesystem: the contract every storage backend implements
// (FS and File, which speak inodes, never paths), the one error type (Errno), and the
// Namespace that mounts backends at guest paths and walks paths over them the way a Linux
// kernel does. The wasi package exposes a Namespace to WebAssembly guests; Go code on the host
// can read it through IOFS.
//
// # Backends
//
// A backend implements FS: Lookup, Stat, SetAttr, Create, Link, Remove, Rename, Readlink and
// Open on inode numbers (Ino), each a single step with POSIX semantics. Optional capabilities
// are separate interfaces found by type assertion: Committer (a write-back layer to make
// durable), Closer (resources to release) and Usager (space accounting). The backends are:
//
//   - heap (package heap): Go memory, for /tmp; never durable.
//   - stable (package stable): pages in a bbolt file, durable at every commit.
//   - HostDir: a directory of the host, confined with os.Root.
//   - FromIOFS: any io/fs.FS (embed.FS, fstest.MapFS, os.DirFS), read-only.
//   - ReadOnly: any backend with every change refused (EROFS).
//
// The package vfs/vfstest is the conformance kit: a backend passes it or it is not done.
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
// # Errors
//
// Errno is the only error of the layer, with Linux's numbering; ESUCCESS (0) is success.
// Backends translate their storage errors into it in one function each (unknown errors become
// EIO), and the wasi package translates it to WASI numbers in one switch. Errno implements
// error and matches the io/fs sentinels with errors.Is (ENOENT is fs.ErrNotExist); ToErrno goes
// the other way. Mount, Commit and Close, which are Go APIs, return errors wrapping an Errno;
// IOFS returns *fs.PathError values wrapping one.
//
// # Statistics
//
// WithStats wraps a backend in a StatsFS, which counts what goes through it: calls and failed
// calls of each kind of operation (Op: lookup, stat, setattr, create, link, remove, rename,
// readlink, open, close, read, write, append, readdir, sync, commit), bytes read and written,
// and the latency of File.Sync and Committer.Commit in a Histogram (p50, p90, p99, max). Mount
// the view s.FS() in place of the backend: it implements Committer, Closer and Usager exactly
// when the backend does, so the Namespace still commits and closes it. s.Stats() is a snapshot,
// and Stats.Format prints it as a short block per mount (the CLI's --stats). A backend's own
// figures (cache hits, peak dirty bytes, commits made in the background or on Close, which no
// wrapper can see) come through the optional BackendStatser interface. Counting costs a few
// uncontended atomic adds per call and allocates nothing (BenchmarkStats, TestStatsNoAllocs);
// opening a File allocates one small wrapper.
//
// # Concurrency
//
// Every FS, File and Namespace method is safe for concurrent use. The mount table is an
// immutable snapshot replaced whole by Mount (copy-on-write), so walks read it without a lock
// and take no lock of the Namespace at all. Walking a path of up to 16 directories allocates nothing,
// and neither does ReadDir.
package vfs
