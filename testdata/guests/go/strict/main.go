// Command strict is the Go guest of wasmrun's strict WASI mode tests (runtime/strict_test.go):
// several preopens used through package os, and, through the WASI imports called directly
// (Go's wasip1 port cleans "a/../b" lexically before the host sees it), paths that leave a
// preopen, absolute paths and symlink targets, and dropped rights.
//
//	usage: strict A B     A and B: the guest paths of the first two preopens, in order
//
// Each check prints "PASS name" or "FAIL name: detail"; the program ends with
// "RESULT: PASS n checks" (status 0) or "RESULT: FAIL k of n checks" (status 1).
package main

import (
	"errors"
	"fmt"
	"os"
	"path"
	"syscall"
	"unsafe"
)

//go:wasmimport wasi_snapshot_preview1 fd_prestat_get
func fdPrestatGet(fd int32, buf unsafe.Pointer) uint32

//go:wasmimport wasi_snapshot_preview1 fd_prestat_dir_name
func fdPrestatDirName(fd int32, buf unsafe.Pointer, n uint32) uint32

//go:wasmimport wasi_snapshot_preview1 path_open
func pathOpen(fd int32, dirflags uint32, path unsafe.Pointer, pathLen uint32, oflags uint32,
	rightsBase uint64, rightsInheriting uint64, fdflags uint32, newFD unsafe.Pointer) uint32

//go:wasmimport wasi_snapshot_preview1 path_symlink
func pathSymlink(target unsafe.Pointer, targetLen uint32, fd int32, path unsafe.Pointer, pathLen uint32) uint32

//go:wasmimport wasi_snapshot_preview1 path_filestat_get
func pathFilestatGet(fd int32, flags uint32, path unsafe.Pointer, pathLen uint32, stat unsafe.Pointer) uint32

//go:wasmimport wasi_snapshot_preview1 fd_read
func fdRead(fd int32, iovs unsafe.Pointer, n uint32, nread unsafe.Pointer) uint32

//go:wasmimport wasi_snapshot_preview1 fd_write
func fdWrite(fd int32, iovs unsafe.Pointer, n uint32, nwritten unsafe.Pointer) uint32

//go:wasmimport wasi_snapshot_preview1 fd_fdstat_get
func fdFdstatGet(fd int32, stat unsafe.Pointer) uint32

//go:wasmimport wasi_snapshot_preview1 fd_fdstat_set_rights
func fdFdstatSetRights(fd int32, base, inheriting uint64) uint32

//go:wasmimport wasi_snapshot_preview1 fd_close
func fdClose(fd int32) uint32

// WASI numbers.
const (
	errBadf       = 8
	errNotcapable = 76

	rightFdRead              = 1 << 1
	rightFdWrite             = 1 << 6
	rightPathCreateDirectory = 1 << 9
)

var checks, failures int

func check(ok bool, name, detail string) {
	checks++
	if ok {
		fmt.Printf("PASS %s\n", name)
	} else {
		failures++
		fmt.Printf("FAIL %s: %s\n", name, detail)
	}
}

func checkErrno(got, want uint32, name string) {
	check(got == want, name, fmt.Sprintf("errno %d, want %d", got, want))
}

func ptr(s string) (unsafe.Pointer, uint32) {
	b := []byte(s)
	if len(b) == 0 {
		b = []byte{0}
		return unsafe.Pointer(&b[0]), 0
	}
	return unsafe.Pointer(&b[0]), uint32(len(s))
}

func open(dir int32, p string, base uint64) (int32, uint32) {
	pp, n := ptr(p)
	var fd int32
	e := pathOpen(dir, 1, pp, n, 0, base, 0, 0, unsafe.Pointer(&fd))
	return fd, e
}

func stat(dir int32, p string) uint32 {
	pp, n := ptr(p)
	var st [64]byte
	return pathFilestatGet(dir, 1, pp, n, unsafe.Pointer(&st[0]))
}

func symlink(target string, dir int32, p string) uint32 {
	tp, tn := ptr(target)
	pp, n := ptr(p)
	return pathSymlink(tp, tn, dir, pp, n)
}

func rw(write bool, fd int32, b []byte) uint32 {
	iov := [2]uint32{uint32(uintptr(unsafe.Pointer(&b[0]))), uint32(len(b))}
	var n uint32
	if write {
		return fdWrite(fd, unsafe.Pointer(&iov[0]), 1, unsafe.Pointer(&n))
	}
	return fdRead(fd, unsafe.Pointer(&iov[0]), 1, unsafe.Pointer(&n))
}

