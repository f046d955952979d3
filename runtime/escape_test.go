package runtime_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/wasmrun/wasmrun/internal/guests"
	wasmrt "github.com/wasmrun/wasmrun/runtime"
	"github.com/wasmrun/wasmrun/vfs"
	"github.com/wasmrun/wasmrun/vfs/hostfs"
)

// The escape corpus (issue 6): every way a guest might reach the host's files outside what is
// mounted — ".." chains, absolute and relative symlinks pointing out of a mount or a host
// directory (made by the guest, or planted on the host), symlink loops, NUL bytes, over-long
// names and paths, hard links to directories, renames of a directory into its own subtree —
// run from a Go guest calling the WASI imports directly (testdata/guests/go/escape) and from
// python.wasm through wasi-libc (testdata/escape/corpus.py), with the working directory on the
// heap (/tmp), the stable root and a host directory. Each operation has an exact expected errno
// (or content, for a read: a symlink pointing at "/etc/passwd" reads the guest's /etc/passwd),
// and the host's tree around the mounted directory, a sentinel file next to it included, must be
// byte-for-byte unchanged afterwards, as must the host's /etc/passwd.

// WASI errno numbers by name (WASI preview1 errno enum).
var wasiErrno = map[string]int{
	"0": 0, "EBUSY": 10, "EEXIST": 20, "EILSEQ": 25, "EINVAL": 28, "EISDIR": 31, "ELOOP": 32,
	"ENAMETOOLONG": 37, "ENOENT": 44, "ENOTDIR": 54, "ENOTEMPTY": 55, "EPERM": 63, "EXDEV": 75,
}

// Contents of the files the corpus reads, host and guest.
const (
	hostSentinel  = "SENTINEL-SECRET: a host file next to the mounted directory\n"
	hostSecretKey = "SECRET-KEY: a host file outside the mounted directory\n"
	hostInner     = "INNER: a file inside the mounted host directory\n"
	guestSentinel = "GUEST SENTINEL\n"
	guestPasswd   = "GUEST PASSWD\n"
)

// escLayout is the host side of one escape run:
//
//	outer/sentinel          hostSentinel
//	outer/secret/key        hostSecretKey
//	outer/hostdir/          mounted at /host
//	outer/hostdir/inner.txt hostInner
//	outer/hostdir/evil_*    symlinks planted on the host, pointing out
type escLayout struct {
	outer, hostdir, sentinel string
}

