package run

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wasmrun/wasmrun/internal/guests"
	"github.com/wasmrun/wasmrun/stable"
	"github.com/wasmrun/wasmrun/vfs"
	"github.com/wasmrun/wasmrun/vfs/iofs"
)

// The process crash test (the durability contract of DESIGN.md, "The stable store"): a real
// wasmrun process runs a guest that writes, fsyncs and reports records, and is killed with
// SIGKILL at a random moment; the store must then open at once, pass fsck, and hold every
// record reported as synced, byte for byte; a file replaced by rename-over holds its old or its
// new content, complete; sqlite3 databases pass PRAGMA integrity_check. The store is kept from
// one kill to the next, so damage done by one crash is found by every later check.
//
// CRASH_ITERS sets the number of kills per guest (default 20 for the Go guest, 8 for
// python.wasm; CRASH_ITERS_GO and CRASH_ITERS_PY set one guest's); CRASH_SEED replays a run's
// choices (flags, kill delays; the seed is printed by every run), though not the scheduling of
// the processes. make crash runs the full campaign. These kills leave the page cache behind:
// powercut_test.go runs the same loop with power cuts.

// The guests' content functions: the same as testdata/guests/go/crashwriter and
// testdata/crash/writer.py, written a third time here so that the check does not trust them.

func crashPayload(key string, n int) []byte {
	sum := sha256.Sum256([]byte(key))
	h := []byte(hex.EncodeToString(sum[:]))
	return bytes.Repeat(h, n/len(h)+1)[:n]
}

func crashRecord(tag string, i int) []byte {
	n := 16 + (i*7919)%3000
	head := fmt.Sprintf("%s %08d %05d ", tag, i, n)
	return append(append([]byte(head), crashPayload(tag+":"+strconv.Itoa(i), n)...), '\n')
}

func crashRecFile(tag string, i int) []byte {
	return crashPayload("rec:"+tag+":"+strconv.Itoa(i), 1000+(i*104729)%40000)
}

func crashState(g int) []byte {
	n := 100 + (g*7907)%30000
	b := []byte(fmt.Sprintf("STATE %d %d\n", g, n))
	b = append(b, crashPayload("state:"+strconv.Itoa(g), n)...)
	return append(b, fmt.Sprintf("\nEND %d\n", g)...)
}

// crashSeed returns $PREFIX_SEED (CRASH_SEED, POWERCUT_SEED) or a new seed, and logs it.
func crashSeed(t *testing.T, prefix string) uint64 {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv(prefix + "_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("%s_SEED=%q: %v", prefix, s, err)
		}
	}
	t.Logf("seed %d (replay with %s_SEED=%d)", seed, prefix, seed)
	return seed
}

// crashIters returns $PREFIX_ITERS_GUEST (CRASH_ITERS_GO, POWERCUT_ITERS_PY, ...), else
// $PREFIX_ITERS (CRASH_ITERS, POWERCUT_ITERS), else def.
func crashIters(t *testing.T, prefix, guest string, def int) int {
	t.Helper()
	for _, env := range []string{prefix + "_ITERS_" + guest, prefix + "_ITERS"} {
		if s := os.Getenv(env); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 {
				t.Fatalf("%s=%q: want a positive number", env, s)
			}
			return n
		}
	}
	return def
}

// sharedCache is a compilation cache that outlives the test run, shared with the runtime
// package's tests, so that python.wasm is compiled once per machine.
func sharedCache(t *testing.T) string {
	t.Helper()
	dir, err := guests.CacheDir()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "wazero")
}

// crashGuest is how to run one of the two writers.
type crashGuest struct {
	name   string
	sqlite bool
	// argv returns wasmrun's arguments after the flags: the module and its arguments.
	argv func(tag string) []string
	// work is the upper bound of the random delay between READY and the kill.
	work time.Duration
}

// crashModel is what the guests reported: what the store must hold.
type crashModel struct {
	tags    []string
	synced  map[string]int          // tag -> records reported synced (the last SYNCED i, plus one)
	sqlRows map[string]map[int]bool // tag -> rows reported committed
	gen     int                     // the generation of state found by the last check
	durable int                     // the newest generation reported renamed

	staleLocks int // sqlite dot-file locks a kill left behind (see testdata/crash/check_sqlite.py)
	facts      int // durable facts checked: synced records, rec files, states, sqlite3 rows
}

