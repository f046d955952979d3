package run

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/wasmrun/wasmrun/heap"
	wasmrt "github.com/wasmrun/wasmrun/runtime"
	"github.com/wasmrun/wasmrun/stable"
	"github.com/wasmrun/wasmrun/vfs"
	"github.com/wasmrun/wasmrun/vfs/hostfs"
	"github.com/wasmrun/wasmrun/vfs/readonly"
	"github.com/wasmrun/wasmrun/vfs/stats"
	"github.com/wasmrun/wasmrun/wasi"
)

// Exit statuses of wasmrun itself; otherwise it exits with the guest's code.
const (
	exitUsage   = 2   // wasmrun's own errors: a bad flag, a missing module, a locked store...
	exitTimeout = 124 // --timeout passed, as timeout(1)
	exitTrap    = 134 // the guest trapped: 128+SIGABRT, as a native program that aborts
)

// Main is the whole wasmrun command, for cmd/run/wasmrun's main: args are the arguments after
// the program name; it returns the exit status.
func Main(args []string, stdin *os.File, stdout, stderr io.Writer) int {
	return wasmrun(args, stdin, stdout, stderr)
}

// config is the parsed command line.
type config struct {
	module    string
	args      []string
	env       []string
	mounts    []mountSpec // the --dir mounts, then the --mount ones
	strict    bool        // --strict-wasi
	preopens  []string    // the guest paths of --dir and --mount in flag order (preopens with --strict-wasi)
	store     string
	storeSet  bool // --store was given: its directory is not created
	storeOpts stable.Options
	tmpSize   int64
	tmpInodes int64
	timeout   time.Duration
	cacheDir  string
	noCache   bool
	maxFDs    int
	maxMemory int64
	debugInfo bool
	trace     string // --trace: a file, "-" for standard error, "" for none
	stats     bool
}

// usageError is a command-line mistake: wasmrun prints it with a pointer to --help.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

const usageHead = `wasmrun runs a WebAssembly WASI command, such as CPython's python.wasm, over a virtual
filesystem: "/" is a store file that keeps what the guest writes from one run to the next, and
/tmp lives in memory and starts empty every run.

Usage:
  wasmrun [flags] MODULE.wasm [ARGS...]
  wasmrun fs SUBCOMMAND [flags] [ARGS...]   inspect a store and move data in and out of it:
      ls, tree, stat, du, cat, get, put, mkdir, rm, mv, export, import, fsck, compact,
      backup ('wasmrun fs --help' lists them)

The guest's argv is the module's base name followed by ARGS. Flags come before the module;
everything after it goes to the guest.

Flags:
`

const usageTail = `
Exit status: the guest's exit code; 124 when --timeout passed; 130 or 143 when interrupted
by SIGINT or SIGTERM (the store is committed first); 134 when the guest trapped; 2 when
wasmrun itself failed (a bad flag, an unreadable or invalid module, a store that is locked by
another process or damaged, a failed commit).
`

// action is what the command line asks for.
type action int

const (
	actRun action = iota
	actHelp
	actVersion
)