func newEscLayout(t *testing.T) escLayout {
	t.Helper()
	outer := filepath.Join(t.TempDir(), "outer")
	l := escLayout{outer: outer, hostdir: filepath.Join(outer, "hostdir"), sentinel: filepath.Join(outer, "sentinel")}
	for _, d := range []string{outer, filepath.Join(outer, "secret"), l.hostdir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		l.sentinel:                            hostSentinel,
		filepath.Join(outer, "secret", "key"): hostSecretKey,
		filepath.Join(l.hostdir, "inner.txt"): hostInner,
	}
	for p, c := range files {
		if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, target := range l.planted() {
		if err := os.Symlink(target, filepath.Join(l.hostdir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return l
}

// planted are the symlinks the host put in the host directory, each pointing out of it.
func (l escLayout) planted() map[string]string {
	return map[string]string{
		"evil_abs":    l.sentinel,                   // the host sentinel, absolute
		"evil_rel":    "../sentinel",                // the host sentinel, relative
		"evil_dir":    "..",                         // the host directory's parent
		"evil_etc":    "/etc",                       // the host's /etc
		"evil_absdir": l.outer,                      // the parent, absolute
		"evil_proc":   "/proc/self/root/etc/passwd", // through procfs
		"evil_secret": "../secret/key",              // a host file outside
	}
}

// snapshot describes every entry under outer (but the guest's working directories inside the
// host directory) and the host's /etc/passwd: names, types, modes, sizes, times, symlink targets
// and a hash of the content.
func (l escLayout) snapshot(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(l.outer, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(l.outer, p)
		if strings.HasPrefix(rel, filepath.Join("hostdir", "w")) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s %v", rel, fi.Mode())
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			fmt.Fprintf(&b, " -> %q", target)
		case fi.Mode().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			fmt.Fprintf(&b, " %d %x", fi.Size(), sha256.Sum256(data))
		}
		if rel != "hostdir" { // the guest's working directory is made inside it
			fmt.Fprintf(&b, " mtime %d", fi.ModTime().UnixNano())
		}
		b.WriteString("\n")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if passwd, err := os.ReadFile("/etc/passwd"); err == nil {
		fmt.Fprintf(&b, "/etc/passwd %x\n", sha256.Sum256(passwd))
	}
	return b.String()
}

// escOp is one corpus operation and what it must give.
type escOp struct {
	op   string
	args []string
	// want is an errno name, or "0:PREFIX": success with a result (what was read, the symlink
	// target, "TYPE SIZE") starting with PREFIX.
	want string
}

func (o escOp) String() string {
	var b strings.Builder
	b.WriteString(o.op)
	for _, a := range o.args {
		if len(a) > 90 {
			a = fmt.Sprintf("%s...(%d bytes)...%s", a[:40], len(a), a[len(a)-30:])
		}
		fmt.Fprintf(&b, " %q", a)
	}
	return b.String()
}

// escCorpus is the corpus for the working directory w (an absolute guest path two levels deep,
// such as /tmp/w) on a mount of the given kind ("heap", "stable" or "host"), with the host
// layout l mounted at /host.
func escCorpus(w, kind string, l escLayout) []escOp {
	var ops []escOp
	add := func(want, op string, args ...string) { ops = append(ops, escOp{op, args, want}) }
	open := func(want, path, mode string, data ...string) {
		ops = append(ops, escOp{"open", append([]string{path, mode}, data...), want})
	}
	// sameMount is want when w is on the mount of the other path, else EXDEV.
	sameMount := func(k, want string) string {
		if kind == k {
			return want
		}
		return "EXDEV"
	}
	up := func(n int) string { return strings.Repeat("../", n) }

	// Setup: the guest's own /etc/passwd and /sentinel, in the stable root, and a work tree.
	add("0", "mkdir", "/etc")
	open("0", "/etc/passwd", "wc", guestPasswd)
	open("0", "/sentinel", "wc", guestSentinel)
	if kind == "stable" {
		add("0", "mkdir", "/data")
	}
	add("0", "mkdir", w)
	add("0", "mkdir", w+"/d")
	add("0", "mkdir", w+"/d/sub")
	open("0", w+"/f", "wc", "hello")

	// ".." chains: they stop at the guest's "/", whatever the mount.
	open("0:"+guestSentinel, w+"/"+up(8)+"sentinel", "r")
	open("0:"+guestSentinel, up(4)+"sentinel", "r")
	open("0:"+guestSentinel, w+"/"+up(1000)+"sentinel", "r")
	open("ENOENT", w+"/"+up(50)+l.sentinel[1:], "r")
	open("ENOENT", l.sentinel, "r")
	open("ENOENT", l.sentinel, "wct", "PWNED")
	open("ENOENT", filepath.Join(l.hostdir, "inner.txt"), "r")
	open("0:"+guestSentinel, "/host/../sentinel", "r")
	open("0", "/host/..", "rd")
	open("0", "/host/"+up(3), "rd")
	open("ENOENT", "/host/"+up(2)+"secret/key", "r")
	open("ENOTDIR", "/host/inner.txt/..", "r")
	open("0:INNER", "/host/../host/./inner.txt", "r")
	add("0", "mkdir", w+"/"+up(4)+"escdir")
	add("0:3 0", "stat", "/escdir")

	// Symlinks the host planted in the host directory are resolved in the guest's namespace.
	open("ENOENT", "/host/evil_abs", "r")
	open("ENOENT", "/host/evil_abs", "wct", "PWNED")
	add("0:"+l.sentinel, "readlink", "/host/evil_abs")
	open("0:"+guestSentinel, "/host/evil_rel", "r")
	open("0:"+guestSentinel, "/host/evil_dir/sentinel", "r")
	open("ENOENT", "/host/evil_dir/secret/key", "r")
	open("ENOENT", "/host/evil_dir/hostdir/inner.txt", "r")
	open("ENOENT", "/host/evil_dir/secret/new", "wc", "PWNED")
	open("0:"+guestPasswd, "/host/evil_etc/passwd", "r")
	open("ENOENT", "/host/evil_absdir/sentinel", "r")
	open("ENOENT", "/host/evil_proc", "r")
	open("ENOENT", "/host/evil_secret", "r")
	add("0:3 0", "stat", "/host/evil_dir")
	add("0:7 0", "lstat", "/host/evil_dir")
	add("0", "mkdir", "/host/evil_dir/made_via_link")
	add("0:3 0", "stat", "/made_via_link")
	add("EXDEV", "rename", "/host/inner.txt", "/host/evil_dir/moved")
	add("EXDEV", "link", "/host/inner.txt", "/host/evil_dir/linked")
	add("ENOENT", "link", "/host/evil_secret", "/host/evil_dir/secret/linked")

	// Symlinks the guest makes point inside its namespace, even on the host directory (where
	// they are real host symlinks).
	add("0", "symlink", "/etc/passwd", w+"/l_etc")
	open("0:"+guestPasswd, w+"/l_etc", "r")
	add("0:/etc/passwd", "readlink", w+"/l_etc")
	add("0", "symlink", "../../sentinel", w+"/l_up")
	open("0:"+guestSentinel, w+"/l_up", "r")
	add("0", "symlink", l.sentinel, w+"/l_host")
	open("ENOENT", w+"/l_host", "r")
	open("ENOENT", w+"/l_host", "wc", "PWNED")
	add("0", "symlink", up(60)+"sentinel", w+"/l_deep")
	open("0:"+guestSentinel, w+"/l_deep", "r")
	add("0", "symlink", l.outer, w+"/l_outer")
	open("ENOENT", w+"/l_outer/sentinel", "r")
	add("0", "symlink", "/", w+"/l_root")
	open("0:"+guestSentinel, w+"/l_root/sentinel", "r")
	open("0:INNER", w+"/l_root/host/inner.txt", "r")
	add("0", "symlink", "/host/evil_rel", w+"/l_chain")
	open("0:"+guestSentinel, w+"/l_chain", "r")

	// Loops.
	add("0", "symlink", "loopb", w+"/loopa")
	add("0", "symlink", "loopa", w+"/loopb")
	open("ELOOP", w+"/loopa", "r")
	open("ELOOP", w+"/loopa", "wc", "x")
	open("ELOOP", w+"/loopa/x", "r")
	add("ELOOP", "stat", w+"/loopa")
	add("0:7 0", "lstat", w+"/loopa")
	add("ELOOP", "mkdir", w+"/loopa/x")
	add("0", "symlink", "self", w+"/self")
	open("ELOOP", w+"/self", "r")
	add("0", "symlink", "loopdir/x", w+"/loopdir")
	open("ELOOP", w+"/loopdir", "r")
	add("0", "symlink", w+"/../"+path.Base(w)+"/absloop", w+"/absloop")
	open("ELOOP", w+"/absloop", "r")
	add("0", "symlink", ".", w+"/dot")
	open("0:hello", w+"/"+strings.Repeat("dot/", vfs.SymlinkMax)+"f", "r")
	open("ELOOP", w+"/"+strings.Repeat("dot/", vfs.SymlinkMax+1)+"f", "r")
	for i := vfs.SymlinkMax; i >= 0; i-- { // c0 -> c1 -> ... -> c40 -> f
		target := "f"
		if i < vfs.SymlinkMax {
			target = "c" + strconv.Itoa(i+1)
		}
		add("0", "symlink", target, w+"/c"+strconv.Itoa(i))
	}
	open("0:hello", w+"/c1", "r")
	open("ELOOP", w+"/c0", "r")

	// NUL bytes: a malformed string, never a name.
	open("EILSEQ", w+"/f\x00/../../sentinel", "r")
	open("EILSEQ", w+"/\x00", "wc", "x")
	add("EILSEQ", "mkdir", w+"/a\x00b")
	add("EILSEQ", "symlink", "/etc\x00passwd", w+"/nul")
	add("EILSEQ", "rename", w+"/f", w+"/f\x00x")
	add("EILSEQ", "link", w+"/f", w+"/\x00")

	// Over-long names and paths. The host receives the path without its leading "/".
	long := func(n int) string { // a path naming w/f that the host receives as n bytes
		pad := n + len("/") - len(w) - len("/f")
		return w + "/" + strings.Repeat("./", pad/2) + strings.Repeat("/", pad%2) + "f"
	}
	open("0", w+"/"+strings.Repeat("a", vfs.NameMax), "wc", "x")
	add("0", "unlink", w+"/"+strings.Repeat("a", vfs.NameMax))
	open("ENAMETOOLONG", w+"/"+strings.Repeat("a", vfs.NameMax+1), "wc", "x")
	add("ENAMETOOLONG", "mkdir", w+"/"+strings.Repeat("b", vfs.NameMax+1))
	add("ENAMETOOLONG", "symlink", "f", w+"/"+strings.Repeat("c", vfs.NameMax+1))
	open("0:hello", long(vfs.PathMax-1), "r")
	open("ENAMETOOLONG", long(vfs.PathMax), "r")
	open("ENAMETOOLONG", long(vfs.PathMax+100), "wc", "x")
	add("0", "symlink", strings.Repeat("./", (vfs.PathMax-2)/2)+"f", w+"/maxlink")
	open("0:hello", w+"/maxlink", "r")
	add("ENAMETOOLONG", "symlink", strings.Repeat("./", vfs.PathMax/2)+"f", w+"/overlink")
	add("0", "symlink", strings.Repeat("./", 1990)+"d", w+"/ln")
	open("0", w+"/ln/sub", "rd")
	open("ENAMETOOLONG", w+"/ln/"+strings.Repeat("./", 60)+"sub", "rd")

	// Hard links to directories, and links that would leave the mount.
	add("EPERM", "link", w+"/d", w+"/dlink")
	add("EPERM", "link", w+"/d/.", w+"/dlink")
	add("EPERM", "link", w+"/..", w+"/dlink")
	add(sameMount("host", "EPERM"), "link", "/host", w+"/dlink")
	add("0", "link", w+"/l_etc", w+"/lnk_sym")
	add("0:/etc/passwd", "readlink", w+"/lnk_sym")
	open("0:"+guestPasswd, w+"/lnk_sym", "r")
	add(sameMount("stable", "0"), "linkf", w+"/l_up", w+"/lnk_f")
	add("0", "link", w+"/f", w+"/d/sub/f2")
	add("0:4 5", "stat", w+"/d/sub/f2")

	// Renames of a directory into its own subtree, of mount points, out of the mount.
	add("EINVAL", "rename", w+"/d", w+"/d/sub/d2")
	add("EINVAL", "rename", w+"/d", w+"/dot/d/sub/d3")
	add("ENOTEMPTY", "rename", w+"/d/sub", w+"/d")
	add("0", "rename", w+"/d", w+"/d")
	add("EBUSY", "rename", "/host", "/hostmoved")
	add("EBUSY", "rename", "/tmp", "/tmpmoved")
	add("ENOENT", "rename", w+"/f", l.sentinel)
	add(sameMount("stable", "0"), "rename", w+"/d/sub/f2", "/host/evil_dir/moved_f2")
	add("ENOTDIR", "rmdir", w+"/dot")
	add("EISDIR", "unlink", w+"/d")

	// Writes to the sentinel through every trick land in the guest's own files.
	open("0", w+"/"+up(4)+"sentinel", "wct", "PWNED1\n")
	open("0", "/host/evil_rel", "wct", "PWNED2\n")
	open("0", "/host/evil_dir/sentinel", "wct", "PWNED3\n")
	open("0", w+"/l_up", "wct", "PWNED4\n")
	open("0", w+"/l_etc", "wt", "PWNED5\n")
	open("0:PWNED4\n", "/sentinel", "r")
	open("0:PWNED5\n", "/etc/passwd", "r")
	return ops
}

// escInput encodes ops for the guests' stdin: the operation, then each argument in hex.
func escInput(ops []escOp) string {
	var b strings.Builder
	for _, o := range ops {
		b.WriteString(o.op)
		for _, a := range o.args {
			b.WriteString(" " + hex.EncodeToString([]byte(a)))
		}
		b.WriteString("\n")
	}
	return b.String()
}

// checkEscOutput compares a guest's output with the corpus. python says whether the guest is
// python.wasm, where a path with a NUL byte never reaches the host: Python raises ValueError.
func checkEscOutput(t *testing.T, ops []escOp, out string, python bool) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != len(ops)+1 || lines[len(lines)-1] != "END" {
		t.Fatalf("the guest printed %d lines for %d operations:\n%s", len(lines), len(ops), out)
	}
	for i, o := range ops {
		code, res, _ := strings.Cut(lines[i], " ")
		got, err := hex.DecodeString(res)
		if err != nil {
			t.Fatalf("operation %d (%v): bad output %q", i, o, lines[i])
		}
		wantName, wantRes, _ := strings.Cut(o.want, ":")
		want := strconv.Itoa(wasiErrno[wantName])
		if python && strings.Contains(strings.Join(o.args, ""), "\x00") {
			want, wantName, wantRes = "V", "ValueError", ""
		}
		if _, ok := wasiErrno[wantName]; !ok && wantName != "ValueError" {
			t.Fatalf("operation %d (%v): unknown errno %q in the corpus", i, o, wantName)
		}
		if code != want || !bytes.HasPrefix(got, []byte(wantRes)) {
			t.Errorf("operation %d: %v: got errno %s %q, want %s %q", i, o, code, got, wantName, wantRes)
		}
	}
}

// escGuest is one of the two corpus interpreters.
type escGuest struct {
	name   string
	python bool
	wasm   func(t *testing.T) []byte
	args   func(t *testing.T) []string
}

var escGuests = []escGuest{
	{name: "go", wasm: func(t *testing.T) []byte { return readFile(t, guests.Build(t, "go/escape")) },
		args: func(*testing.T) []string { return []string{"escape", "corpus"} }},
	{name: "python", python: true, wasm: pythonWasm,
		args: func(t *testing.T) []string { return []string{"python", "-c", escPythonScript(t)} }},
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func escPythonScript(t *testing.T) string {
	t.Helper()
	root, err := guests.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return string(readFile(t, filepath.Join(root, "testdata", "escape", "corpus.py")))
}

// newEscRuntime returns a Runtime whose "/" is a fresh store, with l's host directory at /host.
func newEscRuntime(t *testing.T, l escLayout) *wasmrt.Runtime {
	t.Helper()
	r := newRuntime(t, wasmrt.Options{Store: filepath.Join(t.TempDir(), "root.store"), CacheDir: sharedCacheDir(t)})
	host, err := hostfs.New(l.hostdir)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Mount("/host", host); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestEscapeCorpus runs the corpus from each guest with its working directory on each kind of
// mount, and checks every errno and that the host tree around the host directory is unchanged.
func TestEscapeCorpus(t *testing.T) {
	works := []struct{ kind, w string }{{"heap", "/tmp/w"}, {"stable", "/data/w"}, {"host", "/host/w"}}
	for _, g := range escGuests {
		for _, wk := range works {
			t.Run(g.name+"/"+wk.kind, func(t *testing.T) {
				t.Parallel()
				wasm := g.wasm(t)
				l := newEscLayout(t)
				before := l.snapshot(t)
				r := newEscRuntime(t, l)
				ops := escCorpus(wk.w, wk.kind, l)
				got := run(t, context.Background(), r, wasm, wasmrt.RunConfig{
					Args:  g.args(t),
					Stdin: strings.NewReader(escInput(ops)),
				})
				if got.err != nil || got.code != 0 {
					t.Fatalf("the guest failed: exit %d, %v\nstderr:\n%s", got.code, got.err, got.stderr)
				}
				checkEscOutput(t, ops, got.stdout, g.python)
				if after := l.snapshot(t); after != before {
					t.Errorf("the host tree around the host directory changed:\nbefore:\n%s\nafter:\n%s", before, after)
				}
				if wk.kind == "host" {
					// The guest's symlinks are on the host as the guest wrote them; only the
					// guest's namespace ever resolved them.
					for name, target := range map[string]string{"l_etc": "/etc/passwd", "l_up": "../../sentinel", "l_host": l.sentinel, "l_outer": l.outer} {
						if got, err := os.Readlink(filepath.Join(l.hostdir, "w", name)); err != nil || got != target {
							t.Errorf("host symlink w/%s: %q, %v; want %q", name, got, err, target)
						}
					}
				}
			})
		}
	}
}

// TestEscapeSymlinkSwap runs two guests at once on one Runtime over a host directory: one swaps
// the directory w/d for a symlink "../.." and back, in a loop, while the other reads
// w/d/sentinel, in a loop. On the host, w/d -> ../.. is the directory holding the sentinel; in
// the guest's namespace it is "/", so every read must find either the real w/d/sentinel or the
// guest's /sentinel (or fail while the directory is away), never the host's sentinel.
func TestEscapeSymlinkSwap(t *testing.T) {
	wasm := readFile(t, guests.Build(t, "go/escape"))
	l := newEscLayout(t)
	if err := os.MkdirAll(filepath.Join(l.hostdir, "w", "d"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(l.hostdir, "w", "d", "sentinel"), []byte("INNER d\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := l.snapshot(t)
	r := newEscRuntime(t, l)
	ns := r.Namespace()
	h, e := ns.Open(ns.Root(), "sentinel", vfs.OWrite|vfs.OCreate, 0o644)
	if e != vfs.ESUCCESS {
		t.Fatal(e)
	}
	h.File.WriteAt([]byte(guestSentinel), 0)
	h.File.Close()

	const swaps, walks = 300, 3000
	var wg sync.WaitGroup
	var swapRes, walkRes result
	wg.Add(2)
	go func() {
		defer wg.Done()
		swapRes = run(t, context.Background(), r, wasm, args("escape", "swap", "/host/w", strconv.Itoa(swaps)))
	}()
	go func() {
		defer wg.Done()
		walkRes = run(t, context.Background(), r, wasm, args("escape", "walk", "/host/w", strconv.Itoa(walks)))
	}()
	wg.Wait()
	if swapRes.err != nil || swapRes.code != 0 || swapRes.stdout != fmt.Sprintf("SWAPPED %d\n", swaps) {
		t.Fatalf("swap: exit %d, %v, stdout %q, stderr %q", swapRes.code, swapRes.err, swapRes.stdout, swapRes.stderr)
	}
	if walkRes.err != nil || walkRes.code != 0 {
		t.Fatalf("walk: exit %d, %v, stderr %q", walkRes.code, walkRes.err, walkRes.stderr)
	}
	var inner, guest, failed, other int
	if _, err := fmt.Sscanf(walkRes.stdout, "WALK inner=%d guest=%d errno=%d other=%d\n", &inner, &guest, &failed, &other); err != nil {
		t.Fatalf("walk printed %q: %v", walkRes.stdout, err)
	}
	if other != 0 || inner+guest+failed != walks || strings.Contains(walkRes.stdout, hex.EncodeToString([]byte("SENTINEL-SECRET"))) {
		t.Errorf("a read through the swapped symlink found something else:\n%s", walkRes.stdout)
	}
	t.Logf("%d reads during %d swaps: %d found the directory, %d the guest's /sentinel through the symlink, %d failed (no entry at that moment)",
		walks, swaps, inner, guest, failed)
	if after := l.snapshot(t); after != before {
		t.Errorf("the host tree changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}