// proc is one wasmrun process whose stdout lines are collected.
type proc struct {
	cmd    *exec.Cmd
	lines  chan string
	stderr bytes.Buffer
	done   chan struct{}
}

func startProc(t *testing.T, args []string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(wasmrunBin, args...), lines: make(chan string, 1<<16), done: make(chan struct{})}
	p.cmd.Env = testEnv("")
	p.cmd.Stderr = &p.stderr
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(p.done)
		defer close(p.lines)
		r := bufio.NewReader(out)
		for {
			line, err := r.ReadString('\n')
			if err != nil { // a line cut by the kill is not a report
				return
			}
			p.lines <- strings.TrimSuffix(line, "\n")
		}
	}()
	return p
}

// waitLine waits for a line starting with prefix, returning the lines seen until then.
func (p *proc) waitLine(prefix string, timeout time.Duration) (seen []string, ok bool) {
	deadline := time.After(timeout)
	for {
		select {
		case l, open := <-p.lines:
			if !open {
				return seen, false
			}
			seen = append(seen, l)
			if strings.HasPrefix(l, prefix) {
				return seen, true
			}
		case <-deadline:
			return seen, false
		}
	}
}

// kill sends SIGKILL and returns the remaining lines and how the process ended.
func (p *proc) kill() (rest []string, killed bool, err error) {
	p.cmd.Process.Kill()
	for l := range p.lines {
		rest = append(rest, l)
	}
	<-p.done
	err = p.cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
			return rest, true, nil
		}
	}
	return rest, false, err
}

// apply adds a run's report lines to the model. A run starts from the state the last check
// found, so its READY line must name that generation.
func (m *crashModel) apply(t *testing.T, tag string, lines []string) (synced int) {
	t.Helper()
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		num := func(s string) int {
			n, err := strconv.Atoi(strings.TrimPrefix(s, "gen="))
			if err != nil {
				t.Fatalf("%s: bad report line %q", tag, l)
			}
			return n
		}
		switch f[0] {
		case "READY":
			if g := num(f[1]); g != m.gen {
				t.Fatalf("%s: the guest started from state generation %d, the store check found %d", tag, g, m.gen)
			}
		case "RENAMED":
			m.durable = num(f[1])
		case "SYNCED":
			m.synced[tag] = num(f[1]) + 1
			synced++
		case "SQL":
			m.sqlRows[tag][num(f[1])] = true
		case "DONE":
		default:
			t.Fatalf("%s: unexpected output line %q", tag, l)
		}
	}
	return synced
}

