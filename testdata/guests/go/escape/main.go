// Command escape is the Go guest of wasmrun's escape tests (runtime/escape_test.go). It calls
// the WASI path_* imports directly (//go:wasmimport), not through package os, because Go's
// wasip1 port cleans paths lexically ("a/../b" becomes "b") before the host sees them, and the
// point is to hand the host the exact bytes of each attack: ".." chains, NUL bytes, over-long
// names.
//
//	usage: escape corpus          run the operations read from stdin, one per line
//	       escape swap DIR N      N times: swap the directory DIR/d for a symlink "../.." and back
//	       escape walk DIR N      N times: read DIR/d/sentinel, and count what it held
//
// # corpus
//
// Each input line is an operation and its arguments, every argument hex-encoded (so a path may
// hold any byte):
//
//	open PATH MODE DATA     path_open; MODE letters: r read, w write (DATA), c O_CREAT,
//	                        t O_TRUNC, x O_EXCL, d O_DIRECTORY, n do not follow a final symlink
//	mkdir PATH | rmdir PATH | unlink PATH
//	symlink TARGET PATH     path_symlink
//	link OLD NEW            path_link without following OLD; linkf follows it
//	rename OLD NEW          path_rename
//	readlink PATH           path_readlink
//	stat PATH | lstat PATH  path_filestat_get, following the final symlink or not
//
// Paths are resolved from the preopened directory "/" (fd 3), with leading slashes removed as
// wasi-libc does. For each operation the program prints one line: the WASI errno (0 for
// success) and, hex-encoded, what the call returned: the first 64 bytes read for open with r,
// the target for readlink, "TYPE SIZE" for stat and lstat (the WASI filetype, and the size of a
// regular file, 0 for other types). Then it prints "END".
//
// # swap and walk
//
// Run concurrently on one runtime, over a host directory, they check that a symlink swapped in
// during a walk is resolved in the guest's namespace. walk prints "WALK inner=A guest=B
// errno=C other=D": A reads found DIR/d/sentinel (the real directory), B found the guest's
// /sentinel (through the symlink), C failed; D returned anything else, each such content also
// printed on a line "OTHER hex".
package main

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"unsafe"
)

//go:wasmimport wasi_snapshot_preview1 path_open
func pathOpen(fd int32, dirflags uint32, path unsafe.Pointer, pathLen uint32, oflags uint32,
	rightsBase uint64, rightsInheriting uint64, fdflags uint32, newFD unsafe.Pointer) uint32

//go:wasmimport wasi_snapshot_preview1 path_create_directory
func pathCreateDirectory(fd int32, path unsafe.Pointer, pathLen uint32) uint32

//go:wasmimport wasi_snapshot_preview1 path_remove_directory
func pathRemoveDirectory(fd int32, path unsafe.Pointer, pathLen uint32) uint32

//go:wasmimport wasi_snapshot_preview1 path_unlink_file
func pathUnlinkFile(fd int32, path unsafe.Pointer, pathLen uint32) uint32

//go:wasmimport wasi_snapshot_preview1 path_symlink
func pathSymlink(target unsafe.Pointer, targetLen uint32, fd int32, path unsafe.Pointer, pathLen uint32) uint32

//go:wasmimport wasi_snapshot_preview1 path_link
func pathLink(oldFD int32, oldFlags uint32, oldPath unsafe.Pointer, oldLen uint32, newFD int32,
	newPath unsafe.Pointer, newLen uint32) uint32

//go:wasmimport wasi_snapshot_preview1 path_rename
func pathRename(oldFD int32, oldPath unsafe.Pointer, oldLen uint32, newFD int32, newPath unsafe.Pointer, newLen uint32) uint32

//go:wasmimport wasi_snapshot_preview1 path_readlink
func pathReadlink(fd int32, path unsafe.Pointer, pathLen uint32, buf unsafe.Pointer, bufLen uint32, used unsafe.Pointer) uint32

//go:wasmimport wasi_snapshot_preview1 path_filestat_get
func pathFilestatGet(fd int32, flags uint32, path unsafe.Pointer, pathLen uint32, stat unsafe.Pointer) uint32

//go:wasmimport wasi_snapshot_preview1 fd_close
func fdClose(fd int32) uint32

const (
	root         = 3 // the preopened "/"
	lookupFollow = 1

	oCreat     = 1
	oDirectory = 2
	oExcl      = 4
	oTrunc     = 8

	rightFdRead  = 1 << 1
	rightFdWrite = 1 << 6
	allRights    = 1<<29 - 1
)

// ptr returns the address and length of p (a valid address even when p is empty).
func ptr(p []byte) (unsafe.Pointer, uint32) {
	if len(p) == 0 {
		p = make([]byte, 1)
		return unsafe.Pointer(&p[0]), 0
	}
	return unsafe.Pointer(&p[0]), uint32(len(p))
}

// rel removes leading slashes, as wasi-libc does when it resolves a path against "/".
func rel(path []byte) []byte {
	return bytes.TrimLeft(path, "/")
}

// open opens path and returns a file on its fd.
func open(path []byte, mode string) (*os.File, uint32) {
	var oflags uint32
	var dirflags uint32 = lookupFollow
	rights := uint64(allRights)
	for _, c := range mode {
		switch c {
		case 'c':
			oflags |= oCreat
		case 't':
			oflags |= oTrunc
		case 'x':
			oflags |= oExcl
		case 'd':
			oflags |= oDirectory
		case 'n':
			dirflags = 0
		}
	}
	if !strings.ContainsRune(mode, 'w') {
		rights &^= rightFdWrite
	}
	p, n := ptr(rel(path))
	var fd int32
	if e := pathOpen(root, dirflags, p, n, oflags, rights, rights, 0, unsafe.Pointer(&fd)); e != 0 {
		return nil, e
	}
	return os.NewFile(uintptr(fd), string(path)), 0
}

