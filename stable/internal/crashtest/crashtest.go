// Package crashtest is the workload and the checker of the stable backend's crash tests: a
// child process runs Run against a store and reports what it made durable, the test kills it
// (SIGKILL at a random moment, or at a failpoint), and Check reopens the store and verifies
// that everything reported durable is there, intact, and that Fsck finds nothing wrong.
//
// The workload appends fixed-size records to /log (each one write, so a commit holds whole
// records), rewrites /state with the atomic rename-over pattern (write /state.tmp, sync,
// rename over /state, sync), and churns small files in /churn, some unlinked while open.
package crashtest

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/wasmrun/wasmrun/stable"
	"github.com/wasmrun/wasmrun/vfs"
)

// RecordSize is the size of one /log record.
const RecordSize = 100

// record returns record seq: "rec <seq>", filler derived from seq, and a CRC-32 at the end.
func record(seq int) []byte {
	r := make([]byte, RecordSize)
	n := copy(r, fmt.Sprintf("rec %010d ", seq))
	for i := n; i < RecordSize-4; i++ {
		r[i] = byte('a' + (seq+i)%26)
	}
	binary.BigEndian.PutUint32(r[RecordSize-4:], crc32.ChecksumIEEE(r[:RecordSize-4]))
	return r
}

// state returns the content of /state number k: a header and k-derived bytes, of a length
// that varies so that a half-written file would show.
func state(k int) []byte {
	size := 1000 + (k*7919)%40000
	b := make([]byte, size)
	n := copy(b, fmt.Sprintf("state %d %d\n", k, size))
	for i := n; i < size; i++ {
		b[i] = byte(k + i*31)
	}
	return b
}

// Options say how the workload commits.
type Options struct {
	// Explicit makes the workload commit once per step (with FS.Commit) and report
	// "committed <step>" after each; the store should then be opened with no background
	// commits, so that what each commit holds is known exactly. Otherwise it syncs at random
	// and reports "synced <seq>" and "state <k>".
	Explicit bool
	// Steps bounds the steps (0: run until killed).
	Steps int
}

// Run runs the workload on fsys, writing its reports to out, one a line. It returns only on
// an error or after opts.Steps steps.
func Run(fsys *stable.FS, out io.Writer, seed uint64, opts Options) error {
	w := &workload{f: fsys, rng: rand.New(rand.NewPCG(seed, 1))}
	root := fsys.Root()
	churn, _, e := fsys.Lookup(root, "churn")
	if e == vfs.ENOENT {
		churn, e = fsys.Create(root, "churn", vfs.TypeDir, 0o755, "")
	}
	if e != vfs.ESUCCESS {
		return fmt.Errorf("churn dir: %w", e)
	}
	logIno, _, e := fsys.Lookup(root, "log")
	if e == vfs.ENOENT {
		logIno, e = fsys.Create(root, "log", vfs.TypeRegular, 0o644, "")
	}
	if e != vfs.ESUCCESS {
		return fmt.Errorf("log: %w", e)
	}
	st, e := fsys.Stat(logIno)
	if e != vfs.ESUCCESS {
		return fmt.Errorf("stat log: %w", e)
	}
	seq := int(st.Size / RecordSize)
	k := 0
	if b, e := readFile(fsys, "state"); e == vfs.ESUCCESS {
		k, _ = parseState(b)
	}
	log, e := fsys.Open(logIno, vfs.OpenWrite)
	if e != vfs.ESUCCESS {
		return fmt.Errorf("open log: %w", e)
	}
	var open []vfs.File
	for step := 1; opts.Steps == 0 || step <= opts.Steps; step++ {
		if _, _, e := log.Append(record(seq)); e != vfs.ESUCCESS {
			return fmt.Errorf("append %d: %w", seq, e)
		}
		seq++
		// Churn: small files come and go, some unlinked while open.
		name := "c" + strconv.Itoa(w.rng.IntN(50))
		if ino, _, e := fsys.Lookup(churn, name); e == vfs.ESUCCESS {
			if w.rng.IntN(3) == 0 && len(open) < 8 {
				if h, e := fsys.Open(ino, vfs.OpenRead|vfs.OpenWrite); e == vfs.ESUCCESS {
					open = append(open, h)
				}
			}
			if e := fsys.Remove(churn, name, false); e != vfs.ESUCCESS {
				return fmt.Errorf("remove %s: %w", name, e)
			}
		} else if ino, e := fsys.Create(churn, name, vfs.TypeRegular, 0o644, ""); e == vfs.ESUCCESS {
			h, e := fsys.Open(ino, vfs.OpenWrite)
			if e != vfs.ESUCCESS {
				return fmt.Errorf("open %s: %w", name, e)
			}
			h.WriteAt(bytes.Repeat([]byte(name), 1+w.rng.IntN(5000)), 0)
			h.Close()
		}
		if len(open) > 0 && w.rng.IntN(4) == 0 {
			open[0].WriteAt([]byte("still open"), 100)
			open[0].Close()
			open = open[1:]
		}
		wrote := false
		if opts.Explicit || w.rng.IntN(4) == 0 {
			// Rename-over: the new state is complete before it replaces the old one.
			k++
			if e := w.writeState(k, !opts.Explicit); e != vfs.ESUCCESS {
				return fmt.Errorf("state %d: %w", k, e)
			}
			wrote = true
		}
		switch {
		case opts.Explicit:
			if e := fsys.Commit(); e != vfs.ESUCCESS {
				return fmt.Errorf("commit: %w", e)
			}
			fmt.Fprintf(out, "committed %d\n", step)
		case wrote || w.rng.IntN(3) == 0:
			if e := log.Sync(true); e != vfs.ESUCCESS {
				return fmt.Errorf("sync: %w", e)
			}
			if wrote {
				fmt.Fprintf(out, "state %d\n", k)
			}
			fmt.Fprintf(out, "synced %d\n", seq)
		}
	}
	return nil
}

