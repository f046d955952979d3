package kvtest

import (
	"bufio"
	"bytes"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wasmrun/wasmrun/stable/internal/failpoint"
	"github.com/wasmrun/wasmrun/stable/internal/kv"
)

// The environment of a crash child: childEnv is the name of the test (the crash subtest) the
// child runs; the others say where the store is and how to die.
const (
	childEnv      = "KVTEST_CRASH_CHILD"
	childWhereEnv = "KVTEST_CRASH_WHERE"
	childPointEnv = "KVTEST_CRASH_POINT" // a failpoint name, or "" for SIGKILL by the parent
	childHitEnv   = "KVTEST_CRASH_HIT"   // die at this hit of the failpoint
)

// crashExit is the exit status of a child that died at its failpoint.
const crashExit = 77

// commitsPerChild bounds the commits of a child that reaches no failpoint (a failure).
const commitsPerChild = 200

// testCrash runs children that commit in a loop (crashCommit) and die: at the n-th hit of a
// failpoint (os.Exit, with no Close: what the process wrote to its files stays, as after a
// SIGKILL) or killed by the parent after a random delay. After each, the store must hold a
// whole commit no older than the last one the child reported: commits are atomic and durable
// across a crash. Each child carries on from the state the last one left.
func (k *kit) testCrash(t *testing.T) {
	if name := os.Getenv(childEnv); name != "" {
		if name == t.Name() {
			k.crashChild(t)
		}
		return
	}
	if k.e.NoCrash {
		t.Log("the engine runs no crash test (Engine.NoCrash)")
		return
	}
	sd := seed(t)
	rng := rand.New(rand.NewPCG(sd, 2))
	where := k.e.New(t)
	type round struct {
		point failpoint.Name
		hit   int
	}
	var rounds []round
	for _, p := range k.e.Failpoints {
		rounds = append(rounds, round{p, 1 + rng.IntN(3)}, round{p, 4 + rng.IntN(12)})
	}
	for range 3 {
		rounds = append(rounds, round{"", 0})
	}
	rng.Shuffle(len(rounds), func(i, j int) { rounds[i], rounds[j] = rounds[j], rounds[i] })
	last := uint64(0)
	crashed := 0
	for i, r := range rounds {
		env := []string{
			childEnv + "=" + t.Name(),
			childWhereEnv + "=" + where,
			childPointEnv + "=" + string(r.point),
			childHitEnv + "=" + strconv.Itoa(r.hit),
			"KVTEST_SEED=" + strconv.FormatUint(rng.Uint64(), 10),
		}
		kill := 0
		if r.point == "" {
			kill = 1 + rng.IntN(60)
		}
		reported, started, code, stderr := runChild(t, env, kill)
		if code == crashExit || r.point == "" {
			crashed++
		} else {
			t.Errorf("round %d: the child made %d commits and never reached failpoint %s", i, commitsPerChild, r.point)
		}
		got := k.checkCrashed(t, where, fmt.Sprintf("round %d (%s hit %d, exit %d)", i, r.point, r.hit, code))
		t.Logf("round %d: failpoint %q hit %d: exit %d; child reported commit %d done, %d begun; the store holds commit %d",
			i, r.point, r.hit, code, reported, started, got)
		switch {
		case got < reported:
			t.Fatalf("round %d: the store holds commit %d, older than commit %d the child reported done\nchild stderr:\n%s", i, got, reported, stderr)
		case got > max(started, last):
			t.Fatalf("round %d: the store holds commit %d, newer than any the child began (%d)\nchild stderr:\n%s", i, got, started, stderr)
		case got < last:
			t.Fatalf("round %d: the store went back from commit %d to %d", i, last, got)
		}
		last = got
	}
	if crashed == 0 {
		t.Error("no child crashed: the test proved nothing")
	}
	if last == 0 {
		t.Error("no commit ever reached the store")
	}
}

var (
	doneLine  = regexp.MustCompile(`^done (\d+)$`)
	beginLine = regexp.MustCompile(`^begin (\d+)$`)
)

