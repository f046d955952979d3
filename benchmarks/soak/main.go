// Command soak runs python.wasm under a real wasmrun process for a long time (10 minutes by
// default) on a mixed I/O workload with a fixed working set (workload.py: overwrites, atomic
// replaces, appends, reads, listings and fsyncs of a fixed set of files on the stable store, a
// sqlite3 table of bounded size, scratch files in /tmp), and checks that neither the process's
// memory nor the store file keeps growing once the working set is reached.
//
//	cd benchmarks && go run ./soak [-duration 10m] [-interval 5s] [-out benchmarks/soak/out]
//	                               [-wasmrun bin/wasmrun] [-python testdata/python/python.wasm]
//	                               [-cache-dir DIR] [-seed 1]
//
// (the default paths are relative to the repository's root, whatever the working directory)
// (`make soak`; it is not part of `go test ./...`, whose soak_test.go only runs it for a few
// seconds.) A first run of python.wasm fills the compilation cache. Then, every -interval it samples the process's resident memory from /proc (VmRSS, and its
// anonymous part RssAnon: VmRSS also counts the pages of the store's memory map that were
// touched, which the kernel may drop at will), the size of the store file and the number of
// operations done, into soak.csv in -out. At the end it stops wasmrun with SIGTERM (wasmrun
// commits and exits), runs fsck on the store, and writes the verdict to verdict.txt: PASS when,
// after a warm-up of the first 20% of the run, the largest value of the second half is within
// the largest value of the 20%-50% window plus a tolerance (anonymous memory: 10% + 8 MiB; store
// file: 25% + 4 MiB, bbolt grows its file in steps), and fsck finds no problem. The exit status
// is 1 on FAIL.
package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/wasmrun/wasmrun/stable"
)

// config is what one soak run does.
type config struct {
	wasmrun, python, script string
	cacheDir                string // wasmrun's --cache-dir; empty for its default
	out                     string
	duration, interval      time.Duration
	seed                    int64
}

// sample is one measurement.
type sample struct {
	elapsed    time.Duration
	rss, anon  int64 // VmRSS and RssAnon, bytes
	storeBytes int64 // size of the store file
	ops        int64 // operations the workload reported so far
}

// result is a whole run.
type result struct {
	samples []sample
	fsck    *stable.FsckReport
	verdict verdict
}

// verdict is the judgement on a run's samples.
type verdict struct {
	pass    bool
	reasons []string
}

const mib = 1 << 20

// judge applies the soak's rule (see the package doc) to samples of a run of length total.
func judge(samples []sample, total time.Duration) verdict {
	v := verdict{pass: true}
	check := func(name string, get func(sample) int64, ratio float64, slack int64) {
		var base, late int64 = -1, -1
		for _, s := range samples {
			switch {
			case s.elapsed < total/5:
			case s.elapsed < total/2:
				base = max(base, get(s))
			default:
				late = max(late, get(s))
			}
		}
		if base < 0 || late < 0 {
			v.pass = false
			v.reasons = append(v.reasons, fmt.Sprintf("%s: too few samples to judge", name))
			return
		}
		allowed := int64(float64(base)*(1+ratio)) + slack
		ok := late <= allowed
		verb := "within"
		if !ok {
			v.pass, verb = false, "BEYOND"
		}
		v.reasons = append(v.reasons, fmt.Sprintf("%s: max %.1f MiB in the second half, %s the %.1f MiB allowed (max %.1f MiB from 20%% to 50%% of the run, +%.0f%% +%d MiB)",
			name, float64(late)/mib, verb, float64(allowed)/mib, float64(base)/mib, ratio*100, slack/mib))
	}
	check("anonymous memory (RssAnon)", func(s sample) int64 { return s.anon }, 0.10, 8*mib)
	check("store file", func(s sample) int64 { return s.storeBytes }, 0.25, 4*mib)
	return v
}

// procMem reads VmRSS and RssAnon of pid, in bytes.
func procMem(pid int) (rss, anon int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) != 2 || f[1] != "kB" {
			continue
		}
		n, _ := strconv.ParseInt(f[0], 10, 64)
		switch k {
		case "VmRSS":
			rss = n << 10
		case "RssAnon":
			anon = n << 10
		}
	}
	if rss == 0 {
		return 0, 0, fmt.Errorf("/proc/%d/status: no VmRSS", pid)
	}
	return rss, anon, nil
}