// parseArgs parses wasmrun's command line; errors are *usageError. For actHelp it writes the
// usage to stdout.
func parseArgs(args []string, stdout io.Writer) (*config, action, error) {
	defaultStore, err := wasmrt.DefaultStorePath()
	if err != nil {
		defaultStore = "" // reported only if the default is used
	}
	defaultCache, err := wasmrt.DefaultCacheDir()
	if err != nil {
		defaultCache = ""
	}

	fs := flag.NewFlagSet("wasmrun", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var (
		dirs, mounts, envs          listFlag
		order                       []string // "dir" or "mount", per --dir and --mount in flag order
		tmpSize                     = sizeFlag(wasmrt.DefaultTmpBytes)
		cacheSize                   = sizeFlag(stable.DefaultCacheBytes)
		quota                       sizeFlag
		maxMemory                   = sizeFlag(4 << 30)
		c                           = &config{}
		showVersion                 bool
		commitInterval, lockTimeout time.Duration
	)
	fs.Var(orderedFlag{&dirs, &order, "dir"}, "dir", "mount the host directory HOST at GUEST, by default HOST's absolute path;\n"+
		"repeatable; HOST::GUEST works too; :ro refuses writes")
	fs.Var(orderedFlag{&mounts, &order, "mount"}, "mount", "mount a filesystem at GUEST: heap[:SIZE] (in memory), stable:FILE (a store\n"+
		"file) or host:DIR; repeatable; :ro refuses writes; a mount at /tmp replaces\n"+
		"the default /tmp, a mount at / replaces --store")
	fs.Var(&envs, "env", "set a guest environment variable, or pass the host's KEY; repeatable;\n"+
		"the guest sees no other variable")
	fs.StringVar(&c.store, "store", defaultStore, "the store file mounted at /, created if missing ($WASMRUN_STORE\n"+
		"changes the default), or a store in an etcd cluster: etcd://HOST:PORT[,...]/NAME\n"+
		"(TLS and credentials from etcdctl's ETCDCTL_CERT, _KEY, _CACERT, _USER, _PASSWORD)")
	fs.Var(&tmpSize, "tmp-size", "the size of /tmp, with a K, M or G suffix; 0 means unbounded")
	fs.Int64Var(&c.tmpInodes, "tmp-inodes", 0, "the most files, directories and symlinks /tmp may hold (ENOSPC beyond);\n"+
		"0 means unbounded")
	fs.Var((*durationFlag)(&c.timeout), "timeout", "stop the guest after this long (such as 30s or 5m) and exit 124;\n"+
		"0 means no limit. With a limit, compute-bound code runs slower: it checks\n"+
		"for the deadline at every function call and loop iteration")
	fs.StringVar(&c.cacheDir, "cache-dir", defaultCache, "keep compiled machine code here, so that the next start is fast\n"+
		"($WASMRUN_CACHE_DIR changes the default)")
	fs.BoolVar(&c.noCache, "no-cache", false, "compile the module again instead of using the compilation cache")
	commitInterval, lockTimeout = stable.DefaultCommitInterval, stable.DefaultLockTimeout
	fs.Var((*durationFlag)(&commitInterval), "commit-interval",
		"commit the store in the background when its oldest uncommitted change\n"+
			"is this old; 0 turns it off (commits still happen at exit and on fsync)")
	fs.Var(&cacheSize, "cache-size", "commit the store in the background when this many bytes of file data\n"+
		"are uncommitted")
	fs.Var(&quota, "store-quota", "limit the size of the store's files (ENOSPC beyond); 0 means unlimited")
	fs.Var((*durationFlag)(&lockTimeout), "lock-timeout",
		"wait this long for another process to release the store; 0 tries once")
	fs.IntVar(&c.maxFDs, "max-fds", wasi.DefaultMaxFDs, "the most files the guest may have open at once (EMFILE beyond)")
	fs.Var(&maxMemory, "max-memory", "the most linear memory the guest may use: a multiple of 64K, at most 4G")
	fs.StringVar(&c.trace, "trace", "", "write one line per WASI call of the guest to FILE (- for standard\n"+
		"error), strace style: the call, its arguments, its result or errno")
	fs.BoolVar(&c.stats, "stats", false, "at exit, after the last commit, print each mount's operations, bytes\n"+
		"read and written, sync and commit latencies to standard error")
	fs.BoolVar(&c.debugInfo, "debug-info", false, "parse DWARF debug information, so that a trap's stack trace shows\n"+
		"source lines (uses more memory)")
	fs.BoolVar(&c.strict, "strict-wasi", false, "run the guest in WASI preview1's capability model, as wasmtime does:\n"+
		"each --dir and --mount is its own preopened directory, in flag order from fd 3\n"+
		"(the store at / and /tmp are not preopened unless given with --mount);\n"+
		"paths resolve beneath their directory fd (absolute paths and '..' out of it\n"+
		"are ENOTCAPABLE); rights are enforced per fd")
	fs.BoolVar(&showVersion, "version", false, "print the version of wasmrun and exit")
	help := false
	fs.BoolVar(&help, "h", false, "print this help and exit")
	fs.BoolVar(&help, "help", false, "print this help and exit")

	if err := parseFlags(fs, args); err != nil {
		return nil, actRun, &usageError{err.Error()}
	}
	if help {
		printUsage(stdout, fs)
		return nil, actHelp, nil
	}
	if showVersion {
		return nil, actVersion, nil
	}
	if fs.NArg() == 0 {
		return nil, actRun, &usageError{"no module to run"}
	}
	// Without an explicit --cache-dir the runtime uses the default, and goes on without a
	// cache if it cannot create it (a read-only home), instead of failing.
	explicit := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { explicit[f.Name] = true })
	if !explicit["cache-dir"] {
		c.cacheDir = ""
	}
	c.storeSet = explicit["store"]
	c.module = fs.Arg(0)
	c.args = append([]string{filepath.Base(c.module)}, fs.Args()[1:]...)
	if c.env, err = parseEnv(envs); err != nil {
		return nil, actRun, &usageError{err.Error()}
	}
	for _, d := range dirs {
		m, err := parseDir(d)
		if err != nil {
			return nil, actRun, &usageError{err.Error()}
		}
		c.mounts = append(c.mounts, m)
	}
	for _, v := range mounts {
		m, err := parseMount(v)
		if err != nil {
			return nil, actRun, &usageError{err.Error()}
		}
		c.mounts = append(c.mounts, m)
	}
	c.preopens = []string{}
	di, mi := 0, len(dirs)
	for _, kind := range order {
		i := &di
		if kind == "mount" {
			i = &mi
		}
		c.preopens = append(c.preopens, c.mounts[*i].guest)
		*i++
	}
	c.tmpSize = int64(tmpSize)
	c.maxMemory = int64(maxMemory)
	if c.maxMemory < 64<<10 || c.maxMemory > 4<<30 || c.maxMemory%(64<<10) != 0 {
		return nil, actRun, &usageError{fmt.Sprintf("--max-memory %s: want a multiple of 64K between 64K and 4G", formatSize(c.maxMemory))}
	}
	if c.maxFDs < 4 {
		return nil, actRun, &usageError{"--max-fds must be at least 4 (stdin, stdout, stderr and /)"}
	}
	if cacheSize <= 0 {
		return nil, actRun, &usageError{"--cache-size must be positive"}
	}
	// stable.Options: zero means the default, negative means none (no age-based commit, a
	// single try for the lock).
	if commitInterval <= 0 {
		commitInterval = -1
	}
	if lockTimeout <= 0 {
		lockTimeout = -1
	}
	c.storeOpts = stable.Options{
		CacheBytes:     int64(cacheSize),
		CommitInterval: commitInterval,
		LockTimeout:    lockTimeout,
		QuotaBytes:     int64(quota),
	}
	return c, actRun, nil
}

