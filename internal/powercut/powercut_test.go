package powercut

import (
	"bufio"
	"bytes"
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
)

// mount mounts a fresh power-cut filesystem and unmounts it at the end of the test.
func mount(t *testing.T) *FS {
	t.Helper()
	Require(t)
	dir := t.TempDir()
	backing, mnt := filepath.Join(dir, "disk"), filepath.Join(dir, "mnt")
	for _, d := range []string{backing, mnt} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	f, err := Mount(backing, mnt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Unmount() })
	return f
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// put creates (or truncates) name in the mount with data, and fsyncs it.
func put(t *testing.T, mnt, name, data string) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(mnt, name), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	must(t, err)
	_, err = f.WriteString(data)
	must(t, err)
	must(t, f.Sync())
	must(t, f.Close())
}

// write writes data at off into name, with no fsync.
func write(t *testing.T, mnt, name, data string, off int64) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(mnt, name), os.O_CREATE|os.O_WRONLY, 0o644)
	must(t, err)
	_, err = f.WriteAt([]byte(data), off)
	must(t, err)
	must(t, f.Close())
}

// syncDir fsyncs the directory name of the mount.
func syncDir(t *testing.T, mnt, name string) {
	t.Helper()
	d, err := os.Open(filepath.Join(mnt, name))
	must(t, err)
	must(t, d.Sync())
	must(t, d.Close())
}

// tree returns the files under dir, by path, with their contents ("/" ends a directory).
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	got := map[string]string{}
	must(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			got[rel+"/"] = ""
			return nil
		}
		b, err := os.ReadFile(p)
		got[rel] = string(b)
		return err
	}))
	return got
}