// checkStore opens the store as the next process would (read-only or read-write), runs fsck,
// and compares every file with the model.
func (m *crashModel) checkStore(t *testing.T, store string, readOnly bool, what string) {
	t.Helper()
	if _, err := os.Stat(store); errors.Is(err, fs.ErrNotExist) {
		// Killed before the store was created (stable creates it under a temporary name and
		// links it into place, so there is no half store): nothing can have been reported.
		for tag, n := range m.synced {
			if n > 0 {
				t.Fatalf("%s: the store is missing; %s reported %d records synced", what, tag, n)
			}
		}
		if m.durable > 0 {
			t.Fatalf("%s: the store is missing; state generation %d was reported", what, m.durable)
		}
		return
	}
	st, err := stable.Open(store, stable.Options{LockTimeout: -1, ReadOnly: readOnly})
	if err != nil {
		t.Fatalf("%s: the store does not open after SIGKILL: %v", what, err)
	}
	ns := vfs.NewNamespace(st)
	defer func() {
		if err := ns.Close(); err != nil {
			t.Errorf("%s: close the store: %v", what, err)
		}
	}()
	rep, err := st.Fsck()
	if err != nil {
		t.Fatalf("%s: fsck: %v", what, err)
	}
	if !rep.OK() {
		t.Fatalf("%s: fsck found problems:\n%s", what, rep)
	}
	fsys := iofs.Of(ns)
	for _, tag := range m.tags {
		n := m.synced[tag]
		log, err := fs.ReadFile(fsys, "crash/"+tag+"/log")
		if errors.Is(err, fs.ErrNotExist) && n == 0 {
			continue
		} else if err != nil {
			t.Fatalf("%s: %s: read the log (%d records synced): %v", what, tag, n, err)
		}
		// The log is the records in order: its synced part must be complete, and what follows
		// (written, not synced, maybe committed by a background commit) a prefix of the rest.
		off, complete := 0, 0
		for i := 0; off < len(log); i++ {
			rec := crashRecord(tag, i)
			end := min(off+len(rec), len(log))
			if !bytes.Equal(log[off:end], rec[:end-off]) {
				t.Fatalf("%s: %s: record %d at offset %d is damaged (%d records synced, log %d bytes):\ngot  %.80q\nwant %.80q",
					what, tag, i, off, n, len(log), log[off:end], rec)
			}
			if end-off == len(rec) {
				complete++
			}
			off = end
		}
		m.facts += n // each synced record, byte for byte
		if complete < n {
			t.Fatalf("%s: %s: the log holds %d complete records (%d bytes), %d were reported synced", what, tag, complete, len(log), n)
		}
		entries, err := fs.ReadDir(fsys, "crash/"+tag+"/rec")
		if err != nil {
			t.Fatalf("%s: %s: list rec: %v", what, tag, err)
		}
		have := map[int]bool{}
		for _, e := range entries {
			i, err := strconv.Atoi(e.Name())
			if err != nil || i%3 != 0 {
				t.Fatalf("%s: %s: unexpected file rec/%s", what, tag, e.Name())
			}
			have[i] = true
			b, err := fs.ReadFile(fsys, "crash/"+tag+"/rec/"+e.Name())
			if err != nil {
				t.Fatalf("%s: %s: %v", what, tag, err)
			}
			want := crashRecFile(tag, i)
			if i < n && !bytes.Equal(b, want) || !bytes.HasPrefix(want, b) {
				t.Fatalf("%s: %s: rec/%s is damaged (%d bytes, want %d; synced: %v)", what, tag, e.Name(), len(b), len(want), i < n)
			}
		}
		for i := 0; i < n; i += 3 {
			m.facts++
			if !have[i] {
				t.Fatalf("%s: %s: rec/%08d is missing, record %d was reported synced", what, tag, i, i)
			}
		}
	}
	// state was replaced by rename-over: it holds one generation, complete, no older than the
	// last one reported and at most one newer (renamed, killed before the fsync returned).
	b, err := fs.ReadFile(fsys, "crash/state")
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if m.durable > 0 {
			t.Fatalf("%s: crash/state is missing; generation %d was reported renamed", what, m.durable)
		}
		m.gen = 0
		return
	case err != nil:
		t.Fatalf("%s: read crash/state: %v", what, err)
	}
	var g, size int
	if _, err := fmt.Sscanf(string(b), "STATE %d %d\n", &g, &size); err != nil || !bytes.Equal(b, crashState(g)) {
		t.Fatalf("%s: crash/state is a half file (%d bytes): %.60q", what, len(b), b)
	}
	low := max(m.durable, m.gen)
	if g < low || g > low+1 {
		t.Fatalf("%s: crash/state holds generation %d; the last reported is %d (store had %d before this run)", what, g, m.durable, m.gen)
	}
	if m.durable > 0 {
		m.facts++ // the renamed state, whole
	}
	m.gen = g
}

