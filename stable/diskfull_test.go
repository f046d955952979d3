package stable

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wasmrun/wasmrun/stable/internal/kv"
	"github.com/wasmrun/wasmrun/vfs"
)

// The disk-full tests: a commit that cannot write (disk full, I/O error) fails with ENOSPC or
// EIO, which File.Sync and FS.Commit return (so fd_sync does); the changes stay in the cache,
// visible, and the next commit retries them; when the cache is full of them, writers get the
// error too; Close returns it; and the store, reopened, is the last commit that succeeded and
// passes Fsck. TestDiskFull uses the kv seam (kv.Fault), so it runs everywhere;
// TestDiskFullRlimit and TestDiskFullTmpfs make the operating system fail the writes.

// baseFiles is the committed state every disk-full test starts from.
var baseFiles = map[string][]byte{
	"/keep/a": bytes.Repeat([]byte("committed a "), 10000),
	"/keep/b": []byte("committed b"),
}

func writeBase(t *testing.T, f *FS) {
	t.Helper()
	mkdirT(t, f, "/keep")
	for p, data := range baseFiles {
		writeFileT(t, f, p, data)
	}
	must(t, f.Commit(), "commit the base")
}

// checkBase opens the store at path, checks it with Fsck and checks that it holds the base
// files as committed, and the files in gone not at all.
func checkBase(t *testing.T, path string, gone ...string) *FS {
	t.Helper()
	f := openT(t, path, Options{NoSync: true, CommitInterval: -1})
	t.Cleanup(func() { closeChecked(t, f) })
	checkFsck(t, f)
	for p, data := range baseFiles {
		wantFile(t, f, p, data)
	}
	for _, p := range gone {
		if _, e := walk(t, f, p); e != vfs.ENOENT {
			t.Errorf("%s: %v, want ENOENT (it was never committed)", p, e)
		}
	}
	return f
}

func TestDiskFull(t *testing.T) {
	for _, tc := range []struct {
		name   string
		budget int64 // bytes the store still takes
		err    syscall.Errno
		want   vfs.Errno
		heal   bool // space comes back before Close
	}{
		{"ENOSPC at once", 0, syscall.ENOSPC, vfs.ENOSPC, false},
		{"ENOSPC mid-commit", 300 << 10, syscall.ENOSPC, vfs.ENOSPC, false},
		{"EIO mid-commit", 300 << 10, syscall.EIO, vfs.EIO, false},
		{"ENOSPC then space freed", 300 << 10, syscall.ENOSPC, vfs.ENOSPC, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "full.store")
			fault := new(kv.Fault)
			f := openT(t, path, Options{NoSync: true, CommitInterval: -1, CacheBytes: 2 << 20, fault: fault})
			writeBase(t, f)

			fault.Fail(tc.budget, tc.err)
			big := bytes.Repeat([]byte("uncommitted "), 100000) // 1.2 MB
			ino := writeFileT(t, f, "/new", big)
			h, e := f.Open(ino, vfs.OpenRead|vfs.OpenWrite)
			must(t, e, "open /new")
			defer h.Close()
			writeFileT(t, f, "/keep/a", []byte("changed"))
			must(t, f.Rename(mustIno(t, f, "/keep"), "b", f.Root(), "b2"), "rename")
			if e := h.Sync(false); e != tc.want {
				t.Fatalf("fd_sync with the disk failing = %v, want %v", e, tc.want)
			}
			if e := f.Commit(); e != tc.want {
				t.Fatalf("second commit = %v, want %v", e, tc.want)
			}
			// The changes stay in the cache, visible.
			wantFile(t, f, "/new", big)
			wantFile(t, f, "/keep/a", []byte("changed"))
			wantFile(t, f, "/b2", []byte("committed b"))
			// Writers fill the cache, then get the error of the commit that cannot make room.
			chunk := bytes.Repeat([]byte{'w'}, 64<<10)
			var werr vfs.Errno
			written := int64(len(big))
			for i := 0; i < 200 && werr == vfs.ESUCCESS; i++ {
				var n int
				n, werr = h.WriteAt(chunk, written)
				written += int64(n)
			}
			if werr != tc.want {
				t.Fatalf("writing %d bytes through a 2 MiB cache with the disk failing: %v, want %v", written, werr, tc.want)
			}
			if st := f.Stats(); st.FailedCommits < 3 {
				t.Errorf("%d failed commits, want 3 or more", st.FailedCommits)
			}
			if tc.heal {
				fault.Heal()
				must(t, f.Commit(), "commit once space is back")
				if err := f.Close(); err != nil {
					t.Fatal(err)
				}
				g := checkBaseHealed(t, path)
				if st, e := g.Stat(mustIno(t, g, "/new")); e != vfs.ESUCCESS || st.Size != written {
					t.Errorf("/new: %+v %v, want %d bytes", st, e, written)
				}
				return
			}
			err := f.Close()
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("Close with the disk failing = %v, want %v naming the store", err, tc.want)
			}
			checkBase(t, path, "/new", "/b2")
		})
	}
}

