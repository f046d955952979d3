package runtime_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wasmrun/wasmrun/internal/guests"
	wasmrt "github.com/wasmrun/wasmrun/runtime"
	"github.com/wasmrun/wasmrun/stable"
	"github.com/wasmrun/wasmrun/vfs"
	"github.com/wasmrun/wasmrun/vfs/iofs"
)

// The concurrency test (issue 6): sixteen guests (testdata/guests/go/mixer) run at once on one
// Runtime, so over one stable store (/) and one heap (/tmp), mixing creates, overwrites,
// renames, appends, removes, readdir and fsync, each in its own two directories, and all
// appending to one shared log per filesystem. Their operations come from a seed
// (CONCURRENCY_SEED replays a run); a model predicts each guest's every result line and the
// final tree, which is checked through the namespace, and again after the store is closed and
// reopened, with fsck. Every record appended to a shared log must be there exactly once.

const (
	mixGuests = 16
	mixOps    = 300
)

// mixModel is one guest's plan and what it must see.
type mixModel struct {
	ops    []string          // input lines
	want   []string          // the result line of each
	files  map[string][]byte // its own files, by guest path
	shared map[string][]string
}

func mixContent(tag string, size int) []byte {
	unit := []byte(tag + "|")
	return bytes.Repeat(unit, size/len(unit)+1)[:size]
}

func mixSum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:8])
}

// mixPlan generates guest id's operations from seed and runs them on the model.
func mixPlan(seed uint64, id int) *mixModel {
	rng := rand.New(rand.NewPCG(seed, uint64(id)))
	m := &mixModel{files: map[string][]byte{}, shared: map[string][]string{}}
	dirs := []string{fmt.Sprintf("/data/g%02d", id), fmt.Sprintf("/tmp/g%02d", id)}
	logs := []string{"/data/shared.log", "/tmp/shared.log"}
	add := func(want string, op ...string) {
		m.ops = append(m.ops, strings.Join(op, " "))
		m.want = append(m.want, want)
	}
	names := func(dir string) []string {
		var ns []string
		for p := range m.files {
			if path.Dir(p) == dir {
				ns = append(ns, path.Base(p))
			}
		}
		sort.Strings(ns)
		return ns
	}
	pick := func(dir string) string {
		ns := names(dir)
		if len(ns) == 0 {
			return ""
		}
		return dir + "/" + ns[rng.IntN(len(ns))]
	}
	for _, d := range dirs {
		add("ok", "mkdir", d)
	}
	counter := 0
	newName := func(dir, prefix string) string {
		counter++
		return fmt.Sprintf("%s/%s%03d", dir, prefix, counter)
	}
	for k := range mixOps {
		d := dirs[rng.IntN(2)]
		tag := fmt.Sprintf("g%02d-%03d", id, k)
		existing := pick(d)
		r := rng.IntN(100)
		if needsFile := r >= 25 && r < 35 || r >= 60 && r < 78 || r >= 88; needsFile && existing == "" {
			r = 0 // nothing to work on yet: create
		}
		switch {
		case r < 25: // create
			p, size := newName(d, "f"), rng.IntN(20000)
			m.files[p] = mixContent(tag, size)
			add("ok", "write", p, tag, strconv.Itoa(size))
		case r < 35: // overwrite
			size := rng.IntN(20000)
			m.files[existing] = mixContent(tag, size)
			add("ok", "write", existing, tag, strconv.Itoa(size))
		case r < 45: // append to its own file, maybe a new one
			p := existing
			if p == "" || rng.IntN(3) == 0 {
				p = newName(d, "a")
			}
			m.files[p] = append(m.files[p], tag+"\n"...)
			add("ok", "append", p, tag)
		case r < 60: // append to the shared log
			log := logs[rng.IntN(2)]
			m.shared[log] = append(m.shared[log], tag)
			add("ok", "append", log, tag)
		case r < 70: // rename to a new name, or over another of its files
			to := pick(d)
			if to == existing || rng.IntN(2) == 0 {
				to = newName(d, "r")
			}
			m.files[to] = m.files[existing]
			delete(m.files, existing)
			add("ok", "rename", existing, to)
		case r < 73: // rename across filesystems
			other := dirs[0]
			if d == dirs[0] {
				other = dirs[1]
			}
			add("err 75", "rename", existing, other+"/x") // EXDEV
		case r < 78:
			delete(m.files, existing)
			add("ok", "remove", existing)
		case r < 88:
			add(okData(strings.Join(names(d), ",")), "readdir", d)
		case r < 94:
			add("ok "+mixSum(m.files[existing]), "read", existing)
		default:
			add("ok", "fsync", existing)
		}
	}
	for _, d := range dirs {
		add(okData(strings.Join(names(d), ",")), "readdir", d)
	}
	return m
}

