// Command scale checks that the stable store keeps its speed and its memory bound as it grows:
// a 20 GB sparse file, a 2 GB dense file, one directory of 200,000 entries and 1,000,000 files in
// total, in one store, through the same vfs.Namespace the WASI layer uses.
//
//	cd benchmarks && go run ./cmd/scale [-factor 1] [-cache 64M] [-out benchmarks/results]
//
// (`make bench-scale`.) Every step is timed in batches, so that the time per operation can be
// seen against the size of the store: it should stay flat. After each batch the process's Go heap
// (runtime.MemStats.HeapInuse) and resident set (VmRSS) are sampled; the Go heap must stay within
// the cache bound (3 x CacheBytes: dirty, committing and clean pages, see stable.Options) plus a
// fixed allowance, whatever the size of the store. The resident set also counts the pages of
// bbolt's memory map that were touched, which the kernel can drop at any time, so it is reported
// but not checked. -factor scales every size down (0.05 for a quick look); -memprofile writes a
// heap profile after the last step. The results go to
// scale.md, scale.json and scale.png in -out.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"image/color"
	"log"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/wasmrun/wasmrun/stable"
	"github.com/wasmrun/wasmrun/vfs"
)

// Batch is one timed batch of one step.
type Batch struct {
	Step       string  `json:"step"`
	Done       int64   `json:"done"`        // operations (or MiB) done in the step after this batch
	Ops        int64   `json:"ops"`         // operations in this batch
	Seconds    float64 `json:"seconds"`     // the batch's wall time, commits included
	PerOpUS    float64 `json:"per_op_us"`   // microseconds per operation
	StoreMiB   int64   `json:"store_mib"`   // size of the store file after the batch
	HeapMiB    int64   `json:"heap_mib"`    // Go HeapInuse after the batch
	RSSMiB     int64   `json:"rss_mib"`     // VmRSS after the batch
	TotalFiles int64   `json:"total_files"` // files in the store
}

// Step summarises one step: is the time per op flat?
type Step struct {
	Name      string  `json:"name"`
	Unit      string  `json:"unit"`
	FirstUS   float64 `json:"first_quarter_us"` // median time per op over the first quarter of batches
	LastUS    float64 `json:"last_quarter_us"`  // and over the last quarter
	Growth    float64 `json:"growth"`           // LastUS / FirstUS
	Flat      bool    `json:"flat"`             // Growth <= 1.5
	PeakHeap  int64   `json:"peak_heap_mib"`
	PeakRSS   int64   `json:"peak_rss_mib"`
	WithinCap bool    `json:"heap_within_bound"`
}

type report struct {
	Factor     float64  `json:"factor"`
	CacheMiB   int64    `json:"cache_mib"`
	BoundMiB   int64    `json:"heap_bound_mib"`
	Machine    string   `json:"machine"`
	Date       string   `json:"date"`
	Steps      []*Step  `json:"steps"`
	Batches    []*Batch `json:"batches"`
	StoreMiB   int64    `json:"store_mib"`
	TotalFiles int64    `json:"total_files"`
	Seconds    float64  `json:"seconds"`
}

// allowanceMiB is what the Go heap may hold besides the cache: the runtime, the namespace, bbolt's
// bookkeeping, and the garbage collector's headroom (GOGC=100 lets the heap reach twice the live
// data between collections, so the bound is doubled too).
const allowanceMiB = 64