// checkBaseHealed checks the store of a test whose changes were committed in the end.
func checkBaseHealed(t *testing.T, path string) *FS {
	t.Helper()
	f := openT(t, path, Options{NoSync: true, CommitInterval: -1})
	t.Cleanup(func() { closeChecked(t, f) })
	checkFsck(t, f)
	wantFile(t, f, "/keep/a", []byte("changed"))
	wantFile(t, f, "/b2", []byte("committed b"))
	return f
}

// TestDiskFullBackground: background commits (age and size) that fail keep the changes and
// are retried; a Sync reports the error; nothing is lost that was committed.
func TestDiskFullBackground(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bg.store")
	fault := new(kv.Fault)
	f := openT(t, path, Options{NoSync: true, CommitInterval: 5 * time.Millisecond, fault: fault})
	writeBase(t, f)
	fault.Fail(0, syscall.ENOSPC)
	ino := writeFileT(t, f, "/new", []byte("never committed"))
	deadline := time.Now().Add(10 * time.Second)
	for f.Stats().FailedCommits < 2 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := f.Stats().FailedCommits; n < 2 {
		t.Fatalf("%d failed background commits, want retries", n)
	}
	h, _ := f.Open(ino, vfs.OpenRead)
	if e := h.Sync(true); e != vfs.ENOSPC {
		t.Errorf("fd_datasync = %v, want ENOSPC", e)
	}
	h.Close()
	wantFile(t, f, "/new", []byte("never committed"))
	if err := f.Close(); !errors.Is(err, vfs.ENOSPC) {
		t.Errorf("Close = %v, want ENOSPC", err)
	}
	checkBase(t, path, "/new")
}

// fillStore is the workload of the tests where the operating system fails the writes: it
// writes files /fill/0, /fill/1, ... of fillSize bytes each, syncing after each, and reports
// "synced N" after each sync that succeeded, then "failed ERRNO" for the first that did not,
// and "close ERROR" for Close. With free, it first frees space as a guest would after the
// error, in the same FS: it removes the file that did not fit and the first eight, commits,
// and reports "freed ERRNO".
func fillStore(f *FS, free bool, report func(format string, args ...any)) {
	const max = 1000
	ino, e := f.Create(f.Root(), "fill", vfs.TypeDir, 0o755, "")
	if e != vfs.ESUCCESS {
		report("failed %v", e)
		return
	}
	for i := range max {
		n, e := f.Create(ino, strconv.Itoa(i), vfs.TypeRegular, 0o644, "")
		var h vfs.File
		if e == vfs.ESUCCESS {
			h, e = f.Open(n, vfs.OpenWrite)
		}
		if e == vfs.ESUCCESS {
			_, e = h.WriteAt(fillData(i), 0)
			if e == vfs.ESUCCESS {
				e = h.Sync(false)
			}
			h.Close()
		}
		if e != vfs.ESUCCESS {
			report("failed %v", e)
			if free {
				e = f.Remove(ino, strconv.Itoa(i), false)
				for j := 0; j < 8 && e == vfs.ESUCCESS; j++ {
					e = f.Remove(ino, strconv.Itoa(j), false)
				}
				if e == vfs.ESUCCESS {
					e = f.Commit()
				}
				report("freed %v", e)
			}
			break
		}
		report("synced %d", i+1)
	}
	report("close %v", f.Close())
}

const fillSize = 256 << 10

func fillData(i int) []byte { return bytes.Repeat([]byte(fmt.Sprintf("%06d", i)), fillSize/6) }

