package run

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/wasmrun/wasmrun/vfs"
)

// fsCLI runs `wasmrun fs ARGS...` (the real binary) with store as the default store.
func fsCLI(t *testing.T, store string, args ...string) result {
	t.Helper()
	return cliIn(t, store, "", append([]string{"fs"}, args...)...)
}

// fsCLIIn is fsCLI with standard input.
func fsCLIIn(t *testing.T, store, stdin string, args ...string) result {
	t.Helper()
	return cliIn(t, store, stdin, append([]string{"fs"}, args...)...)
}

// fsOK runs a subcommand that must succeed, and returns its standard output.
func fsOK(t *testing.T, store string, args ...string) string {
	t.Helper()
	got := fsCLI(t, store, args...)
	if got.code != 0 {
		t.Fatalf("wasmrun fs %q: exit %d\nstderr: %s", args, got.code, got.stderr)
	}
	return got.stdout
}

func fileSum(t *testing.T, p string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// TestFSHelp checks that `wasmrun fs -h` and each subcommand's help list every subcommand and
// flag, and that usage mistakes exit 2.
func TestFSHelp(t *testing.T) {
	store := newStore(t)
	top := fsOK(t, store, "-h")
	if help := fsOK(t, store, "help"); help != top {
		t.Error("`wasmrun fs help` differs from `wasmrun fs -h`")
	}
	if main := cli(t, store, "-h"); !strings.Contains(main.stdout, "wasmrun fs SUBCOMMAND") {
		t.Errorf("wasmrun -h does not mention wasmrun fs:\n%s", main.stdout)
	}
	subFlags := map[string][]string{
		"ls":      {"-l", "-R", "-a", "--json"},
		"tree":    {"-a"},
		"stat":    {"-L", "--json"},
		"du":      {"-s", "--human-readable", "--json"},
		"cat":     nil,
		"get":     nil,
		"put":     {"-p", "-m MODE"},
		"mkdir":   {"-p", "-m MODE"},
		"rm":      {"-r", "-f"},
		"mv":      nil,
		"export":  {"-o FILE", "-z"},
		"import":  nil,
		"fsck":    nil,
		"recover": nil,
		"compact": nil,
		"backup":  {"-f"},
	}
	for _, want := range []string{"--store FILE", "--lock-timeout DURATION", "-h, --help", "Exit status", "--json", "progress bar"} {
		if !strings.Contains(top, want) {
			t.Errorf("wasmrun fs -h lacks %q", want)
		}
	}
	for name, flags := range subFlags {
		if !strings.Contains(top, "\n  "+name+" ") {
			t.Errorf("wasmrun fs -h does not list %s", name)
		}
		for _, how := range [][]string{{"help", name}, {name, "--help"}, {name, "-h"}} {
			out := fsOK(t, store, how...)
			for _, want := range append([]string{"Usage: wasmrun fs " + name, "--store FILE", "--lock-timeout DURATION", "-h, --help"}, flags...) {
				if !strings.Contains(out, "  "+want) && !strings.Contains(out, want) {
					t.Errorf("wasmrun fs %q lacks %q:\n%s", how, want, out)
				}
			}
		}
	}
	if len(subFlags) != len(fsCommands) {
		t.Errorf("the test knows %d subcommands, wasmrun has %d", len(subFlags), len(fsCommands))
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "Usage:"},
		{[]string{"nope"}, `no subcommand "nope"`},
		{[]string{"help", "nope"}, `no subcommand "nope"`},
		{[]string{"ls", "--nope"}, "flag provided but not defined: --nope"},
		{[]string{"get"}, "wrong number of arguments: usage: wasmrun fs get PATH [HOST]"},
		{[]string{"mv", "a"}, "wrong number of arguments"},
		{[]string{"fsck", "extra"}, "wrong number of arguments"},
		{[]string{"--lock-timeout", "soon", "ls"}, "invalid value"},
	} {
		got := fsCLI(t, store, tc.args...)
		if got.code != 2 || !strings.Contains(got.stderr, tc.want) {
			t.Errorf("wasmrun fs %q: exit %d, stderr %q; want 2 and %q", tc.args, got.code, got.stderr, tc.want)
		}
	}
	if _, err := os.Stat(store); err == nil {
		t.Error("usage errors created the store")
	}
}