// argNames names the argument of each flag that takes one, in the help text.
var argNames = map[string]string{
	"dir":             "HOST[:GUEST][:ro]",
	"mount":           "GUEST=KIND[:ARG][:ro]",
	"env":             "KEY[=VALUE]",
	"store":           "FILE|URL",
	"tmp-size":        "BYTES",
	"tmp-inodes":      "N",
	"timeout":         "DURATION",
	"cache-dir":       "DIR",
	"commit-interval": "DURATION",
	"cache-size":      "BYTES",
	"store-quota":     "BYTES",
	"lock-timeout":    "DURATION",
	"max-fds":         "N",
	"max-memory":      "BYTES",
	"trace":           "FILE|-",
}

// printUsage writes the help text: every flag with its argument and default, "--" style.
func printUsage(w io.Writer, fs *flag.FlagSet) {
	var b strings.Builder
	b.WriteString(usageHead)
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name == "h" {
			return // listed with --help
		}
		arg, usage := argNames[f.Name], f.Usage
		name := "--" + f.Name
		if f.Name == "help" {
			name = "-h, --help"
		}
		fmt.Fprintf(&b, "  %s", name)
		if arg != "" {
			fmt.Fprintf(&b, " %s", arg)
		}
		b.WriteString("\n")
		for _, line := range strings.Split(usage, "\n") {
			fmt.Fprintf(&b, "        %s\n", line)
		}
		if d := f.DefValue; d != "" && d != "0" && d != "0s" && d != "false" {
			fmt.Fprintf(&b, "        (default %s)\n", d)
		}
	})
	b.WriteString(usageTail)
	io.WriteString(w, b.String())
}