// checkSQLite runs testdata/crash/check_sqlite.py on the store and compares the rows with the
// model.
func (m *crashModel) checkSQLite(t *testing.T, store, what string) {
	t.Helper()
	script, err := os.ReadFile("../../testdata/crash/check_sqlite.py")
	if err != nil {
		t.Fatal(err)
	}
	got := cli(t, store, "--cache-dir", sharedCache(t), "--lock-timeout", "0", python(t), "-c", string(script), "/crash")
	if got.code != 0 || !strings.HasSuffix(got.stdout, "END\n") {
		t.Fatalf("%s: check_sqlite.py exited %d\nstdout:\n%s\nstderr:\n%s", what, got.code, got.stdout, got.stderr)
	}
	lines := strings.Split(strings.TrimSuffix(got.stdout, "\n"), "\n")
	if lines[0] == "STALELOCK" {
		m.staleLocks++
		lines = lines[1:]
	}
	want := 0
	for _, rows := range m.sqlRows {
		want += len(rows)
	}
	if lines[0] == "INTEGRITY nodb" && want == 0 {
		return
	}
	if lines[0] != "INTEGRITY ok" {
		t.Fatalf("%s: sqlite3 integrity_check after SIGKILL: %q", what, lines[0])
	}
	seen := map[string]map[int]bool{}
	for _, l := range lines[1 : len(lines)-1] {
		f := strings.Fields(l)
		i, _ := strconv.Atoi(f[2])
		if len(f) != 4 || f[0] != "ROW" || f[3] != "OK" {
			t.Fatalf("%s: sqlite3 row damaged: %q", what, l)
		}
		if seen[f[1]] == nil {
			seen[f[1]] = map[int]bool{}
		}
		seen[f[1]][i] = true
	}
	for tag, rows := range m.sqlRows {
		for i := range rows {
			m.facts++
			if !seen[tag][i] {
				t.Fatalf("%s: sqlite3 row (%s, %d) was reported committed and is gone", what, tag, i)
			}
		}
	}
}

// crashLoop runs g iters times on one store, killing it at a random moment each time, and
// checks the store after each kill. With pc, the store lives on a power-cut filesystem and each
// kill is a power cut (see powerCut); otherwise each is a SIGKILL, which leaves the page cache
// behind. It returns the number of durable facts checked.
func crashLoop(t *testing.T, g crashGuest, iters int, pc *powerCut) int {
	prefix, kill := "CRASH", "SIGKILLs"
	if pc != nil {
		prefix, kill = "POWERCUT", "power cuts"
	}
	seed := crashSeed(t, prefix)
	rng := rand.New(rand.NewPCG(seed, 0x6372617368))
	dir := t.TempDir()
	// The store as the process names it, and as the checks do: the same file with SIGKILL; with
	// power cuts, the process writes through the mount and the checks read the disk after the
	// cut.
	store := filepath.Join(dir, "crash.store")
	procStore := store
	if pc != nil {
		pc.init(t, dir)
		store, procStore = filepath.Join(pc.backing, "crash.store"), filepath.Join(pc.mnt, "crash.store")
	}
	cache := sharedCache(t)

	// One complete run first: it compiles the module into the shared cache (so that no kill
	// lands in the middle of a compilation), proves the guest works, and measures how long a
	// start takes.
	warm := filepath.Join(dir, "warm.store")
	for i := range 2 {
		start := time.Now()
		got := cli(t, warm, append([]string{"--cache-dir", cache}, g.argv(fmt.Sprintf("warm%d", i))...)...)
		if got.code != 0 || !strings.Contains(got.stdout, "DONE\n") {
			t.Fatalf("%s: a complete run failed: exit %d\nstdout:\n%s\nstderr:\n%s", g.name, got.code, got.stdout, got.stderr)
		}
		t.Logf("%s: a complete run of 20 records took %v", g.name, time.Since(start).Round(time.Millisecond))
	}

	m := &crashModel{synced: map[string]int{}, sqlRows: map[string]map[int]bool{}}
	var startKills, workKills, totalSynced int
	startWindow := 200 * time.Millisecond
	for it := range iters {
		tag := fmt.Sprintf("%s-%02d", g.name, it)
		m.tags = append(m.tags, tag)
		m.sqlRows[tag] = map[int]bool{}
		// Vary when commits happen besides fsync: background commits by age or by size race
		// with the guest's writes and with the kill.
		interval := []string{"0", "5ms", "5s"}[rng.IntN(3)]
		cacheSize := []string{"64M", "128K"}[rng.IntN(2)]
		args := append([]string{"--store", procStore, "--cache-dir", cache,
			"--commit-interval", interval, "--cache-size", cacheSize}, g.argv(tag)...)
		what := fmt.Sprintf("%s (iteration %d, %s_SEED=%d, --commit-interval %s --cache-size %s)", tag, it, prefix, seed, interval, cacheSize)

		if pc != nil {
			pc.mount(t)
		}
		begin := time.Now()
		p := startProc(t, args)
		var lines []string
		if pc != nil && rng.IntN(2) == 0 {
			// Cut at a drawn operation of the filesystem's (see powercut.FS.FreezeAt), or
			// when the round's time is up.
			pc.fs.FreezeAt(1 + rng.Int64N(max(pc.maxOps*6/5, 50)))
			select {
			case <-pc.fs.Frozen():
			case <-time.After(startWindow + g.work):
			}
			pc.opCuts++
		} else if rng.IntN(5) == 0 {
			// Kill during the start: opening the store (replaying and checkpointing the log),
			// reclaiming orphans, the guest's setup.
			time.Sleep(time.Duration(rng.Int64N(int64(startWindow))))
			startKills++
		} else {
			seen, ok := p.waitLine("READY", 2*time.Minute)
			lines = seen
			if !ok {
				if pc != nil {
					pc.fs.Freeze()
				}
				rest, _, err := p.kill()
				t.Fatalf("%s: no READY line: %v\nstdout:\n%s\nstderr:\n%s", what, err, strings.Join(append(lines, rest...), "\n"), &p.stderr)
			}
			startWindow = max(startWindow, time.Since(begin)*3/2)
			time.Sleep(time.Duration(rng.Int64N(int64(g.work))))
			workKills++
		}
		if pc != nil {
			pc.fs.Freeze() // the moment of the cut: nothing written from now on reaches the disk
		}
		rest, killed, err := p.kill()
		lines = append(lines, rest...)
		if pc != nil {
			pc.cut(t, rng, what)
		}
		// After a freeze, wasmrun may fail by itself first (its next write or fsync fails
		// with EIO), never succeed.
		if !killed && (pc == nil || err == nil) {
			t.Fatalf("%s: wasmrun ended before SIGKILL: %v\nstdout:\n%s\nstderr:\n%s", what, err, strings.Join(lines, "\n"), &p.stderr)
		}
		totalSynced += m.apply(t, tag, lines)
		m.checkStore(t, store, it%2 == 0, what)
		if g.sqlite {
			m.checkSQLite(t, store, what)
		}
		if pc != nil && rng.IntN(4) == 0 {
			pc.maintain(t, m, rng, store, what)
		}
	}
	m.checkStore(t, store, false, "final check")
	// A kill while stable created the store leaves its temporary file behind: harmless (the
	// store is linked into place whole or not at all), but litter worth knowing about.
	if left, _ := filepath.Glob(store + ".new-*"); len(left) > 0 {
		t.Logf("%s: %d temporary store files left by kills during the store's creation: %v", g.name, len(left), left)
	}
	rows := 0
	for _, r := range m.sqlRows {
		rows += len(r)
	}
	t.Logf("%s: %d %s (%d during start, %d while writing), %d records reported synced and found intact, state generation %d, %d sqlite3 rows (%d stale dot-file locks removed); %d durable facts checked; %s_SEED=%d",
		g.name, iters, kill, startKills, workKills, totalSynced, m.gen, rows, m.staleLocks, m.facts, prefix, seed)
	return m.facts
}

