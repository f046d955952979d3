package runtime_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wasmrun/wasmrun/heap"
	"github.com/wasmrun/wasmrun/internal/guests"
	wasmrt "github.com/wasmrun/wasmrun/runtime"
	"github.com/wasmrun/wasmrun/vfs"
	"github.com/wasmrun/wasmrun/vfs/hostfs"
)

// TestStrictGuests runs the strict-mode guests (testdata/guests/c/strict.c through wasi-libc,
// testdata/guests/go/strict through Go's wasip1 port and the raw imports) with StrictWASI over
// two mounts, a heap and a host directory, which are the only preopens: every check of the
// guest passes (several preopens, ".." and absolute paths and symlink targets refused, rights
// dropped and enforced), and the files it wrote are where the mounts keep them.
func TestStrictGuests(t *testing.T) {
	for _, guest := range []string{"c/strict", "go/strict"} {
		t.Run(guest, func(t *testing.T) {
			wasm := readFile(t, guests.Build(t, guest))
			ctx := context.Background()
			r, err := wasmrt.New(ctx, wasmrt.Options{Root: heap.New(heap.Options{}), CacheDir: sharedCacheDir(t), StrictWASI: true})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { r.Close(ctx) })
			host := t.TempDir()
			hostFS, err := hostfs.New(host)
			if err != nil {
				t.Fatal(err)
			}
			if err := r.Mount("/data", heap.New(heap.Options{})); err != nil {
				t.Fatal(err)
			}
			if err := r.Mount("/host/dir", hostFS); err != nil {
				t.Fatal(err)
			}
			// Outside both preopens, in the root: the guest must not reach it.
			h, e := r.Namespace().Open(r.Namespace().Root(), "/f.txt", vfs.OWrite|vfs.OCreate, 0o644)
			if e != 0 {
				t.Fatal(e)
			}
			h.File.WriteAt([]byte("root"), 0)
			h.File.Close()

			res := run(t, ctx, r, wasm, args("strict", "/data", "/host/dir"))
			for _, l := range strings.Split(res.stdout, "\n") {
				if strings.HasPrefix(l, "FAIL") {
					t.Error(l)
				}
			}
			if res.code != 0 || res.err != nil || !strings.Contains(res.stdout, "RESULT: PASS") {
				t.Fatalf("exit %d, %v\nstdout:\n%s\nstderr:\n%s", res.code, res.err, res.stdout, res.stderr)
			}
			if b, err := os.ReadFile(filepath.Join(host, "g.txt")); err != nil || string(b) != "in b" {
				t.Errorf("host g.txt: %q, %v", b, err)
			}
			st, e := r.Namespace().StatAt(r.Namespace().Root(), "/data/f.txt", false)
			if e != 0 || st.Size != 4 {
				t.Errorf("/data/f.txt: %+v, %v", st, e)
			}
			if b, _ := vfsRead(r, "/f.txt"); b != "root" {
				t.Errorf("/f.txt in the root is %q", b)
			}
		})
	}
}

// TestStrictPreopensOption: Options.Preopens replaces the mounts as the preopens; an empty list
// leaves none, and a preopen that is not a directory fails Run with its name.
func TestStrictPreopensOption(t *testing.T) {
	wasm := readFile(t, guests.Build(t, "c/strict"))
	ctx := context.Background()
	newRT := func(preopens []string) *wasmrt.Runtime {
		r, err := wasmrt.New(ctx, wasmrt.Options{Root: heap.New(heap.Options{}), CacheDir: sharedCacheDir(t), StrictWASI: true, Preopens: preopens})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close(ctx) })
		return r
	}
	// The root's /tmp and the root itself, listed: the guest sees them as its two preopens.
	r := newRT([]string{"/tmp", "/"})
	res := run(t, ctx, r, wasm, args("strict", "/tmp", "/"))
	if res.code != 0 || !strings.Contains(res.stdout, "RESULT: PASS") {
		t.Errorf("preopens /tmp and /: exit %d, %v\n%s", res.code, res.err, res.stdout)
	}
	// None: fd 3 is not a preopen, so the guest's first check fails.
	r = newRT([]string{})
	res = run(t, ctx, r, wasm, args("strict", "/tmp", "/"))
	if res.code != 1 || !strings.Contains(res.stdout, "FAIL preopen fd 3") {
		t.Errorf("no preopens: exit %d, %v\n%s", res.code, res.err, res.stdout)
	}
	r = newRT([]string{"/nowhere"})
	res = run(t, ctx, r, wasm, args("strict", "/nowhere", "/"))
	if res.err == nil || !strings.Contains(res.err.Error(), `"/nowhere"`) {
		t.Errorf("a missing preopen: %v, want an error naming it", res.err)
	}
}

func vfsRead(r *wasmrt.Runtime, p string) (string, vfs.Errno) {
	ns := r.Namespace()
	h, e := ns.Open(ns.Root(), p, vfs.ORead, 0)
	if e != 0 {
		return "", e
	}
	defer h.File.Close()
	b := make([]byte, 64)
	n, _ := h.File.ReadAt(b, 0)
	return string(b[:n]), 0
}