func TestCutDropsWhatWasNotSynced(t *testing.T) {
	// Every case starts from a durable file "f" holding "hello" (written, fsynced, and its
	// directory fsynced), runs its steps, cuts, and compares the backing directory with want.
	tests := []struct {
		name  string
		steps func(t *testing.T, m string)
		want  map[string]string
	}{
		{"nothing", func(t *testing.T, m string) {}, map[string]string{"f": "hello"}},
		{"overwrite not synced", func(t *testing.T, m string) { write(t, m, "f", "HE", 0) },
			map[string]string{"f": "hello"}},
		{"overwrite synced", func(t *testing.T, m string) { put(t, m, "f", "HE") },
			map[string]string{"f": "HE"}},
		{"append not synced", func(t *testing.T, m string) { write(t, m, "f", " world", 5) },
			map[string]string{"f": "hello"}},
		{"synced then more not synced", func(t *testing.T, m string) {
			put(t, m, "f", "hello world")
			write(t, m, "f", "J", 0)
			write(t, m, "f", "!!!", 11)
		}, map[string]string{"f": "hello world"}},
		{"truncate not synced", func(t *testing.T, m string) { must(t, os.Truncate(filepath.Join(m, "f"), 2)) },
			map[string]string{"f": "hello"}},
		{"O_TRUNC not synced", func(t *testing.T, m string) {
			f, err := os.OpenFile(filepath.Join(m, "f"), os.O_WRONLY|os.O_TRUNC, 0)
			must(t, err)
			must(t, f.Close())
		}, map[string]string{"f": "hello"}},
		{"new file synced, its directory not", func(t *testing.T, m string) { put(t, m, "g", "new") },
			map[string]string{"f": "hello"}},
		{"new file and its directory synced", func(t *testing.T, m string) {
			put(t, m, "g", "new")
			syncDir(t, m, ".")
		}, map[string]string{"f": "hello", "g": "new"}},
		{"new file's directory synced, the file not", func(t *testing.T, m string) {
			write(t, m, "g", "new", 0)
			syncDir(t, m, ".")
		}, map[string]string{"f": "hello", "g": ""}},
		{"unlink not synced", func(t *testing.T, m string) { must(t, os.Remove(filepath.Join(m, "f"))) },
			map[string]string{"f": "hello"}},
		{"unlink synced", func(t *testing.T, m string) {
			must(t, os.Remove(filepath.Join(m, "f")))
			syncDir(t, m, ".")
		}, map[string]string{}},
		{"rename-over not synced", func(t *testing.T, m string) {
			put(t, m, "f.tmp", "bye")
			must(t, os.Rename(filepath.Join(m, "f.tmp"), filepath.Join(m, "f")))
		}, map[string]string{"f": "hello"}},
		{"rename-over synced", func(t *testing.T, m string) {
			put(t, m, "f.tmp", "bye")
			must(t, os.Rename(filepath.Join(m, "f.tmp"), filepath.Join(m, "f")))
			syncDir(t, m, ".")
		}, map[string]string{"f": "bye"}},
		{"rename-over synced, the file's data not", func(t *testing.T, m string) {
			write(t, m, "f.tmp", "bye", 0)
			must(t, os.Rename(filepath.Join(m, "f.tmp"), filepath.Join(m, "f")))
			syncDir(t, m, ".")
		}, map[string]string{"f": ""}},
		{"link not synced", func(t *testing.T, m string) {
			must(t, os.Link(filepath.Join(m, "f"), filepath.Join(m, "f2")))
		}, map[string]string{"f": "hello"}},
		{"mkdir and a file in it, parent not synced", func(t *testing.T, m string) {
			must(t, os.Mkdir(filepath.Join(m, "d"), 0o755))
			put(t, m, "d/x", "x")
			syncDir(t, m, "d")
		}, map[string]string{"f": "hello"}},
		{"mkdir and a file in it, all synced", func(t *testing.T, m string) {
			must(t, os.Mkdir(filepath.Join(m, "d"), 0o755))
			put(t, m, "d/x", "x")
			syncDir(t, m, "d")
			syncDir(t, m, ".")
		}, map[string]string{"f": "hello", "d/": "", "d/x": "x"}},
		{"unlink while open, written, not synced", func(t *testing.T, m string) {
			f, err := os.OpenFile(filepath.Join(m, "f"), os.O_RDWR, 0)
			must(t, err)
			must(t, os.Remove(filepath.Join(m, "f")))
			_, err = f.WriteAt([]byte("J"), 0)
			must(t, err)
			must(t, f.Close())
		}, map[string]string{"f": "hello"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := mount(t)
			m := f.Mountpoint()
			put(t, m, "f", "hello")
			syncDir(t, m, ".")
			tc.steps(t, m)
			if _, err := f.Cut(CutOptions{}); err != nil {
				t.Fatal(err)
			}
			got := tree(t, f.Backing())
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("after the cut: %v, want %v", got, tc.want)
			}
		})
	}
}

// A clean unmount keeps everything, synced or not.
func TestUnmountKeepsEverything(t *testing.T) {
	f := mount(t)
	m := f.Mountpoint()
	write(t, m, "f", "kept", 0)
	must(t, f.Unmount())
	if got := tree(t, f.Backing()); got["f"] != "kept" || len(got) != 1 {
		t.Fatalf("after unmount: %v", got)
	}
}