// TestFSFiles walks through the file subcommands on one store: mkdir, put, ls, tree, stat, du,
// cat, get, mv and rm, with their flags and output formats.
func TestFSFiles(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "s.store")
	host := filepath.Join(dir, "host.txt")
	if err := os.WriteFile(host, []byte("from the host\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	mtime := time.Date(2020, 6, 7, 8, 9, 10, 0, time.UTC)
	if err := os.Chtimes(host, mtime, mtime); err != nil {
		t.Fatal(err)
	}

	fsOK(t, store, "mkdir", "-p", "/data/sub/deep")
	fsOK(t, store, "mkdir", "-m", "700", "data/private")
	fsOK(t, store, "put", host, "/data/")                   // into a directory: keeps the base name
	fsOK(t, store, "put", "-m", "0600", host, "data/x.txt") // relative PATH, explicit mode
	fsOK(t, store, "put", "-p", host, "/new/parents/h.txt")
	if got := fsCLIIn(t, store, "piped\n", "put", "-", "/data/sub/stdin.txt"); got.code != 0 {
		t.Fatalf("put from stdin: %d %s", got.code, got.stderr)
	}
	if got := fsCLIIn(t, store, "x", "put", "-", "/data"); got.code != 1 || !strings.Contains(got.stderr, "give the file name") {
		t.Errorf("put stdin into a directory: %d %q", got.code, got.stderr)
	}
	fsOK(t, store, "put", host, "/data/.hidden")

	if got, want := fsOK(t, store, "ls", "/data"), "host.txt\nprivate\nsub\nx.txt\n"; got != want {
		t.Errorf("ls /data = %q, want %q", got, want)
	}
	if got, want := fsOK(t, store, "ls", "-a", "data"), ".hidden\nhost.txt\nprivate\nsub\nx.txt\n"; got != want {
		t.Errorf("ls -a data = %q, want %q", got, want)
	}
	if got, want := fsOK(t, store, "ls", "-R", "/data/sub"), "/data/sub:\ndeep\nstdin.txt\n\n/data/sub/deep:\n"; got != want {
		t.Errorf("ls -R = %q, want %q", got, want)
	}
	long := fsOK(t, store, "ls", "-l", "/data")
	for _, want := range []string{"-rw-r----- 1 14 2020-06-07 ", " host.txt\n", "drwx------ 2 ", " private\n", "-rw------- 1 14 ", " x.txt\n"} {
		if !strings.Contains(long, want) {
			t.Errorf("ls -l lacks %q:\n%s", want, long)
		}
	}
	if got, want := fsOK(t, store, "ls", "/data/x.txt", "/data/sub"), "/data/x.txt\n\n/data/sub:\ndeep\nstdin.txt\n"; got != want {
		t.Errorf("ls FILE DIR = %q, want %q", got, want)
	}

	// --json: one object a line, every field.
	var entries []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(fsOK(t, store, "ls", "--json", "-R", "/data")), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("ls --json line %q: %v", line, err)
		}
		entries = append(entries, m)
	}
	if len(entries) != 6 {
		t.Errorf("ls --json -R /data: %d objects, want 6", len(entries))
	}
	for _, e := range entries {
		if e["path"] == "/data/host.txt" {
			if e["type"] != "file" || e["mode"] != "0640" || e["size"] != 14.0 || e["nlink"] != 1.0 ||
				e["mtime"] != "2020-06-07T08:09:10Z" || e["name"] != "host.txt" || e["ino"] == 0.0 {
				t.Errorf("ls --json host.txt: %v", e)
			}
		}
	}

	tree := fsOK(t, store, "tree", "/data")
	wantTree := "/data\n├── host.txt\n├── private\n├── sub\n│   ├── deep\n│   └── stdin.txt\n└── x.txt\n\n3 directories, 3 files\n"
	if tree != wantTree {
		t.Errorf("tree =\n%s\nwant\n%s", tree, wantTree)
	}
	st := fsOK(t, store, "stat", "/data/x.txt")
	for _, want := range []string{"  Path: /data/x.txt\n", "  Type: file\n", "  Size: 14\n", "Links: 1\n", "  Mode: 0600 (-rw-------)\n", "Modify: 2020-06-07 "} {
		if !strings.Contains(st, want) {
			t.Errorf("stat lacks %q:\n%s", want, st)
		}
	}
	var sj map[string]any
	if err := json.Unmarshal([]byte(fsOK(t, store, "stat", "--json", "/data")), &sj); err != nil || sj["type"] != "dir" {
		t.Errorf("stat --json /data: %v, %v", sj, err)
	}

	if got, want := fsOK(t, store, "du", "/data"), "0\t/data/private\n0\t/data/sub/deep\n6\t/data/sub\n48\t/data\n"; got != want {
		t.Errorf("du /data = %q, want %q", got, want)
	}
	if got, want := fsOK(t, store, "du", "--human-readable", "/", "/data/sub/stdin.txt"), "0\t/data/private\n0\t/data/sub/deep\n6\t/data/sub\n48\t/data\n14\t/new/parents\n14\t/new\n62\t/\n6\t/data/sub/stdin.txt\n"; got != want {
		t.Errorf("du --human-readable = %q, want %q", got, want)
	}
	if got, want := fsOK(t, store, "du", "-s", "/data"), "48\t/data\n"; got != want { // 14*3 + 6
		t.Errorf("du -s = %q, want %q", got, want)
	}
	var dj struct {
		Path               string
		Bytes, Files, Dirs int64
	}
	if err := json.Unmarshal([]byte(fsOK(t, store, "du", "-s", "--json", "/data")), &dj); err != nil || dj.Bytes != 48 || dj.Files != 4 || dj.Dirs != 4 {
		t.Errorf("du -s --json: %+v, %v", dj, err)
	}

	if got := fsOK(t, store, "cat", "/data/host.txt", "data/sub/stdin.txt"); got != "from the host\npiped\n" {
		t.Errorf("cat = %q", got)
	}
	out := filepath.Join(dir, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	fsOK(t, store, "get", "/data/x.txt", out) // into a directory
	fi, err := os.Stat(filepath.Join(out, "x.txt"))
	if err != nil || fi.Mode().Perm() != 0o600 || !fi.ModTime().Equal(mtime) {
		t.Errorf("get: %v, %v; want mode 0600 and mtime %v", fi, err, mtime)
	}
	if got := fsOK(t, store, "get", "/data/host.txt", "-"); got != "from the host\n" {
		t.Errorf("get to stdout = %q", got)
	}

	fsOK(t, store, "mv", "/data/x.txt", "/data/y.txt")
	fsOK(t, store, "mv", "/data/y.txt", "/data/host.txt", "/data/sub")
	fsOK(t, store, "mv", "/new", "/data/sub/deep")
	if got, want := fsOK(t, store, "ls", "-R", "/data/sub"), "/data/sub:\ndeep\nhost.txt\nstdin.txt\ny.txt\n\n/data/sub/deep:\nnew\n\n/data/sub/deep/new:\nparents\n\n/data/sub/deep/new/parents:\nh.txt\n"; got != want {
		t.Errorf("after mv: %q, want %q", got, want)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"rm", "/data/sub"}, "directory not empty (use -r)"},
		{[]string{"rm", "/"}, "refusing to remove the root"},
		{[]string{"rm", "-r", "/"}, "refusing to remove the root"},
		{[]string{"mv", "/data/.hidden", "/data/sub/y.txt", "/data/private/.hidden"}, "not a directory"},
		{[]string{"mv", "/data/sub", "/data/sub/deep/inside"}, "invalid argument (EINVAL)"},
		{[]string{"mkdir", "/data"}, "file exists (EEXIST)"},
	} {
		if got := fsCLI(t, store, tc.args...); got.code != 1 || !strings.Contains(got.stderr, tc.want) {
			t.Errorf("wasmrun fs %q: %d %q; want 1 and %q", tc.args, got.code, got.stderr, tc.want)
		}
	}
	fsOK(t, store, "rm", "/data/sub/y.txt", "/data/private")
	fsOK(t, store, "rm", "-f", "/data/not-there")
	fsOK(t, store, "rm", "-r", "/data/sub")
	if got := fsOK(t, store, "ls", "-a", "/data"); got != ".hidden\n" {
		t.Errorf("after rm: ls = %q", got)
	}
	if got := fsOK(t, store, "fsck"); !strings.Contains(got, ": ok\n") {
		t.Errorf("fsck after the session: %s", got)
	}
}