func rights(fd int32) (base, inheriting uint64) {
	var st [24]byte
	fdFdstatGet(fd, unsafe.Pointer(&st[0]))
	return *(*uint64)(unsafe.Pointer(&st[8])), *(*uint64)(unsafe.Pointer(&st[16]))
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: strict A B")
		os.Exit(2)
	}
	a, b := os.Args[1], os.Args[2]

	// The preopens, from fd 3, by guest path; nothing after them.
	for i, want := range []string{a, b} {
		fd := int32(3 + i)
		var ps [8]byte
		e := fdPrestatGet(fd, unsafe.Pointer(&ps[0]))
		name := make([]byte, 256)
		n := *(*uint32)(unsafe.Pointer(&ps[4]))
		if e == 0 && n < 256 {
			e = fdPrestatDirName(fd, unsafe.Pointer(&name[0]), n)
		}
		check(e == 0 && string(name[:n]) == want, fmt.Sprintf("preopen fd %d", fd), fmt.Sprintf("errno %d, name %q, want %q", e, name[:n], want))
	}
	var ps [8]byte
	checkErrno(fdPrestatGet(5, unsafe.Pointer(&ps[0])), errBadf, "no third preopen")

	// Package os over the preopens.
	err := os.WriteFile(path.Join(a, "f.txt"), []byte("in a"), 0o644)
	check(err == nil, "os.WriteFile a/f.txt", fmt.Sprint(err))
	err = os.WriteFile(path.Join(b, "g.txt"), []byte("in b"), 0o644)
	check(err == nil, "os.WriteFile b/g.txt", fmt.Sprint(err))
	data, err := os.ReadFile(path.Join(b, "g.txt"))
	check(err == nil && string(data) == "in b", "os.ReadFile b/g.txt", fmt.Sprint(string(data), err))
	err = os.Mkdir(path.Join(a, "sub"), 0o755)
	check(err == nil, "os.Mkdir a/sub", fmt.Sprint(err))
	entries, err := os.ReadDir(b)
	check(err == nil && len(entries) == 1 && entries[0].Name() == "g.txt", "os.ReadDir b", fmt.Sprint(entries, err))

	// Leaving a preopen.
	_, e := open(3, "../g.txt", rightFdRead)
	checkErrno(e, errNotcapable, "open a/..")
	_, e = open(3, "sub/../../"+path.Base(b)+"/g.txt", rightFdRead)
	checkErrno(e, errNotcapable, "open a/sub/../../b/g.txt")
	_, e = open(3, "/f.txt", rightFdRead)
	checkErrno(e, errNotcapable, "open an absolute path")
	checkErrno(stat(3, ".."), errNotcapable, "stat a/..")
	checkErrno(stat(3, "sub/../f.txt"), 0, "stat a/sub/../f.txt stays inside")

	// Symlinks.
	checkErrno(symlink("/etc/passwd", 3, "abs"), errNotcapable, "symlink with an absolute target")
	err = os.Symlink("..", path.Join(a, "up"))
	check(err == nil, "os.Symlink a/up -> ..", fmt.Sprint(err))
	_, err = os.ReadFile(path.Join(a, "up", "f.txt"))
	check(errors.Is(err, syscall.ENOTCAPABLE), "os.ReadFile through a/up", fmt.Sprint(err))
	target, err := os.Readlink(path.Join(a, "up"))
	check(err == nil && target == "..", "os.Readlink a/up", fmt.Sprint(target, err))

	// Rights on a file.
	fd, e := open(3, "f.txt", rightFdRead)
	checkErrno(e, 0, "open a/f.txt with FD_READ only")
	buf := make([]byte, 4)
	checkErrno(rw(false, fd, buf), 0, "read with FD_READ")
	checkErrno(rw(true, fd, buf), errNotcapable, "write without FD_WRITE")
	base, _ := rights(fd)
	checkErrno(fdFdstatSetRights(fd, base|rightFdWrite, 0), errNotcapable, "rights cannot be raised")
	checkErrno(fdFdstatSetRights(fd, base&^rightFdRead, 0), 0, "drop FD_READ")
	checkErrno(rw(false, fd, buf), errNotcapable, "read without FD_READ")
	fdClose(fd)

	// Rights on a preopen: without PATH_CREATE_DIRECTORY, os.Mkdir fails; the other preopen
	// is unaffected.
	base, inh := rights(3)
	checkErrno(fdFdstatSetRights(3, base&^rightPathCreateDirectory, inh), 0, "drop PATH_CREATE_DIRECTORY of fd 3")
	err = os.Mkdir(path.Join(a, "d2"), 0o755)
	check(errors.Is(err, syscall.ENOTCAPABLE), "os.Mkdir without PATH_CREATE_DIRECTORY", fmt.Sprint(err))
	err = os.Mkdir(path.Join(b, "d2"), 0o755)
	check(err == nil, "os.Mkdir in the other preopen", fmt.Sprint(err))

	if failures > 0 {
		fmt.Printf("RESULT: FAIL %d of %d checks\n", failures, checks)
		os.Exit(1)
	}
	fmt.Printf("RESULT: PASS %d checks\n", checks)
}
