package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"syscall"
	"time"
)

// config is one way of running a workload.
type config struct {
	Name    string // wasmrun-tmp, wazero-disk, ...
	Engine  string // wasmrun, wazero, node, native
	Storage string // tmp (wasmrun's heap /tmp), stable (wasmrun's store), tmpfs, disk
}

var allConfigs = []config{
	{"wasmrun-tmp", "wasmrun", "tmp"},
	{"wasmrun-stable", "wasmrun", "stable"},
	{"wazero-tmpfs", "wazero", "tmpfs"},
	{"wazero-disk", "wazero", "disk"},
	{"node-tmpfs", "node", "tmpfs"},
	{"node-disk", "node", "disk"},
	{"native-tmpfs", "native", "tmpfs"},
	{"native-disk", "native", "disk"},
}

func allConfigNames() []string {
	var s []string
	for _, c := range allConfigs {
		s = append(s, c.Name)
	}
	return s
}

func selectConfigs(names []string) ([]config, error) {
	var out []config
	for _, n := range names {
		found := false
		for _, c := range allConfigs {
			if c.Name == n {
				out = append(out, c)
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown configuration %q (have %s)", n, strings.Join(allConfigNames(), ", "))
		}
	}
	return out, nil
}

// env is what the runs need: built binaries and the interpreters found on PATH.
type env struct {
	root       string
	work       string
	wasmrun    string // bin/wasmrun, the CLI (start-up)
	wasirun    string // benchmarks/cmd/wasirun (workloads under wasmrun and wazero)
	goWasm     string // gobench for wasip1
	goNative   string // gobench for the host
	pythonWasm string
	benchPy    string // the workload script's text
	benchPyPth string
	node       string
	nodeWASI   string
	python3    string
}

// repoRoot returns the directory of the wasmrun module (the benchmarks module replaces it with
// its parent directory).
func repoRoot() (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/wasmrun/wasmrun").Output()
	dir := strings.TrimSpace(string(out))
	if err != nil || dir == "" {
		return "", fmt.Errorf("run the suite inside the wasmrun repository (go list -m github.com/wasmrun/wasmrun: %v)", err)
	}
	return dir, nil
}

// checkFS fails unless dir is on a tmpfs (wantTmpfs) or on something else.
func checkFS(dir string, wantTmpfs bool) error {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return fmt.Errorf("statfs %s: %w", dir, err)
	}
	const tmpfsMagic = 0x01021994
	isTmpfs := st.Type == tmpfsMagic
	switch {
	case wantTmpfs && !isTmpfs:
		return fmt.Errorf("%s is not on a tmpfs (use -tmpfs, or mount one: mount -t tmpfs tmpfs DIR)", dir)
	case !wantTmpfs && isTmpfs:
		return fmt.Errorf("%s is on a tmpfs; the disk configurations need a disk (use -work)", dir)
	}
	return nil
}

// source returns the directory to build from: the working tree, or with rev a snapshot of that
// revision (git archive) under work; and a description of the commit measured.
func source(root, work, rev string) (dir, commit string, err error) {
	git := func(args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Dir = root
		out, _ := cmd.Output()
		return strings.TrimSpace(string(out))
	}
	if rev == "" {
		commit = git("rev-parse", "--short", "HEAD")
		if git("status", "--porcelain", "--untracked-files=no") != "" {
			commit += " with uncommitted changes"
		}
		return root, commit, nil
	}
	commit = git("rev-parse", "--short", rev)
	if commit == "" {
		return "", "", fmt.Errorf("unknown git revision %q", rev)
	}
	dir = filepath.Join(work, "src-"+commit)
	if err := os.RemoveAll(dir); err != nil {
		return "", "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", err
	}
	cmd := exec.Command("sh", "-c", "git archive "+commit+" | tar -x -C "+dir)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("git archive %s: %v\n%s", commit, err, out)
	}
	return dir, commit, nil
}

