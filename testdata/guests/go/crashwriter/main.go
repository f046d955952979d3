// Command crashwriter is the Go guest of wasmrun's process crash test (cmd/run/crash_test.go):
// it writes numbered records, fsyncs them, and reports each fsync on stdout, until it is killed.
// testdata/crash/writer.py is the same program in Python; the two write byte-identical data, so
// one checker verifies both.
//
//	usage: crashwriter ROOT TAG MAXRECORDS
//
// Under ROOT/TAG it appends record i (i = 0, 1, ...) to the file log, and for every third record
// it also writes the file rec/NNNNNNNN; every fourth record it replaces ROOT/state with the next
// generation by the atomic rename-over pattern (write state.tmp, fsync, rename). Then it fsyncs
// the log and prints one line per event, each in a single write:
//
//	READY gen=G          started; ROOT/state held generation G (0: no state yet)
//	RENAMED G            state.tmp was renamed over state, holding generation G
//	SYNCED I             fd_sync of the log returned after record I: record I, its rec file
//	                     and every rename reported before are durable
//
// The content of every file is a function of (TAG, i) or of the generation, see record, recFile
// and state, so the checker recomputes what must be there.
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// payload is n bytes derived from key: the hex SHA-256 of key, repeated.
func payload(key string, n int) []byte {
	sum := sha256.Sum256([]byte(key))
	h := []byte(hex.EncodeToString(sum[:]))
	return bytes.Repeat(h, n/len(h)+1)[:n]
}

// record is line i of the log of tag.
func record(tag string, i int) []byte {
	n := 16 + (i*7919)%3000
	head := fmt.Sprintf("%s %08d %05d ", tag, i, n)
	return append(append([]byte(head), payload(tag+":"+strconv.Itoa(i), n)...), '\n')
}

// recFile is the content of rec/NNNNNNNN for record i (a few bytes to several pages).
func recFile(tag string, i int) []byte {
	return payload("rec:"+tag+":"+strconv.Itoa(i), 1000+(i*104729)%40000)
}

// state is the content of ROOT/state at generation g.
func state(g int) []byte {
	n := 100 + (g*7907)%30000
	b := []byte(fmt.Sprintf("STATE %d %d\n", g, n))
	b = append(b, payload("state:"+strconv.Itoa(g), n)...)
	return append(b, fmt.Sprintf("\nEND %d\n", g)...)
}

// readGen returns the generation held in path, 0 if it does not exist.
func readGen(path string) (int, error) {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return 0, nil
	} else if err != nil {
		return 0, err
	}
	var g, n int
	if _, err := fmt.Sscanf(string(b), "STATE %d %d\n", &g, &n); err != nil {
		return 0, fmt.Errorf("%s: bad header: %v", path, err)
	}
	if !bytes.Equal(b, state(g)) {
		return 0, fmt.Errorf("%s: generation %d is not intact (%d bytes)", path, g, len(b))
	}
	return g, nil
}

func say(format string, a ...any) {
	os.Stdout.Write([]byte(fmt.Sprintf(format, a...) + "\n")) // one write per line
}

func die(err error) {
	fmt.Fprintln(os.Stderr, "crashwriter:", err)
	os.Exit(1)
}

// writeFile creates path with data, fsyncs it and closes it.
func writeFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: crashwriter ROOT TAG MAXRECORDS")
		os.Exit(2)
	}
	root, tag := os.Args[1], os.Args[2]
	max, err := strconv.Atoi(os.Args[3])
	if err != nil {
		die(err)
	}
	dir := filepath.Join(root, tag)
	if err := os.MkdirAll(filepath.Join(dir, "rec"), 0o755); err != nil {
		die(err)
	}
	statePath := filepath.Join(root, "state")
	gen, err := readGen(statePath)
	if err != nil {
		die(err)
	}
	say("READY gen=%d", gen)
	log, err := os.OpenFile(filepath.Join(dir, "log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		die(err)
	}
	for i := 0; i < max; i++ {
		if _, err := log.Write(record(tag, i)); err != nil {
			die(err)
		}
		if i%3 == 0 {
			if err := writeFile(filepath.Join(dir, "rec", fmt.Sprintf("%08d", i)), recFile(tag, i)); err != nil {
				die(err)
			}
		}
		renamed := false
		if i%4 == 0 {
			gen++
			tmp := statePath + ".tmp"
			if err := writeFile(tmp, state(gen)); err != nil {
				die(err)
			}
			if err := os.Rename(tmp, statePath); err != nil {
				die(err)
			}
			renamed = true
		}
		if err := log.Sync(); err != nil {
			die(err)
		}
		if renamed {
			say("RENAMED %d", gen)
		}
		say("SYNCED %d", i)
	}
	if err := log.Close(); err != nil {
		die(err)
	}
	say("DONE")
}
