package run

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wasmrun/wasmrun/internal/guests"
	"github.com/wasmrun/wasmrun/internal/powercut"
	"github.com/wasmrun/wasmrun/stable"
	"github.com/wasmrun/wasmrun/vfs"
	"github.com/wasmrun/wasmrun/vfs/iofs"
)

// The power-cut campaign (issue 13): the process crash test of crash_test.go with the store on a
// power-cut filesystem (internal/powercut), so that each kill is a power cut: the filesystem is
// frozen at a random moment, wasmrun killed, and every write and directory change not made
// durable by an fsync dropped (or, in a torn cut, a random part of them) before the store is
// reopened and checked. A SIGKILL leaves the page cache behind and so proves nothing about
// fsync; this does.
//
// Besides the guests' runs, one round in four cuts the power during another durability step:
// wasmrun fs compact (a new store file renamed over the old one), wasmrun fs backup (a copy,
// synced, renamed into place), or a guest that writes without fsync and exits (the exit commit).
//
// POWERCUT_ITERS sets the number of guest rounds per guest (default 36 for the Go guest, 8 for
// python.wasm: about 55 cuts with the maintenance rounds; POWERCUT_ITERS_GO and
// POWERCUT_ITERS_PY set one guest's); POWERCUT_SEED replays a run's choices
// (flags, delays, which cuts are torn and what they keep; the seed is printed by every run),
// though not the scheduling of the processes. make powercut runs the full campaign.

// powerCut is the power-cut filesystem a campaign's store lives on, mounted for one round at a
// time and cut at the end of each.
type powerCut struct {
	backing, mnt string
	fs           *powercut.FS
	cuts, torn   int
	opCuts       int             // cuts at a drawn operation (the others at a drawn time)
	maxOps       int64           // the most operations a round made before its cut
	dropped      powercut.Counts // summed over the cuts
	steps        map[string]int  // maintenance rounds by step
	stepTime     map[string]time.Duration
}

// init makes the backing directory and the mount point under dir.
func (pc *powerCut) init(t *testing.T, dir string) {
	t.Helper()
	powercut.Require(t)
	pc.backing, pc.mnt = filepath.Join(dir, "disk"), filepath.Join(dir, "mnt")
	pc.steps, pc.stepTime = map[string]int{}, map[string]time.Duration{}
	for _, d := range []string{pc.backing, pc.mnt} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		if pc.fs != nil {
			pc.fs.Unmount()
		}
	})
}

func (pc *powerCut) mount(t *testing.T) {
	t.Helper()
	f, err := powercut.Mount(pc.backing, pc.mnt)
	if err != nil {
		t.Fatal(err)
	}
	pc.fs = f
}

// cut cuts the power (the filesystem must be frozen and its processes dead): half the cuts are
// torn.
func (pc *powerCut) cut(t *testing.T, rng *rand.Rand, what string) {
	t.Helper()
	var opts powercut.CutOptions
	tornSeed := rng.Uint64()
	if rng.IntN(2) == 0 {
		opts.Torn = rand.New(rand.NewPCG(tornSeed, 0x746f726e))
		pc.torn++
	}
	pc.maxOps = max(pc.maxOps, pc.fs.Ops())
	c, err := pc.fs.Cut(opts)
	pc.fs = nil
	if err != nil {
		t.Fatalf("%s: the power cut failed: %v", what, err)
	}
	pc.cuts++
	pc.dropped.DroppedWrites += c.DroppedWrites
	pc.dropped.DroppedBytes += c.DroppedBytes
	pc.dropped.DroppedDirChanges += c.DroppedDirChanges
	pc.dropped.KeptWrites += c.KeptWrites
	pc.dropped.KeptDirChanges += c.KeptDirChanges
	pc.dropped.FileSyncs += c.FileSyncs
	pc.dropped.DirSyncs += c.DirSyncs
}

// summary is the campaign's line about what the cuts dropped: a campaign whose cuts drop
// nothing proves nothing.
func (pc *powerCut) summary() string {
	return fmt.Sprintf("%d power cuts (%d torn, %d at a drawn operation of up to %d; maintenance rounds %v): %d unsynced writes dropped (%d bytes), %d kept by torn cuts; %d directory changes dropped, %d kept; %d file and %d directory fsyncs seen",
		pc.cuts, pc.torn, pc.opCuts, pc.maxOps, pc.steps, pc.dropped.DroppedWrites, pc.dropped.DroppedBytes, pc.dropped.KeptWrites,
		pc.dropped.DroppedDirChanges, pc.dropped.KeptDirChanges, pc.dropped.FileSyncs, pc.dropped.DirSyncs)
}

// exitScript writes /exit/<name> with data derived from name, never syncs, and exits: the exit
// commit must make it durable (and the store's creation before it).
const exitScript = `
import os, sys, hashlib
name = sys.argv[1]
os.makedirs('/exit', exist_ok=True)
data = (hashlib.sha256(name.encode()).hexdigest() * 4000)[:int(sys.argv[2])]
with open('/exit/' + name, 'w') as f:
    f.write(data)
print('WROTE', name, flush=True)
`

func exitData(name string, n int) []byte {
	return crashPayload(name, n) // the hex SHA-256 of name, repeated
}