// checkFilled checks the store at path after fillStore: the base files, the files synced
// (but the first eight if freed), nothing else, and Fsck. It returns the store, open.
func checkFilled(t *testing.T, path string, out string, freed bool) *FS {
	t.Helper()
	synced, failed, closed := 0, "", ""
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		switch {
		case strings.HasPrefix(l, "synced "):
			synced, _ = strconv.Atoi(strings.TrimPrefix(l, "synced "))
		case strings.HasPrefix(l, "failed "):
			failed = strings.TrimPrefix(l, "failed ")
		case strings.HasPrefix(l, "close "):
			closed = strings.TrimPrefix(l, "close ")
		}
	}
	t.Logf("%d files of %d KiB synced, then fd_sync failed with %s; Close: %s", synced, fillSize>>10, failed, closed)
	if synced == 0 || synced == 1000 || (failed != "ENOSPC" && failed != "EIO") {
		t.Fatalf("the store never filled, or the failure was not ENOSPC or EIO:\n%s", out)
	}
	first := 0
	if freed {
		first = 8
		if !strings.Contains(out, "freed ESUCCESS\nclose <nil>\n") {
			t.Errorf("freeing space after the error did not let commits succeed again:\n%s", out)
		}
	} else if !strings.HasPrefix(closed, "stable: close "+path+": commit: "+failed) {
		t.Errorf("Close did not report the failed commit:\n%s", out)
	}
	f := checkBase(t, path)
	names := listT(t, f, "/fill")
	if len(names) != synced-first {
		t.Errorf("%d files in /fill, want the %d synced and kept", len(names), synced-first)
	}
	for i := first; i < synced; i++ {
		wantFile(t, f, fmt.Sprintf("/fill/%d", i), fillData(i))
	}
	return f
}

// TestDiskFullRlimit runs fillStore in a child process whose file size limit (RLIMIT_FSIZE)
// stops the store file 3 MiB past its size: bbolt's writes and its growth fail (EFBIG) inside
// real commits. No privilege is needed.
func TestDiskFullRlimit(t *testing.T) {
	if path := os.Getenv("STABLE_FSIZE_CHILD"); path != "" {
		st, err := os.Stat(path)
		if err == nil {
			lim := uint64(st.Size() + 3<<20)
			err = syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: lim, Max: lim})
		}
		if err != nil {
			fmt.Println("setup:", err)
			os.Exit(1)
		}
		f, err := Open(path, Options{CommitInterval: -1})
		if err != nil {
			fmt.Println("open:", err)
			os.Exit(1)
		}
		fillStore(f, false, func(format string, args ...any) { fmt.Printf(format+"\n", args...) })
		os.Exit(0)
	}
	path := filepath.Join(t.TempDir(), "rlimit.store")
	f := openT(t, path, Options{NoSync: true, CommitInterval: -1})
	writeBase(t, f)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestDiskFullRlimit$", "-test.count=1")
	cmd.Env = append(os.Environ(), "STABLE_FSIZE_CHILD="+path)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	checkFilled(t, path, string(out), false)
}

// TestDiskFullTmpfs runs fillStore on an 8 MiB tmpfs mounted for the test: the real ENOSPC of
// a full file system, after which the guest frees space and commits again in the same FS.
// Mounting needs root (CAP_SYS_ADMIN), which CI has: there (CI=true) a refused mount fails the
// test; elsewhere it skips, TestDiskFull and TestDiskFullRlimit covering the same ground.
func TestDiskFullTmpfs(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=8m"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("mount -t tmpfs: %v (CI runs as root and must run this test)", err)
		}
		t.Skipf("mount -t tmpfs: %v (needs root; TestDiskFull and TestDiskFullRlimit cover this without it)", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("umount %s: %v", dir, err)
		}
	})
	path := filepath.Join(dir, "tmpfs.store")
	f := openT(t, path, Options{CommitInterval: -1})
	writeBase(t, f)
	var out strings.Builder
	fillStore(f, true, func(format string, args ...any) { fmt.Fprintf(&out, format+"\n", args...) })
	f = checkFilled(t, path, out.String(), true)
	// After a reopen on the full file system too, new data fits where files were removed.
	must(t, f.Remove(mustIno(t, f, "/fill"), "8", false), "remove")
	must(t, f.Commit(), "commit a removal")
	writeFileT(t, f, "/fill/again", fillData(1))
	must(t, f.Commit(), "commit a file where the removed ones were")
}