func main() {
	log.SetFlags(0)
	log.SetPrefix("scale: ")
	factor := flag.Float64("factor", 1, "scale every size by this factor")
	cache := flag.String("cache", "64M", "stable write-back cache bytes (Options.CacheBytes)")
	out := flag.String("out", "", "results directory (default benchmarks/results)")
	work := flag.String("work", "", "scratch directory on disk (default benchmarks/.work)")
	memProfile := flag.String("memprofile", "", "write a heap profile here after the last step, before the store is closed")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run here")
	flag.Parse()
	cacheBytes, err := parseSize(*cache)
	if err != nil {
		log.Fatal(err)
	}
	root := repoRoot()
	if *out == "" {
		*out = filepath.Join(root, "benchmarks", "results")
	}
	if *work == "" {
		*work = filepath.Join(root, "benchmarks", ".work")
	}
	os.MkdirAll(*out, 0o755)
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	os.MkdirAll(*work, 0o755)
	storePath := filepath.Join(*work, "scale.store")
	os.Remove(storePath)
	defer os.Remove(storePath)

	fsys, err := stable.Open(storePath, stable.Options{CacheBytes: cacheBytes})
	if err != nil {
		log.Fatal(err)
	}
	ns := vfs.NewNamespace(fsys)
	rep := &report{
		Factor:   *factor,
		CacheMiB: cacheBytes >> 20,
		BoundMiB: 2 * (3*cacheBytes>>20 + allowanceMiB),
		Machine:  machine(),
		Date:     time.Now().UTC().Format("2006-01-02"),
	}
	s := &scaler{ns: ns, store: storePath, rep: rep}
	t0 := time.Now()
	n := func(x float64) int64 { return max(1, int64(math.Round(x**factor))) }

	s.sparse(n(20e9), n(2000))
	s.dense(n(2<<30) &^ (1<<20 - 1))
	s.bigDir(n(200000))
	s.manyFiles(n(1e6) - n(200000))
	if err := ns.Commit(); err != nil {
		log.Fatal(err)
	}
	if *memProfile != "" {
		f, err := os.Create(*memProfile)
		if err != nil {
			log.Fatal(err)
		}
		goruntime.GC()
		if err := pprof.WriteHeapProfile(f); err != nil {
			log.Fatal(err)
		}
		f.Close()
	}
	if err := ns.Close(); err != nil {
		log.Fatal(err)
	}
	rep.Seconds = time.Since(t0).Seconds()
	rep.StoreMiB = fileMiB(storePath)
	rep.TotalFiles = s.files
	summarize(rep)
	if err := write(*out, rep); err != nil {
		log.Fatal(err)
	}
	log.Printf("done in %s: %s", time.Since(t0).Round(time.Second), filepath.Join(*out, "scale.md"))
}

type scaler struct {
	ns    *vfs.Namespace
	store string
	rep   *report
	files int64
}

func check(e vfs.Errno, what string) {
	if e != vfs.ESUCCESS {
		log.Fatalf("%s: %v", what, e)
	}
}

// batch records one batch: ops operations in d.
func (s *scaler) batch(step string, done, ops int64, d time.Duration) {
	var ms goruntime.MemStats
	goruntime.ReadMemStats(&ms)
	b := &Batch{
		Step: step, Done: done, Ops: ops, Seconds: d.Seconds(),
		PerOpUS:  d.Seconds() * 1e6 / float64(ops),
		StoreMiB: fileMiB(s.store), HeapMiB: int64(ms.HeapInuse >> 20), RSSMiB: rssMiB(),
		TotalFiles: s.files,
	}
	s.rep.Batches = append(s.rep.Batches, b)
	log.Printf("%-16s %9d done  %8.2f µs/op  store %6d MiB  heap %5d MiB  rss %5d MiB",
		step, done, b.PerOpUS, b.StoreMiB, b.HeapMiB, b.RSSMiB)
}