// TestFSMissing: a missing store is an error that creates nothing, except for the subcommands
// that create one; a missing path is an error naming it.
func TestFSMissing(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.store")
	for _, args := range [][]string{
		{"ls"}, {"tree"}, {"stat", "/"}, {"du"}, {"cat", "/x"}, {"get", "/x", filepath.Join(dir, "x")},
		{"rm", "/x"}, {"mv", "/a", "/b"}, {"export", "-o", filepath.Join(dir, "x.tar")},
		{"fsck"}, {"compact"}, {"backup", filepath.Join(dir, "b.store")},
	} {
		got := fsCLI(t, missing, args...)
		if got.code != 1 || got.stderr != "wasmrun fs "+args[0]+": no store at "+missing+"\n" {
			t.Errorf("wasmrun fs %q on a missing store: %d %q", args, got.code, got.stderr)
		}
		if left, _ := os.ReadDir(dir); len(left) != 0 {
			t.Fatalf("wasmrun fs %q on a missing store created %v", args, left)
		}
	}
	// With --store naming a file in a missing directory.
	if got := fsCLI(t, missing, "ls", "--store", filepath.Join(dir, "no", "such.store")); got.code != 1 || !strings.Contains(got.stderr, "no store at") {
		t.Errorf("ls --store in a missing directory: %d %q", got.code, got.stderr)
	}

	store := filepath.Join(dir, "s.store")
	fsOK(t, store, "mkdir", "/d") // creates the store
	for _, args := range [][]string{
		{"ls", "/nope"}, {"tree", "/nope"}, {"stat", "/nope"}, {"du", "/nope"}, {"cat", "/nope"},
		{"get", "/nope"}, {"rm", "/nope"}, {"mv", "/nope", "/d"}, {"export", "/nope"},
		{"put", filepath.Join(dir, "nope"), "/d/x"}, {"import", filepath.Join(dir, "nope")},
	} {
		got := fsCLI(t, store, args...)
		if got.code != 1 || !strings.Contains(got.stderr, "nope") || !strings.Contains(got.stderr, "no such file or directory") {
			t.Errorf("wasmrun fs %q: %d %q; want 1 and a message naming the path", args, got.code, got.stderr)
		}
	}
	if got := fsCLI(t, store, "ls", "/d", "/nope"); got.code != 1 || !strings.Contains(got.stderr, "/nope") {
		t.Errorf("ls with one missing path: %d %q", got.code, got.stderr)
	}
	if got := fsCLI(t, store, "put", "-", "/nope/x"); got.code != 1 || !strings.Contains(got.stderr, "/nope/x") {
		t.Errorf("put into a missing directory: %d %q", got.code, got.stderr)
	}
	if got := fsCLI(t, store, "ls", "--store", dir); got.code != 1 || !strings.Contains(got.stderr, "is a directory") {
		t.Errorf("a directory as the store: %d %q", got.code, got.stderr)
	}
	text := filepath.Join(dir, "notes.txt")
	os.WriteFile(text, bytes.Repeat([]byte("not a store\n"), 1000), 0o644)
	if got := fsCLI(t, text, "ls"); got.code != 1 || !strings.Contains(got.stderr, "not a stable store") {
		t.Errorf("a text file as the store: %d %q", got.code, got.stderr)
	}
}

