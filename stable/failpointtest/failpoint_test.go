package failpointtest

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wasmrun/wasmrun/stable"
	"github.com/wasmrun/wasmrun/stable/internal/crashtest"
	"github.com/wasmrun/wasmrun/stable/internal/failpoint"
	"github.com/wasmrun/wasmrun/stable/internal/kv/boltkv"
	"github.com/wasmrun/wasmrun/vfs"
)

var errInjected = errors.New("injected by the test")

// TestInjectedError fails a commit with an error at each failpoint inside the commit, and
// checks that Commit reports EIO, that the changes stay visible and are committed by the next
// commit, and that a store closed while the commit keeps failing holds the last committed
// state. At LogWritten the failed commit's record is whole in the log file: it must never be
// replayed. (AfterCommit and Checkpointed are left out: an error there would come after the
// commit is durable; the crash test covers them.)
func TestInjectedError(t *testing.T) {
	for _, point := range []failpoint.Name{failpoint.BeforeTx, failpoint.BeforePages,
		failpoint.DuringPages, failpoint.BeforeCommit, failpoint.LogWritten} {
		t.Run(string(point), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "fp.store")
			f, err := stable.Open(path, stable.Options{CommitInterval: -1})
			if err != nil {
				t.Fatal(err)
			}
			base := bytes.Repeat([]byte("base "), 5000)
			writeFile(t, f, "a", base)
			writeFile(t, f, "gone", []byte("to be unlinked"))
			must(t, f.Commit(), "commit")

			hits := 0
			failpoint.Set(func(n failpoint.Name) error {
				if n == point {
					hits++
					return errInjected
				}
				return nil
			})
			defer failpoint.Set(nil)
			next := bytes.Repeat([]byte("next "), 7000)
			writeFile(t, f, "a", next)
			writeFile(t, f, "b", []byte("new file"))
			must(t, f.Remove(f.Root(), "gone", false), "unlink")
			if e := f.Commit(); e != vfs.EIO {
				t.Fatalf("Commit with %s failing = %v, want EIO", point, e)
			}
			if hits == 0 {
				t.Fatalf("failpoint %s was never reached", point)
			}
			// The changes are still there for every reader.
			if got := readFile(t, f, "a"); !bytes.Equal(got, next) {
				t.Errorf("after the failed commit, a has %d bytes, want the new %d", len(got), len(next))
			}
			checkFsck(t, f) // the store still holds the base state, consistently

			// Close cannot commit either: the changes are lost, the base state stays.
			if err := f.Close(); err == nil {
				t.Fatalf("Close with %s failing succeeded", point)
			}
			failpoint.Set(nil)
			f, err = stable.Open(path, stable.Options{CommitInterval: -1})
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			checkFsck(t, f)
			if got := readFile(t, f, "a"); !bytes.Equal(got, base) {
				t.Errorf("after reopening, a has %d bytes, want the committed %d", len(got), len(base))
			}
			if _, _, e := f.Lookup(f.Root(), "b"); e != vfs.ENOENT {
				t.Errorf("uncommitted file b: %v, want ENOENT", e)
			}
			if _, _, e := f.Lookup(f.Root(), "gone"); e != vfs.ESUCCESS {
				t.Errorf("uncommitted unlink: %v, want the file still there", e)
			}

			// A failed commit is retried by the next one.
			failpoint.Set(func(n failpoint.Name) error {
				if n == point {
					return errInjected
				}
				return nil
			})
			writeFile(t, f, "a", next)
			if e := f.Commit(); e != vfs.EIO {
				t.Fatalf("Commit = %v, want EIO", e)
			}
			failpoint.Set(nil)
			must(t, f.Commit(), "commit after the failpoint is gone")
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			f, err = stable.Open(path, stable.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := readFile(t, f, "a"); !bytes.Equal(got, next) {
				t.Errorf("after the retried commit, a has %d bytes, want %d", len(got), len(next))
			}
			checkFsck(t, f)
		})
	}
}

