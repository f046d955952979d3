package wasi

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/sys"
	"github.com/wasmrun/wasmrun/heap"
	"github.com/wasmrun/wasmrun/vfs"
	"github.com/wasmrun/wasmrun/vfs/readonly"
)

// buildC compiles testdata/<name>.c with clang and wasi-libc into t.TempDir().
func buildC(t *testing.T, name string) []byte {
	t.Helper()
	cc := os.Getenv("WASI_CC")
	if cc == "" {
		cc = "clang"
	}
	out := filepath.Join(t.TempDir(), name+".wasm")
	cmd := exec.Command(cc, "--target=wasm32-wasi", "-O2", "-Wall", "-o", out, filepath.Join("testdata", name+".c"))
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %v\n%s\n(install: apt-get install clang lld wasi-libc)", cmd, err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// runGuest runs bin with a fresh Process over ns and returns stdout and the exit code.
func runGuest(t *testing.T, bin []byte, ns *vfs.Namespace) (string, uint32) {
	t.Helper()
	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	defer r.Close(ctx)
	if _, err := Instantiate(ctx, r); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	p, err := NewProcess(Config{Args: []string{"guest"}, Stdout: &stdout, Stderr: &stderr, NS: ns})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	_, err = r.InstantiateWithConfig(WithProcess(ctx, p), bin, wazero.NewModuleConfig().WithStartFunctions("_start"))
	code := uint32(0)
	var exit *sys.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatalf("%v\nstderr: %s", err, stderr.String())
	}
	return stdout.String(), code
}

// TestCGuest runs a C program that calls every fd_* and path_* import directly and then
// through wasi-libc, over a heap namespace.
func TestCGuest(t *testing.T) {
	bin := buildC(t, "allcalls")
	ns := vfs.NewNamespace(heap.New(heap.Options{}))
	out, code := runGuest(t, bin, ns)
	want := `
fd_prestat_get 0 tag=0 len=1
fd_prestat_dir_name 0 /
path_create_directory 0
path_open 0 fd=4
fd_write 0 n=11
fd_tell 0 pos=11
fd_seek 0 pos=6
fd_read 0 n=5 world
fd_pwrite 0 n=1
fd_pread 0 n=11 Jello world
fd_advise 0
fd_allocate 0
fd_filestat_set_size 0
fd_filestat_set_times 0
fd_filestat_get 0 type=4 size=50 nlink=1 atim=1000 mtim=2000
fd_fdstat_set_flags 0
fd_fdstat_get 0 type=4 flags=1 seek=1
fd_fdstat_set_rights 0
fd_fdstat_get 0 seek=0
fd_seek 0 (rights other than read and write are not enforced)
fd_fdstat_set_rights 0
fd_write 8 (fd_write dropped: EBADF)
fd_sync 0
fd_datasync 0
path_symlink 0
path_readlink 0 n=5 a.txt
path_link 0
path_filestat_get 0 type=4 nlink=2 size=50
path_filestat_get 0 type=7
path_filestat_set_times 0
path_filestat_get 0 type=4 mtim=6
path_rename 0
path_unlink_file 0
path_create_directory 0
path_open 0 dir=5
fd_readdir 0 ./3 ../3 a.txt/4 link/7 sub/3
fd_renumber 0
fd_close 0
fd_close 8
path_remove_directory 0
path_remove_directory 55
libc read line 1
libc read line 2
libc stat 0 size=14 dir=0
libc rename 0
libc open missing -1 errno=No such file or directory
libc mkdir exists -1 errno=File exists
libc rmdir nonempty -1 errno=Directory not empty
libc readdir 5 entries
libc chdir 0
libc relative unlink 0
libc rmdir 0
libc nanosleep slept>=20ms 1
libc isatty 0
`
	if strings.TrimSpace(out) != strings.TrimSpace(want) {
		t.Fatalf("output:\n%s\nwant:\n%s", out, want)
	}
	if code != 7 {
		t.Fatalf("exit code %d", code)
	}
}

// buildGo builds testdata/<name> with GOOS=wasip1 GOARCH=wasm into t.TempDir().
func buildGo(t *testing.T, name string) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), name+".wasm")
	cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", out, "./testdata/"+name)
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %v\n%s", cmd, err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestGoGuest runs a Go wasip1 program over a namespace with a read-write mount and a
// read-only one: Go's path_open rights must open files on a read-only mount for reading, and
// directories without oflags DIRECTORY.
func TestGoGuest(t *testing.T) {
	bin := buildGo(t, "goguest")
	ro := heap.New(heap.Options{})
	rons := vfs.NewNamespace(ro)
	h, errno := rons.Open(rons.Root(), "/hello.txt", vfs.OWrite|vfs.OCreate, 0o644)
	if errno != vfs.ESUCCESS {
		t.Fatal(errno)
	}
	h.File.WriteAt([]byte("hi"), 0)
	h.File.Close()
	ns := vfs.NewNamespace(heap.New(heap.Options{}))
	if err := ns.Mount("/rw", heap.New(heap.Options{})); err != nil {
		t.Fatal(err)
	}
	if err := ns.Mount("/ro", readonly.New(ro)); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	defer r.Close(ctx)
	if _, err := Instantiate(ctx, r); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	p, err := NewProcess(Config{Args: []string{"goguest"}, Stdin: strings.NewReader("typed line\nmore\n"), Stdout: &stdout, Stderr: &stderr, NS: ns})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	_, err = r.InstantiateWithConfig(WithProcess(ctx, p), bin, wazero.NewModuleConfig())
	var exit *sys.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Fatalf("%v\nstdout: %s\nstderr: %s", err, stdout.String(), stderr.String())
	}
	want := `
mkdir: ok
write: ok
read payload: ok
readdir b/: ok
open dir: ok
readdirnames hello.txt: ok
read ro hi: ok
open ro file: ok
write ro: open /ro/new.txt: Read-only file system
rename: ok
stat size=7: ok
stat gone true: ok
removeall: ok
sleep true: ok
stdin typed line: ok
`
	if strings.TrimSpace(stdout.String()) != strings.TrimSpace(want) {
		t.Fatalf("output:\n%s\nwant:\n%s\nstderr: %s", stdout.String(), want, stderr.String())
	}
}