// hostTree makes a host directory with files, a symlink, a hard link and an empty directory.
func hostTree(t *testing.T) string {
	t.Helper()
	d := filepath.Join(t.TempDir(), "tree")
	for _, step := range []error{
		os.MkdirAll(filepath.Join(d, "sub", "empty"), 0o755),
		os.WriteFile(filepath.Join(d, "a.txt"), []byte("alpha\n"), 0o644),
		os.WriteFile(filepath.Join(d, "sub", "run.sh"), []byte("#!/bin/sh\necho hi\n"), 0o755),
		os.WriteFile(filepath.Join(d, "sub", "big.bin"), bytes.Repeat([]byte("0123456789"), 200000), 0o600),
		os.Symlink("sub/run.sh", filepath.Join(d, "link")),
		os.Link(filepath.Join(d, "a.txt"), filepath.Join(d, "sub", "a-again.txt")),
	} {
		if step != nil {
			t.Fatal(step)
		}
	}
	return d
}

// TestFSExportImport moves a tree from a host directory into a store, out as a tar (plain and
// gzip, to a file and to standard output), and into other stores, and checks that nothing is
// lost: the exports of the copies are byte for byte the export of the original.
func TestFSExportImport(t *testing.T) {
	dir := t.TempDir()
	host := hostTree(t)
	a := filepath.Join(dir, "a.store")
	if got := fsOK(t, a, "import", host, "/tree"); !strings.Contains(got, "imported 3 files, 3 directories, 1 symlink, 1 hard link") {
		t.Errorf("import DIR: %q", got)
	}
	if got := fsOK(t, a, "cat", "/tree/link"); got != "#!/bin/sh\necho hi\n" {
		t.Errorf("symlink after import: %q", got)
	}
	if got := fsOK(t, a, "stat", "--json", "/tree/sub/a-again.txt"); !strings.Contains(got, `"nlink":2`) {
		t.Errorf("hard link after import: %s", got)
	}

	tarball := filepath.Join(dir, "tree.tar")
	if got := fsOK(t, a, "export", "-o", tarball, "/tree"); !strings.Contains(got, "exported 3 files") {
		t.Errorf("export -o: %q", got)
	}
	stdoutTar := fsOK(t, a, "export", "/tree")
	file, _ := os.ReadFile(tarball)
	if stdoutTar != string(file) {
		t.Error("export to stdout and to a file differ")
	}
	// The system's tar reads it.
	list, err := exec.Command("tar", "-tvf", tarball).Output()
	if err != nil {
		t.Fatalf("tar -t: %v", err)
	}
	for _, want := range []string{"./sub/run.sh", "./link -> sub/run.sh", "link to ./a.txt", "-rwxr-xr-x"} {
		if !strings.Contains(string(list), want) {
			t.Errorf("tar -tv lacks %q:\n%s", want, list)
		}
	}
	gz := filepath.Join(dir, "tree.tgz")
	fsOK(t, a, "export", "-o", gz, "/tree")
	if b, _ := os.ReadFile(gz); len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		t.Error("export -o x.tgz is not gzip")
	}

	// Import the archive (from a file, gzip, and stdin) into fresh stores, at the root.
	for _, src := range []string{tarball, gz, "-"} {
		b := filepath.Join(t.TempDir(), "b.store")
		var got result
		if src == "-" {
			got = fsCLIIn(t, b, stdoutTar, "import", "-")
		} else {
			got = fsCLI(t, b, "import", src)
		}
		if got.code != 0 {
			t.Fatalf("import %s: %d %s", src, got.code, got.stderr)
		}
		if again := fsOK(t, b, "export"); again != stdoutTar {
			t.Errorf("import %s: the export of the copy differs from the original's", src)
		}
	}
	// Importing over existing files replaces them.
	fsOK(t, a, "import", tarball, "/tree")
	if got := fsOK(t, a, "export", "/tree"); got != stdoutTar {
		t.Error("re-importing over the same tree changed it")
	}
	if got := fsCLI(t, a, "export"); got.code != 0 || got.stderr != "" {
		t.Errorf("export with stderr not a terminal printed %q", got.stderr)
	}
}