type workload struct {
	f   *stable.FS
	rng *rand.Rand
}

// writeState writes state k to /state.tmp, syncs it (if sync) and renames it over /state.
func (w *workload) writeState(k int, sync bool) vfs.Errno {
	f, root := w.f, w.f.Root()
	ino, _, e := f.Lookup(root, "state.tmp")
	if e == vfs.ENOENT {
		ino, e = f.Create(root, "state.tmp", vfs.TypeRegular, 0o644, "")
	}
	if e != vfs.ESUCCESS {
		return e
	}
	h, e := f.Open(ino, vfs.OpenWrite)
	if e != vfs.ESUCCESS {
		return e
	}
	defer h.Close()
	if e := f.SetAttr(ino, &vfs.Attr{Valid: vfs.AttrSize}); e != vfs.ESUCCESS {
		return e
	}
	data := state(k)
	// Write in pieces, as a program would.
	for off := 0; off < len(data); off += 3000 {
		if _, e := h.WriteAt(data[off:min(off+3000, len(data))], int64(off)); e != vfs.ESUCCESS {
			return e
		}
	}
	if sync {
		if e := h.Sync(true); e != vfs.ESUCCESS {
			return e
		}
	}
	if e := f.Rename(root, "state.tmp", root, "state"); e != vfs.ESUCCESS {
		return e
	}
	return vfs.ESUCCESS
}

func readFile(f vfs.FS, name string) ([]byte, vfs.Errno) {
	ino, _, e := f.Lookup(f.Root(), name)
	if e != vfs.ESUCCESS {
		return nil, e
	}
	st, e := f.Stat(ino)
	if e != vfs.ESUCCESS {
		return nil, e
	}
	h, e := f.Open(ino, vfs.OpenRead)
	if e != vfs.ESUCCESS {
		return nil, e
	}
	defer h.Close()
	b := make([]byte, st.Size)
	n, e := h.ReadAt(b, 0)
	return b[:n], e
}

// parseState checks a /state content and returns its number.
func parseState(b []byte) (int, error) {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	var k, size int
	if _, err := fmt.Sscanf(string(line), "state %d %d", &k, &size); err != nil {
		return 0, fmt.Errorf("state header %q: %v", line, err)
	}
	if !bytes.Equal(b, state(k)) {
		return 0, fmt.Errorf("state %d: %d bytes, not the %d it should be, or wrong content", k, len(b), size)
	}
	return k, nil
}

// Report is what a child reported before it died.
type Report struct {
	Synced    int // records reported synced (the log held at least this many)
	State     int // highest state reported durable
	Committed int // steps reported committed (Explicit)
}

// ParseReport reads a child's report lines.
func ParseReport(out []byte) Report {
	var r Report
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			continue // the last line may be cut short by the kill
		}
		n, err := strconv.Atoi(f[1])
		if err != nil {
			continue
		}
		switch f[0] {
		case "synced":
			r.Synced = max(r.Synced, n)
		case "state":
			r.State = max(r.State, n)
		case "committed":
			r.Committed = max(r.Committed, n)
		}
	}
	return r
}

// Result is what Check found in the store.
type Result struct {
	Records int // intact records in /log
	State   int // number of /state (0 if none)
}

// Check opens the store at path (which reclaims what the crash left), checks it with Fsck
// and checks /log and /state, and returns what they hold. Any damage is an error.
func Check(path string) (Result, error) {
	var res Result
	f, err := stable.Open(path, stable.Options{CommitInterval: -1})
	if err != nil {
		return res, err
	}
	defer f.Close()
	r, err := f.Fsck()
	if err != nil {
		return res, err
	}
	if !r.OK() {
		return res, fmt.Errorf("fsck: %v", r)
	}
	if r.Orphans != 0 {
		return res, fmt.Errorf("%d orphans left after Open", r.Orphans)
	}
	log, e := readFile(f, "log")
	switch {
	case e == vfs.ENOENT:
	case e != vfs.ESUCCESS:
		return res, fmt.Errorf("read log: %w", e)
	case len(log)%RecordSize != 0:
		return res, fmt.Errorf("log of %d bytes: a torn record", len(log))
	default:
		for i := 0; i < len(log)/RecordSize; i++ {
			if got := log[i*RecordSize : (i+1)*RecordSize]; !bytes.Equal(got, record(i)) {
				return res, fmt.Errorf("log record %d damaged: %q", i, got)
			}
		}
		res.Records = len(log) / RecordSize
	}
	st, e := readFile(f, "state")
	switch {
	case e == vfs.ENOENT:
	case e != vfs.ESUCCESS:
		return res, fmt.Errorf("read state: %w", e)
	default:
		if res.State, err = parseState(st); err != nil {
			return res, err
		}
	}
	return res, nil
}