// version is wasmrun's version. A release build sets it with
// -ldflags "-X github.com/wasmrun/wasmrun/cmd/run.version=v1.2.3"; otherwise --version shows
// the module version Go stamped (a pseudo-version, or "(devel)" plus the commit for a build
// from a checkout).
var version string

// versionText is what --version prints: wasmrun's version, wazero's and Go's.
func versionText() string {
	v, wazero, goVersion := "(unknown)", "(unknown)", "(unknown)"
	if bi, ok := debug.ReadBuildInfo(); ok {
		v = bi.Main.Version
		goVersion = bi.GoVersion
		for _, d := range bi.Deps {
			if d.Path == "github.com/tetratelabs/wazero" {
				wazero = d.Version
			}
		}
		var rev, dirty string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					dirty = "+dirty"
				}
			}
		}
		if (v == "" || v == "(devel)") && rev != "" {
			v = "(devel) " + rev + dirty
		}
	}
	if version != "" {
		v = version
	}
	return fmt.Sprintf("wasmrun %s (wazero %s, %s)\n", v, wazero, goVersion)
}

// wasmrun is the whole command: it returns the exit status.
func wasmrun(args []string, stdin *os.File, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "fs" {
		return fsMain(args[1:], stdin, stdout, stderr) // fs.go
	}
	c, act, err := parseArgs(args, stdout)
	switch {
	case err != nil:
		fmt.Fprintf(stderr, "wasmrun: %v\nRun 'wasmrun --help' for usage.\n", err)
		return exitUsage
	case act == actHelp:
		return 0
	case act == actVersion:
		io.WriteString(stdout, versionText())
		return 0
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "wasmrun: "+format+"\n", a...)
		return exitUsage
	}
	gcOn := pauseGC()
	defer gcOn()

	// Only the magic number now, so that a wrong file is reported before the store is opened;
	// Runtime.CompileFile reads the module later, without the debug sections it does not need.
	if err := checkMagic(c.module); err != nil {
		return fail("%v", err)
	}

	// The first SIGINT or SIGTERM cancels the run. A guest that waits (poll_oneoff, a read of
	// stdin) or, with --timeout, any guest, stops at once; the store is committed and closed,
	// and wasmrun exits 128+signal. A guest that computes without --timeout (so without the
	// cost of wazero's interrupt checks) cannot be stopped: if it is still running after
	// interruptGrace, the store is committed under it and wasmrun exits. A second signal exits
	// at once: the store then keeps its last commit, which is consistent (each commit is
	// atomic).
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	stats := &mountStats{on: c.stats}
	guest := &runningGuest{module: c.module, stderr: stderr, report: func() { stats.print(stderr) }}
	go func() {
		sig := <-sigs
		// No garbage collection from here to the exit: a collection stops the world, and a
		// guest that computes in wazero's machine code without its interrupt checks cannot
		// be stopped, so the collection, and every goroutine that allocates after it began
		// (this one, the commit), would wait for the guest forever.
		debug.SetGCPercent(-1)
		cancel(signalError{sig})
		select {
		case <-time.After(interruptGrace):
			go guest.abandon(sig) // while a second signal can still exit at once
		case sig = <-sigs:
			fmt.Fprintf(stderr, "wasmrun: %s again: exiting without the final commit\n", signalName(sig))
			os.Exit(signalStatus(sig))
		}
		sig = <-sigs
		fmt.Fprintf(stderr, "wasmrun: %s again: exiting without the final commit\n", signalName(sig))
		os.Exit(signalStatus(sig))
	}()

	opts := wasmrt.Options{
		Store:            c.store,
		StoreOptions:     c.storeOpts,
		TmpBytes:         c.tmpSize,
		TmpInodes:        c.tmpInodes,
		CacheDir:         c.cacheDir,
		NoCache:          c.noCache,
		DebugInfo:        c.debugInfo,
		MemoryLimitPages: uint32(c.maxMemory >> 16),
		MaxFDs:           c.maxFDs,
		Interrupt:        wasmrt.InterruptAtHostCalls,
		StrictWASI:       c.strict,
		Preopens:         c.preopens,
	}
	if c.tmpSize == 0 {
		opts.TmpBytes = -1
	}
	if c.timeout > 0 {
		opts.Interrupt = wasmrt.InterruptAlways // --timeout stops any guest
	}
	var trace io.Writer
	switch c.trace {
	case "":
	case "-":
		trace = wasi.LockedWriter(stderr)
	default:
		f, err := os.Create(c.trace)
		if err != nil {
			return fail("--trace: %v", err)
		}
		defer f.Close()
		trace = f
	}
	// Every mount is opened before the store, so that a bad --dir or --mount fails before a
	// store file is created; and a store this run created is removed again if the run fails
	// before the guest starts (a module that does not compile, a mount point that is a file).
	var later []openedMount // mounts below "/"
	closeLater := func() {
		for _, m := range later {
			if cl, ok := vfs.As[vfs.Closer](m.fsys); ok {
				cl.Close()
			}
		}
	}
	for _, m := range c.mounts {
		if m.guest == "/" {
			if opts.Root != nil {
				closeLater()
				return fail("two mounts at /")
			}
			if opts.Root, err = openMount(m, c.storeOpts, stats.wrap); err != nil {
				closeLater()
				return fail("%v", storeHint(err, m.arg))
			}
			continue
		}
		if m.guest == "/tmp" {
			opts.NoTmp = true
		}
		fsys, err := openMount(m, c.storeOpts, stats.wrap)
		if err != nil {
			closeLater()
			if opts.Root != nil {
				if cl, ok := vfs.As[vfs.Closer](opts.Root); ok {
					cl.Close()
				}
			}
			return fail("%v", storeHint(err, m.arg))
		}
		later = append(later, openedMount{m.guest, fsys})
	}
	if opts.Root == nil && c.store == "" {
		closeLater()
		_, err := wasmrt.DefaultStorePath()
		return fail("%v", err)
	}
	createdStore := false
	if opts.Root == nil {
		if !c.storeSet && !stable.IsURL(c.store) {
			// The default store's directories are created on first use, as runtime.New
			// does for an embedding that leaves Options.Store empty.
			if err := os.MkdirAll(filepath.Dir(c.store), 0o700); err != nil {
				closeLater()
				return fail("create the default store's directory: %v (give --store or set $%s)", err, wasmrt.EnvStore)
			}
		}
		if !stable.IsURL(c.store) {
			_, serr := os.Lstat(c.store)
			createdStore = errors.Is(serr, fs.ErrNotExist)
		}
	}
	storeFail := func(err error) int {
		closeLater()
		if errors.Is(err, stable.ErrLocked) {
			return fail("%v (wait for it to exit, or give --lock-timeout or another --store)", err)
		}
		if h := damageHint(err); h != "" {
			return fail("%v (%s)", err, h)
		}
		return fail("%v", storeHint(err, c.store))
	}
	var tmp vfs.FS
	stopBackups := func() {}
	if opts.Root == nil {
		// Opened here rather than by New: --stats counts it, and a backup signal copies it.
		st, err := stable.Open(c.store, c.storeOpts)
		if err != nil {
			return storeFail(err)
		}
		opts.Root = stats.wrap("/", st)
		if !stable.IsURL(c.store) {
			stopBackups = backupOnSignal(st, c.store+".backup", stderr)
		}
	}
	if c.stats {
		if !opts.NoTmp {
			opts.NoTmp = true
			tmp = heap.New(heap.Options{MaxBytes: c.tmpSize, MaxInodes: c.tmpInodes})
		}
	}
	r, err := wasmrt.New(ctx, opts)
	if err != nil {
		stopBackups()
		return storeFail(err)
	}
	if tmp != nil {
		later = append([]openedMount{{"/tmp", stats.wrap("/tmp", tmp)}}, later...)
	}
	code, started := run(ctx, r, c, later, gcOn, guest, stats, trace, stdin, stdout, stderr)
	stopBackups() // before Close closes the store
	if err := r.Close(context.Background()); err != nil {
		fmt.Fprintf(stderr, "wasmrun: closing the store: %v\n", err)
		if code == 0 {
			code = exitUsage
		}
	}
	if !started && createdStore {
		removeStore(c.store)
	}
	if stats.ran {
		stats.print(stderr)
	}
	return code
}

