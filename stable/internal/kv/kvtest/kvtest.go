// Package kvtest is the conformance kit of the kv seam: it checks that an engine gives the
// stable package what it relies on. Every engine runs it from a test of its own package:
//
//	func TestKit(t *testing.T) {
//		kvtest.Run(t, kvtest.Engine{New: ..., Open: myengine.Open, Damage: ...})
//	}
//
// What it checks: buckets that exist once a Put created them; Get, Put, Delete, an ordered
// Scan with bounds and a ranged Delete, against a model, in random workloads whose seed is
// printed and read back from $KVTEST_SEED; an Update that fails changes nothing; an Update reads
// its own writes; values survive Close and a new Open; empty values; big values (up to 9 MiB,
// and commits bigger than the log an engine may keep); the lifetime of slices (a slice a View
// got does not change until the View returns, whatever commits meanwhile; a value given to Put
// may be reused once the Update returned); Views that see one committed state while Updates
// commit (also under -race); UpdateBackground and Detach; ErrLocked, ErrInvalid and ErrCorrupt
// on Open, fs.ErrPermission on a read-only store, ErrClosed after Close, ErrNoSpace through
// Options.Fault; and atomic commits across a crash: the test binary runs again as a child that
// commits in a loop and dies at one of the engine's failpoints (stable/internal/failpoint) or
// by SIGKILL, after which every commit it reported is in the store, and every commit is there
// whole or not at all.
//
// The crash test re-runs the test binary with -test.run set to the crash subtest's name, so
// the test that calls Run must be reachable that way (a top-level Test function, no t.Parallel
// siblings needed).
package kvtest

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"

	"github.com/wasmrun/wasmrun/stable/internal/failpoint"
	"github.com/wasmrun/wasmrun/stable/internal/kv"
)

// Engine tells the kit how to make and open stores of one engine.
type Engine struct {
	// New makes a new, empty place for a store (a file, an etcd key prefix) and returns its
	// name, which Open takes. It is called in the test's own process, once per subtest.
	New func(t *testing.T) string

	// Open opens the store at where; the kit sets opts.Buckets (three buckets),
	// opts.LockTimeout (zero: one try) and opts.LogBytes (64 KiB, so that an engine with a log
	// checkpoints often). It is called in the crash test's child processes too.
	Open kv.Opener

	// Damage changes the closed store at where so that opening it must fail with want:
	// kv.ErrInvalid (the place no longer holds a store of this engine at all) or kv.ErrCorrupt
	// (a store of this engine, damaged). Nil skips these two checks: an engine whose stores
	// cannot be damaged from outside says so here, in a comment at its Engine.
	Damage func(t *testing.T, where string, want error)

	// Fault reports that the engine honours Options.Fault (every Put past the budget fails).
	Fault bool

	// Failpoints are the failpoints (stable/internal/failpoint) the engine's commits pass:
	// the crash test kills a child at each of them, besides killing children at random
	// moments.
	Failpoints []failpoint.Name

	// NoCrash skips the crash test (for an engine whose process holds nothing of a commit
	// after the commit returns, e.g. a remote one whose server is not crashed by the kit).
	NoCrash bool
}

// The buckets the kit's stores have.
const (
	b0 kv.Bucket = iota
	b1
	b2
	nBuckets
)

var buckets = []kv.BucketSpec{{Name: "zero"}, {Name: "one", FillPercent: 1}, {Name: "two"}}

// logBytes is the log size the kit asks engines with a log to checkpoint at.
const logBytes = 64 << 10

// Run runs the kit against e: one subtest per property.
func Run(t *testing.T, e Engine) {
	if e.New == nil || e.Open == nil {
		t.Fatal("kvtest: Engine.New and Engine.Open are required")
	}
	k := &kit{e: e}
	t.Run("crash", k.testCrash)
	if os.Getenv(childEnv) != "" {
		return // a crash child runs nothing else
	}
	t.Run("fresh", k.testFresh)
	t.Run("buckets", k.testBuckets)
	t.Run("rollback", k.testRollback)
	t.Run("ownWrites", k.testOwnWrites)
	t.Run("model", k.testModel)
	t.Run("emptyValues", k.testEmptyValues)
	t.Run("bigValues", k.testBigValues)
	t.Run("putOwnership", k.testPutOwnership)
	t.Run("viewSlices", k.testViewSlices)
	t.Run("isolation", k.testIsolation)
	t.Run("concurrent", k.testConcurrent)
	t.Run("background", k.testBackground)
	t.Run("detach", k.testDetach)
	t.Run("locked", k.testLocked)
	t.Run("readOnly", k.testReadOnly)
	t.Run("closed", k.testClosed)
	t.Run("check", k.testCheck)
	if e.Damage != nil {
		t.Run("invalid", func(t *testing.T) { k.testDamage(t, kv.ErrInvalid) })
		t.Run("corrupt", func(t *testing.T) { k.testDamage(t, kv.ErrCorrupt) })
	}
	if e.Fault {
		t.Run("noSpace", k.testNoSpace)
	}
}

