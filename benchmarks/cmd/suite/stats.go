package main

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// phaseOrder is the order phases are reported in.
var phaseOrder = []string{
	"seq_write_1m", "seq_read_1m", "seq_write_1m_fsync",
	"seq_write_4k", "seq_read_4k", "seq_write_4k_fsync",
	"small_create", "small_stat", "small_list", "small_read", "small_delete",
	"append_fsync",
	"sqlite_insert", "sqlite_commits", "sqlite_aggregate",
	"tree_create", "tree_walk", "tree_remove",
	"rename",
	"random_read", "random_write",
}

// durable phases include at least one fsync; every other phase is buffered.
var durable = map[string]bool{
	"seq_write_1m_fsync": true, "seq_write_4k_fsync": true, "append_fsync": true,
	"sqlite_insert":  true, // one transaction: one commit, so a few fsyncs at its end
	"sqlite_commits": true,
}

// metadata phases are the ones the goals call metadata: create, stat, list, rename, tree.
var metadata = map[string]bool{
	"small_create": true, "small_stat": true, "small_list": true, "rename": true,
	"tree_create": true, "tree_walk": true, "tree_remove": true,
}

func class(p string) string {
	switch {
	case durable[p]:
		return "durable"
	case metadata[p]:
		return "metadata"
	}
	return "buffered"
}

// Stat is the summary of one phase under one configuration.
type Stat struct {
	Samples []float64 `json:"samples_s"`
	Median  float64   `json:"median_s"`
	Min     float64   `json:"min_s"`
	Max     float64   `json:"max_s"`
	// Spread is (max-min)/median: the relative width of the range of the samples.
	Spread float64 `json:"spread"`
}

// GuestResults is one guest's figures: config -> phase -> Stat.
type GuestResults struct {
	Guest   string                      `json:"guest"`
	Configs []string                    `json:"configs"`
	Phases  []string                    `json:"phases"`
	Stats   map[string]map[string]*Stat `json:"stats"`
}

func medianSpread(xs []float64) (median, spread float64) {
	if len(xs) == 0 {
		return math.NaN(), math.NaN()
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		median = s[n/2]
	} else {
		median = (s[n/2-1] + s[n/2]) / 2
	}
	if median > 0 {
		spread = (s[n-1] - s[0]) / median
	}
	return median, spread
}

func summarize(samples map[string]map[string]map[string][]float64, cfgs []config, guests []string) []*GuestResults {
	var out []*GuestResults
	for _, g := range guests {
		gr := &GuestResults{Guest: g, Stats: map[string]map[string]*Stat{}}
		seen := map[string]bool{}
		for _, c := range cfgs {
			gr.Configs = append(gr.Configs, c.Name)
			for p, xs := range samples[g][c.Name] {
				seen[p] = true
				st := &Stat{Samples: xs}
				st.Median, st.Spread = medianSpread(xs)
				st.Min, st.Max = xs[0], xs[0]
				for _, x := range xs {
					st.Min, st.Max = math.Min(st.Min, x), math.Max(st.Max, x)
				}
				if gr.Stats[c.Name] == nil {
					gr.Stats[c.Name] = map[string]*Stat{}
				}
				gr.Stats[c.Name][p] = st
			}
		}
		for _, p := range phaseOrder {
			if seen[p] {
				gr.Phases = append(gr.Phases, p)
			}
		}
		out = append(out, gr)
	}
	return out
}

// speed returns how much faster config a is than config b in phase p (b's median time over
// a's), or NaN when either is missing.
func (gr *GuestResults) speed(a, b, p string) float64 {
	sa, sb := gr.Stats[a][p], gr.Stats[b][p]
	if sa == nil || sb == nil || sa.Median <= 0 {
		return math.NaN()
	}
	return sb.Median / sa.Median
}

// Ratio is one headline ratio: the speed of config A relative to config B, per phase.
type Ratio struct {
	Name    string             `json:"name"`
	A       string             `json:"a"`
	B       string             `json:"b"`
	Guest   string             `json:"guest"`
	Phases  map[string]float64 `json:"phases"`
	Geomean float64            `json:"geomean"`
	Min     float64            `json:"min"`
	MinAt   string             `json:"min_at"`
}