// backupOnSignal makes SIGUSR1 write a consistent backup of the store st to dst while the
// guest runs: the namespace's changes are committed first (as a background commit does), then
// stable.FS.Backup copies the committed state in one read transaction and replaces dst. This is
// how a store in use gets backed up: another process cannot open a store a writer holds. It
// reports on stderr and returns the function that stops listening.
func backupOnSignal(st *stable.FS, dst string, stderr io.Writer) (stop func()) {
	if len(backupSignals) == 0 {
		return func() {}
	}
	sigs := make(chan os.Signal, 1)
	done := make(chan struct{})
	finished := make(chan struct{})
	signal.Notify(sigs, backupSignals...)
	go func() {
		defer close(finished)
		for {
			select {
			case <-done:
				return
			case <-sigs:
			}
			var err error
			var size int64
			if e := st.Commit(); e != 0 {
				err = fmt.Errorf("commit: %w", e)
			} else {
				size, err = st.Backup(dst, stable.BackupOptions{Replace: true})
			}
			if err != nil {
				fmt.Fprintf(stderr, "wasmrun: backup of %s: %v\n", st.Path(), err)
				continue
			}
			fmt.Fprintf(stderr, "wasmrun: backup of %s written to %s (%s)\n", st.Path(), dst, formatSize(size))
		}
	}()
	return func() {
		signal.Stop(sigs)
		close(done)
		<-finished
	}
}

