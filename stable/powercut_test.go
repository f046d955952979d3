package stable

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wasmrun/wasmrun/internal/powercut"
	"github.com/wasmrun/wasmrun/stable/internal/kv/boltkv"
	"github.com/wasmrun/wasmrun/vfs"
)

// TestPowerCutSteps cuts the power at every operation (every write, truncate, directory change
// and sync the store makes on its filesystem, counted by internal/powercut; at most 30 per step,
// spread evenly) of each durability step of the store: creating it, commits through the log,
// checkpoints, background commits straight into bbolt, the replay of a log after a crash, Close,
// Compact, Backup and the format upgrade. The step runs in a child process (this test, run again)
// on the mount, and reports each commit that returned; at the drawn operation the filesystem
// freezes, the child is killed, and the power cut: half the cuts drop everything unsynced, half
// are torn (a seeded random part kept). The store must then open, pass fsck, hold every file whose
// commit returned, whole, and nothing that was never written. Unlike cmd/run's campaign (random
// moments under real wasmrun processes) it is exhaustive and deterministic: a failure names the
// step and the operation (the operations depend only on the step, save for the timing of the
// store's checkpointer goroutine). (A child, not this process: a store that reads its file
// through mmap on a FUSE mount its own process serves can fault on a page while every thread of
// the runtime waits, and the process then hangs.)
func TestPowerCutSteps(t *testing.T) {
	if name := os.Getenv("STABLE_POWERCUT_STEP"); name != "" {
		powerCutChild(t, name, os.Getenv("STABLE_POWERCUT_DIR"))
		return
	}
	powercut.Require(t)
	t.Parallel()
	for _, st := range powerCutSteps {
		t.Run(st.name, func(t *testing.T) {
			// One run uncut counts the step's operations.
			ops, acked, _ := runCutStep(t, st, 0, nil)
			// Then a cut at each operation (at most 30 of them, spread evenly).
			stride := max(1, ops/30)
			cuts, dropped := 0, int64(0)
			for k := int64(1); k <= ops+1; k += stride {
				var torn *rand.Rand
				if k%2 == 0 {
					torn = rand.New(rand.NewPCG(uint64(k), 1))
				}
				_, _, c := runCutStep(t, st, k, torn)
				dropped += c.DroppedWrites + c.DroppedDirChanges
				cuts++
			}
			t.Logf("%s: %d operations (%d files acknowledged uncut), %d cuts, %d unsynced writes and directory changes dropped", st.name, ops, len(acked), cuts, dropped)
			if dropped == 0 && ops > 3 {
				t.Fatalf("%s: no cut dropped anything: the step proved nothing", st.name)
			}
		})
	}
}

// runCutStep prepares a backing directory for st, mounts it, runs st in a child process with the
// filesystem freezing at operation k (never if 0), kills the child at the freeze, cuts the power
// (torn if torn is not nil; unmounts with no cut if k is 0), and checks the store left. It
// returns the operations the child made, what it acknowledged, and what the cut dropped.
func runCutStep(t *testing.T, st powerCutStep, k int64, torn *rand.Rand) (int64, map[string][]byte, powercut.Counts) {
	t.Helper()
	what := fmt.Sprintf("%s, cut at operation %d", st.name, k)
	if k == 0 {
		what = st.name + ", uncut"
	} else if torn != nil {
		what += " (torn)"
	}
	dir := t.TempDir()
	backing, mnt := filepath.Join(dir, "disk"), filepath.Join(dir, "mnt")
	mkdirs(t, backing, mnt)
	if st.prepare != nil {
		st.prepare(t, backing)
	}
	f, err := powercut.Mount(backing, mnt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Unmount() }) // on failure; after Cut or Unmount, a no-op
	f.FreezeAt(k)
	cmd := exec.Command(os.Args[0], "-test.run=^TestPowerCutSteps$", "-test.count=1")
	cmd.Env = append(os.Environ(), "STABLE_POWERCUT_STEP="+st.name, "STABLE_POWERCUT_DIR="+mnt)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err = <-exited:
	case <-f.Frozen():
		cmd.Process.Kill()
		err = <-exited
	}
	if k == 0 && err != nil {
		t.Fatalf("%s: the step failed: %v\n%s%s", what, err, &stdout, &stderr)
	}
	acked := map[string][]byte{}
	for _, l := range strings.Split(stdout.String(), "\n") {
		if n, ok := strings.CutPrefix(l, "ACK "); ok {
			acked[n] = cutData(n)
		}
	}
	ops := f.Ops()
	var c powercut.Counts
	if k == 0 {
		err = f.Unmount()
	} else {
		c, err = f.Cut(powercut.CutOptions{Torn: torn})
	}
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	checkCutStore(t, backing, st, acked, what)
	return ops, acked, c
}

