package runtime_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	wasmrt "github.com/wasmrun/wasmrun/runtime"
	"github.com/wasmrun/wasmrun/vfs/hostfs"
)

// Run a WASI command with arguments and environment, and collect its output.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)

	// "/" is a store file (here a new one in dir; by default DefaultStorePath()), /tmp is in
	// memory.
	r, err := wasmrt.New(ctx, wasmrt.Options{Store: filepath.Join(dir, "root.store")})
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close(ctx)

	wasm, err := os.ReadFile(filepath.Join(guestDir, "echo.wasm")) // built from testdata/echo.wat
	if err != nil {
		log.Fatal(err)
	}
	m, err := r.Compile(ctx, wasm)
	if err != nil {
		log.Fatal(err)
	}
	code, err := r.Run(ctx, m, wasmrt.RunConfig{
		Args:   []string{"echo", "hello", "world"},
		Env:    []string{"GREETING=hi"},
		Stdout: os.Stdout,
	})
	fmt.Println("exit code:", code, "error:", err)
	// Output:
	// arg: echo
	// arg: hello
	// arg: world
	// env: GREETING=hi
	// exit code: 0 error: <nil>
}

// Mount a host directory: the guest reads and writes it at /project, and cannot leave it.
func ExampleRuntime_Mount() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	project := filepath.Join(dir, "project")
	os.Mkdir(project, 0o755)
	os.WriteFile(filepath.Join(project, "README"), []byte("read me from the host\n"), 0o644)

	r, err := wasmrt.New(ctx, wasmrt.Options{Store: filepath.Join(dir, "root.store")})
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close(ctx)
	host, err := hostfs.New(project)
	if err != nil {
		log.Fatal(err)
	}
	if err := r.Mount("/project", host); err != nil {
		log.Fatal(err)
	}

	wasm, _ := os.ReadFile(filepath.Join(guestDir, "cat.wasm")) // cat PATH, from testdata/cat.wat
	m, err := r.Compile(ctx, wasm)
	if err != nil {
		log.Fatal(err)
	}
	// The guest's paths are relative to its preopened "/".
	if _, err := r.Run(ctx, m, wasmrt.RunConfig{Args: []string{"cat", "project/README"}, Stdout: os.Stdout}); err != nil {
		log.Fatal(err)
	}
	// Output:
	// read me from the host
}

// Files a guest writes outside /tmp are kept in the store file: a later Runtime, in this
// process or another one, finds them. The guest never calls fsync: Run commits when it exits.
func Example_persistence() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	store := filepath.Join(dir, "data.store")
	write, _ := os.ReadFile(filepath.Join(guestDir, "write.wasm")) // write PATH DATA
	cat, _ := os.ReadFile(filepath.Join(guestDir, "cat.wasm"))     // cat PATH

	runOnce := func(wasm []byte, args ...string) {
		r, err := wasmrt.New(ctx, wasmrt.Options{Store: store})
		if err != nil {
			log.Fatal(err)
		}
		defer r.Close(ctx)
		m, err := r.Compile(ctx, wasm)
		if err != nil {
			log.Fatal(err)
		}
		code, err := r.Run(ctx, m, wasmrt.RunConfig{Args: args, Stdout: os.Stdout})
		fmt.Printf("%s exited with %d, %v\n", args[0], code, err)
	}
	runOnce(write, "write", "notes.txt", "kept across runtimes\n")
	runOnce(write, "write", "tmp/scratch.txt", "gone with the runtime\n")
	runOnce(cat, "cat", "notes.txt")
	runOnce(cat, "cat", "tmp/scratch.txt") // exits with WASI's ENOENT, 44
	// Output:
	// write exited with 0, <nil>
	// write exited with 0, <nil>
	// kept across runtimes
	// cat exited with 0, <nil>
	// cat exited with 44, <nil>
}
