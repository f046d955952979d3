// Command fsops exercises the filesystem through Go's os package, as a Go program built for
// GOOS=wasip1 sees it, in a working directory on one mount and a second directory on another.
//
//	usage: fsops WORKDIR OTHERDIR
//
// Both directories are created if missing and removed at the end. Each check prints "PASS name"
// or "FAIL name: detail"; the last line is "RESULT: PASS n checks" or "RESULT: FAIL k of n
// checks", and the exit status is 0 only if every check passed. It also runs testing/fstest's
// TestFS over os.DirFS of a tree it builds.
package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing/fstest"
	"time"
)

var checks, failures int

func pass(name string) {
	checks++
	fmt.Printf("PASS %s\n", name)
}

func fail(name, format string, args ...any) {
	checks++
	failures++
	fmt.Printf("FAIL %s: %s\n", name, fmt.Sprintf(format, args...))
}

// ok checks that err is nil.
func ok(name string, err error) {
	if err != nil {
		fail(name, "%v", err)
		return
	}
	pass(name)
}

// is checks that err matches target (errors.Is).
func is(name string, err, target error) {
	if !errors.Is(err, target) {
		fail(name, "got %v, want %v", err, target)
		return
	}
	pass(name)
}

// that checks a condition.
func that(name string, cond bool, format string, args ...any) {
	if !cond {
		fail(name, format, args...)
		return
	}
	pass(name)
}

func content(path, want string) error {
	got, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if string(got) != want {
		return fmt.Errorf("%s holds %q, want %q", path, got, want)
	}
	return nil
}

var work, other string

func p(rel string) string { return filepath.Join(work, rel) }

