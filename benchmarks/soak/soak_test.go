package main

import (
	"context"
	"encoding/csv"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wasmrun/wasmrun/internal/guests"
)

// TestJudge checks the verdict rule on made-up runs: flat, growing within the tolerance, and
// leaking memory or store space.
func TestJudge(t *testing.T) {
	const total = 100 * time.Second
	run := func(anon, store func(sec int) int64) []sample {
		var s []sample
		for sec := 5; sec <= 100; sec += 5 {
			s = append(s, sample{elapsed: time.Duration(sec) * time.Second, anon: anon(sec), storeBytes: store(sec)})
		}
		return s
	}
	flat := func(int) int64 { return 100 * mib }
	tests := []struct {
		name     string
		samples  []sample
		wantPass bool
	}{
		{"flat", run(flat, flat), true},
		{"warm-up growth only", run(func(sec int) int64 { return int64(min(sec, 15)) * 10 * mib }, flat), true},
		{"small growth", run(func(sec int) int64 { return 100*mib + int64(sec)*mib/10 }, flat), true},
		{"memory leak", run(func(sec int) int64 { return 100*mib + int64(sec)*mib/2 }, flat), false},
		{"store leak", run(flat, func(sec int) int64 { return int64(sec) * mib }), false},
		{"too few samples", run(flat, flat)[:3], false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if v := judge(tc.samples, total); v.pass != tc.wantPass {
				t.Errorf("pass = %v, want %v: %s", v.pass, tc.wantPass, strings.Join(v.reasons, "; "))
			}
		})
	}
}

// TestSoakShort runs the real soak for a few seconds: wasmrun built from ../../cmd/run/wasmrun,
// python.wasm, the workload, the samples, fsck and the CSV. (make soak runs it for 10 minutes.)
func TestSoakShort(t *testing.T) {
	python := filepath.Join("..", "..", "testdata", "python", "python.wasm")
	if _, err := os.Stat(python); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("python.wasm is required in CI: %v (make python)", err)
		}
		t.Skipf("python.wasm is missing (%v): make python", err)
	}
	dir := t.TempDir()
	wasmrun := filepath.Join(dir, "wasmrun")
	build := exec.Command("go", "build", "-o", wasmrun, "./cmd/run/wasmrun")
	build.Dir = filepath.Join("..", "..") // in the wasmrun module
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cache, err := guests.CacheDir() // shared with the other tests: python.wasm compiles once
	if err != nil {
		t.Fatal(err)
	}
	cfg := config{
		cacheDir: filepath.Join(cache, "wazero"),
		wasmrun:  wasmrun, python: python, script: "workload.py", out: filepath.Join(dir, "out"),
		duration: 6 * time.Second, interval: 500 * time.Millisecond, seed: 7,
	}
	res, err := soak(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.samples) < 10 {
		t.Fatalf("%d samples in %v every %v", len(res.samples), cfg.duration, cfg.interval)
	}
	last := res.samples[len(res.samples)-1]
	if last.ops == 0 || last.rss == 0 || last.anon == 0 || last.storeBytes == 0 {
		t.Errorf("last sample %+v: want operations, memory and a store", last)
	}
	if !res.fsck.OK() || res.fsck.Files < 10 {
		t.Errorf("fsck after the soak: %v", res.fsck)
	}
	csvPath := filepath.Join(dir, "soak.csv")
	if err := writeCSV(csvPath, res.samples); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil || len(rows) != len(res.samples)+1 || rows[0][0] != "elapsed_s" {
		t.Errorf("soak.csv: %d rows, %v", len(rows), err)
	}
	t.Logf("\n%s", res.report(cfg))
}
