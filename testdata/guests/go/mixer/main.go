// Command mixer is the guest of wasmrun's concurrency test (runtime/concurrency_test.go): it
// runs the filesystem operations it reads from stdin, one per line, through package os, and
// prints one result line for each. Sixteen of them run at once on one runtime, each in its own
// directories plus shared append-only logs; the test generates their operations from seeds,
// predicts every result line with a model, and checks the store against the same model.
//
//	usage: mixer < OPERATIONS
//
// Operations (sizes in bytes; TAG is any word without spaces):
//
//	mkdir PATH
//	write PATH TAG SIZE    create or truncate PATH, write SIZE bytes of content(TAG, SIZE)
//	append PATH TAG        open PATH with O_APPEND (creating it) and write the line "TAG\n"
//	rename OLD NEW
//	remove PATH
//	readdir DIR            the names in DIR, sorted, comma-separated
//	read PATH              the SHA-256 of the content, first 16 hex digits
//	fsync PATH             open PATH and fd_sync it
//
// Each result line is "ok", "ok DATA" or "err N" with N the WASI errno. content(TAG, SIZE) is
// "TAG|" repeated and cut to SIZE bytes.
package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"
)

func content(tag string, size int) []byte {
	unit := []byte(tag + "|")
	return bytes.Repeat(unit, size/len(unit)+1)[:size]
}

func result(data string, err error) string {
	if err != nil {
		var e syscall.Errno
		if errors.As(err, &e) {
			return fmt.Sprintf("err %d", uint32(e))
		}
		return "err ? " + strings.ReplaceAll(err.Error(), " ", "_")
	}
	if data != "" {
		return "ok " + data
	}
	return "ok"
}

func do(f []string) string {
	arg := func(i int) string {
		if i < len(f) {
			return f[i]
		}
		return ""
	}
	switch f[0] {
	case "mkdir":
		return result("", os.Mkdir(arg(1), 0o755))
	case "write":
		size, _ := strconv.Atoi(arg(3))
		return result("", os.WriteFile(arg(1), content(arg(2), size), 0o644))
	case "append":
		fd, err := os.OpenFile(arg(1), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return result("", err)
		}
		_, err = fd.Write([]byte(arg(2) + "\n"))
		if cerr := fd.Close(); err == nil {
			err = cerr
		}
		return result("", err)
	case "rename":
		return result("", os.Rename(arg(1), arg(2)))
	case "remove":
		return result("", os.Remove(arg(1)))
	case "readdir":
		es, err := os.ReadDir(arg(1))
		names := make([]string, len(es))
		for i, e := range es {
			names[i] = e.Name()
		}
		sort.Strings(names)
		return result(strings.Join(names, ","), err)
	case "read":
		b, err := os.ReadFile(arg(1))
		if err != nil {
			return result("", err)
		}
		sum := sha256.Sum256(b)
		return result(hex.EncodeToString(sum[:8]), nil)
	case "fsync":
		fd, err := os.OpenFile(arg(1), os.O_RDWR, 0)
		if err != nil {
			return result("", err)
		}
		err = fd.Sync()
		if cerr := fd.Close(); err == nil {
			err = cerr
		}
		return result("", err)
	}
	fmt.Fprintf(os.Stderr, "mixer: unknown operation %q\n", f[0])
	os.Exit(2)
	return ""
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	out := bufio.NewWriter(os.Stdout)
	for in.Scan() {
		if f := strings.Fields(in.Text()); len(f) > 0 {
			fmt.Fprintln(out, do(f))
		}
	}
	fmt.Fprintln(out, "END")
	out.Flush()
}