type kit struct{ e Engine }

func (k *kit) options(ro bool) kv.Options {
	return kv.Options{Buckets: buckets, ReadOnly: ro, LogBytes: logBytes}
}

// open opens the store at where for writing, closed at the end of the test.
func (k *kit) open(t *testing.T, where string) kv.Store {
	t.Helper()
	return k.openOpts(t, where, k.options(false))
}

func (k *kit) openOpts(t *testing.T, where string, opts kv.Options) kv.Store {
	t.Helper()
	s, err := k.e.Open(where, opts)
	if err != nil {
		t.Fatalf("open %s: %v", where, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// fresh opens a new store.
func (k *kit) fresh(t *testing.T) (kv.Store, string) {
	t.Helper()
	where := k.e.New(t)
	return k.open(t, where), where
}

func (k *kit) reopen(t *testing.T, s kv.Store, where string) kv.Store {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	return k.open(t, where)
}

func update(t *testing.T, s kv.Store, fn func(w kv.Writer) error) {
	t.Helper()
	if err := s.Update(fn); err != nil {
		t.Fatalf("update: %v", err)
	}
}

func view(t *testing.T, s kv.Store, fn func(r kv.Reader) error) {
	t.Helper()
	if err := s.View(fn); err != nil {
		t.Fatalf("view: %v", err)
	}
}

// get returns a copy of the value of key, and whether there is one.
func get(t *testing.T, s kv.Store, b kv.Bucket, key string) (string, bool) {
	t.Helper()
	var v []byte
	view(t, s, func(r kv.Reader) error {
		v = bytes.Clone(r.Get(b, []byte(key)))
		return nil
	})
	return string(v), v != nil
}

// seed returns the seed of a randomised subtest: $KVTEST_SEED if set, else a fresh one,
// logged so that a failure can be replayed.
func seed(t *testing.T) uint64 {
	t.Helper()
	s := rand.Uint64()
	if v := os.Getenv("KVTEST_SEED"); v != "" {
		var err error
		if s, err = strconv.ParseUint(v, 10, 64); err != nil {
			t.Fatalf("KVTEST_SEED: %v", err)
		}
	}
	t.Logf("seed %d (replay with KVTEST_SEED=%d)", s, s)
	return s
}

func (k *kit) testFresh(t *testing.T) {
	s, _ := k.fresh(t)
	view(t, s, func(r kv.Reader) error {
		for b := range nBuckets {
			if r.Exists(b) {
				t.Errorf("a fresh store has bucket %d", b)
			}
			if v := r.Get(b, []byte("k")); v != nil {
				t.Errorf("Get in a fresh store: %q", v)
			}
			n := 0
			if err := r.Scan(b, nil, nil, func(_, _ []byte) bool { n++; return true }); err != nil {
				t.Errorf("Scan of a missing bucket: %v", err)
			}
			if n != 0 {
				t.Errorf("Scan of a missing bucket found %d keys", n)
			}
		}
		return nil
	})
	// Deleting from a bucket that does not exist is no error and creates nothing.
	update(t, s, func(w kv.Writer) error {
		if err := w.Delete(b1, []byte("k")); err != nil {
			return err
		}
		n, err := w.DeleteRange(b1, nil, nil)
		if n != 0 {
			t.Errorf("DeleteRange of a missing bucket removed %d", n)
		}
		return err
	})
}

func (k *kit) testBuckets(t *testing.T) {
	s, where := k.fresh(t)
	update(t, s, func(w kv.Writer) error {
		if err := w.Put(b1, []byte("k"), []byte("v")); err != nil {
			return err
		}
		if !w.Exists(b1) {
			t.Error("a bucket is missing in the Update that created it")
		}
		return nil
	})
	check := func(s kv.Store, when string) {
		view(t, s, func(r kv.Reader) error {
			if r.Exists(b0) || !r.Exists(b1) || r.Exists(b2) {
				t.Errorf("%s: buckets %v %v %v, want false true false", when, r.Exists(b0), r.Exists(b1), r.Exists(b2))
			}
			return nil
		})
	}
	check(s, "after the commit")
	// A bucket stays when its last key goes.
	update(t, s, func(w kv.Writer) error { return w.Delete(b1, []byte("k")) })
	check(s, "after its last key was deleted")
	check(k.reopen(t, s, where), "after a reopen")
}

var errFail = errors.New("kvtest: fn fails")

func (k *kit) testRollback(t *testing.T) {
	s, where := k.fresh(t)
	update(t, s, func(w kv.Writer) error {
		for i := range 10 {
			if err := w.Put(b0, fmt.Appendf(nil, "k%d", i), []byte("old")); err != nil {
				return err
			}
		}
		return nil
	})
	for _, up := range []struct {
		name string
		fn   func(func(kv.Writer) error) error
	}{{"Update", s.Update}, {"UpdateBackground", s.UpdateBackground}} {
		err := up.fn(func(w kv.Writer) error {
			_ = w.Put(b0, []byte("k1"), []byte("new"))
			_ = w.Put(b0, []byte("new"), []byte("new"))
			_ = w.Put(b2, []byte("new"), []byte("new")) // creates b2
			_ = w.Delete(b0, []byte("k2"))
			_, _ = w.DeleteRange(b0, []byte("k5"), nil)
			return fmt.Errorf("wrapped: %w", errFail)
		})
		if !errors.Is(err, errFail) {
			t.Errorf("%s returned %v, want fn's error", up.name, err)
		}
	}
	for i := range 2 {
		if i == 1 {
			s = k.reopen(t, s, where)
		}
		view(t, s, func(r kv.Reader) error {
			if r.Exists(b2) {
				t.Error("a failed Update created a bucket")
			}
			got := dump(t, r, b0)
			want := map[string]string{}
			for i := range 10 {
				want[fmt.Sprintf("k%d", i)] = "old"
			}
			if !mapsEqual(got, want) {
				t.Errorf("after failed Updates: %v, want %v", got, want)
			}
			return nil
		})
	}
}

func (k *kit) testOwnWrites(t *testing.T) {
	s, _ := k.fresh(t)
	update(t, s, func(w kv.Writer) error {
		for _, key := range []string{"a", "b", "c", "d", "e"} {
			if err := w.Put(b1, []byte(key), []byte("1")); err != nil {
				return err
			}
		}
		return nil
	})
	update(t, s, func(w kv.Writer) error {
		_ = w.Put(b1, []byte("a"), []byte("2"))
		_ = w.Put(b1, []byte("f"), []byte("2"))
		_ = w.Delete(b1, []byte("b"))
		n, err := w.DeleteRange(b1, []byte("c"), []byte("e"))
		if err != nil || n != 2 {
			t.Errorf("DeleteRange [c, e): %d, %v; want 2", n, err)
		}
		_ = w.Put(b1, []byte("d"), []byte("3")) // back inside the deleted range
		if v := w.Get(b1, []byte("a")); string(v) != "2" {
			t.Errorf("Get of a key put in this Update: %q", v)
		}
		if v := w.Get(b1, []byte("b")); v != nil {
			t.Errorf("Get of a key deleted in this Update: %q", v)
		}
		got := dump(t, w, b1)
		want := map[string]string{"a": "2", "d": "3", "e": "1", "f": "2"}
		if !mapsEqual(got, want) {
			t.Errorf("Scan inside the Update: %v, want %v", got, want)
		}
		return nil
	})
}

// dump returns the keys and values of b (copied), checking that Scan gives them in ascending
// order.
func dump(t *testing.T, r kv.Reader, b kv.Bucket) map[string]string {
	t.Helper()
	m := map[string]string{}
	var last []byte
	err := r.Scan(b, nil, nil, func(k, v []byte) bool {
		if last != nil && bytes.Compare(last, k) >= 0 {
			t.Errorf("Scan out of order: %q after %q", k, last)
		}
		last = bytes.Clone(k)
		m[string(k)] = string(v)
		return true
	})
	if err != nil {
		t.Errorf("Scan: %v", err)
	}
	return m
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// model is the reference store: bucket -> key -> value.
type model [nBuckets]map[string]string

func newModel() *model {
	var m model
	for b := range m {
		m[b] = map[string]string{}
	}
	return &m
}

func (m *model) clone() *model {
	c := newModel()
	for b := range m {
		for k, v := range m[b] {
			c[b][k] = v
		}
	}
	return c
}

// randKey returns a key from a small alphabet that includes 0x00 and 0xff, so that keys share
// prefixes and bounds fall between keys, on keys and outside them.
func randKey(rng *rand.Rand) []byte {
	n := 1 + rng.IntN(4)
	k := make([]byte, n)
	for i := range k {
		k[i] = []byte{0x00, 'a', 'b', 'c', 0xff}[rng.IntN(5)]
	}
	return k
}

func randBound(rng *rand.Rand) []byte {
	if rng.IntN(5) == 0 {
		return nil
	}
	return randKey(rng)
}

func inRange(k string, from, to []byte) bool {
	return k >= string(from) && (to == nil || k < string(to))
}

// testModel runs random commits against the store and a model and compares scans (whole, with
// random bounds, stopped early) and point reads after every commit, and after a reopen.
func (k *kit) testModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(seed(t), 1))
	s, where := k.fresh(t)
	m := newModel()
	commits := 300
	if testing.Short() {
		commits = 100
	}
	for i := range commits {
		next := m.clone()
		up := s.Update
		if rng.IntN(4) == 0 {
			up = s.UpdateBackground
		}
		err := up(func(w kv.Writer) error {
			for range 1 + rng.IntN(20) {
				b := kv.Bucket(rng.IntN(int(nBuckets)))
				key := randKey(rng)
				switch r := rng.IntN(10); {
				case r < 6:
					val := make([]byte, rng.IntN(64))
					for j := range val {
						val[j] = byte(rng.Uint32())
					}
					if rng.IntN(10) == 0 {
						val = make([]byte, 8<<10+rng.IntN(40<<10)) // a page or several
					}
					if err := w.Put(b, key, val); err != nil {
						return err
					}
					next[b][string(key)] = string(val)
				case r < 8:
					if err := w.Delete(b, key); err != nil {
						return err
					}
					delete(next[b], string(key))
				default:
					from, to := randBound(rng), randBound(rng)
					want := 0
					for k := range next[b] {
						if inRange(k, from, to) {
							delete(next[b], k)
							want++
						}
					}
					n, err := w.DeleteRange(b, from, to)
					if err != nil {
						return err
					}
					if n != want {
						t.Errorf("commit %d: DeleteRange(%q, %q) removed %d, want %d", i, from, to, n, want)
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("commit %d: %v", i, err)
		}
		m = next
		k.compare(t, rng, s, m, fmt.Sprintf("commit %d", i))
		if t.Failed() {
			return
		}
		if rng.IntN(100) == 0 {
			s = k.reopen(t, s, where)
			k.compare(t, rng, s, m, fmt.Sprintf("reopen after commit %d", i))
		}
	}
	s = k.reopen(t, s, where)
	k.compare(t, rng, s, m, "the last reopen")
}

// compare checks the store against m: every bucket whole, a few scans with random bounds and
// early stops, and point reads.
func (k *kit) compare(t *testing.T, rng *rand.Rand, s kv.Store, m *model, when string) {
	t.Helper()
	view(t, s, func(r kv.Reader) error {
		for b := range nBuckets {
			if got := dump(t, r, b); !mapsEqual(got, m[b]) {
				t.Errorf("%s: bucket %d holds %d keys, want %d:\n got %q\nwant %q", when, b, len(got), len(m[b]), got, m[b])
			}
			for range 3 {
				from, to := randBound(rng), randBound(rng)
				limit := rng.IntN(5)
				var want []string
				for k := range m[b] {
					if inRange(k, from, to) {
						want = append(want, k)
					}
				}
				slices.Sort(want)
				if limit > 0 && len(want) > limit {
					want = want[:limit]
				}
				var got []string
				err := r.Scan(b, from, to, func(k, _ []byte) bool {
					got = append(got, string(k))
					return limit == 0 || len(got) < limit
				})
				if err != nil || !slices.Equal(got, want) {
					t.Errorf("%s: Scan(%d, %q, %q) limit %d: %q, %v; want %q", when, b, from, to, limit, got, err, want)
				}
				key := randKey(rng)
				v := r.Get(b, key)
				if w, ok := m[b][string(key)]; ok != (v != nil) || string(v) != w {
					t.Errorf("%s: Get(%d, %q) = %q (nil %v), want %q (present %v)", when, b, key, v, v == nil, w, ok)
				}
			}
		}
		return nil
	})
}

// testEmptyValues: a nil or empty value is a key that exists, with an empty, non-nil value.
func (k *kit) testEmptyValues(t *testing.T) {
	s, where := k.fresh(t)
	update(t, s, func(w kv.Writer) error {
		if err := w.Put(b0, []byte("nil"), nil); err != nil {
			return err
		}
		return w.Put(b0, []byte("empty"), []byte{})
	})
	for i := range 2 {
		if i == 1 {
			s = k.reopen(t, s, where)
		}
		view(t, s, func(r kv.Reader) error {
			for _, key := range []string{"nil", "empty"} {
				if v := r.Get(b0, []byte(key)); v == nil || len(v) != 0 {
					t.Errorf("Get of a key put with a %s value: %q (nil %v), want empty and not nil", key, v, v == nil)
				}
			}
			n := 0
			_ = r.Scan(b0, nil, nil, func(_, v []byte) bool { n++; return len(v) == 0 })
			if n != 2 {
				t.Errorf("Scan found %d empty values, want 2", n)
			}
			return nil
		})
	}
}

// bigValue returns a value of n bytes that depends on seed.
func bigValue(n int, seed byte) []byte {
	v := make([]byte, n)
	for i := range v {
		v[i] = byte(i*7) ^ seed ^ byte(i>>13)
	}
	return v
}

// testBigValues: values of up to 9 MiB, alone and in commits far bigger than the log an engine
// may keep (LogBytes), through Update and UpdateBackground, read back before and after a
// reopen.
func (k *kit) testBigValues(t *testing.T) {
	s, where := k.fresh(t)
	sizes := []int{64 << 10, 1<<20 - 1, 1 << 20, 3 << 20, 9 << 20}
	want := map[string]string{}
	for i, n := range sizes {
		key := fmt.Sprintf("big%d", i)
		val := bigValue(n, byte(i))
		up := s.Update
		if i%2 == 1 {
			up = s.UpdateBackground
		}
		if err := up(func(w kv.Writer) error { return w.Put(b1, []byte(key), val) }); err != nil {
			t.Fatalf("commit of %d bytes: %v", n, err)
		}
		want[key] = string(val)
	}
	// One commit of many values, 4 MiB in all.
	update(t, s, func(w kv.Writer) error {
		for i := range 64 {
			key := fmt.Sprintf("many%03d", i)
			val := bigValue(64<<10, byte(i))
			want[key] = string(val)
			if err := w.Put(b1, []byte(key), val); err != nil {
				return err
			}
		}
		return nil
	})
	for i := range 2 {
		if i == 1 {
			s = k.reopen(t, s, where)
		}
		view(t, s, func(r kv.Reader) error {
			if got := dump(t, r, b1); !mapsEqual(got, want) {
				t.Errorf("big values differ (%d keys, want %d)", len(got), len(want))
			}
			return nil
		})
	}
}

// testPutOwnership: a value given to Put may be changed once the Update returned.
func (k *kit) testPutOwnership(t *testing.T) {
	s, where := k.fresh(t)
	small := []byte("original")
	big := bigValue(2<<20, 1)
	wantBig := bytes.Clone(big)
	for _, up := range []func(func(kv.Writer) error) error{s.Update, s.UpdateBackground} {
		if err := up(func(w kv.Writer) error {
			if err := w.Put(b0, []byte("small"), small); err != nil {
				return err
			}
			return w.Put(b0, []byte("big"), big)
		}); err != nil {
			t.Fatal(err)
		}
		copy(small, "CHANGED!")
		clear(big)
		if v, _ := get(t, s, b0, "small"); v != "original" {
			t.Errorf("the store's value changed with the caller's buffer: %q", v)
		}
		if v, _ := get(t, s, b0, "big"); v != string(wantBig) {
			t.Error("the store's big value changed with the caller's buffer")
		}
		small = []byte("original")
		big = bytes.Clone(wantBig)
	}
	s = k.reopen(t, s, where)
	if v, _ := get(t, s, b0, "small"); v != "original" {
		t.Errorf("after a reopen: %q", v)
	}
}

// busyWait lets other goroutines run for a while without waiting for anything they do (an
// engine may hold an Update until a View ends): it yields until done is closed or n yields.
func busyWait(done <-chan struct{}, n int) {
	for range n {
		select {
		case <-done:
			return
		default:
			runtime.Gosched()
		}
	}
}

// testViewSlices: the slices a View got do not change until the View returns, while Updates
// overwrite and delete their keys (and an engine with a log checkpoints).
func (k *kit) testViewSlices(t *testing.T) {
	s, _ := k.fresh(t)
	update(t, s, func(w kv.Writer) error {
		for i := range 8 {
			if err := w.Put(b1, fmt.Appendf(nil, "k%d", i), bigValue(100<<10, byte(i))); err != nil {
				return err
			}
		}
		return nil
	})
	for round := range 3 {
		done := make(chan struct{})
		var uerr error
		view(t, s, func(r kv.Reader) error {
			var got, want [][]byte
			for i := range 8 {
				v := r.Get(b1, fmt.Appendf(nil, "k%d", i))
				got = append(got, v)
				want = append(want, bytes.Clone(v))
			}
			_ = r.Scan(b1, nil, nil, func(_, v []byte) bool {
				got = append(got, v)
				want = append(want, bytes.Clone(v))
				return true
			})
			go func() {
				defer close(done)
				for j := range 12 {
					uerr = s.Update(func(w kv.Writer) error {
						for i := range 8 {
							key := fmt.Appendf(nil, "k%d", i)
							var err error
							if (i+j)%3 == 0 {
								err = w.Delete(b1, key)
							} else {
								err = w.Put(b1, key, bigValue(100<<10, byte(round*100+j*10+i)))
							}
							if err != nil {
								return err
							}
						}
						return nil
					})
					if uerr != nil {
						return
					}
				}
			}()
			busyWait(done, 20000)
			for i := range got {
				if !bytes.Equal(got[i], want[i]) {
					t.Errorf("round %d: slice %d a View got changed before the View returned", round, i)
				}
			}
			return nil
		})
		<-done
		if uerr != nil {
			t.Fatal(uerr)
		}
	}
}

// testIsolation: a View begun before an Update sees none of it, however far the Update got,
// and a View begun after it returned sees all of it.
func (k *kit) testIsolation(t *testing.T) {
	s, _ := k.fresh(t)
	update(t, s, func(w kv.Writer) error {
		for i := range 100 {
			if err := w.Put(b0, fmt.Appendf(nil, "k%03d", i), []byte("old")); err != nil {
				return err
			}
		}
		return nil
	})
	done := make(chan struct{})
	var uerr error
	view(t, s, func(r kv.Reader) error {
		before := dump(t, r, b0)
		go func() {
			defer close(done)
			uerr = s.Update(func(w kv.Writer) error {
				for i := range 100 {
					if err := w.Put(b0, fmt.Appendf(nil, "k%03d", i), bigValue(4<<10, byte(i))); err != nil {
						return err
					}
				}
				if _, err := w.DeleteRange(b0, []byte("k050"), []byte("k060")); err != nil {
					return err
				}
				return w.Put(b2, []byte("new"), nil)
			})
		}()
		busyWait(done, 20000)
		if r.Exists(b2) {
			t.Error("a View sees a bucket an Update created after it began")
		}
		if got := dump(t, r, b0); !mapsEqual(got, before) {
			t.Error("a View sees an Update that began after it")
		}
		return nil
	})
	<-done
	if uerr != nil {
		t.Fatal(uerr)
	}
	view(t, s, func(r kv.Reader) error {
		got := dump(t, r, b0)
		if len(got) != 90 || got["k000"] != string(bigValue(4<<10, 0)) || !r.Exists(b2) {
			t.Errorf("a View after the Update does not see it: %d keys", len(got))
		}
		return nil
	})
}

// testConcurrent runs Views and Updates at once (run it with -race): each commit writes the
// same counter into keys of two buckets and rewrites a run of keys, and every View must see one
// commit whole, the same through Get and Scan, and never an older one than a View before it.
func (k *kit) testConcurrent(t *testing.T) {
	s, _ := k.fresh(t)
	commits := 150
	if testing.Short() {
		commits = 50
	}
	update(t, s, func(w kv.Writer) error { return writeGen(w, 0) })
	var wg sync.WaitGroup
	stop := make(chan struct{})
	errs := make(chan error, 8)
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			last := uint64(0)
			for {
				select {
				case <-stop:
					return
				default:
				}
				var g uint64
				err := s.View(func(r kv.Reader) error {
					var err error
					g, err = readGen(r)
					return err
				})
				if err != nil {
					errs <- err
					return
				}
				if g < last {
					errs <- fmt.Errorf("a View saw commit %d after one saw %d", g, last)
					return
				}
				last = g
			}
		}()
	}
	for i := 1; i <= commits; i++ {
		up := s.Update
		if i%5 == 0 {
			up = s.UpdateBackground
		}
		if err := up(func(w kv.Writer) error { return writeGen(w, uint64(i)) }); err != nil {
			t.Errorf("commit %d: %v", i, err)
			break
		}
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// writeGen writes commit g of testConcurrent: g in b0 and b2, and keys g%7 .. g%7+20 of b1 set
// to g (the others of 0..27 deleted by range).
func writeGen(w kv.Writer, g uint64) error {
	v := strconv.AppendUint(nil, g, 10)
	if err := w.Put(b0, []byte("gen"), v); err != nil {
		return err
	}
	if _, err := w.DeleteRange(b1, nil, nil); err != nil {
		return err
	}
	for i := g % 7; i < g%7+20; i++ {
		if err := w.Put(b1, fmt.Appendf(nil, "k%02d", i), append(v, bytes.Repeat([]byte{'.'}, 1000)...)); err != nil {
			return err
		}
	}
	return w.Put(b2, []byte("gen"), v)
}

// readGen reads the commit a View sees and checks that it is whole.
func readGen(r kv.Reader) (uint64, error) {
	a, b := string(r.Get(b0, []byte("gen"))), string(r.Get(b2, []byte("gen")))
	if a != b {
		return 0, fmt.Errorf("a View sees commit %s in one bucket and %s in another", a, b)
	}
	g, err := strconv.ParseUint(a, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("gen %q: %v", a, err)
	}
	n := uint64(0)
	var bad error
	err = r.Scan(b1, nil, nil, func(k, v []byte) bool {
		want := fmt.Sprintf("k%02d", g%7+n)
		if string(k) != want || !bytes.HasPrefix(v, []byte(a+".")) {
			bad = fmt.Errorf("commit %d: key %q (value %.10q), want %s", g, k, v, want)
			return false
		}
		n++
		return true
	})
	if err == nil {
		err = bad
	}
	if err == nil && n != 20 {
		err = fmt.Errorf("commit %d: %d keys in b1, want 20", g, n)
	}
	return g, err
}

// testBackground: UpdateBackground commits are Update commits: seen at once, kept across a
// reopen, interleaved with Updates in order.
func (k *kit) testBackground(t *testing.T) {
	s, where := k.fresh(t)
	for i := range 20 {
		up := s.Update
		if i%2 == 0 {
			up = s.UpdateBackground
		}
		if err := up(func(w kv.Writer) error {
			if _, err := w.DeleteRange(b0, nil, nil); err != nil {
				return err
			}
			return w.Put(b0, fmt.Appendf(nil, "k%02d", i), nil)
		}); err != nil {
			t.Fatal(err)
		}
		view(t, s, func(r kv.Reader) error {
			if got := dump(t, r, b0); len(got) != 1 || !mapsEqual(got, map[string]string{fmt.Sprintf("k%02d", i): ""}) {
				t.Errorf("after commit %d: %v", i, got)
			}
			return nil
		})
	}
	s = k.reopen(t, s, where)
	if _, ok := get(t, s, b0, "k19"); !ok {
		t.Error("the last commit is lost after a reopen")
	}
}

// testDetach: a detached store keeps every commit and takes new ones.
func (k *kit) testDetach(t *testing.T) {
	s, where := k.fresh(t)
	for i := range 10 {
		update(t, s, func(w kv.Writer) error { return w.Put(b0, fmt.Appendf(nil, "k%d", i), []byte("v")) })
	}
	if err := s.Detach(); err != nil {
		t.Fatalf("Detach: %v", err)
	}
	if err := s.Detach(); err != nil {
		t.Fatalf("Detach again: %v", err)
	}
	update(t, s, func(w kv.Writer) error { return w.Put(b0, []byte("after"), []byte("v")) })
	if err := s.UpdateBackground(func(w kv.Writer) error { return w.Put(b0, []byte("after2"), []byte("v")) }); err != nil {
		t.Fatal(err)
	}
	s = k.reopen(t, s, where)
	view(t, s, func(r kv.Reader) error {
		if got := dump(t, r, b0); len(got) != 12 {
			t.Errorf("after Detach and a reopen: %d keys, want 12", len(got))
		}
		return nil
	})
}

func (k *kit) testLocked(t *testing.T) {
	_, where := k.fresh(t)
	for _, ro := range []bool{false, true} {
		s, err := k.e.Open(where, k.options(ro))
		if err == nil {
			_ = s.Close()
		}
		if !errors.Is(err, kv.ErrLocked) {
			t.Errorf("a second Open (read-only %v) of a store open for writing: %v, want ErrLocked", ro, err)
		}
	}
}

func (k *kit) testReadOnly(t *testing.T) {
	s, where := k.fresh(t)
	update(t, s, func(w kv.Writer) error { return w.Put(b0, []byte("k"), []byte("v")) })
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = k.openOpts(t, where, k.options(true))
	if v, _ := get(t, s, b0, "k"); v != "v" {
		t.Errorf("read-only: %q", v)
	}
	for _, up := range []func(func(kv.Writer) error) error{s.Update, s.UpdateBackground} {
		err := up(func(w kv.Writer) error { return w.Put(b0, []byte("k"), []byte("changed")) })
		if !errors.Is(err, fs.ErrPermission) {
			t.Errorf("a commit on a read-only store: %v, want fs.ErrPermission", err)
		}
	}
	if v, _ := get(t, s, b0, "k"); v != "v" {
		t.Errorf("read-only store changed: %q", v)
	}
	if err := s.Detach(); err != nil {
		t.Errorf("Detach of a read-only store: %v", err)
	}
}

func (k *kit) testClosed(t *testing.T) {
	s, _ := k.fresh(t)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("a second Close: %v", err)
	}
	for name, err := range map[string]error{
		"View":             s.View(func(kv.Reader) error { return nil }),
		"Update":           s.Update(func(kv.Writer) error { return nil }),
		"UpdateBackground": s.UpdateBackground(func(kv.Writer) error { return nil }),
	} {
		if !errors.Is(err, kv.ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", name, err)
		}
	}
}

func (k *kit) testCheck(t *testing.T) {
	s, _ := k.fresh(t)
	update(t, s, func(w kv.Writer) error { return w.Put(b0, []byte("k"), bigValue(100<<10, 1)) })
	var problems []error
	if err := s.Check(func(p error) { problems = append(problems, p) }); err != nil {
		t.Fatalf("Check: %v", err)
	}
	if len(problems) > 0 {
		t.Errorf("Check of a sound store: %v", problems)
	}
}

// testDamage: a store damaged (by the engine's Damage) fails to open with want, and the
// failed Open leaves the place unlocked.
func (k *kit) testDamage(t *testing.T, want error) {
	s, where := k.fresh(t)
	update(t, s, func(w kv.Writer) error {
		for i := range 64 {
			if err := w.Put(b1, fmt.Appendf(nil, "k%03d", i), bigValue(32<<10, byte(i))); err != nil {
				return err
			}
		}
		return nil
	})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	k.e.Damage(t, where, want)
	for range 2 { // the second time finds the lock free
		for _, ro := range []bool{false, true} {
			s, err := k.e.Open(where, k.options(ro))
			if err == nil {
				_ = s.Close()
			}
			if !errors.Is(err, want) {
				t.Errorf("Open (read-only %v) of a damaged store: %v, want %v", ro, err, want)
			}
		}
	}
}

// testNoSpace: Puts failing with ENOSPC make the commit fail with ErrNoSpace, change nothing,
// and a commit after Heal succeeds.
func (k *kit) testNoSpace(t *testing.T) {
	where := k.e.New(t)
	var f kv.Fault
	opts := k.options(false)
	opts.Fault = &f
	s := k.openOpts(t, where, opts)
	update(t, s, func(w kv.Writer) error { return w.Put(b0, []byte("k"), []byte("v")) })
	f.Fail(1000, syscall.ENOSPC)
	for _, up := range []func(func(kv.Writer) error) error{s.Update, s.UpdateBackground} {
		err := up(func(w kv.Writer) error {
			for i := range 10 {
				if err := w.Put(b0, fmt.Appendf(nil, "k%d", i), bigValue(1000, 1)); err != nil {
					return err
				}
			}
			return nil
		})
		if !errors.Is(err, kv.ErrNoSpace) {
			t.Errorf("a commit past the Fault's budget: %v, want ErrNoSpace", err)
		}
	}
	if v, _ := get(t, s, b0, "k"); v != "v" {
		t.Errorf("a failed commit changed the store: %q", v)
	}
	f.Heal()
	update(t, s, func(w kv.Writer) error { return w.Put(b0, []byte("k"), []byte("healed")) })
	if v, _ := get(t, s, b0, "k"); v != "healed" {
		t.Errorf("after Heal: %q", v)
	}
}