// writeTar writes an archive of entries (regular files hold "evil").
func writeTar(t *testing.T, path string, hdrs ...*tar.Header) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range hdrs {
		if h.Typeflag == tar.TypeReg {
			h.Size = 4
		}
		h.Mode |= 0o644
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte("evil"))
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestFSImportRefuses feeds archives that try to escape: ../ names, absolute names, a path
// through a symlink, hard links out of the archive. Each is refused with exit 1; from a file the
// store is not touched (nor created), from standard input the import stops before the bad
// entry; and nothing appears anywhere outside the target, in the store or on the host.
func TestFSImportRefuses(t *testing.T) {
	reg := func(n string) *tar.Header { return &tar.Header{Name: n, Typeflag: tar.TypeReg} }
	for _, tc := range []struct {
		name string
		hdrs []*tar.Header
	}{
		{"dotdot", []*tar.Header{reg("ok.txt"), reg("../evil")}},
		{"dotdot deep", []*tar.Header{reg("a/../../../../../evil")}},
		{"absolute", []*tar.Header{reg("/evil")}},
		{"absolute into the host", []*tar.Header{reg("/tmp/evil")}},
		{"through a symlink", []*tar.Header{{Name: "l", Typeflag: tar.TypeSymlink, Linkname: "/"}, reg("l/evil")}},
		{"through a relative symlink", []*tar.Header{{Name: "l", Typeflag: tar.TypeSymlink, Linkname: "../.."}, reg("l/evil")}},
		{"hard link out", []*tar.Header{{Name: "evil", Typeflag: tar.TypeLink, Linkname: "../outside/secret"}}},
		{"hard link absolute", []*tar.Header{{Name: "evil", Typeflag: tar.TypeLink, Linkname: "/outside/secret"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			work := filepath.Join(dir, "work") // the current directory of wasmrun
			os.Mkdir(work, 0o755)
			archive := filepath.Join(dir, "evil.tar")
			data := writeTar(t, archive, tc.hdrs...)

			// A missing store is not created for a refused archive.
			fresh := filepath.Join(dir, "fresh.store")
			if got := fsCLI(t, fresh, "import", archive, "/target"); got.code != 1 || !strings.Contains(got.stderr, "refused") || !strings.Contains(got.stderr, "nothing imported") {
				t.Errorf("import: %d %q; want 1 and a refusal", got.code, got.stderr)
			}
			if _, err := os.Stat(fresh); err == nil {
				t.Error("a refused import created the store")
			}

			// An existing store is not changed at all.
			store := filepath.Join(dir, "s.store")
			fsOK(t, store, "mkdir", "-p", "/outside", "/target")
			fsOK(t, store, "put", archive, "/outside/secret")
			before := fileSum(t, store)
			if got := fsCLI(t, store, "import", archive, "/target"); got.code != 1 {
				t.Errorf("import into an existing store: %d %q", got.code, got.stderr)
			}
			if fileSum(t, store) != before {
				t.Error("a refused import changed the store file")
			}

			// From standard input: refused as it is read.
			cmd := exec.Command(wasmrunBin, "fs", "import", "-", "/target")
			cmd.Dir, cmd.Env, cmd.Stdin = work, testEnv(store), bytes.NewReader(data)
			out, err := cmd.CombinedOutput()
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(string(out), "refused") {
				t.Errorf("import -: %v %q", err, out)
			}
			all := fsOK(t, store, "ls", "-R", "-a", "/")
			if strings.Contains(all, "evil") {
				t.Errorf("an evil entry is in the store:\n%s", all)
			}
			if got := fsOK(t, store, "cat", "/outside/secret"); got != string(data) {
				t.Error("/outside/secret changed")
			}
			var onHost []string
			filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
				if d != nil && strings.Contains(d.Name(), "evil") && d.Name() != "evil.tar" {
					onHost = append(onHost, p)
				}
				return nil
			})
			if _, err := os.Lstat("/tmp/evil"); err == nil {
				onHost = append(onHost, "/tmp/evil")
			}
			if len(onHost) != 0 {
				t.Errorf("written on the host: %q", onHost)
			}
			if got := fsOK(t, store, "fsck"); !strings.Contains(got, ": ok\n") {
				t.Errorf("fsck: %s", got)
			}
		})
	}
}