var ratioDefs = []struct{ name, a, b string }{
	{"stable/tmp", "wasmrun-stable", "wasmrun-tmp"},
	{"wasmrun-tmp/wazero-tmpfs", "wasmrun-tmp", "wazero-tmpfs"},
	{"wasmrun-stable/wazero-disk", "wasmrun-stable", "wazero-disk"},
	{"wasmrun-tmp/node-tmpfs", "wasmrun-tmp", "node-tmpfs"},
	{"wasmrun-stable/node-disk", "wasmrun-stable", "node-disk"},
}

// Goal is one of issue 4's goals, checked on one guest's figures.
type Goal struct {
	Goal   string   `json:"goal"`
	Guest  string   `json:"guest"`
	Met    bool     `json:"met"`
	Misses []string `json:"misses"` // "phase 0.83x (want 1.0x)"
}

func evaluate(res *Results) ([]*Ratio, []*Goal) {
	var ratios []*Ratio
	var goals []*Goal
	for _, gr := range res.Workloads {
		for _, d := range ratioDefs {
			r := &Ratio{Name: d.name, A: d.a, B: d.b, Guest: gr.Guest, Phases: map[string]float64{}, Min: math.Inf(1)}
			logSum, n := 0.0, 0
			for _, p := range gr.Phases {
				x := gr.speed(d.a, d.b, p)
				if math.IsNaN(x) {
					continue
				}
				r.Phases[p] = x
				logSum += math.Log(x)
				n++
				if x < r.Min {
					r.Min, r.MinAt = x, p
				}
			}
			if n == 0 {
				continue
			}
			r.Geomean = math.Exp(logSum / float64(n))
			ratios = append(ratios, r)
		}
		check := func(goal, a, b string, want func(p string) float64) {
			g := &Goal{Goal: goal, Guest: gr.Guest, Met: true}
			count := 0
			var missing []string
			for _, p := range gr.Phases {
				w := want(p)
				if w == 0 {
					continue
				}
				x := gr.speed(a, b, p)
				if math.IsNaN(x) {
					missing = append(missing, p)
					continue
				}
				count++
				if x < w {
					g.Met = false
					g.Misses = append(g.Misses, fmt.Sprintf("%s %.2fx (want %.1fx)", p, x, w))
				}
			}
			switch {
			case count == 0:
				g.Met = false
				g.Misses = []string{fmt.Sprintf("no figures for %s or %s", a, b)}
			case len(missing) > 0:
				g.Met = false
				g.Misses = append(g.Misses, "no figures for "+strings.Join(missing, ", "))
			}
			goals = append(goals, g)
		}
		check("wasmrun /tmp >= wazero WASI on tmpfs in every phase, >= 1.2x in metadata phases",
			"wasmrun-tmp", "wazero-tmpfs", func(p string) float64 {
				if metadata[p] {
					return 1.2
				}
				return 1.0
			})
		check("wasmrun stable >= wazero WASI on disk in every buffered phase, >= 0.8x in durable phases",
			"wasmrun-stable", "wazero-disk", func(p string) float64 {
				if durable[p] {
					return 0.8
				}
				return 1.0
			})
		check("stable >= 0.8x of /tmp in every buffered phase",
			"wasmrun-stable", "wasmrun-tmp", func(p string) float64 {
				if durable[p] {
					return 0
				}
				return 0.8
			})
	}
	// Start-up.
	find := func(cfg, cache string) *StartupSample {
		for _, s := range res.Startup {
			if s.Config == cfg && s.Cache == cache {
				return s
			}
		}
		return nil
	}
	w, z := find("wasmrun", "warm"), find("wazero", "warm")
	g := &Goal{Goal: "warm start-up of python.wasm < 0.2 s and < wazero's, peak memory below wazero's", Guest: "python", Met: true}
	switch {
	case w == nil || z == nil || len(w.Seconds) == 0 || len(z.Seconds) == 0:
		g.Met = false
		g.Misses = append(g.Misses, "no figures")
	default:
		if w.Median >= 0.2 {
			g.Met = false
			g.Misses = append(g.Misses, fmt.Sprintf("%.3f s (want < 0.2 s)", w.Median))
		}
		if w.Median >= z.Median {
			g.Met = false
			g.Misses = append(g.Misses, fmt.Sprintf("%.3f s vs wazero %.3f s", w.Median, z.Median))
		}
		if w.RSSMed >= z.RSSMed {
			g.Met = false
			g.Misses = append(g.Misses, fmt.Sprintf("peak RSS %d MiB vs wazero %d MiB", w.RSSMed/1024, z.RSSMed/1024))
		}
	}
	goals = append(goals, g)
	return ratios, goals
}
