package peer

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"
)

// Mount maps a host directory into the guest at GuestPath (an absolute, slash-separated path).
type Mount struct {
	HostDir   string
	GuestPath string
	ReadOnly  bool
}

// Options configure a Runtime.
type Options struct {
	// CacheDir, if set, is a directory for wazero's on-disk compilation cache, so that compiling
	// the same module again (in this or a later process) is cheap.
	CacheDir string
}

// Config is one run of a module.
type Config struct {
	Args   []string // argv, including argv[0]
	Env    []string // "KEY=VALUE" pairs
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Mounts []Mount
}

// Runtime is a wazero runtime with wazero's WASI instantiated in it.
type Runtime struct {
	r     wazero.Runtime
	cache wazero.CompilationCache
}

// Module is a compiled module, ready to run many times.
type Module struct {
	cm wazero.CompiledModule
}

// New returns a Runtime. It fails only if the compilation cache directory cannot be used.
func New(ctx context.Context, o Options) (*Runtime, error) {
	cfg := wazero.NewRuntimeConfig()
	var cache wazero.CompilationCache
	if o.CacheDir != "" {
		var err error
		if cache, err = wazero.NewCompilationCacheWithDir(o.CacheDir); err != nil {
			return nil, fmt.Errorf("peer: compilation cache %s: %w", o.CacheDir, err)
		}
		cfg = cfg.WithCompilationCache(cache)
	}
	r := wazero.NewRuntimeWithConfig(ctx, cfg)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, r); err != nil {
		r.Close(ctx)
		return nil, fmt.Errorf("peer: instantiate WASI: %w", err)
	}
	return &Runtime{r: r, cache: cache}, nil
}

// Compile compiles wasm.
func (p *Runtime) Compile(ctx context.Context, wasm []byte) (*Module, error) {
	cm, err := p.r.CompileModule(ctx, wasm)
	if err != nil {
		return nil, fmt.Errorf("peer: compile: %w", err)
	}
	return &Module{cm: cm}, nil
}

// Run instantiates m with cfg and runs its _start function to completion. It returns the guest's
// exit code (0 when _start returns normally) and a nil error, or a non-nil error when the module
// could not run or trapped. Runs are independent and may be concurrent.
func (p *Runtime) Run(ctx context.Context, m *Module, cfg Config) (exitCode int, err error) {
	mc := wazero.NewModuleConfig().
		WithName("").
		WithSysWalltime().
		WithSysNanotime().
		WithSysNanosleep().
		WithRandSource(rand.Reader).
		WithArgs(cfg.Args...)
	for _, kv := range cfg.Env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return 0, fmt.Errorf("peer: environment entry %q is not KEY=VALUE", kv)
		}
		mc = mc.WithEnv(k, v)
	}
	if cfg.Stdin != nil {
		mc = mc.WithStdin(cfg.Stdin)
	}
	if cfg.Stdout != nil {
		mc = mc.WithStdout(cfg.Stdout)
	}
	if cfg.Stderr != nil {
		mc = mc.WithStderr(cfg.Stderr)
	}
	fsc := wazero.NewFSConfig()
	for _, mt := range cfg.Mounts {
		if mt.ReadOnly {
			fsc = fsc.WithReadOnlyDirMount(mt.HostDir, mt.GuestPath)
		} else {
			fsc = fsc.WithDirMount(mt.HostDir, mt.GuestPath)
		}
	}
	mc = mc.WithFSConfig(fsc)

	mod, err := p.r.InstantiateModule(ctx, m.cm, mc)
	if mod != nil {
		defer mod.Close(ctx)
	}
	var exit *sys.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &exit):
		return int(exit.ExitCode()), nil
	default:
		return 0, fmt.Errorf("peer: run: %w", err)
	}
}

// Close releases the runtime and every module compiled in it.
func (p *Runtime) Close(ctx context.Context) error {
	err := p.r.Close(ctx)
	if p.cache != nil {
		if cerr := p.cache.Close(ctx); err == nil {
			err = cerr
		}
	}
	return err
}

// Run compiles wasm and runs it once with cfg in a fresh Runtime: a convenience for one-off runs.
func Run(ctx context.Context, wasm []byte, cfg Config) (exitCode int, err error) {
	p, err := New(ctx, Options{})
	if err != nil {
		return 0, err
	}
	defer p.Close(ctx)
	m, err := p.Compile(ctx, wasm)
	if err != nil {
		return 0, err
	}
	return p.Run(ctx, m, cfg)
}