// okData is the mixer's result line for a success returning data.
func okData(data string) string {
	if data == "" {
		return "ok"
	}
	return "ok " + data
}

func concurrencySeed(t *testing.T) uint64 {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("CONCURRENCY_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("CONCURRENCY_SEED=%q: %v", s, err)
		}
	}
	t.Logf("seed %d (replay with CONCURRENCY_SEED=%d)", seed, seed)
	return seed
}

// runMixers runs the models' guests at once on r and checks each one's result lines.
// It may run outside the test's goroutine: it reports with t.Error only.
func runMixers(t *testing.T, r *wasmrt.Runtime, m *wasmrt.Module, models []*mixModel) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]string, len(models))
	for id, mm := range models {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var stdout, stderr bytes.Buffer
			code, err := r.Run(context.Background(), m, wasmrt.RunConfig{
				Args:   []string{"mixer"},
				Stdin:  strings.NewReader(strings.Join(mm.ops, "\n") + "\n"),
				Stdout: &stdout,
				Stderr: &stderr,
			})
			if code != 0 || err != nil {
				errs[id] = fmt.Sprintf("guest %d: exit %d, %v\nstderr:\n%s", id, code, err, &stderr)
				return
			}
			got := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
			if len(got) != len(mm.ops)+1 || got[len(got)-1] != "END" {
				errs[id] = fmt.Sprintf("guest %d: %d result lines for %d operations", id, len(got), len(mm.ops))
				return
			}
			for i, op := range mm.ops {
				if got[i] != mm.want[i] {
					errs[id] = fmt.Sprintf("guest %d, operation %d %q: got %q, want %q", id, i, op, got[i], mm.want[i])
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, e := range errs {
		if e != "" {
			t.Error(e)
		}
	}
}

// checkMixTree compares the files of fsys under the guest directories of filesystem prefix
// ("data" or "tmp") with the models, and the shared log there.
func checkMixTree(t *testing.T, fsys fs.FS, prefix string, models []*mixModel) {
	t.Helper()
	for id, mm := range models {
		dir := fmt.Sprintf("%s/g%02d", prefix, id)
		es, err := fs.ReadDir(fsys, dir)
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		var want []string
		for p := range mm.files {
			if strings.HasPrefix(p, "/"+dir+"/") {
				want = append(want, path.Base(p))
			}
		}
		sort.Strings(want)
		var got []string
		for _, e := range es {
			got = append(got, e.Name())
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s holds %v, want %v", dir, got, want)
			continue
		}
		for _, name := range want {
			b, err := fs.ReadFile(fsys, dir+"/"+name)
			if w := mm.files["/"+dir+"/"+name]; err != nil || !bytes.Equal(b, w) {
				t.Errorf("%s/%s: %d bytes (%v), want %d", dir, name, len(b), err, len(w))
			}
		}
	}
	// Every record appended to the shared log is there once, as a whole line.
	want := map[string]int{}
	for _, mm := range models {
		for _, tag := range mm.shared["/"+prefix+"/shared.log"] {
			want[tag]++
		}
	}
	b, err := fs.ReadFile(fsys, prefix+"/shared.log")
	if err != nil {
		t.Fatalf("%s/shared.log: %v", prefix, err)
	}
	got := map[string]int{}
	for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		got[l]++
	}
	for tag, n := range got {
		if want[tag] != n {
			t.Errorf("%s/shared.log: %q appears %d times, want %d", prefix, tag, n, want[tag])
		}
	}
	for tag := range want {
		if got[tag] == 0 {
			t.Errorf("%s/shared.log: %q is missing", prefix, tag)
		}
	}
}

// TestConcurrentGuests is the 16-guest test; run it with -race.
func TestConcurrentGuests(t *testing.T) {
	seed := concurrencySeed(t)
	wasm := readFile(t, guests.Build(t, "go/mixer"))
	models := make([]*mixModel, mixGuests)
	for id := range models {
		models[id] = mixPlan(seed, id)
	}
	store := filepath.Join(t.TempDir(), "root.store")
	// Background commits by age and by size race with the guests' fsyncs and writes.
	root, err := stable.Open(store, stable.Options{CommitInterval: 5 * time.Millisecond, CacheBytes: 256 << 10})
	if err != nil {
		t.Fatal(err)
	}
	r, err := wasmrt.New(context.Background(), wasmrt.Options{Root: root, CacheDir: sharedCacheDir(t)})
	if err != nil {
		t.Fatal(err)
	}
	ns := r.Namespace()
	if e := ns.Mkdir(ns.Root(), "data", 0o755); e != vfs.ESUCCESS {
		t.Fatal(e)
	}
	m, err := r.Compile(context.Background(), wasm)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	runMixers(t, r, m, models)
	took := time.Since(start)
	stats := root.Stats()
	if t.Failed() {
		r.Close(context.Background())
		t.FailNow()
	}
	checkMixTree(t, iofs.Of(ns), "data", models)
	checkMixTree(t, iofs.Of(ns), "tmp", models)
	if err := r.Close(context.Background()); err != nil {
		t.Fatal("Close:", err)
	}

	// The store, reopened: fsck, and the stable half of the model again.
	st, err := stable.Open(store, stable.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rep, err := st.Fsck()
	if err != nil || !rep.OK() {
		t.Fatalf("fsck: %v\n%v", err, rep)
	}
	checkMixTree(t, iofs.Of(vfs.NewNamespace(st)), "data", models)
	t.Logf("%d guests x %d operations in %v; store: %d inodes, %d entries, %d pages; %+v",
		mixGuests, mixOps+4, took.Round(time.Millisecond), rep.Inodes, rep.Entries, rep.Pages, stats)
}

// The two-process lock test runs this test binary again as the second process, with
// lockHelperEnv naming the store the first one holds.
const lockHelperEnv = "WASMRUN_TEST_LOCKED_STORE"

// TestStoreLockedByAnotherProcess: while this process has the store open, with a guest writing
// to it, a second process opening it (read-write through runtime.New, and read-only) gets
// stable.ErrLocked with a message naming the file; the store is unharmed.
func TestStoreLockedByAnotherProcess(t *testing.T) {
	wasm := readFile(t, guests.Build(t, "go/mixer"))
	seed := concurrencySeed(t)
	models := []*mixModel{mixPlan(seed, 0)}
	store := filepath.Join(t.TempDir(), "root.store")
	r, err := wasmrt.New(context.Background(), wasmrt.Options{Store: store, CacheDir: sharedCacheDir(t)})
	if err != nil {
		t.Fatal(err)
	}
	ns := r.Namespace()
	if e := ns.Mkdir(ns.Root(), "data", 0o755); e != vfs.ESUCCESS {
		t.Fatal(e)
	}
	m, err := r.Compile(context.Background(), wasm)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		runMixers(t, r, m, models)
	}()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperLockedStore$", "-test.v")
	cmd.Env = append(os.Environ(), lockHelperEnv+"="+store)
	out, err := cmd.CombinedOutput()
	<-done
	if err != nil {
		t.Fatalf("the second process: %v\n%s", err, out)
	}
	for _, want := range []string{
		"runtime.New: ErrLocked: open " + store + ": store is in use by another process",
		"stable.Open read-only: ErrLocked: open " + store + ": store is in use by another process",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the second process did not report %q:\n%s", want, out)
		}
	}
	checkMixTree(t, iofs.Of(ns), "data", models)
	if err := r.Close(context.Background()); err != nil {
		t.Fatal("Close:", err)
	}
	st, err := stable.Open(store, stable.Options{LockTimeout: -1})
	if err != nil {
		t.Fatalf("the store does not open once the first process let go: %v", err)
	}
	defer st.Close()
	if rep, err := st.Fsck(); err != nil || !rep.OK() {
		t.Fatalf("fsck: %v\n%v", err, rep)
	}
	checkMixTree(t, iofs.Of(vfs.NewNamespace(st)), "data", models)
}

// TestHelperLockedStore is the second process of TestStoreLockedByAnotherProcess; run by
// itself (without the environment variable) it has nothing to do and passes.
func TestHelperLockedStore(t *testing.T) {
	store := os.Getenv(lockHelperEnv)
	if store == "" {
		return
	}
	_, err := wasmrt.New(context.Background(), wasmrt.Options{
		Store: store, StoreOptions: stable.Options{LockTimeout: 100 * time.Millisecond},
	})
	if !errors.Is(err, stable.ErrLocked) {
		t.Fatalf("runtime.New on a store another process has open: %v; want stable.ErrLocked", err)
	}
	fmt.Printf("runtime.New: ErrLocked: %v\n", err)
	_, err = stable.Open(store, stable.Options{ReadOnly: true, LockTimeout: -1})
	if !errors.Is(err, stable.ErrLocked) {
		t.Fatalf("a read-only stable.Open of a store another process has open: %v; want stable.ErrLocked", err)
	}
	fmt.Printf("stable.Open read-only: ErrLocked: %v\n", err)
}
