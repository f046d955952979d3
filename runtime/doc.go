// Package runtime is wasmrun's embedding API: it runs WebAssembly modules that import WASI
// preview1 (wasi_snapshot_preview1) over wasmrun's virtual filesystem, with wazero as the engine.
//
// The package name shadows the standard library's runtime inside importing files; import it
// under another name if you need both (wasmrt "github.com/wasmrun/wasmrun/runtime").
//
// # Running a module
//
//	r, err := runtime.New(ctx, runtime.Options{})
//	...
//	defer r.Close(ctx)
//	m, err := r.Compile(ctx, wasmBytes) // or r.CompileFile(ctx, "prog.wasm")
//	...
//	code, err := r.Run(ctx, m, runtime.RunConfig{
//		Args:   []string{"prog", "arg1"},
//		Stdout: os.Stdout,
//	})
//
// A Runtime compiles each module once (memoised by content hash) and runs it any number of
// times, one after another or concurrently: every Run is a fresh instance with its own memory
// and file descriptors. Run's exit code and error follow os/exec; see Runtime.Run.
//
// # The filesystem
//
// Every guest of a Runtime sees the same vfs.Namespace through one preopened directory, "/"
// (with Options.StrictWASI, through one preopen per mount instead, each confined: see
// Options.StrictWASI and Options.Preopens). By default (Options zero value):
//
//	/      the stable store at DefaultStorePath(): $WASMRUN_STORE, else
//	       $XDG_DATA_HOME/wasmrun/default.store, else ~/.local/share/wasmrun/default.store.
//	       Durable: what a guest writes survives the process, a crash and an upgrade.
//	/tmp   a heap filesystem in this process's memory, DefaultTmpBytes large. Never durable:
//	       it is empty again in the next Runtime.
//
// Options.Root or Options.Store choose another "/", and Runtime.Mount adds mounts (a host
// directory with hostfs.New, another heap or stable store, a read-only io/fs.FS with
// iofs.FromFS) before modules run. Only one process may have a store open at a time
// (stable.ErrLocked).
//
// Durability needs no call from the guest: besides fd_sync and stable's background commits,
// Run commits every mount when the module exits, however it exits (return, proc_exit, trap,
// deadline, cancellation), and Close commits again before closing the store.
//
// # Limits
//
// Options.MemoryLimitPages bounds guest memory, Options.MaxFDs (or RunConfig.MaxFDs) the open
// file descriptors (EMFILE), Options.TmpBytes the size of /tmp (ENOSPC), and
// Options.StoreOptions the store's quota and write-back cache. A wall-clock limit is a context
// deadline, and Run then returns an error that errors.Is(err, context.DeadlineExceeded). With
// the default Options.Interrupt the guest is stopped wherever it is, even in a loop that never
// calls the host: a Run whose context can end runs the module compiled with wazero's interrupt
// checks (2 to 10 times slower for CPU-bound guests), and a Run with context.Background() runs
// it without them. With InterruptAtHostCalls a guest is stopped at its next host call, or at
// once if it is waiting in one (poll_oneoff, a read of stdin).
//
// # Compilation cache and debug information
//
// Compiling python.wasm (26 MB) to machine code takes seconds; loading it back from wazero's
// file cache takes a fraction of one. The cache is on disk by default, in DefaultCacheDir(),
// shared by every process of the same wazero version, and keyed by the module's hash, so it can
// never be stale. Options.CacheDir moves it and Options.NoCache turns it off.
//
// DWARF debug information is not parsed unless Options.DebugInfo is set: it only adds source
// lines to the stack trace of a trap, and costs time and memory in every process (python.wasm
// -c pass: 0.67 s of CPU and 143 MiB against 0.19 s and 81 MiB); see Options.DebugInfo. Without it, the custom
// sections at the end of a module (DWARF, producers: 13 of python.wasm's 26 MB) are left out
// before compilation, and Runtime.CompileFile does not even read them: a warm start of
// python.wasm then hashes and reads half as many bytes.
package runtime