// damage changes the store at path with bbolt directly, behind stable's back: a wrong inode
// counter in the superblock and a directory entry deleted (which one depends on the store's
// random hash key, so what fsck says about it varies: a count off, or an unreachable inode).
func damage(t *testing.T, path string) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket([]byte("super")).Put([]byte("inodes"), binary.BigEndian.AppendUint64(nil, 99)); err != nil {
			return err
		}
		c := tx.Bucket([]byte("dirents")).Cursor()
		k, _ := c.Last()
		return c.Bucket().Delete(k)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestFSFsck: fsck passes a good store, and on a damaged one (or a file that is not a store at
// all) it exits 1 with a report, changing nothing.
func TestFSFsck(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "s.store")
	fsOK(t, store, "import", hostTree(t), "/data")
	if got := fsOK(t, store, "fsck"); !strings.Contains(got, "8 inodes (4 directories, 3 files, 1 symlinks)") || !strings.HasSuffix(got, store+": ok\n") {
		t.Errorf("fsck of a good store: %q", got)
	}
	damage(t, store)
	before := fileSum(t, store)
	got := fsCLI(t, store, "fsck")
	if got.code != 1 || !strings.Contains(got.stdout, "DAMAGED: ") || !strings.Contains(got.stdout, "superblock: 8 inodes, counted 99") || !strings.Contains(got.stdout, " problems\n") {
		t.Errorf("fsck of a damaged store: %d\nstdout:\n%s\nstderr:\n%s", got.code, got.stdout, got.stderr)
	}
	if fileSum(t, store) != before {
		t.Error("fsck changed a damaged store")
	}

	good, _ := os.ReadFile(store)
	for name, content := range map[string][]byte{
		"text":        bytes.Repeat([]byte("not a store\n"), 1000),
		"truncated":   good[:10000],
		"bad meta":    append(bytes.Repeat([]byte{0xab}, 256<<10), good[256<<10:]...),
		"zeroed data": append(append(bytes.Clone(good[:128<<10]), make([]byte, len(good)/2-128<<10)...), good[len(good)/2:]...),
	} {
		p := filepath.Join(dir, name+".store")
		os.WriteFile(p, content, 0o600)
		got := fsCLI(t, p, "fsck")
		if got.code != 1 || !strings.Contains(got.stdout, p+": ") || !strings.Contains(got.stdout, "DAMAGED") {
			t.Errorf("fsck of a %s file: %d\nstdout: %s\nstderr: %s", name, got.code, got.stdout, got.stderr)
		}
		if b, _ := os.ReadFile(p); !bytes.Equal(b, content) {
			t.Errorf("fsck changed the %s file", name)
		}
	}
}