// TestCrashAtFailpoint runs the crash workload with one commit per step in a child process
// that kills itself with SIGKILL the n-th time it reaches a failpoint, for each failpoint and a
// few random n. Before the commit is durable the store must hold exactly the steps the child
// reported committed; after it (LogWritten: the record is in the log file, if not yet synced;
// AfterCommit), one more. A checkpoint (Checkpointed) runs in the background after a commit
// that took the log past its limit: the store then holds the steps reported, or one more.
func TestCrashAtFailpoint(t *testing.T) {
	if env := os.Getenv("STABLE_FP_CHILD"); env != "" {
		child(env)
		return
	}
	seed := seedOf(t)
	rng := rand.New(rand.NewPCG(seed, 3))
	tries := 3
	if testing.Short() {
		tries = 1
	}
	for _, point := range failpoint.All {
		t.Run(string(point), func(t *testing.T) {
			for range tries {
				n := 1 + rng.IntN(25)
				path := filepath.Join(t.TempDir(), "crash.store")
				out, stderr, err := runChild(t, fmt.Sprintf("%s|%s|%d|%d", path, point, n, rng.Uint64()))
				var ee *exec.ExitError
				if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
					t.Fatalf("child did not die at %s #%d: %v\n%s", point, n, err, stderr)
				}
				rep := crashtest.ParseReport(out)
				res, err := crashtest.Check(path)
				if err != nil {
					t.Fatalf("killed at %s #%d: %v", point, n, err)
				}
				want := rep.Committed
				switch point {
				case failpoint.LogWritten, failpoint.Checkpointed, failpoint.AfterCommit:
					// The commit's record is in the log file (the page cache keeps what a
					// killed process wrote) or its changes in the bbolt file.
					want++
				}
				t.Logf("killed at %s #%d: %d steps reported committed; store holds %+v", point, n, rep.Committed, res)
				if point == failpoint.Checkpointed && res.Records == rep.Committed && res.State == rep.Committed {
					// Checkpoints run in the background: the kill may come after the last
					// reported step, before the next one's commit.
					want = rep.Committed
				}
				if res.Records != want || res.State != want {
					t.Errorf("killed at %s #%d: store holds %d records and state %d, want exactly %d of each",
						point, n, res.Records, res.State, want)
				}
			}
		})
	}
}

// child is the child process of TestCrashAtFailpoint: env is "path|point|n|seed".
func child(env string) {
	parts := strings.Split(env, "|")
	path, point := parts[0], failpoint.Name(parts[1])
	n, _ := strconv.Atoi(parts[2])
	seed, _ := strconv.ParseUint(parts[3], 10, 64)
	hits := 0
	failpoint.Set(func(p failpoint.Name) error {
		if p == point {
			if hits++; hits == n {
				syscall.Kill(os.Getpid(), syscall.SIGKILL)
				select {} // the signal is on its way
			}
		}
		return nil
	})
	if point == failpoint.Checkpointed {
		boltkv.SetTestCheckpointBytes(32 << 10) // checkpoint every few commits
	}
	f, err := stable.Open(path, stable.Options{CommitInterval: -1, CacheBytes: 1 << 30})
	if err == nil {
		err = crashtest.Run(f, os.Stdout, seed, crashtest.Options{Explicit: true, Steps: 1000})
	}
	fmt.Fprintf(os.Stderr, "child: failpoint %s reached %d times, never %d: %v\n", point, hits, n, err)
	os.Exit(1)
}

func runChild(t *testing.T, env string) (stdout, stderr []byte, err error) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashAtFailpoint$", "-test.count=1")
	cmd.Env = append(os.Environ(), "STABLE_FP_CHILD="+env)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(60*time.Second, func() { cmd.Process.Kill() })
	defer timer.Stop()
	err = cmd.Wait()
	return out.Bytes(), errb.Bytes(), err
}

func seedOf(t *testing.T) uint64 {
	t.Helper()
	seed := rand.Uint64()
	if s := os.Getenv("STABLE_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("STABLE_SEED: %v", err)
		}
	}
	t.Logf("seed %d (replay with STABLE_SEED=%d)", seed, seed)
	return seed
}

func must(t *testing.T, e vfs.Errno, what string) {
	t.Helper()
	if e != vfs.ESUCCESS {
		t.Fatalf("%s: %v", what, e)
	}
}

func writeFile(t *testing.T, f *stable.FS, name string, data []byte) {
	t.Helper()
	ino, _, e := f.Lookup(f.Root(), name)
	if e == vfs.ENOENT {
		ino, e = f.Create(f.Root(), name, vfs.TypeRegular, 0o644, "")
	}
	must(t, e, "create "+name)
	must(t, f.SetAttr(ino, &vfs.Attr{Valid: vfs.AttrSize}), "truncate "+name)
	h, e := f.Open(ino, vfs.OpenWrite)
	must(t, e, "open "+name)
	defer h.Close()
	_, e = h.WriteAt(data, 0)
	must(t, e, "write "+name)
}

func readFile(t *testing.T, f *stable.FS, name string) []byte {
	t.Helper()
	ino, _, e := f.Lookup(f.Root(), name)
	must(t, e, "lookup "+name)
	st, e := f.Stat(ino)
	must(t, e, "stat "+name)
	h, e := f.Open(ino, vfs.OpenRead)
	must(t, e, "open "+name)
	defer h.Close()
	b := make([]byte, st.Size)
	n, e := h.ReadAt(b, 0)
	must(t, e, "read "+name)
	return b[:n]
}

func checkFsck(t *testing.T, f *stable.FS) {
	t.Helper()
	r, err := f.Fsck()
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK() {
		t.Errorf("fsck: %v", r)
	}
}