// build builds the binaries from the source tree src; python.wasm comes from root (it is not in
// git).
func build(root, src, work string) (*env, error) {
	e := &env{root: src, work: work}
	bin := filepath.Join(work, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return nil, err
	}
	e.wasmrun = filepath.Join(bin, "wasmrun")
	e.wasirun = filepath.Join(bin, "wasirun")
	e.goWasm = filepath.Join(bin, "gobench.wasm")
	e.goNative = filepath.Join(bin, "gobench")
	// Trees from before the benchmarks had a module of their own (a -rev) build everything
	// from the root, and wasmrun's main package in cmd/run.
	wasmrunPkg, benchDir, benchPkg := "./cmd/run/wasmrun", filepath.Join(src, "benchmarks"), "."
	if _, err := os.Stat(filepath.Join(src, "cmd", "run", "wasmrun")); err != nil {
		wasmrunPkg = "./cmd/run"
	}
	if _, err := os.Stat(filepath.Join(benchDir, "go.mod")); err != nil {
		benchDir, benchPkg = src, "./benchmarks"
	}
	steps := []struct {
		env []string
		out string
		dir string
		pkg string
	}{
		{nil, e.wasmrun, src, wasmrunPkg},
		{nil, e.wasirun, benchDir, benchPkg + "/cmd/wasirun"},
		{[]string{"GOOS=wasip1", "GOARCH=wasm"}, e.goWasm, benchDir, benchPkg + "/workloads/gobench"},
		{nil, e.goNative, benchDir, benchPkg + "/workloads/gobench"},
	}
	for _, s := range steps {
		cmd := exec.Command("go", "build", "-o", s.out, s.pkg)
		cmd.Dir = s.dir
		cmd.Env = append(os.Environ(), s.env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("go build %s: %v\n%s", s.pkg, err, out)
		}
	}
	e.pythonWasm = filepath.Join(root, "testdata", "python", "python.wasm")
	if _, err := os.Stat(e.pythonWasm); err != nil {
		return nil, fmt.Errorf("%v: fetch it with `make python`", err)
	}
	e.benchPyPth = filepath.Join(src, "benchmarks", "workloads", "bench.py")
	b, err := os.ReadFile(e.benchPyPth)
	if err != nil {
		return nil, err
	}
	e.benchPy = string(b)
	e.nodeWASI = filepath.Join(src, "benchmarks", "node", "wasi.mjs")
	if e.node, err = exec.LookPath("node"); err != nil {
		return nil, fmt.Errorf("node (20 or later) is needed for the node configurations: %w", err)
	}
	if e.python3, err = exec.LookPath("python3"); err != nil {
		return nil, fmt.Errorf("python3 is needed for the native configurations: %w", err)
	}
	return e, nil
}

// phase is one line of a workload's output.
type phase struct {
	Phase string  `json:"phase"`
	S     float64 `json:"s"`
	Ops   int64   `json:"ops"`
	Bytes int64   `json:"bytes"`
}

