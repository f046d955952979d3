package main

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// chartMax is where the speed axis is cut: native runs are far beyond it and the comparisons that
// matter are between 0 and 2.
const chartMax = 4.0

// colors gives every configuration the same colour in every panel: wasmrun in blues, wazero in
// oranges, node in greens, native in greys; the darker of a pair is the RAM-backed one.
var colors = map[string]color.Color{
	"wasmrun-tmp":    color.RGBA{0x1f, 0x4e, 0x9c, 0xff},
	"wasmrun-stable": color.RGBA{0x6b, 0xa3, 0xe8, 0xff},
	"wazero-tmpfs":   color.RGBA{0xd9, 0x5f, 0x02, 0xff},
	"wazero-disk":    color.RGBA{0xfd, 0xae, 0x6b, 0xff},
	"node-tmpfs":     color.RGBA{0x1b, 0x9e, 0x77, 0xff},
	"node-disk":      color.RGBA{0x8f, 0xd6, 0xbd, 0xff},
	"native-tmpfs":   color.RGBA{0x55, 0x55, 0x55, 0xff},
	"native-disk":    color.RGBA{0xbb, 0xbb, 0xbb, 0xff},
}

// chart draws results/chart.png: one panel per guest, one group of horizontal bars per phase,
// one bar per configuration: its speed relative to wazero's WASI on tmpfs (1 = as fast), and
// results/startup.png: start-up time and peak memory.
func chart(res *Results, file string) error {
	var plots []*plot.Plot
	for _, gr := range res.Workloads {
		p, err := speedPlot(gr)
		if err != nil {
			return err
		}
		plots = append(plots, p)
	}
	if len(plots) > 0 {
		const w, h = 8 * vg.Inch, 14 * vg.Inch
		img := vgimg.NewWith(vgimg.UseWH(w*vg.Length(len(plots)), h), vgimg.UseDPI(96))
		dc := draw.New(img)
		tiles := draw.Tiles{Rows: 1, Cols: len(plots), PadX: vg.Inch / 4, PadTop: vg.Inch / 8, PadBottom: vg.Inch / 8, PadLeft: vg.Inch / 8, PadRight: vg.Inch / 4}
		for i, p := range plots {
			p.Draw(tiles.At(dc, i, 0))
		}
		f, err := os.Create(file)
		if err != nil {
			return err
		}
		if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return startupChart(res, filepath.Join(filepath.Dir(file), "startup.png"))
}

func speedPlot(gr *GuestResults) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s guest: speed relative to wazero's WASI on tmpfs (higher is faster)", gr.Guest)
	p.X.Label.Text = fmt.Sprintf("wazero-tmpfs time / configuration time (axis cut at %.0fx)", chartMax)
	p.Legend.Top = true
	p.Legend.Left = false
	// Phases top to bottom in the table's order: NominalY puts the first name at the bottom.
	phases := make([]string, len(gr.Phases))
	for i, ph := range gr.Phases {
		phases[len(phases)-1-i] = ph
	}
	n := len(gr.Configs)
	barW := vg.Points(4.5) // 8 bars leave a gap between phases
	for i, c := range gr.Configs {
		vals := make(plotter.Values, len(phases))
		for j, ph := range phases {
			x := gr.speed(c, "wazero-tmpfs", ph)
			if math.IsNaN(x) {
				x = 0
			}
			vals[j] = x
		}
		b, err := plotter.NewBarChart(vals, barW)
		if err != nil {
			return nil, err
		}
		b.Horizontal = true
		b.Color = colors[c]
		b.LineStyle.Width = 0
		// Bars in legend order from top to bottom within a group.
		b.Offset = vg.Length(float64(n-1)/2-float64(i)) * barW
		p.Add(b)
		p.Legend.Add(c, b)
	}
	p.Add(verticalLine(1, len(phases)))
	p.Add(plotter.NewGrid())
	p.NominalY(phases...)
	p.X.Min, p.X.Max = 0, chartMax
	p.Y.Max += 2.5 // room above the first phase for the legend
	return p, nil
}

// verticalLine marks x = 1 (as fast as the reference) across the categories.
func verticalLine(x float64, n int) plot.Plotter {
	l, _ := plotter.NewLine(plotter.XYs{{X: x, Y: -0.5}, {X: x, Y: float64(n) - 0.5}})
	l.Color = color.Black
	l.Width = vg.Points(1)
	l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	return l
}

func startupChart(res *Results, file string) error {
	names := []string{"wasmrun", "wazero", "node", "native"}
	var labels []string
	var cold, warm, rss plotter.Values
	for _, n := range names {
		c, w := findStartup(res, n, "cold"), findStartup(res, n, "warm")
		if c == nil || w == nil {
			continue
		}
		labels = append(labels, n)
		cold = append(cold, nz(c.Median))
		warm = append(warm, nz(w.Median))
		rss = append(rss, float64(w.RSSMed)/1024)
	}
	if len(labels) == 0 {
		return nil
	}
	pt := plot.New()
	pt.Title.Text = "start-up of python.wasm -c pass (s, lower is better)"
	barW := vg.Points(18)
	bc, err := plotter.NewBarChart(cold, barW)
	if err != nil {
		return err
	}
	bc.Color, bc.Offset = color.RGBA{0xbb, 0xbb, 0xbb, 0xff}, -barW/2
	bw, err := plotter.NewBarChart(warm, barW)
	if err != nil {
		return err
	}
	bw.Color, bw.Offset = color.RGBA{0x1f, 0x4e, 0x9c, 0xff}, barW/2
	pt.Add(bc, bw, plotter.NewGrid())
	pt.Legend.Add("cold compilation cache", bc)
	pt.Legend.Add("warm", bw)
	pt.Legend.Top = true
	pt.NominalX(labels...)

	pm := plot.New()
	pm.Title.Text = "peak RSS, warm (MiB, lower is better)"
	bm, err := plotter.NewBarChart(rss, barW)
	if err != nil {
		return err
	}
	bm.Color = color.RGBA{0x6b, 0xa3, 0xe8, 0xff}
	pm.Add(bm, plotter.NewGrid())
	pm.NominalX(labels...)

	img := vgimg.NewWith(vgimg.UseWH(10*vg.Inch, 4*vg.Inch), vgimg.UseDPI(96))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Inch / 4, PadTop: vg.Inch / 8, PadBottom: vg.Inch / 8, PadLeft: vg.Inch / 8, PadRight: vg.Inch / 8}
	pt.Draw(tiles.At(dc, 0, 0))
	pm.Draw(tiles.At(dc, 1, 0))
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func nz(x float64) float64 {
	if math.IsNaN(x) {
		return 0
	}
	return x
}
