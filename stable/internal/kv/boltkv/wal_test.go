package boltkv

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/wasmrun/wasmrun/stable/internal/failpoint"
	"github.com/wasmrun/wasmrun/stable/internal/kv"
)

var testBuckets = []kv.BucketSpec{{Name: "a"}, {Name: "b"}, {Name: "c"}}

// openTestWAL opens (creating) the store at path with a WAL of opts.
func openTestWAL(t testing.TB, path string, opts WALOptions) *WAL {
	t.Helper()
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		if err := os.WriteFile(path, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	b, err := OpenBolt(path, BoltOptions{Buckets: testBuckets, NoSync: opts.NoSync, ReadOnly: opts.ReadOnly})
	if err != nil {
		t.Fatal(err)
	}
	s, err := OpenWAL(b, opts)
	if err != nil {
		b.Close()
		t.Fatal(err)
	}
	return s
}

// model is the reference: bucket -> key -> value.
type model map[kv.Bucket]map[string]string

func (m model) clone() model {
	c := model{}
	for b, kv := range m {
		c[b] = map[string]string{}
		for k, v := range kv {
			c[b][k] = v
		}
	}
	return c
}

func (m model) apply(ops []op) {
	for _, o := range ops {
		if m[o.b] == nil {
			m[o.b] = map[string]string{}
		}
		switch o.kind {
		case opPut:
			m[o.b][string(o.key)] = string(o.val)
		case opDelete:
			delete(m[o.b], string(o.key))
		case opDeleteRange:
			for k := range m[o.b] {
				if k >= string(o.key) && (o.val == nil || k < string(o.val)) {
					delete(m[o.b], k)
				}
			}
		}
	}
}

// write applies ops to w as the Writer calls they stand for.
func write(w kv.Writer, ops []op) error {
	for _, o := range ops {
		var err error
		switch o.kind {
		case opPut:
			err = w.Put(o.b, o.key, o.val)
		case opDelete:
			err = w.Delete(o.b, o.key)
		case opDeleteRange:
			_, err = w.DeleteRange(o.b, o.key, o.val)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// dump reads every bucket of r whole.
func dump(t testing.TB, r kv.Reader) model {
	t.Helper()
	m := model{}
	for b := range testBuckets {
		m[kv.Bucket(b)] = map[string]string{}
		var last []byte
		err := r.Scan(kv.Bucket(b), nil, nil, func(k, v []byte) bool {
			if last != nil && bytes.Compare(last, k) >= 0 {
				t.Errorf("bucket %d: Scan gave %q after %q", b, k, last)
			}
			last = bytes.Clone(k)
			m[kv.Bucket(b)][string(k)] = string(v)
			if g := r.Get(kv.Bucket(b), k); !bytes.Equal(g, v) {
				t.Errorf("bucket %d: Get(%q) = %q, Scan gave %q", b, k, g, v)
			}
			return true
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return m
}

func equalModels(a, b model) bool {
	for i := range testBuckets {
		x, y := a[kv.Bucket(i)], b[kv.Bucket(i)]
		if len(x) != len(y) {
			return false
		}
		for k, v := range x {
			if w, ok := y[k]; !ok || w != v {
				return false
			}
		}
	}
	return true
}

func viewModel(t testing.TB, s kv.Store) model {
	t.Helper()
	var m model
	if err := s.View(func(r kv.Reader) error { m = dump(t, r); return nil }); err != nil {
		t.Fatal(err)
	}
	return m
}

// crashCopy returns the bytes of s's store file and log as a crash would leave them now (the
// page cache keeps every write of a killed process).
func crashCopy(t testing.TB, s *WAL) (store, log []byte) {
	t.Helper()
	s.wmu.Lock() // no checkpoint between the two reads
	defer s.wmu.Unlock()
	store, err := os.ReadFile(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	log, err = os.ReadFile(s.LogPath())
	if err != nil {
		t.Fatal(err)
	}
	return store, log
}

// reopen writes store and log as a store in a new directory and opens it.
func reopen(t testing.TB, store, log []byte, opts WALOptions) *WAL {
	t.Helper()
	path := filepath.Join(t.TempDir(), "s.db")
	if err := os.WriteFile(path, store, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+LogSuffix, log, 0o600); err != nil {
		t.Fatal(err)
	}
	return openTestWAL(t, path, opts)
}

func putOps(b kv.Bucket, kv ...string) []op {
	var ops []op
	for i := 0; i < len(kv); i += 2 {
		ops = append(ops, op{kind: opPut, b: b, key: []byte(kv[i]), val: []byte(kv[i+1])})
	}
	return ops
}

// commitsFixture is a sequence of commits with every kind of op, bucket and value size.
func commitsFixture() [][]op {
	return [][]op{
		putOps(0, "k1", "v1", "k2", "v2", "k3", "v3"),
		{{kind: opDelete, b: 0, key: []byte("k2")}, {kind: opPut, b: 1, key: []byte("x"), val: []byte{}}},
		append(putOps(2, "p/1", "one", "p/2", "two", "p/3", "three"), op{kind: opDeleteRange, b: 0, key: []byte("k1"), val: []byte("k3")}),
		{{kind: opDeleteRange, b: 2, key: []byte("p/2"), val: nil}, {kind: opPut, b: 2, key: []byte("p/9"), val: bytes.Repeat([]byte("z"), 300)}},
		putOps(0, "k2", "again", "k1", "back"),
	}
}

// fixtureStates returns the model after each prefix of commits.
func fixtureStates(commits [][]op) []model {
	states := []model{{}}
	for _, c := range commits {
		m := states[len(states)-1].clone()
		m.apply(c)
		states = append(states, m)
	}
	return states
}

// logFixture commits the fixture through a WAL that never checkpoints, and returns the crash
// copy and the offsets where each record ends.
func logFixture(t testing.TB) (store, log []byte, ends []int) {
	path := filepath.Join(t.TempDir(), "s.db")
	s := openTestWAL(t, path, WALOptions{NoSync: true, CheckpointBytes: 1 << 30})
	defer s.Close()
	for _, c := range commitsFixture() {
		if err := s.Update(func(w kv.Writer) error { return write(w, c) }); err != nil {
			t.Fatal(err)
		}
		ends = append(ends, int(s.end))
	}
	store, log = crashCopy(t, s)
	return store, log, ends
}

// TestLogTornTail cuts the log of several commits at every byte offset: the store must open
// holding exactly the commits whose records are whole, each all or nothing.
func TestLogTornTail(t *testing.T) {
	store, log, ends := logFixture(t)
	states := fixtureStates(commitsFixture())
	for cut := 0; cut <= len(log); cut++ {
		want := 0
		for want < len(ends) && ends[want] <= cut {
			want++
		}
		s := reopen(t, store, log[:cut], WALOptions{NoSync: true})
		if got := viewModel(t, s); !equalModels(got, states[want]) {
			t.Fatalf("log cut at %d: store holds %v, want the first %d commits %v", cut, got, want, states[want])
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// reopenErr writes store and log as a store in a new directory and opens it; it returns the
// WAL or Open's error, and the store's path.
func reopenErr(t testing.TB, store, log []byte, opts WALOptions) (*WAL, string, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "s.db")
	if err := os.WriteFile(path, store, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+LogSuffix, log, 0o600); err != nil {
		t.Fatal(err)
	}
	b, err := OpenBolt(path, BoltOptions{Buckets: testBuckets, NoSync: opts.NoSync, ReadOnly: opts.ReadOnly})
	if err != nil {
		t.Fatal(err)
	}
	s, err := OpenWAL(b, opts)
	if err != nil {
		b.Close()
		return nil, path, err
	}
	t.Cleanup(func() { s.Close() })
	return s, path, nil
}

// recordOf returns the index of the record that holds byte i of the log (len(ends) past the
// last record, -1 in the header).
func recordOf(ends []int, i int) int {
	if i < logHeaderSize {
		return -1
	}
	r := 0
	for r < len(ends) && ends[r] <= i {
		r++
	}
	return r
}

// checkDamagedOpen opens the store with a damaged log: if a whole, valid record follows the
// damage (record k is the first damaged one, or -1 for the header), Open must fail with
// ErrLoss and ErrCorrupt, naming the log, and leave the log as it was; otherwise (the damage
// is in the last record: a torn tail) it opens with the first k commits. With accept, a damaged
// log opens with the commits before the damage, keeps a copy, and opens cleanly again after.
func checkDamagedOpen(t *testing.T, store, log []byte, ends []int, k int, what string) {
	t.Helper()
	states := fixtureStates(commitsFixture())
	tail := k == len(ends)-1 || k == len(ends) // nothing whole after the damage
	s, path, err := reopenErr(t, store, log, WALOptions{NoSync: true})
	switch {
	case tail && err != nil:
		t.Fatalf("%s: a damaged last record is a torn tail, but Open failed: %v", what, err)
	case tail:
		if got := viewModel(t, s); !equalModels(got, states[k]) {
			t.Fatalf("%s: store holds %v, want the first %d commits", what, got, k)
		}
		return
	case err == nil:
		t.Fatalf("%s: records follow the damage, and Open succeeded (holding %v)", what, viewModel(t, s))
	case !errors.Is(err, kv.ErrLoss) || !errors.Is(err, kv.ErrCorrupt) || !strings.Contains(err.Error(), path+LogSuffix):
		t.Fatalf("%s: Open: %v; want ErrLoss and ErrCorrupt, naming the log", what, err)
	}
	if got, _ := os.ReadFile(path + LogSuffix); !bytes.Equal(got, log) {
		t.Fatalf("%s: a failed Open changed the damaged log", what)
	}
	// Read-only, it fails the same way.
	b, berr := OpenBolt(path, BoltOptions{Buckets: testBuckets, ReadOnly: true})
	if berr != nil {
		t.Fatal(berr)
	}
	if _, err := OpenWAL(b, WALOptions{ReadOnly: true}); !errors.Is(err, kv.ErrLoss) {
		t.Fatalf("%s: read-only Open: %v, want ErrLoss", what, err)
	}
	b.Close()
	// Accepted, it opens with the commits before the damage and keeps a copy of the log.
	var told error
	b, berr = OpenBolt(path, BoltOptions{Buckets: testBuckets, NoSync: true})
	if berr != nil {
		t.Fatal(berr)
	}
	s, err = OpenWAL(b, WALOptions{NoSync: true, AcceptLoss: func(d error) bool { told = d; return true }})
	if err != nil {
		t.Fatalf("%s: Open accepting the loss: %v", what, err)
	}
	want := max(k, 0)
	if got := viewModel(t, s); !equalModels(got, states[want]) {
		t.Fatalf("%s: accepted: store holds %v, want the first %d commits", what, got, want)
	}
	if told == nil || !strings.Contains(told.Error(), "bytes of committed changes") {
		t.Fatalf("%s: AcceptLoss was told %v", what, told)
	}
	if got, _ := os.ReadFile(path + LogSuffix + DamagedSuffix); !bytes.Equal(got, log) {
		t.Fatalf("%s: no copy of the damaged log was kept", what)
	}
	// A commit, then a crash: the next Open finds no damage.
	if err := s.Update(func(w kv.Writer) error { return write(w, putOps(0, "after", "x")) }); err != nil {
		t.Fatal(err)
	}
	store2, log2 := crashCopy(t, s)
	s.Close()
	s2, _, err := reopenErr(t, store2, log2, WALOptions{NoSync: true})
	if err != nil {
		t.Fatalf("%s: Open after the accepted loss and a crash: %v", what, err)
	}
	if got := viewModel(t, s2)[0]["after"]; got != "x" {
		t.Fatalf("%s: the commit after the accepted loss is lost", what)
	}
}

// TestLogBitFlips flips bits all over the log: a flip in the last record is a torn tail (the
// commits before it stay); a flip in the header or in any other record is damage, which Open
// refuses, unless told to accept the loss (see checkDamagedOpen).
func TestLogBitFlips(t *testing.T) {
	store, log, ends := logFixture(t)
	for i := 0; i < len(log); i++ {
		if i%5 != 0 && i > 40 {
			continue // the header and every fifth byte after it
		}
		damaged := bytes.Clone(log)
		damaged[i] ^= 1 << (i % 8)
		checkDamagedOpen(t, store, damaged, ends, recordOf(ends, i), fmt.Sprintf("bit %d of byte %d flipped", i%8, i))
	}
}

// TestLogDamage: the damage of issue 15 as a table: a zeroed record in the middle, a log
// replaced by junk, a header from the future, a record whose checksum passes but payload does
// not decode.
func TestLogDamage(t *testing.T) {
	store, log, ends := logFixture(t)
	junk := bytes.Repeat([]byte("junk, not a log\n"), len(log)/16+1)[:len(log)]
	zeroed := bytes.Clone(log)
	clear(zeroed[ends[0] : ends[0]+recHeaderSize])
	for _, tc := range []struct {
		name string
		log  []byte
		k    int // the first damaged record, -1 for the header
	}{
		{"a record's header zeroed", zeroed, 1},
		{"garbage over the first record", append(append(bytes.Clone(log[:logHeaderSize]), bytes.Repeat([]byte{0xa5}, 10)...), log[logHeaderSize+10:]...), 0},
		{"junk", junk, -1},
	} {
		t.Run(tc.name, func(t *testing.T) { checkDamagedOpen(t, store, tc.log, ends, tc.k, tc.name) })
	}
	// A log of this store whose header names a newer generation than the store's: the store
	// file is older than its log (put back from a copy while the log stayed).
	t.Run("newer generation", func(t *testing.T) {
		s, _, err := reopenErr(t, store, log, WALOptions{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		h := logHeader{salt: s.salt, gen: s.gen + 5}.encode()
		s.Close()
		newer := append(h, log[logHeaderSize:]...)
		if _, _, err := reopenErr(t, store, newer, WALOptions{NoSync: true}); !errors.Is(err, kv.ErrLoss) || !strings.Contains(err.Error(), "newer than the store's") {
			t.Fatalf("Open with a log of a newer generation: %v", err)
		}
	})
	// Junk where the store has no log yet is not its log: ignored.
	t.Run("zeros", func(t *testing.T) {
		s, _, err := reopenErr(t, store, make([]byte, len(log)), WALOptions{NoSync: true})
		if err != nil {
			t.Fatalf("an all-zero log: %v", err)
		}
		if got := viewModel(t, s); !equalModels(got, model{}) {
			t.Fatalf("an all-zero log replayed %v", got)
		}
	})
}

// TestLogOldGeneration makes a record of the generation before a checkpoint follow a record
// of the current one exactly: it is whole and its checksum good, and it must not be replayed.
func TestLogOldGeneration(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	s := openTestWAL(t, path, WALOptions{NoSync: true, CheckpointBytes: 1 << 30})
	defer s.Close()
	commit := func(ops []op) {
		t.Helper()
		if err := s.Update(func(w kv.Writer) error { return write(w, ops) }); err != nil {
			t.Fatal(err)
		}
	}
	commit(putOps(0, "k", "old-1"))
	commit(putOps(0, "k", "old-2"))
	if err := s.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	commit(putOps(0, "k", "new-1")) // the same size as the first record: the second follows it
	store, log := crashCopy(t, s)
	// (Parsed as of the old generation, the log's header is newer than the store: damage.)
	commits, _, err := parseLog(log, s.salt, s.gen-1)
	if _, ok := err.(*logDamage); (err != nil && !ok) || len(commits) != 0 {
		t.Fatalf("the log parsed as of the old generation: %d commits, %v; want none", len(commits), err)
	}
	g := reopen(t, store, log, WALOptions{NoSync: true})
	defer g.Close()
	if got := viewModel(t, g)[0]["k"]; got != "new-1" {
		t.Fatalf("k = %q after the replay, want new-1 (an old record was replayed)", got)
	}
}

// TestCrashAfterCheckpoint fails a checkpoint after the bbolt transaction and before the log
// reset, then crashes: the store must hold every commit, once.
func TestCrashAfterCheckpoint(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	s := openTestWAL(t, path, WALOptions{NoSync: true, CheckpointBytes: 1 << 30})
	defer s.Close()
	commits := commitsFixture()
	states := fixtureStates(commits)
	for _, c := range commits[:3] {
		if err := s.Update(func(w kv.Writer) error { return write(w, c) }); err != nil {
			t.Fatal(err)
		}
	}
	injected := errors.New("injected")
	failpoint.Set(func(n failpoint.Name) error {
		if n == failpoint.Checkpointed {
			return injected
		}
		return nil
	})
	err := s.Checkpoint()
	failpoint.Set(nil)
	if !errors.Is(err, injected) {
		t.Fatalf("Checkpoint = %v, want the injected error", err)
	}
	store, log := crashCopy(t, s)
	g := reopen(t, store, log, WALOptions{NoSync: true})
	if got := viewModel(t, g); !equalModels(got, states[3]) {
		t.Fatalf("after a crash between checkpoint and reset: %v, want %v", got, states[3])
	}
	g.Close()
	// The same WAL repairs its log before the next commit.
	for _, c := range commits[3:] {
		if err := s.Update(func(w kv.Writer) error { return write(w, c) }); err != nil {
			t.Fatal(err)
		}
	}
	store, log = crashCopy(t, s)
	g = reopen(t, store, log, WALOptions{NoSync: true})
	defer g.Close()
	if got := viewModel(t, g); !equalModels(got, states[len(commits)]) {
		t.Fatalf("after the repaired log: %v, want %v", got, states[len(commits)])
	}
}

// TestFailedRecordNotReplayed fails a commit after its record was written whole (LogWritten):
// Update reports the error, and neither this WAL nor a replay after a crash must show it.
func TestFailedRecordNotReplayed(t *testing.T) {
	for _, next := range []string{"crash", "commit then crash"} {
		t.Run(next, func(t *testing.T) {
			s := openTestWAL(t, filepath.Join(t.TempDir(), "s.db"), WALOptions{NoSync: true})
			defer s.Close()
			if err := s.Update(func(w kv.Writer) error { return w.Put(0, []byte("k"), []byte("kept")) }); err != nil {
				t.Fatal(err)
			}
			injected := errors.New("injected")
			failpoint.Set(func(n failpoint.Name) error {
				if n == failpoint.LogWritten {
					return injected
				}
				return nil
			})
			err := s.Update(func(w kv.Writer) error { return w.Put(0, []byte("k"), []byte("lost")) })
			failpoint.Set(nil)
			if !errors.Is(err, injected) {
				t.Fatalf("Update = %v, want the injected error", err)
			}
			want := model{0: {"k": "kept"}}
			if next != "crash" {
				if err := s.Update(func(w kv.Writer) error { return w.Put(1, []byte("x"), []byte("y")) }); err != nil {
					t.Fatal(err)
				}
				want[1] = map[string]string{"x": "y"}
			}
			if got := viewModel(t, s); !equalModels(got, want) {
				t.Fatalf("store = %v, want %v", got, want)
			}
			store, log := crashCopy(t, s)
			g := reopen(t, store, log, WALOptions{NoSync: true})
			defer g.Close()
			got := viewModel(t, g)
			// A crash right after the failure may keep the failed record (its write was
			// whole, as after an fsync that failed late); once the WAL committed again it
			// must not.
			if next == "crash" && got[0]["k"] == "lost" {
				return
			}
			if !equalModels(got, want) {
				t.Fatalf("after the crash: %v, want %v", got, want)
			}
		})
	}
}

// TestReadOnlyReplay opens a crashed store read-only: it sees the log's commits and writes
// nothing, to the store or to the log.
func TestReadOnlyReplay(t *testing.T) {
	store, log, _ := logFixture(t)
	states := fixtureStates(commitsFixture())
	s := reopen(t, store, log, WALOptions{NoSync: true})
	path := s.Path()
	s.Close() // a checkpoint, to get the store file; then put the crashed files back
	if err := os.WriteFile(path, store, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+LogSuffix, log, 0o600); err != nil {
		t.Fatal(err)
	}
	r := openTestWAL(t, path, WALOptions{ReadOnly: true})
	if got := viewModel(t, r); !equalModels(got, states[len(states)-1]) {
		t.Errorf("read-only replay: %v, want %v", got, states[len(states)-1])
	}
	if err := r.Update(func(w kv.Writer) error { return nil }); !errors.Is(err, os.ErrPermission) {
		t.Errorf("read-only Update = %v, want os.ErrPermission", err)
	}
	var problems []error
	if err := r.Check(func(e error) { problems = append(problems, e) }); err != nil || len(problems) > 0 {
		t.Errorf("Check = %v, %v", err, problems)
	}
	r.Close()
	for name, want := range map[string][]byte{path: store, path + LogSuffix: log} {
		if got, err := os.ReadFile(name); err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s changed by a read-only open (%v)", name, err)
		}
	}
}

// TestCloseLeavesOneFile checks that a closed store has no log, that reopening sees every
// commit, and that a log of another store file (a copy put in place) is ignored.
func TestCloseLeavesOneFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s.db")
	s := openTestWAL(t, path, WALOptions{NoSync: true})
	commits := commitsFixture()
	states := fixtureStates(commits)
	for _, c := range commits {
		if err := s.Update(func(w kv.Writer) error { return write(w, c) }); err != nil {
			t.Fatal(err)
		}
	}
	_, log := crashCopy(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + LogSuffix); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a closed store left its log: %v", err)
	}
	// Reopened, the one file holds every commit.
	s = openTestWAL(t, path, WALOptions{NoSync: true})
	if got, want := viewModel(t, s), states[len(commits)]; !equalModels(got, want) {
		t.Fatalf("reopened after Close: %v, want every commit: %v", got, want)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Another store file (new salt) under the same name, with the old store's log beside it.
	other := filepath.Join(dir, "other.db")
	o := openTestWAL(t, other, WALOptions{NoSync: true})
	o.Close()
	if err := os.Rename(other, path); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+LogSuffix, log, 0o600); err != nil {
		t.Fatal(err)
	}
	s = openTestWAL(t, path, WALOptions{NoSync: true})
	if got := viewModel(t, s); !equalModels(got, model{}) {
		t.Fatalf("another store's log was replayed: %v", got)
	}
	s.Close()
}

// TestDetach checks that a detached WAL commits straight to bbolt and has removed its log.
func TestDetach(t *testing.T) {
	s := openTestWAL(t, filepath.Join(t.TempDir(), "s.db"), WALOptions{NoSync: true})
	defer s.Close()
	commits := commitsFixture()
	states := fixtureStates(commits)
	for i, c := range commits {
		if i == 2 {
			if err := s.Detach(); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(s.LogPath()); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("Detach left the log: %v", err)
			}
		}
		if err := s.Update(func(w kv.Writer) error { return write(w, c) }); err != nil {
			t.Fatal(err)
		}
	}
	var got model
	if err := s.inner.View(func(r kv.Reader) error { got = dump(t, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if !equalModels(got, states[len(commits)]) {
		t.Fatalf("bbolt after Detach: %v, want %v", got, states[len(commits)])
	}
}

// seed returns a random seed, or WAL_SEED's, and logs it.
func seed(t *testing.T) uint64 {
	t.Helper()
	s := rand.Uint64()
	if e := os.Getenv("WAL_SEED"); e != "" {
		var err error
		if s, err = strconv.ParseUint(e, 10, 64); err != nil {
			t.Fatalf("WAL_SEED: %v", err)
		}
	}
	t.Logf("seed %d (replay with WAL_SEED=%d)", s, s)
	return s
}

// randomOps returns n random changes over a small key space, so that they collide.
func randomOps(rng *rand.Rand, n int, bigValues bool) []op {
	key := func() []byte { return []byte(fmt.Sprintf("%02d", rng.IntN(40))) }
	var ops []op
	for range n {
		b := kv.Bucket(rng.IntN(2))
		switch r := rng.IntN(10); {
		case r < 6:
			v := []byte(fmt.Sprintf("v%d", rng.IntN(1000)))
			if bigValues && rng.IntN(4) == 0 {
				v = bytes.Repeat(v, 2000)
			}
			if rng.IntN(20) == 0 {
				v = nil
			}
			ops = append(ops, op{kind: opPut, b: b, key: key(), val: v})
		case r < 8:
			ops = append(ops, op{kind: opDelete, b: b, key: key()})
		default:
			from, to := key(), key()
			if bytes.Compare(from, to) > 0 {
				from, to = to, from
			}
			if rng.IntN(4) == 0 {
				to = nil
			}
			if rng.IntN(8) == 0 {
				from = nil
			}
			ops = append(ops, op{kind: opDeleteRange, b: b, key: from, val: to})
		}
	}
	return ops
}

// checkScans compares random Scans and Gets of r with m.
func checkScans(t *testing.T, rng *rand.Rand, r kv.Reader, m model, what string) {
	t.Helper()
	for range 6 {
		b := kv.Bucket(rng.IntN(2))
		var from, to []byte
		if rng.IntN(3) > 0 {
			from = []byte(fmt.Sprintf("%02d", rng.IntN(42)))
		}
		if rng.IntN(3) > 0 {
			to = []byte(fmt.Sprintf("%02d", rng.IntN(42)))
		}
		limit := 1 + rng.IntN(50)
		var got, want []string
		if err := r.Scan(b, from, to, func(k, v []byte) bool {
			got = append(got, string(k)+"="+string(v))
			return len(got) < limit
		}); err != nil {
			t.Fatal(err)
		}
		for k, v := range m[b] {
			if k >= string(from) && (to == nil || k < string(to)) {
				want = append(want, k+"="+v)
			}
		}
		slices.Sort(want)
		want = want[:min(len(want), limit)]
		if !slices.Equal(got, want) {
			t.Fatalf("%s: Scan(%d, %q, %q) limit %d = %v, want %v", what, b, from, to, limit, got, want)
		}
		k := fmt.Sprintf("%02d", rng.IntN(40))
		g := r.Get(b, []byte(k))
		v, ok := m[b][k]
		if ok != (g != nil) || string(g) != v {
			t.Fatalf("%s: Get(%d, %s) = %q, want %q (%v)", what, b, k, g, v, ok)
		}
	}
}

// TestWALModel runs random commits (some rolled back, some big enough to skip the log) over a
// WAL that checkpoints often, checking Scan and Get inside and after each commit against a
// reference map, and reopening (cleanly or from a crash copy) now and then.
func TestWALModel(t *testing.T) {
	for _, gather := range []bool{false, true} {
		t.Run(map[bool]string{false: "copy", true: "gather"}[gather], func(t *testing.T) {
			if gather {
				// Every record written from the values (writeGather), copied while it syncs.
				defer func(n int) { overlapBytes = n }(overlapBytes)
				overlapBytes = 0
			}
			testWALModel(t)
		})
	}
}

func testWALModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(seed(t), 7))
	opts := WALOptions{NoSync: true, CheckpointBytes: 8 << 10, DirectBytes: 16 << 10}
	path := filepath.Join(t.TempDir(), "s.db")
	s := openTestWAL(t, path, opts)
	defer func() { s.Close() }()
	m := model{}
	steps := 400
	if testing.Short() {
		steps = 100
	}
	for step := range steps {
		ops := randomOps(rng, 1+rng.IntN(12), rng.IntN(5) == 0)
		fail := rng.IntN(8) == 0
		next := m.clone()
		next.apply(ops)
		update := s.Update
		if rng.IntN(6) == 0 {
			update = s.UpdateBackground
		}
		err := update(func(w kv.Writer) error {
			checkScans(t, rng, w, m, fmt.Sprintf("step %d, before", step))
			if err := write(w, ops); err != nil {
				return err
			}
			checkScans(t, rng, w, next, fmt.Sprintf("step %d, inside", step))
			if fail {
				return errors.New("rolled back")
			}
			return nil
		})
		if fail != (err != nil) {
			t.Fatalf("step %d: Update = %v", step, err)
		}
		if !fail {
			m = next
		}
		if err := s.View(func(r kv.Reader) error {
			checkScans(t, rng, r, m, fmt.Sprintf("step %d, after", step))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		switch rng.IntN(40) {
		case 0:
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s = openTestWAL(t, path, opts)
		case 1:
			store, log := crashCopy(t, s)
			s.Close()
			s = reopen(t, store, log, opts)
			path = s.Path()
		}
		if got := viewModel(t, s); !equalModels(got, m) {
			t.Fatalf("step %d: store %v, want %v", step, got, m)
		}
	}
	var problems []error
	if err := s.Check(func(e error) { problems = append(problems, e) }); err != nil || len(problems) > 0 {
		t.Fatalf("Check = %v, %v", err, problems)
	}
}

// TestViewsDuringCheckpoints runs Views while one writer commits (small commits through the
// log, big ones straight to bbolt, a checkpoint every few commits): every View must see one
// commit whole. The keys are accounts, and each commit moves an amount between two of them (or
// deletes them all and puts them back): a View that mixed two commits sees another total.
func TestViewsDuringCheckpoints(t *testing.T) {
	rng := rand.New(rand.NewPCG(seed(t), 11))
	s := openTestWAL(t, filepath.Join(t.TempDir(), "s.db"),
		WALOptions{NoSync: true, CheckpointBytes: 4 << 10, DirectBytes: 8 << 10})
	defer s.Close()
	// Widen the moment between a checkpoint's bbolt commit and the overlay's publishing, when
	// a View must not pair the new bbolt state with the old overlay.
	testAfterApply = func() { time.Sleep(200 * time.Microsecond) }
	defer func() { testAfterApply = nil }()
	const keys, total = 20, 20 * 100
	acct := make([]int, keys)
	for i := range acct {
		acct[i] = 100
	}
	value := func(n, pad int) []byte { return fmt.Appendf(nil, "%d/%s", n, bytes.Repeat([]byte("x"), pad)) }
	put := func(w kv.Writer, k, pad int) error {
		return w.Put(0, []byte(fmt.Sprintf("k%02d", k)), value(acct[k], pad))
	}
	if err := s.Update(func(w kv.Writer) error {
		for k := range keys {
			if err := put(w, k, 0); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	commits := 400
	if testing.Short() {
		commits = 100
	}
	var done atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !done.Load() {
				err := s.View(func(r kv.Reader) error {
					n, sum := 0, 0
					if err := r.Scan(0, nil, nil, func(k, v []byte) bool {
						a, _ := strconv.Atoi(string(v[:bytes.IndexByte(v, '/')]))
						n, sum = n+1, sum+a
						return true
					}); err != nil {
						return err
					}
					if n != keys || sum != total {
						return fmt.Errorf("a View saw %d accounts holding %d, want %d holding %d", n, sum, keys, total)
					}
					return nil
				})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for i := range commits {
		pad := 0
		if i%13 == 0 {
			pad = 9000 // a commit big enough to go straight to bbolt
		}
		update := s.Update
		if i%7 == 0 {
			update = s.UpdateBackground
		}
		err := update(func(w kv.Writer) error {
			if i%29 == 0 {
				if _, err := w.DeleteRange(0, nil, nil); err != nil {
					return err
				}
				for k := range keys {
					if err := put(w, k, 0); err != nil {
						return err
					}
				}
			}
			a, b := rng.IntN(keys), rng.IntN(keys)
			x := rng.IntN(acct[a] + 1)
			acct[a] -= x
			acct[b] += x
			if err := put(w, a, pad); err != nil {
				return err
			}
			return put(w, b, pad)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	done.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// FuzzLog feeds arbitrary bytes to the log parser (as the log of a store with salt 1,
// generation 1): it must not panic, and the commits it accepts must encode back to the bytes it
// accepted.
func FuzzLog(f *testing.F) {
	salt, gen := uint64(1), uint64(1)
	hdr := logHeader{salt: salt, gen: gen}.encode()
	log := bytes.Clone(hdr)
	for _, c := range commitsFixture() {
		log = append(log, encodeRecord(c, salt, gen)...)
	}
	f.Add(log)
	f.Add(log[:len(log)-3])
	f.Add(hdr)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		commits, end, err := parseLog(data, salt, gen)
		if end < logHeaderSize || end > max(len(data), logHeaderSize) {
			t.Fatalf("end %d outside the log of %d bytes", end, len(data))
		}
		if len(commits) == 0 {
			return
		}
		re := bytes.Clone(data[:logHeaderSize])
		for _, c := range commits {
			re = append(re, encodeRecord(c, salt, gen)...)
		}
		if err == nil && !bytes.Equal(re, data[:end]) {
			t.Fatalf("the %d commits accepted do not encode back to the %d bytes accepted", len(commits), end)
		}
		if n, _ := validAfter(data, end, salt, gen); err == nil && n > 0 {
			t.Fatalf("%d valid records after the %d accepted were dropped without a word", n, len(commits))
		}
		m := model{}
		for _, c := range commits {
			m.apply(c) // no panic on any op the parser accepted
		}
	})
}

// FuzzLogRecovery damages the log of a crashed store (garbage written at pos, then the log
// cut at cut, if cut is inside it) and opens the store: Open must either hold exactly the
// commits whose records precede the first damaged byte, or fail with ErrLoss; it must fail if
// a record after the damage is still whole and in place (the damage is not a torn tail), and
// may fail otherwise only for damage to the header. No input may panic.
func FuzzLogRecovery(f *testing.F) {
	store, log, ends := logFixture(f)
	states := fixtureStates(commitsFixture())
	f.Add(uint16(ends[0]+3), []byte{0xff}, uint16(0))        // a flip in the second record
	f.Add(uint16(ends[len(ends)-2]+5), []byte{0}, uint16(0)) // a flip in the last record: torn
	f.Add(uint16(4), []byte{1, 2, 3}, uint16(0))             // the header
	f.Add(uint16(ends[1]), make([]byte, 40), uint16(ends[3]+7))
	f.Add(uint16(0), []byte("junk junk junk junk junk junk junk junk"), uint16(0))
	f.Fuzz(func(t *testing.T, pos uint16, garbage []byte, cut uint16) {
		damaged := bytes.Clone(log)
		if len(garbage) > 0 {
			p := int(pos) % len(damaged)
			copy(damaged[p:], garbage)
		}
		if int(cut) > 0 && int(cut) < len(damaged) {
			damaged = damaged[:cut]
		}
		d := 0 // the first byte that differs from the log
		for d < len(damaged) && damaged[d] == log[d] {
			d++
		}
		k := recordOf(ends, d) // the first record not whole (len(ends): none)
		intactAfter := false
		for j := k + 1; j < len(ends); j++ {
			start := logHeaderSize
			if j > 0 {
				start = ends[j-1]
			}
			if start >= d && ends[j] <= len(damaged) && bytes.Equal(damaged[start:ends[j]], log[start:ends[j]]) {
				intactAfter = true
			}
		}
		s, _, err := reopenErr(t, store, damaged, WALOptions{NoSync: true})
		switch {
		case err != nil && !errors.Is(err, kv.ErrLoss):
			t.Fatalf("Open: %v; want success or ErrLoss", err)
		case err != nil && !intactAfter && d >= logHeaderSize:
			t.Fatalf("Open refused a torn tail (first damaged byte %d, record %d): %v", d, k, err)
		case err == nil && intactAfter:
			t.Fatalf("record %d damaged (byte %d) and a whole record after it, but Open succeeded", k, d)
		case err == nil:
			want := max(k, 0)
			if got := viewModel(t, s); !equalModels(got, states[want]) {
				t.Fatalf("damage at byte %d: store holds %v, want the first %d commits", d, got, want)
			}
		}
	})
}

// BenchmarkLogBlocks measures what reusing the log's blocks after a reset saves: records of
// 4 KiB, each followed by fdatasync, appended to a file that grows with them (as after a
// truncating reset) or written over blocks the file already has (as after this WAL's reset).
func BenchmarkLogBlocks(b *testing.B) {
	for _, mode := range []string{"grow", "reuse"} {
		b.Run(mode, func(b *testing.B) {
			f, err := os.Create(filepath.Join(b.TempDir(), "log"))
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			rec := bytes.Repeat([]byte("r"), 4096)
			const span = 16 << 20
			if mode == "reuse" {
				for off := 0; off < span; off += len(rec) {
					f.WriteAt(rec, int64(off))
				}
				f.Sync()
			}
			off := int64(0)
			for b.Loop() {
				if off+int64(len(rec)) > span {
					off = 0
					if mode == "grow" {
						f.Truncate(0)
					}
				}
				if _, err := f.WriteAt(rec, off); err != nil {
					b.Fatal(err)
				}
				if err := unix.Fdatasync(int(f.Fd())); err != nil {
					b.Fatal(err)
				}
				off += int64(len(rec))
			}
		})
	}
}

// TestWriteGather checks that a record written from the values (writeGather) is byte for byte
// the record appendRecord encodes, for random commits with big and empty values.
func TestWriteGather(t *testing.T) {
	rng := rand.New(rand.NewPCG(seed(t), 13))
	s := openTestWAL(t, filepath.Join(t.TempDir(), "s.db"), WALOptions{NoSync: true})
	defer s.Close()
	s.wmu.Lock()
	defer s.wmu.Unlock()
	for i := range 50 {
		ops := randomOps(rng, 1+rng.IntN(3000), true)
		if i == 0 {
			ops = append(ops, op{kind: opPut, b: 2, key: []byte("big"), val: make([]byte, 3<<20)})
		}
		n, err := s.writeGather(ops)
		if err != nil {
			t.Fatal(err)
		}
		got := make([]byte, n)
		if _, err := s.log.ReadAt(got, s.end); err != nil {
			t.Fatal(err)
		}
		if want := encodeRecord(ops, s.salt, s.gen); !bytes.Equal(got, want) {
			t.Fatalf("commit %d: writeGather wrote %d bytes, not the %d-byte record", i, n, len(want))
		}
	}
}
