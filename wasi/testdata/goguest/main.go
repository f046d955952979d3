// Command goguest is a Go (GOOS=wasip1) test guest for package wasi: it exercises what Go's
// os package asks of WASI (its own path_open rights, directory reads through fd_readdir,
// os.Open of a directory without O_DIRECTORY, a read-only mount, time.Sleep through
// poll_oneoff, stdin) and prints one line per step. wasi's TestGoGuest checks the output.
package main

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"
	"time"
)

func main() {
	step := func(name string, err error) {
		if err != nil {
			fmt.Printf("%s: %v\n", name, err)
		} else {
			fmt.Printf("%s: ok\n", name)
		}
	}
	step("mkdir", os.MkdirAll("/rw/a/b", 0o755))
	step("write", os.WriteFile("/rw/a/b/f.txt", []byte("payload"), 0o644))
	b, err := os.ReadFile("/rw/a/b/f.txt")
	step("read "+string(b), err)
	entries, err := os.ReadDir("/rw/a")
	names := []string{}
	for _, e := range entries {
		names = append(names, e.Name()+map[bool]string{true: "/", false: ""}[e.IsDir()])
	}
	step("readdir "+strings.Join(names, ","), err)
	// os.Open on a directory (Go asks for rights including fd_filestat_set_size).
	d, err := os.Open("/ro")
	step("open dir", err)
	if err == nil {
		n, err := d.Readdirnames(-1)
		sort.Strings(n)
		step("readdirnames "+strings.Join(n, ","), err)
		d.Close()
	}
	// A read-only mount: reading works, writing is EROFS.
	b, err = os.ReadFile("/ro/hello.txt")
	step("read ro "+string(b), err)
	f, err := os.Open("/ro/hello.txt")
	step("open ro file", err)
	if err == nil {
		f.Close()
	}
	err = os.WriteFile("/ro/new.txt", []byte("x"), 0o644)
	step("write ro", err)
	step("rename", os.Rename("/rw/a/b/f.txt", "/rw/a/g.txt"))
	st, err := os.Stat("/rw/a/g.txt")
	if err == nil {
		step(fmt.Sprintf("stat size=%d", st.Size()), nil)
	}
	_, err = os.Stat("/rw/a/b/f.txt")
	step("stat gone "+fmt.Sprint(errors.Is(err, fs.ErrNotExist)), nil)
	step("removeall", os.RemoveAll("/rw/a"))
	start := time.Now()
	time.Sleep(20 * time.Millisecond)
	step(fmt.Sprint("sleep ", time.Since(start) >= 20*time.Millisecond), nil)
	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	step("stdin "+strings.TrimSpace(line), err)
	os.Exit(3)
}
