package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// Results is everything one run of the suite measured: results.json.
type Results struct {
	Mode      string           `json:"mode"`
	Reps      int              `json:"reps"`
	Sizes     sizes            `json:"sizes"`
	Seed      uint64           `json:"seed"`
	Command   string           `json:"command"`
	Commit    string           `json:"commit"`
	Machine   Machine          `json:"machine"`
	Started   string           `json:"started"`
	Finished  string           `json:"finished"`
	Workloads []*GuestResults  `json:"workloads"`
	Startup   []*StartupSample `json:"startup"`
	Headline  []*Ratio         `json:"ratios"`
	Goals     []*Goal          `json:"goals"`
	Failures  []Failure        `json:"failures,omitempty"`
	Profiles  []string         `json:"profiles,omitempty"`
}

// Failure is a run that did not finish: its phases up to the failure are kept.
type Failure struct {
	Guest  string `json:"guest"`
	Config string `json:"config"`
	Rep    int    `json:"rep"`
	Error  string `json:"error"`
}

const (
	readmeBegin = "<!-- results: written by benchmarks/cmd/suite, do not edit -->"
	readmeEnd   = "<!-- end of results -->"
)

func writeResults(dir string, res *Results) error {
	js, err := json.MarshalIndent(sanitize(res), "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "results.json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	md := markdown(res)
	if err := os.WriteFile(filepath.Join(dir, "results.md"), []byte(md), 0o644); err != nil {
		return err
	}
	if err := chart(res, filepath.Join(dir, "chart.png")); err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	// The README shows the latest results between its markers.
	readme := filepath.Join(filepath.Dir(dir), "README.md")
	if b, err := os.ReadFile(readme); err == nil {
		s := string(b)
		i, j := strings.Index(s, readmeBegin), strings.Index(s, readmeEnd)
		if i >= 0 && j > i {
			rel, _ := filepath.Rel(filepath.Dir(readme), dir)
			body := fmt.Sprintf("\n![speed of each configuration, per phase](%s/chart.png)\n\n![start-up](%s/startup.png)\n\n%s\n", rel, rel, strings.TrimSpace(shiftHeadings(md)))
			s = s[:i+len(readmeBegin)] + body + s[j:]
			if err := os.WriteFile(readme, []byte(s), 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}

// sanitize replaces NaN and Inf, which JSON cannot carry, by -1.
func sanitize(res *Results) *Results {
	fix := func(x *float64) {
		if math.IsNaN(*x) || math.IsInf(*x, 0) {
			*x = -1
		}
	}
	for _, s := range res.Startup {
		fix(&s.Median)
		fix(&s.Spread)
	}
	for _, r := range res.Headline {
		fix(&r.Min)
		fix(&r.Geomean)
	}
	return res
}

func fmtDur(s float64) string {
	switch {
	case math.IsNaN(s):
		return "-"
	case s >= 1:
		return fmt.Sprintf("%.2f s", s)
	case s >= 0.001:
		return fmt.Sprintf("%.1f ms", s*1e3)
	default:
		return fmt.Sprintf("%.0f µs", s*1e6)
	}
}

func fmtRatio(x float64) string {
	if math.IsNaN(x) || x <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", x)
}

func markdown(res *Results) string {
	var b bytes.Buffer
	m := res.Machine
	fmt.Fprintf(&b, "# wasmrun benchmark results (%s mode)\n\n", res.Mode)
	fmt.Fprintf(&b, "Machine: %s, %d cores, %s; %s, node %s, %s; %s; load average %s at the start, %s at the end; nice %d.  \n",
		m.CPU, m.Cores, m.Kernel, m.Go, m.Node, m.Python, m.Date, m.LoadStart, m.LoadEnd, m.Nice)
	fmt.Fprintf(&b, "Commit: %s.  \n", res.Commit)
	fmt.Fprintf(&b, "Command: `%s` (%d repetitions, configurations interleaved in a random order, seed %d).\n\n", res.Command, res.Reps, res.Seed)
	s := res.Sizes
	fmt.Fprintf(&b, "Sizes: sequential file %d MiB; %d small files; %d fsync'd appends; sqlite %d inserts and %d commits; tree %dx%d; %d renames; random file %d MiB, %d reads and %d writes.\n\n",
		s.Seq>>20, s.Small, s.Appends, s.Inserts, s.Commits, s.Dirs, s.Files, s.Renames, s.RSize>>20, s.ROps, s.ROps)
	b.WriteString("A ratio A/B is how much faster A is than B: B's median time over A's (above 1: A is faster). " +
		"Times are medians; ± is half the range of the repetitions relative to the median.\n\n")

	b.WriteString("## Goals\n\n| goal | guest | met | misses |\n|---|---|---|---|\n")
	for _, g := range res.Goals {
		met := "**yes**"
		if !g.Met {
			met = "no"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", g.Goal, g.Guest, met, strings.Join(g.Misses, "; "))
	}

	b.WriteString("\n## Headline ratios\n\n| ratio | guest | geomean over phases | worst phase |\n|---|---|---|---|\n")
	for _, r := range res.Headline {
		fmt.Fprintf(&b, "| %s | %s | %s | %s (%s) |\n", r.Name, r.Guest, fmtRatio(r.Geomean), fmtRatio(r.Min), r.MinAt)
	}
	if w, z := findStartup(res, "wasmrun", "warm"), findStartup(res, "wazero", "warm"); w != nil && z != nil && w.Median > 0 {
		fmt.Fprintf(&b, "| wasmrun start-up/wazero start-up (warm) | python | %s | peak RSS %d vs %d MiB |\n",
			fmtRatio(z.Median/w.Median), w.RSSMed/1024, z.RSSMed/1024)
	}

	for _, gr := range res.Workloads {
		fmt.Fprintf(&b, "\n## %s guest: median time per phase\n\n", guestTitle(gr.Guest))
		b.WriteString("| phase | class |")
		for _, c := range gr.Configs {
			fmt.Fprintf(&b, " %s |", c)
		}
		b.WriteString(" stable/tmp | wasmrun-tmp/wazero-tmpfs | wasmrun-stable/wazero-disk |\n|---|---|")
		for range gr.Configs {
			b.WriteString("---:|")
		}
		b.WriteString("---:|---:|---:|\n")
		for _, p := range gr.Phases {
			fmt.Fprintf(&b, "| %s | %s |", p, class(p))
			for _, c := range gr.Configs {
				st := gr.Stats[c][p]
				if st == nil {
					b.WriteString(" - |")
					continue
				}
				fmt.Fprintf(&b, " %s ±%.0f%% |", fmtDur(st.Median), st.Spread*50)
			}
			fmt.Fprintf(&b, " %s | %s | %s |\n",
				fmtRatio(gr.speed("wasmrun-stable", "wasmrun-tmp", p)),
				fmtRatio(gr.speed("wasmrun-tmp", "wazero-tmpfs", p)),
				fmtRatio(gr.speed("wasmrun-stable", "wazero-disk", p)))
		}
	}

	b.WriteString("\n## Start-up of `python.wasm -c pass` (whole process)\n\n")
	b.WriteString("Cold: empty compilation cache. Warm: the cache filled by an earlier run. node and native python have no " +
		"compilation cache, so cold and warm are the same for them. Peak RSS is the kernel's (wait4 rusage).\n\n")
	b.WriteString("| runtime | cold | cold peak RSS | warm | warm peak RSS |\n|---|---:|---:|---:|---:|\n")
	for _, cfg := range []string{"wasmrun", "wazero", "node", "native"} {
		c, w := findStartup(res, cfg, "cold"), findStartup(res, cfg, "warm")
		if c == nil || w == nil {
			continue
		}
		name := cfg
		if cfg == "native" {
			name = "native python3"
		}
		fmt.Fprintf(&b, "| %s | %s ±%.0f%% | %d MiB | %s ±%.0f%% | %d MiB |\n", name,
			fmtDur(c.Median), c.Spread*50, c.RSSMed/1024, fmtDur(w.Median), w.Spread*50, w.RSSMed/1024)
	}

	if len(res.Failures) > 0 {
		b.WriteString("\n## Failed runs\n\nThe phases a failed run printed before it failed are kept; the rest are missing.\n\n")
		for _, f := range res.Failures {
			fmt.Fprintf(&b, "- %s guest, %s, repetition %d: %s\n", f.Guest, f.Config, f.Rep, f.Error)
		}
	}
	if len(res.Profiles) > 0 {
		b.WriteString("\n## Profiles\n\nCPU profiles of one run per guest and wasm configuration (`go tool pprof -top results/profiles/FILE`): ")
		b.WriteString(strings.Join(res.Profiles, ", "))
		b.WriteString(".\n")
	}
	return b.String()
}

func guestTitle(g string) string {
	switch g {
	case "python":
		return "Python (python.wasm; native: python3)"
	case "go":
		return "Go (GOOS=wasip1; native: the same program built for the host)"
	}
	return g
}

func findStartup(res *Results, cfg, cache string) *StartupSample {
	for _, s := range res.Startup {
		if s.Config == cfg && s.Cache == cache {
			return s
		}
	}
	return nil
}

// shiftHeadings turns results.md's headings one level down, to sit under the README's.
func shiftHeadings(md string) string {
	lines := strings.Split(md, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "#") {
			lines[i] = "##" + l
		}
	}
	return strings.Join(lines, "\n")
}