// sparse makes a file of size bytes with one 4 KiB block written every size/blocks bytes, then
// reads blocks at random offsets (mostly holes, some data): both in batches.
func (s *scaler) sparse(size, blocks int64) {
	h, e := s.ns.Open(s.ns.Root(), "sparse", vfs.ORead|vfs.OWrite|vfs.OCreate, 0o644)
	check(e, "create sparse")
	defer h.File.Close()
	s.files++
	check(s.ns.SetAttr(h.Node, &vfs.Attr{Valid: vfs.AttrSize, Size: size}), "truncate sparse")
	buf := make([]byte, 4096)
	for i := range buf {
		buf[i] = 0x5a
	}
	stride := size / blocks &^ 4095
	per := max(1, blocks/20)
	for i := int64(0); i < blocks; {
		t := time.Now()
		k := min(per, blocks-i)
		for j := int64(0); j < k; j++ {
			_, e := h.File.WriteAt(buf, (i+j)*stride)
			check(e, "write sparse")
		}
		check(h.File.Sync(false), "sync sparse")
		i += k
		s.batch("sparse-write", i, k, time.Since(t))
	}
	x := uint64(7)
	for i := int64(0); i < blocks; {
		t := time.Now()
		k := min(per, blocks-i)
		for j := int64(0); j < k; j++ {
			x = x*6364136223846793005 + 1442695040888963407
			_, e := h.File.ReadAt(buf, int64(x>>1)%(size-4096))
			check(e, "read sparse")
		}
		i += k
		s.batch("sparse-read", i, k, time.Since(t))
	}
}

// dense writes a file of size bytes in 1 MiB chunks (timed per 1/16 of the file, per MiB), with
// the commits the cache bound triggers, and reads it back.
func (s *scaler) dense(size int64) {
	h, e := s.ns.Open(s.ns.Root(), "dense", vfs.ORead|vfs.OWrite|vfs.OCreate, 0o644)
	check(e, "create dense")
	defer h.File.Close()
	s.files++
	buf := make([]byte, 1<<20)
	for i := range buf {
		buf[i] = byte(i*7 + 1)
	}
	chunks := size >> 20
	per := max(1, chunks/16)
	for i := int64(0); i < chunks; {
		t := time.Now()
		k := min(per, chunks-i)
		for j := int64(0); j < k; j++ {
			_, e := h.File.WriteAt(buf, (i+j)<<20)
			check(e, "write dense")
		}
		i += k
		if i == chunks {
			check(h.File.Sync(false), "sync dense")
		}
		s.batch("dense-write", i, k, time.Since(t))
	}
	for i := int64(0); i < chunks; {
		t := time.Now()
		k := min(per, chunks-i)
		for j := int64(0); j < k; j++ {
			_, e := h.File.ReadAt(buf, (i+j)<<20)
			check(e, "read dense")
		}
		i += k
		s.batch("dense-read", i, k, time.Since(t))
	}
}

// createFiles creates n empty files in dir in batches, committing after each batch as the
// workloads' module exits would, and returns.
func (s *scaler) createFiles(step, dir string, n int64, batch int64) {
	for i := int64(0); i < n; {
		t := time.Now()
		k := min(batch, n-i)
		for j := int64(0); j < k; j++ {
			h, e := s.ns.Open(s.ns.Root(), dir+"/f"+strconv.FormatInt(i+j, 10), vfs.OWrite|vfs.OCreate|vfs.OExcl, 0o644)
			check(e, "create file")
			h.File.Close()
		}
		if err := s.ns.Commit(); err != nil {
			log.Fatal(err)
		}
		i += k
		s.files += k
		s.batch(step, i, k, time.Since(t))
	}
}

// bigDir fills one directory with n entries, then stats random entries and lists it whole.
func (s *scaler) bigDir(n int64) {
	check(s.ns.Mkdir(s.ns.Root(), "big", 0o755), "mkdir big")
	s.createFiles("bigdir-create", "big", n, max(1, n/20))
	x := uint64(3)
	per := max(1, n/20)
	for i := int64(0); i < n; {
		t := time.Now()
		k := min(per, n-i)
		for j := int64(0); j < k; j++ {
			x = x*6364136223846793005 + 1442695040888963407
			_, e := s.ns.StatAt(s.ns.Root(), "big/f"+strconv.FormatInt(int64(x>>1)%n, 10), true)
			check(e, "stat")
		}
		i += k
		s.batch("bigdir-stat", i, k, time.Since(t))
	}
	h, e := s.ns.Open(s.ns.Root(), "big", vfs.ORead|vfs.ODirectory, 0)
	check(e, "open big")
	t := time.Now()
	count := int64(0)
	check(s.ns.ReadDir(h, 0, func(*vfs.DirEntry) bool { count++; return true }), "readdir big")
	h.File.Close()
	if count != n+2 {
		log.Fatalf("listed %d entries of big, want %d", count, n+2)
	}
	s.batch("bigdir-list", count, count, time.Since(t))
}