// TestCrashGo kills wasmrun running the Go guest testdata/guests/go/crashwriter.
func TestCrashGo(t *testing.T) {
	t.Parallel()
	wasm := guests.Build(t, "go/crashwriter")
	iters := crashIters(t, "CRASH", "GO", 20)
	facts := crashLoop(t, crashGuest{
		name: "go",
		argv: func(tag string) []string {
			n := "1000000"
			if strings.HasPrefix(tag, "warm") {
				n = "20"
			}
			return []string{wasm, "/crash", tag, n}
		},
		work: 400 * time.Millisecond,
	}, iters, nil)
	// The line make crash adds up (see the Makefile).
	t.Logf("crash: %d SIGKILLs, %d durable facts checked, 0 lost, fsck clean", iters, facts)
}

// TestCrashPython kills wasmrun running python.wasm with testdata/crash/writer.py, which also
// commits rows to a sqlite3 database under /.
func TestCrashPython(t *testing.T) {
	t.Parallel()
	py := python(t)
	script, err := os.ReadFile("../../testdata/crash/writer.py")
	if err != nil {
		t.Fatal(err)
	}
	iters := crashIters(t, "CRASH", "PY", 8)
	facts := crashLoop(t, crashGuest{
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
	}, iters, nil)
	// The line make crash adds up (see the Makefile).
	t.Logf("crash: %d SIGKILLs, %d durable facts checked, 0 lost, fsck clean", iters, facts)
}

