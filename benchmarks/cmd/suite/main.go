// Command suite is wasmrun's benchmark suite driver: it builds what it needs, runs every workload
// under every configuration, interleaved, several times, and writes the results.
//
//	cd benchmarks && go run ./cmd/suite [-quick] [-reps N] [-profile] [-out benchmarks/results]
//
// `make bench` runs the full suite, `make bench-quick` the quick one (about 5 minutes on 2 cores).
// See benchmarks/README.md for what is measured, how, and how to read the results.
package main

import (
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// sizes are the workload parameters, passed to bench.py and gobench as key=value arguments.
type sizes struct {
	Seq, Small, Appends, Inserts, Commits, Dirs, Files, Renames, RSize, ROps int64
}

func (s sizes) args() []string {
	return []string{
		fmt.Sprintf("seq=%d", s.Seq), fmt.Sprintf("small=%d", s.Small),
		fmt.Sprintf("appends=%d", s.Appends), fmt.Sprintf("inserts=%d", s.Inserts),
		fmt.Sprintf("commits=%d", s.Commits), fmt.Sprintf("dirs=%d", s.Dirs),
		fmt.Sprintf("files=%d", s.Files), fmt.Sprintf("renames=%d", s.Renames),
		fmt.Sprintf("rsize=%d", s.RSize), fmt.Sprintf("rops=%d", s.ROps),
	}
}

var (
	fullSizes  = sizes{64 << 20, 5000, 500, 20000, 500, 200, 20, 2000, 256 << 20, 20000}
	quickSizes = sizes{32 << 20, 2000, 100, 10000, 100, 100, 20, 1000, 64 << 20, 10000}
)

type options struct {
	quick       bool
	reps        int
	startupReps int
	coldReps    int
	out         string
	work        string
	tmpfs       string
	guests      []string
	configs     []string
	profile     bool
	seed        uint64
	runTimeout  time.Duration
	rev         string
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("suite: ")
	var o options
	var guests, configs string
	flag.BoolVar(&o.quick, "quick", false, "quick mode: smaller sizes and fewer repetitions (about 5 minutes on 2 cores)")
	flag.IntVar(&o.reps, "reps", 0, "repetitions of every workload run (0: 7, or 5 with -quick)")
	flag.IntVar(&o.startupReps, "startup-reps", 0, "warm start-up repetitions (0: 10, or 5 with -quick)")
	flag.IntVar(&o.coldReps, "cold-reps", 0, "cold start-up repetitions (0: 3, or 2 with -quick)")
	flag.StringVar(&o.out, "out", "", "results directory (default benchmarks/results in the repository)")
	flag.StringVar(&o.work, "work", "", "scratch directory on disk, not tmpfs (default benchmarks/.work)")
	flag.StringVar(&o.tmpfs, "tmpfs", "/dev/shm/wasmrun-bench", "scratch directory on a tmpfs")
	flag.StringVar(&guests, "guests", "python,go", "guests to run (python, go)")
	flag.StringVar(&configs, "configs", strings.Join(allConfigNames(), ","), "configurations to run")
	flag.BoolVar(&o.profile, "profile", true, "after the timed runs, record CPU profiles of one run per wasmrun and wazero configuration")
	flag.Uint64Var(&o.seed, "seed", 0, "seed of the order configurations run in (0: from the clock); printed, to repeat a run")
	flag.StringVar(&o.rev, "rev", "", "build wasmrun and the guests from this git revision (git archive) instead of the working tree")
	flag.DurationVar(&o.runTimeout, "run-timeout", 10*time.Minute, "limit for one run of one workload")
	flag.Parse()
	if o.reps == 0 {
		o.reps = pick(o.quick, 5, 7)
	}
	if o.startupReps == 0 {
		o.startupReps = pick(o.quick, 5, 10)
	}
	if o.coldReps == 0 {
		o.coldReps = pick(o.quick, 2, 3)
	}
	if o.seed == 0 {
		o.seed = uint64(time.Now().UnixNano())
	}
	o.guests = strings.Split(guests, ",")
	o.configs = strings.Split(configs, ",")
	if err := suite(&o); err != nil {
		log.Fatal(err)
	}
}

func pick(quick bool, q, full int) int {
	if quick {
		return q
	}
	return full
}

func suite(o *options) error {
	root, err := repoRoot()
	if err != nil {
		return err
	}
	if o.out == "" {
		o.out = filepath.Join(root, "benchmarks", "results")
	}
	if o.work == "" {
		o.work = filepath.Join(root, "benchmarks", ".work")
	}
	for _, d := range []string{o.out, o.work, o.tmpfs} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if err := checkFS(o.tmpfs, true); err != nil {
		return err
	}
	if err := checkFS(o.work, false); err != nil {
		return err
	}
	sz := fullSizes
	mode := "full"
	if o.quick {
		sz, mode = quickSizes, "quick"
	}
	log.Printf("mode %s, %d repetitions, seed %d (-seed to repeat the order)", mode, o.reps, o.seed)

	t0 := time.Now()
	src, commit, err := source(root, o.work, o.rev)
	if err != nil {
		return err
	}
	env, err := build(root, src, o.work)
	if err != nil {
		return err
	}
	log.Printf("built in %s", time.Since(t0).Round(time.Millisecond))

	res := &Results{
		Mode:    mode,
		Reps:    o.reps,
		Sizes:   sz,
		Seed:    o.seed,
		Machine: machine(env),
		Command: "cd benchmarks && go run ./cmd/suite " + strings.Join(os.Args[1:], " "),
		Commit:  commit,
		Started: time.Now().UTC().Format(time.RFC3339),
	}
	cfgs, err := selectConfigs(o.configs)
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(o.seed, 0))
	samples := map[string]map[string]map[string][]float64{} // guest, config, phase
	for rep := range o.reps {
		for _, g := range o.guests {
			order := append([]config(nil), cfgs...)
			rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
			for _, c := range order {
				t := time.Now()
				phases, err := runWorkload(env, o, c, g, sz, "")
				if err != nil {
					log.Printf("rep %d %s %s: FAILED: %v", rep+1, g, c.Name, err)
					res.Failures = append(res.Failures, Failure{Guest: g, Config: c.Name, Rep: rep + 1, Error: err.Error()})
				}
				for _, p := range phases {
					m := samples[g]
					if m == nil {
						m = map[string]map[string][]float64{}
						samples[g] = m
					}
					if m[c.Name] == nil {
						m[c.Name] = map[string][]float64{}
					}
					m[c.Name][p.Phase] = append(m[c.Name][p.Phase], p.S)
				}
				log.Printf("rep %d/%d %-6s %-15s %d phases in %s", rep+1, o.reps, g, c.Name, len(phases), time.Since(t).Round(time.Millisecond))
			}
		}
	}
	res.Workloads = summarize(samples, cfgs, o.guests)

	log.Printf("start-up: %d cold and %d warm runs per configuration", o.coldReps, o.startupReps)
	res.Startup, err = startup(env, o, rng)
	if err != nil {
		return err
	}

	if o.profile {
		res.Profiles = profiles(env, o, sz)
	}
	res.Finished = time.Now().UTC().Format(time.RFC3339)
	res.Machine.LoadEnd = loadavg()
	res.Headline, res.Goals = evaluate(res)
	if err := writeResults(o.out, res); err != nil {
		return err
	}
	log.Printf("done in %s: %s", time.Since(t0).Round(time.Second), filepath.Join(o.out, "results.md"))
	return nil
}