// do runs one corpus operation and returns its errno and result.
func do(op string, args [][]byte) (uint32, []byte) {
	arg := func(i int) []byte {
		if i < len(args) {
			return args[i]
		}
		return nil
	}
	a, an := ptr(rel(arg(0)))
	b, bn := ptr(rel(arg(1)))
	switch op {
	case "open":
		mode := string(arg(1))
		f, e := open(arg(0), mode)
		if e != 0 {
			return e, nil
		}
		defer f.Close()
		if strings.ContainsRune(mode, 'w') {
			if _, err := f.Write(arg(2)); err != nil {
				return errnoOf(err), nil
			}
		}
		if strings.ContainsRune(mode, 'r') && !strings.ContainsRune(mode, 'd') {
			buf := make([]byte, 64)
			n, err := f.Read(buf)
			if err != nil && n == 0 && err != io.EOF {
				return errnoOf(err), nil
			}
			return 0, buf[:n]
		}
		return 0, nil
	case "mkdir":
		return pathCreateDirectory(root, a, an), nil
	case "rmdir":
		return pathRemoveDirectory(root, a, an), nil
	case "unlink":
		return pathUnlinkFile(root, a, an), nil
	case "symlink":
		// The target is stored as given, leading slash included.
		t, tn := ptr(arg(0))
		return pathSymlink(t, tn, root, b, bn), nil
	case "link":
		return pathLink(root, 0, a, an, root, b, bn), nil
	case "linkf":
		return pathLink(root, lookupFollow, a, an, root, b, bn), nil
	case "rename":
		return pathRename(root, a, an, root, b, bn), nil
	case "readlink":
		buf := make([]byte, 8192)
		var used uint32
		e := pathReadlink(root, a, an, unsafe.Pointer(&buf[0]), uint32(len(buf)), unsafe.Pointer(&used))
		if e != 0 {
			return e, nil
		}
		return 0, buf[:used]
	case "stat", "lstat":
		var st [64]byte
		var flags uint32
		if op == "stat" {
			flags = lookupFollow
		}
		if e := pathFilestatGet(root, flags, a, an, unsafe.Pointer(&st[0])); e != 0 {
			return e, nil
		}
		typ := st[16]
		size := uint64(0)
		for i := 7; typ == 4 && i >= 0; i-- { // the size of a regular file only
			size = size<<8 | uint64(st[32+i])
		}
		return 0, []byte(fmt.Sprintf("%d %d", typ, size))
	}
	fmt.Fprintf(os.Stderr, "escape: unknown operation %q\n", op)
	os.Exit(2)
	return 0, nil
}

// errnoOf returns the WASI errno inside an error from package os, or 29 (EIO).
func errnoOf(err error) uint32 {
	var e syscall.Errno
	if errors.As(err, &e) {
		return uint32(e)
	}
	return 29
}

func corpus() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	out := bufio.NewWriter(os.Stdout)
	for in.Scan() {
		f := strings.Fields(in.Text())
		if len(f) == 0 {
			continue
		}
		args := make([][]byte, len(f)-1)
		for i, h := range f[1:] {
			b, err := hex.DecodeString(h)
			if err != nil {
				fmt.Fprintf(os.Stderr, "escape: bad argument %q: %v\n", h, err)
				os.Exit(2)
			}
			args[i] = b
		}
		e, res := do(f[0], args)
		fmt.Fprintf(out, "%d %x\n", e, res)
	}
	fmt.Fprintln(out, "END")
	out.Flush()
}

func swap(dir string, n int) {
	d, aside := dir+"/d", dir+"/d.aside"
	for i := 0; i < n; i++ {
		if err := os.Rename(d, aside); err != nil {
			fmt.Println("swap: rename aside:", err)
			os.Exit(1)
		}
		if err := os.Symlink("../..", d); err != nil {
			fmt.Println("swap: symlink:", err)
			os.Exit(1)
		}
		if err := os.Remove(d); err != nil {
			fmt.Println("swap: remove the symlink:", err)
			os.Exit(1)
		}
		if err := os.Rename(aside, d); err != nil {
			fmt.Println("swap: rename back:", err)
			os.Exit(1)
		}
	}
	fmt.Println("SWAPPED", n)
}

func walk(dir string, n int) {
	var inner, guest, failed, other int
	path := []byte(dir + "/d/sentinel")
	for i := 0; i < n; i++ {
		e, got := do("open", [][]byte{path, []byte("r")})
		switch {
		case e != 0:
			failed++
		case bytes.HasPrefix(got, []byte("INNER")):
			inner++
		case bytes.HasPrefix(got, []byte("GUEST SENTINEL")):
			guest++
		default:
			other++
			fmt.Printf("OTHER %x\n", got)
		}
	}
	fmt.Printf("WALK inner=%d guest=%d errno=%d other=%d\n", inner, guest, failed, other)
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: escape corpus | swap DIR N | walk DIR N")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "corpus":
		corpus()
		return
	case "swap", "walk":
		if len(os.Args) != 4 {
			break
		}
		n, err := strconv.Atoi(os.Args[3])
		if err != nil {
			break
		}
		if os.Args[1] == "swap" {
			swap(os.Args[2], n)
		} else {
			walk(os.Args[2], n)
		}
		return
	}
	fmt.Fprintln(os.Stderr, "usage: escape corpus | swap DIR N | walk DIR N")
	os.Exit(2)
}