// powerCutChild runs the step named name on the store in dir, printing "ACK NAME" for each
// acknowledged commit.
func powerCutChild(t *testing.T, name, dir string) {
	for _, st := range powerCutSteps {
		if st.name == name {
			st.run(t, dir, func(n string, _ []byte) { fmt.Printf("ACK %s\n", n) })
			return
		}
	}
	t.Fatalf("no step %q", name)
}

func mkdirs(t *testing.T, dirs ...string) {
	t.Helper()
	for _, d := range dirs {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// cutData is the content of file name of a step: a few pages, derived from the name.
func cutData(name string) []byte {
	n := 3000 + len(name)*7919%60000
	return bytes.Repeat([]byte(name+"."), n/(len(name)+1)+1)[:n]
}

// powerCutStep is one durability step: prepare makes the backing directory's state before it
// (without the power-cut filesystem), run does it on the store at dir/s.store (the mount),
// calling ack for each file whose commit returned, and may names the files it writes, acked or
// not (a file not named by may, prepare's base files or ack must never appear).
type powerCutStep struct {
	name    string
	prepare func(t *testing.T, dir string)
	run     func(t *testing.T, dir string, ack func(name string, data []byte))
	may     []string
	backup  bool // run makes dir/b.store: if acked as "backup", it must be whole
}

// The base store prepare makes for most steps: two files, committed, closed.
var cutBase = []string{"base1", "base2"}

func prepareBase(t *testing.T, dir string) {
	f := openT(t, filepath.Join(dir, "s.store"), Options{CommitInterval: -1})
	for _, n := range cutBase {
		writeFileT(t, f, "/"+n, cutData(n))
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// writeAndCommit writes each file and commits it, acking those whose commit returned. It stops at
// the first failed commit.
func writeAndCommit(t *testing.T, f *FS, ack func(string, []byte), names ...string) bool {
	for _, n := range names {
		writeFileT(t, f, "/"+n, cutData(n))
		if f.Commit() != vfs.ESUCCESS {
			return false
		}
		ack(n, cutData(n))
	}
	return true
}

var powerCutSteps = []powerCutStep{
	{
		name: "create",
		run: func(t *testing.T, dir string, ack func(string, []byte)) {
			f, err := Open(filepath.Join(dir, "s.store"), Options{CommitInterval: -1})
			if err != nil {
				return
			}
			writeAndCommit(t, f, ack, "a", "b")
			f.Close()
		},
		may: []string{"a", "b"},
	},
	{
		// A store created and then written only by background commits (by age: they skip the
		// log, whose first record would sync the directory), then closed: Close returning is
		// the acknowledgement (the exit commit), and the store's name must be durable by then.
		name: "create, background commits only",
		run: func(t *testing.T, dir string, ack func(string, []byte)) {
			f, err := Open(filepath.Join(dir, "s.store"), Options{CommitInterval: time.Millisecond})
			if err != nil {
				return
			}
			writeFileT(t, f, "/a", cutData("a"))
			time.Sleep(50 * time.Millisecond) // for the age trigger to commit it
			if f.Close() == nil {
				ack("a", cutData("a"))
			}
		},
		may: []string{"a"},
	},
	{
		name:    "commits",
		prepare: prepareBase,
		run: func(t *testing.T, dir string, ack func(string, []byte)) {
			f, err := Open(filepath.Join(dir, "s.store"), Options{CommitInterval: -1})
			if err != nil {
				return
			}
			writeAndCommit(t, f, ack, "a", "b", "c")
			f.Close()
		},
		may: []string{"a", "b", "c"},
	},
	{
		name:    "checkpoints",
		prepare: prepareBase,
		run: func(t *testing.T, dir string, ack func(string, []byte)) {
			boltkv.SetTestCheckpointBytes(40 << 10)
			defer boltkv.SetTestCheckpointBytes(0)
			f, err := Open(filepath.Join(dir, "s.store"), Options{CommitInterval: -1})
			if err != nil {
				return
			}
			writeAndCommit(t, f, ack, "a", "bb", "ccc", "dddd", "eeeee", "ffffff")
			f.Close()
		},
		may: []string{"a", "bb", "ccc", "dddd", "eeeee", "ffffff"},
	},
	{
		name:    "background commits",
		prepare: prepareBase,
		run: func(t *testing.T, dir string, ack func(string, []byte)) {
			// A small cache: writes past a quarter of it are committed in the background,
			// straight into bbolt.
			f, err := Open(filepath.Join(dir, "s.store"), Options{CommitInterval: -1, CacheBytes: 256 << 10})
			if err != nil {
				return
			}
			for _, n := range []string{"g1", "g2", "g3", "g4", "g5", "g6"} {
				writeFileT(t, f, "/"+n, cutData(n))
			}
			writeAndCommit(t, f, ack, "h")
			f.Close()
		},
		may: []string{"g1", "g2", "g3", "g4", "g5", "g6", "h"},
	},
	{
		name: "replay after a crash",
		prepare: func(t *testing.T, dir string) {
			// A store whose log holds commits: the files of a store open and synced, copied
			// through the page cache (a crash of the process), then closed.
			prepareBase(t, dir)
			path := filepath.Join(dir, "s.store")
			f := openT(t, path, Options{CommitInterval: -1})
			writeFileT(t, f, "/logged", cutData("logged"))
			if e := f.Commit(); e != vfs.ESUCCESS {
				t.Fatal(e)
			}
			img := map[string][]byte{}
			for _, s := range []string{"", "-wal"} {
				b, err := os.ReadFile(path + s)
				if err != nil {
					t.Fatal(err)
				}
				img[s] = b
			}
			crash(t, f)
			for s, b := range img {
				if err := os.WriteFile(path+s, b, 0o600); err != nil {
					t.Fatal(err)
				}
			}
		},
		run: func(t *testing.T, dir string, ack func(string, []byte)) {
			f, err := Open(filepath.Join(dir, "s.store"), Options{CommitInterval: -1})
			if err != nil {
				return
			}
			writeAndCommit(t, f, ack, "a")
			f.Close()
		},
		may: []string{"logged", "a"},
	},
	{
		name:    "compact",
		prepare: prepareBase,
		run: func(t *testing.T, dir string, ack func(string, []byte)) {
			if _, err := Compact(filepath.Join(dir, "s.store"), CompactOptions{}); err != nil {
				return
			}
			// Commits after the compaction go to the new file: background ones (by age) skip
			// the log, whose first record would sync the directory; Close returning
			// acknowledges them.
			f, err := Open(filepath.Join(dir, "s.store"), Options{CommitInterval: time.Millisecond})
			if err != nil {
				return
			}
			writeFileT(t, f, "/after", cutData("after"))
			time.Sleep(50 * time.Millisecond) // for the age trigger to commit it
			if f.Close() == nil {
				ack("after", cutData("after"))
			}
		},
		may: []string{"after"},
	},
	{
		name:    "backup",
		prepare: prepareBase,
		run: func(t *testing.T, dir string, ack func(string, []byte)) {
			f, err := Open(filepath.Join(dir, "s.store"), Options{ReadOnly: true, LockTimeout: -1})
			if err != nil {
				return
			}
			defer f.Close()
			if _, err := f.Backup(filepath.Join(dir, "b.store"), BackupOptions{}); err == nil {
				ack("backup", nil)
			}
		},
		backup: true,
	},
	{
		name: "format upgrade",
		prepare: func(t *testing.T, dir string) {
			prepareBase(t, dir)
			s, err := openRaw(filepath.Join(dir, "s.store"))
			if err != nil {
				t.Fatal(err)
			}
			rawUpdate(t, s, func(w rawWriter) { w.put(bSuper, keyVersion, []byte{0, 0, 0, 2}) })
		},
		run: func(t *testing.T, dir string, ack func(string, []byte)) {
			f, err := Open(filepath.Join(dir, "s.store"), Options{CommitInterval: -1})
			if err != nil {
				return
			}
			writeAndCommit(t, f, ack, "a", "b")
			f.Close()
		},
		may: []string{"a", "b"},
	},
}

// checkCutStore opens the store the cut left in dir and checks it against what was acked.
func checkCutStore(t *testing.T, dir string, st powerCutStep, acked map[string][]byte, what string) {
	t.Helper()
	path := filepath.Join(dir, "s.store")
	if _, err := os.Stat(path); err != nil {
		if len(acked) > 0 || st.prepare != nil {
			t.Fatalf("%s: the store is gone after the cut (%v); acknowledged: %v", what, err, keys(acked))
		}
		return
	}
	files := checkOneStore(t, path, what)
	allowed := map[string]bool{}
	if st.prepare != nil {
		for _, n := range cutBase {
			allowed[n] = true
			if _, ok := files[n]; !ok {
				t.Fatalf("%s: %s, committed before the step, is gone", what, n)
			}
		}
	}
	for _, n := range st.may {
		allowed[n] = true
	}
	for n, data := range acked {
		if n == "backup" {
			continue
		}
		if _, ok := files[n]; !ok {
			t.Fatalf("%s: %s was acknowledged and is gone after the cut", what, n)
		}
		_ = data
	}
	for n, b := range files {
		if !allowed[n] {
			t.Fatalf("%s: %s is in the store and was never written", what, n)
		}
		if !bytes.Equal(b, cutData(n)) {
			t.Fatalf("%s: %s holds %d bytes, not the %d written", what, n, len(b), len(cutData(n)))
		}
	}
	if st.backup {
		b := filepath.Join(dir, "b.store")
		_, err := os.Stat(b)
		switch {
		case err == nil:
			got := checkOneStore(t, b, what+": the backup")
			for _, n := range cutBase {
				if !bytes.Equal(got[n], cutData(n)) {
					t.Fatalf("%s: the backup lacks %s", what, n)
				}
			}
		case acked["backup"] != nil || hasKey(acked, "backup"):
			t.Fatalf("%s: the backup returned and is gone after the cut: %v", what, err)
		}
	}
}

func hasKey(m map[string][]byte, k string) bool { _, ok := m[k]; return ok }

func keys(m map[string][]byte) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// checkOneStore opens the store at path read-write (replaying its log), runs fsck, and returns
// its root's files.
func checkOneStore(t *testing.T, path, what string) map[string][]byte {
	t.Helper()
	f, err := Open(path, Options{CommitInterval: -1, LockTimeout: -1})
	if err != nil {
		t.Fatalf("%s: the store does not open after the cut: %v", what, err)
	}
	defer f.Close()
	r, err := f.Fsck()
	if err != nil || !r.OK() {
		t.Fatalf("%s: fsck after the cut: %v\n%v", what, err, r)
	}
	files := map[string][]byte{}
	for name := range listT(t, f, "/") {
		if name == "." || name == ".." || strings.HasPrefix(name, ".") {
			continue
		}
		files[name] = readFileT(t, f, "/"+name)
	}
	return files
}
