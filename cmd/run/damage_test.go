package run

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// panicText is what a Go runtime panic or fault leaves in a message; a user must never see it.
var panicText = []string{"runtime error", "nil pointer", "invalid memory address", "goroutine ", "panic:", "unexpected fault address", "index out of range"}

// TestTruncatedStoreCLI (issue 15, case 4): a store with data cut short, to 128 KiB, 192 KiB,
// 2.6 MB and a few more sizes, makes a run and every kind of fs subcommand (reading, writing,
// checking, recovering, compacting, backing up) fail with a message naming the file, the exit
// status of a bad store (2 for a run, 1 for fs), no Go panic text, and the file unchanged.
func TestTruncatedStoreCLI(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.store")
	src := filepath.Join(dir, "src")
	os.Mkdir(src, 0o755)
	os.WriteFile(filepath.Join(src, "big"), bytes.Repeat([]byte("0123456789abcdef"), 200<<10), 0o644) // 3.2 MiB
	for i := range 20 {
		os.WriteFile(filepath.Join(src, fmt.Sprintf("f%02d", i)), []byte(strings.Repeat("x", 100*i)), 0o644)
	}
	fsOK(t, good, "import", src, "/data")
	whole, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	if len(whole) <= 2_600_000 {
		t.Fatalf("the store has %d bytes, too few to cut at 2.6 MB", len(whole))
	}
	cmds := []struct {
		name string
		args []string
		code int
	}{
		{"run", []string{g("echo"), "hi"}, 2},
		{"ls", []string{"fs", "ls", "/data"}, 1},
		{"cat", []string{"fs", "cat", "/data/f01"}, 1},
		{"mkdir", []string{"fs", "mkdir", "/new"}, 1},
		{"fsck", []string{"fs", "fsck"}, 1},
		{"recover", []string{"fs", "recover"}, 1},
		{"compact", []string{"fs", "compact"}, 1},
		{"backup", []string{"fs", "backup", filepath.Join(dir, "copy.store")}, 1},
	}
	for _, size := range []int{128 << 10, 192 << 10, 2_600_000, 4096} {
		p := filepath.Join(dir, fmt.Sprintf("cut%d.store", size))
		if err := os.WriteFile(p, whole[:size], 0o600); err != nil {
			t.Fatal(err)
		}
		for _, c := range cmds {
			t.Run(fmt.Sprintf("%d/%s", size, c.name), func(t *testing.T) {
				got := cli(t, p, c.args...)
				msg := got.stdout + got.stderr
				if got.code != c.code || !strings.Contains(msg, p) || !strings.Contains(msg, "corrupt") && !strings.Contains(msg, "DAMAGED") && !strings.Contains(msg, "not a") {
					t.Errorf("exit %d (want %d)\nstdout: %s\nstderr: %s", got.code, c.code, got.stdout, got.stderr)
				}
				for _, pt := range panicText {
					if strings.Contains(msg, pt) {
						t.Errorf("the message carries Go panic text %q:\n%s", pt, msg)
					}
				}
				if b, _ := os.ReadFile(p); !bytes.Equal(b, whole[:size]) {
					t.Error("the file was changed")
				}
			})
		}
	}
}