// manyFiles creates n more files, 1,000 per directory.
func (s *scaler) manyFiles(n int64) {
	const perDir = 1000
	check(s.ns.Mkdir(s.ns.Root(), "many", 0o755), "mkdir many")
	batch := max(1, n/20)
	done := int64(0)
	for done < n {
		t := time.Now()
		k := min(batch, n-done)
		for j := int64(0); j < k; j++ {
			i := done + j
			d := fmt.Sprintf("many/d%05d", i/perDir)
			if i%perDir == 0 {
				check(s.ns.Mkdir(s.ns.Root(), d, 0o755), "mkdir")
			}
			h, e := s.ns.Open(s.ns.Root(), d+"/f"+strconv.FormatInt(i%perDir, 10), vfs.OWrite|vfs.OCreate|vfs.OExcl, 0o644)
			check(e, "create")
			h.File.Close()
		}
		if err := s.ns.Commit(); err != nil {
			log.Fatal(err)
		}
		done += k
		s.files += k
		s.batch("many-create", s.files, k, time.Since(t))
	}
}

func summarize(rep *report) {
	var order []string
	by := map[string][]*Batch{}
	for _, b := range rep.Batches {
		if by[b.Step] == nil {
			order = append(order, b.Step)
		}
		by[b.Step] = append(by[b.Step], b)
	}
	for _, name := range order {
		bs := by[name]
		q := max(1, len(bs)/4)
		st := &Step{Name: name, Unit: "µs/op", FirstUS: medianPerOp(bs[:q]), LastUS: medianPerOp(bs[len(bs)-q:])}
		if strings.HasPrefix(name, "dense") {
			st.Unit = "µs/MiB"
		}
		if st.FirstUS > 0 {
			st.Growth = st.LastUS / st.FirstUS
		}
		st.Flat = st.Growth <= 1.5
		for _, b := range bs {
			st.PeakHeap = max(st.PeakHeap, b.HeapMiB)
			st.PeakRSS = max(st.PeakRSS, b.RSSMiB)
		}
		st.WithinCap = st.PeakHeap <= rep.BoundMiB
		rep.Steps = append(rep.Steps, st)
	}
}

func medianPerOp(bs []*Batch) float64 {
	xs := make([]float64, len(bs))
	for i, b := range bs {
		xs[i] = b.PerOpUS
	}
	for i := 1; i < len(xs); i++ {
		for j := i; j > 0 && xs[j] < xs[j-1]; j-- {
			xs[j], xs[j-1] = xs[j-1], xs[j]
		}
	}
	if len(xs)%2 == 1 {
		return xs[len(xs)/2]
	}
	return (xs[len(xs)/2-1] + xs[len(xs)/2]) / 2
}