// TestCrashPersistence: what python.wasm wrote under /data and fsynced survives a SIGKILL of
// the process, and the next run finds it while /tmp is empty again.
func TestCrashPersistence(t *testing.T) {
	t.Parallel()
	py := python(t)
	store := newStore(t)
	const write = `
import os, sys, time
os.makedirs('/data/p', exist_ok=True)
with open('/data/p/kept.txt', 'w') as f:
    f.write('kept across SIGKILL\n' * 1000)
    f.flush()
    os.fsync(f.fileno())
with open('/tmp/scratch', 'w') as f:
    f.write('scratch')
print(sorted(os.listdir('/tmp')), flush=True)
time.sleep(600)
`
	p := startProc(t, []string{"--store", store, "--cache-dir", sharedCache(t), py, "-c", write})
	seen, ok := p.waitLine("['scratch']", 2*time.Minute)
	rest, killed, err := p.kill()
	if !ok || !killed {
		t.Fatalf("write run: ok %v, killed %v, %v\nstdout: %q\nstderr:\n%s", ok, killed, err, append(seen, rest...), &p.stderr)
	}
	got := cli(t, store, "--cache-dir", sharedCache(t), py, "-c", `
import os
b = open('/data/p/kept.txt').read()
print(b == 'kept across SIGKILL\n' * 1000, os.listdir('/tmp'))
`)
	if got.code != 0 || got.stdout != "True []\n" {
		t.Fatalf("read run: exit %d, stdout %q (want \"True []\\n\")\nstderr:\n%s", got.code, got.stdout, got.stderr)
	}
}

// The limit flags, end to end: each one run into by testdata/guests/c/limits.c in a real
// wasmrun process, with its exact errno (the runtime package checks the same options).

// limitsLine parses the C guest's "key=value ..." line.
func limitsLine(t *testing.T, out string) map[string]int64 {
	t.Helper()
	m := map[string]int64{}
	for _, f := range strings.Fields(out) {
		k, v, ok := strings.Cut(f, "=")
		n, err := strconv.ParseInt(v, 10, 64)
		if !ok || err != nil {
			t.Fatalf("bad output %q", out)
		}
		m[k] = n
	}
	return m
}

// The WASI errno numbers the limits guest reports.
const (
	wasiEMFILE = 33
	wasiENOSPC = 51
)

func TestLimitFlags(t *testing.T) {
	t.Parallel()
	limits := guests.Build(t, "c/limits")
	const mib = 1 << 20
	tests := []struct {
		name  string
		args  []string
		check func(got map[string]int64) bool
		want  string
	}{
		{"--tmp-size", []string{"--tmp-size", "1M", limits, "fill", "/tmp/big"},
			func(g map[string]int64) bool {
				return g["errno"] == wasiENOSPC && g["bytes"] <= mib && g["bytes"] > mib-64<<10
			},
			"ENOSPC after (1 MiB - 64 KiB, 1 MiB] bytes"},
		{"--tmp-inodes", []string{"--tmp-inodes", "100", limits, "inodes", "/tmp"},
			func(g map[string]int64) bool { return g["errno"] == wasiENOSPC && g["count"] == 99 },
			"99 files (/tmp is the 100th inode), then ENOSPC"},
		{"--store-quota", []string{"--store-quota", "1M", limits, "fill", "/big"},
			func(g map[string]int64) bool {
				return g["errno"] == wasiENOSPC && g["bytes"] <= mib && g["bytes"] > mib-64<<10
			},
			"ENOSPC after (1 MiB - 64 KiB, 1 MiB] bytes"},
		{"--max-fds", []string{"--max-fds", "16", limits, "fds", "/"},
			func(g map[string]int64) bool { return g["errno"] == wasiEMFILE && g["count"] == 12 },
			"12 opens (fds 0 to 3 are taken), then EMFILE"},
		{"--max-memory", []string{"--max-memory", "16M", limits, "mem"},
			func(g map[string]int64) bool { return g["pages"] <= 256 && g["pages"]+16 > 256 },
			"malloc failing with 240 to 256 pages (16 MiB) in use"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store := newStore(t)
			got := cli(t, store, tc.args...)
			if got.code != 0 {
				t.Fatalf("exit %d\nstderr:\n%s", got.code, got.stderr)
			}
			if g := limitsLine(t, got.stdout); !tc.check(g) {
				t.Errorf("%s: got %v; want %s", tc.name, g, tc.want)
			}
			st, err := stable.Open(store, stable.Options{LockTimeout: -1})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if rep, err := st.Fsck(); err != nil || !rep.OK() {
				t.Errorf("fsck: %v\n%v", err, rep)
			}
		})
	}
}

