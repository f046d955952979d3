// Command files is a files workload: it builds a tree of directories and files, renames part of
// it, walks it with filepath.WalkDir checking every file's content, and removes it, the way a
// build tool or a package manager uses a filesystem. It runs in one goroutine, so its result is
// deterministic.
//
//	usage: files WORKDIR [DIRS [FILES]]
//
// It makes DIRS directories (default 20) of FILES files each (default 25) under WORKDIR/tree,
// each file's content derived from its path and a size that varies from 0 to a few pages. Each
// check prints "PASS name" or "FAIL name: detail"; the last line is "RESULT: PASS n checks" or
// "RESULT: FAIL k of n checks", and the exit status is 0 only if every check passed.
package main

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

var checks, failures int

func check(name string, err error) {
	checks++
	if err != nil {
		failures++
		fmt.Printf("FAIL %s: %v\n", name, err)
		return
	}
	fmt.Printf("PASS %s\n", name)
}

// data is the content of the file whose slash path (relative to the tree) is rel: a repeated
// pattern derived from rel, 0 to 3*4096+100 bytes long.
func data(rel string) []byte {
	sum := crc32.ChecksumIEEE([]byte(rel))
	size := int(sum % (3*4096 + 100))
	line := []byte(rel + ":" + strconv.FormatUint(uint64(sum), 16) + "\n")
	return bytes.Repeat(line, size/len(line)+1)[:size]
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: files WORKDIR [DIRS [FILES]]")
		os.Exit(2)
	}
	work := os.Args[1]
	ndirs, nfiles := 20, 25
	if len(os.Args) > 2 {
		ndirs, _ = strconv.Atoi(os.Args[2])
	}
	if len(os.Args) > 3 {
		nfiles, _ = strconv.Atoi(os.Args[3])
	}
	tree := filepath.Join(work, "tree")

	// Create.
	check("create tree", func() error {
		if err := os.MkdirAll(tree, 0o755); err != nil {
			return err
		}
		for d := range ndirs {
			dir := fmt.Sprintf("d%03d/sub", d)
			if err := os.MkdirAll(filepath.Join(tree, dir), 0o755); err != nil {
				return err
			}
			for f := range nfiles {
				rel := fmt.Sprintf("%s/f%03d.dat", dir, f)
				if err := os.WriteFile(filepath.Join(tree, rel), data(rel), 0o644); err != nil {
					return err
				}
			}
		}
		return nil
	}())

	// Rename: every odd directory moves to a new name; every file in even directories gets a
	// ".bak" twin by rename of a fresh copy, replacing nothing.
	renamed := map[string]string{} // new dir name -> old dir name, for content checks
	check("rename directories", func() error {
		for d := 1; d < ndirs; d += 2 {
			oldName, newName := fmt.Sprintf("d%03d", d), fmt.Sprintf("r%03d", d)
			if err := os.Rename(filepath.Join(tree, oldName), filepath.Join(tree, newName)); err != nil {
				return err
			}
			renamed[newName] = oldName
		}
		return nil
	}())
	check("rename files over existing", func() error {
		for d := 0; d < ndirs; d += 2 {
			dir := filepath.Join(tree, fmt.Sprintf("d%03d/sub", d))
			for f := 0; f < nfiles; f += 5 {
				name := filepath.Join(dir, fmt.Sprintf("f%03d.dat", f))
				tmp := name + ".tmp"
				b, err := os.ReadFile(name)
				if err != nil {
					return err
				}
				if err := os.WriteFile(tmp, b, 0o644); err != nil {
					return err
				}
				if err := os.Rename(tmp, name); err != nil { // atomic replace, as editors save
					return err
				}
			}
		}
		return nil
	}())

	// Walk.
	check("walk and verify", func() error {
		var nf, nd int
		err := filepath.WalkDir(tree, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				nd++
				return nil
			}
			nf++
			rel, _ := filepath.Rel(tree, path)
			rel = filepath.ToSlash(rel)
			if strings.HasSuffix(rel, ".tmp") {
				return fmt.Errorf("leftover %s", rel)
			}
			top, rest, _ := strings.Cut(rel, "/")
			if old, ok := renamed[top]; ok {
				top = old
			}
			got, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if want := data(top + "/" + rest); !bytes.Equal(got, want) {
				return fmt.Errorf("%s: %d bytes differ from the %d written", rel, len(got), len(want))
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			if info.Size() != int64(len(got)) {
				return fmt.Errorf("%s: stat size %d, read %d", rel, info.Size(), len(got))
			}
			return nil
		})
		if err != nil {
			return err
		}
		if nf != ndirs*nfiles || nd != 1+2*ndirs {
			return fmt.Errorf("walked %d files and %d directories, want %d and %d", nf, nd, ndirs*nfiles, 1+2*ndirs)
		}
		return nil
	}())

	// Remove: half file by file, the rest with RemoveAll.
	check("remove files one by one", func() error {
		for d := 0; d < ndirs; d += 2 {
			dir := filepath.Join(tree, fmt.Sprintf("d%03d", d))
			ents, err := os.ReadDir(filepath.Join(dir, "sub"))
			if err != nil {
				return err
			}
			for _, e := range ents {
				if err := os.Remove(filepath.Join(dir, "sub", e.Name())); err != nil {
					return err
				}
			}
			if err := os.Remove(filepath.Join(dir, "sub")); err != nil {
				return err
			}
			if err := os.Remove(dir); err != nil {
				return err
			}
		}
		return nil
	}())
	check("RemoveAll", os.RemoveAll(tree))
	check("tree is gone", func() error {
		if _, err := os.Stat(tree); !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("stat after RemoveAll: %v", err)
		}
		return nil
	}())

	if failures > 0 {
		fmt.Printf("RESULT: FAIL %d of %d checks\n", failures, checks)
		os.Exit(1)
	}
	fmt.Printf("RESULT: PASS %d checks\n", checks)
}
