package runtime

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"os"
	"path"
	"path/filepath"
	"sync"

	"github.com/tetratelabs/wazero"

	"github.com/wasmrun/wasmrun/heap"
	"github.com/wasmrun/wasmrun/stable"
	"github.com/wasmrun/wasmrun/vfs"
	"github.com/wasmrun/wasmrun/wasi"
)

// DefaultTmpBytes is the size of the heap filesystem mounted at /tmp when Options.TmpBytes is 0:
// 1 GiB. /tmp lives in the host process's memory, so it is bounded by default; a guest that
// writes more gets ENOSPC, as on a full tmpfs.
const DefaultTmpBytes = 1 << 30

// Options configures New. The zero value is the documented default: "/" is the stable store at
// DefaultStorePath, /tmp is a DefaultTmpBytes heap, compiled code is cached on disk under
// DefaultCacheDir, DWARF is not parsed, and guests may use up to 4 GiB of memory.
type Options struct {
	// Root is the filesystem mounted at "/". When nil, New opens the stable store named by
	// Store. New takes ownership of Root: Runtime.Close commits and closes it if it implements
	// vfs.Committer and vfs.Closer.
	Root vfs.FS

	// Store is the stable store file mounted at "/" when Root is nil. Empty means
	// DefaultStorePath(), whose parent directories New creates; for any other path they must
	// exist. The file is created if missing.
	Store string

	// StoreOptions are passed to stable.Open for the store at Store (page size, write-back
	// cache bytes, commit interval, lock timeout, quota, ...). Zero fields take stable's
	// defaults.
	StoreOptions stable.Options

	// NoTmp leaves /tmp unmounted: it is then a plain directory of the root filesystem.
	NoTmp bool

	// TmpBytes bounds the heap filesystem at /tmp: writes beyond it fail with ENOSPC.
	// 0 means DefaultTmpBytes; a negative value means no bound.
	TmpBytes int64

	// TmpInodes bounds the number of inodes (files, directories, symlinks, /tmp itself
	// included) in the heap filesystem at /tmp: creating one more fails with ENOSPC, as on a
	// tmpfs mounted with nr_inodes. 0 or a negative value means no bound.
	TmpInodes int64

	// CacheDir is the directory where compiled machine code is kept across processes, so
	// that a second run of the same module skips compilation (python.wasm: seconds down to a
	// fraction of a second). The directory is created if missing, and New fails if it cannot
	// be. Empty means DefaultCacheDir(), and if that cannot be created either (no home
	// directory, a read-only one), New goes on without an on-disk cache.
	CacheDir string

	// NoCache disables the on-disk compilation cache: every New compiles again. Compiled
	// modules are still shared between Runs of one Runtime.
	NoCache bool

	// DebugInfo makes wazero keep and parse the module's DWARF sections, so that a trap's
	// stack trace names the source file and line of each frame. It is off by default (wazero's
	// default is on): it only helps when a guest traps, and every process pays for it, in
	// memory (the debug sections stay in the compiled module) and in start-up time (wazero
	// parses them on every compilation, cache or not). For python.wasm (13 MB of DWARF), a warm
	// `wasmrun python.wasm -c pass` takes 0.67 s of CPU and 143 MiB of peak RSS with it,
	// against 0.19 s and 81 MiB without (wazero v1.12.0); without it, Compile also leaves the
	// trailing debug sections out, and CompileFile does not read them.
	DebugInfo bool

	// MemoryLimitPages caps each guest's linear memory, in 64 KiB pages. A module whose
	// declared minimum is larger fails to compile; memory.grow beyond it returns -1 to the
	// guest, which its allocator reports as out of memory. 0 means 65536 pages (4 GiB, the
	// wasm32 maximum).
	MemoryLimitPages uint32

	// MaxFDs is the default number of file descriptors one guest may have open at once
	// (EMFILE beyond); RunConfig.MaxFDs overrides it per run. 0 means the wasi package's
	// default.
	MaxFDs int

	// Interrupt says how a done context (a deadline, a cancellation) stops a guest that
	// computes without calling the host. The default, InterruptIfCancellable, stops every
	// guest whose context can end, and costs nothing to runs whose context cannot.
	Interrupt Interrupt

	// Interruptible is Interrupt: InterruptAlways, when Interrupt is not set.
	//
	// Deprecated: the default now stops every guest whose context can end; set Interrupt.
	Interruptible bool

	// StrictWASI runs every guest in WASI preview1's capability model as wasmtime (cap-std)
	// implements it, instead of the Linux-exact default (the CLI's --strict-wasi; see the wasi
	// package doc, "Strict mode"): the preopens are exactly Preopens, each its own fd from fd 3
	// named by its guest path; every path_* call resolves beneath its directory fd (an absolute
	// path, a ".." or a symlink leading out of it is ENOTCAPABLE, and so is creating a symlink
	// with an absolute target); and each fd's rights are enforced (ENOTCAPABLE). The namespace
	// is the same: the root and /tmp are still mounted, but a guest reaches only what is
	// preopened. The default (false) is unchanged: one preopen "/", paths resolved as Linux
	// does, rights reported but only the access mode enforced.
	StrictWASI bool

	// Preopens are, with StrictWASI, the guest directories preopened for every Run, from fd 3 in
	// this order. nil means the guest paths given to Runtime.Mount and MountFS, in the order of the calls
	// (the root and /tmp that New mounts are not among them unless listed here); an empty
	// non-nil list means no preopen at all. A path that is not a directory when a module runs
	// makes Run fail with an error naming it. Without StrictWASI, Preopens is ignored.
	Preopens []string
}