func files() {
	ok("WriteFile", os.WriteFile(p("a.txt"), []byte("alpha"), 0o644))
	ok("ReadFile", content(p("a.txt"), "alpha"))

	f, err := os.OpenFile(p("rw.bin"), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	ok("OpenFile O_CREATE|O_EXCL", err)
	if err != nil {
		return
	}
	_, err = f.WriteString("0123456789")
	ok("File.Write", err)
	off, err := f.Seek(2, io.SeekStart)
	that("File.Seek start", err == nil && off == 2, "off=%d err=%v", off, err)
	buf := make([]byte, 3)
	n, err := f.Read(buf)
	that("File.Read", err == nil && n == 3 && string(buf) == "234", "n=%d err=%v buf=%q", n, err, buf)
	off, err = f.Seek(-1, io.SeekEnd)
	that("File.Seek end", err == nil && off == 9, "off=%d err=%v", off, err)
	_, err = f.WriteAt([]byte("XY"), 4)
	ok("File.WriteAt", err)
	n, err = f.ReadAt(buf, 3)
	that("File.ReadAt", err == nil && n == 3 && string(buf) == "3XY", "n=%d err=%v buf=%q", n, err, buf)
	n, err = f.ReadAt(buf, 100)
	that("File.ReadAt past EOF is io.EOF", n == 0 && err == io.EOF, "n=%d err=%v", n, err)
	ok("File.Truncate grow", f.Truncate(1<<20))
	fi, err := f.Stat()
	that("File.Stat size after grow", err == nil && fi.Size() == 1<<20, "fi=%v err=%v", fi, err)
	big := make([]byte, 4096)
	n, err = f.ReadAt(big, 1<<19)
	that("hole reads as zeros", err == nil && n == len(big) && bytes.Count(big, []byte{0}) == len(big), "n=%d err=%v", n, err)
	ok("File.Truncate shrink", f.Truncate(5))
	ok("File.Sync", f.Sync())
	ok("File.Close", f.Close())
	is("File.Close twice", f.Close(), os.ErrClosed)
	ok("content after truncate", content(p("rw.bin"), "0123X"))

	_, err = os.OpenFile(p("a.txt"), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	is("O_EXCL on existing is ErrExist", err, fs.ErrExist)
	_, err = os.Open(p("missing"))
	is("Open missing is ErrNotExist", err, fs.ErrNotExist)
	_, err = os.Stat(p("missing/deeper"))
	is("Stat under missing is ErrNotExist", err, fs.ErrNotExist)
	_, err = os.Open(p("a.txt/x"))
	is("Open through a file is ENOTDIR", err, syscall.ENOTDIR)

	// Append mode.
	af, err := os.OpenFile(p("a.txt"), os.O_WRONLY|os.O_APPEND, 0)
	if err == nil {
		_, err = af.WriteString("+beta")
		af.Close()
	}
	ok("O_APPEND", err)
	ok("O_APPEND content", content(p("a.txt"), "alpha+beta"))

	// Times.
	when := time.Date(2001, 2, 3, 4, 5, 6, 7000, time.UTC)
	ok("Chtimes", os.Chtimes(p("a.txt"), when, when))
	fi, err = os.Stat(p("a.txt"))
	that("Chtimes mtime", err == nil && fi.ModTime().Equal(when), "mtime=%v err=%v", fi.ModTime(), err)

	// Unlink while open.
	g, err := os.Create(p("ghost"))
	if err == nil {
		g.WriteString("boo")
		err = os.Remove(p("ghost"))
	}
	ok("Remove while open", err)
	if g != nil {
		n, err = g.ReadAt(buf, 0)
		that("read after Remove", n == 3 && string(buf) == "boo", "n=%d err=%v", n, err)
		g.Close()
	}

	ok("Remove", os.Remove(p("rw.bin")))
	ok("Remove", os.Remove(p("a.txt")))
}

func dirs() {
	ok("MkdirAll", os.MkdirAll(p("d1/d2/d3"), 0o755))
	is("Mkdir existing is ErrExist", os.Mkdir(p("d1"), 0o755), fs.ErrExist)
	for i := range 30 {
		os.WriteFile(p(fmt.Sprintf("d1/f%02d", i)), []byte{byte(i)}, 0o644)
	}
	is("Remove non-empty dir is ENOTEMPTY", os.Remove(p("d1/d2")), syscall.ENOTEMPTY)

	// Batched ReadDir uses fd_readdir cookies to continue.
	d, err := os.Open(p("d1"))
	ok("Open directory", err)
	if err == nil {
		var names []string
		for {
			ents, err := d.ReadDir(7)
			for _, e := range ents {
				names = append(names, e.Name())
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				fail("File.ReadDir(7)", "%v", err)
				break
			}
		}
		d.Close()
		slices.Sort(names)
		uniq := slices.Compact(slices.Clone(names))
		that("File.ReadDir in batches sees every entry once", len(names) == 31 && len(uniq) == 31,
			"got %d names: %v", len(names), names)
	}
	ents, err := os.ReadDir(p("d1"))
	that("os.ReadDir sorted", err == nil && len(ents) == 31 && ents[0].Name() == "d2" && ents[1].Name() == "f00", "err=%v n=%d", err, len(ents))

	// Chdir and relative paths.
	wd, _ := os.Getwd()
	ok("Chdir", os.Chdir(p("d1")))
	got, err := os.Getwd()
	that("Getwd", err == nil && got == p("d1"), "got %q err=%v", got, err)
	ok("relative ReadFile", content("f01", "\x01"))
	ok("relative ..", content("../d1/f02", "\x02"))
	os.Chdir(wd)

	tmp, err := os.MkdirTemp(work, "mt-*")
	ok("MkdirTemp", err)
	ft, err := os.CreateTemp(tmp, "ct-*.txt")
	ok("CreateTemp", err)
	if ft != nil {
		ft.Close()
	}
	ok("RemoveAll", os.RemoveAll(p("d1")))
	ok("RemoveAll temp", os.RemoveAll(tmp))
	_, err = os.Stat(p("d1"))
	is("RemoveAll removed", err, fs.ErrNotExist)
}

func renames() {
	os.WriteFile(p("r1"), []byte("one"), 0o644)
	os.WriteFile(p("r2"), []byte("two"), 0o644)
	ok("Rename replaces", os.Rename(p("r1"), p("r2")))
	ok("Rename content", content(p("r2"), "one"))
	os.MkdirAll(p("rd/sub"), 0o755)
	ok("Rename directory", os.Rename(p("rd"), p("rd2")))
	is("Rename dir into itself is EINVAL", os.Rename(p("rd2"), p("rd2/sub/x")), syscall.EINVAL)
	is("Rename across mounts is EXDEV", os.Rename(p("r2"), filepath.Join(other, "r2")), syscall.EXDEV)
	is("Link across mounts is EXDEV", os.Link(p("r2"), filepath.Join(other, "r2")), syscall.EXDEV)
	ok("Link", os.Link(p("r2"), p("r3")))
	a, err1 := os.Stat(p("r2"))
	b, err2 := os.Stat(p("r3"))
	that("Link SameFile", err1 == nil && err2 == nil && os.SameFile(a, b), "%v %v", err1, err2)
	ok("Symlink", os.Symlink("r2", p("s")))
	tgt, err := os.Readlink(p("s"))
	that("Readlink", err == nil && tgt == "r2", "got %q err=%v", tgt, err)
	li, err := os.Lstat(p("s"))
	that("Lstat symlink", err == nil && li.Mode()&fs.ModeSymlink != 0, "mode=%v err=%v", li.Mode(), err)
	ok("read through symlink", content(p("s"), "one"))
	os.Symlink("l2", p("l1"))
	os.Symlink("l1", p("l2"))
	_, err = os.Stat(p("l1"))
	is("symlink loop is ELOOP", err, syscall.ELOOP)
	long := string(bytes.Repeat([]byte("n"), 256))
	is("256-byte name is ENAMETOOLONG", os.WriteFile(p(long), nil, 0o644), syscall.ENAMETOOLONG)
	for _, n := range []string{"r2", "r3", "s", "l1", "l2"} {
		os.Remove(p(n))
	}
	ok("RemoveAll rd2", os.RemoveAll(p("rd2")))
}

func testFS() {
	root := p("fstest")
	want := []string{"a", "b/c", "b/d/e.txt", "f.json"}
	for _, name := range want {
		path := filepath.Join(root, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(path), 0o755)
		os.WriteFile(path, []byte("data of "+name), 0o644)
	}
	ok("fstest.TestFS(os.DirFS)", fstest.TestFS(os.DirFS(root), want...))
	ok("RemoveAll fstest", os.RemoveAll(root))
}

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: fsops WORKDIR OTHERDIR (on another mount)")
		os.Exit(2)
	}
	work, other = os.Args[1], os.Args[2]
	for _, d := range []string{work, other} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			fmt.Printf("FAIL setup: %v\nRESULT: FAIL 1 of 1 checks\n", err)
			os.Exit(1)
		}
	}
	files()
	dirs()
	renames()
	testFS()
	ok("cleanup workdir", os.Remove(work))
	ok("cleanup otherdir", os.Remove(other))
	if failures > 0 {
		fmt.Printf("RESULT: FAIL %d of %d checks\n", failures, checks)
		os.Exit(1)
	}
	fmt.Printf("RESULT: PASS %d checks\n", checks)
}