// maintain runs one more durability step on the store through the mount and cuts the power at
// a random moment during it (or after it ended): a compaction, a backup, or a guest's exit
// commit. The step's outcome, as far as it was reported before the cut, must survive it.
func (pc *powerCut) maintain(t *testing.T, m *crashModel, rng *rand.Rand, store, what string) {
	t.Helper()
	step := []string{"compact", "backup", "exit"}[rng.IntN(3)]
	pc.steps[step]++
	what = fmt.Sprintf("%s, then %s", what, step)
	procStore := filepath.Join(pc.mnt, filepath.Base(store))
	backup := filepath.Join(pc.backing, "backup.store")
	exitName := fmt.Sprintf("x%d", pc.cuts)
	exitSize := 1 + rng.IntN(200_000)
	var args []string
	switch step {
	case "compact":
		args = []string{"fs", "--store", procStore, "compact"}
	case "backup":
		args = []string{"fs", "--store", procStore, "backup", filepath.Join(pc.mnt, "backup.store")}
	case "exit":
		// A new store each time: its creation (a file renamed into place, the directory
		// synced) is a durability step too.
		args = []string{"--store", filepath.Join(pc.mnt, exitName+".store"), "--cache-dir", sharedCache(t), python(t), "-c", exitScript, exitName, fmt.Sprint(exitSize)}
	}
	// The cut lands anywhere in twice the time the step took when it last ran whole.
	window := pc.stepTime[step]
	if window == 0 {
		window = 100 * time.Millisecond
	}
	delay := time.Duration(rng.Int64N(int64(2 * window)))

	pc.mount(t)
	cmd := exec.Command(wasmrunBin, args...)
	cmd.Env = testEnv("")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	begin := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var err error
	ended := false
	select {
	case err = <-exited:
		ended = true
		pc.stepTime[step] = time.Since(begin)
	case <-time.After(delay):
	}
	pc.fs.Freeze()
	if !ended {
		cmd.Process.Kill()
		err = <-exited
	}
	pc.cut(t, rng, what)
	done := err == nil
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.Sys().(syscall.WaitStatus).Signaled()) {
		// Not killed: it failed by itself, before the freeze (or because of it: then it must
		// not have reported success).
		t.Logf("%s: wasmrun exited: %v\nstderr:\n%s", what, err, &stderr)
	}

	// The store itself: intact, every durable fact in it.
	m.checkStore(t, store, false, what)
	switch step {
	case "compact":
		if done && !strings.Contains(stdout.String(), "compacted") {
			t.Fatalf("%s: compact exited 0 without saying so: %q", what, stdout.String())
		}
	case "backup":
		// A backup that reported success is there, whole; one cut short is there whole or not at
		// all (it is renamed into place only once synced).
		if _, err := os.Stat(backup); errors.Is(err, fs.ErrNotExist) {
			if done {
				t.Fatalf("%s: backup reported success (%q) and is gone after the cut", what, stdout.String())
			}
		} else {
			m.checkStore(t, backup, true, what+": the backup")
			if err := os.Remove(backup); err != nil {
				t.Fatal(err)
			}
		}
	case "exit":
		if done {
			checkExitFile(t, filepath.Join(pc.backing, exitName+".store"), exitName, exitSize, what)
			m.facts++
		}
	}
}

// checkExitFile checks that /exit/name holds the exit script's data in the store.
func checkExitFile(t *testing.T, store, name string, size int, what string) {
	t.Helper()
	st, err := stable.Open(store, stable.Options{LockTimeout: -1, ReadOnly: true})
	if err != nil {
		t.Fatalf("%s: open: %v", what, err)
	}
	ns := vfs.NewNamespace(st)
	defer ns.Close()
	b, err := fs.ReadFile(iofs.Of(ns), "exit/"+name)
	if err != nil {
		t.Fatalf("%s: the guest exited 0 and its file is gone after the power cut: %v", what, err)
	}
	if !bytes.Equal(b, exitData(name, size)) {
		t.Fatalf("%s: the guest exited 0 and its file holds %d bytes, not the %d it wrote", what, len(b), size)
	}
}

// powerCutLoop runs the campaign for one guest and logs its summary line.
func powerCutLoop(t *testing.T, g crashGuest, iters int) {
	pc := &powerCut{}
	facts := crashLoop(t, g, iters, pc)
	t.Log(pc.summary())
	if pc.dropped.DroppedWrites == 0 {
		t.Fatalf("%s: no cut dropped an unsynced write: the campaign proved nothing", g.name)
	}
	// The line make powercut adds up (see the Makefile).
	t.Logf("powercut: %d cuts, %d durable facts checked, 0 lost, fsck clean", pc.cuts, facts)
}

// TestPowerCutGo cuts the power under wasmrun running the Go guest testdata/guests/go/crashwriter.
func TestPowerCutGo(t *testing.T) {
	t.Parallel()
	wasm := guests.Build(t, "go/crashwriter")
	powerCutLoop(t, crashGuest{
		name: "go",
		argv: func(tag string) []string {
			n := "1000000"
			if strings.HasPrefix(tag, "warm") {
				n = "20"
			}
			return []string{wasm, "/crash", tag, n}
		},
		work: 400 * time.Millisecond,
	}, crashIters(t, "POWERCUT", "GO", 36))
}

// TestPowerCutPython cuts the power under wasmrun running python.wasm with
// testdata/crash/writer.py, which also commits rows to a sqlite3 database.
func TestPowerCutPython(t *testing.T) {
	t.Parallel()
	py := python(t)
	script, err := os.ReadFile("../../testdata/crash/writer.py")
	if err != nil {
		t.Fatal(err)
	}
	powerCutLoop(t, crashGuest{
		name:   "py",
		sqlite: true,
		argv: func(tag string) []string {
			n := "1000000"
			if strings.HasPrefix(tag, "warm") {
				n = "20"
			}
			return []string{py, "-c", string(script), "/crash", tag, n}
		},
		work: 800 * time.Millisecond,
	}, crashIters(t, "POWERCUT", "PY", 8))
}