// Interrupt is how a done context stops a guest that computes without calling the host.
//
// Stopping such a guest takes checks compiled into its machine code: wazero's
// WithCloseOnContextDone puts one at every function entry and loop head, and each leaves the
// compiled code for Go, which costs a CPU-bound guest dearly: python.wasm runs a pure-Python
// loop 1.3 to 2.2 times slower with them, and a tight wasm loop of calls up to 45 times (see
// RATIONALE.md, "Stopping a guest that computes"). Without the checks a done context still ends
// a guest at its next host call (any WASI call), or at once if it waits in one (poll_oneoff, a
// read of stdin).
type Interrupt int

const (
	// InterruptIfCancellable, the default: a Run whose context can end (ctx.Done() is not
	// nil: a deadline, a cancel function, a request's context) runs the module compiled with
	// the checks, so that the context stops it wherever it is; a Run whose context can never
	// end (context.Background()) runs it compiled without them, at full speed. Each variant is
	// compiled at its first use (Compile compiles the one its own context calls for), and kept
	// in the on-disk cache under its own key.
	InterruptIfCancellable Interrupt = iota
	// InterruptAlways compiles the checks into every module.
	InterruptAlways
	// InterruptAtHostCalls never compiles them: a done context stops a guest only at its next
	// host call, and one that only computes runs on, and Run waits for it. For callers that
	// stop such a guest another way: the CLI commits the store and exits the process.
	InterruptAtHostCalls
)

// Runtime runs WebAssembly modules that import wasi_snapshot_preview1 over one virtual
// filesystem. It holds one wazero runtime (the optimizing compiler), a compilation cache, the
// Namespace every guest sees and the limits. One Runtime can run many modules, one after another
// or concurrently; they share the filesystem as processes share a machine's.
//
// A Runtime is safe for concurrent use, except Close, which must come after every Run returned.
type Runtime struct {
	// wz compiles and runs modules with wazero's interrupt checks, wzFast without (see
	// Interrupt); either is nil when Options.Interrupt never needs it.
	wz     wazero.Runtime
	wzFast wazero.Runtime
	cache  wazero.CompilationCache // nil when the cache is in memory only
	ns     *vfs.Namespace
	maxFDs int
	// strict and preopens are Options.StrictWASI and Options.Preopens; with a nil preopens,
	// mounted (under mu) lists the paths given to Mount, which strict Runs preopen.
	strict   bool
	preopens []string
	// debugInfo is Options.DebugInfo: when false, Compile leaves out the trailing custom
	// sections (see trimModule).
	debugInfo bool

	mu       sync.Mutex
	seed     maphash.Seed
	modules  map[moduleKey]*compileCall // memoised compilations
	mounted  []string                   // guest paths given to Mount, in order
	closed   bool
	closeErr error
}