// TestFSCompactBackup: compact gives space back and keeps the data; backup makes a store with
// the same data, refuses to replace a file without -f, and works while a wasmrun process reads
// the store (a :ro mount), but not while one writes to it.
func TestFSCompactBackup(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "s.store")
	big := filepath.Join(dir, "big")
	os.WriteFile(big, bytes.Repeat([]byte("abcdefgh"), 4<<20), 0o644) // 32 MiB
	fsOK(t, store, "import", hostTree(t), "/keep")
	fsOK(t, store, "put", big, "/big")
	fsOK(t, store, "rm", "/big")
	want := fsOK(t, store, "export")
	before, _ := os.Stat(store)
	if got := fsOK(t, store, "compact"); !strings.Contains(got, "compacted "+store+": ") {
		t.Errorf("compact: %q", got)
	}
	after, _ := os.Stat(store)
	if after.Size() > before.Size()/2 {
		t.Errorf("compact: %d -> %d bytes", before.Size(), after.Size())
	}
	if got := fsOK(t, store, "export"); got != want {
		t.Error("compact changed the data")
	}

	backup := filepath.Join(dir, "b.store")
	if got := fsOK(t, store, "backup", backup); !strings.Contains(got, "backed up "+store+" to "+backup) {
		t.Errorf("backup: %q", got)
	}
	if got := fsOK(t, backup, "export"); got != want {
		t.Error("the backup holds other data")
	}
	if got := fsCLI(t, store, "backup", backup); got.code != 1 || !strings.Contains(got.stderr, "give -f") {
		t.Errorf("backup over an existing file: %d %q", got.code, got.stderr)
	}
	fsOK(t, store, "backup", "-f", backup)

	// A wasmrun process that reads the store through a read-only mount (it waits on stdin).
	reader := exec.Command(wasmrunBin, "--mount", "/s=stable:"+store+":ro", g("cat"))
	reader.Env = testEnv(filepath.Join(dir, "root.store"))
	in, _ := reader.StdinPipe()
	out, _ := reader.StdoutPipe()
	if err := reader.Start(); err != nil {
		t.Fatal(err)
	}
	io.WriteString(in, "ready\n")
	if _, err := io.ReadFull(out, make([]byte, 6)); err != nil {
		t.Fatal(err)
	}
	if got := fsOK(t, store, "backup", "--lock-timeout", "100ms", filepath.Join(dir, "hot.store")); !strings.Contains(got, "backed up") {
		t.Errorf("backup while a reader runs: %q", got)
	}
	if got := fsOK(t, store, "ls", "/keep"); got != "a.txt\nlink\nsub\n" {
		t.Errorf("ls while a reader runs: %q", got)
	}
	for _, args := range [][]string{{"compact"}, {"mkdir", "/x"}} {
		if got := fsCLI(t, store, append(args, "--lock-timeout", "100ms")...); got.code != 1 || !strings.Contains(got.stderr, "in use by another process") {
			t.Errorf("%q while a reader runs: %d %q", args, got.code, got.stderr)
		}
	}
	in.Close()
	reader.Wait()

	// A wasmrun process that writes to it: even readers wait, then fail with a clear message.
	writer := exec.Command(wasmrunBin, "--store", store, g("cat"))
	writer.Env = testEnv(store)
	in, _ = writer.StdinPipe()
	out, _ = writer.StdoutPipe()
	if err := writer.Start(); err != nil {
		t.Fatal(err)
	}
	defer writer.Wait()
	defer in.Close()
	io.WriteString(in, "ready\n")
	if _, err := io.ReadFull(out, make([]byte, 6)); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"backup", filepath.Join(dir, "b2.store")}, {"ls"}, {"fsck"}} {
		got := fsCLI(t, store, append(args, "--lock-timeout", "100ms")...)
		if got.code != 1 || !strings.Contains(got.stderr, "in use by another process") || !strings.Contains(got.stderr, "--lock-timeout") {
			t.Errorf("%q while a writer runs: %d %q", args, got.code, got.stderr)
		}
	}
}

// TestFSFlagsAnywhere: flags before the subcommand, after it, after the arguments, and "--".
func TestFSFlagsAnywhere(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.store"), filepath.Join(dir, "b.store")
	fsOK(t, a, "mkdir", "/in-a")
	fsOK(t, a, "--store", b, "mkdir", "/in-b")
	fsOK(t, a, "mkdir", "/-dash", "--store", b, "--")
	if got := fsOK(t, a, "ls", "--store", b); got != "-dash\nin-b\n" {
		t.Errorf("ls --store b = %q", got)
	}
	if got := fsOK(t, a, "--store", b, "ls", "-l", "/", "--json"); strings.Count(got, "\n") != 2 || !strings.Contains(got, `"name":"in-b"`) {
		t.Errorf("flags after the argument: %q", got)
	}
	if got := fsOK(t, a, "ls"); got != "in-a\n" {
		t.Errorf("ls a = %q", got)
	}
	fsOK(t, a, "mkdir", "--", "--store")
	if got := fsOK(t, a, "ls"); got != "--store\nin-a\n" {
		t.Errorf("after mkdir -- --store: ls = %q", got)
	}
}