// openedMount is a mount of the command line, opened.
type openedMount struct {
	guest string
	fsys  vfs.FS
}

// storeHint adds to an error opening the store file path what a user can do about it: a store
// this user may not write can still be read.
func storeHint(err error, path string) error {
	if errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS) {
		if st, serr := os.Stat(path); serr == nil && st.Mode().IsRegular() {
			return fmt.Errorf("%w\n(the store cannot be written here; to read it, mount it read-only with --mount /=stable:%s:ro, or use 'wasmrun fs ls', 'cat', 'get' or 'export')", err, path)
		}
	}
	return err
}

// removeStore removes the store file path and its log, which this run created and never ran
// a guest on.
func removeStore(path string) {
	_ = os.Remove(path + "-wal")
	_ = os.Remove(path)
}

// run mounts, compiles and runs the module on r, and returns the exit status, and whether the
// guest was started. It closes the mounts it could not mount.
func run(ctx context.Context, r *wasmrt.Runtime, c *config, mounts []openedMount, gcOn func(),
	guest *runningGuest, stats *mountStats, trace io.Writer, stdin *os.File, stdout, stderr io.Writer) (int, bool) {
	for i, m := range mounts {
		if err := r.Mount(m.guest, m.fsys); err != nil {
			for _, m := range mounts[i:] {
				if cl, ok := vfs.As[vfs.Closer](m.fsys); ok {
					cl.Close()
				}
			}
			fmt.Fprintf(stderr, "wasmrun: mount %s: %v\n", m.guest, err)
			return exitUsage, false
		}
	}
	mod, err := r.CompileFile(ctx, c.module)
	if err != nil {
		fmt.Fprintf(stderr, "wasmrun: %s: %v\n", c.module, err)
		return exitUsage, false
	}
	runCtx := ctx
	if c.timeout > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	var in io.Reader
	if stdin != nil {
		in = stdin
	}
	gcOn()
	stats.ran = true
	guest.start(r.Namespace())
	code, err := r.Run(runCtx, mod, wasmrt.RunConfig{
		Args:   c.args,
		Env:    c.env,
		Stdin:  in,
		Stdout: stdout,
		Stderr: stderr,
		Trace:  trace,
	})
	guest.stop()
	var sig signalError
	switch {
	case err == nil:
		return code & 0xff, true // as a native exit(): only the low 8 bits reach the parent
	case errors.As(context.Cause(ctx), &sig):
		fmt.Fprintf(stderr, "wasmrun: %s: stopped by %s\n", c.module, signalName(sig.sig))
		return signalStatus(sig.sig), true
	case errors.Is(err, context.DeadlineExceeded):
		fmt.Fprintf(stderr, "wasmrun: %s: timed out after %v\n", c.module, c.timeout)
		return exitTimeout, true
	case errors.Is(err, wasmrt.ErrTrap):
		fmt.Fprintf(stderr, "wasmrun: %s: %v\n", c.module, err)
		return exitTrap, true
	default:
		fmt.Fprintf(stderr, "wasmrun: %s: %v\n", c.module, err)
		return exitUsage, true
	}
}

