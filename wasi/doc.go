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
// fds 0, 1 and 2 are Config.Stdin, Stdout and Stderr. fd 3 is the only preopen: the directory
// "/" of Config.NS, named "/" by fd_prestat_dir_name. Paths given to path_* functions are
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
// Rights are not otherwise enforced: no call fails with ENOTCAPABLE for lack of a right, as in
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
//     a closed fd and ENOTSUP otherwise.
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