// runChild runs the crash subtest in a child with env added; with kill > 0, it kills the child
// with SIGKILL once the child has begun kill commits (a child that exits first fails the
// test): the kill lands somewhere in that commit or a little later, wherever the child is
// then, whatever the machine's load. It returns the last commit the child reported done and
// begun, its exit status and its stderr.
func runChild(t *testing.T, env []string, kill int) (done, begun uint64, code int, stderr []byte) {
	t.Helper()
	parts := strings.Split(t.Name(), "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	cmd := exec.Command(os.Args[0], "-test.run="+strings.Join(parts, "/"), "-test.count=1", "-test.v=false")
	cmd.Env = append(os.Environ(), env...)
	var errb bytes.Buffer // stderr, then stdout's lines other than begin and done
	cmd.Stderr = &errb
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed, begins := false, 0
	sc := bufio.NewScanner(out)
	var rest bytes.Buffer
	for sc.Scan() {
		if m := doneLine.FindStringSubmatch(sc.Text()); m != nil {
			done, _ = strconv.ParseUint(m[1], 10, 64)
		} else if m := beginLine.FindStringSubmatch(sc.Text()); m != nil {
			begun, _ = strconv.ParseUint(m[1], 10, 64)
			if begins++; begins == kill {
				killed = true
				_ = cmd.Process.Kill()
			}
		} else {
			rest.WriteString(sc.Text() + "\n")
		}
	}
	err = cmd.Wait()
	errb.Write(rest.Bytes())
	code = cmd.ProcessState.ExitCode()
	switch {
	case killed:
	case kill > 0:
		t.Fatalf("the child exited (%v) before it was killed:\n%s", err, errb.Bytes())
	case code != 0 && code != crashExit:
		t.Fatalf("the child failed (%v):\n%s", err, errb.Bytes())
	}
	return done, begun, code, errb.Bytes()
}

// crashChild is the child's side: it opens the store, checks it, and commits until it dies.
func (k *kit) crashChild(t *testing.T) {
	where := os.Getenv(childWhereEnv)
	point := failpoint.Name(os.Getenv(childPointEnv))
	hit, _ := strconv.Atoi(os.Getenv(childHitEnv))
	s, err := k.e.Open(where, kv.Options{Buckets: buckets, LogBytes: logBytes, LockTimeout: 10 * time.Second})
	if err != nil {
		t.Fatalf("child: open: %v", err)
	}
	g, err := crashState(s)
	if err != nil {
		t.Fatalf("child: the store as found: %v", err)
	}
	if point != "" {
		var hits atomic.Int64
		failpoint.Set(func(n failpoint.Name) error {
			if n == point && hits.Add(1) == int64(hit) {
				os.Exit(crashExit) // no Close: a crash at this point
			}
			return nil
		})
		defer failpoint.Set(nil)
	}
	for i := g + 1; point == "" || i <= g+commitsPerChild; i++ {
		fmt.Printf("begin %d\n", i)
		up := s.Update
		if i%5 == 0 {
			up = s.UpdateBackground
		}
		if err := up(func(w kv.Writer) error { return crashCommit(w, i) }); err != nil {
			t.Fatalf("child: commit %d: %v", i, err)
		}
		fmt.Printf("done %d\n", i)
	}
	// The failpoint was never reached (the engine has none there): a clean exit.
	if err := s.Close(); err != nil {
		t.Fatalf("child: close: %v", err)
	}
}

// crashSize returns the size of the value of commit i: mostly small, sometimes big enough to
// take an engine's big-commit paths.
func crashSize(i uint64) int {
	h := fnv.New64a()
	fmt.Fprint(h, i)
	x := h.Sum64()
	switch x % 10 {
	case 0:
		return 256<<10 + int(x>>8)%(2<<20)
	case 1, 2:
		return 8<<10 + int(x>>8)%(64<<10)
	}
	return int(x>>8) % 512
}

func crashKey(i uint64) []byte { return fmt.Appendf(nil, "k%010d", i) }

// crashCommit writes commit i: its number in b0 and b2, a value for key i in b1, and every
// fourth commit a range deletion of keys i-8 .. i-4 of b1.
func crashCommit(w kv.Writer, i uint64) error {
	v := strconv.AppendUint(nil, i, 10)
	if err := w.Put(b0, []byte("gen"), v); err != nil {
		return err
	}
	if err := w.Put(b1, crashKey(i), bigValue(crashSize(i), byte(i))); err != nil {
		return err
	}
	if i%4 == 0 && i >= 8 {
		if _, err := w.DeleteRange(b1, crashKey(i-8), crashKey(i-4)); err != nil {
			return err
		}
	}
	return w.Put(b2, []byte("gen"), v)
}

// crashState reads the commit the store holds and checks that it holds that commit whole: the
// same number in b0 and b2, and in b1 exactly the keys commits 1..g leave, with their values.
func crashState(s kv.Store) (uint64, error) {
	var g uint64
	err := s.View(func(r kv.Reader) error {
		a, b := r.Get(b0, []byte("gen")), r.Get(b2, []byte("gen"))
		if a == nil && b == nil {
			g = 0
		} else {
			if !bytes.Equal(a, b) {
				return fmt.Errorf("commit %q in one bucket, %q in another: a torn commit", a, b)
			}
			var err error
			if g, err = strconv.ParseUint(string(a), 10, 64); err != nil {
				return fmt.Errorf("gen %q: %v", a, err)
			}
		}
		want := map[uint64]bool{}
		for i := uint64(1); i <= g; i++ {
			want[i] = true
			if i%4 == 0 && i >= 8 {
				for j := i - 8; j < i-4; j++ {
					delete(want, j)
				}
			}
		}
		var bad error
		n := 0
		err := r.Scan(b1, nil, nil, func(k, v []byte) bool {
			i, err := strconv.ParseUint(strings.TrimPrefix(string(k), "k"), 10, 64)
			switch {
			case err != nil || !want[i]:
				bad = fmt.Errorf("commit %d: key %q should not be there", g, k)
			case !bytes.Equal(v, bigValue(crashSize(i), byte(i))):
				bad = fmt.Errorf("commit %d: key %q has a wrong value (%d bytes, want %d)", g, k, len(v), crashSize(i))
			}
			n++
			return bad == nil
		})
		if err == nil {
			err = bad
		}
		if err == nil && n != len(want) {
			err = fmt.Errorf("commit %d: %d keys in b1, want %d", g, n, len(want))
		}
		return err
	})
	return g, err
}

// checkCrashed opens the store a child left, checks it and returns the commit it holds.
func (k *kit) checkCrashed(t *testing.T, where, what string) uint64 {
	t.Helper()
	s, err := k.e.Open(where, kv.Options{Buckets: buckets, LogBytes: logBytes, LockTimeout: 10 * time.Second})
	if err != nil {
		t.Fatalf("%s: open after the crash: %v", what, err)
	}
	defer s.Close()
	g, err := crashState(s)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	var problems []error
	if err := s.Check(func(p error) { problems = append(problems, p) }); err != nil || len(problems) > 0 {
		t.Fatalf("%s: Check: %v %v", what, err, problems)
	}
	return g
}
