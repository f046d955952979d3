package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/sys"

	"github.com/wasmrun/wasmrun/wasi"
)

// ErrTrap is wrapped by the error Run returns when the guest trapped (unreachable, an out of
// bounds memory access, a division by zero, a stack overflow...) or a host function failed. The
// message includes wazero's wasm stack trace.
var ErrTrap = errors.New("wasm trap")

// ErrCommit is wrapped by the error Run returns when the commit at module exit failed: the
// guest's last changes to a durable mount may not be on disk.
var ErrCommit = errors.New("commit at exit failed")

// RunConfig is what one run of a module sees: its arguments, environment and standard streams.
type RunConfig struct {
	// Args is the guest's argv. Args[0] is conventionally the program name.
	Args []string
	// Env is the guest's environment, as "KEY=value" strings.
	Env []string
	// Stdin is read by fd 0; nil reads as empty. An *os.File on a terminal shows as a
	// character device, so the guest's isatty(0) is true. It is read from a goroutine, so a
	// guest blocked on it still stops when ctx ends.
	Stdin io.Reader
	// Stdout and Stderr receive fd 1 and fd 2; nil discards.
	Stdout, Stderr io.Writer
	// MaxFDs bounds the open file descriptors (EMFILE beyond); 0 means Options.MaxFDs.
	MaxFDs int
	// Trace, if not nil, receives one line per WASI call of the guest, strace style: the call
	// with its decoded arguments, then its result or errno (see the wasi package doc,
	// "Tracing"; the CLI's --trace). Each line is one Write. Runs that share a writer write to
	// it concurrently: give them an *os.File or wrap the writer with wasi.LockedWriter.
	Trace io.Writer
	// TraceTag, if not empty, prefixes each trace line as "[TraceTag] ", to tell apart the
	// lines of runs sharing one Trace writer.
	TraceTag string
}

// Run instantiates m and calls its "_start" function with cfg's arguments, environment and
// streams, over the Runtime's filesystem, and returns when the guest exits.
//
// Each Run is a new instance with its own memory and file descriptor table (fd 3 is the
// preopened "/"; with Options.StrictWASI, fds 3 and up are the preopens), so Runs of the same or different modules may go on concurrently; they share
// only the filesystem.
//
// The result follows os/exec's ProcessState.ExitCode:
//   - the guest returned from _start: 0, nil;
//   - the guest called proc_exit(n): n (a uint32, so exit(-1) in C is 4294967295), nil;
//   - ctx was cancelled or its deadline passed: -1 and an error wrapping ctx.Err(), so
//     errors.Is(err, context.DeadlineExceeded) tells a timeout. By default (Options.Interrupt)
//     the guest is stopped at its next function call or loop iteration; with
//     InterruptAtHostCalls, only at a host call or while it waits in one (poll_oneoff, a read
//     of stdin), so a guest that computes runs on, and Run waits for it, until it returns or
//     exits (with its own result, then);
//   - the guest trapped: -1 and an error wrapping ErrTrap;
//   - the module could not be instantiated (an import wasmrun does not provide, a memory
//     larger than Options.MemoryLimitPages): -1 and that error.
//
// However the guest ends, and even if a host function panics, Run closes the guest's file
// descriptors and then commits every mount (vfs.Namespace.Commit), so that what the guest wrote
// to a stable mount is durable when Run returns. If that commit fails, the error wraps
// ErrCommit and the exit code is still the guest's.
func (r *Runtime) Run(ctx context.Context, m *Module, cfg RunConfig) (exitCode int, err error) {
	if m == nil || m.r != r {
		return -1, errors.New("runtime: Run of a module compiled by another Runtime")
	}
	r.mu.Lock()
	closed := r.closed
	r.mu.Unlock()
	if closed {
		return -1, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return -1, err
	}

	maxFDs := cfg.MaxFDs
	if maxFDs == 0 {
		maxFDs = r.maxFDs
	}
	var preopens []string
	if r.strict {
		preopens = r.strictPreopens()
	}
	p, err := wasi.NewProcess(wasi.Config{
		Args:     cfg.Args,
		Env:      cfg.Env,
		Stdin:    cfg.Stdin,
		Stdout:   cfg.Stdout,
		Stderr:   cfg.Stderr,
		NS:       r.ns,
		Strict:   r.strict,
		Preopens: preopens,
		MaxFDs:   maxFDs,
		Trace:    cfg.Trace,
		TraceTag: cfg.TraceTag,
	})
	if err != nil {
		return -1, err
	}
	// The durability contract's "commit at module exit": deferred, so that it runs on every
	// path out of here, a panic included.
	defer func() {
		if cerr := p.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("close the guest's files: %w", cerr))
		}
		if cerr := r.ns.Commit(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("%w: %w", ErrCommit, cerr))
		}
	}()

	pctx := wasi.WithProcess(ctx, p)
	// Instantiate without running _start, so that a link error (a missing import) is told
	// apart from a trap in the program.
	// The interrupt checks for a context that can end (see Interrupt).
	checked := r.wzFast == nil || r.wz != nil && ctx.Done() != nil
	compiled, err := m.variant(ctx, checked)
	if err != nil {
		return -1, fmt.Errorf("compile the module: %w", err)
	}
	w := r.wzFast
	if checked {
		w = r.wz
	}
	mod, err := w.InstantiateModule(pctx, compiled,
		wazero.NewModuleConfig().WithName("").WithStartFunctions())
	if err != nil {
		return exitResult(ctx, err, "instantiate module")
	}
	defer mod.Close(context.WithoutCancel(ctx))
	_, err = mod.ExportedFunction("_start").Call(pctx)
	return exitResult(ctx, err, "")
}

// exitResult turns the error of a call into wasm into Run's results. what names the step for
// errors that are neither an exit nor a context's end.
func exitResult(ctx context.Context, err error, what string) (int, error) {
	if err == nil {
		return 0, nil
	}
	var exit *sys.ExitError
	isExit := errors.As(err, &exit)
	if isExit && exit.ExitCode() != sys.ExitCodeContextCanceled && exit.ExitCode() != sys.ExitCodeDeadlineExceeded {
		return int(exit.ExitCode()), nil
	}
	if cerr := ctx.Err(); cerr != nil {
		// The module was closed with one of the two exit codes above: by wazero's checks
		// (Options.Interrupt) or by a host call that was waiting (wasi ends the guest
		// the same way), or a host call failed because of it.
		return -1, fmt.Errorf("guest stopped: %w", cerr)
	}
	if isExit { // proc_exit with one of wazero's reserved codes, ctx still live
		return int(exit.ExitCode()), nil
	}
	if what != "" {
		return -1, fmt.Errorf("%s: %w", what, err)
	}
	return -1, fmt.Errorf("%w: %w", ErrTrap, err)
}