// While pauseGC holds the garbage collector off, startupGCPause bounds how long and
// startupMemoryLimit how much the Go heap may grow.
const (
	startupGCPause     = 500 * time.Millisecond
	startupMemoryLimit = 256 << 20
)

// pauseGC turns the garbage collector off for wasmrun's start-up, and returns the function
// that turns it back on, which wasmrun calls when the guest starts (it is idempotent).
//
// A warm start allocates little garbage: the module's bytes, then what wazero decodes from them
// and keeps; collecting during it costs CPU time and write barriers (python.wasm -c pass: 8 ms
// of CPU) and, worse, lets the heap grow past the freed bytes of the module before the guest's
// memory is allocated (9 MiB more peak RSS). A compilation without the cache takes seconds
// and leaves garbage behind: the collector comes back on after startupGCPause, or earlier if
// the Go heap nears startupMemoryLimit. GOGC or GOMEMLIMIT in the environment leave the
// collector as they set it.
func pauseGC() (on func()) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	percent := debug.SetGCPercent(-1)
	limit := debug.SetMemoryLimit(startupMemoryLimit)
	var once sync.Once
	on = func() {
		once.Do(func() {
			debug.SetGCPercent(percent)
			debug.SetMemoryLimit(limit)
		})
	}
	time.AfterFunc(startupGCPause, on)
	return on
}

// checkMagic checks that the file name starts with the WebAssembly magic number.
func checkMagic(name string) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	var magic [4]byte
	if _, err := io.ReadFull(f, magic[:]); err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return err // *fs.PathError: it names the file
	}
	if !bytes.Equal(magic[:], []byte("\x00asm")) {
		return fmt.Errorf("%s: not a WebAssembly module (it does not start with \\0asm); wasmrun runs binary .wasm files", name)
	}
	return nil
}

// openMount makes the filesystem of one --dir or --mount. wrap sees the backend before a
// read-only mount wraps it, so that --stats counts what reaches the backend.
func openMount(m mountSpec, storeOpts stable.Options, wrap func(guestPath string, fsys vfs.FS) vfs.FS) (vfs.FS, error) {
	var fsys vfs.FS
	switch m.kind {
	case "heap":
		var size int64
		if m.arg != "" {
			size, _ = parseSize(m.arg) // checked by parseMount
		}
		fsys = heap.New(heap.Options{MaxBytes: size})
	case "host":
		host, err := hostfs.New(m.arg)
		if err != nil {
			return nil, fmt.Errorf("--dir %s: %w", m.arg, err)
		}
		fsys = host
	case "stable":
		opts := storeOpts
		opts.ReadOnly = m.ro
		st, err := stable.Open(m.arg, opts)
		if err != nil {
			return nil, err
		}
		return wrap(m.guest, st), nil // a read-only store refuses writes itself
	default:
		return nil, fmt.Errorf("unknown mount kind %q", m.kind)
	}
	fsys = wrap(m.guest, fsys)
	if m.ro {
		fsys = readonly.New(fsys)
	}
	return fsys, nil
}