// runWorkload runs guest g under c on fresh storage and returns the phases it printed. cpuProfile,
// if set, makes wasirun write a CPU profile there.
func runWorkload(e *env, o *options, c config, g string, sz sizes, cpuProfile string) ([]phase, error) {
	scratch := filepath.Join(o.work, "run")
	if c.Storage == "tmpfs" {
		scratch = filepath.Join(o.tmpfs, "run")
	}
	if err := os.RemoveAll(scratch); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(scratch, 0o755); err != nil {
		return nil, err
	}
	defer os.RemoveAll(scratch)

	var dir string // the workload directory as the guest names it
	switch c.Storage {
	case "tmp":
		dir = "/tmp/bench"
	case "stable":
		dir = "/bench"
	default:
		dir = "/bench"
		if c.Engine == "native" {
			dir = scratch
		}
	}
	var guestArgs []string // what follows the module (or program)
	module := e.goWasm
	if g == "python" {
		module = e.pythonWasm
		guestArgs = append(guestArgs, "-c", e.benchPy)
	}
	guestArgs = append(guestArgs, dir)
	guestArgs = append(guestArgs, sz.args()...)
	if g == "go" {
		guestArgs = append(guestArgs, "groups=seq,small,append,tree,rename,random")
	}

	var argv []string
	switch c.Engine {
	case "wasmrun":
		argv = []string{e.wasirun, "-engine", "wasmrun", "-store", filepath.Join(scratch, "bench.store"),
			"-cache-dir", filepath.Join(o.work, "cache-wasmrun")}
	case "wazero":
		argv = []string{e.wasirun, "-engine", "wazero", "-dir", scratch + ":/bench",
			"-cache-dir", filepath.Join(o.work, "cache-wazero")}
	case "node":
		argv = []string{e.node, "--no-warnings", e.nodeWASI, module, scratch + ":/bench", "--"}
		module = ""
	case "native":
		if g == "python" {
			argv = []string{e.python3, e.benchPyPth}
			guestArgs = guestArgs[2:] // the script's path instead of -c TEXT
		} else {
			argv = []string{e.goNative}
		}
		module = ""
	}
	if cpuProfile != "" {
		argv = append(argv[:1:1], append([]string{"-cpuprofile", cpuProfile}, argv[1:]...)...)
	}
	if module != "" {
		argv = append(argv, module)
	}
	argv = append(argv, guestArgs...)

	ctx, cancel := context.WithTimeout(context.Background(), o.runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var phases []phase
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		line := sc.Bytes()
		if !bytes.HasPrefix(line, []byte(`{"phase"`)) {
			continue
		}
		var p phase
		if jerr := json.Unmarshal(line, &p); jerr != nil {
			return phases, fmt.Errorf("bad output line %q: %v", line, jerr)
		}
		phases = append(phases, p)
	}
	if err != nil {
		return phases, fmt.Errorf("%v: %s", err, lastLines(stderr.String(), 3))
	}
	return phases, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// StartupSample is one start-up configuration's figures.
type StartupSample struct {
	Config  string    `json:"config"`
	Cache   string    `json:"cache"` // cold or warm
	Seconds []float64 `json:"seconds"`
	RSSKiB  []int64   `json:"rss_kib"` // peak resident set size of the process (wait4 rusage)
	Median  float64   `json:"median_s"`
	Spread  float64   `json:"spread"`
	RSSMed  int64     `json:"rss_median_kib"`
	Error   string    `json:"error,omitempty"`
}

// startup times `python -c pass` as a whole process: wall-clock time from exec to exit, and
// peak RSS from the kernel's rusage. Cold means an empty compilation cache; node and native
// python have none, so their cold and warm runs are the same thing.
func startup(e *env, o *options, rng *rand.Rand) ([]*StartupSample, error) {
	type sc struct {
		name string
		argv func(cache string) []string
	}
	store := filepath.Join(o.work, "startup.store")
	configs := []sc{
		{"wasmrun", func(cache string) []string {
			return []string{e.wasmrun, "--store", store, "--cache-dir", cache, e.pythonWasm, "-c", "pass"}
		}},
		{"wazero", func(cache string) []string {
			return []string{e.wasirun, "-engine", "wazero", "-cache-dir", cache, e.pythonWasm, "-c", "pass"}
		}},
		{"node", func(string) []string {
			return []string{e.node, "--no-warnings", e.nodeWASI, e.pythonWasm, "--", "-c", "pass"}
		}},
		{"native", func(string) []string { return []string{e.python3, "-c", "pass"} }},
	}
	var out []*StartupSample
	byKey := map[string]*StartupSample{}
	for _, cache := range []string{"cold", "warm"} {
		for _, c := range configs {
			s := &StartupSample{Config: c.name, Cache: cache}
			out = append(out, s)
			byKey[c.name+"/"+cache] = s
		}
	}
	measure := func(c sc, cache string) {
		s := byKey[c.name+"/"+cache]
		dir := filepath.Join(o.work, "cache-startup-"+c.name)
		if cache == "cold" {
			os.RemoveAll(dir)
		}
		argv := c.argv(dir)
		cmd := exec.Command(argv[0], argv[1:]...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		t := time.Now()
		err := cmd.Run()
		d := time.Since(t)
		if err != nil {
			s.Error = fmt.Sprintf("%v: %s", err, lastLines(stderr.String(), 3))
			return
		}
		ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		s.Seconds = append(s.Seconds, d.Seconds())
		if ru != nil {
			s.RSSKiB = append(s.RSSKiB, ru.Maxrss)
		}
	}
	for range o.coldReps {
		order := append([]sc(nil), configs...)
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, c := range order {
			measure(c, "cold")
		}
	}
	for _, c := range configs { // fill every cache before the warm runs
		measure(c, "warm")
	}
	for _, s := range out {
		if s.Cache == "warm" {
			s.Seconds, s.RSSKiB = nil, nil
		}
	}
	for range o.startupReps {
		order := append([]sc(nil), configs...)
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, c := range order {
			measure(c, "warm")
		}
	}
	os.Remove(store)
	for _, s := range out {
		s.Median, s.Spread = medianSpread(s.Seconds)
		var rss []float64
		for _, r := range s.RSSKiB {
			rss = append(rss, float64(r))
		}
		m, _ := medianSpread(rss)
		s.RSSMed = int64(m)
		log.Printf("start-up %-7s %s: median %.3f s, peak RSS %d MiB %s", s.Config, s.Cache, s.Median, s.RSSMed/1024, s.Error)
	}
	return out, nil
}

// profiles records a CPU profile of one run of each guest under the wasmrun and wazero
// configurations, for `go tool pprof` (the whole process: start-up, the guest, the host calls).
func profiles(e *env, o *options, sz sizes) []string {
	dir := filepath.Join(o.out, "profiles")
	os.MkdirAll(dir, 0o755)
	var files []string
	for _, g := range o.guests {
		for _, c := range allConfigs {
			if c.Engine != "wasmrun" && c.Engine != "wazero" {
				continue
			}
			f := filepath.Join(dir, fmt.Sprintf("%s-%s.pprof", g, c.Name))
			if _, err := runWorkload(e, o, c, g, sz, f); err != nil {
				log.Printf("profile %s %s: %v", g, c.Name, err)
				continue
			}
			rel, _ := filepath.Rel(o.out, f)
			files = append(files, rel)
		}
	}
	return files
}

// Machine names what the results were measured on.
type Machine struct {
	CPU    string `json:"cpu"`
	Cores  int    `json:"cores"`
	Kernel string `json:"kernel"`
	Go     string `json:"go"`
	Node   string `json:"node"`
	Python string `json:"python"`
	Date   string `json:"date"`
	// Load is /proc/loadavg's 1-minute load average at the start and at the end of the run: other
	// work on the machine, which the results suffer from.
	LoadStart string `json:"load_start"`
	// Nice is the suite's scheduling niceness (the runs inherit it): `nice -n -10 make bench`
	// gives the measured processes priority over other work on a shared machine.
	Nice    int    `json:"nice"`
	LoadEnd string `json:"load_end"`
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}

func machine(e *env) Machine {
	m := Machine{Cores: goruntime.NumCPU(), Go: goruntime.Version(), Date: time.Now().UTC().Format("2006-01-02"), LoadStart: loadavg()}
	if p, err := syscall.Getpriority(syscall.PRIO_PROCESS, 0); err == nil {
		m.Nice = 20 - p // the raw system call returns 20 - nice
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = "Linux " + strings.TrimSpace(string(b))
	}
	if b, err := exec.Command(e.node, "--version").Output(); err == nil {
		m.Node = strings.TrimSpace(string(b))
	}
	if b, err := exec.Command(e.python3, "--version").CombinedOutput(); err == nil {
		m.Python = strings.TrimSpace(string(b))
	}
	return m
}