func write(dir string, rep *report) error {
	js, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "scale.json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# Stable store at scale\n\nMachine: %s; %s. Command: `%s`.\n\n", rep.Machine, rep.Date, strings.TrimSpace("cd benchmarks && go run ./cmd/scale "+strings.Join(os.Args[1:], " ")))
	fmt.Fprintf(&b, "Size factor %g; write-back cache %d MiB, so the Go heap must stay under %d MiB "+
		"(2 x (3 x cache + %d MiB): dirty, committing and clean pages plus a fixed allowance, doubled for the GC's headroom). "+
		"Final store: %d MiB, %d files, built in %.1f s.\n\n", rep.Factor, rep.CacheMiB, rep.BoundMiB, allowanceMiB, rep.StoreMiB, rep.TotalFiles, rep.Seconds)
	b.WriteString("Flat means the median time per operation over the last quarter of the batches is at most 1.5x that over the first quarter.\n\n")
	b.WriteString("| step | first quarter | last quarter | growth | flat | peak Go heap | heap within bound | peak RSS |\n|---|---:|---:|---:|---|---:|---|---:|\n")
	for _, st := range rep.Steps {
		fmt.Fprintf(&b, "| %s | %.2f %s | %.2f %s | %.2fx | %s | %d MiB | %s | %d MiB |\n", st.Name, st.FirstUS, st.Unit, st.LastUS, st.Unit,
			st.Growth, yes(st.Flat), st.PeakHeap, yes(st.WithinCap), st.PeakRSS)
	}
	b.WriteString("\n![time per operation as the store grows](scale.png)\n")
	if err := os.WriteFile(filepath.Join(dir, "scale.md"), []byte(b.String()), 0o644); err != nil {
		return err
	}
	return scaleChart(rep, filepath.Join(dir, "scale.png"))
}

func yes(b bool) string {
	if b {
		return "yes"
	}
	return "**no**"
}

// scaleChart plots each step's time per operation, relative to its first batch, against the
// batch number: flat lines are the goal.
func scaleChart(rep *report, file string) error {
	p := plot.New()
	p.Title.Text = "stable store: time per operation relative to the step's first batch"
	p.X.Label.Text = "batch (each step is done in about 20 equal batches as the store grows)"
	p.Y.Label.Text = "time per op / first batch's"
	by := map[string]plotter.XYs{}
	var order []string
	for _, b := range rep.Batches {
		if _, ok := by[b.Step]; !ok {
			order = append(order, b.Step)
		}
		by[b.Step] = append(by[b.Step], plotter.XY{X: float64(len(by[b.Step]) + 1), Y: b.PerOpUS})
	}
	palette := []color.RGBA{{0x1f, 0x4e, 0x9c, 255}, {0x6b, 0xa3, 0xe8, 255}, {0xd9, 0x5f, 0x02, 255}, {0xfd, 0xae, 0x6b, 255},
		{0x1b, 0x9e, 0x77, 255}, {0x8f, 0xd6, 0xbd, 255}, {0x55, 0x55, 0x55, 255}, {0xaa, 0x33, 0x77, 255}}
	for i, name := range order {
		xys := by[name]
		if len(xys) < 2 {
			continue
		}
		base := xys[0].Y
		for j := range xys {
			xys[j].Y /= base
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return err
		}
		l.Color = palette[i%len(palette)]
		l.Width = vg.Points(1.5)
		p.Add(l)
		p.Legend.Add(name, l)
	}
	p.Add(plotter.NewGrid())
	p.Y.Min = 0
	p.Legend.Top = true
	return p.Save(10*vg.Inch, 5*vg.Inch, file)
}

func parseSize(s string) (int64, error) {
	mult := int64(1)
	switch {
	case strings.HasSuffix(s, "G"):
		mult, s = 1<<30, strings.TrimSuffix(s, "G")
	case strings.HasSuffix(s, "M"):
		mult, s = 1<<20, strings.TrimSuffix(s, "M")
	case strings.HasSuffix(s, "K"):
		mult, s = 1<<10, strings.TrimSuffix(s, "K")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return n * mult, nil
}

func fileMiB(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size() >> 20
}

func rssMiB() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb >> 10
		}
	}
	return 0
}

func machine() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	kernel := ""
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = "Linux " + strings.TrimSpace(string(b))
	}
	return fmt.Sprintf("%s, %d cores, %s, %s", cpu, goruntime.NumCPU(), kernel, goruntime.Version())
}

// repoRoot returns the directory of the wasmrun module (the benchmarks module replaces it with
// its parent directory).
func repoRoot() string {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/wasmrun/wasmrun").Output()
	dir := strings.TrimSpace(string(out))
	if err != nil || dir == "" {
		log.Fatalf("run inside the wasmrun repository (go list -m github.com/wasmrun/wasmrun: %v)", err)
	}
	return dir
}
