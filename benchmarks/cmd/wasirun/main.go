// Command wasirun runs one WebAssembly command under wasmrun or under wazero's own built-in WASI,
// with the same harness around both, for the benchmark suite.
//
//	wasirun -engine wasmrun -store FILE [-cache-dir DIR] [-cpuprofile F] MODULE.wasm ARGS...
//	wasirun -engine wazero -dir HOST:GUEST [-cache-dir DIR] [-cpuprofile F] MODULE.wasm ARGS...
//
// Under wasmrun the guest sees wasmrun's default namespace (runtime.New): "/" is the stable store
// FILE, "/tmp" a heap filesystem. Under wazero it sees the -dir host directories as preopens
// (internal/peer). Both runtimes use wazero's optimizing compiler with an on-disk compilation
// cache in -cache-dir, so a warm run does not compile. Standard streams are passed through; the
// exit status is the guest's.
//
// -cpuprofile and -memprofile write pprof profiles of the whole process (compilation, the guest
// and the host functions): the suite uses them to find out where time goes when a goal is missed.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	goruntime "runtime"
	"runtime/pprof"
	"strings"

	"github.com/wasmrun/wasmrun/internal/peer"
	"github.com/wasmrun/wasmrun/runtime"
)

type dirFlags []string

func (d *dirFlags) String() string     { return strings.Join(*d, ",") }
func (d *dirFlags) Set(v string) error { *d = append(*d, v); return nil }

func main() {
	engine := flag.String("engine", "wasmrun", "wasmrun or wazero")
	store := flag.String("store", "", "wasmrun: the stable store file mounted at /")
	cacheDir := flag.String("cache-dir", "", "compilation cache directory (empty: none)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile to this file")
	memProfile := flag.String("memprofile", "", "write a heap profile to this file at exit")
	var dirs dirFlags
	flag.Var(&dirs, "dir", "wazero: HOST:GUEST directory to preopen (repeatable)")
	flag.Parse()
	if flag.NArg() < 1 {
		fmt.Fprintln(os.Stderr, "usage: wasirun [flags] MODULE.wasm ARGS...")
		os.Exit(2)
	}
	code, err := run(*engine, *store, *cacheDir, *cpuProfile, *memProfile, dirs, flag.Args())
	if err != nil {
		fmt.Fprintln(os.Stderr, "wasirun:", err)
		os.Exit(2)
	}
	os.Exit(code)
}

func run(engine, store, cacheDir, cpuProfile, memProfile string, dirs []string, args []string) (int, error) {
	wasm, err := os.ReadFile(args[0])
	if err != nil {
		return 0, err
	}
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			return 0, err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return 0, err
		}
		defer func() {
			pprof.StopCPUProfile()
			f.Close()
		}()
	}
	if memProfile != "" {
		defer func() {
			f, err := os.Create(memProfile)
			if err == nil {
				goruntime.GC()
				pprof.WriteHeapProfile(f)
				f.Close()
			}
		}()
	}
	ctx := context.Background()
	argv := append([]string{"prog"}, args[1:]...)
	switch engine {
	case "wasmrun":
		if store == "" {
			return 0, fmt.Errorf("-engine wasmrun needs -store")
		}
		r, err := runtime.New(ctx, runtime.Options{Store: store, CacheDir: cacheDir, NoCache: cacheDir == ""})
		if err != nil {
			return 0, err
		}
		m, err := r.Compile(ctx, wasm)
		if err != nil {
			r.Close(ctx)
			return 0, err
		}
		code, err := r.Run(ctx, m, runtime.RunConfig{Args: argv, Stdout: os.Stdout, Stderr: os.Stderr})
		if cerr := r.Close(ctx); err == nil {
			err = cerr
		}
		return code, err
	case "wazero":
		var mounts []peer.Mount
		for _, d := range dirs {
			host, guest, ok := strings.Cut(d, ":")
			if !ok || !strings.HasPrefix(guest, "/") {
				return 0, fmt.Errorf("-dir %q: want HOST:/GUEST", d)
			}
			mounts = append(mounts, peer.Mount{HostDir: host, GuestPath: guest})
		}
		p, err := peer.New(ctx, peer.Options{CacheDir: cacheDir})
		if err != nil {
			return 0, err
		}
		defer p.Close(ctx)
		m, err := p.Compile(ctx, wasm)
		if err != nil {
			return 0, err
		}
		return p.Run(ctx, m, peer.Config{Args: argv, Stdout: os.Stdout, Stderr: os.Stderr, Mounts: mounts})
	default:
		return 0, fmt.Errorf("unknown engine %q (want wasmrun or wazero)", engine)
	}
}
