// Command wasmrun runs a WebAssembly WASI preview1 command, such as CPython's python.wasm, over
// wasmrun's virtual filesystem.
//
//	wasmrun [flags] MODULE.wasm [ARGS...]
//
// Build it with
//
//	go install github.com/wasmrun/wasmrun/cmd/run/wasmrun@latest
//
// or, in a clone, go build -o bin/wasmrun ./cmd/run/wasmrun (make build). Its code is in
// package github.com/wasmrun/wasmrun/cmd/run.
//
// # The guest's filesystem
//
// The guest sees one tree, rooted at "/":
//
//	/        the store file (--store; default $WASMRUN_STORE, else
//	         $XDG_DATA_HOME/wasmrun/default.store, else ~/.local/share/wasmrun/default.store).
//	         What the guest writes there is still there in the next run, and is committed
//	         when the guest exits, however it exits.
//	/tmp     memory (--tmp-size, default 1G), empty at every start.
//
// --dir and --mount add mounts:
//
//	--dir HOST[:GUEST][:ro]      a host directory, confined (no symlink or ".." leaves it).
//	                             Without GUEST it appears at its absolute host path; ':' in
//	                             HOST is allowed because GUEST must start with '/'; wasmtime's
//	                             HOST::GUEST works too.
//	--mount GUEST=heap[:SIZE]    an empty in-memory filesystem.
//	--mount GUEST=stable:FILE    another store file.
//	--mount GUEST=host:DIR       the same as --dir DIR:GUEST.
//
// A mount point missing from the filesystem below is created there, like mkdir -p (so it stays
// in the store as an empty directory). Any of them may end in ":ro" to refuse writes (EROFS). A mount at /tmp replaces the default
// one, and a mount at / replaces the store (--mount /=heap runs with nothing persisted).
//
// With --strict-wasi the guest runs in WASI preview1's capability model, as under wasmtime,
// instead of Linux's: each --dir and --mount is its own preopened directory, in flag order from
// fd 3 and named by its guest path (the store at / and /tmp are still mounted but preopened only
// when given with --mount, so with neither flag there is no preopen); every path resolves
// beneath its directory fd (an absolute path, or a ".." or symlink leading out, is
// ENOTCAPABLE); and each fd's rights are enforced. See the wasi package, "Strict mode".
//
// Only one wasmrun may use a store at a time; another waits up to --lock-timeout (1s) and
// then fails, naming the file.
//
// # Durability
//
// Changes to a store are kept in memory and committed, atomically, in one bbolt transaction:
// when the guest calls fsync, when the guest exits (however it exits: return, proc_exit, trap,
// --timeout or a signal), when --commit-interval (5s) has passed since the oldest uncommitted
// change, and when --cache-size (64M) of file data is uncommitted. After a crash the store is
// exactly its last commit. /tmp and heap mounts are never durable.
//
// # The guest's process
//
// argv[0] is the module file's base name, followed by ARGS. The environment is only what --env
// gives: KEY=VALUE, or KEY alone to pass the host's value. Standard input, output and error are
// wasmrun's own.
//
// # Exit status
//
//	0-255  the guest's exit code (the low 8 bits of proc_exit's, as for a native program)
//	2      wasmrun itself failed: a bad flag, a missing or invalid module, a store that is
//	       locked, not a store or damaged, a failed commit. The message starts "wasmrun: ".
//	124    --timeout passed, as timeout(1).
//	130    SIGINT (Ctrl-C); 143 for SIGTERM. The store is committed and closed first; a second
//	       signal exits at once, leaving the store at its last commit.
//	134    the guest trapped (128+SIGABRT, as a native program that aborts), with wazero's
//	       wasm stack trace on stderr (--debug-info adds source lines).
//
// # Start time
//
// Compiled machine code is cached in --cache-dir (default $WASMRUN_CACHE_DIR, else
// $XDG_CACHE_HOME/wasmrun or ~/.cache/wasmrun), so only the first run of a module pays for
// compilation: python.wasm takes seconds to compile and about 0.2 s to start warm. DWARF debug
// information is dropped unless --debug-info is given (and then not even read from the file):
// it only adds source lines to trap stack traces, and keeping it costs time and memory
// (python.wasm -c pass: 0.67 s of CPU and 143 MiB of peak RSS against 0.19 s and 81 MiB).
package main
