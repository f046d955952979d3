package run

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wasmrun/wasmrun/stable"
	"github.com/wasmrun/wasmrun/vfs"
)

// crashedStore writes n files of 64 KiB into a new store, each fsynced (so each is a record of
// the store's write-ahead log), and returns a copy of the store and its log as a crash would
// leave them (the writer still has the store open).
func crashedStore(t *testing.T, n int) (store string) {
	t.Helper()
	dir := t.TempDir()
	live := filepath.Join(dir, "live.store")
	f, err := stable.Open(live, stable.Options{CommitInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for i := range n {
		ino, e := f.Create(f.Root(), fmt.Sprintf("f%02d", i), vfs.TypeRegular, 0o644, "")
		if e != vfs.ESUCCESS {
			t.Fatal(e)
		}
		h, _ := f.Open(ino, vfs.OpenWrite)
		buf := []byte(strings.Repeat(fmt.Sprintf("%02d", i), 32<<10))
		if _, e := h.WriteAt(buf, 0); e != vfs.ESUCCESS {
			t.Fatal(e)
		}
		if e := h.Sync(false); e != vfs.ESUCCESS {
			t.Fatal(e)
		}
		h.Close()
	}
	store = filepath.Join(dir, "s.store")
	for _, suffix := range []string{"", "-wal"} {
		b, err := os.ReadFile(live + suffix)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(store+suffix, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return store
}

// TestFSRecover: a store whose log is damaged in the middle (a byte flipped, valid records
// after it) is refused by fsck, by the other subcommands and by a run, each naming the log and
// telling how to recover; recover opens it without the damaged part and keeps a copy of the
// log; fsck then passes. A log torn at its end (a crash) is not damage: fsck passes at once.
func TestFSRecover(t *testing.T) {
	t.Run("damaged", func(t *testing.T) {
		store := crashedStore(t, 10)
		log, err := os.ReadFile(store + "-wal")
		if err != nil {
			t.Fatal(err)
		}
		log[len(log)/2] ^= 0x10
		if err := os.WriteFile(store+"-wal", log, 0o600); err != nil {
			t.Fatal(err)
		}
		got := fsCLI(t, store, "fsck")
		if got.code != 1 || !strings.Contains(got.stdout, "damaged, not torn") || !strings.Contains(got.stdout, store+"-wal") ||
			!strings.Contains(got.stdout, "wasmrun fs recover --store "+store) || !strings.Contains(got.stdout, "DAMAGED") {
			t.Errorf("fsck of a store with a damaged log: %d\nstdout:\n%s\nstderr:\n%s", got.code, got.stdout, got.stderr)
		}
		if after, _ := os.ReadFile(store + "-wal"); string(after) != string(log) {
			t.Error("fsck changed the damaged log")
		}
		got = fsCLI(t, store, "ls", "/")
		if got.code != 1 || !strings.Contains(got.stderr, "damaged, not torn") || !strings.Contains(got.stderr, "wasmrun fs recover") {
			t.Errorf("ls of a store with a damaged log: %d\nstderr:\n%s", got.code, got.stderr)
		}
		got = fsCLI(t, store, "recover")
		if got.code != 0 || !strings.Contains(got.stdout, "recovered, dropping") || !strings.Contains(got.stdout, "bytes of committed changes") {
			t.Errorf("recover: %d\nstdout:\n%s\nstderr:\n%s", got.code, got.stdout, got.stderr)
		}
		if kept, _ := os.ReadFile(store + "-wal.damaged"); string(kept) != string(log) {
			t.Error("recover kept no copy of the damaged log")
		}
		out := fsOK(t, store, "fsck")
		if !strings.HasSuffix(out, store+": ok\n") {
			t.Errorf("fsck after recover: %s", out)
		}
		ls := fsOK(t, store, "ls", "/")
		if n := strings.Count(ls, "\n"); n == 0 || n >= 10 {
			t.Errorf("after recover %d files, want some of the 10 (those before the damage): %q", n, ls)
		}
		if got := fsOK(t, store, "recover"); !strings.Contains(got, "nothing to recover") {
			t.Errorf("recover of a sound store: %q", got)
		}
	})
	t.Run("torn", func(t *testing.T) {
		store := crashedStore(t, 10)
		log, err := os.ReadFile(store + "-wal")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(store+"-wal", log[:len(log)-100], 0o600); err != nil {
			t.Fatal(err)
		}
		if out := fsOK(t, store, "fsck"); !strings.HasSuffix(out, store+": ok\n") {
			t.Errorf("fsck of a store whose log's last record is torn: %s", out)
		}
		if n := strings.Count(fsOK(t, store, "ls", "/"), "\n"); n != 9 {
			t.Errorf("%d files after the torn tail was dropped, want 9", n)
		}
	})
}