// After Freeze nothing reaches the disk: writes and fsyncs fail with EIO.
func TestFreeze(t *testing.T) {
	f := mount(t)
	m := f.Mountpoint()
	put(t, m, "f", "hello")
	syncDir(t, m, ".")
	fh, err := os.OpenFile(filepath.Join(m, "f"), os.O_RDWR, 0)
	must(t, err)
	f.Freeze()
	if _, err := fh.WriteAt([]byte("J"), 0); !errors.Is(err, syscall.EIO) {
		t.Errorf("write after Freeze: %v, want EIO", err)
	}
	if err := fh.Sync(); !errors.Is(err, syscall.EIO) {
		t.Errorf("fsync after Freeze: %v, want EIO", err)
	}
	fh.Close()
	if _, err := f.Cut(CutOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := tree(t, f.Backing()); got["f"] != "hello" {
		t.Fatalf("after the cut: %v", got)
	}
}

// A torn cut keeps a subset of the unsynced writes, applied in order: every block holds its old
// or its new content, and the number kept is the number reported.
func TestTornCut(t *testing.T) {
	const blocks, bs = 64, 4096
	old := bytes.Repeat([]byte{'o'}, blocks*bs)
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(strconv.FormatUint(seed, 10), func(t *testing.T) {
			f := mount(t)
			m := f.Mountpoint()
			put(t, m, "f", string(old))
			syncDir(t, m, ".")
			fh, err := os.OpenFile(filepath.Join(m, "f"), os.O_RDWR, 0)
			must(t, err)
			for i := range blocks {
				_, err := fh.WriteAt(bytes.Repeat([]byte{byte('A' + i%26)}, bs), int64(i*bs))
				must(t, err)
			}
			must(t, fh.Close())
			c, err := f.Cut(CutOptions{Torn: rand.New(rand.NewPCG(seed, 0))})
			must(t, err)
			got, err := os.ReadFile(filepath.Join(f.Backing(), "f"))
			must(t, err)
			if len(got) != len(old) {
				t.Fatalf("size %d, want %d", len(got), len(old))
			}
			kept := 0
			for i := range blocks {
				b := got[i*bs : (i+1)*bs]
				switch {
				case bytes.Equal(b, old[:bs]):
				case bytes.Equal(b, bytes.Repeat([]byte{byte('A' + i%26)}, bs)):
					kept++
				default:
					t.Fatalf("block %d is neither old nor new: %.20q", i, b)
				}
			}
			if int64(kept) != c.KeptWrites || kept == 0 || kept == blocks {
				t.Fatalf("kept %d blocks, the cut reports %d kept of %d (seed %d)", kept, c.KeptWrites, blocks, seed)
			}
		})
	}
}

// A cut while a process writes: the process appends numbered lines to a log, fsyncs it with
// sync(1) and reports each fsync; the log is frozen, the process killed, the power cut. Every
// reported line is there, and at least one unsynced write was dropped by one of the cuts.
func TestCutWhileAProcessWrites(t *testing.T) {
	if _, err := exec.LookPath("sync"); err != nil {
		t.Fatal(err)
	}
	dropped := int64(0)
	for round := range 3 {
		f := mount(t)
		m := f.Mountpoint()
		script := `cd "$1" && : > log && sync . && i=0 && while :; do echo "line $i" >> log; echo "line $((i+1))" >> log; sync log; echo "SYNCED $i"; i=$((i+2)); done`
		cmd := exec.Command("sh", "-c", script, "sh", m)
		out, err := cmd.StdoutPipe()
		must(t, err)
		must(t, cmd.Start())
		lines := make(chan string, 1<<16)
		go func() {
			defer close(lines)
			s := bufio.NewScanner(out)
			for s.Scan() {
				lines <- s.Text()
			}
		}()
		time.Sleep(time.Duration(50+round*50) * time.Millisecond)
		f.Freeze()
		cmd.Process.Kill()
		synced := -1
		for l := range lines {
			if n, ok := strings.CutPrefix(l, "SYNCED "); ok {
				synced, _ = strconv.Atoi(n)
			}
		}
		cmd.Wait()
		c, err := f.Cut(CutOptions{})
		must(t, err)
		dropped += c.DroppedWrites
		b, err := os.ReadFile(filepath.Join(f.Backing(), "log"))
		if synced < 0 {
			continue
		}
		must(t, err)
		for i := 0; i <= synced+1; i++ {
			want := fmt.Sprintf("line %d\n", i)
			if !bytes.HasPrefix(b, []byte(want)) {
				t.Fatalf("round %d: line %d is missing; %d was reported synced; log ends %q", round, i, synced, b[max(0, len(b)-40):])
			}
			b = b[len(want):]
		}
		// What follows is nothing, or the next pair if the kill fell between its sync and
		// its report; never a line that was not synced.
		if next := fmt.Sprintf("line %d\nline %d\n", synced+2, synced+3); len(b) > 0 && string(b) != next {
			t.Fatalf("round %d: the log holds %q after the last synced line %d, never synced", round, b, synced+1)
		}
	}
	t.Logf("unsynced writes dropped: %d", dropped)
}