// TestTimeoutKeepsSynced: --timeout stops a guest that writes and fsyncs files forever, wasmrun
// exits 124, and every file reported synced is in the store, intact, which passes fsck.
func TestTimeoutKeepsSynced(t *testing.T) {
	t.Parallel()
	limits := guests.Build(t, "c/limits")
	store := newStore(t)
	start := time.Now()
	got := cli(t, store, "--timeout", "500ms", limits, "sync", "/")
	took := time.Since(start)
	if got.code != exitTimeout || !strings.Contains(got.stderr, "timed out after 500ms") {
		t.Fatalf("exit %d, stderr %q; want %d and a timeout message", got.code, got.stderr, exitTimeout)
	}
	synced := strings.Count(got.stdout, "SYNCED ")
	if synced == 0 {
		t.Fatalf("nothing synced in 500ms:\n%s", got.stdout)
	}
	st, err := stable.Open(store, stable.Options{LockTimeout: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if rep, err := st.Fsck(); err != nil || !rep.OK() {
		t.Fatalf("fsck: %v\n%v", err, rep)
	}
	want := make([]byte, 4096)
	for i := range want {
		want[i] = byte(i % 251)
	}
	fsys := iofs.Of(vfs.NewNamespace(st))
	for i := range synced {
		if b, err := fs.ReadFile(fsys, fmt.Sprintf("r%d", i)); err != nil || !bytes.Equal(b, want) {
			t.Fatalf("r%d, reported synced: %d bytes, %v", i, len(b), err)
		}
	}
	t.Logf("wasmrun exited %d after %v; %d files synced before the timeout, all intact", got.code, took.Round(time.Millisecond), synced)
}

// maxRSS runs wasmrun with args and returns its peak resident memory (getrusage ru_maxrss),
// the smaller of two runs, and the last run's output.
func maxRSS(t *testing.T, args ...string) (int64, result) {
	t.Helper()
	best := int64(-1)
	var res result
	for range 2 {
		cmd := exec.Command(wasmrunBin, args...)
		cmd.Env = testEnv(newStore(t))
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("wasmrun %q: %v\n%s", args, err, &stderr)
		}
		rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss << 10 // KiB on Linux
		if best < 0 || rss < best {
			best = rss
		}
		res = result{0, stdout.String(), stderr.String()}
	}
	return best, res
}

// TestTmpFillRSS: a guest filling a 64 MiB /tmp until ENOSPC raises the peak resident memory
// of the wasmrun process by the limit plus a small constant, measured against the same guest
// failing at once.
func TestTmpFillRSS(t *testing.T) {
	limits := guests.Build(t, "c/limits")
	const limit = 64 << 20
	const slack = 16 << 20
	cache := sharedCache(t)
	base, res := maxRSS(t, "--cache-dir", cache, "--tmp-size", "64M", limits, "fill", "/tmp/none/x")
	if g := limitsLine(t, res.stdout); g["bytes"] != 0 {
		t.Fatalf("baseline run wrote %v", g)
	}
	full, res := maxRSS(t, "--cache-dir", cache, "--tmp-size", "64M", limits, "fill", "/tmp/big")
	if g := limitsLine(t, res.stdout); g["errno"] != wasiENOSPC || g["bytes"] < limit-64<<10 {
		t.Fatalf("fill: %v; want ENOSPC after about 64 MiB", g)
	}
	grew := full - base
	t.Logf("peak RSS: %.1f MiB with /tmp filled to its 64 MiB limit, %.1f MiB without: +%.1f MiB (limit + %.1f MiB)",
		float64(full)/(1<<20), float64(base)/(1<<20), float64(grew)/(1<<20), float64(grew-limit)/(1<<20))
	if grew > limit+slack {
		t.Errorf("filling /tmp raised the peak RSS by %d bytes: more than the %d limit plus %d", grew, limit, slack)
	}
}