// New returns a Runtime configured by opts. It opens (or creates) the root store, mounts /tmp,
// and instantiates the WASI host module.
//
// Errors from opening the store name the file and wrap stable's errors, so errors.Is works
// with stable.ErrLocked (another process has it open), stable.ErrNotStore,
// stable.ErrNewerFormat and stable.ErrCorrupt.
func New(ctx context.Context, opts Options) (r *Runtime, err error) {
	root := opts.Root
	if root == nil {
		path := opts.Store
		if path == "" {
			if path, err = DefaultStorePath(); err != nil {
				return nil, err
			}
			if stable.IsURL(path) {
				// an etcd store: no directory to make
			} else if err = os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
				return nil, fmt.Errorf("create the store directory: %w", err)
			}
		}
		st, err := stable.Open(path, opts.StoreOptions)
		if err != nil {
			return nil, err
		}
		root = st
	}
	ns := vfs.NewNamespace(root)
	defer func() {
		if err != nil {
			_ = ns.Close()
		}
	}()
	if !opts.NoTmp {
		tmpBytes := opts.TmpBytes
		switch {
		case tmpBytes == 0:
			tmpBytes = DefaultTmpBytes
		case tmpBytes < 0:
			tmpBytes = 0 // heap: 0 is unbounded
		}
		if err = ns.Mount("/tmp", heap.New(heap.Options{MaxBytes: tmpBytes, MaxInodes: opts.TmpInodes})); err != nil {
			return nil, fmt.Errorf("mount /tmp: %w", err)
		}
	}

	mode := opts.Interrupt
	if mode == InterruptIfCancellable && opts.Interruptible {
		mode = InterruptAlways
	}
	cfg := wazero.NewRuntimeConfigCompiler().WithDebugInfoEnabled(opts.DebugInfo)
	if opts.MemoryLimitPages != 0 {
		cfg = cfg.WithMemoryLimitPages(opts.MemoryLimitPages)
	}
	var cache wazero.CompilationCache
	if !opts.NoCache {
		if dir := opts.CacheDir; dir != "" {
			if cache, err = wazero.NewCompilationCacheWithDir(dir); err != nil {
				return nil, fmt.Errorf("compilation cache %s: %w", dir, err)
			}
		} else if dir, derr := DefaultCacheDir(); derr == nil {
			// The default cache is an optimisation: if it cannot be used (a read-only home,
			// no home at all), run without it rather than fail.
			if c, cerr := wazero.NewCompilationCacheWithDir(dir); cerr == nil {
				cache = c
			}
		}
		if cache != nil {
			cfg = cfg.WithCompilationCache(cache)
		}
	}
	// wazero keys its cache by the module and whether the checks are in it, so both
	// runtimes share one cache.
	var wz, wzFast wazero.Runtime
	for _, checked := range []bool{true, false} {
		if checked && mode == InterruptAtHostCalls || !checked && mode == InterruptAlways {
			continue
		}
		w := wazero.NewRuntimeWithConfig(ctx, cfg.WithCloseOnContextDone(checked))
		if _, err = wasi.Instantiate(ctx, w); err != nil {
			for _, w := range []wazero.Runtime{w, wz} {
				if w != nil {
					_ = w.Close(ctx)
				}
			}
			if cache != nil {
				_ = cache.Close(ctx)
			}
			return nil, fmt.Errorf("instantiate wasi_snapshot_preview1: %w", err)
		}
		if checked {
			wz = w
		} else {
			wzFast = w
		}
	}
	return &Runtime{
		wz:        wz,
		wzFast:    wzFast,
		cache:     cache,
		ns:        ns,
		maxFDs:    opts.MaxFDs,
		strict:    opts.StrictWASI,
		preopens:  opts.Preopens,
		debugInfo: opts.DebugInfo,
		seed:      maphash.MakeSeed(),
		modules:   make(map[moduleKey]*compileCall),
	}, nil
}

// Mount mounts fsys at the absolute guest path guestPath, for every module this Runtime runs
// from now on (see vfs.Namespace.Mount: a missing mount point is created in the filesystem
// below, mounting twice on one path is EBUSY). The Runtime takes ownership of fsys: Close
// commits and closes it. With Options.StrictWASI and no Options.Preopens, the guest path is
// preopened by every later Run, after those mounted before.
func (r *Runtime) Mount(guestPath string, fsys vfs.FS) error {
	if err := r.ns.Mount(guestPath, fsys); err != nil {
		return err
	}
	r.mu.Lock()
	r.mounted = append(r.mounted, path.Clean(guestPath))
	r.mu.Unlock()
	return nil
}

// strictPreopens returns the preopens of a strict Run (see Options.Preopens).
func (r *Runtime) strictPreopens() []string {
	if r.preopens != nil {
		return r.preopens
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string{}, r.mounted...)
}

// Namespace returns the filesystem the guests see, for the host to read and write files in
// (iofs.Of(ns) gives an io/fs.FS view) or to list the mounts.
func (r *Runtime) Namespace() *vfs.Namespace { return r.ns }

// Close closes the compiled modules and the wazero runtime, then commits and closes every
// mount (the stable store's last commit happens here). It must not be called while a Run is
// in progress. Calling Close again returns the first call's result.
func (r *Runtime) Close(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return r.closeErr
	}
	r.closed = true
	var err error
	for _, w := range []wazero.Runtime{r.wz, r.wzFast} {
		if w != nil {
			err = errors.Join(err, w.Close(ctx))
		}
	}
	if r.cache != nil {
		err = errors.Join(err, r.cache.Close(ctx))
	}
	err = errors.Join(err, r.ns.Close())
	r.closeErr = err
	return err
}
