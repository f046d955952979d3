package stable

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wasmrun/wasmrun/vfs"
)

// panicText is what a Go runtime panic or fault leaves in a message. None of it may reach a
// user: damage on disk is reported as damage, never as a crash of the program.
var panicText = []string{"runtime error", "nil pointer", "invalid memory address", "goroutine ", "panic:", "unexpected fault address", "index out of range"}

// checkNoPanicText fails the test if msg carries Go runtime panic text.
func checkNoPanicText(t testing.TB, what, msg string) {
	t.Helper()
	for _, p := range panicText {
		if strings.Contains(msg, p) {
			t.Errorf("%s: the message carries Go panic text %q: %s", what, p, msg)
			return
		}
	}
}

// dataFile is the content of file i of dataStore: seeded, so that a wrong byte shows.
func dataFile(i, n int) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(uint64(i), 0xda7a))
	for j := range b {
		b[j] = byte(r.Uint32())
	}
	return b
}

// dataFiles are the files of dataStore: path and size.
var dataFiles = func() map[string]int {
	m := map[string]int{"/big": 3 << 20, "/d/mid": 200 << 10}
	for i := range 40 {
		m[fmt.Sprintf("/d/small/s%02d", i)] = 100 + 37*i
	}
	return m
}()

// dataContent returns the content dataStore gives path p.
func dataContent(p string) []byte {
	i := 0
	for _, c := range p {
		i = i*31 + int(c)
	}
	return dataFile(i, dataFiles[p])
}

// dataStore makes a closed store in dir with dataFiles (3.4 MB of data, a directory of 40
// small files) and returns its path.
func dataStore(t testing.TB, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "data.store")
	f := openT(t, path, Options{NoSync: true})
	mkdirT(t, f, "/d")
	mkdirT(t, f, "/d/small")
	for p := range dataFiles {
		writeFileT(t, f, p, dataContent(p))
	}
	closeChecked(t, f)
	return path
}

// TestTruncatedStore (issue 15, case 4): a store cut short, to the sizes a user found and to
// a few more, fails Open, read-write and read-only, with ErrCorrupt or ErrNotStore in an
// error naming the file, never Go panic text, and leaves the file as it was.
func TestTruncatedStore(t *testing.T) {
	dir := t.TempDir()
	good, err := os.ReadFile(dataStore(t, dir))
	if err != nil {
		t.Fatal(err)
	}
	if len(good) <= 2_600_000 {
		t.Fatalf("the store has %d bytes, too few to cut at 2.6 MB", len(good))
	}
	for _, size := range []int{100, 4096, 64 << 10, 128 << 10, 192 << 10, 1 << 20, 2_600_000, len(good) - 1} {
		for _, ro := range []bool{false, true} {
			name := fmt.Sprintf("%d/ro=%v", size, ro)
			t.Run(name, func(t *testing.T) {
				p := filepath.Join(dir, fmt.Sprintf("cut%d-%v.store", size, ro))
				if err := os.WriteFile(p, good[:size], 0o600); err != nil {
					t.Fatal(err)
				}
				f, err := Open(p, Options{ReadOnly: ro})
				if err == nil {
					f.Close()
					t.Fatalf("Open of a store cut to %d bytes succeeded", size)
				}
				if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrNotStore) {
					t.Errorf("Open: %v, want ErrCorrupt or ErrNotStore", err)
				}
				if !strings.Contains(err.Error(), p) {
					t.Errorf("Open: %v, does not name %s", err, p)
				}
				checkNoPanicText(t, "Open", err.Error())
				if b, _ := os.ReadFile(p); !bytes.Equal(b, good[:size]) {
					t.Error("the failed Open changed the file")
				}
			})
		}
	}
}

// readAllT reads the whole of file p of f, returning the first errno.
func readAllT(f vfs.FS, p string) ([]byte, vfs.Errno) {
	ino := f.Root()
	for _, name := range strings.Split(strings.Trim(p, "/"), "/") {
		var e vfs.Errno
		if ino, _, e = f.Lookup(ino, name); e != vfs.ESUCCESS {
			return nil, e
		}
	}
	h, e := f.Open(ino, vfs.OpenRead)
	if e != vfs.ESUCCESS {
		return nil, e
	}
	defer h.Close()
	var out []byte
	buf := make([]byte, 64<<10)
	for {
		n, e := h.ReadAt(buf, int64(len(out)))
		out = append(out, buf[:n]...)
		if e != vfs.ESUCCESS {
			return out, e
		}
		if n == 0 {
			return out, vfs.ESUCCESS
		}
	}
}
