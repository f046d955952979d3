// Package wasi is wasmrun's wasi_snapshot_preview1 host module for wazero: every preview1
// import, implemented over a vfs.Namespace, with its own fd table, path resolution, errno
// translation and guest-memory checks.
//
// # Use
//
// Instantiate the host module once per wazero runtime, then run each guest with a Process in the
// context of its calls:
//
//	closer, err := wasi.Instantiate(ctx, r)
//	p, err := wasi.NewProcess(wasi.Config{Args: args, Stdout: os.Stdout, NS: ns})
//	defer p.Close()
//	_, err = r.InstantiateModule(wasi.WithProcess(ctx, p), compiled, wazero.NewModuleConfig())
//	// err is a *sys.ExitError carrying the code after proc_exit.
//
// A host call whose context has no Process returns ENOSYS to the guest.
//
// # The guest's view
//
// This is the default mode, Linux-exact; Config.Strict selects the capability model instead (see
// "Strict mode" below). fds 0, 1 and 2 are Config.Stdin, Stdout and Stderr. fd 3 is the only
// preopen: the directory "/" of Config.NS, named "/" by fd_prestat_dir_name. Paths given to path_* functions are
// resolved by the namespace from the directory fd, or from the namespace root when absolute,
// as openat(2) does on Linux; nothing lies outside the namespace, so nothing can escape it.
// Any fd may be closed or renumbered, the preopen and the standard streams included. New fds
// take the lowest free number; Config.MaxFDs open fds at most (EMFILE beyond).
//
// # Rights
//
// Every fd carries base and inheriting rights, which fd_fdstat_get reports and
// fd_fdstat_set_rights can only drop (ENOTCAPABLE for a right the fd does not have). path_open
// gives the new fd the requested rights within its directory's inheriting rights, cut to those
// that apply to the opened type, so asking for every right (as wasi-libc does) is not an error.
//
// In the default mode, rights are not otherwise enforced: no call fails with ENOTCAPABLE for lack
// of a right, as in
// wasmtime's and wazero's preview1 (rights were dropped from WASI after preview1, and toolchains
// do not ask for them consistently: Go's wasip1 opens directories without path_filestat_set_size
// or the other path_* rights its os.Root then needs). What is enforced is the access mode, as
// open(2) on Linux: path_open opens for writing iff fd_write is among the new fd's rights, for
// reading iff fd_read or fd_readdir is or it is not opened for writing (see pathOpen). Then:
//
//   - fd_read and fd_pread on an fd not opened for reading are EBADF (EISDIR on a directory);
//   - fd_write and fd_pwrite on an fd not opened for writing are EBADF, and so is fd_allocate
//     (as fallocate(2)); fd_filestat_set_size is EINVAL (as ftruncate(2));
//   - poll_oneoff reports EBADF for an fd_read or fd_write subscription the fd was not opened
//     for, or on a directory;
//   - stdin is read-only and stdout and stderr write-only; a directory is opened for reading;
//   - dropping fd_read or fd_write with fd_fdstat_set_rights takes that access away.
//
// Checks come in this order: the fd (EBADF); its type where the call needs one (ESPIPE for
// seek, tell, pread, pwrite, advise and allocate on a standard stream; EBADF for seek and tell on
// a directory, as wasmtime; ENOTDIR for a path_* call on a non-directory); the access mode
// (EBADF); argument values (EINVAL); guest memory (EFAULT); then the operation itself.
//
// # Strict mode
//
// With Config.Strict (runtime.Options.StrictWASI, the CLI's --strict-wasi), a Process follows
// WASI preview1's capability model as wasmtime implemented it with cap-std (its wasi-common
// before rights were removed), for users who expect it and embedders who hand a guest several
// directories as separate capabilities:
//
//   - Preopens are exactly Config.Preopens, from fd 3 in order, each named by its guest path
//     (fd_prestat_dir_name); with none, fd 3 is EBADF and no path_* call has a directory.
//   - Every path_* call resolves beneath its directory fd (vfs.Node.Beneath): an absolute path,
//     a ".." above the directory (even one that comes back down, even into another preopen), or
//     a symlink whose target is absolute or leads out, is ENOTCAPABLE. path_symlink with an
//     absolute target is ENOTCAPABLE (it could never be followed); a relative target is stored
//     as given and checked when followed. Mounts beneath a preopen are entered as usual.
//   - Rights are enforced: each call needs its right, or fails with ENOTCAPABLE, checked after
//     the fd and its type (EBADF, ESPIPE, ENOTDIR) and before everything else: fd_read (and
//     fd_pread with fd_seek), fd_write (fd_pwrite with fd_seek), fd_seek (fd_tell, and fd_seek
//     unless it is a tell: offset 0 from CUR), fd_tell, fd_advise, fd_allocate, fd_sync,
//     fd_datasync, fd_fdstat_set_flags, fd_filestat_get, fd_filestat_set_size,
//     fd_filestat_set_times, fd_readdir; path_open needs path_open, plus path_create_file with
//     CREAT and path_filestat_set_size with TRUNC; path_create_directory, path_filestat_get,
//     path_filestat_set_times, path_readlink, path_remove_directory, path_symlink and
//     path_unlink_file their own right; path_link path_link_source on the old directory and
//     path_link_target on the new one, path_rename path_rename_source and path_rename_target;
//     poll_oneoff an fd subscription poll_fd_readwrite (the event carries ENOTCAPABLE).
//     fd_close, fd_renumber, fd_fdstat_get, fd_prestat_* and fd_fdstat_set_rights need none.
//   - path_open gives the new fd the rights it asked for within its directory's inheriting
//     rights, cut to the opened type, as in the default mode and in wasmtime (asking for more is
//     not an error); fd_fdstat_set_rights can only drop rights (ENOTCAPABLE otherwise).
//
// The access mode is derived from the rights in both modes (see Rights), and a standard stream
// has only the rights of its direction (so fd_sync on stdout is ENOTCAPABLE in strict mode,
// EINVAL in the default). Where wasmtime differs from this: it counts fd_allocate and
// fd_filestat_set_size as asking for write access at path_open (here only fd_write does, so that
// Go's read-only opens work on read-only mounts), and its path_link refuses SYMLINK_FOLLOW
// (EINVAL) where wasmrun follows, as linkat(2).
//
// The WebAssembly wasi-testsuite's preview1 tests cannot be vendored (another project's code)
// nor fetched in CI (no network), so their assertions on paths and rights (interesting_paths,
// truncation_rights, fd_fdstat_set_rights, symlink_create, close_preopen) are rewritten in
// TestStrictTestsuite; the guests testdata/guests/c/strict.c and go/strict check the same end to
// end through wasi-libc and Go's wasip1 port.
//
// # Differences from preview1 in the default mode
//
// The witx specification (wasi_snapshot_preview1.witx), read function by function, against what
// the default mode does on purpose, and why:
//
//   - path_* functions: the spec's paths are relative to their directory fd and cannot leave it
//     (the capability model). The default mode resolves them as openat(2) on Linux: an absolute
//     path starts at the namespace root, ".." leaves the directory (across mounts; at "/" it
//     stays at "/"), and symlinks with absolute targets are created and followed inside the
//     namespace. Nothing is reachable outside the namespace either way, and this is what
//     unmodified POSIX programs expect: CPython's own os and shutil tests, and programs that
//     chdir and open "../x", run under it. Strict mode is the capability model.
//   - fd_prestat_get, fd_prestat_dir_name: one preopen, "/", whatever is mounted: the mount table
//     routes paths inside the namespace as a kernel does, so one root sees every mount.
//   - Rights (fd_fdstat_set_rights, path_open and every call): stored, reported and only ever
//     dropped, but not enforced; the access mode is (see Rights, and RATIONALE.md: toolchains
//     do not ask for rights consistently). Strict mode enforces them.
//   - path_open: the spec says the returned fd is randomized; it is the lowest free fd, as
//     POSIX open(2), wasmtime and wazero do.
//   - clock_res_get, clock_time_get: the process and thread CPU-time clocks are emulated (the
//     monotonic time since the Process started, an upper bound for one thread) instead of
//     EINVAL for an unsupported clock, so that a program asking for CPU time gets an answer.
//   - proc_raise: ENOSYS; signals are not supported (the function is deprecated in the spec).
//   - sock_accept, sock_recv, sock_send, sock_shutdown: no socket can exist (preview1 has no
//     call that makes one and none is preopened), so an open fd is ENOTSOCK and a closed one
//     EBADF, as Linux answers for a file.
//   - path_readlink: a target longer than buf_len is cut (readlink(2)); wasmtime returns ERANGE.
//   - fd_allocate: implemented as posix_fallocate (wasmtime's preview1 over preview2 answers
//     ENOTSUP).
//   - fd_close of a preopen succeeds, as wasi-testsuite's close_preopen expects.
//
// Everything else follows the witx text: fd_fdstat_set_rights only removes rights (ENOTCAPABLE
// for an added one); fd_readdir fills the buffer and cuts the last entry; path_remove_directory
// is ENOTEMPTY and path_unlink_file EISDIR where the spec says; poll_oneoff with no
// subscription is EINVAL; clock_res_get is non-zero for every supported clock.
//
// # Errors
//
// Results are WASI preview1 errnos. Every handler returns a vfs.Errno, the namespace's own
// errors passed through as they are, and the call adapter (hostFunc.Call) translates it once,
// in one switch (toErrno in errno.go); one WASI does not define becomes EIO. The only other
// translation is of the per-subscription errors poll_oneoff writes into its event records. The
// ten path_* calls share one prologue (pathAt): the directory fd, the caller's argument checks,
// then the path from guest memory. Every pointer and length from the
// guest is bounds-checked against its memory: out of range is EFAULT, never a host panic;
// output records are checked before the operation runs where they can be, so a failing call
// changes nothing. More than 1024 iovecs, or a total over 2^31-1 bytes, is EINVAL as in readv.
//
// # Standard input
//
// Stdin is read by one goroutine per Process, started by the first fd_read or poll_oneoff on
// fd 0. It reads at most one chunk (16 KiB) ahead of the guest, so that fd_read can wait for
// data together with the context, and poll_oneoff with a clock timeout, instead of blocking in
// Read. NONBLOCK (fd_fdstat_set_flags) makes fd_read without data EAGAIN. A reader that blocks
// forever (a terminal nobody types into) keeps the goroutine blocked after Close until it
// returns. A standard stream reports filetype character_device (with no seek or tell rights,
// which is what wasi-libc's isatty looks for) when it is an *os.File on a character device, and
// unknown otherwise.
//
// # Clocks and waiting
//
// Realtime comes from Config.Walltime and monotonic from Config.Nanotime. The process and
// thread CPU-time clocks are emulated as the monotonic time since NewProcess. When the context
// of a call is done at the start of any host call, or while poll_oneoff or a stdin read waits,
// the guest is ended the way wazero ends a guest whose context is done: the module is closed and
// the call unwinds with *sys.ExitError (sys.ExitCodeDeadlineExceeded or ExitCodeContextCanceled).
// So a deadline stops every guest that calls the host; one that only computes needs wazero's
// interrupt checks as well (runtime.Options.Interrupt).
//
// # Choices where the spec is silent
//
//   - fd_allocate with len 0 or a negative offset is EINVAL, as posix_fallocate(3).
//   - fd_fdstat_set_flags accepts every fdflags bit: APPEND, DSYNC and SYNC (a sync after each
//     write), NONBLOCK (for stdin) and RSYNC (no effect).
//   - fd_readdir packs as many dirents as fit and cuts the last one; the cookies are the
//     namespace's (d_next is vfs.DirEntry.Next).
//   - fd_renumber needs both fds open (EBADF otherwise), as wasmtime and wazero.
//   - proc_raise is ENOSYS; sock_accept, sock_recv, sock_send and sock_shutdown are EBADF for
//     a closed fd and ENOTSOCK otherwise (in both modes).
//   - poll_oneoff takes at most 65536 subscriptions (EINVAL beyond).
//
// # Tracing
//
// With Config.Trace set, every host call of the Process writes one line to it after the call,
// strace style (the CLI's --trace):
//
//	[1] path_open(fd=3, dirflags=SYMLINK_FOLLOW, path="data/x.txt", oflags=CREAT|TRUNC, fs_rights_base=FD_READ|FD_SEEK|FD_TELL|FD_WRITE, fs_rights_inheriting=0, fdflags=APPEND) = fd 4
//	[1] fd_write(fd=4, iovs=[0x300:6, 0x306:6] (2)) = 12
//	[1] path_open(fd=3, dirflags=0, path="missing/file", oflags=0, fs_rights_base=FD_READ, fs_rights_inheriting=0, fdflags=0) = -1 ENOENT
//	[1] path_open(fd=3, dirflags=SYMLINK_FOLLOW, path=<EFAULT 0xfffffff0:8>, ...) = -1 EFAULT
//	[1] proc_exit(code=3)
//
// "[1] " is Config.TraceTag, there to tell guests apart when several share a writer. Arguments
// are decoded from guest memory as the call saw it: paths and symlink targets quoted as Go
// strings (cut after 256 bytes with "..."), iovecs and poll subscriptions as lists (the first
// four), flags and rights by their witx names (a rights set with most rights as
// "ALL&~(FD_WRITE|...)"), enums (whence, advice, clock) by name. An address outside memory
// shows as <EFAULT 0xADDR:LEN> and is never dereferenced. The result is "= -1 ENAME" on error,
// otherwise what the call returned: a count, an offset, "fd N", a filestat or fdstat summary,
// a readlink target. A call that ends the guest while it waits (a done context) ends in
// "= ? (exit CODE)"; proc_exit shows only its code.
//
// Each line is built in a buffer kept on the Process and written with one Write, so lines of
// guests sharing an *os.File never interleave (wrap other writers with LockedWriter). A traced
// call allocates no more than the call itself (TestTraceAllocs); it costs about 200 ns more
// than an untraced fd_write into io.Discard (BenchmarkFdWriteTraced). With Trace nil, the cost
// is one nil check per call: BenchmarkFdWrite and a direct dispatch of fd_tell measure the same
// before and after tracing was added, within noise (0 allocs/op either way).
//
// Parameter names also follow wazero's WASI, so wazero's experimental/logging listener prints
// our calls as "==> wasi_snapshot_preview1.fd_write(fd=1,iovs=...)" / "<== (nwritten=5,errno=ESUCCESS)".
//
// # Allocation
//
// fd_read, fd_write, fd_pread, fd_pwrite and fd_readdir allocate nothing in steady state: they
// work on views of guest memory and scratch slices kept on the Process (BenchmarkFdWrite and
// BenchmarkFdRead report allocs/op).
package wasi