// soak runs the workload for cfg.duration and returns the samples and the fsck of the store.
// progress, if not nil, receives each sample as it is taken.
func soak(ctx context.Context, cfg config, progress func(sample)) (*result, error) {
	script, err := os.ReadFile(cfg.script)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.out, 0o755); err != nil {
		return nil, err
	}
	store := filepath.Join(cfg.out, "soak.store")
	if err := os.Remove(store); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	var flags []string
	if cfg.cacheDir != "" {
		flags = []string{"--cache-dir", cfg.cacheDir}
	}
	// A first run compiles python.wasm into the compilation cache, if it is not there yet, so
	// that the soak measures running, not compiling.
	warm := exec.CommandContext(ctx, cfg.wasmrun, append(flags, "--store", filepath.Join(cfg.out, "warm.store"), cfg.python, "-c", "pass")...)
	if out, err := warm.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("warm-up run: %v\n%s", err, out)
	}
	os.Remove(filepath.Join(cfg.out, "warm.store"))
	cmd := exec.CommandContext(ctx, cfg.wasmrun, append(flags, "--store", store, cfg.python, "-c", string(script),
		"/data/soak", strconv.FormatInt(cfg.seed, 10))...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	var ops atomic.Int64
	exited := make(chan error, 1)
	started := make(chan struct{}) // closed at the workload's first report
	go func() {
		sc := bufio.NewScanner(stdout)
		for first := true; sc.Scan(); {
			if n, ok := strings.CutPrefix(sc.Text(), "OPS "); ok {
				v, _ := strconv.ParseInt(n, 10, 64)
				ops.Store(v)
				if first {
					close(started)
					first = false
				}
			}
		}
		io.Copy(io.Discard, stdout)
		exited <- cmd.Wait()
	}()

	// The clock starts at the workload's first report, not at the process's start: on a loaded
	// machine python.wasm may take seconds to start, and a soak of a few seconds would then
	// sample a process that has not run the workload yet.
	select {
	case <-started:
	case err := <-exited:
		return nil, fmt.Errorf("wasmrun exited before the workload reported: %v\n%s", err, stderr.String())
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	res := &result{}
	start := time.Now()
	tick := time.NewTicker(cfg.interval)
	defer tick.Stop()
	for done := false; !done; {
		select {
		case err := <-exited:
			return nil, fmt.Errorf("wasmrun exited after %v: %v\n%s", time.Since(start).Round(time.Second), err, stderr.String())
		case <-tick.C:
		}
		elapsed := time.Since(start)
		rss, anon, err := procMem(cmd.Process.Pid)
		if err != nil {
			return nil, err
		}
		fi, err := os.Stat(store)
		if err != nil {
			return nil, err
		}
		s := sample{elapsed: elapsed, rss: rss, anon: anon, storeBytes: fi.Size(), ops: ops.Load()}
		res.samples = append(res.samples, s)
		if progress != nil {
			progress(s)
		}
		done = elapsed >= cfg.duration
	}
	// SIGTERM: wasmrun stops the guest, commits the store and exits 128+15.
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return nil, err
	}
	select {
	case err := <-exited:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 128+int(syscall.SIGTERM) {
			return nil, fmt.Errorf("wasmrun after SIGTERM: %v (want exit status 143)\n%s", err, stderr.String())
		}
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		return nil, fmt.Errorf("wasmrun did not exit within a minute of SIGTERM")
	}
	st, err := stable.Open(store, stable.Options{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	if res.fsck, err = st.Fsck(); err != nil {
		return nil, err
	}
	res.verdict = judge(res.samples, cfg.duration)
	if !res.fsck.OK() {
		res.verdict.pass = false
		res.verdict.reasons = append(res.verdict.reasons, "fsck: "+res.fsck.String())
	}
	return res, nil
}

// writeCSV writes the samples to path.
func writeCSV(path string, samples []sample) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	w.Write([]string{"elapsed_s", "rss_bytes", "rss_anon_bytes", "store_bytes", "ops"})
	for _, s := range samples {
		w.Write([]string{
			strconv.FormatFloat(s.elapsed.Seconds(), 'f', 1, 64),
			strconv.FormatInt(s.rss, 10), strconv.FormatInt(s.anon, 10),
			strconv.FormatInt(s.storeBytes, 10), strconv.FormatInt(s.ops, 10),
		})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// report is the text of verdict.txt.
func (r *result) report(cfg config) string {
	var b strings.Builder
	word := "PASS"
	if !r.verdict.pass {
		word = "FAIL"
	}
	last := r.samples[len(r.samples)-1]
	var peakRSS, peakAnon, peakStore int64
	for _, s := range r.samples {
		peakRSS, peakAnon, peakStore = max(peakRSS, s.rss), max(peakAnon, s.anon), max(peakStore, s.storeBytes)
	}
	fmt.Fprintf(&b, "soak: %s\n", word)
	fmt.Fprintf(&b, "run: %v of python.wasm (%s, seed %d), %d samples every %v\n",
		last.elapsed.Round(time.Second), filepath.Base(cfg.script), cfg.seed, len(r.samples), cfg.interval)
	fmt.Fprintf(&b, "operations: %d (%.0f/s)\n", last.ops, float64(last.ops)/last.elapsed.Seconds())
	fmt.Fprintf(&b, "peak: VmRSS %.1f MiB, RssAnon %.1f MiB, store file %.1f MiB\n",
		float64(peakRSS)/mib, float64(peakAnon)/mib, float64(peakStore)/mib)
	fmt.Fprintf(&b, "end: VmRSS %.1f MiB, RssAnon %.1f MiB, store file %.1f MiB\n",
		float64(last.rss)/mib, float64(last.anon)/mib, float64(last.storeBytes)/mib)
	fmt.Fprintf(&b, "store after exit: %d inodes, %d files, %.1f MiB of file data, %d pages; fsck %s\n",
		r.fsck.Inodes, r.fsck.Files, float64(r.fsck.Bytes)/mib, r.fsck.Pages, map[bool]string{true: "ok", false: "FAILED"}[r.fsck.OK()])
	for _, reason := range r.verdict.reasons {
		fmt.Fprintf(&b, "- %s\n", reason)
	}
	return b.String()
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("soak: ")
	cfg := config{}
	flag.DurationVar(&cfg.duration, "duration", 10*time.Minute, "how long to run the workload")
	flag.DurationVar(&cfg.interval, "interval", 5*time.Second, "time between samples")
	root := repoRoot()
	flag.StringVar(&cfg.out, "out", filepath.Join(root, "benchmarks/soak/out"), "directory for soak.csv, verdict.txt and the store")
	flag.StringVar(&cfg.wasmrun, "wasmrun", filepath.Join(root, "bin/wasmrun"), "the wasmrun binary (make build)")
	flag.StringVar(&cfg.python, "python", filepath.Join(root, "testdata/python/python.wasm"), "CPython for WASI (make python)")
	flag.StringVar(&cfg.cacheDir, "cache-dir", "", "wasmrun's compilation cache (empty: its default)")
	flag.StringVar(&cfg.script, "script", filepath.Join(root, "benchmarks/soak/workload.py"), "the workload")
	flag.Int64Var(&cfg.seed, "seed", 1, "the workload's random seed")
	flag.Parse()
	if cfg.interval <= 0 || cfg.duration < 5*cfg.interval {
		log.Fatal("-duration must be at least 5 times -interval")
	}
	res, err := soak(context.Background(), cfg, func(s sample) {
		log.Printf("%4.0fs  VmRSS %6.1f MiB  RssAnon %6.1f MiB  store %6.1f MiB  ops %d",
			s.elapsed.Seconds(), float64(s.rss)/mib, float64(s.anon)/mib, float64(s.storeBytes)/mib, s.ops)
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := writeCSV(filepath.Join(cfg.out, "soak.csv"), res.samples); err != nil {
		log.Fatal(err)
	}
	text := res.report(cfg)
	if err := os.WriteFile(filepath.Join(cfg.out, "verdict.txt"), []byte(text), 0o644); err != nil {
		log.Fatal(err)
	}
	fmt.Print(text)
	if !res.verdict.pass {
		os.Exit(1)
	}
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