// mountStats keeps the counting view of each mount for --stats.
type mountStats struct {
	on  bool
	ran bool // the guest was started: there is something to report

	mu     sync.Mutex
	paths  []string
	counts []*stats.Counter
}

// wrap returns fsys as mounted at guestPath: its counting view with --stats, fsys otherwise.
func (m *mountStats) wrap(guestPath string, fsys vfs.FS) vfs.FS {
	if !m.on {
		return fsys
	}
	st := stats.Wrap(fsys)
	m.mu.Lock()
	m.paths = append(m.paths, guestPath)
	m.counts = append(m.counts, st)
	m.mu.Unlock()
	return st.FS()
}

// print writes each mount's figures as one block of stats.Snapshot.Format: "/", then /tmp, then the
// other mounts in the order of the command line (they are opened before "/").
func (m *mountStats) print(w io.Writer) {
	m.mu.Lock()
	defer m.mu.Unlock()
	order := make([]int, len(m.counts))
	for i := range order {
		order[i] = i
	}
	rank := func(p string) int {
		switch p {
		case "/":
			return 0
		case "/tmp":
			return 1
		}
		return 2
	}
	slices.SortStableFunc(order, func(a, b int) int { return rank(m.paths[a]) - rank(m.paths[b]) })
	for _, i := range order {
		m.counts[i].Stats().Format(w, m.paths[i])
	}
}

// interruptGrace is how long wasmrun waits after SIGINT or SIGTERM for the guest to stop before
// it commits the store under a guest that is still running and exits.
const interruptGrace = 200 * time.Millisecond

// runningGuest tells the signal handler whether a guest is running, and on which namespace.
type runningGuest struct {
	module string
	stderr io.Writer
	report func() // prints --stats after the commit

	mu sync.Mutex
	ns *vfs.Namespace // the running guest's namespace; nil before and after Run
}

// start records that a guest runs on ns.
func (g *runningGuest) start(ns *vfs.Namespace) {
	g.mu.Lock()
	g.ns = ns
	g.mu.Unlock()
}

// stop records that Run returned. If abandon is committing, stop blocks until the process exits.
func (g *runningGuest) stop() {
	g.mu.Lock()
	g.ns = nil
	g.mu.Unlock()
}

// abandon is the end of an interrupted guest that did not stop within interruptGrace: one
// that computes without calling the host, which nothing can stop without wazero's interrupt
// checks (--timeout turns them on). It commits the namespace while the guest runs on (what a
// background commit does at any moment) and exits with 128+sig, holding the lock so that Run's
// caller never goes on. With no guest running (Run returned, or has not started and will see
// the cancelled context) it does nothing.
func (g *runningGuest) abandon(sig os.Signal) {
	g.mu.Lock()
	if g.ns == nil {
		g.mu.Unlock()
		return
	}
	status := signalStatus(sig)
	if err := g.ns.Commit(); err != nil {
		fmt.Fprintf(g.stderr, "wasmrun: %s: stopped by %s; the commit failed: %v\n", g.module, signalName(sig), err)
		os.Exit(status)
	}
	fmt.Fprintf(g.stderr, "wasmrun: %s: stopped by %s (committed while the guest was still computing)\n", g.module, signalName(sig))
	g.report()
	os.Exit(status)
}

// signalError is the cause of a run cancelled by a signal.
type signalError struct{ sig os.Signal }

func (e signalError) Error() string { return "interrupted by " + signalName(e.sig) }

// signalName names sig as a user knows it: SIGINT (Ctrl-C), SIGTERM (the verb "interrupt" or
// "terminated" that os.Signal.String gives does not read as a noun).
func signalName(sig os.Signal) string {
	switch sig {
	case os.Interrupt:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return sig.String()
}

// signalStatus is the shell's exit status for a process killed by sig: 128 + its number.
func signalStatus(sig os.Signal) int {
	if s, ok := sig.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return 128 + 2
}