// TestProgressLine checks the progress bar's rendering with a fake clock.
func TestProgressLine(t *testing.T) {
	start := time.Unix(1000, 0)
	now := start
	var buf bytes.Buffer
	p := newProgressBar(&buf, "export", 4<<20, func() time.Time { return now })
	now = now.Add(2 * time.Second)
	p.set(1 << 20)
	if got := p.line(2 * time.Second); got != "export   [=======>                      ]  25%   1.0M / 4.0M   512K/s" {
		t.Errorf("line = %q", got)
	}
	p.set(2 << 20) // too soon after the last draw: not drawn
	if n := strings.Count(buf.String(), "\r"); n != 1 {
		t.Errorf("%d draws, want 1", n)
	}
	now = now.Add(2 * time.Second)
	p.set(4 << 20)
	p.finish()
	lines := strings.Split(buf.String(), "\r")
	if last := lines[len(lines)-1]; !strings.Contains(last, "[==============================] 100%   4.0M / 4.0M   1.0M/s") || !strings.HasSuffix(last, "\x1b[K\n") {
		t.Errorf("final draw %q", last)
	}
	unknown := newProgressBar(&buf, "import", -1, func() time.Time { return start })
	if got := unknown.line(time.Second); got != "import   0   0/s" {
		t.Errorf("unknown total: %q", got)
	}
	var nilBar *progressBar
	nilBar.set(1)
	nilBar.setTotal(1, 2)
	nilBar.finish()
	if got := humanSize(1536); got != "1.5K" {
		t.Errorf("humanSize(1536) = %q", got)
	}
	for _, tc := range []struct {
		n    int64
		want string
	}{{0, "0"}, {1023, "1023"}, {1024, "1.0K"}, {10 << 20, "10M"}, {3 << 30, "3.0G"}} {
		if got := humanSize(tc.n); got != tc.want {
			t.Errorf("humanSize(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
	if got := slices.Collect(func(yield func(string) bool) {
		for _, m := range []uint32{0o4755, 0o1777, 0o2644, 0o640} {
			if !yield(modeString(statMode(m))) {
				return
			}
		}
	}); !slices.Equal(got, []string{"-rwsr-xr-x", "-rwxrwxrwt", "-rw-r-Sr--", "-rw-r-----"}) {
		t.Errorf("modeString: %q", got)
	}
}

func statMode(m uint32) vfs.Stat { return vfs.Stat{Type: vfs.TypeRegular, Mode: m} }

// TestFSImportSparse imports sparse files GNU tar wrote (old GNU and PAX 1.0 formats) of
// 64 GiB with a few bytes of data: the import costs what the archive holds, the store holds
// a file of the full size; an archive whose sparse map covers more data than it holds is
// refused before the store is created.
func TestFSImportSparse(t *testing.T) {
	tarBin, err := exec.LookPath("tar")
	if err != nil {
		t.Fatal("the test needs the system's tar (Debian: apt-get install tar):", err)
	}
	dir := t.TempDir()
	host := filepath.Join(dir, "host")
	os.Mkdir(host, 0o755)
	f, err := os.Create(filepath.Join(host, "big"))
	if err != nil {
		t.Fatal(err)
	}
	const size = 64 << 30
	f.WriteAt([]byte("start"), 0)
	f.WriteAt([]byte("end"), size-3)
	f.Close()
	for _, format := range []string{"--format=gnu", "--sparse-version=1.0"} {
		archive := filepath.Join(dir, "big.tar")
		if out, err := exec.Command(tarBin, "-C", host, "-cSf", archive, format, "big").CombinedOutput(); err != nil {
			t.Fatalf("tar %s: %v %s", format, err, out)
		}
		store := filepath.Join(dir, strings.TrimPrefix(format, "--")+".store")
		start := time.Now()
		if got := fsOK(t, store, "import", archive, "/d"); !strings.Contains(got, "imported 1 file") {
			t.Errorf("%s: import: %q", format, got)
		}
		if d := time.Since(start); d > 20*time.Second {
			t.Errorf("%s: import took %v", format, d)
		}
		if got := fsOK(t, store, "stat", "--json", "/d/big"); !strings.Contains(got, `"size":68719476736`) {
			t.Errorf("%s: stat: %s", format, got)
		}
	}
	// A 1.0 map that promises 4096 bytes of data the archive does not hold.
	archive := filepath.Join(dir, "bad.tar")
	pax := "22 GNU.sparse.major=1\n22 GNU.sparse.minor=0\n21 GNU.sparse.name=f\n38 GNU.sparse.realsize=17592186044416\n"
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	// archive/tar does not write a PAX header of records given as data: write a file, then
	// make its header one (typeflag 'x', checksum again).
	for _, err := range []error{
		tw.WriteHeader(&tar.Header{Name: "PaxHeaders/f", Typeflag: tar.TypeReg, Size: int64(len(pax)), Format: tar.FormatUSTAR}),
		func() error { _, err := tw.Write([]byte(pax)); return err }(),
		tw.WriteHeader(&tar.Header{Name: "GNUSparseFile.0/f", Typeflag: tar.TypeReg, Size: 512 + 100, Mode: 0o644, Format: tar.FormatUSTAR}),
		func() error {
			_, err := tw.Write(append(append([]byte("1\n0\n4096\n"), make([]byte, 512-9)...), make([]byte, 100)...))
			return err
		}(),
		tw.Close(),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	raw := b.Bytes()
	raw[156] = tar.TypeXHeader
	copy(raw[148:156], "        ")
	sum := 0
	for _, c := range raw[:512] {
		sum += int(c)
	}
	copy(raw[148:156], strconv.FormatInt(int64(sum), 8)+"\x00 ")
	if err := os.WriteFile(archive, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	fresh := filepath.Join(dir, "fresh.store")
	if got := fsCLI(t, fresh, "import", archive, "/d"); got.code != 1 || !strings.Contains(got.stderr, "sparse") || !strings.Contains(got.stderr, "nothing imported") {
		t.Errorf("import of a bad sparse map: %d %q", got.code, got.stderr)
	}
	if _, err := os.Stat(fresh); err == nil {
		t.Error("a refused import created the store")
	}
}
