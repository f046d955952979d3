// Command gobench is the benchmark suite's workloads as a Go program: the same phases, sizes and
// output as bench.py, with almost no interpreter between the workload and the WASI calls. The
// suite builds it twice: GOOS=wasip1 GOARCH=wasm for the WebAssembly configurations, and for the
// host for the native ones.
//
//	gobench DIR [key=value ...]
//
// The parameters are bench.py's (see its doc string), except that the sqlite group does not
// exist here: no SQLite builds for GOOS=wasip1 without cgo, so the SQLite phases are Python-only.
// Each measured phase prints one JSON line: {"phase": "...", "s": seconds, "ops": n, "bytes": n}.
// Any failure exits with status 1 and a message on stderr.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

type params struct {
	groups               []string
	seq, small, appends  int64
	dirs, files, renames int64
	rsize, rops          int64
	inserts, commits     int64 // accepted for bench.py compatibility, unused
}

func main() {
	if len(os.Args) < 2 {
		fail("usage: gobench DIR [key=value ...]")
	}
	dir := os.Args[1]
	check(os.MkdirAll(dir, 0o755))
	p := params{
		groups: strings.Split("seq,small,append,tree,rename,random", ","),
		seq:    64 << 20, small: 5000, appends: 500, dirs: 200, files: 20, renames: 2000,
		rsize: 256 << 20, rops: 20000, inserts: 20000, commits: 500,
	}
	for _, kv := range os.Args[2:] {
		k, v, _ := strings.Cut(kv, "=")
		if k == "groups" {
			p.groups = strings.Split(v, ",")
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			fail("bad parameter " + kv)
		}
		switch k {
		case "seq":
			p.seq = n
		case "small":
			p.small = n
		case "appends":
			p.appends = n
		case "dirs":
			p.dirs = n
		case "files":
			p.files = n
		case "renames":
			p.renames = n
		case "rsize":
			p.rsize = n
		case "rops":
			p.rops = n
		case "inserts":
			p.inserts = n
		case "commits":
			p.commits = n
		default:
			fail("unknown parameter " + k)
		}
	}
	for _, g := range p.groups {
		switch g {
		case "seq":
			seq(dir, &p)
		case "small":
			small(dir, &p)
		case "append":
			appendFsync(dir, &p)
		case "tree":
			tree(dir, &p)
		case "rename":
			rename(dir, &p)
		case "random":
			random(dir, &p)
		case "sqlite":
			// Python only: see the package doc.
		default:
			fail("unknown group " + g)
		}
	}
}

var out = json.NewEncoder(os.Stdout)

func emit(phase string, d time.Duration, ops, bytes int64) {
	out.Encode(struct {
		Phase string  `json:"phase"`
		S     float64 `json:"s"`
		Ops   int64   `json:"ops"`
		Bytes int64   `json:"bytes"`
	}{phase, d.Seconds(), ops, bytes})
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "gobench:", msg)
	os.Exit(1)
}

func check(err error) {
	if err != nil {
		fail(err.Error())
	}
}

func fill(n int, b byte) []byte {
	buf := make([]byte, n)
	for i := range buf {
		buf[i] = b
	}
	return buf
}

func seq(dir string, p *params) {
	path := filepath.Join(dir, "seq.dat")
	for _, c := range []struct {
		size int
		tag  string
	}{{1 << 20, "1m"}, {4096, "4k"}} {
		buf := fill(c.size, 0xa5)
		n := p.seq / int64(c.size)
		for _, durable := range []bool{false, true} {
			t0 := time.Now()
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
			check(err)
			for range n {
				_, err := f.Write(buf)
				check(err)
			}
			if durable {
				check(f.Sync())
			}
			check(f.Close())
			d := time.Since(t0)
			name := "seq_write_" + c.tag
			if durable {
				name += "_fsync"
			}
			emit(name, d, n, n*int64(c.size))
			if !durable {
				t0 = time.Now()
				f, err := os.Open(path)
				check(err)
				var got int64
				for {
					k, err := f.Read(buf)
					got += int64(k)
					if err == io.EOF {
						break
					}
					check(err)
				}
				check(f.Close())
				d := time.Since(t0)
				if got != n*int64(c.size) {
					fail(fmt.Sprintf("seq read %d bytes, want %d", got, n*int64(c.size)))
				}
				emit("seq_read_"+c.tag, d, n, got)
			}
			check(os.Remove(path))
		}
	}
}

