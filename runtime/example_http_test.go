package runtime_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/wasmrun/wasmrun/internal/guests"
	wasmrt "github.com/wasmrun/wasmrun/runtime"
)

// visitScript is the Python program the handler runs for each request. Its visitor number is
// the first free file name under /data/visits, taken with open(..., "x") (O_EXCL), so requests
// that run at the same time still get one number each.
const visitScript = `
import os, sys
name = sys.argv[1]
os.makedirs("/data/visits", exist_ok=True)
n = len(os.listdir("/data/visits"))
while True:
    n += 1
    try:
        with open(f"/data/visits/{n}", "x") as f:
            f.write(name)
        break
    except FileExistsError:
        pass
print(f"hello {name}, you are visitor {n}")
`

// An HTTP service that runs a Python script per request. One Runtime serves every request,
// concurrently: each request is a fresh python.wasm instance, and all of them share the
// Runtime's store, so what one request writes the next one finds. Go code reads and seeds the
// same files through Runtime.FS.
func Example_httpHandler() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)

	python, err := os.ReadFile(pythonWasmPath) // CPython 3.12 for WASI (testdata/fetch-python.sh)
	if err != nil {
		fmt.Println("python.wasm is missing: fetch it with `make python`:", err)
		return
	}
	r, err := wasmrt.New(ctx, wasmrt.Options{
		Store:    filepath.Join(dir, "site.store"),
		CacheDir: exampleCacheDir, // by default DefaultCacheDir(): compiled once per machine
	})
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close(ctx)
	// Compile with a context that can end, as the requests' will: Compile then builds the variant
	// with interrupt checks now, at start-up, instead of in the first request's time budget.
	compileCtx, stop := context.WithCancel(ctx)
	m, err := r.Compile(compileCtx, python)
	stop()
	if err != nil {
		log.Fatal(err)
	}

	// Seed the store from Go: the guests see it at /app/visit.py.
	if err := r.FS().MkdirAll("app", 0o755); err != nil {
		log.Fatal(err)
	}
	if err := r.FS().WriteFile("app/visit.py", []byte(visitScript), 0o644); err != nil {
		log.Fatal(err)
	}

	handler := func(w http.ResponseWriter, req *http.Request) {
		// Each request has a time budget: its deadline stops the guest wherever it is, even
		// in a loop that never calls the host (the default Options.Interrupt, for a context
		// that can end). /forever shows it with a one-second budget.
		args, budget := []string{"python", "/app/visit.py", req.URL.Query().Get("name")}, time.Minute
		if req.URL.Path == "/forever" {
			args, budget = []string{"python", "-c", "while True: pass"}, time.Second
		}
		ctx, cancel := context.WithTimeout(req.Context(), budget)
		defer cancel()
		var stdout, stderr bytes.Buffer
		code, err := r.Run(ctx, m, wasmrt.RunConfig{
			Args:   args,
			Stdout: &stdout,
			Stderr: &stderr,
		})
		if errors.Is(err, context.DeadlineExceeded) {
			http.Error(w, "the script ran out of time", http.StatusGatewayTimeout)
			return
		}
		if err != nil || code != 0 {
			http.Error(w, fmt.Sprintf("python exited %d (%v): %s", code, err, &stderr), http.StatusInternalServerError)
			return
		}
		w.Write(stdout.Bytes())
	}
	srv := httptest.NewServer(http.HandlerFunc(handler))
	defer srv.Close()

	for _, path := range []string{"/?name=ada", "/?name=grace", "/forever"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			log.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Printf("%d %s", resp.StatusCode, body)
	}

	// Read what the guests wrote, from Go.
	visits, err := r.FS().ReadDir("data/visits")
	if err != nil {
		log.Fatal(err)
	}
	for _, v := range visits {
		name, _ := r.FS().ReadFile("data/visits/" + v.Name())
		fmt.Printf("visit %s: %s\n", v.Name(), name)
	}
	// Output:
	// 200 hello ada, you are visitor 1
	// 200 hello grace, you are visitor 2
	// 504 the script ran out of time
	// visit 1: ada
	// visit 2: grace
}

// pythonWasmPath is testdata/python/python.wasm, and exampleCacheDir the compilation cache the
// package's tests share, so that python.wasm is compiled once per machine, not once per run.
var pythonWasmPath, exampleCacheDir = examplePaths()

// examplePaths finds python.wasm and the shared compilation cache. An Example cannot skip, so
// when python.wasm is missing outside CI, Example_httpHandler is left out of the run with
// -test.skip (added to the command line before the testing package parses it) and a note on
// stderr; in CI (CI=true) it runs and fails, printing how to fetch python.wasm.
func examplePaths() (string, string) {
	root, err := guests.RepoRoot()
	if err != nil {
		return "", ""
	}
	wasm := filepath.Join(root, "testdata", "python", "python.wasm")
	if _, err := os.Stat(wasm); err != nil && os.Getenv("CI") != "true" {
		fmt.Fprintf(os.Stderr, "runtime tests: %v: leaving Example_httpHandler out (fetch python.wasm with `make python`)\n", err)
		os.Args = append(os.Args, "-test.skip="+skipPattern("Example_httpHandler"))
	}
	cache := ""
	if dir, err := guests.CacheDir(); err == nil {
		cache = filepath.Join(dir, "wazero")
	}
	return wasm, cache
}

// skipPattern adds name to the -test.skip pattern already on the command line, if any.
func skipPattern(name string) string {
	pattern := "^" + name + "$"
	for _, a := range os.Args[1:] {
		for _, prefix := range []string{"-test.skip=", "--test.skip=", "-skip=", "--skip="} {
			if p, ok := strings.CutPrefix(a, prefix); ok && p != "" {
				pattern = p + "|" + pattern
			}
		}
	}
	return pattern
}