func small(dir string, p *params) {
	sd := filepath.Join(dir, "small")
	check(os.Mkdir(sd, 0o755))
	data := fill(1024, 's')
	paths := make([]string, p.small)
	for i := range paths {
		paths[i] = filepath.Join(sd, fmt.Sprintf("f%06d", i))
	}
	n := int64(len(paths))

	t0 := time.Now()
	for _, path := range paths {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		check(err)
		_, err = f.Write(data)
		check(err)
		check(f.Close())
	}
	emit("small_create", time.Since(t0), n, n*int64(len(data)))

	t0 = time.Now()
	for _, path := range paths {
		fi, err := os.Stat(path)
		check(err)
		if fi.Size() != int64(len(data)) {
			fail("bad size for " + path)
		}
	}
	emit("small_stat", time.Since(t0), n, 0)

	const lists = 10
	t0 = time.Now()
	for range lists {
		f, err := os.Open(sd)
		check(err)
		names, err := f.Readdirnames(-1)
		check(err)
		check(f.Close())
		if int64(len(names)) != n {
			fail(fmt.Sprintf("listed %d entries, want %d", len(names), n))
		}
	}
	emit("small_list", time.Since(t0), lists*n, 0)

	buf := make([]byte, 4096)
	t0 = time.Now()
	for _, path := range paths {
		f, err := os.Open(path)
		check(err)
		k, err := f.Read(buf)
		check(err)
		check(f.Close())
		if k != len(data) {
			fail("short read of " + path)
		}
	}
	emit("small_read", time.Since(t0), n, n*int64(len(data)))

	t0 = time.Now()
	for _, path := range paths {
		check(os.Remove(path))
	}
	emit("small_delete", time.Since(t0), n, 0)
	check(os.Remove(sd))
}

func appendFsync(dir string, p *params) {
	path := filepath.Join(dir, "append.log")
	line := []byte("an appended line of a log, followed by an fsync\n")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	check(err)
	t0 := time.Now()
	for range p.appends {
		_, err := f.Write(line)
		check(err)
		check(f.Sync())
	}
	d := time.Since(t0)
	check(f.Close())
	fi, err := os.Stat(path)
	check(err)
	if fi.Size() != p.appends*int64(len(line)) {
		fail("append: wrong size")
	}
	emit("append_fsync", d, p.appends, p.appends*int64(len(line)))
	check(os.Remove(path))
}

func tree(dir string, p *params) {
	top := filepath.Join(dir, "tree")
	data := fill(100, 't')
	ops := p.dirs * (p.files + 1)
	t0 := time.Now()
	check(os.Mkdir(top, 0o755))
	for i := range p.dirs {
		sub := filepath.Join(top, fmt.Sprintf("d%04d", i))
		check(os.Mkdir(sub, 0o755))
		for j := range p.files {
			f, err := os.OpenFile(filepath.Join(sub, fmt.Sprintf("f%03d", j)), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
			check(err)
			_, err = f.Write(data)
			check(err)
			check(f.Close())
		}
	}
	emit("tree_create", time.Since(t0), ops, 0)

	t0 = time.Now()
	var count, total int64
	check(filepath.WalkDir(top, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := os.Lstat(path)
		if err != nil {
			return err
		}
		total += fi.Size()
		count++
		return nil
	}))
	emit("tree_walk", time.Since(t0), ops, 0)
	if count != p.dirs*p.files || total != count*int64(len(data)) {
		fail(fmt.Sprintf("tree: walked %d files", count))
	}

	t0 = time.Now()
	check(os.RemoveAll(top))
	emit("tree_remove", time.Since(t0), ops, 0)
}

func rename(dir string, p *params) {
	target := filepath.Join(dir, "state.json")
	tmp := target + ".tmp"
	data := fill(256, 'r')
	t0 := time.Now()
	for range p.renames {
		f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
		check(err)
		_, err = f.Write(data)
		check(err)
		check(f.Close())
		check(os.Rename(tmp, target))
	}
	emit("rename", time.Since(t0), p.renames, 0)
	check(os.Remove(target))
}

// lcg is bench.py's generator, so both guests touch the same blocks in the same order.
func lcg(x uint64) uint64 { return x*6364136223846793005 + 1442695040888963407 }

func random(dir string, p *params) {
	path := filepath.Join(dir, "random.dat")
	chunk := fill(1<<20, 0x5a)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	check(err)
	for range p.rsize / int64(len(chunk)) {
		_, err := f.Write(chunk)
		check(err)
	}
	check(f.Sync()) // set-up: every configuration starts from the file on its storage
	blocks := uint64(p.rsize / 4096)

	buf := make([]byte, 4096)
	x := uint64(1)
	t0 := time.Now()
	for range p.rops {
		x = lcg(x)
		k, err := f.ReadAt(buf, int64((x>>33)%blocks*4096))
		check(err)
		if k != 4096 {
			fail("random read: short read")
		}
	}
	emit("random_read", time.Since(t0), p.rops, p.rops*4096)

	for i := range buf {
		buf[i] = 0xc3
	}
	t0 = time.Now()
	for range p.rops {
		x = lcg(x)
		_, err := f.WriteAt(buf, int64((x>>33)%blocks*4096))
		check(err)
	}
	emit("random_write", time.Since(t0), p.rops, p.rops*4096)
	check(f.Close())
	check(os.Remove(path))
}
